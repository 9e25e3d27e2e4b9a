//! Named tolerances: how far each path may be from transformers, and why. The tests compare
//! against golden files with these, and the app's CPU–GPU cross-check judges with them, so a
//! user's GPU is held to exactly the bar the test suite holds lavapipe and SwiftShader to.

/// Max absolute differences: (logits and hidden states, attention probabilities).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Tol {
    pub name: &'static str,
    pub values: f32,
    pub probs: f32,
}

/// CPU f32 vs transformers f32: the same math in a different summation order.
pub const STRICT: Tol = Tol { name: "STRICT", values: 1e-4, probs: 1e-5 };
/// GPU vs transformers: f32 on the GPU, but fused multiply-adds, tiled summation order and the
/// GPU's exp/tanh/inverseSqrt (a few ulp, not correctly rounded) move results further.
pub const GPU: Tol = Tol { name: "GPU", values: 1e-3, probs: 1e-4 };
/// CPU vs GPU (the cross-check): each is within its own tolerance of transformers, so by the
/// triangle inequality they are within the sum of the two of each other.
pub const CROSS: Tol = Tol { name: "GPU+STRICT", values: GPU.values + STRICT.values, probs: GPU.probs + STRICT.probs };
