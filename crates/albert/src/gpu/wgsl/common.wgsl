// Shared by every kernel (prepended by gpu::kernels): the helpers the activations of
// activation.rs use, numerically safe. WGSL has no erf, so it is here.

const PI: f32 = 3.14159265358979;

// erf by Abramowitz–Stegun 7.1.26 refined: |error| < 1.5e-7, far inside the GPU tolerance.
fn erf_approx(x: f32) -> f32 {
    let s = sign(x);
    let a = abs(x);
    let t = 1.0 / (1.0 + 0.3275911 * a);
    let y = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * exp(-a * a);
    return s * y;
}

// tanh and exp of large arguments overflow to inf/NaN on some drivers; clamp first.
fn safe_tanh(x: f32) -> f32 {
    return tanh(clamp(x, -15.0, 15.0));
}

fn safe_sigmoid(x: f32) -> f32 {
    return 1.0 / (1.0 + exp(-clamp(x, -80.0, 80.0)));
}

fn gelu_erf(x: f32) -> f32 {
    return 0.5 * x * (1.0 + erf_approx(x * 0.7071067811865476));
}

// mish: x * tanh(softplus(x)); torch's softplus is linear above 20.
fn mish(x: f32) -> f32 {
    var sp = x;
    if (x <= 20.0) { sp = log(1.0 + exp(x)); }
    return x * safe_tanh(sp);
}

// `activation(x, code)` itself is generated from the table in activation.rs and follows.

#if F16
// Element i of an f16 tensor packed two per u32 word (`word` = the word holding it).
fn half_at(word: u32, i: u32) -> f32 {
    let v = unpack2x16float(word);
    return select(v.x, v.y, (i & 1u) == 1u);
}
#endif
