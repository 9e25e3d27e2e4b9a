//! The neuron view (bertviz's third view): for one layer, head and query token, the query
//! vector and every key vector element by element, their element-wise products, the scores
//! q·k/√d and the softmax over keys — the attention weights, rebuilt from their parts so a
//! reader can see which dimensions make a key win.

use albert::HeadSwitch;

/// The engine's q and k of one head (`albert::Neuron`), with the tokens they belong to.
#[derive(Clone, Debug, PartialEq)]
pub struct NeuronData {
    pub head: HeadSwitch,
    pub tokens: Vec<String>,
    pub head_dim: usize,
    /// `[T, head_dim]`, after the bias, before the 1/√d scaling.
    pub q: Vec<f32>,
    pub k: Vec<f32>,
}

/// One key token's row.
#[derive(Clone, Debug, PartialEq)]
pub struct KeyRow {
    pub index: usize,
    pub k: Vec<f32>,
    /// q ∘ k.
    pub product: Vec<f32>,
    /// q·k/√d.
    pub score: f32,
    /// softmax over the keys of `score`: the head's attention weight.
    pub weight: f32,
}

/// What the view draws for one query token.
#[derive(Clone, Debug, PartialEq)]
pub struct NeuronRows {
    pub query: usize,
    pub q: Vec<f32>,
    pub keys: Vec<KeyRow>,
    /// Largest |value| among q, k (one colour scale for both) and among the products.
    pub vector_scale: f32,
    pub product_scale: f32,
}

impl NeuronData {
    pub fn seq_len(&self) -> usize {
        self.q.len().checked_div(self.head_dim).unwrap_or(0)
    }

    /// `None` when the data is inconsistent or `query` is out of range.
    pub fn rows(&self, query: usize) -> Option<NeuronRows> {
        let d = self.head_dim;
        let t = self.seq_len();
        if d == 0 || self.q.len() != t * d || self.k.len() != t * d || query >= t {
            return None;
        }
        let q = self.q[query * d..(query + 1) * d].to_vec();
        let scale = 1.0 / (d as f32).sqrt();
        let mut keys: Vec<KeyRow> = (0..t)
            .map(|j| {
                let k = self.k[j * d..(j + 1) * d].to_vec();
                let product: Vec<f32> = q.iter().zip(&k).map(|(a, b)| a * b).collect();
                let score = product.iter().sum::<f32>() * scale;
                KeyRow { index: j, k, product, score, weight: 0.0 }
            })
            .collect();
        let max = keys.iter().map(|r| r.score).fold(f32::NEG_INFINITY, f32::max);
        let sum: f32 = keys.iter().map(|r| (r.score - max).exp()).sum();
        for r in &mut keys {
            r.weight = (r.score - max).exp() / sum;
        }
        let abs_max = |it: &mut dyn Iterator<Item = f32>| it.map(f32::abs).filter(|v| v.is_finite()).fold(0.0f32, f32::max);
        let vector_scale = abs_max(&mut q.iter().copied().chain(self.k.iter().copied()));
        let product_scale = abs_max(&mut keys.iter().flat_map(|r| r.product.iter().copied()));
        Some(NeuronRows { query, q, keys, vector_scale, product_scale })
    }
}

/// A diverging colour for `v` in `[-scale, scale]`: blue for negative, orange for positive,
/// transparent at zero (bertviz's convention), as CSS.
pub fn diverging(v: f32, scale: f32) -> String {
    let ([r, g, b], a) = diverging_parts(v, scale);
    format!("rgba({r},{g},{b},{a:.3})")
}

/// The colour and opacity (0..1) of `v` on the diverging scale: the one place of both.
fn diverging_parts(v: f32, scale: f32) -> ([u8; 3], f32) {
    let a = if scale > 0.0 && v.is_finite() { (v.abs() / scale).clamp(0.0, 1.0) } else { 0.0 };
    (if v < 0.0 { [33, 102, 172] } else { [214, 96, 39] }, a)
}

/// [`diverging`] as RGBA bytes, one pixel a dimension: the neuron view paints each vector into
/// a canvas (a DOM cell per dimension was 16,000 elements at 128 tokens, a 300 ms task).
pub fn vector_rgba(v: &[f32], scale: f32) -> Vec<u8> {
    v.iter()
        .flat_map(|&x| {
            let ([r, g, b], a) = diverging_parts(x, scale);
            [r, g, b, (a * 255.0).round() as u8]
        })
        .collect()
}

/// Canvas pixels a key's row takes in a [`block_rgba`] image: a clear pixel, four of colour, a
/// clear pixel (the page scales each to a third of its 18 px row).
pub const BLOCK_ROW_PX: usize = 6;

