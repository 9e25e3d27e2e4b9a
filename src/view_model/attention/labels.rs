//! What the attention views print: tokens, weights, layer labels that show ALBERT's sharing,
//! and the shape summary every view lays itself out from.

use super::data::AttentionData;

/// Label of one layer application; see [`AttentionData::layer_label`].
pub fn layer_label(layer: usize, inner: usize, group: usize, inner_group_num: usize) -> String {
    if inner_group_num > 1 {
        format!("layer {layer}.{inner} · group {group}")
    } else {
        format!("layer {layer} · block {group}")
    }
}

/// A weight as the views print it: `0.123`.
pub fn format_weight(w: f32) -> String {
    format!("{w:.3}")
}

/// How the views print a token: SentencePiece's word-start marker `▁` is kept (a leading
/// space, as the app may pass, becomes `▁` again) so subword pieces stay visible; an empty
/// token shows as `␣`.
pub fn display_token(raw: &str) -> String {
    if raw.is_empty() {
        "␣".to_string()
    } else if let Some(rest) = raw.strip_prefix(' ') {
        format!("▁{rest}")
    } else {
        raw.to_string()
    }
}

/// Truncates a token for display to `max` characters, with an ellipsis.
pub fn truncate_token(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
        out.push('…');
        out
    }
}

/// The heatmap readout: `"▁paris (3) → [CLS] (0): 0.123"`.
pub fn readout(tokens: &[String], q: usize, k: usize, w: f32) -> String {
    let name = |i: usize| tokens.get(i).map(String::as_str).unwrap_or("?");
    format!("{} ({q}) → {} ({k}): {}", name(q), name(k), format_weight(w))
}

/// What the views' layouts depend on: the data's shape and labels, not its values, so a new
/// forward of the same shape repaints without moving anything.
#[derive(Clone, Debug, PartialEq)]
pub struct AttentionShape {
    /// Tokens as the views print them ([`display_token`]).
    pub tokens: Vec<String>,
    pub masks: Vec<usize>,
    pub heads: usize,
    /// One per attention map, in execution order.
    pub layers: Vec<LayerInfo>,
    /// One line on what ran: maps, layers × inner, shared blocks.
    pub summary: String,
}

/// One attention map's labels.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerInfo {
    /// `"layer 3.1 · group 1"`.
    pub label: String,
    /// `"L3.1 · g1"`.
    pub short: String,
    pub application: usize,
    pub group: usize,
    pub inner: usize,
}

impl AttentionShape {
    pub fn of(d: &AttentionData) -> AttentionShape {
        AttentionShape {
            tokens: d.tokens.iter().map(|t| display_token(t)).collect(),
            masks: d.mask_positions.clone(),
            heads: d.num_heads(),
            layers: d
                .layers
                .iter()
                .enumerate()
                .map(|(i, l)| LayerInfo {
                    label: d.layer_label(i),
                    short: d.layer_short_label(i),
                    application: l.layer,
                    group: l.group,
                    inner: l.inner,
                })
                .collect(),
            summary: summary(d),
        }
    }

    /// Tokens per side.
    pub fn t(&self) -> usize {
        self.tokens.len()
    }
}

fn summary(d: &AttentionData) -> String {
    let groups = d.num_groups();
    format!(
        "{} attention maps ({} layers × {} inner) running {groups} shared {}, {} heads each, {} tokens.",
        d.num_layers(),
        d.num_applications(),
        d.inner_group_num(),
        if groups == 1 { "block" } else { "blocks" },
        d.num_heads(),
        d.seq_len()
    )
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::data;
    use super::*;

    #[test]
    fn labels_show_the_shared_block() {
        assert_eq!(layer_label(3, 0, 0, 1), "layer 3 · block 0");
        assert_eq!(layer_label(3, 1, 1, 2), "layer 3.1 · group 1");
    }

    #[test]
    fn tokens_weights_and_readout() {
        assert_eq!(format_weight(0.12345), "0.123");
        assert_eq!(truncate_token("▁internationalisation", 8), "▁intern…");
        assert_eq!(truncate_token("[CLS]", 8), "[CLS]");
        assert_eq!(display_token(" paris"), "▁paris");
        assert_eq!(display_token("▁paris"), "▁paris");
        assert_eq!(display_token(" "), "▁");
        assert_eq!(display_token("ance"), "ance");
        assert_eq!(display_token(""), "␣");
        let toks: Vec<String> = vec!["[CLS]".into(), "▁paris".into()];
        assert_eq!(readout(&toks, 1, 0, 0.5), "▁paris (1) → [CLS] (0): 0.500");
    }

    #[test]
    fn shape_labels_every_map_and_sums_up() {
        let mut d = data(5, 3, 8);
        d.tokens[0] = " paris".into();
        let s = AttentionShape::of(&d);
        assert_eq!((s.t(), s.heads, s.layers.len()), (5, 3, 8));
        assert_eq!(s.tokens[0], "▁paris");
        assert_eq!(s.masks, vec![1, 3]);
        assert_eq!(s.layers[5].label, "layer 3.1 · group 1");
        assert_eq!(s.layers[5].short, "L3.1 · g1");
        assert_eq!((s.layers[5].application, s.layers[5].group, s.layers[5].inner), (2, 1, 1));
        assert_eq!(s.summary, "8 attention maps (4 layers × 2 inner) running 2 shared blocks, 3 heads each, 5 tokens.");
    }
}
