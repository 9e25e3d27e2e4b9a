//! `Config::validate` and the engine's limits: a config.json whose sizes no released ALBERT has,
//! whose shapes do not divide, or whose product of sizes would not fit in memory is refused here,
//! from the file alone, before any weight is downloaded, with the field, its value and the limit.

use super::Config;
use crate::error::{Error, Result};

impl Config {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
