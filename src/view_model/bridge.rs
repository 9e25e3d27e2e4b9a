//! The CPU bridge (issue 15 item 4). Before WebGPU answers, the page opens a device, compiles its
//! WGSL pipelines and uploads the weights. The compilation alone takes from a few hundred ms on
//! some drivers to seconds on a CPU emulator such as SwiftShader. So a model small enough to
//! hold twice first answers from a one-thread CPU worker: the first prediction waits for the
//! files, the worker and one CPU forward, not for the shader compiler. Only then does WebGPU
//! compile (on a machine with two cores the compiler and the bridge would otherwise share
//! them), and once its model is ready it takes over and the sentence runs again on it. What
//! decides that, and what the status line says meanwhile, lives here; `session::load` does it.

use super::params::Params;
use super::Backend;

/// Weights up to this size get the bridge. albert-base (47 MB in f32) and albert-large (71 MB)
/// do. Past it, the worker's second copy weighs on memory, and a CPU forward (albert-xlarge:
/// 235 MB, a second or more on one thread) would not beat the compiler by much.
pub const MAX_BYTES: usize = 128 << 20;

/// Whether a load answers from the CPU while WebGPU gets ready: only for WebGPU, not for
/// `?bench=1` (it times the GPU and wants the page to itself), not with `?bridge=0`, and only for
/// weights up to [`MAX_BYTES`].
pub fn wanted(params: &Params, backend: Option<Backend>, weights_bytes: usize) -> bool {
    params.bridge && !params.bench && backend == Some(Backend::WebGpu) && weights_bytes <= MAX_BYTES
}

/// How long WebGPU waits for the bridge's first forward before it compiles anyway (a long
/// sentence on a slow CPU must not hold the GPU back).
pub const FIRST_ANSWER_MS: f64 = 2000.0;

/// How long the status waits for WebGPU's first forward after it took over before saying
/// "Ready" (until then the bridge's predictions are on the page).
pub const TAKEOVER_ANSWER_MS: f64 = 10_000.0;

/// What WebGPU is doing before it can answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GpuStep {
    Device,
    Compile { pipelines: usize, f16: bool },
    Upload,
}

/// The status line's text for `step`: plain, or (`bridged`) saying that the CPU answers meanwhile.
pub fn step_status(step: GpuStep, bridged: bool) -> String {
    match (step, bridged) {
        (GpuStep::Device, false) => "Opening the WebGPU device…".into(),
        (GpuStep::Compile { pipelines, f16 }, false) => {
            format!("Compiling {pipelines} WGSL compute pipelines for {} weights…", if f16 { "f16" } else { "f32" })
        }
        (GpuStep::Upload, false) => "Parsing the weights and uploading them to the GPU…".into(),
        (GpuStep::Device, true) => "Answering on the CPU while the WebGPU device opens…".into(),
        (GpuStep::Compile { pipelines, .. }, true) => {
            format!("Answering on the CPU while WebGPU compiles its {pipelines} compute pipelines…")
        }
        (GpuStep::Upload, true) => "Answering on the CPU while the weights upload to the GPU…".into(),
    }
}

/// The status line when WebGPU failed after the bridge answered: the CPU keeps answering while
/// the CPU path proper (with its helper threads) loads.
pub const GPU_FAILED_BRIDGED: &str = "WebGPU failed; the CPU keeps answering while the CPU path loads the model…";

/// The cross-check card while the bridge answers.
pub const CROSSCHECK_WAITS: &str = "The CPU answers until WebGPU is ready; the cross-check can run then.";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::view_model::params::parse_query;

    #[test]
    fn only_webgpu_loads_of_small_models_outside_the_benchmark() {
        let p = Params::default();
        assert!(wanted(&p, Some(Backend::WebGpu), 12 << 20));
        assert!(wanted(&p, Some(Backend::WebGpu), MAX_BYTES));
        assert!(!wanted(&p, Some(Backend::WebGpu), MAX_BYTES + 1), "too big to hold twice");
        assert!(!wanted(&p, Some(Backend::Cpu), 12 << 20), "the CPU path needs no bridge");
        assert!(!wanted(&p, None, 12 << 20));
        assert!(!wanted(&parse_query("bench=1"), Some(Backend::WebGpu), 12 << 20), "the benchmark times the GPU alone");
        assert!(!wanted(&parse_query("bridge=0"), Some(Backend::WebGpu), 12 << 20));
    }

    #[test]
    fn the_status_says_who_answers_meanwhile() {
        let compile = GpuStep::Compile { pipelines: 14, f16: true };
        assert_eq!(step_status(compile, false), "Compiling 14 WGSL compute pipelines for f16 weights…");
        assert_eq!(step_status(compile, true), "Answering on the CPU while WebGPU compiles its 14 compute pipelines…");
        for step in [GpuStep::Device, compile, GpuStep::Upload] {
            assert!(step_status(step, true).starts_with("Answering on the CPU while"), "{step:?}");
            assert!(!step_status(step, false).contains("CPU"), "{step:?}");
        }
    }
}
