//! Where things go in the attention views: the head view's rows and lines, the heatmap's cells,
//! scrolling a box to reveal an item, and what the arrow keys do.

use super::layer::LayerAttention;

/// Geometry of the head view: two columns of `tokens` rows with lines between them.
/// Rows are a fixed height, so 100 tokens scroll instead of shrinking.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HeadViewLayout {
    pub tokens: usize,
    /// Row height in px.
    pub row: f32,
    /// Width of the line area between the two token columns, in px.
    pub width: f32,
}

impl HeadViewLayout {
    pub const ROW_PX: f32 = 20.0;
    pub const WIDTH_PX: f32 = 240.0;

    pub fn new(tokens: usize) -> Self {
        HeadViewLayout { tokens, row: Self::ROW_PX, width: Self::WIDTH_PX }
    }

    /// Centre of token `i`'s row.
    pub fn y(&self, i: usize) -> f32 {
        (i as f32 + 0.5) * self.row
    }

    pub fn height(&self) -> f32 {
        self.tokens as f32 * self.row
    }

    /// Where lines start (query side) and end (key side).
    pub fn x_left(&self) -> f32 {
        4.0
    }

    pub fn x_right(&self) -> f32 {
        self.width - 4.0
    }
}

/// A token the reader points at: its lines alone are drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Focus {
    /// A token in the left column: where it attends (its row).
    Query(usize),
    /// A token in the right column: who attends to it (its column).
    Key(usize),
}

/// One line of the head view: attention of `head` from `query` to `key`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HeadLine {
    pub head: usize,
    pub query: usize,
    pub key: usize,
    pub weight: f32,
}

/// Hide lines below this weight by default: nothing under 10 tokens, then twice the
/// uniform weight (capped at 0.1), so 100 tokens show structure rather than a grey mass.
pub fn default_threshold(t: usize) -> f32 {
    if t <= 10 {
        0.0
    } else {
        (2.0 / t as f32).min(0.1)
    }
}

/// Most lines the head view draws at once (the strongest win).
pub const MAX_LINES: usize = 3000;

/// The lines to draw for the enabled heads: every weight ≥ `threshold` (with a focus, only
/// that token's lines, and no threshold), at most `max_lines`, strongest kept. Ordered
/// weakest first so strong lines are painted on top.
pub fn head_view_lines(
    layer: &LayerAttention,
    enabled: &[bool],
    focus: Option<Focus>,
    threshold: f32,
    max_lines: usize,
) -> Vec<HeadLine> {
    let t = layer.seq_len();
    let mut lines = Vec::new();
    let threshold = if focus.is_some() { 0.0 } else { threshold };
    for h in 0..layer.heads {
        if !enabled.get(h).copied().unwrap_or(false) {
            continue;
        }
        let m = layer.head(h);
        let mut push = |q: usize, k: usize| {
            let w = m[q * t + k];
            if w > 0.0 && w >= threshold {
                lines.push(HeadLine { head: h, query: q, key: k, weight: w });
            }
        };
        match focus {
            Some(Focus::Query(q)) if q < t => (0..t).for_each(|k| push(q, k)),
            Some(Focus::Key(k)) if k < t => (0..t).for_each(|q| push(q, k)),
            Some(_) => {}
            None => {
                for q in 0..t {
                    for k in 0..t {
                        push(q, k);
                    }
                }
            }
        }
    }
    lines.sort_by(|a, b| b.weight.total_cmp(&a.weight));
    lines.truncate(max_lines);
    lines.reverse();
    lines
}

/// For shading the other column: the strongest weight over the enabled heads between the
/// focused token and each token (0 for a focus outside the layer).
pub fn focus_shade(layer: &LayerAttention, enabled: &[bool], focus: Focus) -> Vec<f32> {
    let n = layer.seq_len();
    let heads: Vec<usize> = (0..layer.heads).filter(|&h| enabled.get(h).copied().unwrap_or(false)).collect();
    (0..n)
        .map(|i| {
            let (q, k) = match focus {
                Focus::Query(q) => (q, i),
                Focus::Key(k) => (i, k),
            };
            if q >= n || k >= n {
                return 0.0;
            }
            heads.iter().map(|&h| layer.weight(h, q, k)).fold(0.0f32, f32::max)
        })
        .collect()
}

/// Line opacity: the attention weight itself (clamped to [0, 1]).
pub fn line_opacity(w: f32) -> f32 {
    if w.is_nan() {
        0.0
    } else {
        w.clamp(0.0, 1.0)
    }
}

/// Pixel size of one heatmap cell: the whole map fits in 352 px while cells can stay 12 px or
/// more (up to 29 tokens), capped at 32 px; longer inputs keep 12 px cells, readable at 100
/// tokens, and the grid scrolls.
pub fn heat_cell_px(t: usize) -> u32 {
    if t == 0 {
        return 32;
    }
    (352 / t as u32).clamp(12, 32)
}

