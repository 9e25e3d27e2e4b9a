// The end of a linear split over K (linear.wgsl with p.splits > 1): y[i] = act(Σ_slice
// part[slice, i] + b), the slices added in order so results are deterministic. `x` holds the
// [splits, m, n] partials.

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    let mn = p.m * p.n;
    if (i >= mn) { return; }
    var s = 0.0;
    for (var z = 0u; z < p.splits; z++) { s += x[z * mn + i]; }
    y[i] = activation(s + load_b(i % p.n), p.act);
}
