// LayerNorm(x + residual) over rows of n features, one workgroup per row; the residual add is
// fused (AlbertLayer's two post-LN sublayers). With has_residual = 0 it is a plain LayerNorm
// (the MLM head's). Two-pass mean/variance, as torch computes it.

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> res: array<f32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;
#if F16
@group(0) @binding(3) var<storage, read> ln_w: array<u32>;
@group(0) @binding(4) var<storage, read> ln_b: array<u32>;
fn load_ln_w(i: u32) -> f32 { return half_at(ln_w[i >> 1u], i); }
fn load_ln_b(i: u32) -> f32 { return half_at(ln_b[i >> 1u], i); }
#else
@group(0) @binding(3) var<storage, read> ln_w: array<f32>;
@group(0) @binding(4) var<storage, read> ln_b: array<f32>;
fn load_ln_w(i: u32) -> f32 { return ln_w[i]; }
fn load_ln_b(i: u32) -> f32 { return ln_b[i]; }
#endif


fn value(i: u32) -> f32 {
    if (p.has_residual != 0u) { return x[i] + res[i]; }
    return x[i];
}

@compute @workgroup_size(128, 1, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    let r = wg.x + wg.y * 65535u;
    if (r >= p.rows) { return; }
    let base = r * p.n;
    var s = 0.0;
    for (var j = li; j < p.n; j += WG) { s += value(base + j); }
    let mean = reduce_sum(s, li) / f32(p.n);
    var q = 0.0;
    for (var j = li; j < p.n; j += WG) { let d = value(base + j) - mean; q += d * d; }
    let inv = inverseSqrt(reduce_sum(q, li) / f32(p.n) + p.eps);
    for (var j = li; j < p.n; j += WG) {
        out[base + j] = (value(base + j) - mean) * inv * load_ln_w(j) + load_ln_b(j);
    }
}
