// linear for a handful of rows (m ≤ 8) whose inputs are short (K ≤ 256: the MLM head's decoder
// over the vocabulary and the embedding projection, K = E = 128): the same y = act(x · Wᵀ + b)
// as linear.wgsl. One thread a column: it reads that column's weight row (K words, a few cache
// lines, kept in L1 after the first miss) once for up to 8 rows and needs no reduction across
// threads, so the shader has no barrier. linear_gemv splits K over 4 threads instead, which
// suits long rows; for short ones its reduction is pure overhead. In Chromium on SwiftShader
// the profile showed the 30000-column decoder at 150 ms with linear_gemv and 73 ms here
// (SwiftShader runs shaders with barriers as coroutines and pays per invocation).


fn put(r: u32, rows: u32, m0: u32, col: u32, v: f32) {
    if (r < rows) { y[(m0 + r) * p.n + col] = activation(v + load_b(col), p.act); }
}

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    let col = wg.x * COLS + li;
    if (col >= p.n) { return; }
    let m0 = wg.y * RM;
    let rows = min(RM, p.m - m0);
    let r = rows8(m0, rows);
    var lo = vec4<f32>(0.0);
    var hi = vec4<f32>(0.0);
    let w0 = col * p.k;
    for (var k = 0u; k < p.k; k++) {
        let wv = vec4<f32>(load_w(w0 + k));
        lo = fma(x_lo(r, k), wv, lo);
        hi = fma(x_hi(r, k), wv, hi);
    }
    put(0u, rows, m0, col, lo.x);
    put(1u, rows, m0, col, lo.y);
    put(2u, rows, m0, col, lo.z);
    put(3u, rows, m0, col, lo.w);
    put(4u, rows, m0, col, hi.x);
    put(5u, rows, m0, col, hi.y);
    put(6u, rows, m0, col, hi.z);
    put(7u, rows, m0, col, hi.w);
}
