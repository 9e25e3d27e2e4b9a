//! The parameter calculator: ALBERT's shapes and sharing → parameters and bytes by part, beside
//! a BERT of the same shapes. Counts are transformers' `AlbertModel(config).num_parameters()`
//! (embeddings, the E→H projection, the encoder's unique layers, the pooler; no MLM head) and
//! `BertModel(config).num_parameters()`; `testdata/param_counts.json`, written by
//! tools/golden/param_counts.py, holds transformers' own numbers for every preset.

/// Which parts of a layer are shared across depth (the ALBERT paper's Table 4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sharing {
    /// One block per group (HF `num_hidden_groups`), run by every layer of its group.
    All,
    /// One attention sublayer for all layers; a feed-forward sublayer per layer.
    Attention,
    /// One feed-forward sublayer for all layers; an attention sublayer per layer.
    Ffn,
    /// A block per layer (BERT-like).
    None,
}

impl Sharing {
    pub const ALL: [Sharing; 4] = [Sharing::All, Sharing::Attention, Sharing::Ffn, Sharing::None];

    /// The name used in the URL, the `<select>` and the test data.
    pub fn key(self) -> &'static str {
        match self {
            Sharing::All => "all",
            Sharing::Attention => "attention",
            Sharing::Ffn => "ffn",
            Sharing::None => "none",
        }
    }

    pub fn from_key(s: &str) -> Option<Sharing> {
        Sharing::ALL.into_iter().find(|x| x.key() == s)
    }
}

/// The calculator's inputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shapes {
    pub vocab: usize,
    pub embedding: usize,
    pub hidden: usize,
    pub layers: usize,
    pub heads: usize,
    pub intermediate: usize,
    /// `num_hidden_groups` (with `Sharing::All`).
    pub groups: usize,
    /// `inner_group_num`: layers inside one block.
    pub inner: usize,
    pub sharing: Sharing,
    pub max_positions: usize,
    pub type_vocab: usize,
}

/// Parameters by part.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Count {
    pub embeddings: usize,
    pub projection: usize,
    pub encoder: usize,
    pub pooler: usize,
}

impl Count {
    pub fn total(&self) -> usize {
        self.embeddings + self.projection + self.encoder + self.pooler
    }
}

/// Bytes of `params` parameters stored as f32 and as f16.
pub fn bytes(params: usize) -> (u64, u64) {
    (params as u64 * 4, params as u64 * 2)
}

fn attention(h: usize) -> usize {
    4 * (h * h + h) + 2 * h // query, key, value, output dense; LayerNorm
}

fn ffn(h: usize, i: usize) -> usize {
    (h * i + i) + (i * h + h) + 2 * h // ffn, ffn_output; full_layer_layer_norm
}

/// ALBERT (`AlbertModel`): factorized embeddings and the chosen sharing.
pub fn albert(s: &Shapes) -> Count {
    let (h, e) = (s.hidden, s.embedding);
    let (att, ff) = (attention(h), ffn(h, s.intermediate));
    let per_layer = s.inner.max(1);
    let encoder = match s.sharing {
        Sharing::All => s.groups.max(1) * per_layer * (att + ff),
        Sharing::None => s.layers * per_layer * (att + ff),
        Sharing::Attention => per_layer * att + s.layers * per_layer * ff,
        Sharing::Ffn => per_layer * ff + s.layers * per_layer * att,
    };
    Count {
        embeddings: (s.vocab + s.max_positions + s.type_vocab) * e + 2 * e,
        projection: e * h + h,
        encoder,
        pooler: h * h + h,
    }
}

/// BERT (`BertModel`) with the same vocabulary, width, depth and FFN: embeddings V×H, a block per
/// layer, no projection.
pub fn bert(s: &Shapes) -> Count {
    let h = s.hidden;
    Count {
        embeddings: (s.vocab + s.max_positions + s.type_vocab) * h + 2 * h,
        projection: 0,
        encoder: s.layers * (attention(h) + ffn(h, s.intermediate)),
        pooler: h * h + h,
    }
}

