//! The GPU engine: ALBERT as wgpu compute shaders, natively (Vulkan/Metal/DX12) and in the
//! browser (WebGPU), mirroring `cpu` name for name.
//!
//! Shape of the work, following wgpu's repeated_compute: device and pipelines are made once;
//! weights are uploaded once per model (so a shared ALBERT block exists once in GPU memory,
//! however many layers run it); for each input shape a plan of activation buffers, bind
//! groups and dispatches is built once and reused; a forward writes the token ids, records
//! every dispatch in one command encoder, submits once, and maps one staging buffer holding
//! only what the caller asked for.
//!
//! By concern: `device` (adapter, buffers, readback, `Tuning`), `kernels` (the WGSL table,
//! uniforms, pipelines), `choice` (which kernel and grid for a shape and tuning), `record`
//! (typed dispatches, submission), `model` (each module's dispatches), `plan` (the model, its
//! plans and forward), `profile` (per-dispatch timing), `ops` (single kernels for the kernel
//! tests).

mod choice;
mod device;
pub mod kernels;
mod model;
pub mod ops;
mod plan;
mod profile;
mod record;

pub use device::{buffers_created, Gpu, Tuning};
pub use model::{AlbertAttention, AlbertEmbeddings, AlbertLayer, AlbertLayerGroup, AlbertMLMHead, AlbertModel, AlbertSOPHead, AlbertTransformer};
pub use plan::AlbertForMaskedLM;
pub use profile::{by_stage, median_per_dispatch, DispatchTime, StageTime};

/// Longest sequence the fused attention kernel takes (`kernels::ATTENTION_MAX_T`).
pub const ATTENTION_MAX_T: usize = kernels::ATTENTION_MAX_T as usize;
