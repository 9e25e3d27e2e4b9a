// y[M,N] = act(x[M,K] · W[N,K]ᵀ + b): torch's nn.Linear with its [out, in] weight, bias and
// activation fused. A 64×64 output tile per workgroup, staged through workgroup memory in
// K-steps of 16; each of the 16×16 threads accumulates a 4×4 block strided by 16 so that
// neighbouring threads read neighbouring words. Weights may be f16 (packed two per u32).
//
// The 4×4 block lives in four vec4 accumulators, not a dynamically indexed array: shader
// compilers without loop unrolling (SwiftShader's, in Chromium without a GPU) keep such arrays
// in memory, and the in-browser profile showed this kernel at 80 % of a forward at n = 128.
// Tiles in workgroup memory are padded by one word a row so the transposing stores do not all
// hit one memory bank on GPUs.
//
// Split over K (p.splits > 1, real GPUs: `gpu::choice::k_split`), workgroup z sums slice z of
// `k_len` inputs and writes its raw partial sums to `y` at [z, m, n], without bias or
// activation; linear_split_sum.wgsl adds the slices in order. On an NVIDIA H200 a 128-row
// forward ran ffn_output (N = 768, K = 3072) as 24 tiles for 132 multiprocessors, each walking
// all of K (bench/on-nvidia): slices multiply the workgroups.

// KT (the K step, 16: the tiles below are sized for it) comes from gpu::kernels.
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
    // Thread (x, y) owns rows y + 16i and columns x + 16j, i, j < 4: row i in accumulator ai.
    var a0 = vec4<f32>(0.0);
    var a1 = vec4<f32>(0.0);
    var a2 = vec4<f32>(0.0);
    var a3 = vec4<f32>(0.0);

    for (var k0 = k_begin; k0 < k_end; k0 += KT) {
        for (var r = 0u; r < 4u; r++) {
            let idx = li + 256u * r;
            let row = idx / KT;
            let kk = idx % KT;
            // A slice is a whole number of K steps (k_len, a multiple of KT), so only K's own end
            // falls inside a step: x_or_zero and w_or_zero give 0 past it.
            xs[kk * S + row] = x_or_zero(m0 + row, k0 + kk);
            ws[kk * S + row] = w_or_zero(n0 + row, k0 + kk);
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

    let c0 = n0 + lid.x;
    if (p.splits > 1u) {
        let base = wg.z * p.m * p.n;
        store_part(base, m0 + lid.y, c0, a0);
        store_part(base, m0 + lid.y + 16u, c0, a1);
        store_part(base, m0 + lid.y + 32u, c0, a2);
        store_part(base, m0 + lid.y + 48u, c0, a3);
    } else {
        store_row4(m0 + lid.y, c0, a0);
        store_row4(m0 + lid.y + 16u, c0, a1);
        store_row4(m0 + lid.y + 32u, c0, a2);
        store_row4(m0 + lid.y + 48u, c0, a3);
    }
}

// One row's four columns (16 apart) of a K slice's raw partial sums.
fn store_part(base: u32, row: u32, c0: u32, acc: vec4<f32>) {
    if (row >= p.m) { return; }
    for (var j = 0u; j < 4u; j++) {
        let col = c0 + 16u * j;
        if (col < p.n) { y[base + row * p.n + col] = acc[j]; }
    }
}
