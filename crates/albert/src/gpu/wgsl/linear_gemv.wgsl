// linear for a handful of rows (m ≤ 8 per workgroup: n ≤ 8 inputs, the MLM head on the [MASK]
// rows): the same y = act(x · Wᵀ + b) as linear.wgsl. Tiled kernels waste most of a tile here
// (a 16-row tile for one [MASK] row is 16× the work) and launch few workgroups (a 64-column
// tile gives 12 for H = 768). Here a workgroup owns 8 output columns; 32 threads split the K
// sum of each column, reading torch's [out, in] weight rows with consecutive threads on
// consecutive words; every weight is read once for up to 8 rows, and the 32 partial sums are
// added in a fixed order, so results are deterministic.

const COLS: u32 = 8u;   // output columns per workgroup
const LANES: u32 = 32u; // threads per column
const RM: u32 = 8u;     // rows per workgroup (grid y covers more)

var<workgroup> part: array<f32, 2048>; // [RM][COLS·LANES]

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    let col = wg.x * COLS + li / LANES;
    let lane = li % LANES;
    let m0 = wg.y * RM;
    let rows = min(RM, p.m - m0);
    // Rows past m re-read the last real row (never written back), so the inner loop has no
    // branches and no dynamically indexed arrays: shader compilers without loop unrolling
    // (SwiftShader's) keep the two vec4 accumulators in registers.
    let last = max(rows, 1u) - 1u;
    let x0 = (m0 + min(0u, last)) * p.k;
    let x1 = (m0 + min(1u, last)) * p.k;
    let x2 = (m0 + min(2u, last)) * p.k;
    let x3 = (m0 + min(3u, last)) * p.k;
    let x4 = (m0 + min(4u, last)) * p.k;
    let x5 = (m0 + min(5u, last)) * p.k;
    let x6 = (m0 + min(6u, last)) * p.k;
    let x7 = (m0 + min(7u, last)) * p.k;
    var lo = vec4<f32>(0.0);
    var hi = vec4<f32>(0.0);
    if (col < p.n) {
        let w0 = col * p.k;
        for (var k = lane; k < p.k; k += LANES) {
            let wv = vec4<f32>(load_w(w0 + k));
            lo = fma(vec4<f32>(x[x0 + k], x[x1 + k], x[x2 + k], x[x3 + k]), wv, lo);
            hi = fma(vec4<f32>(x[x4 + k], x[x5 + k], x[x6 + k], x[x7 + k]), wv, hi);
        }
    }
    part[li] = lo.x;
    part[256u + li] = lo.y;
    part[512u + li] = lo.z;
    part[768u + li] = lo.w;
    part[1024u + li] = hi.x;
    part[1280u + li] = hi.y;
    part[1536u + li] = hi.z;
    part[1792u + li] = hi.w;
    workgroupBarrier();
    if (li < COLS * RM) {
        let c = li % COLS;
        let r = li / COLS;
        let oc = wg.x * COLS + c;
        if (r < rows && oc < p.n) {
            var s = 0.0;
            for (var l = 0u; l < LANES; l++) { s += part[r * 256u + c * LANES + l]; }
            y[(m0 + r) * p.n + oc] = activation(s + load_b(oc), p.act);
        }
    }
}
