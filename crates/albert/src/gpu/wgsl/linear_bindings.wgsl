// Parameters and bindings shared by linear.wgsl, linear_small.wgsl, linear_gemv.wgsl and
// linear_gemv_short_k.wgsl (same layout, so the model can pick any of them per dispatch):
// y = act(x · Wᵀ + b), W as torch's [out, in].

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
#if F16
@group(0) @binding(2) var<storage, read> w: array<u32>;
@group(0) @binding(3) var<storage, read> b: array<u32>;
fn load_w(i: u32) -> f32 { return half_at(w[i >> 1u], i); }
fn load_b(i: u32) -> f32 { return half_at(b[i >> 1u], i); }
#else
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> b: array<f32>;
fn load_w(i: u32) -> f32 { return w[i]; }
fn load_b(i: u32) -> f32 { return b[i]; }
#endif

// x[row, k] and W[col, k], 0 outside the matrices: the padded tile loads of linear.wgsl and
// linear_small.wgsl.
fn x_or_zero(row: u32, k: u32) -> f32 {
    var v = 0.0;
    if (row < p.m && k < p.k) { v = x[row * p.k + k]; }
    return v;
}
fn w_or_zero(col: u32, k: u32) -> f32 {
    var v = 0.0;
    if (col < p.n && k < p.k) { v = load_w(col * p.k + k); }
    return v;
}

// Writes act(acc + b) for one output row at columns c0, c0 + 16, c0 + 32, c0 + 48: the 4×4
// register blocks of linear.wgsl and linear_small.wgsl hold a row's columns in a vec4, 16 apart.
fn store_row4(row: u32, c0: u32, acc: vec4<f32>) {
    if (row >= p.m) { return; }
    for (var j = 0u; j < 4u; j++) {
        let col = c0 + 16u * j;
        if (col < p.n) {
            y[row * p.n + col] = activation(acc[j] + load_b(col), p.act);
        }
    }
}

// Where each of the (up to) 8 input rows of a gemv workgroup starts (linear_gemv,
// linear_gemv_short_k). Rows past m re-read the last real row (never written back), so the
// inner loops have no branches and no dynamically indexed arrays: shader compilers without
// loop unrolling (SwiftShader's) keep the two vec4 accumulators in registers.
struct Rows8 { r0: u32, r1: u32, r2: u32, r3: u32, r4: u32, r5: u32, r6: u32, r7: u32 }

fn rows8(m0: u32, rows: u32) -> Rows8 {
    let last = max(rows, 1u) - 1u;
    return Rows8(
        (m0 + min(0u, last)) * p.k, (m0 + min(1u, last)) * p.k, (m0 + min(2u, last)) * p.k, (m0 + min(3u, last)) * p.k,
        (m0 + min(4u, last)) * p.k, (m0 + min(5u, last)) * p.k, (m0 + min(6u, last)) * p.k, (m0 + min(7u, last)) * p.k,
    );
}

// x[row, k] of rows 0–3 and 4–7.
fn x_lo(r: Rows8, k: u32) -> vec4<f32> { return vec4<f32>(x[r.r0 + k], x[r.r1 + k], x[r.r2 + k], x[r.r3 + k]); }
fn x_hi(r: Rows8, k: u32) -> vec4<f32> { return vec4<f32>(x[r.r4 + k], x[r.r5 + k], x[r.r6 + k], x[r.r7 + k]); }