/// A preset of the calculator: a Hugging Face id and its shapes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Preset {
    pub id: &'static str,
    /// BERT presets fill the shapes; the ALBERT side then shows what ALBERT's ideas make of them.
    pub bert: bool,
    pub shapes: Shapes,
}

const fn shapes(vocab: usize, embedding: usize, hidden: usize, layers: usize, heads: usize) -> Shapes {
    Shapes {
        vocab,
        embedding,
        hidden,
        layers,
        heads,
        intermediate: 4 * hidden,
        groups: 1,
        inner: 1,
        sharing: Sharing::All,
        max_positions: 512,
        type_vocab: 2,
    }
}

const fn preset(id: &'static str, hidden: usize, layers: usize, heads: usize) -> Preset {
    Preset { id, bert: false, shapes: shapes(30000, 128, hidden, layers, heads) }
}

/// The official checkpoints' shapes (v1 and v2 are the same shapes) and BERT base / large.
pub const PRESETS: [Preset; 10] = [
    preset("albert-base-v2", 768, 12, 12),
    preset("albert-large-v2", 1024, 24, 16),
    preset("albert-xlarge-v2", 2048, 24, 16),
    preset("albert-xxlarge-v2", 4096, 12, 64),
    preset("albert-base-v1", 768, 12, 12),
    preset("albert-large-v1", 1024, 24, 16),
    preset("albert-xlarge-v1", 2048, 24, 16),
    preset("albert-xxlarge-v1", 4096, 12, 64),
    Preset { id: "bert-base-uncased", bert: true, shapes: shapes(30522, 768, 768, 12, 12) },
    Preset { id: "bert-large-uncased", bert: true, shapes: shapes(30522, 1024, 1024, 24, 16) },
];

pub fn preset_by_id(id: &str) -> Option<&'static Preset> {
    PRESETS.iter().find(|p| p.id == id)
}

/// Why the paper's figures differ from the counts here, for the calculator's footnote.
pub const PAPER_NOTE: &str = "The ALBERT paper's Table 1 rounds (base 12M, large 18M, xlarge 60M, xxlarge 235M). The \
    calculator counts exactly the tensors transformers' AlbertModel instantiates for the released configs (embeddings, \
    the E→H projection, the encoder's unique weights, the pooler; no pretraining heads): 11.7M, 17.7M, 58.7M and \
    222.6M. For xxlarge the 12.4M gap is more than rounding, and no tensor of the released checkpoint accounts for it; \
    the released checkpoint's count is the one shown.";

#[cfg(test)]
mod tests {
    use super::*;

    fn data() -> serde_json::Value {
        serde_json::from_str(include_str!("testdata/param_counts.json")).expect("testdata/param_counts.json")
    }

    #[test]
    fn every_preset_matches_transformers() {
        let d = data();
        for p in PRESETS.iter().filter(|p| !p.bert) {
            for s in Sharing::ALL {
                let want = d["albert"][p.id][s.key()].as_u64().unwrap_or_else(|| panic!("{} {}", p.id, s.key()));
                let got = albert(&Shapes { sharing: s, ..p.shapes }).total() as u64;
                assert_eq!(got, want, "{} with {} sharing", p.id, s.key());
            }
        }
        for p in PRESETS.iter().filter(|p| p.bert) {
            assert_eq!(bert(&p.shapes).total() as u64, d["bert"][p.id].as_u64().unwrap(), "{}", p.id);
        }
        assert_eq!(albert(&preset_by_id("albert-base-v2").unwrap().shapes).total(), 11_683_584);
    }

    #[test]
    fn groups_and_inner_layers_multiply_the_block() {
        let base = preset_by_id("albert-base-v2").unwrap().shapes;
        let one = albert(&base).encoder;
        assert_eq!(albert(&Shapes { groups: 2, ..base }).encoder, 2 * one);
        assert_eq!(albert(&Shapes { inner: 2, ..base }).encoder, 2 * one);
        assert_eq!(albert(&Shapes { sharing: Sharing::None, ..base }).encoder, 12 * one);
        assert_eq!(bytes(10), (40, 20));
        assert_eq!(Sharing::from_key("ffn"), Some(Sharing::Ffn));
        assert_eq!(Sharing::from_key("x"), None);
    }
}