/// The vectors of several keys as one `dims × (rows · BLOCK_ROW_PX)` RGBA image: the neuron view
/// draws the keys in view in one canvas a column, not two canvases a key.
pub fn block_rgba(rows: &[&[f32]], dims: usize, scale: f32) -> Vec<u8> {
    let mut px = vec![0u8; dims * 4 * BLOCK_ROW_PX * rows.len()];
    for (r, v) in rows.iter().enumerate() {
        let mut line = vector_rgba(v, scale);
        line.resize(dims * 4, 0);
        for y in 1..BLOCK_ROW_PX - 1 {
            let at = (r * BLOCK_ROW_PX + y) * dims * 4;
            px[at..at + dims * 4].copy_from_slice(&line);
        }
    }
    px
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_block_is_each_vector_four_times_between_clear_lines() {
        let (a, b) = ([1.0f32, -1.0], [0.0f32, 0.5]);
        let px = block_rgba(&[&a, &b], 2, 1.0);
        let line = |r: usize, y: usize| &px[(r * BLOCK_ROW_PX + y) * 8..(r * BLOCK_ROW_PX + y + 1) * 8];
        assert_eq!(px.len(), 2 * 4 * BLOCK_ROW_PX * 2);
        for (r, v) in [(0, &a[..]), (1, &b[..])] {
            assert!(line(r, 0).iter().chain(line(r, BLOCK_ROW_PX - 1)).all(|&x| x == 0), "row {r}: clear above and below");
            for y in 1..BLOCK_ROW_PX - 1 {
                assert_eq!(line(r, y), &vector_rgba(v, 1.0)[..], "row {r}, line {y}");
            }
        }
        // A short vector (bad data) leaves the rest of its line clear rather than shifting the next.
        assert_eq!(block_rgba(&[&[1.0]], 2, 1.0)[4..8], [0, 0, 0, 0]);
    }

    #[test]
    fn vector_pixels_are_the_diverging_colours() {
        let v = [-2.0, -0.5, 0.0, 1.0, 4.0, f32::NAN];
        let px = vector_rgba(&v, 2.0);
        assert_eq!(px.len(), 4 * v.len());
        for (x, p) in v.iter().zip(px.chunks(4)) {
            let css = diverging(*x, 2.0);
            let (rgb, a) = css.trim_start_matches("rgba(").trim_end_matches(')').rsplit_once(',').unwrap();
            assert_eq!(rgb, format!("{},{},{}", p[0], p[1], p[2]), "{x}");
            assert!((a.parse::<f32>().unwrap() * 255.0 - p[3] as f32).abs() <= 0.5 + 0.255, "{x}: {css} vs {p:?}");
        }
        assert_eq!(px[3], 255);
        assert_eq!(px[11], 0, "zero is transparent");
        assert_eq!(px[23], 0, "NaN is transparent");
    }

    fn data() -> NeuronData {
        // 3 tokens, head_dim 2.
        NeuronData {
            head: "1.0:0".parse().unwrap(),
            tokens: vec!["[CLS]".into(), "a".into(), "[SEP]".into()],
            head_dim: 2,
            q: vec![1.0, 0.0, 0.0, 2.0, 1.0, 1.0],
            k: vec![1.0, 1.0, -1.0, 0.0, 0.0, 3.0],
        }
    }

    #[test]
    fn scores_and_softmax() {
        let r = data().rows(1).unwrap();
        assert_eq!(r.q, vec![0.0, 2.0]);
        assert_eq!(r.keys[0].product, vec![0.0, 2.0]);
        let s: Vec<f32> = r.keys.iter().map(|k| k.score).collect();
        let inv = 1.0 / 2f32.sqrt();
        assert_eq!(s, vec![2.0 * inv, 0.0, 6.0 * inv]);
        let total: f32 = r.keys.iter().map(|k| k.weight).sum();
        assert!((total - 1.0).abs() < 1e-6);
        let e: Vec<f32> = s.iter().map(|x| x.exp()).collect();
        assert!((r.keys[2].weight - e[2] / e.iter().sum::<f32>()).abs() < 1e-6);
        assert_eq!((r.vector_scale, r.product_scale), (3.0, 6.0));
    }

    #[test]
    fn refuses_bad_shapes() {
        assert!(data().rows(3).is_none());
        let mut d = data();
        d.k.pop();
        assert!(d.rows(0).is_none());
        assert!(NeuronData { head_dim: 0, ..data() }.rows(0).is_none());
    }

    #[test]
    fn colours() {
        assert_eq!(diverging(-2.0, 4.0), "rgba(33,102,172,0.500)");
        assert_eq!(diverging(9.0, 4.0), "rgba(214,96,39,1.000)");
        assert_eq!(diverging(1.0, 0.0), "rgba(214,96,39,0.000)");
    }
}
