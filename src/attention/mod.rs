//! Attention data for the views: the probabilities of one forward pass, labelled with the
//! shared block (group) each layer application ran. Pure and natively tested; the Leptos
//! components live in `views` (browser only).
//!
//! Everything the four views compute lives here, free of browser types:
//! head/layer accessors and the mean of heads, attention rollout (Abnar & Zuidema, 2020),
//! the head palette (Okabe–Ito, then dash patterns), the viridis scale for heatmaps,
//! the head view's geometry and line selection, and the layer labels that show the sharing.

#[cfg(target_arch = "wasm32")]
pub mod views;

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

    /// `"layer 3 · block 0"`, or `"layer 3.1 · group 1"` when groups hold several inner layers.
    pub fn layer_label(&self, i: usize) -> String {
        let l = &self.layers[i];
        layer_label(l.layer, l.inner, l.group, self.inner_group_num())
    }

    /// Compact row label for grids: `"L3 · b0"` / `"L3.1 · g1"`.
    pub fn layer_short_label(&self, i: usize) -> String {
        let l = &self.layers[i];
        if self.inner_group_num() > 1 {
            format!("L{}.{} · g{}", l.layer, l.inner, l.group)
        } else {
            format!("L{} · b{}", l.layer, l.group)
        }
    }

    /// The rolled-out attention `T × T` over every layer application in execution order.
    pub fn rollout(&self) -> Vec<f32> {
        let means: Vec<Vec<f32>> = self.layers.iter().map(LayerAttention::mean_heads).collect();
        rollout(&means, self.seq_len())
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

/// Label of one layer application; see [`AttentionData::layer_label`].
pub fn layer_label(layer: usize, inner: usize, group: usize, inner_group_num: usize) -> String {
    if inner_group_num > 1 {
        format!("layer {layer}.{inner} · group {group}")
    } else {
        format!("layer {layer} · block {group}")
    }
}

/// Attribution of the input tokens for one [MASK] position.
#[derive(Clone, Debug, PartialEq)]
pub struct MaskAttribution {
    pub position: usize,
    /// One weight per token; sums to 1.
    pub weights: Vec<f32>,
}

/// Attention rollout (Abnar & Zuidema, 2020). `layers` are the head-averaged `T × T`
/// attentions in execution order; each becomes `A' = 0.5·A + 0.5·I` with rows
/// renormalised, and the result is `A'_L · … · A'_1`. Row `q` of the result is how much
/// query `q`'s final representation draws on each input token. No layers: the identity.
pub fn rollout(layers: &[Vec<f32>], t: usize) -> Vec<f32> {
    let mut rolled = identity(t);
    for a in layers {
        assert_eq!(a.len(), t * t, "rollout: a layer is not {t} × {t}");
        let mut ar = vec![0.0f32; t * t];
        for q in 0..t {
            let row = &mut ar[q * t..(q + 1) * t];
            for (k, v) in row.iter_mut().enumerate() {
                *v = 0.5 * a[q * t + k] + if q == k { 0.5 } else { 0.0 };
            }
            let sum: f32 = row.iter().sum();
            if sum > 0.0 {
                row.iter_mut().for_each(|v| *v /= sum);
            }
        }
        rolled = matmul(&ar, &rolled, t);
    }
    rolled
}

fn identity(t: usize) -> Vec<f32> {
    let mut m = vec![0.0f32; t * t];
    for i in 0..t {
        m[i * t + i] = 1.0;
    }
    m
}

/// `a · b` for square `t × t` row-major matrices (f64 accumulation).
fn matmul(a: &[f32], b: &[f32], t: usize) -> Vec<f32> {
    let mut out = vec![0.0f32; t * t];
    let mut acc = vec![0.0f64; t];
    for i in 0..t {
        acc.iter_mut().for_each(|v| *v = 0.0);
        for k in 0..t {
            let aik = a[i * t + k] as f64;
            if aik == 0.0 {
                continue;
            }
            for (j, v) in acc.iter_mut().enumerate() {
                *v += aik * b[k * t + j] as f64;
            }
        }
        for j in 0..t {
            out[i * t + j] = acc[j] as f32;
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// Colour

/// Okabe–Ito, ordered for lines on light and dark backgrounds (black swapped for grey so
/// the eighth head stays visible in dark mode).
pub const OKABE_ITO: [&str; 8] = [
    "#0072B2", // blue
    "#E69F00", // orange
    "#009E73", // bluish green
    "#CC79A7", // reddish purple
    "#56B4E9", // sky blue
    "#D55E00", // vermillion
    "#F0E442", // yellow
    "#999999", // grey
];

/// SVG `stroke-dasharray` per cycle of eight heads: the first eight are solid, the next
/// eight dashed, and so on, so 64 heads (xxlarge) stay distinguishable without relying on
/// hue alone.
pub const HEAD_DASHES: [&str; 8] = ["", "6 3", "2 3", "8 3 2 3", "1 2", "10 4", "4 2 1 2", "12 3 3 3"];

/// How one head is drawn.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct HeadStyle {
    pub color: &'static str,
    /// `stroke-dasharray`; empty for solid.
    pub dash: &'static str,
}

pub fn head_style(h: usize) -> HeadStyle {
    HeadStyle { color: OKABE_ITO[h % 8], dash: HEAD_DASHES[(h / 8) % HEAD_DASHES.len()] }
}

/// Viridis at eleven stops (0, 0.1, …, 1): perceptually uniform and colour-blind safe.
pub const VIRIDIS: [[u8; 3]; 11] = [
    [0x44, 0x01, 0x54],
    [0x48, 0x24, 0x75],
    [0x41, 0x44, 0x87],
    [0x35, 0x5f, 0x8d],
    [0x2a, 0x78, 0x8e],
    [0x21, 0x91, 0x8c],
    [0x22, 0xa8, 0x84],
    [0x44, 0xbf, 0x70],
    [0x7a, 0xd1, 0x51],
    [0xbd, 0xdf, 0x26],
    [0xfd, 0xe7, 0x25],
];

/// Viridis colour of `v` in [0, 1] (clamped; NaN reads as 0).
pub fn viridis(v: f32) -> [u8; 3] {
    let v = if v.is_nan() { 0.0 } else { v.clamp(0.0, 1.0) };
    let x = v * (VIRIDIS.len() - 1) as f32;
    let i = (x.floor() as usize).min(VIRIDIS.len() - 2);
    let f = x - i as f32;
    let (a, b) = (VIRIDIS[i], VIRIDIS[i + 1]);
    std::array::from_fn(|c| (a[c] as f32 + (b[c] as f32 - a[c] as f32) * f).round() as u8)
}

pub fn rgb_hex([r, g, b]: [u8; 3]) -> String {
    format!("#{r:02x}{g:02x}{b:02x}")
}

/// CSS gradient of the scale, left (0) to right (1), for legends.
pub fn viridis_css_gradient() -> String {
    let stops: Vec<String> = VIRIDIS
        .iter()
        .enumerate()
        .map(|(i, &c)| format!("{} {}%", rgb_hex(c), i * 10))
        .collect();
    format!("linear-gradient(to right, {})", stops.join(", "))
}

/// Largest value (at least a tiny positive number, so scales never divide by zero).
pub fn max_value(m: &[f32]) -> f32 {
    m.iter().copied().filter(|v| v.is_finite()).fold(1e-9f32, f32::max)
}

/// RGBA pixels (`ImageData` layout) of a `T × T` matrix, scaled `0 → vmax`.
pub fn heat_rgba(m: &[f32], vmax: f32) -> Vec<u8> {
    let mut out = Vec::with_capacity(m.len() * 4);
    for &v in m {
        let [r, g, b] = viridis(v / vmax);
        out.extend_from_slice(&[r, g, b, 255]);
    }
    out
}

// ---------------------------------------------------------------------------------------
// Head view geometry

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

/// Line opacity: the attention weight itself (clamped to [0, 1]).
pub fn line_opacity(w: f32) -> f32 {
    if w.is_nan() {
        0.0
    } else {
        w.clamp(0.0, 1.0)
    }
}

// ---------------------------------------------------------------------------------------
// Heatmap geometry and text

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

#[cfg(test)]
mod tests {
    use super::*;

    const EPS: f32 = 1e-5;

    fn close(a: &[f32], b: &[f32]) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < EPS)
    }

    /// A row-stochastic pseudo-random `heads × t × t` tensor.
    fn random_layer(index: usize, heads: usize, t: usize, seed: u64) -> LayerAttention {
        let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let mut next = || {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((s >> 33) as f32 / (1u64 << 31) as f32).powi(3) + 1e-4
        };
        let mut data = vec![0.0f32; heads * t * t];
        for row in data.chunks_mut(t) {
            row.iter_mut().for_each(|v| *v = next());
            let sum: f32 = row.iter().sum();
            row.iter_mut().for_each(|v| *v /= sum);
        }
        LayerAttention { index, layer: index / 2, group: index / 4, inner: index % 2, heads, data }
    }

    fn data(tokens: usize, heads: usize, layers: usize) -> AttentionData {
        AttentionData {
            tokens: (0..tokens).map(|i| format!("t{i}")).collect(),
            mask_positions: vec![1, tokens - 2],
            layers: (0..layers).map(|i| random_layer(i, heads, tokens, i as u64 + 7)).collect(),
        }
    }

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
        assert_eq!(d.validate(), Ok(()));
        let mut bad = d.clone();
        bad.layers[3].data.pop();
        assert!(bad.validate().unwrap_err().contains("attention map 3"));
        let mut bad = d.clone();
        bad.mask_positions.push(7);
        assert!(bad.validate().is_err());
    }

    #[test]
    fn labels_show_the_shared_block() {
        assert_eq!(layer_label(3, 0, 0, 1), "layer 3 · block 0");
        assert_eq!(layer_label(3, 1, 1, 2), "layer 3.1 · group 1");
        let d = data(5, 3, 8);
        assert_eq!(d.layer_label(0), "layer 0.0 · group 0");
        assert_eq!(d.layer_label(5), "layer 2.1 · group 1");
        assert_eq!(d.layer_short_label(5), "L2.1 · g1");
        let mut single = data(5, 3, 4);
        for (i, l) in single.layers.iter_mut().enumerate() {
            (l.layer, l.inner, l.group) = (i, 0, 0);
        }
        assert_eq!(single.layer_label(2), "layer 2 · block 0");
        assert_eq!(single.layer_short_label(2), "L2 · b0");
    }

    #[test]
    fn rollout_rows_sum_to_one() {
        let d = data(11, 4, 8);
        let r = d.rollout();
        for q in 0..11 {
            let sum: f32 = r[q * 11..(q + 1) * 11].iter().sum();
            assert!((sum - 1.0).abs() < 1e-4, "row {q} sums to {sum}");
            assert!(r[q * 11..(q + 1) * 11].iter().all(|&v| v >= 0.0));
        }
    }

    #[test]
    fn rollout_of_identity_attention_is_identity() {
        let t = 5;
        let layers = vec![identity(t); 6];
        assert!(close(&rollout(&layers, t), &identity(t)));
        assert!(close(&rollout(&[], t), &identity(t)));
    }

    #[test]
    fn rollout_matches_a_hand_computed_example() {
        // A1 = [[1,0],[.5,.5]] → A1' = [[1,0],[.25,.75]]
        // A2 = [[0,1],[1,0]]   → A2' = [[.5,.5],[.5,.5]]
        // A2'·A1' = [[.625,.375],[.625,.375]]
        let a1 = vec![1.0, 0.0, 0.5, 0.5];
        let a2 = vec![0.0, 1.0, 1.0, 0.0];
        assert!(close(&rollout(std::slice::from_ref(&a1), 2), &[1.0, 0.0, 0.25, 0.75]));
        assert!(close(&rollout(&[a1.clone(), a2.clone()], 2), &[0.625, 0.375, 0.625, 0.375]));
        // Order matters: A1'·A2' = [[.5,.5],[.5,.5]].
        assert!(close(&rollout(&[a2, a1], 2), &[0.5, 0.5, 0.5, 0.5]));
    }

    #[test]
    fn rollout_renormalises_rows_that_do_not_sum_to_one() {
        // Row 0 sums to 2: 0.5·[2,0] + 0.5·[1,0] = [1.5, 0] → [1, 0].
        let r = rollout(&[vec![2.0, 0.0, 0.0, 1.0]], 2);
        assert!(close(&r, &[1.0, 0.0, 0.0, 1.0]));
    }

    #[test]
    fn rollout_averages_heads_first() {
        // Head 0 = identity, head 1 = swap: mean = all 0.5, A' = [[.75,.25],[.25,.75]].
        let l = LayerAttention { index: 0, layer: 0, group: 0, inner: 0, heads: 2, data: vec![1.0, 0.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0] };
        let d = AttentionData { tokens: vec!["a".into(), "b".into()], mask_positions: vec![1], layers: vec![l] };
        assert!(close(&d.rollout(), &[0.75, 0.25, 0.25, 0.75]));
        let attr = d.attributions_from(&d.rollout());
        assert_eq!(attr.len(), 1);
        assert_eq!(attr[0].position, 1);
        assert!(close(&attr[0].weights, &[0.25, 0.75]));
    }

    #[test]
    fn every_mask_gets_its_row_of_the_rollout() {
        let d = data(9, 3, 8);
        let r = d.rollout();
        let attr = d.attributions_from(&d.rollout());
        assert_eq!(attr.iter().map(|a| a.position).collect::<Vec<_>>(), vec![1, 7]);
        for a in &attr {
            assert!(close(&a.weights, &r[a.position * 9..(a.position + 1) * 9]));
            assert!((a.weights.iter().sum::<f32>() - 1.0).abs() < 1e-4);
        }
    }

    fn hex_rgb(s: &str) -> [f32; 3] {
        let v = u32::from_str_radix(&s[1..], 16).unwrap();
        [(v >> 16) as f32, ((v >> 8) & 255) as f32, (v & 255) as f32]
    }

    #[test]
    fn okabe_ito_heads_are_distinct() {
        for (i, a) in OKABE_ITO.iter().enumerate() {
            for b in &OKABE_ITO[i + 1..] {
                let (a3, b3) = (hex_rgb(a), hex_rgb(b));
                let d = a3.iter().zip(b3).map(|(x, y)| (x - y).powi(2)).sum::<f32>().sqrt();
                assert!(d > 60.0, "{a} and {b} are too close ({d})");
            }
        }
        let first8: Vec<HeadStyle> = (0..8).map(head_style).collect();
        assert!(first8.iter().all(|s| s.dash.is_empty()), "the first eight heads are solid");
    }

    #[test]
    fn head_styles_stay_unique_up_to_64_heads() {
        let styles: Vec<HeadStyle> = (0..64).map(head_style).collect();
        let unique: std::collections::HashSet<_> = styles.iter().cloned().collect();
        assert_eq!(unique.len(), 64);
        // Heads 8 apart share a colour but never a dash pattern.
        assert_eq!(head_style(3).color, head_style(11).color);
        assert_ne!(head_style(3).dash, head_style(11).dash);
    }

    #[test]
    fn viridis_endpoints_and_monotone_lightness() {
        assert_eq!(viridis(0.0), [0x44, 0x01, 0x54]);
        assert_eq!(viridis(1.0), [0xfd, 0xe7, 0x25]);
        assert_eq!(viridis(-3.0), viridis(0.0));
        assert_eq!(viridis(f32::NAN), viridis(0.0));
        assert_eq!(viridis(7.0), viridis(1.0));
        assert_eq!(viridis(0.5), [0x21, 0x91, 0x8c]);
        // Luma rises monotonically, so the scale reads in greyscale too.
        let luma = |[r, g, b]: [u8; 3]| 0.299 * r as f32 + 0.587 * g as f32 + 0.114 * b as f32;
        let l: Vec<f32> = (0..=100).map(|i| luma(viridis(i as f32 / 100.0))).collect();
        assert!(l.windows(2).all(|w| w[1] >= w[0] - 0.5), "{l:?}");
        assert_eq!(rgb_hex([0x44, 0x01, 0x54]), "#440154");
        assert!(viridis_css_gradient().starts_with("linear-gradient(to right, #440154 0%"));
        assert!(viridis_css_gradient().ends_with("#fde725 100%)"));
    }

    #[test]
    fn heat_pixels_are_rgba_scaled_to_max() {
        let px = heat_rgba(&[0.0, 0.5, 0.25, 0.1], 0.5);
        assert_eq!(px.len(), 16);
        assert_eq!(&px[0..4], &[0x44, 0x01, 0x54, 255]);
        assert_eq!(&px[4..8], &[0xfd, 0xe7, 0x25, 255]);
        assert_eq!(max_value(&[0.1, 0.7, f32::NAN]), 0.7);
        assert!(max_value(&[0.0]) > 0.0);
    }

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
    fn heatmap_geometry_and_text() {
        assert_eq!(heat_cell_px(5), 32);
        assert_eq!(heat_cell_px(14), 25);
        assert_eq!(heat_cell_px(29), 12);
        assert_eq!(heat_cell_px(30), 12);
        assert_eq!(heat_cell_px(100), 12);
        assert_eq!(cell_at(0.0, 0.0, 100.0, 100.0, 10), Some((0, 0)));
        assert_eq!(cell_at(95.0, 12.0, 100.0, 100.0, 10), Some((1, 9)));
        assert_eq!(cell_at(100.0, 12.0, 100.0, 100.0, 10), None);
        assert_eq!(cell_at(-1.0, 12.0, 100.0, 100.0, 10), None);
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
        assert_eq!(HeadSel::parse("mean"), Some(HeadSel::Mean));
        assert_eq!(HeadSel::parse("2"), Some(HeadSel::Head(2)));
        assert_eq!(HeadSel::parse(&HeadSel::Head(4).value()), Some(HeadSel::Head(4)));
        assert_eq!(HeadSel::Mean.label(), "mean of heads");
    }
}
