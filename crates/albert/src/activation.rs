//! Activation functions: the one table of transformers' `ACT2FN` entries ALBERT configs may
//! name. Each row gives the `hidden_act` names, the CPU formula (as torch computes it) and the
//! WGSL expression; the enum, the name list, the CPU `apply` and the WGSL `activation()` switch
//! prepended to every kernel are all generated from it, so adding an activation is one row.
//! The numeric code a kernel receives (`LinearParams::act`) is the enum's discriminant.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

macro_rules! activations {
    ($($(#[$doc:meta])* $variant:ident = $code:literal, $name:literal $(| $alias:literal)*, cpu: $cpu:expr, wgsl: $wgsl:literal;)*) => {
        /// Activation functions by their transformers `ACT2FN` names.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
        pub enum Activation {
            $($(#[$doc])* #[serde(rename = $name $(, alias = $alias)*)] $variant = $code,)*
        }

        /// Every name `hidden_act` may take, for error messages.
        pub const ACTIVATION_NAMES: &[&str] = &[$($name, $($alias,)*)*];

        impl Activation {
            /// `act(x)` exactly as torch computes it (the CPU reference).
            pub fn apply(self, x: f32) -> f32 {
                match self {
                    $(Activation::$variant => {
                        let f: fn(f32) -> f32 = $cpu;
                        f(x)
                    })*
                }
            }

            /// The activation whose `code()` is `code` (a worker receives it as a number).
            pub fn from_code(code: u32) -> Option<Self> {
                match code {
                    $($code => Some(Activation::$variant),)*
                    _ => None,
                }
            }

            /// WGSL `fn activation(x: f32, code: u32) -> f32`, a switch over every code.
            pub fn wgsl() -> String {
                let mut s = String::from("fn activation(x: f32, code: u32) -> f32 {\n    switch code {\n");
                $(s.push_str(&format!("        case {}u: {{ return {}; }}\n", $code, $wgsl));)*
                s.push_str("        default: { return x; }\n    }\n}\n");
                s
            }
        }
    };
}

activations! {
    Linear = 0, "linear", cpu: |x| x, wgsl: "x";
    /// Exact GELU with erf (torch's default `gelu`, also `gelu_python`).
    Gelu = 1, "gelu" | "gelu_python", cpu: gelu, wgsl: "gelu_erf(x)";
    /// The tanh approximation (`gelu_new`, `gelu_pytorch_tanh`, `gelu_fast`, `gelu_accurate`
    /// compute the same function up to rounding).
    GeluNew = 2, "gelu_new" | "gelu_pytorch_tanh" | "gelu_fast" | "gelu_accurate",
        cpu: |x| 0.5 * x * (1.0 + ((2.0 / std::f32::consts::PI).sqrt() * (x + 0.044715 * x * x * x)).tanh()),
        wgsl: "0.5 * x * (1.0 + safe_tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)))";
    Relu = 3, "relu", cpu: |x| x.max(0.0), wgsl: "max(x, 0.0)";
    Silu = 4, "silu" | "swish", cpu: |x| x / (1.0 + (-x).exp()), wgsl: "x * safe_sigmoid(x)";
    QuickGelu = 5, "quick_gelu", cpu: |x| x / (1.0 + (-1.702 * x).exp()), wgsl: "x * safe_sigmoid(1.702 * x)";
    Relu6 = 6, "relu6", cpu: |x| x.clamp(0.0, 6.0), wgsl: "clamp(x, 0.0, 6.0)";
    Tanh = 7, "tanh", cpu: |x| x.tanh(), wgsl: "safe_tanh(x)";
    Sigmoid = 8, "sigmoid", cpu: |x| 1.0 / (1.0 + (-x).exp()), wgsl: "safe_sigmoid(x)";
    Mish = 9, "mish", cpu: |x| x * softplus(x).tanh(), wgsl: "mish(x)";
    Relu2 = 10, "relu2", cpu: |x| x.max(0.0) * x.max(0.0), wgsl: "max(x, 0.0) * max(x, 0.0)";
    LeakyRelu = 11, "leaky_relu", cpu: |x| if x >= 0.0 { x } else { 0.01 * x }, wgsl: "select(0.01 * x, x, x >= 0.0)";
    /// GELU clipped to [-10, 10].
    Gelu10 = 12, "gelu_10", cpu: |x| gelu(x).clamp(-10.0, 10.0), wgsl: "clamp(gelu_erf(x), -10.0, 10.0)";
    // transformers' LaplaceActivation defaults (mu 0.707107, sigma 0.282095), written as it
    // writes them (not 1/√2).
    Laplace = 13, "laplace", cpu: |x| 0.5 * (1.0 + erf((x - LAPLACE_MU) / (0.282095 * std::f32::consts::SQRT_2))),
        wgsl: "0.5 * (1.0 + erf_approx((x - 0.707107) / (0.282095 * 1.4142135623730951)))";
}

/// transformers' `LaplaceActivation` mu, as it writes it: close to 1/√2 but not that constant,
/// and the reference tolerance sees the difference.
#[allow(clippy::approx_constant)]
const LAPLACE_MU: f32 = 0.707107;

/// erf in f64 precision (libm), rounded once: the 1e-5 reference tolerance needs better than
/// the Abramowitz–Stegun approximation the GPU uses.
pub fn erf(x: f32) -> f32 {
    libm::erf(x as f64) as f32
}

fn gelu(x: f32) -> f32 {
    0.5 * x * (1.0 + erf(x / std::f32::consts::SQRT_2))
}

fn softplus(x: f32) -> f32 {
    // torch's softplus switches to identity above 20.
    if x > 20.0 { x } else { x.exp().ln_1p() }
}

impl Activation {
    pub fn from_name(name: &str) -> Result<Self> {
        serde_json::from_value(serde_json::Value::String(name.to_string())).map_err(|_| {
            Error::Config(format!("unknown hidden_act \"{name}\"; expected one of: {}", ACTIVATION_NAMES.join(", ")))
        })
    }

    /// The code the kernels switch on (`activation()` in WGSL).
    pub fn code(self) -> u32 {
        self as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erf_matches_known_values() {
        // Values from Abramowitz & Stegun table 7.1.
        for (x, e) in [(0.0, 0.0), (0.5, 0.5204998778), (1.0, 0.8427007929), (2.0, 0.9953222650), (-1.5, -0.9661051465), (3.5, 0.9999992569)] {
            assert!((libm::erf(x) - e).abs() < 2e-9, "erf({x}) = {} vs {e}", libm::erf(x));
        }
    }

    #[test]
    fn every_name_parses_and_the_wgsl_switch_has_every_code() {
        let wgsl = Activation::wgsl();
        for n in ACTIVATION_NAMES {
            let a = Activation::from_name(n).unwrap();
            assert!(wgsl.contains(&format!("case {}u:", a.code())), "{n}");
            assert_eq!(Activation::from_code(a.code()), Some(a), "{n}");
        }
        assert!(Activation::from_name("gelu_foo").is_err());
        assert_eq!(Activation::from_code(99), None);
    }
}
