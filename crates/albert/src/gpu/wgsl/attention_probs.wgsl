// Attention probabilities softmax(q·kᵀ / √d + mask) for one query row of one head per
// workgroup: scale, padding mask and softmax fused, written straight to the [B, heads, T, T]
// output that `output_attentions` returns. Masked keys get exactly 0, as torch's finfo.min
// additive mask yields after softmax; a row with every key masked becomes uniform, as in torch.
// q and k are read at row stride `p.stride` from offsets `q_off`/`k_off`, so they can be
// column blocks of the fused [B·T, 3H] query-key-value projection.

@group(0) @binding(0) var<uniform> p: AttentionParams;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> tokens: array<u32>; // [ids | types | mask]
@group(0) @binding(4) var<storage, read_write> probs: array<f32>;

@compute @workgroup_size(128, 1, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    let r = attention_row(wg);
    let t = r.t;
    let out = (r.bh * t + r.i) * t;

    var m = NEG;
    for (var j = li; j < t; j += WG) {
        var s = NEG;
        if (tokens[r.mask0 + j] != 0u) {
            let ko = key_at(r, j);
            var dot = 0.0;
            for (var c = 0u; c < p.head_dim; c++) { dot = fma(q[r.q + c], k[ko + c], dot); }
            s = dot * p.scale;
        }
        probs[out + j] = s;
        m = max(m, s);
    }
    m = reduce(m, li, true);
    var sum = 0.0;
    for (var j = li; j < t; j += WG) {
        var e = 0.0;
        if (m <= NEG) { e = 1.0; } else if (tokens[r.mask0 + j] != 0u) { e = exp(probs[out + j] - m); }
        probs[out + j] = e;
        sum += e;
    }
    sum = reduce(sum, li, false);
    for (var j = li; j < t; j += WG) {
        probs[out + j] = probs[out + j] / sum;
    }
}
