//! Colour: the head palette (Okabe–Ito, then dash patterns) and the viridis scale of the
//! heatmaps, with the pixels a canvas gets.

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
