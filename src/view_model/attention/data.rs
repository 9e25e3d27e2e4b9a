//! The attention of one forward pass, labelled with the shared block (group) each layer
//! application ran: accessors, the mean of heads, consistency checks and layer labels.

use super::labels::layer_label;
use super::rollout::{rollout, rollout_row, MaskAttribution};

/// One layer application's attention, `[heads, T, T]` row-major (query row, key column).
#[derive(Clone, Debug, PartialEq)]
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
    pub data: Vec<f32>,
}

/// Everything the attention views show, from the same forward as the predictions.
#[derive(Clone, Debug, PartialEq)]
pub struct AttentionData {
    /// Token strings for display (`▁` already turned into spaces or not: views decide).
    pub tokens: Vec<String>,
    /// Positions of the [MASK] tokens.
    pub mask_positions: Vec<usize>,
    pub layers: Vec<LayerAttention>,
}

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

impl LayerAttention {
    /// Tokens per side: the data is `heads × T × T`.
    pub fn seq_len(&self) -> usize {
        if self.heads == 0 {
            return 0;
        }
        ((self.data.len() / self.heads) as f64).sqrt().round() as usize
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

    /// The mean over heads, `T × T`.
    pub fn mean_heads(&self) -> Vec<f32> {
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

    /// The `T × T` matrix a heatmap shows.
    pub fn matrix(&self, sel: HeadSel) -> Vec<f32> {
        match sel {
            HeadSel::Head(h) => self.head(h.min(self.heads.saturating_sub(1))).to_vec(),
            HeadSel::Mean => self.mean_heads(),
        }
    }
}

impl AttentionData {
    /// The engine's maps of one forward (batch of one, `heads × T × T` each) with the tokens
    /// they cover and the [MASK] positions; `None` when the forward returned no attentions.
    pub fn from_maps(tokens: Vec<String>, mask_positions: Vec<usize>, maps: Vec<albert::AttentionMap>) -> Option<Self> {
        if maps.is_empty() {
            return None;
        }
        let tt = tokens.len() * tokens.len();
        let layers = maps
            .into_iter()
            .map(|a| LayerAttention {
                index: a.index,
                layer: a.layer,
                group: a.group,
                inner: a.inner,
                heads: a.data.len().checked_div(tt).unwrap_or(0),
                data: a.data,
            })
            .collect();
        Some(AttentionData { tokens, mask_positions, layers })
    }

    /// The data when it is present and consistent (every view reads through this, so malformed
    /// data shows a message instead of panicking).
    pub fn valid(d: &Option<AttentionData>) -> Option<&AttentionData> {
        d.as_ref().filter(|d| d.validate().is_ok())
    }

    pub fn seq_len(&self) -> usize {
        self.tokens.len()
    }

    /// Attention maps: layer applications × inner layers (execution order).
    pub fn num_layers(&self) -> usize {
        self.layers.len()
    }

    pub fn num_heads(&self) -> usize {
        self.layers.first().map_or(0, |l| l.heads)
    }

    /// `inner_group_num`, as seen in the data.
    pub fn inner_group_num(&self) -> usize {
        self.layers.iter().map(|l| l.inner + 1).max().unwrap_or(1)
    }

    /// Distinct shared blocks (groups) the layers ran.
    pub fn num_groups(&self) -> usize {
        self.layers.iter().map(|l| l.group + 1).max().unwrap_or(0)
    }

    /// Layer applications (`num_hidden_layers`), as seen in the data.
    pub fn num_applications(&self) -> usize {
        self.layers.iter().map(|l| l.layer + 1).max().unwrap_or(0)
    }

    /// Checks that every map is `heads × T × T` for the same heads and T = tokens.
    pub fn validate(&self) -> Result<(), String> {
        let t = self.seq_len();
        let heads = self.num_heads();
        if heads == 0 && !self.layers.is_empty() {
            return Err("attention maps with zero heads".into());
        }
        for l in &self.layers {
            if l.heads != heads {
                return Err(format!("attention map {} has {} heads, the first has {heads}", l.index, l.heads));
            }
            if l.data.len() != heads * t * t {
                return Err(format!(
                    "attention map {} has {} values; {heads} heads × {t} × {t} tokens need {}",
                    l.index,
                    l.data.len(),
                    heads * t * t
                ));
            }
        }
        if let Some(&p) = self.mask_positions.iter().find(|&&p| p >= t) {
            return Err(format!("mask position {p} is outside the {t} tokens"));
        }
        Ok(())
    }

    /// The `T × T` matrix of map `layer` for `sel`; `None` for a map or head that is not there.
    pub fn matrix(&self, layer: usize, sel: HeadSel) -> Option<Vec<f32>> {
        let l = self.layers.get(layer)?;
        match sel {
            HeadSel::Head(h) if h >= l.heads => None,
            _ => Some(l.matrix(sel)),
        }
    }

    /// `"layer 3 · block 0"`, or `"layer 3.1 · group 1"` when groups hold several inner layers.
    /// Layers count from 1 as everywhere in the app and the CLI (`--ablate 3.1:0`); inner layers,
    /// groups and heads from 0.
    pub fn layer_label(&self, i: usize) -> String {
        let l = &self.layers[i];
        layer_label(l.layer + 1, l.inner, l.group, self.inner_group_num())
    }

    /// Compact row label for grids: `"L3 · b0"` / `"L3.1 · g1"`.
    pub fn layer_short_label(&self, i: usize) -> String {
        let l = &self.layers[i];
        if self.inner_group_num() > 1 {
            format!("L{}.{} · g{}", l.layer + 1, l.inner, l.group)
        } else {
            format!("L{} · b{}", l.layer + 1, l.group)
        }
    }

    /// The rolled-out attention `T × T` over every layer application in execution order.
    pub fn rollout(&self) -> Vec<f32> {
        let means: Vec<Vec<f32>> = self.layers.iter().map(LayerAttention::mean_heads).collect();
        rollout(&means, self.seq_len())
    }

    /// Rollout attribution of every [MASK], each row computed alone (O(L·T²) per [MASK], not
    /// the whole map's O(L·T³)): what the rollout's bars show.
    pub fn attributions(&self) -> Vec<MaskAttribution> {
        let means: Vec<Vec<f32>> = self.layers.iter().map(LayerAttention::mean_heads).collect();
        let t = self.seq_len();
        self.mask_positions
            .iter()
            .filter(|&&p| p < t)
            .map(|&p| MaskAttribution { position: p, weights: rollout_row(&means, t, p) })
            .collect()
    }

    /// Rollout attribution of every [MASK]: its row of `rolled` (from [`Self::rollout`]);
    /// masks outside it are skipped.
    pub fn attributions_from(&self, rolled: &[f32]) -> Vec<MaskAttribution> {
        let t = self.seq_len();
        self.mask_positions
            .iter()
            .filter_map(|&p| rolled.get(p * t..(p + 1) * t).map(|w| MaskAttribution { position: p, weights: w.to_vec() }))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{data, random_layer};
    use super::*;

    #[test]
    fn accessors_read_heads_rows_and_columns() {
        // 2 heads, T = 2: head 0 = [[1,2],[3,4]], head 1 = [[5,6],[7,8]].
        let l = LayerAttention { index: 0, layer: 0, group: 0, inner: 0, heads: 2, data: (1..=8).map(|v| v as f32).collect() };
        assert_eq!(l.seq_len(), 2);
        assert_eq!(l.head(1), &[5.0, 6.0, 7.0, 8.0]);
        assert_eq!(l.weight(0, 1, 0), 3.0);
        assert_eq!(l.weight(1, 0, 1), 6.0);
        assert_eq!(l.mean_heads(), vec![3.0, 4.0, 5.0, 6.0]);
        assert_eq!(l.matrix(HeadSel::Mean), vec![3.0, 4.0, 5.0, 6.0]);
        assert_eq!(l.matrix(HeadSel::Head(0)), vec![1.0, 2.0, 3.0, 4.0]);
        let d = AttentionData { tokens: vec!["a".into(), "b".into()], mask_positions: vec![], layers: vec![l] };
        assert_eq!(d.matrix(0, HeadSel::Head(1)), Some(vec![5.0, 6.0, 7.0, 8.0]));
        assert_eq!(d.matrix(0, HeadSel::Head(2)), None);
        assert_eq!(d.matrix(1, HeadSel::Mean), None);
    }

    #[test]
    fn mean_of_heads_keeps_rows_stochastic() {
        let l = random_layer(0, 12, 9, 3);
        let m = l.mean_heads();
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
    fn dimensions_and_validation() {
        let d = data(7, 3, 8);
        assert_eq!((d.seq_len(), d.num_layers(), d.num_heads()), (7, 8, 3));
        assert_eq!(d.inner_group_num(), 2);
        assert_eq!(d.num_groups(), 2);
        assert_eq!(d.num_applications(), 4);
        assert_eq!(d.validate(), Ok(()));
        assert!(AttentionData::valid(&Some(d.clone())).is_some());
        let mut bad = d.clone();
        bad.layers[3].data.pop();
        assert!(bad.validate().unwrap_err().contains("attention map 3"));
        assert!(AttentionData::valid(&Some(bad)).is_none());
        let mut bad = d.clone();
        bad.mask_positions.push(7);
        assert!(bad.validate().is_err());
        assert!(AttentionData::valid(&None).is_none());
    }

    #[test]
    fn engine_maps_become_layers_with_their_head_count() {
        let maps = (0..4)
            .map(|i| albert::AttentionMap { index: i, layer: i / 2, group: 0, inner: i % 2, data: vec![0.25; 3 * 2 * 2] })
            .collect();
        let d = AttentionData::from_maps(vec!["a".into(), "b".into()], vec![1], maps).unwrap();
        assert_eq!((d.num_layers(), d.num_heads(), d.inner_group_num()), (4, 3, 2));
        assert_eq!(d.validate(), Ok(()));
        assert_eq!(AttentionData::from_maps(vec!["a".into()], vec![], vec![]), None);
    }

    #[test]
    fn labels_show_the_shared_block() {
        let d = data(5, 3, 8);
        assert_eq!(d.layer_label(0), "layer 1.0 · group 0", "layers count from 1, inner layers from 0");
        assert_eq!(d.layer_label(5), "layer 3.1 · group 1");
        assert_eq!(d.layer_short_label(5), "L3.1 · g1");
        let mut single = data(5, 3, 4);
        for (i, l) in single.layers.iter_mut().enumerate() {
            (l.layer, l.inner, l.group) = (i, 0, 0);
        }
        assert_eq!(single.layer_label(2), "layer 3 · block 0");
        assert_eq!(single.layer_short_label(2), "L3 · b0");
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
