//! The model panel's numbers: parameters by part, and what ALBERT's two tricks save against a
//! BERT with the same shapes (same V, H, layers, FFN, heads): the factorized embedding
//! (V×E + E×H instead of V×H) and cross-layer sharing (G blocks instead of one per layer).

use albert::config::{Config, ParameterCounts};

/// One row of the parameters-by-part table.
#[derive(Clone, Debug, PartialEq)]
pub struct Part {
    pub name: String,
    pub formula: String,
    pub count: u64,
    /// Share of the total, 0..=1.
    pub share: f64,
}

/// A parameter comparison, ALBERT against the BERT-shaped equivalent.
#[derive(Clone, Debug, PartialEq)]
pub struct Comparison {
    pub name: &'static str,
    pub albert_formula: String,
    pub albert: u64,
    pub bert_formula: String,
    pub bert: u64,
}

impl Comparison {
    pub fn saved(&self) -> i64 {
        self.bert as i64 - self.albert as i64
    }
    /// How many times smaller ALBERT's part is.
    pub fn ratio(&self) -> f64 {
        if self.albert == 0 {
            0.0
        } else {
            self.bert as f64 / self.albert as f64
        }
    }
}

/// Parameters by part, in the order of the forward pass.
pub fn parts(p: &ParameterCounts, c: &Config) -> Vec<Part> {
    let total = p.total.max(1) as f64;
    let row = |name: String, formula: String, count: usize| Part { name, formula, count: count as u64, share: count as f64 / total };
    let mut rows = vec![
        row("Embeddings".into(), format!("(V {} + P {} + T {}) × E {} + LayerNorm", c.vocab_size, c.max_position_embeddings, c.type_vocab_size, c.embedding_size), p.embeddings),
        row("Projection E→H".into(), format!("E {} × H {} + bias", c.embedding_size, c.hidden_size), p.projection),
    ];
    let per_group_desc = if c.inner_group_num == 1 { "1 layer".to_string() } else { format!("{} layers", c.inner_group_num) };
    let runs = c.layers_per_group();
    for g in 0..p.groups {
        rows.push(row(
            format!("Shared block {}", g + 1),
            format!("{per_group_desc} (H {}, FFN {}), run by {runs} of {} layers", c.hidden_size, c.intermediate_size, c.num_hidden_layers),
            p.per_group,
        ));
    }
    rows.push(row("MLM head".into(), format!("H {} × E {} + LayerNorm + V bias (decoder tied)", c.hidden_size, c.embedding_size), p.mlm_head));
    rows
}

/// Factorized embedding, cross-layer sharing, and the whole model, against BERT's shapes.
pub fn comparisons(p: &ParameterCounts, c: &Config) -> Vec<Comparison> {
    let (v, e, h, pos, t) = (c.vocab_size, c.embedding_size, c.hidden_size, c.max_position_embeddings, c.type_vocab_size);
    let bert_total = p.bert_equivalent_total(c);
    vec![
        Comparison {
            name: "Factorized embedding",
            albert_formula: format!("({v}+{pos}+{t})×{e} + {e}×{h}"),
            albert: (p.embeddings + p.projection) as u64,
            bert_formula: format!("({v}+{pos}+{t})×{h}"),
            bert: p.unfactorized_embeddings as u64,
        },
        Comparison {
            name: "Cross-layer sharing",
            albert_formula: format!("{} shared block{}", p.groups, if p.groups == 1 { "" } else { "s" }),
            albert: (p.per_group * p.groups) as u64,
            bert_formula: format!("{} layers", c.num_hidden_layers),
            bert: p.unshared_layers as u64,
        },
        Comparison {
            name: "Whole model",
            albert_formula: "ALBERT".into(),
            albert: p.total as u64,
            bert_formula: "BERT, same shapes".into(),
            bert: bert_total as u64,
        },
    ]
}

/// A short config line: `V=30000 E=128 H=768 · 12 layers, 1 group × 1 · 12 heads · FFN 3072 · gelu_new · ≤512 tokens`.
pub fn config_summary(c: &Config) -> String {
    format!(
        "V={} E={} H={} · {} layers, {} group{} × {} inner · {} heads · FFN {} · {} · ≤{} tokens",
        c.vocab_size,
        c.embedding_size,
        c.hidden_size,
        c.num_hidden_layers,
        c.num_hidden_groups,
        if c.num_hidden_groups == 1 { "" } else { "s" },
        c.inner_group_num,
        c.num_attention_heads,
        c.intermediate_size,
        c.hidden_act,
        c.max_position_embeddings
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE_V2: &str = r#"{"model_type": "albert", "vocab_size": 30000, "embedding_size": 128, "hidden_size": 768,
      "num_hidden_layers": 12, "num_hidden_groups": 1, "num_attention_heads": 12, "intermediate_size": 3072,
      "inner_group_num": 1, "hidden_act": "gelu_new", "max_position_embeddings": 512, "type_vocab_size": 2}"#;

    #[test]
    fn albert_base_parts_sum_to_the_total() {
        let c = Config::from_json(BASE_V2).unwrap();
        let p = c.parameter_counts();
        let rows = parts(&p, &c);
        assert_eq!(rows.len(), 4);
        assert_eq!(rows.iter().map(|r| r.count).sum::<u64>(), p.total as u64);
        assert!((rows.iter().map(|r| r.share).sum::<f64>() - 1.0).abs() < 1e-9);
        assert_eq!(rows[0].count, (30000 + 512 + 2) * 128 + 2 * 128);
    }

    #[test]
    fn albert_base_savings() {
        let c = Config::from_json(BASE_V2).unwrap();
        let p = c.parameter_counts();
        let cmp = comparisons(&p, &c);
        // Embeddings: 30514×128 + 256 + 128×768 + 768 vs 30514×768 + 1536.
        assert_eq!(cmp[0].albert, 30514 * 128 + 256 + 128 * 768 + 768);
        assert_eq!(cmp[0].bert, 30514 * 768 + 1536);
        // Sharing: 1 block vs 12.
        assert_eq!(cmp[1].bert, 12 * cmp[1].albert);
        assert!((cmp[1].ratio() - 12.0).abs() < 1e-12);
        // BERT-base-shaped MLM is ~110M; ALBERT-base 11.2M.
        assert_eq!(cmp[2].albert, 11_221_680);
        assert!(cmp[2].bert > 100_000_000 && cmp[2].bert < 115_000_000, "{}", cmp[2].bert);
        assert!(cmp[2].saved() > 0);
        assert!(config_summary(&c).starts_with("V=30000 E=128 H=768 · 12 layers, 1 group × 1 inner"));
    }

    #[test]
    fn groups_get_one_row_each() {
        let c = Config::from_json(r#"{"model_type":"albert","vocab_size":1000,"embedding_size":16,"hidden_size":32,
            "num_hidden_layers":4,"num_hidden_groups":2,"inner_group_num":2,"num_attention_heads":4,"intermediate_size":48,
            "max_position_embeddings":64}"#)
        .unwrap();
        let p = c.parameter_counts();
        let rows = parts(&p, &c);
        assert_eq!(rows.len(), 5);
        assert!(rows[2].formula.contains("2 layers"));
        assert!(rows[2].formula.contains("run by 2 of 4 layers"));
        let cmp = comparisons(&p, &c);
        assert_eq!(cmp[1].bert, 2 * cmp[1].albert); // each of the 2 groups runs for 2 of the 4 layers
    }
}
