//! The Rust side of the WGSL contract, in one table: each kernel's file, the shared WGSL it
//! builds on, its uniform struct and the constants the host's grids depend on. A kernel's
//! source is `common.wgsl`, the generated `activation()`, its constants, its uniform struct,
//! its prelude and its file, specialized for the weight dtype by a tiny `#if F16` / `#else` /
//! `#endif` preprocessor (WGSL has none; f16 weights are packed two per u32 so they work
//! without the `shader-f16` feature). Pipelines are built once per device and dtype.
//!
//! To add a kernel: its `.wgsl` file, a `uniform!` struct if it needs new parameters, a row in
//! `kernels!` below, and a method on `record::Recorder` that binds and dispatches it; if only
//! one `Tuning` picks it (`gpu::choice`), a line in `Kernel::used_by`.

use super::device::Tuning;
use crate::activation::Activation;
use crate::error::{Error, Result};
use crate::weights::DType;

const COMMON: &str = include_str!("wgsl/common.wgsl");
/// Workgroup reductions for the row-wise kernels.
const REDUCE: &str = include_str!("wgsl/reduce.wgsl");
/// Bindings and helpers of the linear kernels.
const LINEAR_BINDINGS: &str = include_str!("wgsl/linear_bindings.wgsl");
/// Row arithmetic of the attention kernels.
const ATTENTION_PARAMS: &str = include_str!("wgsl/attention_params.wgsl");

/// A uniform block: `#[repr(C)]`, `Pod`, and its WGSL `struct` declaration generated from the
/// same field list, so the two cannot drift apart.
pub trait Uniform: bytemuck::Pod {
    const WGSL: &'static str;
}

