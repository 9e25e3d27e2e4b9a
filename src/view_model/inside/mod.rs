//! What the "Inside ALBERT" views compute, natively tested: head switches as the URL keeps them,
//! the logit lens's rows and chart, the drift chart (the paper's Figure 2) and its reading, the
//! neuron view's products, scores and softmax, and the sentence-order card's words. The numbers
//! themselves come from the engine (`albert::Inside`); these files only arrange them.

pub mod drift;
pub mod lens;
pub mod neuron;
pub mod order;
pub mod switches;

/// A polyline through `points` as an SVG path (`M x y L x y …`), empty for no points.
pub fn svg_path(points: &[(f32, f32)]) -> String {
    let mut out = String::new();
    for (i, (x, y)) in points.iter().enumerate() {
        out.push_str(if i == 0 { "M" } else { " L" });
        out.push_str(&format!("{x:.1} {y:.1}"));
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn path() {
        assert_eq!(super::svg_path(&[]), "");
        assert_eq!(super::svg_path(&[(1.0, 2.0), (3.25, 4.0)]), "M1.0 2.0 L3.2 4.0");
    }
}
