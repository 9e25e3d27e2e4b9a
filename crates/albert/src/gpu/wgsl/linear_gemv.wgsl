// linear for a handful of rows (m ≤ 8 per workgroup: n ≤ 8 inputs, the MLM head on the [MASK]
// rows): the same y = act(x · Wᵀ + b) as linear.wgsl. Tiled kernels waste most of a tile here
// (a 16-row tile for one [MASK] row is 16× the work) and launch few workgroups (a 64-column
// tile gives 12 for H = 768). Here a workgroup owns 16 output columns; 4 threads split the K
// sum of each column, reading torch's [out, in] weight rows with consecutive threads on
// consecutive words; every weight is read once for up to 8 rows, and the 4 partial sums are
// added in a fixed order, so results are deterministic.
//
// 4 lanes a column, not 32: `albert bench --profile` in Chromium showed SwiftShader paying per
// invocation of a shader with barriers, almost whatever its work: with 32 lanes (8 columns a
// workgroup) the [MASK]-row decoder (30000 columns, K = 128) took 2.7–3.3 s of a 5.8 s forward
// (6 layers, H 384, n = 8); with 8 lanes 0.32 s of 0.7 s; with 4 lanes 0.2 s. 16 columns keep
// 64 threads a workgroup (two warps) for GPUs' occupancy.

const LANES: u32 = 4u; // threads per column
const WG: u32 = 64u;   // COLS · LANES

var<workgroup> part: array<f32, 512>; // [RM][COLS·LANES]

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    let col = wg.x * COLS + li / LANES;
    let lane = li % LANES;
    let m0 = wg.y * RM;
    let rows = min(RM, p.m - m0);
    let r = rows8(m0, rows);
    var lo = vec4<f32>(0.0);
    var hi = vec4<f32>(0.0);
    if (col < p.n) {
        let w0 = col * p.k;
        for (var k = lane; k < p.k; k += LANES) {
            let wv = vec4<f32>(load_w(w0 + k));
            lo = fma(x_lo(r, k), wv, lo);
            hi = fma(x_hi(r, k), wv, hi);
        }
    }
    part[li] = lo.x;
    part[WG + li] = lo.y;
    part[2u * WG + li] = lo.z;
    part[3u * WG + li] = lo.w;
    part[4u * WG + li] = hi.x;
    part[5u * WG + li] = hi.y;
    part[6u * WG + li] = hi.z;
    part[7u * WG + li] = hi.w;
    workgroupBarrier();
    // COLS · RM outputs, WG threads: each thread finishes one or more (row, column) sums.
    for (var o = li; o < COLS * RM; o += WG) {
        let c = o % COLS;
        let r = o / COLS;
        let oc = wg.x * COLS + c;
        if (r < rows && oc < p.n) {
            var s = 0.0;
            for (var l = 0u; l < LANES; l++) { s += part[r * WG + c * LANES + l]; }
            y[(m0 + r) * p.n + oc] = activation(s + load_b(oc), p.act);
        }
    }
}
