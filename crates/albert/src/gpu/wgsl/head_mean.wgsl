// The mean over heads of one layer application's attention maps, [batch, heads, T, T] →
// [batch, T, T], written at element `out_at` of `out` (every map's mean lands in one buffer
// that is read back once): what the rollout and the heatmap's "mean of heads" read, at 1/heads
// of the maps' bytes. Summed in head order, then divided, as cpu::ops::head_mean.

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> probs: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(WG, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let k = gid.x;
    let q = gid.y;
    let b = gid.z;
    if (k >= p.t || q >= p.t || b >= p.batch) { return; }
    let tt = p.t * p.t;
    var sum = 0.0;
    for (var h = 0u; h < p.heads; h++) {
        sum += probs[(b * p.heads + h) * tt + q * p.t + k];
    }
    out[p.out_at + b * tt + q * p.t + k] = sum / f32(p.heads);
}
