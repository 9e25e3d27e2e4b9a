//! Parameter counts from config.json's sizes alone: by part for `albert info` and the app's model
//! panel, the same shapes as BERT for the comparison, and the largest tensor for `validate`'s
//! limits. Saturating u64 arithmetic, so a hostile config is refused, never overflowed.

use super::Config;
use serde::Serialize;

impl Config {

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
    pub(super) fn counts_u64(&self) -> CountsU64 {
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
    pub(super) fn largest_tensor(&self) -> (&'static str, u64) {
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
pub(super) struct CountsU64 {
    embeddings: u64,
    projection: u64,
    per_group: u64,
    mlm_head: u64,
    pub(super) total: u64,
    unfactorized_embeddings: u64,
    unshared_layers: u64,
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameter_counts_saturate_instead_of_wrapping() {
        // Not a valid config (validate refuses it), but the counts must not panic or wrap.
        let mut c = Config::from_json(r#"{}"#).unwrap();
        c.vocab_size = usize::MAX;
        c.num_hidden_layers = usize::MAX;
        let p = c.parameter_counts();
        assert_eq!((p.total, p.unshared_layers), (usize::MAX, usize::MAX));
    }
}