macro_rules! uniform {
    ($(#[$doc:meta])* $name:ident as $wgsl:literal { $($field:ident: $ty:ident),* $(,)? }) => {
        $(#[$doc])*
        #[repr(C)]
        #[derive(Debug, Clone, Copy, Default, bytemuck::Pod, bytemuck::Zeroable)]
        pub struct $name { $(pub $field: $ty),* }
        impl Uniform for $name {
            const WGSL: &'static str = concat!("struct ", $wgsl, " { ", $(stringify!($field), ": ", stringify!($ty), ", ",)* "}\n");
        }
    };
}

uniform!(
    /// embeddings.wgsl: `rows` tokens of a batch of `seq_len`-long sequences, E = `e`.
    EmbeddingsParams as "Params" { rows: u32, seq_len: u32, e: u32, eps: f32 }
);
uniform!(
    /// The gemv and 16-row linear kernels: y[m, n] = act(x[m, k] · Wᵀ + b), `act` an
    /// `Activation` code (the 64×64 tiles take `TileParams`).
    LinearParams as "Params" { m: u32, n: u32, k: u32, act: u32 }
);
uniform!(
    /// linear.wgsl (the 64×64 tiles) and linear_split_sum.wgsl: the linear's shape, K in
    /// `splits` slices of `k_len` inputs (the last may be shorter; one slice of K: no split).
    TileParams as "Params" { m: u32, n: u32, k: u32, act: u32, k_len: u32, splits: u32, _a: u32, _b: u32 }
);
uniform!(
    /// add_layer_norm.wgsl: LayerNorm(x + residual) over `rows` rows of `n`.
    LayerNormParams as "Params" { rows: u32, n: u32, eps: f32, has_residual: u32 }
);
uniform!(
    /// The attention kernels. q, k and v are column blocks (offsets `q_off`, `k_off`, `v_off`)
    /// of buffers of row `stride`: the fused `[B·T, 3H]` projection, or separate `[B·T, H]`.
    AttentionParams as "AttentionParams" {
        batch: u32, seq_len: u32, heads: u32, head_dim: u32,
        stride: u32, scale: f32, rows: u32, hidden: u32,
        q_off: u32, k_off: u32, v_off: u32, _pad: u32,
    }
);
uniform!(
    /// gather_rows.wgsl: `n_rows` rows of `width`, written from row `dst_row` of the output.
    GatherParams as "Params" { n_rows: u32, width: u32, dst_row: u32, _b: u32 }
);
uniform!(
    /// drift.wgsl: `rows` hidden rows of `width`; writes layer `index`'s (l2, cosine).
    DriftParams as "Params" { rows: u32, width: u32, index: u32, _a: u32 }
);
uniform!(
    /// head_mean.wgsl: the mean over `heads` of `batch` maps of `t × t`, written from element `out_at`.
    HeadMeanParams as "Params" { batch: u32, heads: u32, t: u32, out_at: u32 }
);
uniform!(
    /// max_pool.wgsl: `maps` maps of `t × t` to `side × side` by blocks of `block`, written from
    /// element `out_at`.
    MaxPoolParams as "Params" { maps: u32, t: u32, side: u32, block: u32, out_at: u32, _a: u32, _b: u32, _c: u32 }
);
uniform!(
    /// head_off.wgsl: zero head `head`'s `head_dim` columns of `rows` context rows of `hidden`.
    HeadOffParams as "Params" { rows: u32, hidden: u32, head_dim: u32, head: u32 }
);

/// Output tile of `linear` (rows and columns).
pub const LINEAR_TILE: u32 = 64;
/// The K step of `linear` (its workgroup tiles are [KT][TILE + 1]); a split's slices are
/// multiples of it.
pub const LINEAR_KT: u32 = 16;
/// Output tile of `linear_small`: rows, columns.
pub const SMALL_ROWS: u32 = 16;
pub const SMALL_COLS: u32 = 64;
/// Rows a `linear_gemv` / `linear_gemv_short_k` workgroup takes (grid y covers more).
pub const GEMV_ROWS: u32 = 8;
/// Output columns a `linear_gemv` workgroup computes (4 threads split each column's K).
pub const GEMV_COLS: u32 = 16;
/// Output columns a `linear_gemv_short_k` workgroup computes (one thread a column).
pub const SHORT_K_COLS: u32 = 64;
/// Output columns a `linear_gemv_wide` workgroup computes, and the threads splitting each
/// column's K sum (a power of two: their partial sums meet in a tree).
pub const WIDE_COLS: u32 = 4;
pub const WIDE_LANES: u32 = 64;
const _: () = assert!(WIDE_COLS * WIDE_LANES == 256 && GEMV_ROWS * 256 == 2048 && WIDE_LANES.is_power_of_two());
/// Query rows a fused attention workgroup takes.
pub const ATTENTION_ROWS: u32 = 4;
/// Widest head `attention_flash` takes (its tiles are TILE_D + 1 words a row; every ALBERT's
/// head is 64 wide); wider heads run `attention` on any tuning.
pub const ATTENTION_TILE_D: u32 = 64;
/// Query rows an `attention_flash` workgroup takes (16 threads each, 128 in all).
pub const ATTENTION_FLASH_ROWS: u32 = 8;
/// Longest sequence the fused attention kernel takes: every ALBERT's max_position_embeddings;
/// longer inputs run attention_probs + attention_context.
pub const ATTENTION_MAX_T: u32 = 512;
/// Threads a workgroup of the one-thread-an-element kernels (gather_rows, attention_context).
pub const ELEMENT_WG: u32 = 64;

macro_rules! kernels {
    ($($variant:ident => $file:literal, $params:ty, [$($prelude:expr),*], [$($cname:literal = $cval:expr),*];)*) => {
        /// Every WGSL kernel (one `.wgsl` file each).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Kernel { $($variant),* }

        impl Kernel {
            pub const ALL: &'static [Kernel] = &[$(Kernel::$variant),*];

            pub fn name(self) -> &'static str {
                match self { $(Kernel::$variant => $file),* }
            }

            fn source(self) -> &'static str {
                match self { $(Kernel::$variant => include_str!(concat!("wgsl/", $file, ".wgsl"))),* }
            }

            /// Shared WGSL the kernel file builds on, besides `common.wgsl`.
            fn prelude(self) -> &'static [&'static str] {
                match self { $(Kernel::$variant => &[$($prelude),*]),* }
            }

            /// Its uniform struct, declared in WGSL.
            fn params_wgsl(self) -> &'static str {
                match self { $(Kernel::$variant => <$params as Uniform>::WGSL),* }
            }

            /// The Rust type of its uniform (checked by `Recorder::dispatch` in debug builds).
            pub(crate) fn params_type(self) -> &'static str {
                match self { $(Kernel::$variant => std::any::type_name::<$params>()),* }
            }

            /// WGSL constants the host computes grids with, written once here.
            fn consts(self) -> &'static [(&'static str, u32)] {
                match self { $(Kernel::$variant => &[$(($cname, $cval)),*]),* }
            }
        }
    };
}

