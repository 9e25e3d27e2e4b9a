//! The neuron view as a standalone SVG figure: for one layer, head and query token, the query
//! vector, then per key its vector, the element-wise product with q, the score q·k/√d and the
//! softmax weight, in the page's diverging colours (orange positive, blue negative).

use super::svg::{text_px, Canvas, BLUE, INK, MUTED};
use super::{file_stem, layer_number, Caption, Figure};
use crate::view_model::attention::labels::{display_token, truncate_token};
use crate::view_model::inside::neuron::{diverging, NeuronData, NeuronRows};

const LABEL: usize = 14;
const ROW: f32 = 16.0;
const BAR: f32 = 60.0;

fn cells(c: &mut Canvas, x: f32, y: f32, cell: f32, v: &[f32], scale: f32) {
    for (i, &val) in v.iter().enumerate() {
        c.rect(x + i as f32 * cell, y, cell, ROW - 4.0, &diverging(val, scale));
    }
    c.raw(&format!(
        r##"<rect x="{x:.1}" y="{y:.1}" width="{:.1}" height="{:.1}" fill="none" stroke="#d0d7de" stroke-width="0.5"/>"##,
        cell * v.len() as f32,
        ROW - 4.0
    ));
}

/// The figure of `rows` (one query token of `data`'s head); `inner_groups` is the model's
/// `inner_group_num`, for the layer's number (`3` or `3.1`).
pub fn neuron(caption: &Caption, data: &NeuronData, rows: &NeuronRows, inner_groups: usize) -> Option<Figure> {
    let d = rows.q.len();
    let tok = |i: usize| truncate_token(&display_token(data.tokens.get(i).map_or("?", String::as_str)), LABEL);
    if d == 0 || rows.keys.is_empty() {
        return None;
    }
    let cell = (256.0 / d as f32).clamp(2.0, 10.0);
    let vec_w = cell * d as f32;
    let lw = text_px(LABEL) + 8.0;
    let (x_k, x_p) = (lw, lw + vec_w + 16.0);
    let (x_s, x_w) = (x_p + vec_w + 56.0, x_p + vec_w + 72.0);
    let mut c = Canvas::new();
    c.text(lw - 6.0, 11.0, "end", 12.0, INK, r#" font-weight="700""#, &tok(rows.query));
    cells(&mut c, x_k, 0.0, cell, &rows.q, rows.vector_scale);
    c.text(x_k + vec_w + 6.0, 11.0, "start", 11.0, MUTED, "", "query q");
    let head_y = ROW + 14.0;
    c.text(x_k, head_y, "start", 11.0, MUTED, "", "key k");
    c.text(x_p, head_y, "start", 11.0, MUTED, "", "q ∘ k");
    c.text(x_s, head_y, "end", 11.0, MUTED, "", "q·k/√d");
    c.text(x_w, head_y, "start", 11.0, MUTED, "", "softmax");
    let top = head_y + 6.0;
    for (n, key) in rows.keys.iter().enumerate() {
        let y = top + n as f32 * ROW;
        c.text(lw - 6.0, y + 11.0, "end", 12.0, INK, "", &tok(key.index));
        cells(&mut c, x_k, y, cell, &key.k, rows.vector_scale);
        cells(&mut c, x_p, y, cell, &key.product, rows.product_scale);
        c.text(x_s, y + 11.0, "end", 11.0, INK, "", &format!("{:.3}", key.score));
        c.rect(x_w, y + 2.0, BAR * key.weight.clamp(0.0, 1.0), ROW - 6.0, BLUE);
        c.text(x_w + BAR + 6.0, y + 11.0, "start", 11.0, INK, "", &format!("{:.3}", key.weight));
    }
    let h = data.head;
    let layer = layer_number(h.layer.saturating_sub(1), h.inner, inner_groups);
    let query = data.tokens.get(rows.query).map(|t| display_token(t)).unwrap_or_default();
    let caption = caption.with(format!("layer {layer}"), format!("head {} · query “{query}” (position {})", h.head, rows.query));
    let stem = file_stem(&["neuron", &layer, &h.head.to_string(), &format!("q{}", rows.query)]);
    Some(c.finish(stem, &caption, x_w + BAR + 50.0, top + rows.keys.len() as f32 * ROW))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neuron_draws_q_every_key_its_products_score_and_weight() {
        let data = NeuronData {
            head: albert::HeadSwitch { layer: 2, inner: 0, head: 1 },
            tokens: vec!["[CLS]".into(), " cat".into(), "<s>".into()],
            head_dim: 2,
            q: vec![1.0, -1.0, 0.5, 0.5, 0.0, 2.0],
            k: vec![1.0, 1.0, -1.0, 0.5, 0.25, -2.0],
        };
        let rows = data.rows(1).unwrap();
        let cap = Caption { model: "tiny".into(), sentence: "s".into(), layer: String::new(), head: String::new() };
        let f = neuron(&cap, &data, &rows, 1).unwrap();
        assert_eq!(f.stem, "albert-lens-neuron-2-1-q1");
        assert!(f.svg.contains("· layer 2 · head 1 · query “▁cat” (position 1)</title>"));
        for key in &rows.keys {
            assert!(f.svg.contains(&format!(">{:.3}</text>", key.score)));
            assert!(f.svg.contains(&format!(">{:.3}</text>", key.weight)));
        }
        assert!(f.svg.contains("&lt;s&gt;"));
        // q, then k and q∘k per key: 2 cells each, plus an outline per vector.
        assert_eq!(f.svg.matches("rgba(").count(), 2 + 3 * 4);
        assert_eq!(neuron(&cap, &data, &rows, 2).unwrap().stem, "albert-lens-neuron-2.0-1-q1");
    }
}
