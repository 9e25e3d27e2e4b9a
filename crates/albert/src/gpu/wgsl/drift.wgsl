// Drift of one layer application: the mean over the batch's real tokens (mask = 1) of
// ||cur − prev||₂ and of cos(cur, prev), written to out[2·index], out[2·index + 1]. One
// workgroup; each thread takes every WG-th row (rows × width is small next to a layer).

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> prev: array<f32>;
@group(0) @binding(2) var<storage, read> cur: array<f32>;
@group(0) @binding(3) var<storage, read> tokens: array<u32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(128, 1, 1)
fn main(@builtin(local_invocation_index) li: u32) {
    var l2 = 0.0;
    var cs = 0.0;
    var count = 0.0;
    for (var r = li; r < p.rows; r += WG) {
        if (tokens[2u * p.rows + r] == 0u) { continue; }
        var dot = 0.0;
        var aa = 0.0;
        var bb = 0.0;
        var dd = 0.0;
        for (var j = 0u; j < p.width; j++) {
            let a = cur[r * p.width + j];
            let b = prev[r * p.width + j];
            dot += a * b;
            aa += a * a;
            bb += b * b;
            dd += (a - b) * (a - b);
        }
        l2 += sqrt(dd);
        // torch.nn.functional.cosine_similarity: x·y / (max(‖x‖, eps) · max(‖y‖, eps)), eps = 1e-8.
        cs += dot / (max(sqrt(aa), 1e-8) * max(sqrt(bb), 1e-8));
        count += 1.0;
    }
    let l2_sum = reduce_sum(l2, li);
    let cos_sum = reduce_sum(cs, li);
    let n = max(reduce_sum(count, li), 1.0);
    if (li == 0u) {
        out[2u * p.index] = l2_sum / n;
        out[2u * p.index + 1u] = cos_sum / n;
    }
}
