//! One attention map of a forward — a layer application's `[heads, T, T]`, whole or reduced to
//! its mean over heads and its thumbnails — and the choice of head a heatmap shows. What the
//! forward as a whole carries (every map, tokens, [MASK] positions) is `data`.

/// Which attention a heatmap shows: one head, or the mean over heads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HeadSel {
    Head(usize),
    Mean,
}

impl HeadSel {
    /// `"head 2"` / `"mean of heads"`.
    pub fn label(self) -> String {
        match self {
            HeadSel::Head(h) => format!("head {h}"),
            HeadSel::Mean => "mean of heads".to_string(),
        }
    }

    /// The `<select>` value: the head number, or `"mean"`.
    pub fn value(self) -> String {
        match self {
            HeadSel::Head(h) => h.to_string(),
            HeadSel::Mean => "mean".to_string(),
        }
    }

    pub fn parse(s: &str) -> Option<HeadSel> {
        if s == "mean" {
            Some(HeadSel::Mean)
        } else {
            s.parse().ok().map(HeadSel::Head)
        }
    }

    /// A head beyond `heads` reads as the mean (the selection outlived a model with more heads).
    pub fn clamp(self, heads: usize) -> HeadSel {
        match self {
            HeadSel::Head(h) if h >= heads => HeadSel::Mean,
            other => other,
        }
    }
}

/// One layer application's attention, `[heads, T, T]` row-major (query row, key column).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct LayerAttention {
    /// Execution index (0..num_hidden_layers × inner_group_num).
    pub index: usize,
    /// Layer application (0..num_hidden_layers).
    pub layer: usize,
    /// The shared ALBERT block (group) this layer ran.
    pub group: usize,
    /// Inner layer within the group.
    pub inner: usize,
    pub heads: usize,
    /// `heads × T × T` when the map was read back whole; empty otherwise.
    pub data: Vec<f32>,
    /// The mean over heads `T × T`, when the forward computed it (else derived from `data`).
    pub mean: Option<Vec<f32>>,
    /// Every head max-pooled to `AttentionData::thumb_side` a side, `heads × s × s`, when the
    /// forward computed it (else pooled from `data`).
    pub thumbs: Option<Vec<f32>>,
}

impl LayerAttention {
    /// Tokens per side of the whole map (`heads × T × T`); 0 when it was not read back whole.
    pub fn seq_len(&self) -> usize {
        if self.heads == 0 {
            return 0;
        }
        ((self.data.len() / self.heads) as f64).sqrt().round() as usize
    }

    /// The map was read back whole (every head, every cell).
    pub fn is_whole(&self) -> bool {
        !self.data.is_empty()
    }

    /// One head's `T × T` matrix.
    pub fn head(&self, h: usize) -> &[f32] {
        let tt = self.data.len() / self.heads.max(1);
        &self.data[h * tt..(h + 1) * tt]
    }

    /// Attention of head `h` from query `q` to key `k`.
    pub fn weight(&self, h: usize, q: usize, k: usize) -> f32 {
        let t = self.seq_len();
        self.head(h)[q * t + k]
    }

    /// The mean over heads, `T × T`: the forward's, or computed from the whole map; `None`
    /// when there is neither.
    pub fn mean_heads(&self) -> Option<Vec<f32>> {
        match &self.mean {
            Some(m) => Some(m.clone()),
            None => self.is_whole().then(|| self.mean_of_whole()),
        }
    }

    fn mean_of_whole(&self) -> Vec<f32> {
        let tt = self.data.len() / self.heads.max(1);
        let mut m = vec![0.0f32; tt];
        for h in 0..self.heads {
            for (acc, &v) in m.iter_mut().zip(self.head(h)) {
                *acc += v;
            }
        }
        let n = self.heads.max(1) as f32;
        m.iter_mut().for_each(|v| *v /= n);
        m
    }

    /// The `T × T` matrix a heatmap shows; a head needs the whole map, the mean does not.
    pub fn matrix(&self, sel: HeadSel) -> Option<Vec<f32>> {
        match sel {
            HeadSel::Head(h) => self.is_whole().then(|| self.head(h.min(self.heads.saturating_sub(1))).to_vec()),
            HeadSel::Mean => self.mean_heads(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::random_layer;
    use super::*;

    #[test]
    fn accessors_read_heads_rows_and_columns() {
        // 2 heads, T = 2: head 0 = [[1,2],[3,4]], head 1 = [[5,6],[7,8]].
        let l = LayerAttention { index: 0, layer: 0, group: 0, inner: 0, heads: 2, data: (1..=8).map(|v| v as f32).collect(), ..Default::default() };
        assert_eq!(l.seq_len(), 2);
        assert_eq!(l.head(1), &[5.0, 6.0, 7.0, 8.0]);
        assert_eq!(l.weight(0, 1, 0), 3.0);
        assert_eq!(l.weight(1, 0, 1), 6.0);
        assert_eq!(l.mean_heads(), Some(vec![3.0, 4.0, 5.0, 6.0]));
        assert_eq!(l.matrix(HeadSel::Mean), Some(vec![3.0, 4.0, 5.0, 6.0]));
        assert_eq!(l.matrix(HeadSel::Head(0)), Some(vec![1.0, 2.0, 3.0, 4.0]));
    }

    #[test]
    fn mean_of_heads_keeps_rows_stochastic() {
        let l = random_layer(0, 12, 9, 3);
        let m = l.mean_heads().unwrap();
        for q in 0..9 {
            let sum: f32 = m[q * 9..(q + 1) * 9].iter().sum();
            assert!((sum - 1.0).abs() < 1e-5, "row {q} sums to {sum}");
            for k in 0..9 {
                let expect: f32 = (0..12).map(|h| l.weight(h, q, k)).sum::<f32>() / 12.0;
                assert!((m[q * 9 + k] - expect).abs() < 1e-6);
            }
        }
    }

    #[test]
    fn head_selection_parses_and_clamps() {
        assert_eq!(HeadSel::parse("mean"), Some(HeadSel::Mean));
        assert_eq!(HeadSel::parse("2"), Some(HeadSel::Head(2)));
        assert_eq!(HeadSel::parse(&HeadSel::Head(4).value()), Some(HeadSel::Head(4)));
        assert_eq!(HeadSel::Mean.label(), "mean of heads");
        assert_eq!(HeadSel::Head(3).clamp(3), HeadSel::Mean);
        assert_eq!(HeadSel::Head(2).clamp(3), HeadSel::Head(2));
    }
}
