//! The drift chart (ALBERT paper, Figure 2): per layer l = 1..K, the mean over tokens of
//! ‖h_l − h_{l−1}‖₂ and cos(h_l, h_{l−1}), both curves in one SVG with their own axes, and a
//! plain reading of what the loaded model shows next to what the paper found.

use albert::Drift;

use super::svg_path;

/// What the paper found, in one sentence (Lan et al., 2020, §4.3 and Figure 2).
pub const PAPER: &str = "ALBERT's paper (Figure 2) measured this for BERT-large and ALBERT-large: with one block \
shared by all layers, the transitions from layer to layer are much smoother than BERT's, and they oscillate \
rather than converge to zero — sharing stabilises the parameters without making later layers idle.";

/// The chart's box and margins, in SVG units.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Frame {
    pub width: f32,
    pub height: f32,
    /// Left and right margins hold the two axes' labels.
    pub margin_x: f32,
    pub margin_y: f32,
}

impl Frame {
    pub const DEFAULT: Frame = Frame { width: 420.0, height: 180.0, margin_x: 44.0, margin_y: 18.0 };
}

/// One layer's point on both curves.
#[derive(Clone, Debug, PartialEq)]
pub struct DriftPoint {
    pub layer: usize,
    pub l2: f32,
    pub cosine: f32,
    pub x: f32,
    pub y_l2: f32,
    pub y_cosine: f32,
}

/// Everything the SVG draws.
#[derive(Clone, Debug, PartialEq)]
pub struct DriftChart {
    pub points: Vec<DriftPoint>,
    pub l2_path: String,
    pub cosine_path: String,
    /// The L2 axis runs 0..l2_top (left); the cosine axis cos_bottom..1 (right).
    pub l2_top: f32,
    pub cos_bottom: f32,
}

/// A round number at or above `x` (1, 2, 2.5, 5 × 10ⁿ), so axis labels read well.
pub fn nice_ceiling(x: f32) -> f32 {
    if !(x.is_finite() && x > 0.0) {
        return 1.0;
    }
    let p = 10f32.powf(x.log10().floor());
    for m in [1.0, 2.0, 2.5, 5.0, 10.0] {
        if m * p >= x * (1.0 - 1e-6) {
            return m * p;
        }
    }
    10.0 * p
}

/// Lays out the curves in `f`. Non-finite values (a broken checkpoint) sit on the axis.
pub fn chart(drift: &[Drift], f: Frame) -> DriftChart {
    let l2_max = drift.iter().map(|d| d.l2).filter(|v| v.is_finite()).fold(0.0f32, f32::max);
    let l2_top = nice_ceiling(l2_max);
    let cos_min = drift.iter().map(|d| d.cosine).filter(|v| v.is_finite()).fold(1.0f32, f32::min);
    // The cosine axis starts at a tenth below the lowest value (never above 0.9), so the curve
    // uses the height without exaggerating tiny changes.
    let cos_bottom = ((cos_min * 10.0).floor() / 10.0).clamp(-1.0, 0.9);
    let (x0, x1) = (f.margin_x, f.width - f.margin_x);
    let (y0, y1) = (f.height - f.margin_y, f.margin_y);
    let span = (drift.len().max(2) - 1) as f32;
    let fin = |v: f32, lo: f32| if v.is_finite() { v } else { lo };
    let points: Vec<DriftPoint> = drift
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let x = if drift.len() == 1 { (x0 + x1) / 2.0 } else { x0 + (x1 - x0) * i as f32 / span };
            let y_l2 = y0 + (y1 - y0) * (fin(d.l2, 0.0) / l2_top).clamp(0.0, 1.0);
            let y_cosine = y0 + (y1 - y0) * ((fin(d.cosine, cos_bottom) - cos_bottom) / (1.0 - cos_bottom)).clamp(0.0, 1.0);
            DriftPoint { layer: d.layer, l2: d.l2, cosine: d.cosine, x, y_l2, y_cosine }
        })
        .collect();
    let l2_path = svg_path(&points.iter().map(|p| (p.x, p.y_l2)).collect::<Vec<_>>());
    let cosine_path = svg_path(&points.iter().map(|p| (p.x, p.y_cosine)).collect::<Vec<_>>());
    DriftChart { points, l2_path, cosine_path, l2_top, cos_bottom }
}

