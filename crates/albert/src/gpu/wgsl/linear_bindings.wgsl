// Parameters and bindings shared by linear.wgsl, linear_small.wgsl and linear_gemv.wgsl (same
// layout, so the model can pick any of them per dispatch): y = act(x · Wᵀ + b), W as torch's
// [out, in].

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
