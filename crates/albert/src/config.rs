//! `Config`: Hugging Face's `config.json` for ALBERT, read with HF's own keys and defaults
//! (transformers' `AlbertConfig`), then validated so a bad file fails here with a clear
//! message instead of deep inside a kernel.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

pub use crate::activation::{Activation, ACTIVATION_NAMES};

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

    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::Config(m));
        if self.model_type != "albert" {
            return bad(format!(
                "model_type is \"{}\", expected \"albert\": this is not an ALBERT checkpoint",
                self.model_type
            ));
        }
        for (name, v) in [
            ("vocab_size", self.vocab_size),
            ("embedding_size", self.embedding_size),
            ("hidden_size", self.hidden_size),
            ("num_hidden_layers", self.num_hidden_layers),
            ("num_hidden_groups", self.num_hidden_groups),
            ("num_attention_heads", self.num_attention_heads),
            ("intermediate_size", self.intermediate_size),
            ("inner_group_num", self.inner_group_num),
            ("max_position_embeddings", self.max_position_embeddings),
            ("type_vocab_size", self.type_vocab_size),
        ] {
            if v == 0 {
                return bad(format!("{name} is 0, expected a positive integer"));
            }
        }
        // Upper bounds, before any arithmetic on the sizes: a config is read before the weights
        // are downloaded, and sizes that no tensor checks (layers, positions) would otherwise
        // run a forward that never ends or allocate until the process is killed.
        for (name, v, max, why) in LIMITS {
            let v = v(self);
            if v > max {
                return bad(format!("{name} is {v}, above this engine's limit of {max} ({why})"));
            }
        }
        let counts = self.counts_u64();
        let (tensor, elements) = self.largest_tensor();
        if elements > MAX_TENSOR_ELEMENTS {
            return bad(format!(
                "{tensor} would hold {elements} values, above this engine's limit of {MAX_TENSOR_ELEMENTS} for one tensor \
                 (1 GiB in f32; albert-xxlarge's largest has 67,108,864)"
            ));
        }
        if counts.total > MAX_PARAMETERS {
            return bad(format!(
                "these sizes make {} parameters, above this engine's limit of {MAX_PARAMETERS} \
                 (albert-xxlarge has 222.6 million; 2 billion is 8 GB in f32)",
                counts.total
            ));
        }
        if !self.hidden_size.is_multiple_of(self.num_attention_heads) {
            return bad(format!(
                "hidden_size {} is not a multiple of num_attention_heads {}: heads must divide the hidden size",
                self.hidden_size, self.num_attention_heads
            ));
        }
        if !self.num_hidden_layers.is_multiple_of(self.num_hidden_groups) {
            return bad(format!(
                "num_hidden_layers {} is not a multiple of num_hidden_groups {}: groups must divide the layers",
                self.num_hidden_layers, self.num_hidden_groups
            ));
        }
        if !(self.layer_norm_eps.is_finite() && self.layer_norm_eps >= 0.0) {
            return bad(format!("layer_norm_eps is {}, expected a small non-negative number", self.layer_norm_eps));
        }
        if self.position_embedding_type != "absolute" {
            return bad(format!(
                "position_embedding_type \"{}\" is not supported; expected \"absolute\" (all released ALBERT checkpoints use it)",
                self.position_embedding_type
            ));
        }
        self.activation()?;
        Ok(())
    }

    /// Parameter counts by part, for `albert info` and the app's model panel. A count past
    /// `usize::MAX` (only the BERT comparison of a deep, wide model on wasm32) reads `usize::MAX`
    /// instead of wrapping.
    pub fn parameter_counts(&self) -> ParameterCounts {
        let c = self.counts_u64();
        let u = |x: u64| usize::try_from(x).unwrap_or(usize::MAX);
        ParameterCounts {
            embeddings: u(c.embeddings),
            projection: u(c.projection),
            per_group: u(c.per_group),
            groups: self.num_hidden_groups,
            mlm_head: u(c.mlm_head),
            total: u(c.total),
            unfactorized_embeddings: u(c.unfactorized_embeddings),
            unshared_layers: u(c.unshared_layers),
        }
    }

    /// `parameter_counts` in u64 with saturating arithmetic: exact for every config `validate`
    /// admits, and no overflow panic for the ones it is about to refuse.
    fn counts_u64(&self) -> CountsU64 {
        let n = |x: usize| x as u64;
        let (v, e, h, i, p, t) = (
            n(self.vocab_size),
            n(self.embedding_size),
            n(self.hidden_size),
            n(self.intermediate_size),
            n(self.max_position_embeddings),
            n(self.type_vocab_size),
        );
        let (add, mul) = (u64::saturating_add, u64::saturating_mul);
        let sum = |xs: &[u64]| xs.iter().fold(0u64, |a, &x| add(a, x));
        let vpt = sum(&[v, p, t]);
        let embeddings = add(mul(vpt, e), mul(2, e));
        let projection = add(mul(e, h), h);
        let hh = mul(h, h);
        let hi = mul(h, i);
        let layer = sum(&[mul(4, add(hh, h)), mul(2, h), add(hi, i), add(hi, h), mul(2, h)]);
        let per_group = mul(layer, n(self.inner_group_num));
        let mlm_head = sum(&[mul(h, e), e, mul(2, e), v]); // dense + LayerNorm + decoder bias (decoder weight tied)
        CountsU64 {
            embeddings,
            projection,
            per_group,
            mlm_head,
            total: sum(&[embeddings, projection, mul(per_group, n(self.num_hidden_groups)), mlm_head]),
            // BERT with the same shapes: V×H embeddings, no projection, a block per layer.
            unfactorized_embeddings: add(mul(vpt, h), mul(2, h)),
            unshared_layers: mul(per_group, n(self.num_hidden_layers)),
        }
    }

    /// The largest tensor these sizes imply, by name, and its number of values.
    fn largest_tensor(&self) -> (&'static str, u64) {
        let n = |x: usize| x as u64;
        let (v, e, h, i, p) =
            (n(self.vocab_size), n(self.embedding_size), n(self.hidden_size), n(self.intermediate_size), n(self.max_position_embeddings));
        let m = u64::saturating_mul;
        [
            ("word_embeddings (vocab_size × embedding_size)", m(v, e)),
            ("position_embeddings (max_position_embeddings × embedding_size)", m(p, e)),
            ("embedding_hidden_mapping_in (hidden_size × embedding_size)", m(h, e)),
            // The GPU stacks query, key and value into one [3H, H] buffer.
            ("query/key/value (3 × hidden_size × hidden_size)", m(3, m(h, h))),
            ("ffn (intermediate_size × hidden_size)", m(i, h)),
        ]
        .into_iter()
        .fold(("", 0), |best, x| if x.1 > best.1 { x } else { best })
    }
}

