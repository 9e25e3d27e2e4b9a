//! The Inside ALBERT charts as standalone SVG figures: the logit lens of one [MASK] (the answer's
//! probability across layers, then each layer's top-5), the drift chart (the paper's Figure 2)
//! and the head-switch grid (which heads of which layers are off), laid out as on the page.

use albert::{Drift, HeadSwitch};

use super::svg::{fit, Canvas, BLUE, INK, MUTED, TRACK, VERMILLION};
use super::{file_stem, Caption, Figure};
use super::tables::MaskPicks;
use crate::view_model::format;
use crate::view_model::text::mask_title;
use crate::view_model::inside::drift::{chart, reading, Frame};
use crate::view_model::inside::lens::{row_label, LensView, ROW_PICKS};
use crate::view_model::inside::switches::{format_list, inactive_reason, Shape};

/// Lens layout: the layer label column, one column per pick, the rank column, row height.
const LABEL_W: f32 = 110.0;
const PICK_W: f32 = 104.0;
const RANK_W: f32 = 40.0;
const ROW: f32 = 20.0;
const CHART_H: f32 = 120.0;
const CHART_PAD: f32 = 10.0;

/// The lens of one [MASK]: the final answer's probability per layer as a line, the page's
/// reading of it, then a row per layer (h0 … hK) with its top-5 and the answer's rank.
pub fn lens(caption: &Caption, l: &LensView) -> Option<Figure> {
    let last = l.rows.last()?.layer;
    let width = LABEL_W + ROW_PICKS as f32 * PICK_W + RANK_W;
    let mut c = Canvas::new();
    let (cw, ch, pad) = (width, CHART_H, CHART_PAD);
    c.line((pad, ch - pad), (cw - pad, ch - pad), MUTED, 1.0, "");
    c.line((pad, pad), (cw - pad, pad), "#d0d7de", 1.0, r#" stroke-dasharray="3 3""#);
    c.text(pad + 2.0, pad + 10.0, "start", 10.0, MUTED, "", "100%");
    c.text(pad, ch + 2.0, "start", 10.0, MUTED, "", "h0");
    c.text(cw - pad, ch + 2.0, "end", 10.0, MUTED, "", &format!("layer {last}"));
    c.path(&l.curve_path(cw, ch, pad), VERMILLION, 2.0);
    for (x, y) in l.curve(cw, ch, pad) {
        c.raw(&format!(r#"<circle cx="{x:.1}" cy="{y:.1}" r="3" fill="{VERMILLION}"/>"#));
    }
    let reading_y = ch + 20.0;
    let top = reading_y + c.paragraph(0.0, reading_y, width, 11.0, &l.reading());
    c.text(0.0, top + 12.0, "start", 11.0, MUTED, "", "layer");
    c.text(LABEL_W, top + 12.0, "start", 11.0, MUTED, "", &format!("top {ROW_PICKS} predictions at that layer"));
    c.text(width, top + 12.0, "end", 11.0, MUTED, "", "rank");
    for (i, r) in l.rows.iter().enumerate() {
        let y = top + (i as f32 + 1.0) * ROW + 14.0;
        let weight = if r.answer_rank == 1 { r#" font-weight="700""# } else { "" };
        c.text(0.0, y, "start", 12.0, INK, weight, &row_label(r.layer));
        for (j, p) in r.picks.iter().take(ROW_PICKS).enumerate() {
            let x = LABEL_W + j as f32 * PICK_W;
            let shown = if p.display.trim().is_empty() { "␣".to_string() } else { p.display.trim().to_string() };
            c.rect(x, y + 3.0, (PICK_W - 8.0) * p.prob.clamp(0.0, 1.0), 3.0, BLUE);
            c.text(x, y, "start", 12.0, INK, "", &fit(&shown, 7));
            c.text(x + PICK_W - 8.0, y, "end", 10.0, MUTED, "", &format::percent(p.prob));
        }
        c.text(width, y, "end", 12.0, INK, "", &format!("#{}", r.answer_rank));
    }
    let height = top + (l.rows.len() as f32 + 1.0) * ROW + 8.0;
    let p = l.position;
    let caption = caption.with(format!("layers h0 to {last}"), format!("[MASK] at position {p} · answer “{}”", l.answer));
    Some(c.finish(file_stem(&["lens", "all", &format!("mask{p}")]), &caption, width, height))
}

/// The drift per layer: mean L2 distance (left axis, circles) and mean cosine similarity (right
/// axis, squares, dashed) between each layer's input and output, with the model's reading.
pub fn drift(caption: &Caption, drift: &[Drift]) -> Option<Figure> {
    let last = drift.last()?.layer;
    let f = Frame { width: 560.0, height: 240.0, margin_x: 48.0, margin_y: 20.0 };
    let ch = chart(drift, f);
    let (x0, x1, y0, y1) = (f.margin_x, f.width - f.margin_x, f.height - f.margin_y, f.margin_y);
    let mut c = Canvas::new();
    c.text(0.0, 10.0, "start", 11.0, BLUE, "", "● mean L2 distance ‖hₗ − hₗ₋₁‖ (left axis)");
    c.text(f.width, 10.0, "end", 11.0, VERMILLION, "", "■ mean cosine similarity (right axis)");
    let dy = 18.0;
    let at = |y: f32| y + dy;
    c.line((x0, at(y0)), (x1, at(y0)), MUTED, 1.0, "");
    c.line((x0, at(y0)), (x0, at(y1)), BLUE, 1.0, "");
    c.line((x1, at(y0)), (x1, at(y1)), VERMILLION, 1.0, "");
    c.text(x0 - 4.0, at(y1) + 4.0, "end", 10.0, BLUE, "", &format!("{}", ch.l2_top));
    c.text(x0 - 4.0, at(y0), "end", 10.0, BLUE, "", "0");
    c.text(x1 + 4.0, at(y1) + 4.0, "start", 10.0, VERMILLION, "", "1");
    c.text(x1 + 4.0, at(y0), "start", 10.0, VERMILLION, "", &format!("{:.1}", ch.cos_bottom));
    c.raw(&format!(r#"<g transform="translate(0 {dy})">"#));
    c.path(&ch.l2_path, BLUE, 2.0);
    c.raw(&format!(r#"<path d="{}" fill="none" stroke="{VERMILLION}" stroke-width="2" stroke-dasharray="5 3"/>"#, ch.cosine_path));
    for p in &ch.points {
        c.text(p.x, f.height - 2.0, "middle", 10.0, MUTED, "", &p.layer.to_string());
        c.raw(&format!(r#"<circle cx="{:.1}" cy="{:.1}" r="3.5" fill="{BLUE}"/>"#, p.x, p.y_l2));
        c.rect(p.x - 3.0, p.y_cosine - 3.0, 6.0, 6.0, VERMILLION);
    }
    c.raw("</g>");
    let y = f.height + dy + 16.0;
    let h = c.paragraph(0.0, y, f.width, 11.0, &reading(drift));
    let caption = caption.with(format!("layers 1 to {last}"), "all heads (hidden states)");
    Some(c.finish(file_stem(&["drift", "all"]), &caption, f.width, y + h))
}

/// The sentence-order card: P(original order) for A then B and for B then A, as bars, and
/// which order the head prefers. `caption.sentence` names both sentences.
pub fn order(caption: &Caption, in_order: f32, swapped: f32) -> Figure {
    let (label_w, bar_w) = (150.0, 200.0);
    let width = label_w + bar_w + 60.0;
    let mut c = Canvas::new();
    for (i, (name, p)) in [("A then B (as written)", in_order), ("B then A (swapped)", swapped)].into_iter().enumerate() {
        let y = 8.0 + i as f32 * 26.0;
        c.text(0.0, y + 12.0, "start", 12.0, INK, "", name);
        c.rect(label_w, y + 3.0, bar_w, 10.0, TRACK);
        c.rect(label_w, y + 3.0, bar_w * p.clamp(0.0, 1.0), 10.0, BLUE);
        c.text(width, y + 12.0, "end", 12.0, INK, "", &format::percent(p));
    }
    let verdict = if in_order >= swapped {
        "The SOP head finds A then B the more natural order."
    } else {
        "The SOP head finds B then A the more natural order."
    };
    let h = 62.0 + c.paragraph(0.0, 66.0, width, 11.0, &format!("{verdict} Bars: P(original order) from the sentence-order head, per order."));
    c.finish(file_stem(&["order"]), &caption.with("sentence-order (SOP) head", "P(original order)"), width, h)
}

/// Each [MASK]'s top three as one line (`[MASK] 1 of 2: cat 40.0%, dog 20.0% · …`), for the
/// figures that show what a change did to the predictions.
pub fn predictions_line(masks: &[MaskPicks]) -> String {
    masks
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let top: Vec<String> = m.top_k.iter().take(3).map(|p| format!("{} {}", p.display.trim(), format::percent(p.prob))).collect();
            format!("{}: {}", mask_title(i, masks.len()), top.join(", "))
        })
        .collect::<Vec<_>>()
        .join(" · ")
}

/// Head-switch grid: cell size and gap, row-label column.
const SWITCH_CELL: f32 = 22.0;
const SWITCH_GAP: f32 = 3.0;
const SWITCH_LABEL_W: f32 = 48.0;
const SWITCH_ON: &str = TRACK;
const SWITCH_OFF: &str = VERMILLION;

/// The head-switch grid of a forward of `shape`: a row per layer (`3`, or `3.1` with inner
/// layers), a cell per head, the switched-off ones filled and crossed, then the list in the
/// CLI's `--ablate` syntax with any the forward could not honour and why.
pub fn switches(caption: &Caption, shape: Shape, list: &[HeadSwitch], predictions: &str) -> Option<Figure> {
    if shape.depth == 0 || shape.heads == 0 {
        return None;
    }
    let rows: Vec<(usize, usize)> = (1..=shape.depth).flat_map(|l| (0..shape.inner.max(1)).map(move |j| (l, j))).collect();
    let step = SWITCH_CELL + SWITCH_GAP;
    let (x0, y0) = (SWITCH_LABEL_W, 18.0);
    let grid_w = x0 + shape.heads as f32 * step;
    let width = grid_w.max(320.0);
    let mut c = Canvas::new();
    c.text(0.0, 12.0, "start", 11.0, MUTED, "", "layer \\ head");
    for h in 0..shape.heads {
        c.text(x0 + h as f32 * step + SWITCH_CELL / 2.0, 12.0, "middle", 11.0, MUTED, "", &h.to_string());
    }
    for (r, &(l, j)) in rows.iter().enumerate() {
        let y = y0 + r as f32 * step;
        let name = if shape.inner > 1 { format!("{l}.{j}") } else { l.to_string() };
        c.text(SWITCH_LABEL_W - 8.0, y + SWITCH_CELL * 0.7, "end", 11.0, INK, "", &name);
        for h in 0..shape.heads {
            let off = list.contains(&HeadSwitch { layer: l, inner: j, head: h });
            let x = x0 + h as f32 * step;
            c.rect(x, y, SWITCH_CELL, SWITCH_CELL, if off { SWITCH_OFF } else { SWITCH_ON });
            if off {
                c.line((x + 5.0, y + 5.0), (x + SWITCH_CELL - 5.0, y + SWITCH_CELL - 5.0), "#ffffff", 2.0, "");
                c.line((x + SWITCH_CELL - 5.0, y + 5.0), (x + 5.0, y + SWITCH_CELL - 5.0), "#ffffff", 2.0, "");
            }
        }
    }
    let mut y = y0 + rows.len() as f32 * step + 16.0;
    let listed = format_list(list).unwrap_or_else(|| "none".into());
    y += c.paragraph(0.0, y, width, 11.0, &format!("Switched off (--ablate): {listed}"));
    for s in list {
        if let Some(why) = inactive_reason(s, shape) {
            y += c.paragraph(0.0, y, width, 11.0, &format!("{s} not applied: {why}"));
        }
    }
    if !predictions.is_empty() {
        y += c.paragraph(0.0, y, width, 11.0, &format!("Predictions with these heads off: {predictions}"));
    }
    let n = list.iter().filter(|s| inactive_reason(s, shape).is_none()).count();
    let heads = format!("{n} of {} heads switched off", rows.len() * shape.heads);
    Some(c.finish(file_stem(&["switches", &format!("{n}off")]), &caption.with(format!("layers 1 to {}", shape.depth), heads), width, y))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::view_model::inside::lens::{LensPick, LensRow};

    fn caption() -> Caption {
        Caption { model: "tiny".into(), sentence: "the [MASK] sat.".into(), layer: String::new(), head: String::new() }
    }

    #[test]
    fn lens_has_a_row_per_layer_and_the_answers_curve() {
        let pick = |w: &str, p| LensPick { token: format!("▁{w}"), display: format!(" {w}"), id: 1, prob: p };
        let rows = (0..4)
            .map(|l| LensRow { layer: l, picks: vec![pick("cat", 0.1 * l as f32), pick("<dog>", 0.05)], answer_rank: 4 - l.min(3), answer_prob: 0.1 * l as f32 })
            .collect();
        let v = LensView { position: 2, answer: "cat".into(), rows };
        let f = lens(&caption(), &v).unwrap();
        assert_eq!(f.stem, "albert-lens-lens-all-mask2");
        assert!(f.svg.contains("· layers h0 to 3 · [MASK] at position 2 · answer “cat”</title>"));
        assert_eq!(f.svg.matches("<circle").count(), 4);
        assert!(f.svg.contains(">h0 · embeddings</text>"));
        assert!(f.svg.contains("&lt;dog&gt;"));
        assert!(f.svg.contains(&format!(">{}</text>", format::percent(0.3))));
        assert!(lens(&caption(), &LensView { position: 2, answer: String::new(), rows: vec![] }).is_none());
    }

    #[test]
    fn drift_has_both_curves_and_a_point_per_layer() {
        let d: Vec<Drift> = (1..=3).map(|l| Drift { layer: l, l2: 3.0 / l as f32, cosine: 0.5 + 0.1 * l as f32 }).collect();
        let f = drift(&caption(), &d).unwrap();
        assert_eq!(f.stem, "albert-lens-drift-all");
        assert!(f.svg.contains("· layers 1 to 3 · all heads (hidden states)</title>"));
        assert_eq!(f.svg.matches("<circle").count(), 3);
        assert_eq!(f.svg.matches("<path").count(), 2);
        let words = crate::view_model::export::svg::escape(&reading(&d));
        let shown: String = f.svg.split("<text").filter(|t| t.contains(r##"font-size="11" fill="#1f2328""##)).map(|t| t.split('>').nth(1).unwrap_or("").trim_end_matches("</text")).collect::<Vec<_>>().join(" ");
        assert_eq!(shown, words, "the whole reading, wrapped");
        assert!(drift(&caption(), &[]).is_none());
    }

    #[test]
    fn switches_cross_the_heads_that_are_off_and_say_which_are_not_applied() {
        let shape = Shape { depth: 3, inner: 2, heads: 4 };
        let list: Vec<HeadSwitch> = ["2.1:3", "1.0:0", "5.0:1"].iter().map(|s| s.parse().unwrap()).collect();
        let f = switches(&caption(), shape, &list, "[MASK] 1: cat 40.0%").unwrap();
        assert_eq!(f.stem, "albert-lens-switches-2off");
        assert!(f.svg.contains("· layers 1 to 3 · 2 of 24 heads switched off</title>"), "{}", f.svg);
        // Background, then one cell per head of every inner layer.
        assert_eq!(f.svg.matches("<rect").count(), 1 + 3 * 2 * 4);
        assert_eq!(f.svg.matches(&format!(r#"fill="{SWITCH_OFF}""#)).count(), 2, "only the applied switches are filled");
        assert_eq!(f.svg.matches("<line").count(), 2 * 2, "a cross per switched-off head");
        assert!(f.svg.contains(">2.1</text>") && f.svg.contains(">3.0</text>"), "rows labelled layer.inner");
        assert!(f.svg.contains("Switched off (--ablate): "));
        assert!(f.svg.contains("5.0:1 not applied: layer 5 is not run at depth 3"));
        assert!(f.svg.contains("Predictions with these heads off:") && f.svg.contains("40.0%"), "wrapped onto lines");
        assert!(switches(&caption(), Shape { depth: 0, inner: 1, heads: 4 }, &[], "").is_none());
    }

    #[test]
    fn predictions_line_names_each_mask_and_its_top_three() {
        let picks = |w: &[&str]| {
            let named: Vec<(String, f32)> = w.iter().enumerate().map(|(i, w)| (format!(" {w}"), 0.4 / (i + 1) as f32)).collect();
            crate::view_model::export::predictions::tests::mask(1, &named.iter().map(|(w, p)| (w.as_str(), *p)).collect::<Vec<_>>())
        };
        assert_eq!(predictions_line(&[picks(&["cat", "dog", "fox", "owl"])]), format!("{}: cat 40.0%, dog 20.0%, fox 13.3%", mask_title(0, 1)));
        let two = predictions_line(&[picks(&["a"]), picks(&["b", "c"])]);
        assert_eq!(two, format!("{}: a 40.0% · {}: b 40.0%, c 20.0%", mask_title(0, 2), mask_title(1, 2)));
    }

    #[test]
    fn order_has_both_bars_and_says_which_order_wins() {
        let f = order(&caption(), 0.8, 0.3);
        assert_eq!(f.stem, "albert-lens-order");
        assert!(f.svg.contains("· sentence-order (SOP) head · P(original order)</title>"));
        assert!(f.svg.contains(r#"width="160.00" height="10.00""#) && f.svg.contains(r#"width="60.00" height="10.00""#));
        assert!(f.svg.contains(">80.0%</text>") && f.svg.contains("A then B the more natural"));
        assert!(order(&caption(), 0.2, 0.9).svg.contains("B then A the more natural"));
    }
}