/// What the loaded model shows, in plain words, from its numbers.
pub fn reading(drift: &[Drift]) -> String {
    if drift.iter().any(|d| !(d.l2.is_finite() && d.cosine.is_finite())) {
        return "This model's hidden states are not finite numbers (NaN or infinity) at some layer: the checkpoint is broken.".into();
    }
    match drift {
        [] => String::new(),
        [d] => format!(
            "This model ran one layer: it moved the hidden states by {:.2} (mean L2) with cosine {:.3}. Run more layers to see a curve.",
            d.l2, d.cosine
        ),
        [first, rest @ ..] => {
            let (lo, hi) = rest.iter().fold((f32::MAX, f32::MIN), |(lo, hi), d| (lo.min(d.l2), hi.max(d.l2)));
            let (clo, chi) = rest.iter().fold((f32::MAX, f32::MIN), |(lo, hi), d| (lo.min(d.cosine), hi.max(d.cosine)));
            // The largest jump in L2 between neighbouring layers, relative to the mean L2 after layer 1.
            let mean = rest.iter().map(|d| d.l2).sum::<f32>() / rest.len() as f32;
            let jump = drift.windows(2).skip(1).map(|w| (w[1].l2 - w[0].l2).abs()).fold(0.0f32, f32::max);
            let last = drift[drift.len() - 1].l2;
            let shape = if mean > 0.0 && last < 0.1 * first.l2.max(hi) {
                "the steps shrink towards zero: the block has nearly stopped changing the states"
            } else if mean > 0.0 && jump <= 0.25 * mean {
                "the steps stay level and do not shrink to zero, the smooth, non-vanishing pattern the paper reports for ALBERT"
            } else {
                "the steps vary from layer to layer"
            };
            let later = if rest.len() == 1 {
                format!("layer 2 by {lo:.2}, with cosine {clo:.3}")
            } else {
                format!("layers 2–{} by {lo:.2} to {hi:.2}, with cosine {clo:.3} to {chi:.3}", drift.len())
            };
            format!("This model: layer 1 moves the states by {:.2} (mean L2); {later} — {shape}.", first.l2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(layer: usize, l2: f32, cosine: f32) -> Drift {
        Drift { layer, l2, cosine }
    }

    #[test]
    fn axes_and_points() {
        assert_eq!(nice_ceiling(7.3), 10.0);
        assert_eq!(nice_ceiling(2.2), 2.5);
        assert_eq!(nice_ceiling(0.3), 0.5);
        assert_eq!(nice_ceiling(0.0), 1.0);
        assert_eq!(nice_ceiling(f32::NAN), 1.0);
        let f = Frame { width: 100.0, height: 60.0, margin_x: 10.0, margin_y: 10.0 };
        let c = chart(&[d(1, 5.0, 0.5), d(2, 2.5, 0.75), d(3, 0.0, 1.0)], f);
        assert_eq!((c.l2_top, c.cos_bottom), (5.0, 0.5));
        let xy: Vec<(f32, f32, f32)> = c.points.iter().map(|p| (p.x, p.y_l2, p.y_cosine)).collect();
        assert_eq!(xy, vec![(10.0, 10.0, 50.0), (50.0, 30.0, 30.0), (90.0, 50.0, 10.0)]);
        assert!(c.l2_path.starts_with("M10.0 10.0 L50.0 30.0"));
        let one = chart(&[d(1, f32::NAN, 0.9)], f);
        assert_eq!((one.points[0].x, one.points[0].y_l2), (50.0, 50.0), "alone in the middle; NaN on the axis");
    }

    #[test]
    fn readings() {
        let level = [d(1, 9.0, 0.4), d(2, 3.0, 0.9), d(3, 3.2, 0.91), d(4, 3.1, 0.9)];
        let r = reading(&level);
        assert!(r.contains("layer 1 moves the states by 9.00"), "{r}");
        assert!(r.contains("layers 2–4 by 3.00 to 3.20"), "{r}");
        assert!(r.contains("do not shrink to zero"), "{r}");
        let vanishing = [d(1, 9.0, 0.4), d(2, 3.0, 0.9), d(3, 1.0, 0.99), d(4, 0.2, 0.999)];
        assert!(reading(&vanishing).contains("shrink towards zero"));
        let jumpy = [d(1, 9.0, 0.4), d(2, 1.0, 0.9), d(3, 6.0, 0.5), d(4, 1.0, 0.9)];
        assert!(reading(&jumpy).contains("vary from layer to layer"));
        assert!(reading(&[d(1, 2.0, 0.5)]).contains("one layer"));
        let two = reading(&[d(1, 9.0, 0.4), d(2, 3.0, 0.9)]);
        assert!(two.contains("layer 2 by 3.00, with cosine 0.900"), "{two}");
        assert!(reading(&[d(1, f32::NAN, 0.5), d(2, 1.0, 0.5)]).contains("not finite"));
        assert_eq!(reading(&[]), "");
    }
}
