//! albert: ALBERT (Lan et al., 2020) masked-language models from Hugging Face checkpoints,
//! computed on the GPU through wgpu (WGSL compute shaders; native and WebGPU) or on the CPU,
//! with the same numbers as transformers' `AlbertForMaskedLM`.
//!
//! The engine reads bytes, never paths or URLs, so the native CLI and the browser app share it.

pub mod activation;
pub mod bench;
pub mod config;
pub mod cpu;
pub mod crosscheck;
pub mod error;
pub mod files;
pub mod output;
pub mod pipeline;
pub mod rank;
pub mod remote;
mod spm;
pub mod tokenizer;
pub mod tolerance;
pub mod var_builder;
pub mod weights;
pub mod model;

pub use config::{Activation, Config};
pub use error::{Error, Result};
pub use output::{AttentionMap, Batch, HeadSwitch, LogitsRequest, MapViews, Neuron, Output, Prediction, Request, Thumbnails};
pub use tokenizer::{Encoding, Tokenizer};
pub use weights::{AlbertWeights, Checkpoint, DType};
pub use files::ModelFiles;
pub use pipeline::{Backend, FillMask, FillOptions, Drift, FillResult, Inside, LensLayer, ModelInfo, OrderResult};
pub mod gpu;
