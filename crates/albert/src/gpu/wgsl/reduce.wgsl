// Workgroup reductions over 128 threads, shared by the row-wise kernels (embeddings,
// add_layer_norm, attention_probs). Every thread of the workgroup must call them.

const WG: u32 = 128u;
var<workgroup> red: array<f32, 128>;

fn reduce(v: f32, li: u32, is_max: bool) -> f32 {
    red[li] = v;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s >>= 1u) {
        if (li < s) {
            if (is_max) { red[li] = max(red[li], red[li + s]); } else { red[li] += red[li + s]; }
        }
        workgroupBarrier();
    }
    let r = red[0];
    workgroupBarrier();
    return r;
}

fn reduce_sum(v: f32, li: u32) -> f32 {
    return reduce(v, li, false);
}
