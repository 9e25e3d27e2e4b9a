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
    var acc: array<f32, 8>;
    for (var r = 0u; r < RM; r++) { acc[r] = 0.0; }
    if (col < p.n) {
        for (var k = lane; k < p.k; k += LANES) {
            let wv = load_w(col * p.k + k);
            for (var r = 0u; r < RM; r++) {
                if (r < rows) { acc[r] = fma(x[(m0 + r) * p.k + k], wv, acc[r]); }
            }
        }
    }
    for (var r = 0u; r < RM; r++) { part[r * 256u + li] = acc[r]; }
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
