// Fused self-attention, used when the caller does not ask for the attention maps: scores,
// scale, padding mask, softmax and probs · v in one dispatch, each row of T scores kept in
// workgroup memory. It saves a dispatch per layer and the [B, heads, T, T] round trip through
// global memory that attention_probs + attention_context make. The arithmetic is theirs
// (probabilities are normalized before they multiply v), so both paths agree to rounding.
//
// A workgroup takes 4 query rows of one head, 32 threads (one warp) a row. The first version
// took one row with 128 threads: the in-browser profile showed SwiftShader paying per
// invocation and barrier, and the kernel at 36 % of a forward at n = 128 there; 4 rows a
// workgroup run a quarter of the invocations, and each row's reductions stay within its own
// 32 threads (one barrier each, on two buffers so no trailing barrier is needed).

@group(0) @binding(0) var<uniform> p: AttentionParams;
@group(0) @binding(1) var<storage, read> qkv: array<f32>;
@group(0) @binding(2) var<storage, read> tokens: array<u32>; // [ids | types | mask]
@group(0) @binding(3) var<storage, read_write> ctx: array<f32>;

const LANES: u32 = 32u; // threads per row
const WG: u32 = 128u;   // ROWS · LANES
// ROWS (query rows a workgroup) and MAX_T (the longest sequence this kernel takes, every
// ALBERT's max_position_embeddings; longer ones use the two-kernel path) come from
// gpu::kernels. 4 × 2 KiB of scores + 1 KiB for the reductions, within WebGPU's 16 KiB of
// workgroup memory.
var<workgroup> s: array<f32, ROWS * MAX_T>;
var<workgroup> red_max: array<f32, WG>;
var<workgroup> red_sum: array<f32, WG>;

@compute @workgroup_size(128, 1, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    let rr = li / LANES;
    let lane = li % LANES;
    let i = wg.x * ROWS + rr;
    // Rows past T (the last workgroup) compute nothing but still reach every barrier.
    let live = i < p.seq_len;
    let r = attention_row(vec3<u32>(min(i, p.seq_len - 1u), wg.y, 0u));
    let t = r.t;
    let d = p.head_dim;
    let sr = rr * MAX_T;
    let base = rr * LANES;

    var m = NEG;
    for (var j = lane; j < t; j += LANES) {
        var sc = NEG;
        if (tokens[r.mask0 + j] != 0u) {
            let ko = key_at(r, j);
            var dot = 0.0;
            for (var c = 0u; c < d; c++) { dot = fma(qkv[r.q + c], qkv[ko + c], dot); }
            sc = dot * p.scale;
        }
        s[sr + j] = sc;
        m = max(m, sc);
    }
    red_max[li] = m;
    workgroupBarrier();
    m = red_max[base];
    for (var l = 1u; l < LANES; l++) { m = max(m, red_max[base + l]); }

    var sum = 0.0;
    for (var j = lane; j < t; j += LANES) {
        var e = 0.0;
        if (m <= NEG) { e = 1.0; } else if (tokens[r.mask0 + j] != 0u) { e = exp(s[sr + j] - m); }
        s[sr + j] = e;
        sum += e;
    }
    red_sum[li] = sum;
    workgroupBarrier();
    sum = red_sum[base];
    for (var l = 1u; l < LANES; l++) { sum += red_sum[base + l]; }
    for (var j = lane; j < t; j += LANES) {
        s[sr + j] = s[sr + j] / sum;
    }
    workgroupBarrier();

    // probs · v: the row's 32 threads take columns lane, lane + 32, …; consecutive threads read
    // consecutive words of each v row.
    if (live) {
        let v0 = r.b * t * p.stride + p.v_off + r.hd * d;
        let out = (r.b * t + r.i) * p.hidden + r.hd * d;
        for (var c = lane; c < d; c += LANES) {
            var acc = 0.0;
            for (var j = 0u; j < t; j++) { acc = fma(s[sr + j], qkv[v0 + j * p.stride + c], acc); }
            ctx[out + c] = acc;
        }
    }
}
