//! The attention views as standalone SVG figures, drawn from the same data and the same
//! geometry, palette and scale as the page: the heatmap (a rect per cell, or an embedded image
//! past `MAX_RECT_CELLS`), the head view's lines, the model view's thumbnails and the rollout's
//! bars with its rolled-out map.

use super::png::heat_png;
use super::svg::{text_px, Canvas, BLUE, INK, MUTED, VERMILLION};
use super::{file_stem, layer_number, Caption, Figure};
use crate::view_model::attention::colour::{head_style, max_value, rgb_hex, viridis};
use crate::view_model::attention::{data::AttentionData, layer::HeadSel};
use crate::view_model::attention::geometry::{head_view_lines, heat_cell_px, line_opacity, HeadViewLayout, MAX_LINES};
use crate::view_model::attention::labels::{display_token, truncate_token};
use crate::view_model::attention::request::THUMBNAIL;

/// Characters of a token label in the heatmap and model view / head view and rollout.
const SHORT_LABEL: usize = 10;
const LONG_LABEL: usize = 14;
/// Up to this many cells a heatmap is vector rects; past it one embedded image (a 512-token
/// input would otherwise be 262,144 elements).
pub const MAX_RECT_CELLS: usize = 96 * 96;
/// Model view thumbnail size and gap, in CSS px.
const THUMB: f32 = 48.0;
const GAP: f32 = 4.0;

fn label(att: &AttentionData, i: usize, max: usize) -> String {
    truncate_token(&display_token(&att.tokens[i]), max)
}

fn weight(att: &AttentionData, i: usize) -> &'static str {
    if att.mask_positions.contains(&i) {
        r#" font-weight="700""#
    } else {
        ""
    }
}

/// The map's number for file names (`3`, `3.1`).
fn map_number(att: &AttentionData, layer: usize) -> String {
    let l = &att.layers[layer];
    layer_number(l.layer, l.inner, att.inner_group_num())
}

