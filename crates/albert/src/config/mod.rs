//! `Config`: Hugging Face's `config.json` for ALBERT, read with HF's own keys and defaults
//! (transformers' `AlbertConfig`), then validated so a bad file fails here with a clear
//! message instead of deep inside a kernel.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

pub use crate::activation::{Activation, ACTIVATION_NAMES};

mod counts;
mod validate;

pub use counts::ParameterCounts;
pub use validate::{LIMITS, MAX_PARAMETERS, MAX_TENSOR_ELEMENTS};

fn d_vocab() -> usize { 30000 }
fn d_emb() -> usize { 128 }
fn d_hidden() -> usize { 4096 }
fn d_layers() -> usize { 12 }
fn d_one() -> usize { 1 }
fn d_heads() -> usize { 64 }
fn d_inter() -> usize { 16384 }
fn d_act() -> String { "gelu_new".into() }
fn d_pos() -> usize { 512 }
fn d_types() -> usize { 2 }
fn d_eps() -> f64 { 1e-12 }
fn d_abs() -> String { "absolute".into() }
fn d_model_type() -> String { "albert".into() }

/// ALBERT's config.json. Field names and defaults are transformers' `AlbertConfig`
/// (its defaults are albert-xxlarge's shapes), so any hub checkpoint deserializes as is.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Config {
    #[serde(default = "d_model_type")]
    pub model_type: String,
    #[serde(default)]
    pub architectures: Option<Vec<String>>,
    #[serde(default = "d_vocab")]
    pub vocab_size: usize,
    #[serde(default = "d_emb")]
    pub embedding_size: usize,
    #[serde(default = "d_hidden")]
    pub hidden_size: usize,
    #[serde(default = "d_layers")]
    pub num_hidden_layers: usize,
    #[serde(default = "d_one")]
    pub num_hidden_groups: usize,
    #[serde(default = "d_heads")]
    pub num_attention_heads: usize,
    #[serde(default = "d_inter")]
    pub intermediate_size: usize,
    #[serde(default = "d_one")]
    pub inner_group_num: usize,
    #[serde(default = "d_act")]
    pub hidden_act: String,
    #[serde(default = "d_pos")]
    pub max_position_embeddings: usize,
    #[serde(default = "d_types")]
    pub type_vocab_size: usize,
    #[serde(default = "d_eps")]
    pub layer_norm_eps: f64,
    #[serde(default = "d_abs")]
    pub position_embedding_type: String,
    #[serde(default)]
    pub pad_token_id: Option<i64>,
    #[serde(default)]
    pub torch_dtype: Option<String>,
    // Dropouts and initializer_range do not change inference; accepted and ignored.
}

impl Config {
    /// Parses and validates config.json text.
    pub fn from_json(text: &str) -> Result<Self> {
        let value: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| Error::Config(format!("not valid JSON ({e})")))?;
        if !value.is_object() {
            return Err(Error::Config(format!("expected a JSON object, found {}", json_kind(&value))));
        }
        let cfg: Config = serde_json::from_value(value)
            .map_err(|e| Error::Config(format!("a key has the wrong type: {e}")))?;
        cfg.validate()?;
        Ok(cfg)
    }

    pub fn activation(&self) -> Result<Activation> {
        Activation::from_name(&self.hidden_act)
    }

    pub fn head_dim(&self) -> usize {
        self.hidden_size / self.num_attention_heads
    }

    /// Layers that share one group's block: layer `i` runs group `i / layers_per_group()`.
    pub fn layers_per_group(&self) -> usize {
        self.num_hidden_layers / self.num_hidden_groups
    }

    /// The group (shared block) that layer application `i` (0-based) runs, as transformers'
    /// `AlbertTransformer` computes it.
    pub fn group_of_layer(&self, i: usize) -> usize {
        if i >= self.num_hidden_layers {
            return 0; // past L: only an all-shared model runs deeper (`max_depth`)
        }
        i / self.layers_per_group()
    }

    /// The most layer applications a forward may run: L, or 2L when every layer shares one group.
    pub fn max_depth(&self) -> usize {
        if self.num_hidden_groups == 1 {
            2 * self.num_hidden_layers
        } else {
            self.num_hidden_layers
        }
    }

    /// How many attention maps one forward yields: one per inner layer of each layer application.
    pub fn num_attention_maps(&self) -> usize {
        self.num_hidden_layers * self.inner_group_num
    }
}

/// "a string", "an object", …: what a JSON value is, for error messages.
pub(crate) fn json_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE_V2: &str = r#"{
      "architectures": ["AlbertForMaskedLM"], "attention_probs_dropout_prob": 0, "bos_token_id": 2,
      "classifier_dropout_prob": 0.1, "down_scale_factor": 1, "embedding_size": 128, "eos_token_id": 3,
      "gap_size": 0, "hidden_act": "gelu_new", "hidden_dropout_prob": 0, "hidden_size": 768,
      "initializer_range": 0.02, "inner_group_num": 1, "intermediate_size": 3072, "layer_norm_eps": 1e-12,
      "max_position_embeddings": 512, "model_type": "albert", "net_structure_type": 0,
      "num_attention_heads": 12, "num_hidden_groups": 1, "num_hidden_layers": 12, "num_memory_blocks": 0,
      "pad_token_id": 0, "type_vocab_size": 2, "vocab_size": 30000}"#;

    #[test]
    fn albert_base_v2_parses_and_counts_its_parameters() {
        let c = Config::from_json(BASE_V2).unwrap();
        assert_eq!(c.head_dim(), 64);
        assert_eq!(c.activation().unwrap(), Activation::GeluNew);
        let p = c.parameter_counts();
        // transformers: AlbertForMaskedLM has 11,221,680 parameters (tied decoder counted once);
        // the "11.7M" usually quoted is AlbertModel with its pooler: 11,683,584.
        assert_eq!(p.total, 11_221_680);
        assert_eq!(p.total - p.mlm_head + (768 * 768 + 768), 11_683_584);
    }

    #[test]
    fn defaults_are_albert_config_defaults() {
        let c = Config::from_json(r#"{"model_type": "albert"}"#).unwrap();
        assert_eq!((c.hidden_size, c.num_attention_heads, c.intermediate_size), (4096, 64, 16384));
        assert_eq!(c.hidden_act, "gelu_new");
    }

    #[test]
    fn every_listed_activation_name_parses() {
        for n in ACTIVATION_NAMES {
            Activation::from_name(n).unwrap();
        }
    }

    #[test]
    fn group_of_layer_matches_transformers() {
        let c = Config::from_json(r#"{"num_hidden_layers": 12, "num_hidden_groups": 3}"#).unwrap();
        let groups: Vec<_> = (0..12).map(|i| c.group_of_layer(i)).collect();
        assert_eq!(groups, [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2]);
    }
}
