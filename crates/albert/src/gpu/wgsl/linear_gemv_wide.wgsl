// linear for few rows on real GPUs (`Tuning::Gpu`): the same y = act(x · Wᵀ + b) as linear.wgsl,
// 8 rows a workgroup (grid y covers more), with LANES threads splitting each column's K sum.
//
// linear_gemv's 4 lanes a column suit CPU-emulated adapters, which pay per invocation; on an
// NVIDIA H200 (bench/on-nvidia) they left each thread a serial walk over K: ffn_output
// (K = 3072) took 163 µs a dispatch at n = 8, and the 16-row tiles of linear_small 1.9 ms a
// forward more at n = 32. Here a column's weight row is read by LANES consecutive threads
// (coalesced), every workgroup has 256 threads, and the partial sums meet in a fixed tree, so
// results are deterministic.

const WG: u32 = COLS * LANES; // 256: the workgroup size below (kernels.rs asserts it)
const HALF: u32 = LANES / 2u; // the tree's first step

var<workgroup> part: array<f32, 2048>; // [RM][WG] (kernels.rs asserts RM · WG = 2048)

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    let c = li / LANES;
    let lane = li % LANES;
    let col = wg.x * COLS + c;
    let m0 = wg.y * RM;
    let rows = min(RM, p.m - m0);
    let r = rows8(m0, rows);
    var lo = vec4<f32>(0.0);
    var hi = vec4<f32>(0.0);
    if (col < p.n) {
        let w0 = col * p.k;
        var k = lane;
        // Two independent weight loads in flight per step.
        for (; k + LANES < p.k; k += 2u * LANES) {
            let wa = vec4<f32>(load_w(w0 + k));
            let wb = vec4<f32>(load_w(w0 + k + LANES));
            lo = fma(x_lo(r, k), wa, lo);
            hi = fma(x_hi(r, k), wa, hi);
            lo = fma(x_lo(r, k + LANES), wb, lo);
            hi = fma(x_hi(r, k + LANES), wb, hi);
        }
        if (k < p.k) {
            let wa = vec4<f32>(load_w(w0 + k));
            lo = fma(x_lo(r, k), wa, lo);
            hi = fma(x_hi(r, k), wa, hi);
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
    // Halve the lanes of every (row, column) until one is left: lane l adds lane l + s.
    for (var s = HALF; s > 0u; s >>= 1u) {
        if (lane < s) {
            for (var row = 0u; row < RM; row++) {
                part[row * WG + li] += part[row * WG + li + s];
            }
        }
        workgroupBarrier();
    }
    // COLS · RM outputs: one thread each.
    if (li < COLS * RM) {
        let oc = wg.x * COLS + li % COLS;
        let row = li / COLS;
        if (row < rows && oc < p.n) {
            y[(m0 + row) * p.n + oc] = activation(part[row * WG + (li % COLS) * LANES] + load_b(oc), p.act);
        }
    }
}
