//! The attention of one forward pass, labelled with the shared block (group) each layer
//! application ran: its maps (`layer`), the views' accessors, consistency checks, layer labels
//! and the rollout over every map.
//!
//! A forward reads back only what the views show (issue 13 item 3): a few maps whole (the head
//! view's and the heatmap's layers), every map's mean over heads (the rollout, the heatmap's
//! "mean of heads") and every head as a thumbnail (the model view). Short inputs, where that
//! would be more than every map, come whole, and the reductions are computed here instead.

use super::labels::layer_label;
use super::layer::{HeadSel, LayerAttention};
use super::rollout::{rollout, rollout_row, MaskAttribution};

/// Everything the attention views show, from the same forward as the predictions.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct AttentionData {
    /// Token strings for display (`▁` already turned into spaces or not: views decide).
    pub tokens: Vec<String>,
    /// Positions of the [MASK] tokens.
    pub mask_positions: Vec<usize>,
    pub layers: Vec<LayerAttention>,
    /// The side of the forward's thumbnails (`LayerAttention::thumbs`); 0 when it sent none.
    pub thumb_side: usize,
}

impl AttentionData {
    /// The engine's maps of one forward (batch of one, `heads × T × T` each, every map whole)
    /// with the tokens they cover and the [MASK] positions; `None` when the forward returned no
    /// attentions.
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
                ..Default::default()
            })
            .collect();
        Some(AttentionData { tokens, mask_positions, layers, thumb_side: 0 })
    }

    /// What one forward returned of its maps when the views' reductions were asked for: the
    /// `(layer application, group, inner layer)` of every map in execution order
    /// (`albert::output::schedule_to`), the maps read back whole, every map's mean over heads
    /// and thumbnails (batch of one). `None` when it returned nothing of the maps.
    pub fn from_views(
        tokens: Vec<String>,
        mask_positions: Vec<usize>,
        schedule: &[(usize, usize, usize)],
        heads: usize,
        whole: Vec<albert::AttentionMap>,
        means: Vec<Vec<f32>>,
        thumbs: Option<albert::Thumbnails>,
    ) -> Option<Self> {
        if whole.is_empty() && means.is_empty() && thumbs.is_none() {
            return None;
        }
        let mut layers: Vec<LayerAttention> = schedule
            .iter()
            .enumerate()
            .map(|(index, &(layer, group, inner))| LayerAttention { index, layer, group, inner, heads, ..Default::default() })
            .collect();
        for a in whole {
            if let Some(l) = layers.get_mut(a.index) {
                l.data = a.data;
            }
        }
        for (l, m) in layers.iter_mut().zip(means) {
            l.mean = Some(m);
        }
        let thumb_side = thumbs.as_ref().map_or(0, |t| t.side);
        for (l, t) in layers.iter_mut().zip(thumbs.map(|t| t.maps).unwrap_or_default()) {
            l.thumbs = Some(t);
        }
        Some(AttentionData { tokens, mask_positions, layers, thumb_side })
    }

    /// Map `i` when it was read back whole (the head view and a head's heatmap need it).
    pub fn whole(&self, i: usize) -> Option<&LayerAttention> {
        self.layers.get(i).filter(|l| l.is_whole())
    }

    /// Head `h` of map `i` as a thumbnail of at most `max` cells a side, and its side: the
    /// forward's, or pooled here from the whole map.
    pub fn thumbnail(&self, i: usize, h: usize, max: usize) -> Option<(Vec<f32>, usize)> {
        let l = self.layers.get(i).filter(|l| h < l.heads)?;
        if let (Some(t), s) = (&l.thumbs, self.thumb_side) {
            return t.get(h * s * s..(h + 1) * s * s).map(|v| (v.to_vec(), s));
        }
        l.is_whole().then(|| albert::cpu::ops::max_pool(l.head(h), 1, self.seq_len(), max))
    }

    /// Every map's mean over heads; `None` when one is missing (neither reduced nor whole).
    pub fn means(&self) -> Option<Vec<Vec<f32>>> {
        self.layers.iter().map(LayerAttention::mean_heads).collect()
    }

    /// The data when it is present and consistent (every view reads through this, so malformed
    /// data shows a message instead of panicking).
    pub fn valid(d: Option<&AttentionData>) -> Option<&AttentionData> {
        d.filter(|d| d.validate().is_ok())
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

    /// Checks that every map is `heads × T × T` (or absent) for the same heads and T = tokens,
    /// its mean `T × T` and its thumbnails `heads × s × s` (or absent).
    pub fn validate(&self) -> Result<(), String> {
        let t = self.seq_len();
        let heads = self.num_heads();
        let s = self.thumb_side;
        if heads == 0 && !self.layers.is_empty() {
            return Err("attention maps with zero heads".into());
        }
        if s > t {
            return Err(format!("thumbnails of {s} cells a side for {t} tokens"));
        }
        for l in &self.layers {
            if l.heads != heads {
                return Err(format!("attention map {} has {} heads, the first has {heads}", l.index, l.heads));
            }
            if l.is_whole() && l.data.len() != heads * t * t {
                return Err(format!(
                    "attention map {} has {} values; {heads} heads × {t} × {t} tokens need {}",
                    l.index,
                    l.data.len(),
                    heads * t * t
                ));
            }
            if let Some(m) = l.mean.as_ref().filter(|m| m.len() != t * t) {
                return Err(format!("the mean of attention map {} has {} values; {t} × {t} tokens need {}", l.index, m.len(), t * t));
            }
            if let Some(th) = l.thumbs.as_ref().filter(|th| th.len() != heads * s * s) {
                return Err(format!("the thumbnails of attention map {} have {} values; {heads} heads × {s} × {s} need {}", l.index, th.len(), heads * s * s));
            }
        }
        if let Some(&p) = self.mask_positions.iter().find(|&&p| p >= t) {
            return Err(format!("mask position {p} is outside the {t} tokens"));
        }
        Ok(())
    }

    /// The `T × T` matrix of map `layer` for `sel`; `None` for a map or head that is not there,
    /// or a head of a map not read back whole.
    pub fn matrix(&self, layer: usize, sel: HeadSel) -> Option<Vec<f32>> {
        let l = self.layers.get(layer)?;
        match sel {
            HeadSel::Head(h) if h >= l.heads => None,
            _ => l.matrix(sel),
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

    /// The rolled-out attention `T × T` over every layer application in execution order;
    /// `None` without every map's mean.
    pub fn rollout(&self) -> Option<Vec<f32>> {
        Some(rollout(&self.means()?, self.seq_len()))
    }

    /// Rollout attribution of every [MASK], each row computed alone (O(L·T²) per [MASK], not
    /// the whole map's O(L·T³)): what the rollout's bars show. Empty without every map's mean.
    pub fn attributions(&self) -> Vec<MaskAttribution> {
        let Some(means) = self.means() else { return Vec::new() };
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
    use super::super::fixtures::data;
    use super::*;

    #[test]
    fn a_map_s_matrix_by_head_or_mean() {
        let l = LayerAttention { index: 0, layer: 0, group: 0, inner: 0, heads: 2, data: (1..=8).map(|v| v as f32).collect(), ..Default::default() };
        let d = AttentionData { tokens: vec!["a".into(), "b".into()], mask_positions: vec![], layers: vec![l], thumb_side: 0 };
        assert_eq!(d.matrix(0, HeadSel::Head(1)), Some(vec![5.0, 6.0, 7.0, 8.0]));
        assert_eq!(d.matrix(0, HeadSel::Head(2)), None);
        assert_eq!(d.matrix(1, HeadSel::Mean), None);
    }


    #[test]
    fn dimensions_and_validation() {
        let d = data(7, 3, 8);
        assert_eq!((d.seq_len(), d.num_layers(), d.num_heads()), (7, 8, 3));
        assert_eq!(d.inner_group_num(), 2);
        assert_eq!(d.num_groups(), 2);
        assert_eq!(d.num_applications(), 4);
        assert_eq!(d.validate(), Ok(()));
        assert!(AttentionData::valid(Some(&d)).is_some());
        let mut bad = d.clone();
        bad.layers[3].data.pop();
        assert!(bad.validate().unwrap_err().contains("attention map 3"));
        assert!(AttentionData::valid(Some(&bad)).is_none());
        let mut bad = d.clone();
        bad.mask_positions.push(7);
        assert!(bad.validate().is_err());
        assert!(AttentionData::valid(None).is_none());
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
    fn views_of_a_forward_fill_in_what_was_read_back() {
        // 3 maps of 2 heads over 4 tokens: map 1 whole, every mean, thumbnails of side 2.
        let d = data(4, 2, 3);
        let schedule: Vec<(usize, usize, usize)> = d.layers.iter().map(|l| (l.layer, l.group, l.inner)).collect();
        let whole = vec![albert::AttentionMap { index: 1, layer: 0, group: 0, inner: 1, data: d.layers[1].data.clone() }];
        let means: Vec<Vec<f32>> = d.layers.iter().map(|l| l.mean_heads().unwrap()).collect();
        let pooled: Vec<Vec<f32>> = d.layers.iter().map(|l| albert::cpu::ops::max_pool(&l.data, 2, 4, 2).0).collect();
        let thumbs = albert::Thumbnails { side: 2, maps: pooled.clone() };
        let v = AttentionData::from_views(d.tokens.clone(), d.mask_positions.clone(), &schedule, 2, whole, means.clone(), Some(thumbs)).unwrap();
        assert_eq!(v.validate(), Ok(()));
        assert_eq!((v.num_layers(), v.num_heads(), v.seq_len(), v.thumb_side), (3, 2, 4, 2));
        assert!(v.whole(0).is_none() && v.whole(1).is_some() && v.whole(3).is_none());
        assert_eq!(v.layer_label(2), d.layer_label(2), "labels come from the schedule");
        // A head needs the whole map; the mean does not.
        assert_eq!(v.matrix(0, HeadSel::Head(0)), None);
        assert_eq!(v.matrix(1, HeadSel::Head(1)), d.matrix(1, HeadSel::Head(1)));
        assert_eq!(v.matrix(2, HeadSel::Mean), Some(means[2].clone()));
        // The rollout reads the forward's means: the same as from every whole map.
        assert_eq!(v.rollout(), d.rollout());
        assert_eq!(v.attributions(), d.attributions());
        // Thumbnails: the forward's, or pooled here from a whole map: the same numbers.
        assert_eq!(v.thumbnail(2, 1, 2), Some((pooled[2][4..8].to_vec(), 2)));
        assert_eq!(d.thumbnail(2, 1, 2), v.thumbnail(2, 1, 2));
        assert_eq!(v.thumbnail(2, 2, 2), None, "no head 2");
        // Without means nothing rolls out; without anything there is no data.
        let bare = AttentionData::from_views(d.tokens.clone(), vec![], &schedule, 2, vec![], vec![], Some(albert::Thumbnails { side: 2, maps: pooled }));
        let bare = bare.unwrap();
        assert_eq!((bare.rollout(), bare.attributions()), (None, vec![]));
        assert_eq!(AttentionData::from_views(d.tokens.clone(), vec![], &schedule, 2, vec![], vec![], None), None);
        // Malformed reductions are reported, not painted.
        let mut bad = v.clone();
        bad.layers[0].mean.as_mut().unwrap().pop();
        assert!(bad.validate().unwrap_err().contains("the mean of attention map 0 has 15 values"));
        let mut bad = v.clone();
        bad.layers[2].thumbs.as_mut().unwrap().push(0.0);
        assert!(bad.validate().unwrap_err().contains("the thumbnails of attention map 2 have 9 values"));
        let mut bad = v;
        bad.thumb_side = 5;
        assert!(bad.validate().is_err());
    }
}
