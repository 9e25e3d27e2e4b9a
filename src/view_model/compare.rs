//! Side by side: two sentences, one forward each. For each pair of `[MASK]`s (first with first,
//! …) the candidates of either side's top-k with both sides' probabilities (from the full logits
//! rows, so a word only one side ranks still gets the other's number) and the shift; and, when
//! the two sentences have the same number of tokens, the difference of their attention (A − B)
//! per layer and head or for the mean of heads.

use super::attention::{data::AttentionData, layer::HeadSel};

/// One candidate word of a `[MASK]` pair.
#[derive(Clone, Debug, PartialEq)]
pub struct CandidateRow {
    pub id: u32,
    pub token: String,
    pub display: String,
    pub prob_a: f32,
    pub prob_b: f32,
}

impl CandidateRow {
    /// B − A: how much more likely the word is in sentence B.
    pub fn shift(&self) -> f32 {
        self.prob_b - self.prob_a
    }
}

/// Softmax of one logits row (f64 sums, as the engine's top-k).
pub fn softmax(row: &[f32]) -> Vec<f32> {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let sum: f64 = row.iter().map(|&x| ((x - max) as f64).exp()).sum();
    row.iter().map(|&x| (((x - max) as f64).exp() / sum) as f32).collect()
}

/// The union of both top-k lists (A's order first, then B's new ones), each with both
/// probabilities read from the full distributions; sorted by the larger of the two.
pub fn candidates(top_a: &[u32], top_b: &[u32], probs_a: &[f32], probs_b: &[f32], name: impl Fn(u32) -> (String, String)) -> Vec<CandidateRow> {
    let mut ids: Vec<u32> = Vec::new();
    for &id in top_a.iter().chain(top_b) {
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    let mut rows: Vec<CandidateRow> = ids
        .into_iter()
        .filter_map(|id| {
            let (pa, pb) = (*probs_a.get(id as usize)?, *probs_b.get(id as usize)?);
            let (token, display) = name(id);
            Some(CandidateRow { id, token, display, prob_a: pa, prob_b: pb })
        })
        .collect();
    rows.sort_by(|x, y| y.prob_a.max(y.prob_b).total_cmp(&x.prob_a.max(x.prob_b)).then(x.id.cmp(&y.id)));
    rows
}

/// Why no difference heatmap can be drawn, or `None` when it can.
pub fn diff_problem(a: &AttentionData, b: &AttentionData) -> Option<String> {
    if a.seq_len() != b.seq_len() {
        return Some(format!(
            "A has {} tokens and B has {}: position i is not the same word in both, so their attention cannot be subtracted cell by cell. Make the sentences the same length in tokens (e.g. swap one word for another) to see the difference.",
            a.seq_len(),
            b.seq_len()
        ));
    }
    if a.num_layers() != b.num_layers() || a.num_heads() != b.num_heads() {
        return Some("the two forwards ran different numbers of layers or heads".into());
    }
    None
}

/// A − B of one layer (attention map index) and head (or the mean of heads), `T × T`.
pub fn diff(a: &AttentionData, b: &AttentionData, layer: usize, sel: HeadSel) -> Option<Vec<f32>> {
    if diff_problem(a, b).is_some() {
        return None;
    }
    let (x, y) = (a.matrix(layer, sel)?, b.matrix(layer, sel)?);
    Some(x.iter().zip(&y).map(|(p, q)| p - q).collect())
}

/// The largest |value| (the diverging scale's end), at least a tiny positive number.
pub fn abs_max(m: &[f32]) -> f32 {
    m.iter().copied().filter(|v| v.is_finite()).map(f32::abs).fold(1e-9f32, f32::max)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::view_model::attention::layer::LayerAttention;

    fn att(t: usize, heads: usize, f: impl Fn(usize) -> f32) -> AttentionData {
        AttentionData {
            tokens: (0..t).map(|i| format!("t{i}")).collect(),
            mask_positions: vec![1],
            layers: (0..2)
                .map(|l| LayerAttention { index: l, layer: l, group: 0, inner: 0, heads, data: (0..heads * t * t).map(|i| f(l * 1000 + i)).collect(), ..Default::default() })
                .collect(),
            thumb_side: 0,
        }
    }

    #[test]
    fn candidates_from_both_sides_with_both_probabilities() {
        let pa = softmax(&[2.0, 1.0, 0.0, -1.0]);
        let pb = softmax(&[0.0, 1.0, 3.0, -1.0]);
        let rows = candidates(&[0, 1], &[2, 1], &pa, &pb, |id| (format!("▁w{id}"), format!(" w{id}")));
        let ids: Vec<u32> = rows.iter().map(|r| r.id).collect();
        assert_eq!(ids, vec![2, 0, 1], "by the larger probability; id 1 once");
        let r2 = &rows[0];
        assert!((r2.prob_a - pa[2]).abs() < 1e-7 && (r2.prob_b - pb[2]).abs() < 1e-7);
        assert!((r2.shift() - (pb[2] - pa[2])).abs() < 1e-7 && r2.shift() > 0.0);
        assert!((softmax(&[1.0, 1.0]).iter().sum::<f32>() - 1.0).abs() < 1e-7);
        // An id outside a distribution (a broken result) is skipped, not a panic.
        assert!(candidates(&[9], &[], &pa, &pb, |_| (String::new(), String::new())).is_empty());
    }

    #[test]
    fn difference_cell_by_cell_or_why_not() {
        let a = att(3, 2, |i| i as f32);
        let b = att(3, 2, |i| (i as f32) * 0.5);
        assert_eq!(diff_problem(&a, &b), None);
        let d = diff(&a, &b, 1, HeadSel::Head(1)).unwrap();
        // Layer 1 head 1 cell (0, 2): index 1000 + 9 + 2 in A, half of it in B.
        assert_eq!(d[2], 1011.0 - 505.5);
        let m = diff(&a, &b, 0, HeadSel::Mean).unwrap();
        assert_eq!(m[0], ((0.0 + 9.0) / 2.0) - ((0.0 + 4.5) / 2.0));
        let c = att(4, 2, |i| i as f32);
        assert!(diff_problem(&a, &c).unwrap().contains("A has 3 tokens and B has 4"));
        assert_eq!(diff(&a, &c, 0, HeadSel::Mean), None);
        assert_eq!(abs_max(&[-3.0, 2.0, f32::NAN]), 3.0);
    }
}