/// Which cell `(query, key)` the point `(x, y)` falls in, for an element of size
/// `width × height` showing `t × t` cells.
pub fn cell_at(x: f64, y: f64, width: f64, height: f64, t: usize) -> Option<(usize, usize)> {
    if t == 0 || width <= 0.0 || height <= 0.0 || x < 0.0 || y < 0.0 || x >= width || y >= height {
        return None;
    }
    let q = ((y / height) * t as f64).floor() as usize;
    let k = ((x / width) * t as f64).floor() as usize;
    Some((q.min(t - 1), k.min(t - 1)))
}

/// The scroll offset that brings the span `[a, b)` (content coordinates) into a viewport of
/// `view` px scrolled to `scroll`, whose first `sticky` px are hidden under sticky labels:
/// the least movement, and none when the span is already visible (so keyboard navigation
/// never jumps).
pub fn reveal_scroll(scroll: f64, view: f64, sticky: f64, a: f64, b: f64) -> f64 {
    let target = if a < scroll + sticky {
        a - sticky
    } else if b > scroll + view {
        b - view
    } else {
        scroll
    };
    target.max(0.0)
}

/// What a key does to a keyboard cursor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Nav<P> {
    /// Move the cursor here.
    To(P),
    /// Escape: drop the cursor.
    Clear,
}

/// A vertical list of `n` items (the head view's token columns): ↑/↓ step (starting at the
/// first item when there is no cursor), Home/End jump to the ends, Escape clears. `None` for
/// any other key or an empty list: the key is not ours.
pub fn list_nav(key: &str, cur: Option<usize>, n: usize) -> Option<Nav<usize>> {
    if n == 0 {
        return None;
    }
    Some(match key {
        "ArrowDown" => Nav::To(cur.map_or(0, |i| (i + 1).min(n - 1))),
        "ArrowUp" => Nav::To(cur.map_or(0, |i| i.saturating_sub(1))),
        "Home" => Nav::To(0),
        "End" => Nav::To(n - 1),
        "Escape" => Nav::Clear,
        _ => return None,
    })
}

