// linear for short inputs (m < 64 rows: fill-mask sentences, the MLM head's [MASK] rows):
// the same y = act(x · Wᵀ + b) as linear.wgsl, but a 16×64 output tile per workgroup, so a
// 10-token sentence wastes 6 rows of work per tile instead of 54, and four times as many
// workgroups cover the weight matrix. Each of the 16×16 threads computes one row × 4 columns.


const TM: u32 = 16u;
const TN: u32 = 64u;
const KT: u32 = 16u;

var<workgroup> xs: array<f32, 256>;  // [KT][TM]
var<workgroup> ws: array<f32, 1024>; // [KT][TN]

@compute @workgroup_size(16, 16, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
    let m0 = wg.y * TM;
    let n0 = wg.x * TN;
    var acc = vec4<f32>(0.0);

    for (var k0 = 0u; k0 < p.k; k0 += KT) {
        {
            let row = li / KT;
            let kk = li % KT;
            let k = k0 + kk;
            var xv = 0.0;
            if (m0 + row < p.m && k < p.k) { xv = x[(m0 + row) * p.k + k]; }
            xs[kk * TM + row] = xv;
        }
        for (var r = 0u; r < 4u; r++) {
            let idx = li + 256u * r;
            let col = idx / KT;
            let kk = idx % KT;
            let k = k0 + kk;
            var wv = 0.0;
            if (n0 + col < p.n && k < p.k) { wv = load_w((n0 + col) * p.k + k); }
            ws[kk * TN + col] = wv;
        }
        workgroupBarrier();
        for (var kk = 0u; kk < KT; kk++) {
            let a = xs[kk * TM + lid.y];
            let c = vec4<f32>(ws[kk * TN + lid.x], ws[kk * TN + lid.x + 16u], ws[kk * TN + lid.x + 32u], ws[kk * TN + lid.x + 48u]);
            acc = fma(vec4<f32>(a), c, acc);
        }
        workgroupBarrier();
    }

    let row = m0 + lid.y;
    if (row >= p.m) { return; }
    for (var j = 0u; j < 4u; j++) {
        let col = n0 + lid.x + 16u * j;
        if (col < p.n) {
            y[row * p.n + col] = activation(acc[j] + load_b(col), p.act);
        }
    }
}
