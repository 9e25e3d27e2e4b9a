// Workgroup reductions over 128 threads, shared by the row-wise kernels (embeddings,
// add_layer_norm, attention_probs, attention). Every thread of the workgroup must call them.
//
// Two barriers, not the eight of a halving tree: 16 threads each fold 8 neighbours, then
// every thread folds the 16 partials, in a fixed order (deterministic results). Barriers are
// what CPU-emulated WebGPU (SwiftShader) pays most for; on GPUs the extra serial adds are a
// few dozen cycles.

const WG: u32 = 128u;
const FOLD: u32 = 8u;              // entries each of the first-stage threads folds
const PARTS: u32 = WG / FOLD;      // 16 partials
var<workgroup> red: array<f32, 128>;
var<workgroup> partials: array<f32, 16>;

fn combine(a: f32, b: f32, is_max: bool) -> f32 {
    return select(a + b, max(a, b), is_max);
}

fn reduce(v: f32, li: u32, is_max: bool) -> f32 {
    red[li] = v;
    workgroupBarrier();
    if (li < PARTS) {
        var acc = red[li * FOLD];
        for (var i = 1u; i < FOLD; i++) { acc = combine(acc, red[li * FOLD + i], is_max); }
        partials[li] = acc;
    }
    workgroupBarrier();
    var r = partials[0];
    for (var i = 1u; i < PARTS; i++) { r = combine(r, partials[i], is_max); }
    // No trailing barrier: `red` is only read between the two barriers, and the next call
    // writes `partials` only after its first barrier, which every thread reaches after it has
    // finished reading `partials` here.
    return r;
}

fn reduce_sum(v: f32, li: u32) -> f32 {
    return reduce(v, li, false);
}