/// The heatmap of map `layer` for `sel`: rows are queries, columns keys, viridis from 0 to the
/// map's largest value with its legend. `None` for a map or head that is not there.
pub fn heatmap(caption: &Caption, att: &AttentionData, layer: usize, sel: HeadSel) -> Option<Figure> {
    let m = att.matrix(layer, sel)?;
    let t = att.seq_len();
    let cell = heat_cell_px(t) as f32;
    let lw = text_px(SHORT_LABEL) + 6.0;
    let (x0, y0) = (lw + 4.0, 22.0 + lw + 4.0);
    let vmax = max_value(&m);
    let mut c = Canvas::new();
    c.text(0.0, 10.0, "start", 11.0, MUTED, "", "query ↓ key →");
    c.viridis_legend(text_px(14) + 14.0, 1.0, 120.0, vmax);
    for i in 0..t {
        let name = label(att, i, SHORT_LABEL);
        let mid = (i as f32 + 0.5) * cell;
        c.text(lw, y0 + mid + 4.0, "end", 11.0, INK, weight(att, i), &name);
        let rot = format!(r#" transform="rotate(-90 {:.1} {:.1})"{}"#, x0 + mid + 4.0, y0 - 4.0, weight(att, i));
        c.text(x0 + mid + 4.0, y0 - 4.0, "start", 11.0, INK, &rot, &name);
    }
    if t * t <= MAX_RECT_CELLS {
        for q in 0..t {
            for k in 0..t {
                let fill = rgb_hex(viridis(m[q * t + k] / vmax));
                c.rect(x0 + k as f32 * cell, y0 + q as f32 * cell, cell, cell, &fill);
            }
        }
    } else {
        c.image(x0, y0, t as f32 * cell, t as f32 * cell, &heat_png(&m, t));
    }
    let side = t as f32 * cell;
    let stem = file_stem(&["heatmap", &map_number(att, layer), &sel.value()]);
    Some(c.finish(stem, &caption.with(att.layer_label(layer), sel.label()), x0 + side, y0 + side))
}

/// `"all heads"`, `"no heads"` or `"heads 0, 2"`, and the file name's part (`all`, `none`, `0_2`).
pub fn heads_shown(enabled: &[bool]) -> (String, String) {
    let on: Vec<String> = enabled.iter().enumerate().filter(|(_, &e)| e).map(|(h, _)| h.to_string()).collect();
    if on.len() == enabled.len() {
        ("all heads".into(), "all".into())
    } else if on.is_empty() {
        ("no heads".into(), "none".into())
    } else {
        let word = if on.len() == 1 { "head" } else { "heads" };
        (format!("{word} {}", on.join(", ")), on.join("_"))
    }
}

/// The head view of map `layer`: queries left, keys right, a line per weight at or above
/// `threshold` for the `enabled` heads (the strongest `MAX_LINES`, as on the page), opacity the
/// weight, colour and dash the head's.
pub fn head_view(caption: &Caption, att: &AttentionData, layer: usize, enabled: &[bool], threshold: f32) -> Option<Figure> {
    let l = att.layers.get(layer)?;
    let t = att.seq_len();
    let geo = HeadViewLayout::new(t);
    let col = text_px(LONG_LABEL) + 8.0;
    let width = 2.0 * col + geo.width;
    // The heads' key: swatches in rows that fit the width.
    let per_row = ((width / 64.0) as usize).max(1);
    let key_rows = l.heads.div_ceil(per_row);
    let mut c = Canvas::new();
    for h in 0..l.heads {
        let (x, y) = ((h % per_row) as f32 * 64.0, (h / per_row) as f32 * 16.0 + 8.0);
        let st = head_style(h);
        let on = enabled.get(h).copied().unwrap_or(false);
        let dash = if st.dash.is_empty() { String::new() } else { format!(r#" stroke-dasharray="{}""#, st.dash) };
        let fade = if on { "" } else { r#" opacity="0.3""# };
        c.line((x, y - 4.0), (x + 18.0, y - 4.0), st.color, 3.0, &format!("{dash}{fade}"));
        c.text(x + 22.0, y, "start", 11.0, if on { INK } else { MUTED }, "", &format!("head {h}{}", if on { "" } else { " (off)" }));
    }
    let top = key_rows as f32 * 16.0 + 8.0;
    for i in 0..t {
        let y = top + geo.y(i) + 4.0;
        let name = label(att, i, LONG_LABEL);
        c.text(col - 4.0, y, "end", 12.0, INK, weight(att, i), &name);
        c.text(col + geo.width + 4.0, y, "start", 12.0, INK, weight(att, i), &name);
    }
    for line in head_view_lines(l, enabled, None, threshold, MAX_LINES) {
        let st = head_style(line.head);
        let dash = if st.dash.is_empty() { String::new() } else { format!(r#" stroke-dasharray="{}""#, st.dash) };
        let extra = format!(r#" stroke-opacity="{:.3}"{dash}"#, line_opacity(line.weight));
        c.line((col + geo.x_left(), top + geo.y(line.query)), (col + geo.x_right(), top + geo.y(line.key)), st.color, 2.0, &extra);
    }
    let (heads, heads_part) = heads_shown(enabled);
    let stem = file_stem(&["head-view", &map_number(att, layer), &heads_part]);
    Some(c.finish(stem, &caption.with(att.layer_label(layer), heads), width, top + geo.height()))
}

/// Every layer × head as a thumbnail (an embedded `T × T` image each, scaled to 48 px), rows
/// labelled with their shared block and banded by group, as on the page.
pub fn model_view(caption: &Caption, att: &AttentionData) -> Option<Figure> {
    let (nl, nh, t) = (att.num_layers(), att.num_heads(), att.seq_len());
    if nl == 0 || nh == 0 || t == 0 {
        return None;
    }
    let lw = text_px(SHORT_LABEL);
    let (x0, y0) = (lw + GAP, 18.0);
    let mut c = Canvas::new();
    for h in 0..nh {
        c.text(x0 + h as f32 * (THUMB + GAP) + THUMB / 2.0, 12.0, "middle", 11.0, MUTED, "", &format!("head {h}"));
    }
    for (i, l) in att.layers.iter().enumerate() {
        let y = y0 + i as f32 * (THUMB + GAP);
        if l.group % 2 == 1 {
            c.rect(0.0, y - GAP / 2.0, x0 + nh as f32 * (THUMB + GAP), THUMB + GAP, "#eef1f5");
        }
        c.text(0.0, y + THUMB / 2.0 + 4.0, "start", 11.0, INK, "", &att.layer_short_label(i));
        for h in 0..nh {
            // The thumbnails the page paints (max-pooled to at most THUMBNAIL cells a side).
            let (m, side) = att.thumbnail(i, h, THUMBNAIL)?;
            c.image(x0 + h as f32 * (THUMB + GAP), y, THUMB, THUMB, &heat_png(&m, side));
        }
    }
    let w = x0 + nh as f32 * (THUMB + GAP) - GAP;
    let h = y0 + nl as f32 * (THUMB + GAP) - GAP;
    Some(c.finish(file_stem(&["model-view", "all", "all"]), &caption.with(format!("all {nl} layers"), format!("all {nh} heads")), w, h))
}

/// The rollout for the `mask`-th [MASK]: a bar per input token (its share of that token's
/// rolled-out attention) and the whole rolled-out map with the chosen row outlined.
pub fn rollout(caption: &Caption, att: &AttentionData, mask: usize) -> Option<Figure> {
    let t = att.seq_len();
    let rolled = att.rollout()?;
    let chosen = att.attributions_from(&rolled).into_iter().nth(mask)?;
    let top = max_value(&chosen.weights);
    let lw = text_px(LONG_LABEL) + 4.0;
    let (track, row) = (200.0, 18.0);
    let mut c = Canvas::new();
    for (i, w) in chosen.weights.iter().enumerate() {
        let y = i as f32 * row;
        c.text(lw - 4.0, y + 13.0, "end", 12.0, INK, weight(att, i), &label(att, i, LONG_LABEL));
        c.rect(lw, y + 3.0, track, row - 6.0, "#eef1f5");
        let fill = if i == chosen.position { VERMILLION } else { BLUE };
        c.rect(lw, y + 3.0, track * (w / top).clamp(0.0, 1.0), row - 6.0, fill);
        c.text(lw + track + 6.0, y + 13.0, "start", 11.0, MUTED, "", &format!("{w:.3}"));
    }
    let map_x = lw + track + 60.0;
    let side = (t as f32 * 12.0).clamp(96.0, 240.0);
    c.image(map_x, 0.0, side, side, &heat_png(&rolled, t));
    let cell = side / t.max(1) as f32;
    let outline = format!(
        r#"<rect x="{map_x:.1}" y="{:.2}" width="{side:.1}" height="{cell:.2}" fill="none" stroke="{VERMILLION}" stroke-width="2"/>"#,
        chosen.position as f32 * cell
    );
    c.raw(&outline);
    let note = "rolled-out map (rows: tokens, columns: inputs)";
    c.text(map_x, side + 14.0, "start", 11.0, MUTED, "", note);
    let w = map_x + side.max(text_px(note.chars().count()) * 11.0 / 12.0);
    let h = (t as f32 * row).max(side + 18.0);
    let n = att.num_layers();
    let p = chosen.position;
    let stem = file_stem(&["rollout", "all", "mean", &format!("mask{p}")]);
    Some(c.finish(stem, &caption.with(format!("rollout over all {n} layers"), format!("mean of heads · [MASK] at position {p}")), w, h))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::view_model::attention::fixtures::data;

    fn caption() -> Caption {
        Caption { model: "tiny".into(), sentence: "the [MASK] <sat>".into(), layer: String::new(), head: String::new() }
    }

    #[test]
    fn heatmap_draws_a_rect_per_cell_with_its_colour_and_title() {
        let d = data(5, 3, 8);
        let f = heatmap(&caption(), &d, 5, HeadSel::Head(1)).unwrap();
        assert_eq!(f.stem, "albert-lens-heatmap-3.1-1");
        assert!(f.svg.contains("<title>tiny · “the [MASK] &lt;sat&gt;” · layer 3.1 · group 1 · head 1</title>"));
        // 25 cells plus the background; the largest value is viridis' top.
        assert_eq!(f.svg.matches("<rect").count(), 25 + 1 + 1, "cells, background, legend");
        assert!(f.svg.contains("#fde725"));
        let mean = heatmap(&caption(), &d, 0, HeadSel::Mean).unwrap();
        assert_eq!(mean.stem, "albert-lens-heatmap-1.0-mean");
        assert!(mean.svg.contains("mean of heads"));
        assert!(heatmap(&caption(), &d, 8, HeadSel::Mean).is_none());
        assert!(heatmap(&caption(), &d, 0, HeadSel::Head(3)).is_none());
        // The width the PNG doubles is the document's own.
        assert!(f.svg.contains(&format!(r#"width="{}" height="{}""#, f.width, f.height)));
    }

    #[test]
    fn large_heatmaps_embed_one_image() {
        let d = data(100, 1, 1);
        let f = heatmap(&caption(), &d, 0, HeadSel::Mean).unwrap();
        assert_eq!(f.svg.matches("<image").count(), 1);
        assert!(f.svg.matches("<rect").count() < 10);
    }

    #[test]
    fn head_view_draws_the_pages_lines() {
        let d = data(6, 3, 2);
        let enabled = [true, false, true];
        let f = head_view(&caption(), &d, 1, &enabled, 0.2).unwrap();
        let want = head_view_lines(&d.layers[1], &enabled, None, 0.2, MAX_LINES).len();
        // Key swatches (one line per head) and the attention lines.
        assert_eq!(f.svg.matches("<line").count(), 3 + want);
        assert!(f.svg.contains("head 1 (off)"));
        assert_eq!(f.stem, "albert-lens-head-view-1.1-0_2");
        assert!(f.svg.contains("· layer 1.1 · group 0 · heads 0, 2</title>"));
        assert_eq!(heads_shown(&[true, true]), ("all heads".into(), "all".into()));
        assert_eq!(heads_shown(&[false, false]), ("no heads".into(), "none".into()));
        assert_eq!(heads_shown(&[false, true]), ("head 1".into(), "1".into()));
        assert!(head_view(&caption(), &d, 2, &enabled, 0.0).is_none());
    }

    #[test]
    fn model_view_has_a_thumbnail_per_layer_and_head() {
        let d = data(5, 3, 4);
        let f = model_view(&caption(), &d).unwrap();
        assert_eq!(f.svg.matches("<image").count(), 12);
        assert_eq!(f.svg.matches("data:image/png;base64,iVBORw0KGgo").count(), 12, "PNG signature in base64");
        assert!(f.svg.contains("L2.1 · g0"));
        assert!(f.svg.contains("· all 4 layers · all 3 heads</title>"));
        assert_eq!(f.stem, "albert-lens-model-view-all-all");
    }

    #[test]
    fn rollout_draws_the_chosen_masks_bars() {
        let d = data(6, 2, 4);
        let f = rollout(&caption(), &d, 1).unwrap();
        let pos = d.mask_positions[1];
        assert_eq!(f.stem, format!("albert-lens-rollout-all-mean-mask{pos}"));
        assert!(f.svg.contains(&format!("[MASK] at position {pos}</title>")));
        let w = d.attributions_from(&d.rollout().unwrap())[1].weights.clone();
        for v in &w {
            assert!(f.svg.contains(&format!(">{v:.3}</text>")));
        }
        assert!(rollout(&caption(), &d, 2).is_none());
    }
}
