// Parameters and bindings shared by linear.wgsl, linear_small.wgsl, linear_gemv.wgsl and
// linear_gemv_short_k.wgsl (same layout, so the model can pick any of them per dispatch):
// y = act(x · Wᵀ + b), W as torch's [out, in].

struct Params { m: u32, n: u32, k: u32, act: u32 }

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