/// Parameter counts in u64 (`Config::counts_u64`).
struct CountsU64 {
    embeddings: u64,
    projection: u64,
    per_group: u64,
    mlm_head: u64,
    total: u64,
    unfactorized_embeddings: u64,
    unshared_layers: u64,
}

/// The most values one tensor may hold: 2^28 (1 GiB in f32). albert-xxlarge's largest
/// (ffn, 16384 × 4096) holds 2^26. It keeps every buffer's byte size far below wasm32's
/// `isize::MAX` (2 GiB, past which `Vec` panics) and every index within the shaders' u32.
pub const MAX_TENSOR_ELEMENTS: u64 = 1 << 28;

/// The most parameters a model may have: 2 billion, 9× albert-xxlarge (222.6 M); 8 GB in f32,
/// more than a browser tab's wasm memory (4 GiB) and most GPUs hold. Checked from config.json
/// alone, before the weights are downloaded.
pub const MAX_PARAMETERS: u64 = 2_000_000_000;

/// Upper bounds of config.json's sizes: (field, its value, the limit, why). Each admits every
/// released ALBERT (albert-xxlarge: hidden 4096, 64 heads, intermediate 16384, 12 layers,
/// vocabulary 30000, 512 positions) with room to spare; past them a file is hostile or broken.
#[allow(clippy::type_complexity)]
pub const LIMITS: [(&str, fn(&Config) -> usize, usize, &str); 10] = [
    // The MLM decoder's gemv kernel covers 16 vocabulary columns per workgroup, and WebGPU allows
    // 65,535 workgroups in a dimension: 1,048,560 columns.
    ("vocab_size", |c| c.vocab_size, 1_000_000, "the GPU decoder covers at most 1,048,560 columns; ALBERT's vocabulary has 30,000"),
    ("embedding_size", |c| c.embedding_size, 8192, "ALBERT's is 128"),
    ("hidden_size", |c| c.hidden_size, 8192, "twice albert-xxlarge's 4096"),
    ("intermediate_size", |c| c.intermediate_size, 65_536, "4× albert-xxlarge's 16384"),
    // Attention dispatches batch × heads workgroups in one grid dimension (at most 65,535).
    ("num_attention_heads", |c| c.num_attention_heads, 256, "4× albert-xxlarge's 64"),
    // Each position is a row of every T × T attention map; every ALBERT has 512.
    ("max_position_embeddings", |c| c.max_position_embeddings, 8192, "16× ALBERT's 512"),
    ("type_vocab_size", |c| c.type_vocab_size, 1024, "ALBERT's is 2"),
    // No tensor's shape depends on the layer count (ALBERT shares the weights across layers),
    // so the weights cannot catch a wrong one: 4,000,000,000 would run a forward for days, and
    // its attention maps would fill any memory. Released ALBERTs have 12 or 24 layers and the
    // paper's deepest has 48; 128 keeps a forward (and up to 2× that with --depth) bounded.
    ("num_hidden_layers", |c| c.num_hidden_layers, 128, "released ALBERTs have 12 or 24 layers; no tensor depends on it"),
    ("num_hidden_groups", |c| c.num_hidden_groups, 128, "at most one group per layer"),
    // Layers per group; every released ALBERT has 1.
    ("inner_group_num", |c| c.inner_group_num, 32, "every released ALBERT has 1"),
];

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct ParameterCounts {
    pub embeddings: usize,
    pub projection: usize,
    pub per_group: usize,
    pub groups: usize,
    pub mlm_head: usize,
    pub total: usize,
    pub unfactorized_embeddings: usize,
    pub unshared_layers: usize,
}

