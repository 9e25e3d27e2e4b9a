//! WGSL sources and compute pipelines. Each kernel is one `.wgsl` file, prefixed with
//! `common.wgsl` and specialized for the model's weight dtype by a tiny `#if F16` / `#else` /
//! `#endif` preprocessor (WGSL has none, and f16 weights are packed two per u32 so they work
//! without the `shader-f16` feature). Pipelines are built once per device and dtype.

use crate::error::{Error, Result};
use crate::weights::DType;

pub const COMMON: &str = include_str!("wgsl/common.wgsl");
/// Workgroup reductions for the row-wise kernels.
const REDUCE: &str = include_str!("wgsl/reduce.wgsl");
/// Parameters and bindings of the linear kernels.
const LINEAR_BINDINGS: &str = include_str!("wgsl/linear_bindings.wgsl");
/// Parameters of the three attention kernels.
const ATTENTION_PARAMS: &str = include_str!("wgsl/attention_params.wgsl");

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kernel {
    Embeddings,
    Linear,
    LinearSmall,
    LinearGemv,
    LinearGemvShortK,
    AttentionProbs,
    AttentionContext,
    Attention,
    AddLayerNorm,
    GatherRows,
}

impl Kernel {
    pub const ALL: [Kernel; 10] = [
        Kernel::Embeddings,
        Kernel::Linear,
        Kernel::LinearSmall,
        Kernel::LinearGemv,
        Kernel::LinearGemvShortK,
        Kernel::AttentionProbs,
        Kernel::AttentionContext,
        Kernel::Attention,
        Kernel::AddLayerNorm,
        Kernel::GatherRows,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kernel::Embeddings => "embeddings",
            Kernel::Linear => "linear",
            Kernel::LinearSmall => "linear_small",
            Kernel::LinearGemv => "linear_gemv",
            Kernel::LinearGemvShortK => "linear_gemv_short_k",
            Kernel::AttentionProbs => "attention_probs",
            Kernel::AttentionContext => "attention_context",
            Kernel::Attention => "attention",
            Kernel::AddLayerNorm => "add_layer_norm",
            Kernel::GatherRows => "gather_rows",
        }
    }

    fn source(self) -> &'static str {
        match self {
            Kernel::Embeddings => include_str!("wgsl/embeddings.wgsl"),
            Kernel::Linear => include_str!("wgsl/linear.wgsl"),
            Kernel::LinearSmall => include_str!("wgsl/linear_small.wgsl"),
            Kernel::LinearGemv => include_str!("wgsl/linear_gemv.wgsl"),
            Kernel::LinearGemvShortK => include_str!("wgsl/linear_gemv_short_k.wgsl"),
            Kernel::AttentionProbs => include_str!("wgsl/attention_probs.wgsl"),
            Kernel::AttentionContext => include_str!("wgsl/attention_context.wgsl"),
            Kernel::Attention => include_str!("wgsl/attention.wgsl"),
            Kernel::AddLayerNorm => include_str!("wgsl/add_layer_norm.wgsl"),
            Kernel::GatherRows => include_str!("wgsl/gather_rows.wgsl"),
        }
    }

    /// Shared WGSL a kernel file builds on, besides `common.wgsl`.
    fn prelude(self) -> &'static [&'static str] {
        match self {
            Kernel::Embeddings | Kernel::AddLayerNorm => &[REDUCE],
            Kernel::AttentionProbs => &[REDUCE, ATTENTION_PARAMS],
            Kernel::Attention => &[ATTENTION_PARAMS],
            Kernel::AttentionContext => &[ATTENTION_PARAMS],
            Kernel::Linear | Kernel::LinearSmall | Kernel::LinearGemv | Kernel::LinearGemvShortK => &[LINEAR_BINDINGS],
            Kernel::GatherRows => &[],
        }
    }

    /// Full WGSL for this kernel and weight dtype.
    pub fn wgsl(self, dtype: DType) -> String {
        let f16 = dtype == DType::F16;
        std::iter::once(COMMON)
            .chain(self.prelude().iter().copied())
            .chain([self.source()])
            .map(|s| preprocess(s, f16))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// Keeps the `#if F16` branch or the `#else` branch. No nesting: kernels need only one switch.
pub fn preprocess(src: &str, f16: bool) -> String {
    let mut out = String::with_capacity(src.len());
    let mut state: Option<bool> = None; // Some(keep) inside a conditional block
    for line in src.lines() {
        match line.trim() {
            "#if F16" => state = Some(f16),
            "#else" => state = state.map(|k| !k),
            "#endif" => state = None,
            _ => {
                if state.unwrap_or(true) {
                    out.push_str(line);
                }
            }
        }
        // One output line per input line, so shader errors point at the .wgsl file's lines.
        out.push('\n');
    }
    out
}

/// The compiled pipelines for one device and weight dtype.
pub struct Pipelines {
    pipelines: Vec<(Kernel, wgpu::ComputePipeline)>,
}

impl Pipelines {
    /// Compiles every kernel; shader errors come back as `Error::Gpu` naming the kernel.
    pub async fn new(device: &wgpu::Device, dtype: DType) -> Result<Self> {
        let mut pipelines = Vec::new();
        for k in Kernel::ALL {
            let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
            let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some(k.name()),
                source: wgpu::ShaderSource::Wgsl(k.wgsl(dtype).into()),
            });
            let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(k.name()),
                layout: None,
                module: &module,
                entry_point: Some("main"),
                compilation_options: Default::default(),
                cache: None,
            });
            if let Some(e) = scope.pop().await {
                return Err(Error::Gpu(format!("kernel `{}` ({dtype:?} weights) failed to compile: {e}", k.name())));
            }
            pipelines.push((k, pipeline));
        }
        Ok(Pipelines { pipelines })
    }

    pub fn get(&self, k: Kernel) -> &wgpu::ComputePipeline {
        // Every kernel is compiled in `new`, so the lookup cannot miss.
        &self.pipelines.iter().find(|(kk, _)| *kk == k).expect("all kernels compiled").1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preprocessor_keeps_one_branch_and_line_numbers() {
        let src = "a\n#if F16\nb16\n#else\nb32\n#endif\nc\n";
        assert_eq!(preprocess(src, true), "a\n\nb16\n\n\n\nc\n");
        assert_eq!(preprocess(src, false), "a\n\n\n\nb32\n\nc\n");
    }

    #[test]
    fn every_kernel_parses_as_wgsl_in_both_dtypes() {
        for k in Kernel::ALL {
            for d in [DType::F32, DType::F16] {
                let src = k.wgsl(d);
                if let Err(e) = naga_check(&src) {
                    panic!("{} {d:?}: {e}", k.name());
                }
            }
        }
    }

    fn naga_check(src: &str) -> std::result::Result<(), String> {
        let module = wgpu::naga::front::wgsl::parse_str(src).map_err(|e| e.emit_to_string(src))?;
        // unpack2x16float is core WGSL (WebGPU always has it); naga files it under this capability.
        let mut v = wgpu::naga::valid::Validator::new(
            wgpu::naga::valid::ValidationFlags::all(),
            wgpu::naga::valid::Capabilities::SHADER_FLOAT16_IN_FLOAT32,
        );
        v.validate(&module).map_err(|e| format!("{e:?}"))?;
        Ok(())
    }
}
