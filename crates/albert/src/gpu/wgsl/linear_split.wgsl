// linear.wgsl's 64×64 tiles over one slice of K (slice wg.z of `k_len` inputs), for real GPUs
// (`Tuning::Gpu`) past linear_gemv_wide's rows: raw partial sums, no bias or activation, to
// `y` at [slice, m, n]; linear_split_sum.wgsl adds the slices in order. A 512-row forward on an
// NVIDIA H200 ran ffn_output (N = 768, K = 3072) as 96 tiles for 132 multiprocessors, each
// walking all of K (bench/on-nvidia); slices multiply the workgroups.

const KT: u32 = 16u;
const S: u32 = 65u; // TILE + 1: row stride of xs and ws

var<workgroup> xs: array<f32, 1040>; // [KT][S]
var<workgroup> ws: array<f32, 1040>; // [KT][S]

@compute @workgroup_size(16, 16, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
    let m0 = wg.y * TILE;
    let n0 = wg.x * TILE;
    let k_begin = wg.z * p.k_len;
    let k_end = min(p.k, k_begin + p.k_len);
    var a0 = vec4<f32>(0.0);
    var a1 = vec4<f32>(0.0);
    var a2 = vec4<f32>(0.0);
    var a3 = vec4<f32>(0.0);

    for (var k0 = k_begin; k0 < k_end; k0 += KT) {
        for (var r = 0u; r < 4u; r++) {
            let idx = li + 256u * r;
            let row = idx / KT;
            let k = k0 + idx % KT;
            var xv = 0.0;
            var wv = 0.0;
            if (k < k_end) {
                if (m0 + row < p.m) { xv = x[(m0 + row) * p.k + k]; }
                if (n0 + row < p.n) { wv = load_w((n0 + row) * p.k + k); }
            }
            xs[(idx % KT) * S + row] = xv;
            ws[(idx % KT) * S + row] = wv;
        }
        workgroupBarrier();
        for (var kk = 0u; kk < KT; kk++) {
            let xb = kk * S + lid.y;
            let wb = kk * S + lid.x;
            let c = vec4<f32>(ws[wb], ws[wb + 16u], ws[wb + 32u], ws[wb + 48u]);
            a0 = fma(vec4<f32>(xs[xb]), c, a0);
            a1 = fma(vec4<f32>(xs[xb + 16u]), c, a1);
            a2 = fma(vec4<f32>(xs[xb + 32u]), c, a2);
            a3 = fma(vec4<f32>(xs[xb + 48u]), c, a3);
        }
        workgroupBarrier();
    }

    let base = wg.z * p.m * p.n;
    let c0 = n0 + lid.x;
    store_part(base, m0 + lid.y, c0, a0);
    store_part(base, m0 + lid.y + 16u, c0, a1);
    store_part(base, m0 + lid.y + 32u, c0, a2);
    store_part(base, m0 + lid.y + 48u, c0, a3);
}

// One row's four columns (16 apart) of a slice's partial sums.
fn store_part(base: u32, row: u32, c0: u32, acc: vec4<f32>) {
    if (row >= p.m) { return; }
    for (var j = 0u; j < 4u; j++) {
        let col = c0 + 16u * j;
        if (col < p.n) { y[base + row * p.n + col] = acc[j]; }
    }
}