/// A grid of `rows × cols` (the model view's thumbnails, the heatmap's cells) with the cursor
/// at `(row, col)`: arrows step, Home/End jump to the ends of the row, Escape clears. `None`
/// for any other key or an empty grid.
pub fn grid_nav(key: &str, (r, c): (usize, usize), (rows, cols): (usize, usize)) -> Option<Nav<(usize, usize)>> {
    if rows == 0 || cols == 0 {
        return None;
    }
    Some(Nav::To(match key {
        "ArrowDown" => ((r + 1).min(rows - 1), c),
        "ArrowUp" => (r.saturating_sub(1), c),
        "ArrowRight" => (r, (c + 1).min(cols - 1)),
        "ArrowLeft" => (r, c.saturating_sub(1)),
        "Home" => (r, 0),
        "End" => (r, cols - 1),
        "Escape" => return Some(Nav::Clear),
        _ => return None,
    }))
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::random_layer;
    use super::*;

    #[test]
    fn head_view_layout_places_rows_at_fixed_pitch() {
        let g = HeadViewLayout::new(100);
        assert_eq!(g.y(0), 10.0);
        assert_eq!(g.y(99), 1990.0);
        assert_eq!(g.height(), 2000.0);
        assert!(g.x_left() < g.x_right());
    }

    #[test]
    fn head_view_lines_respect_heads_threshold_focus_and_budget() {
        let l = random_layer(0, 3, 6, 11);
        let all = head_view_lines(&l, &[true; 3], None, 0.0, usize::MAX);
        assert_eq!(all.len(), 3 * 36);
        // Weakest first, strongest last.
        assert!(all.windows(2).all(|w| w[0].weight <= w[1].weight));
        let h1 = head_view_lines(&l, &[false, true, false], None, 0.0, usize::MAX);
        assert!(h1.len() == 36 && h1.iter().all(|x| x.head == 1));
        let strong = head_view_lines(&l, &[true; 3], None, 0.2, usize::MAX);
        assert!(strong.iter().all(|x| x.weight >= 0.2));
        assert_eq!(strong.len(), all.iter().filter(|x| x.weight >= 0.2).count());
        let q = head_view_lines(&l, &[true; 3], Some(Focus::Query(2)), 0.9, usize::MAX);
        assert!(q.len() == 18 && q.iter().all(|x| x.query == 2), "focus ignores the threshold");
        let k = head_view_lines(&l, &[true, true, false], Some(Focus::Key(4)), 0.0, usize::MAX);
        assert!(k.len() == 12 && k.iter().all(|x| x.key == 4 && x.head < 2));
        let top = head_view_lines(&l, &[true; 3], None, 0.0, 5);
        assert_eq!(top.len(), 5);
        let fifth = all[all.len() - 5].weight;
        assert!(top.iter().all(|x| x.weight >= fifth));
        assert_eq!(line_opacity(0.3), 0.3);
        assert_eq!(line_opacity(1.7), 1.0);
    }

    #[test]
    fn focus_shade_is_the_strongest_enabled_head() {
        let l = random_layer(0, 3, 6, 11);
        let rows = focus_shade(&l, &[true, false, true], Focus::Query(2));
        assert_eq!(rows.len(), 6);
        for (k, w) in rows.iter().enumerate() {
            assert_eq!(*w, l.weight(0, 2, k).max(l.weight(2, 2, k)));
        }
        let cols = focus_shade(&l, &[false, true, false], Focus::Key(4));
        assert!(cols.iter().enumerate().all(|(q, &w)| w == l.weight(1, q, 4)));
        assert!(focus_shade(&l, &[true; 3], Focus::Key(9)).iter().all(|&w| w == 0.0));
    }

    #[test]
    fn thresholds_hide_near_uniform_lines_at_100_tokens() {
        assert_eq!(default_threshold(8), 0.0);
        assert!((default_threshold(100) - 0.02).abs() < 1e-6);
        assert_eq!(default_threshold(15), 0.1);
        let l = random_layer(0, 12, 100, 5);
        let lines = head_view_lines(&l, &[true; 12], None, default_threshold(100), MAX_LINES);
        assert!(lines.len() <= MAX_LINES);
    }

    #[test]
    fn reveal_scroll_moves_least() {
        // Visible already: no movement.
        assert_eq!(reveal_scroll(100.0, 300.0, 0.0, 150.0, 170.0), 100.0);
        // Below the viewport: align its bottom.
        assert_eq!(reveal_scroll(0.0, 300.0, 0.0, 400.0, 420.0), 120.0);
        // Above: align its top, below the sticky band.
        assert_eq!(reveal_scroll(500.0, 300.0, 88.0, 520.0, 540.0), 432.0);
        assert_eq!(reveal_scroll(50.0, 300.0, 88.0, 60.0, 80.0), 0.0);
    }

    #[test]
    fn heatmap_cells() {
        assert_eq!(heat_cell_px(5), 32);
        assert_eq!(heat_cell_px(14), 25);
        assert_eq!(heat_cell_px(29), 12);
        assert_eq!(heat_cell_px(30), 12);
        assert_eq!(heat_cell_px(100), 12);
        assert_eq!(cell_at(0.0, 0.0, 100.0, 100.0, 10), Some((0, 0)));
        assert_eq!(cell_at(95.0, 12.0, 100.0, 100.0, 10), Some((1, 9)));
        assert_eq!(cell_at(100.0, 12.0, 100.0, 100.0, 10), None);
        assert_eq!(cell_at(-1.0, 12.0, 100.0, 100.0, 10), None);
    }

    #[test]
    fn list_keys_step_jump_and_clear() {
        assert_eq!(list_nav("ArrowDown", None, 5), Some(Nav::To(0)));
        assert_eq!(list_nav("ArrowUp", None, 5), Some(Nav::To(0)));
        assert_eq!(list_nav("ArrowDown", Some(4), 5), Some(Nav::To(4)));
        assert_eq!(list_nav("ArrowUp", Some(3), 5), Some(Nav::To(2)));
        assert_eq!(list_nav("End", Some(1), 5), Some(Nav::To(4)));
        assert_eq!(list_nav("Home", Some(3), 5), Some(Nav::To(0)));
        assert_eq!(list_nav("Escape", Some(3), 5), Some(Nav::Clear));
        assert_eq!(list_nav("ArrowLeft", Some(3), 5), None);
        assert_eq!(list_nav("ArrowDown", None, 0), None);
    }

    #[test]
    fn grid_keys_step_within_bounds() {
        let dims = (4, 3);
        assert_eq!(grid_nav("ArrowRight", (1, 2), dims), Some(Nav::To((1, 2))));
        assert_eq!(grid_nav("ArrowRight", (1, 0), dims), Some(Nav::To((1, 1))));
        assert_eq!(grid_nav("ArrowLeft", (1, 0), dims), Some(Nav::To((1, 0))));
        assert_eq!(grid_nav("ArrowDown", (3, 1), dims), Some(Nav::To((3, 1))));
        assert_eq!(grid_nav("ArrowUp", (3, 1), dims), Some(Nav::To((2, 1))));
        assert_eq!(grid_nav("Home", (2, 2), dims), Some(Nav::To((2, 0))));
        assert_eq!(grid_nav("End", (2, 0), dims), Some(Nav::To((2, 2))));
        assert_eq!(grid_nav("Escape", (2, 0), dims), Some(Nav::Clear));
        assert_eq!(grid_nav("Enter", (2, 0), dims), None);
        assert_eq!(grid_nav("ArrowUp", (0, 0), (0, 3)), None);
    }
}
