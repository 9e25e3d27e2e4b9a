//! The side-by-side card's A − B attention heatmap as a standalone SVG figure: the same cells,
//! diverging colours and scale as the page (blue: more attention in B, orange: more in A), with
//! both sentences in the title and a legend, so the figure reads on its own.

use super::svg::{text_px, Canvas, MUTED};
use super::{file_stem, layer_number, Caption, Figure};
use crate::view_model::attention::colour::rgb_hex;
use crate::view_model::attention::{data::AttentionData, layer::HeadSel};
use crate::view_model::attention::labels::{display_token, truncate_token};
use crate::view_model::compare::abs_max;

/// Characters of a token label (as on the page).
const LABEL: usize = 9;
/// Cell size in CSS px: sentence lengths stay readable, long inputs shrink to fit.
const MAX_CELL: f32 = 24.0;
const MIN_CELL: f32 = 6.0;
const FIT: f32 = 640.0;
const LEGEND_W: f32 = 60.0;
/// The page's diverging ends (`view_model::inside::neuron::diverging`): blue below zero, orange
/// above. Drawn here as solid colours blended with white, since SVG 1.1 viewers ignore `rgba()`.
const BLUE: [f32; 3] = [33.0, 102.0, 172.0];
const ORANGE: [f32; 3] = [214.0, 96.0, 39.0];

/// `v` in `[-scale, scale]` as a solid hex colour: white at 0, full blue or orange at ±scale.
pub fn diverging_hex(v: f32, scale: f32) -> String {
    let a = if scale > 0.0 && v.is_finite() { (v.abs() / scale).clamp(0.0, 1.0) } else { 0.0 };
    let end = if v < 0.0 { BLUE } else { ORANGE };
    rgb_hex(end.map(|c| (255.0 + a * (c - 255.0)).round() as u8))
}

/// The A − B map `m` (`T × T`, row-major, from `view_model::compare::diff`) of map `layer` and
/// `sel`, labelled with A's tokens (the two sentences have the same token count, or there is no
/// map). `caption.sentence` names both sentences. `None` when `m` does not fit the tokens.
pub fn diff_heatmap(caption: &Caption, a: &AttentionData, m: &[f32], layer: usize, sel: HeadSel) -> Option<Figure> {
    let t = a.seq_len();
    let l = a.layers.get(layer)?;
    if t == 0 || m.len() != t * t {
        return None;
    }
    let scale = abs_max(m);
    let cell = (FIT / t as f32).clamp(MIN_CELL, MAX_CELL);
    let lw = text_px(LABEL) + 6.0;
    let legend_h = 34.0;
    let (x0, y0) = (lw + 4.0, legend_h + lw + 4.0);
    let mut c = Canvas::new();
    // Legend: −scale … 0 … +scale, with what each side means.
    for (i, v) in [-1.0, -0.5, 0.0, 0.5, 1.0].iter().enumerate() {
        c.rect(i as f32 * LEGEND_W / 5.0, 4.0, LEGEND_W / 5.0, 10.0, &diverging_hex(v * scale, scale));
    }
    c.text(0.0, 26.0, "start", 11.0, MUTED, "", &format!("−{scale:.3}"));
    c.text(LEGEND_W, 26.0, "end", 11.0, MUTED, "", &format!("+{scale:.3}"));
    c.text(LEGEND_W + 10.0, 13.0, "start", 11.0, MUTED, "", "A − B: blue, more attention in B; orange, more in A");
    c.text(LEGEND_W + 10.0, 26.0, "start", 11.0, MUTED, "", "rows: queries ↓, columns: keys →");
    let name = |i: usize| truncate_token(&display_token(&a.tokens[i]), LABEL);
    for i in 0..t {
        let mid = (i as f32 + 0.5) * cell;
        c.text(lw, y0 + mid + 4.0, "end", 11.0, "#1f2328", "", &name(i));
        let rot = format!(r#" transform="rotate(-90 {:.1} {:.1})""#, x0 + mid + 4.0, y0 - 4.0);
        c.text(x0 + mid + 4.0, y0 - 4.0, "start", 11.0, "#1f2328", &rot, &name(i));
    }
    for q in 0..t {
        for k in 0..t {
            c.rect(x0 + k as f32 * cell, y0 + q as f32 * cell, cell, cell, &diverging_hex(m[q * t + k], scale));
        }
    }
    let side = t as f32 * cell;
    let stem = file_stem(&["diff", &layer_number(l.layer, l.inner, a.inner_group_num()), &sel.value()]);
    let width = (x0 + side).max(LEGEND_W + 10.0 + text_px(52));
    Some(c.finish(stem, &caption.with(a.layer_label(layer), format!("{} · attention A − B", sel.label())), width, y0 + side))
}

/// The title's sentence part for a comparison: `A: … | B: …`.
pub fn pair_sentence(a: &str, b: &str) -> String {
    format!("A: {a} | B: {b}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::view_model::attention::layer::LayerAttention;

    fn att(t: usize) -> AttentionData {
        let layers = (0..2).map(|i| LayerAttention { index: i, layer: i, group: 0, inner: 0, heads: 1, data: vec![1.0 / t as f32; t * t], ..Default::default() }).collect();
        AttentionData { tokens: (0..t).map(|i| format!("▁w{i}<")).collect(), mask_positions: vec![1], layers, thumb_side: 0 }
    }

    #[test]
    fn one_cell_per_value_coloured_by_sign() {
        let a = att(3);
        let m = vec![0.5, -0.5, 0.0, 0.25, 0.0, 0.0, 0.0, 0.0, -0.25];
        let cap = Caption { model: "tiny".into(), sentence: pair_sentence("a cat", "a dog"), layer: String::new(), head: String::new() };
        let f = diff_heatmap(&cap, &a, &m, 1, HeadSel::Head(0)).unwrap();
        assert_eq!(f.stem, "albert-lens-diff-2-0");
        assert!(f.svg.contains("“A: a cat | B: a dog”"), "both sentences in the title");
        assert!(f.svg.contains("layer 2 · block 0 · head 0 · attention A − B</title>"));
        // 5 legend swatches + 9 cells; full orange at +scale, full blue at −scale, white at 0.
        assert_eq!(f.svg.matches("<rect").count(), 1 + 5 + 9, "background, legend, cells");
        assert_eq!(diverging_hex(0.5, 0.5), "#d66027");
        assert_eq!(diverging_hex(-0.5, 0.5), "#2166ac");
        assert_eq!(diverging_hex(0.0, 0.5), "#ffffff");
        assert_eq!(diverging_hex(f32::NAN, 0.5), "#ffffff");
        assert!(f.svg.contains(r##"fill="#d66027""##) && f.svg.contains(r##"fill="#2166ac""##));
        assert!(f.svg.contains("w1&lt;"), "labels are escaped");
        assert!(!f.svg.contains("rgba("), "solid colours only");
    }

    #[test]
    fn refuses_a_map_that_does_not_fit() {
        let a = att(3);
        let cap = Caption { model: "m".into(), sentence: "s".into(), layer: String::new(), head: String::new() };
        assert!(diff_heatmap(&cap, &a, &[0.0; 4], 0, HeadSel::Mean).is_none());
        assert!(diff_heatmap(&cap, &a, &[0.0; 9], 5, HeadSel::Mean).is_none());
    }
}
