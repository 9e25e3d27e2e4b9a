// Fused self-attention for one query row of one head per workgroup, used when the caller does
// not ask for the attention maps: scores, scale, padding mask, softmax and probs · v in one
// dispatch, the row of T scores kept in workgroup memory. It saves a dispatch per layer and
// the [B, heads, T, T] round trip through global memory that attention_probs +
// attention_context make. The arithmetic is theirs, in the same order (probabilities are
// normalized before they multiply v), so both paths agree to rounding.

@group(0) @binding(0) var<uniform> p: AttentionParams;
@group(0) @binding(1) var<storage, read> qkv: array<f32>;
@group(0) @binding(2) var<storage, read> tokens: array<u32>; // [ids | types | mask]
@group(0) @binding(3) var<storage, read_write> ctx: array<f32>;

// Longest sequence this kernel takes (gpu::ATTENTION_MAX_T); longer ones use the two-kernel
// path. 4 KiB of scores + 1 KiB of partial sums, within WebGPU's 16 KiB workgroup minimum.
const MAX_T: u32 = 1024u;
var<workgroup> s: array<f32, MAX_T>;
var<workgroup> part: array<f32, WG>;

@compute @workgroup_size(128, 1, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    let r = attention_row(wg);
    let t = r.t;
    let d = p.head_dim;

    var m = NEG;
    for (var j = li; j < t; j += WG) {
        var sc = NEG;
        if (tokens[r.mask0 + j] != 0u) {
            let ko = key_at(r, j);
            var dot = 0.0;
            for (var c = 0u; c < d; c++) { dot = fma(qkv[r.q + c], qkv[ko + c], dot); }
            sc = dot * p.scale;
        }
        s[j] = sc;
        m = max(m, sc);
    }
    m = reduce(m, li, true);
    var sum = 0.0;
    for (var j = li; j < t; j += WG) {
        var e = 0.0;
        if (m <= NEG) { e = 1.0; } else if (tokens[r.mask0 + j] != 0u) { e = exp(s[j] - m); }
        s[j] = e;
        sum += e;
    }
    sum = reduce(sum, li, false);
    for (var j = li; j < t; j += WG) {
        s[j] = s[j] / sum;
    }
    workgroupBarrier();

    // probs · v: the 128 threads split into WG / d groups of d columns, each group summing
    // every (WG / d)-th key; the groups' partial sums are then added in a fixed order.
    let v0 = r.b * t * p.stride + p.v_off + r.hd * d;
    let out = (r.b * t + r.i) * p.hidden + r.hd * d;
    if (d <= WG) {
        let groups = WG / d;
        let c = li % d;
        let g = li / d;
        var acc = 0.0;
        if (g < groups) {
            for (var j = g; j < t; j += groups) { acc = fma(s[j], qkv[v0 + j * p.stride + c], acc); }
        }
        part[li] = acc;
        workgroupBarrier();
        if (li < d) {
            var total = 0.0;
            for (var gg = 0u; gg < groups; gg++) { total += part[gg * d + li]; }
            ctx[out + li] = total;
        }
    } else {
        for (var c = li; c < d; c += WG) {
            var acc = 0.0;
            for (var j = 0u; j < t; j++) { acc = fma(s[j], qkv[v0 + j * p.stride + c], acc); }
            ctx[out + c] = acc;
        }
    }
}
