// y[M,N] = act(x[M,K] · W[N,K]ᵀ + b): torch's nn.Linear with its [out, in] weight, bias and
// activation fused. A 64×64 output tile per workgroup, staged through workgroup memory in
// K-steps of 16; each of the 16×16 threads accumulates a 4×4 block strided by 16 so that
// neighbouring threads read neighbouring words. Weights may be f16 (packed two per u32).


const TILE: u32 = 64u;
const KT: u32 = 16u;

var<workgroup> xs: array<f32, 1024>; // [KT][TILE]
var<workgroup> ws: array<f32, 1024>; // [KT][TILE]

@compute @workgroup_size(16, 16, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
    let m0 = wg.y * TILE;
    let n0 = wg.x * TILE;
    var acc: array<f32, 16>;
    for (var i = 0u; i < 16u; i++) { acc[i] = 0.0; }

    for (var k0 = 0u; k0 < p.k; k0 += KT) {
        for (var r = 0u; r < 4u; r++) {
            let idx = li + 256u * r;
            let row = idx / KT;
            let kk = idx % KT;
            let k = k0 + kk;
            var xv = 0.0;
            if (m0 + row < p.m && k < p.k) { xv = x[(m0 + row) * p.k + k]; }
            xs[kk * TILE + row] = xv;
            var wv = 0.0;
            if (n0 + row < p.n && k < p.k) { wv = load_w((n0 + row) * p.k + k); }
            ws[kk * TILE + row] = wv;
        }
        workgroupBarrier();
        for (var kk = 0u; kk < KT; kk++) {
            var a: array<f32, 4>;
            var c: array<f32, 4>;
            for (var i = 0u; i < 4u; i++) {
                a[i] = xs[kk * TILE + lid.y + 16u * i];
                c[i] = ws[kk * TILE + lid.x + 16u * i];
            }
            for (var i = 0u; i < 4u; i++) {
                for (var j = 0u; j < 4u; j++) {
                    acc[i * 4u + j] = fma(a[i], c[j], acc[i * 4u + j]);
                }
            }
        }
        workgroupBarrier();
    }

    for (var i = 0u; i < 4u; i++) {
        let row = m0 + lid.y + 16u * i;
        if (row >= p.m) { continue; }
        for (var j = 0u; j < 4u; j++) {
            let col = n0 + lid.x + 16u * j;
            if (col < p.n) {
                y[row * p.n + col] = activation(acc[i * 4u + j] + load_b(col), p.act);
            }
        }
    }
}
