// linear for short inputs (9–48 rows: fill-mask sentences): the same y = act(x · Wᵀ + b) as
// linear.wgsl, but a 16×64 output tile per workgroup, so a 10-token sentence wastes 6 rows of
// work per tile instead of 54, and four times as many workgroups cover the weight matrix.
//
// 64 threads, each 4 rows × 4 columns (register blocking), K in steps of 32: the in-browser
// profile (`?bench=1&profile=1`) showed SwiftShader paying per invocation and barrier, and the
// earlier 256 threads of 1 row × 4 columns with K steps of 16 spent 4× the invocations and 2×
// the barriers on the same tile. Tiles in workgroup memory are padded by one word a row so the
// transposing stores do not all hit one memory bank on GPUs.

const KT: u32 = 32u;
const XS: u32 = 17u; // TM + 1: row stride of xs
const WS: u32 = 65u; // TN + 1: row stride of ws

var<workgroup> xs: array<f32, 544>;  // [KT][XS]
var<workgroup> ws: array<f32, 2080>; // [KT][WS]

@compute @workgroup_size(16, 4, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
    let m0 = wg.y * TM;
    let n0 = wg.x * TN;
    // Thread (x, y) owns rows y, y + 4, y + 8, y + 12 and columns x, x + 16, x + 32, x + 48.
    var a0 = vec4<f32>(0.0);
    var a1 = vec4<f32>(0.0);
    var a2 = vec4<f32>(0.0);
    var a3 = vec4<f32>(0.0);

    for (var k0 = 0u; k0 < p.k; k0 += KT) {
        // Consecutive threads read consecutive k of one row: 128-byte runs of x and of W.
        for (var r = 0u; r < 8u; r++) {
            let idx = li + 64u * r;
            let row = idx / KT;
            let kk = idx % KT;
            xs[kk * XS + row] = x_or_zero(m0 + row, k0 + kk);
        }
        for (var r = 0u; r < 32u; r++) {
            let idx = li + 64u * r;
            let col = idx / KT;
            let kk = idx % KT;
            ws[kk * WS + col] = w_or_zero(n0 + col, k0 + kk);
        }
        workgroupBarrier();
        for (var kk = 0u; kk < KT; kk++) {
            let xb = kk * XS + lid.y;
            let wb = kk * WS + lid.x;
            let c = vec4<f32>(ws[wb], ws[wb + 16u], ws[wb + 32u], ws[wb + 48u]);
            a0 = fma(vec4<f32>(xs[xb]), c, a0);
            a1 = fma(vec4<f32>(xs[xb + 4u]), c, a1);
            a2 = fma(vec4<f32>(xs[xb + 8u]), c, a2);
            a3 = fma(vec4<f32>(xs[xb + 12u]), c, a3);
        }
        workgroupBarrier();
    }

    let c0 = n0 + lid.x;
    store_row4(m0 + lid.y, c0, a0);
    store_row4(m0 + lid.y + 4u, c0, a1);
    store_row4(m0 + lid.y + 8u, c0, a2);
    store_row4(m0 + lid.y + 12u, c0, a3);
}
