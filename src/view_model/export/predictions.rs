//! The fill-mask card's predictions as a standalone SVG figure: for each [MASK], its top-k as
//! ranked bars with percentages, as the page draws them, so a figure of "what the model
//! guessed" reads without the page.

use super::svg::{fit, Canvas, BLUE, INK, MUTED, TRACK};
use super::tables::MaskPicks;
use super::{file_stem, Caption, Figure};
use crate::view_model::format;
use crate::view_model::text::mask_title;

/// Row layout: rank, word, bar, percentage; row and heading heights.
const RANK_W: f32 = 24.0;
const WORD_W: f32 = 120.0;
const BAR_W: f32 = 180.0;
const PCT_W: f32 = 56.0;
const ROW: f32 = 20.0;
const HEAD: f32 = 24.0;

/// Every [MASK]'s top-k, one block each. `None` when there is nothing to draw.
pub fn predictions(caption: &Caption, masks: &[MaskPicks]) -> Option<Figure> {
    if masks.is_empty() || masks.iter().all(|m| m.top_k.is_empty()) {
        return None;
    }
    let width = RANK_W + WORD_W + BAR_W + PCT_W;
    let mut c = Canvas::new();
    let mut y = 0.0;
    for (i, m) in masks.iter().enumerate() {
        y += HEAD;
        c.text(0.0, y - 8.0, "start", 12.0, INK, r#" font-weight="600""#, &format!("{} (position {})", mask_title(i, masks.len()), m.position));
        for (rank, pick) in m.top_k.iter().enumerate() {
            let (word, p) = (&pick.display, &pick.prob);
            let base = y + rank as f32 * ROW;
            let shown = if word.trim().is_empty() { "␣".to_string() } else { word.trim().to_string() };
            c.text(0.0, base + 14.0, "start", 11.0, MUTED, "", &(rank + 1).to_string());
            c.text(RANK_W, base + 14.0, "start", 12.0, INK, "", &fit(&shown, 16));
            let x = RANK_W + WORD_W;
            c.rect(x, base + 6.0, BAR_W - 8.0, 8.0, TRACK);
            c.rect(x, base + 6.0, (BAR_W - 8.0) * p.clamp(0.0, 1.0), 8.0, BLUE);
            c.text(width, base + 14.0, "end", 11.0, INK, "", &format::percent(*p));
        }
        y += m.top_k.len() as f32 * ROW + 8.0;
    }
    let k = masks.iter().map(|m| m.top_k.len()).max().unwrap_or(0);
    let n = masks.len();
    let which = if n == 1 { "1 [MASK]".to_string() } else { format!("{n} [MASK]s") };
    Some(c.finish(file_stem(&["predictions", &format!("top{k}")]), &caption.with("after all layers", format!("top {k} for {which}")), width, y))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::view_model::export::tables::Pick;

    /// A [MASK] at `position` with these (word as shown, probability) picks.
    pub fn mask(position: usize, picks: &[(&str, f32)]) -> MaskPicks {
        let top_k = picks.iter().map(|&(w, prob)| Pick { token: w.trim().into(), display: w.into(), id: 0, prob }).collect();
        MaskPicks { position, top_k }
    }

    fn caption() -> Caption {
        Caption { model: "tiny".into(), sentence: "the [MASK] sat on the [MASK].".into(), layer: String::new(), head: String::new() }
    }

    #[test]
    fn a_bar_per_pick_under_a_heading_per_mask() {
        let masks = vec![mask(2, &[(" cat", 0.5), (" <dog>", 0.25), (" ", 0.0)]), mask(6, &[(" mat", 1.2)])];
        let f = predictions(&caption(), &masks).unwrap();
        assert_eq!(f.stem, "albert-lens-predictions-top3");
        assert!(f.svg.contains("· after all layers · top 3 for 2 [MASK]s</title>"));
        assert!(f.svg.contains(&format!(">{} (position 2)</text>", mask_title(0, 2))));
        // Background, then a track and a bar per pick.
        assert_eq!(f.svg.matches("<rect").count(), 1 + 2 * 4);
        assert!(f.svg.contains(r#"width="86.00" height="8.00""#), "half of the 172 px track for 50 %");
        assert_eq!(f.svg.matches(r##"width="172.00" height="8.00" fill="#0072B2""##).count(), 1, "a probability past 1 is drawn full, not past the track");
        assert!(f.svg.contains(">&lt;dog&gt;</text>") && f.svg.contains(">␣</text>"));
        assert!(f.svg.contains(">50.0%</text>"));
        assert!(predictions(&caption(), &[]).is_none());
    }
}
