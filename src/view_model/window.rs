//! Which rows of a long list a fixed-height scroller shows. A view draws only those, plus a
//! margin, between two spacers that keep the scroll height: a 128- or 512-token input then puts
//! a screenful of rows on the page, not one per token (issue 13 item 2: building and laying out
//! every row took most of a result's long tasks).

use std::ops::Range;

/// Rows drawn beyond each edge of the viewport, so a scroll shows drawn rows before the next
/// window is built.
pub const MARGIN: usize = 8;

/// The rows of `rows` (each `row_px` high, the first at `offset_px` in the scroller's content)
/// that a viewport `viewport_px` high scrolled to `scroll_px` shows, widened by [`MARGIN`].
/// Odd inputs (negative, NaN, a zero row height) give the rows from the top.
pub fn visible(scroll_px: f64, viewport_px: f64, offset_px: f64, row_px: f64, rows: usize) -> Range<usize> {
    let row_px = if row_px.is_finite() && row_px > 0.0 { row_px } else { return 0..rows.min(MARGIN) };
    let clean = |x: f64| if x.is_finite() { x.max(0.0) } else { 0.0 };
    let first = (clean(scroll_px - offset_px) / row_px).floor() as usize;
    let shown = (clean(viewport_px) / row_px).ceil() as usize + 1;
    let start = first.saturating_sub(MARGIN).min(rows);
    let end = first.saturating_add(shown).saturating_add(MARGIN).min(rows);
    start..end
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_top_shows_a_screenful_and_the_margin() {
        // 288 px of 18 px rows: 16 rows, one more partly, and the margin below.
        assert_eq!(visible(0.0, 288.0, 36.0, 18.0, 128), 0..(17 + MARGIN));
    }

    #[test]
    fn scrolled_down_it_keeps_the_margin_above_and_ends_with_the_list() {
        let r = visible(36.0 + 50.0 * 18.0, 288.0, 36.0, 18.0, 128);
        assert_eq!(r, (50 - MARGIN)..(50 + 17 + MARGIN));
        assert_eq!(visible(1e9, 288.0, 36.0, 18.0, 128), 128..128);
        assert_eq!(visible(36.0 + 120.0 * 18.0, 288.0, 36.0, 18.0, 128), (120 - MARGIN)..128);
    }

    #[test]
    fn short_lists_are_drawn_whole() {
        assert_eq!(visible(0.0, 288.0, 36.0, 18.0, 9), 0..9);
        assert_eq!(visible(0.0, 288.0, 36.0, 18.0, 0), 0..0);
    }

    #[test]
    fn odd_numbers_give_the_top() {
        assert_eq!(visible(f64::NAN, f64::INFINITY, 0.0, 18.0, 128), 0..(1 + MARGIN));
        assert_eq!(visible(-500.0, 288.0, 0.0, 18.0, 128), 0..(17 + MARGIN));
        assert_eq!(visible(100.0, 288.0, 0.0, 0.0, 128), 0..MARGIN);
        assert_eq!(visible(100.0, 288.0, 0.0, f64::NAN, 3), 0..3);
    }
}
