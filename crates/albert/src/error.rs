//! The engine's one error type. Every message says what was expected and what was found,
//! because most errors come from files a user picked, not from bugs.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum Error {
    /// config.json could not be parsed or holds values ALBERT cannot run.
    #[error("config.json: {0}")]
    Config(String),

    /// A weights file is not valid safetensors (truncated, corrupt header, ...).
    #[error("weights file `{file}`: {reason}")]
    WeightsFile { file: String, reason: String },

    /// A tensor the model needs is not in any weights file.
    #[error("missing tensor `{name}` (expected shape {expected:?}); the checkpoint has {found_count} tensors{hint}")]
    MissingTensor { name: String, expected: Vec<usize>, found_count: usize, hint: String },

    /// A tensor exists but its shape does not fit config.json.
    #[error("tensor `{name}` has shape {found:?}, but config.json implies {expected:?}")]
    TensorShape { name: String, expected: Vec<usize>, found: Vec<usize> },

    /// A tensor has a dtype the engine does not read.
    #[error("tensor `{name}` has dtype {found}; expected F32, F16 or BF16")]
    TensorDtype { name: String, found: String },

    /// A tensor holds NaN or ±infinity (a corrupt file or a diverged training run): refused at
    /// load, because every score computed from it would be NaN.
    #[error("tensor `{name}` holds {value} at index {index} of its {len} values: the weights are corrupt or come from a training run that diverged, and every prediction would be NaN")]
    NonFiniteWeight { name: String, value: String, index: usize, len: usize },

    /// A forward produced NaN or ±infinity scores (finite weights that overflow on this input):
    /// an error rather than a ranking of NaNs shown as `NaN%`.
    #[error("the model produced non-finite scores ({0}): its numbers overflowed on this input, so no prediction can be ranked")]
    NonFiniteOutput(String),

    /// The checkpoint has no masked-LM head (e.g. a bare AlbertModel).
    #[error("this checkpoint has no masked-LM head (`predictions.*` tensors): it looks like a bare AlbertModel, which gives hidden states and attentions but cannot fill a [MASK]")]
    NoMlmHead,

    /// The checkpoint lacks the sentence-order head (`sop_classifier.*` and `albert.pooler.*`,
    /// saved by AlbertForPreTraining only).
    #[error("this checkpoint has no sentence-order head: it lacks {0}; only AlbertForPreTraining checkpoints (with the pooler and `sop_classifier`) can rate sentence order")]
    NoSopHead(String),

    /// Tokenizer files missing or unreadable.
    #[error("tokenizer: {0}")]
    Tokenizer(String),

    /// The input cannot be run (empty, too long, no [MASK], ...).
    #[error("input: {0}")]
    Input(String),

    /// WebGPU / wgpu problems: no adapter, device lost, limits too small, shader errors.
    #[error("GPU: {0}")]
    Gpu(String),

    /// Model files could not be fetched or read.
    #[error("{0}")]
    Io(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