kernels! {
    Embeddings => "embeddings", EmbeddingsParams, [REDUCE], [];
    Linear => "linear", TileParams, [LINEAR_BINDINGS], ["TILE" = LINEAR_TILE, "KT" = LINEAR_KT];
    LinearSmall => "linear_small", LinearParams, [LINEAR_BINDINGS], ["TM" = SMALL_ROWS, "TN" = SMALL_COLS];
    LinearGemv => "linear_gemv", LinearParams, [LINEAR_BINDINGS], ["COLS" = GEMV_COLS, "RM" = GEMV_ROWS];
    LinearGemvShortK => "linear_gemv_short_k", LinearParams, [LINEAR_BINDINGS], ["COLS" = SHORT_K_COLS, "RM" = GEMV_ROWS];
    LinearSplitSum => "linear_split_sum", TileParams, [LINEAR_BINDINGS], [];
    LinearGemvWide => "linear_gemv_wide", LinearParams, [LINEAR_BINDINGS], ["COLS" = WIDE_COLS, "LANES" = WIDE_LANES, "RM" = GEMV_ROWS];
    AttentionProbs => "attention_probs", AttentionParams, [REDUCE, ATTENTION_PARAMS], [];
    AttentionContext => "attention_context", AttentionParams, [ATTENTION_PARAMS], ["WG" = ELEMENT_WG];
    Attention => "attention", AttentionParams, [ATTENTION_PARAMS], ["ROWS" = ATTENTION_ROWS, "MAX_T" = ATTENTION_MAX_T];
    AttentionFlash => "attention_flash", AttentionParams, [ATTENTION_PARAMS], ["FR" = ATTENTION_FLASH_ROWS, "TILE_D" = ATTENTION_TILE_D];
    AddLayerNorm => "add_layer_norm", LayerNormParams, [REDUCE], [];
    GatherRows => "gather_rows", GatherParams, [], ["WG" = ELEMENT_WG];
    Drift => "drift", DriftParams, [REDUCE], [];
    HeadOff => "head_off", HeadOffParams, [], ["WG" = ELEMENT_WG];
    HeadMean => "head_mean", HeadMeanParams, [], ["WG" = ELEMENT_WG];
    MaxPool => "max_pool", MaxPoolParams, [], ["WG" = ELEMENT_WG];
}

impl Kernel {
    /// Whether `tuning`'s plans can pick this kernel (`gpu::choice`); pipelines are compiled for
    /// those only. SwiftShader compiles on the CPU: the page's first load on it took 7.3 s of
    /// pipeline compilation with every kernel, 3.1–3.4 s before real GPUs' kernels existed
    /// (tests/e2e/first-prediction.test.mjs).
    pub fn used_by(self, tuning: Tuning) -> bool {
        match self {
            Kernel::LinearGemvWide | Kernel::LinearSplitSum | Kernel::AttentionFlash => tuning.real_gpu(),
            Kernel::LinearSmall | Kernel::LinearGemv | Kernel::LinearGemvShortK => !tuning.real_gpu(),
            _ => true,
        }
    }

    /// Full WGSL for this kernel and weight dtype.
    pub fn wgsl(self, dtype: DType) -> String {
        let f16 = dtype == DType::F16;
        let consts: String = self.consts().iter().map(|(n, v)| format!("const {n}: u32 = {v}u;\n")).collect();
        let generated = [Activation::wgsl(), consts, self.params_wgsl().to_string()];
        std::iter::once(COMMON.to_string())
            .chain(generated)
            .chain(self.prelude().iter().chain([&self.source()]).map(|s| s.to_string()))
            .map(|s| preprocess(&s, f16))
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
    /// Compiles the kernels `tuning` uses; shader errors come back as `Error::Gpu` naming the
    /// kernel.
    pub async fn new(device: &wgpu::Device, dtype: DType, tuning: Tuning) -> Result<Self> {
        let mut pipelines = Vec::new();
        for &k in Kernel::ALL.iter().filter(|k| k.used_by(tuning)) {
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
        // `new` compiled every kernel its tuning's plans pick (`gpu::choice` and `used_by` agree:
        // the kernel and golden tests run each tuning's plans), so the lookup cannot miss.
        &self.pipelines.iter().find(|(kk, _)| *kk == k).expect("the tuning's kernels are compiled").1
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
    fn uniform_structs_declare_their_fields_in_order() {
        assert_eq!(LinearParams::WGSL, "struct Params { m: u32, n: u32, k: u32, act: u32, }\n");
        assert_eq!(std::mem::size_of::<AttentionParams>(), 48);
    }

    #[test]
    fn every_kernel_parses_as_wgsl_in_both_dtypes() {
        for &k in Kernel::ALL {
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
