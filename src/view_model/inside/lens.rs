//! The logit lens of one `[MASK]`: the MLM head applied to every h_l (l = 0..K), as rows of
//! top predictions, the final answer's probability across layers as a small chart, and a
//! sentence on where the answer forms.

use super::svg_path;

/// Predictions a lens row shows (the top-5; the engine computes top-k).
pub const ROW_PICKS: usize = 5;

/// One prediction in a lens row.
#[derive(Clone, Debug, PartialEq)]
pub struct LensPick {
    pub token: String,
    /// As the page prints it (`paris`, `##s`-like pieces as they are).
    pub display: String,
    pub id: u32,
    pub prob: f32,
}

/// One layer's row.
#[derive(Clone, Debug, PartialEq)]
pub struct LensRow {
    /// 0 = h_0 (embeddings after the E→H projection), l = after application l.
    pub layer: usize,
    pub picks: Vec<LensPick>,
    /// Rank (1 = top) and probability of the final answer at this layer.
    pub answer_rank: usize,
    pub answer_prob: f32,
}

/// The lens of one `[MASK]`.
#[derive(Clone, Debug, PartialEq)]
pub struct LensView {
    /// Token position of the `[MASK]`.
    pub position: usize,
    /// The final answer (top prediction after the last layer), as printed.
    pub answer: String,
    pub rows: Vec<LensRow>,
}

/// How a row is labelled.
pub fn row_label(layer: usize) -> String {
    if layer == 0 {
        "h0 · embeddings".to_string()
    } else {
        format!("layer {layer}")
    }
}

impl LensView {
    /// The first layer from which the final answer is on top and stays there.
    pub fn settled_at(&self) -> Option<usize> {
        let last_miss = self.rows.iter().rposition(|r| r.answer_rank != 1);
        match last_miss {
            None => self.rows.first().map(|r| r.layer),
            Some(i) => self.rows.get(i + 1).map(|r| r.layer),
        }
    }

    /// One sentence on how the answer forms.
    pub fn reading(&self) -> String {
        let Some(last) = self.rows.last() else { return String::new() };
        let first = &self.rows[0];
        let start = format!(
            "“{}” has rank {} ({:.1}%) on the embeddings alone",
            self.answer,
            first.answer_rank,
            first.answer_prob * 100.0
        );
        match self.settled_at() {
            Some(0) => format!("{start}: the word is already the top guess before any layer runs, and stays there."),
            Some(l) => format!(
                "{start}; it reaches the top at layer {l} and stays there, ending at {:.1}% after layer {}.",
                last.answer_prob * 100.0,
                last.layer
            ),
            None => start + ".",
        }
    }

    /// The answer's probability per layer as chart points in a `width × height` box (x: layer,
    /// y: 0 at the bottom, 1 at the top).
    pub fn curve(&self, width: f32, height: f32, pad: f32) -> Vec<(f32, f32)> {
        let n = self.rows.len();
        let span = (n.max(2) - 1) as f32;
        self.rows
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let x = pad + (width - 2.0 * pad) * i as f32 / span;
                let y = height - pad - (height - 2.0 * pad) * r.answer_prob.clamp(0.0, 1.0);
                (x, y)
            })
            .collect()
    }

    pub fn curve_path(&self, width: f32, height: f32, pad: f32) -> String {
        svg_path(&self.curve(width, height, pad))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(layer: usize, rank: usize, prob: f32) -> LensRow {
        LensRow { layer, picks: Vec::new(), answer_rank: rank, answer_prob: prob }
    }

    fn view(rows: Vec<LensRow>) -> LensView {
        LensView { position: 3, answer: "paris".into(), rows }
    }

    #[test]
    fn where_the_answer_settles() {
        let v = view(vec![row(0, 40, 0.01), row(1, 1, 0.2), row(2, 2, 0.2), row(3, 1, 0.5), row(4, 1, 0.7)]);
        assert_eq!(v.settled_at(), Some(3), "on top at 1 but lost at 2: it settles at 3");
        assert!(v.reading().contains("reaches the top at layer 3"), "{}", v.reading());
        assert!(v.reading().contains("70.0% after layer 4"));
        assert_eq!(view(vec![row(0, 1, 0.3), row(1, 1, 0.9)]).settled_at(), Some(0));
        assert!(view(vec![row(0, 1, 0.3), row(1, 1, 0.9)]).reading().contains("already the top guess"));
        assert_eq!(view(vec![]).settled_at(), None);
        assert_eq!(view(vec![]).reading(), "");
    }

    #[test]
    fn curve_spans_the_box() {
        let v = view(vec![row(0, 9, 0.0), row(1, 1, 0.5), row(2, 1, 1.0)]);
        let c = v.curve(100.0, 50.0, 5.0);
        assert_eq!(c, vec![(5.0, 45.0), (50.0, 25.0), (95.0, 5.0)]);
        assert!(v.curve_path(100.0, 50.0, 5.0).starts_with("M5.0 45.0 L50.0 25.0"));
        assert_eq!(row_label(0), "h0 · embeddings");
        assert_eq!(row_label(4), "layer 4");
    }
}