impl ParameterCounts {
    /// The same shapes as BERT: embeddings V×H (no E bottleneck) and one block per layer.
    pub fn bert_equivalent_total(&self, cfg: &Config) -> usize {
        let h = cfg.hidden_size;
        let head = h * h + h + 2 * h + cfg.vocab_size; // BERT's MLM transform is H→H
        self.unfactorized_embeddings + self.unshared_layers + head
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
    fn invalid_configs_explain_themselves() {
        let cases = [
            (r#"{"model_type": "bert"}"#, "not an ALBERT"),
            (r#"{"hidden_size": 100, "num_attention_heads": 12}"#, "not a multiple of num_attention_heads"),
            (r#"{"num_hidden_layers": 12, "num_hidden_groups": 5}"#, "groups must divide"),
            (r#"{"hidden_act": "gelu_foo"}"#, "unknown hidden_act \"gelu_foo\""),
            (r#"{"hidden_size": "big"}"#, "wrong type"),
            (r#"[1,2]"#, "found an array"),
            (r#"{"#, "not valid JSON"),
            (r#"{"vocab_size": 0}"#, "vocab_size is 0"),
            (r#"{"position_embedding_type": "relative_key"}"#, "not supported"),
        ];
        for (json, needle) in cases {
            let err = Config::from_json(json).unwrap_err().to_string();
            assert!(err.contains(needle), "{json}: {err}");
        }
    }

    /// Every released ALBERT's shapes (transformers' hub configs), which the limits must admit.
    const RELEASED: [(&str, usize, usize, usize, usize); 4] = [
        // (name, hidden, heads, intermediate, layers)
        ("base", 768, 12, 3072, 12),
        ("large", 1024, 16, 4096, 24),
        ("xlarge", 2048, 16, 8192, 24),
        ("xxlarge", 4096, 64, 16384, 12),
    ];

    #[test]
    fn the_limits_admit_every_released_albert() {
        for (name, h, heads, i, l) in RELEASED {
            let json = format!(
                r#"{{"vocab_size": 30000, "embedding_size": 128, "hidden_size": {h}, "num_attention_heads": {heads},
                    "intermediate_size": {i}, "num_hidden_layers": {l}, "num_hidden_groups": 1, "inner_group_num": 1,
                    "max_position_embeddings": 512, "type_vocab_size": 2}}"#
            );
            let c = Config::from_json(&json).unwrap_or_else(|e| panic!("albert-{name}: {e}"));
            assert!(c.parameter_counts().total < 250_000_000, "albert-{name}");
        }
        // xxlarge at 24 layers (the paper tried it) and the paper's deepest, 48 layers, too.
        Config::from_json(r#"{"num_hidden_layers": 24}"#).unwrap();
        Config::from_json(r#"{"hidden_size": 1024, "num_attention_heads": 16, "num_hidden_layers": 48}"#).unwrap();
    }

    #[test]
    fn sizes_past_the_limits_are_refused_naming_field_value_and_limit() {
        let cases = [
            (r#"{"num_hidden_layers": 4000000000}"#, "num_hidden_layers is 4000000000, above this engine's limit of 128"),
            (r#"{"num_hidden_layers": 100000}"#, "num_hidden_layers is 100000, above this engine's limit of 128"),
            (r#"{"num_hidden_layers": 256, "num_hidden_groups": 256}"#, "num_hidden_layers is 256"),
            (r#"{"num_hidden_groups": 1024, "num_hidden_layers": 1024}"#, "num_hidden_layers is 1024"),
            (r#"{"num_hidden_groups": 512, "num_hidden_layers": 128}"#, "num_hidden_groups is 512, above this engine's limit of 128"),
            (r#"{"num_attention_heads": 4096}"#, "num_attention_heads is 4096, above this engine's limit of 256"),
            (r#"{"hidden_size": 65536}"#, "hidden_size is 65536, above this engine's limit of 8192"),
            (r#"{"intermediate_size": 1000000}"#, "intermediate_size is 1000000, above this engine's limit of 65536"),
            (r#"{"embedding_size": 100000}"#, "embedding_size is 100000, above this engine's limit of 8192"),
            (r#"{"vocab_size": 2000000}"#, "vocab_size is 2000000, above this engine's limit of 1000000"),
            (r#"{"max_position_embeddings": 1000000}"#, "max_position_embeddings is 1000000, above this engine's limit of 8192"),
            (r#"{"type_vocab_size": 100000}"#, "type_vocab_size is 100000, above this engine's limit of 1024"),
            (r#"{"inner_group_num": 64}"#, "inner_group_num is 64, above this engine's limit of 32"),
            // usize::MAX on 64-bit: refused, not overflowed.
            (r#"{"vocab_size": 18446744073709551615}"#, "vocab_size is 18446744073709551615"),
            // Each field within its limit, the product not.
            (r#"{"vocab_size": 1000000, "embedding_size": 8192}"#, "word_embeddings (vocab_size × embedding_size) would hold 8192000000 values, above this engine's limit of 268435456"),
            (r#"{"hidden_size": 8192, "intermediate_size": 65536}"#, "ffn (intermediate_size × hidden_size) would hold"),
            (
                r#"{"hidden_size": 4096, "num_attention_heads": 64, "intermediate_size": 16384, "num_hidden_layers": 128, "num_hidden_groups": 128}"#,
                "parameters, above this engine's limit of 2000000000",
            ),
        ];
        for (json, needle) in cases {
            let t = std::time::Instant::now();
            let err = Config::from_json(json).unwrap_err().to_string();
            assert!(err.contains(needle), "{json}: {err}");
            assert!(t.elapsed().as_millis() < 100, "{json} took {:?}", t.elapsed());
        }
    }

    #[test]
    fn parameter_counts_saturate_instead_of_wrapping() {
        // Not a valid config (validate refuses it), but the counts must not panic or wrap.
        let mut c = Config::from_json(r#"{}"#).unwrap();
        c.vocab_size = usize::MAX;
        c.num_hidden_layers = usize::MAX;
        let p = c.parameter_counts();
        assert_eq!((p.total, p.unshared_layers), (usize::MAX, usize::MAX));
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
