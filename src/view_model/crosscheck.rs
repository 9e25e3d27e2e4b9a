//! The cross-check card's table: one row per layer (h_0, then each application) with its
//! largest |CPU − GPU| of hidden states and attention, and a last row for the [MASK] logits,
//! each marked pass or fail against the engine's tolerance. Pure, so it is tested natively.

use albert::crosscheck::CrossCheck;

/// One number of the table: shown in scientific notation, with its verdict.
#[derive(Clone, Debug, PartialEq)]
pub struct Cell {
    pub text: String,
    pub pass: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// `"embeddings (h0)"`, `"layer 3"`, `"[MASK] logits"`.
    pub label: String,
    /// 0..=K for layers (`data-layer`), `None` for the logits row.
    pub layer: Option<usize>,
    pub values: Cell,
    pub attention: Option<Cell>,
}

/// `3.1e-6`, `0`, `NaN`: three significant digits, enough to compare with a tolerance.
pub fn sci(x: f32) -> String {
    if x == 0.0 {
        "0".into()
    } else if x.is_nan() {
        "NaN".into()
    } else {
        format!("{x:.2e}")
    }
}

pub fn rows(c: &CrossCheck) -> Vec<Row> {
    let mut rows: Vec<Row> = c
        .layers
        .iter()
        .map(|l| Row {
            label: if l.layer == 0 { "embeddings (h0)".into() } else { format!("layer {}", l.layer) },
            layer: Some(l.layer),
            values: Cell { text: sci(l.hidden), pass: l.hidden_pass(&c.tol) },
            attention: l.attention.map(|a| Cell { text: sci(a), pass: l.attention_pass(&c.tol) }),
        })
        .collect();
    rows.push(Row { label: "[MASK] logits".into(), layer: None, values: Cell { text: sci(c.logits), pass: c.logits_pass() }, attention: None });
    rows
}

/// The one-line verdict above the table.
pub fn summary(c: &CrossCheck, ms: f64) -> String {
    let cells: Vec<bool> = rows(c).iter().flat_map(|r| std::iter::once(r.values.pass).chain(r.attention.as_ref().map(|a| a.pass))).collect();
    let failed = cells.iter().filter(|&&pass| !pass).count();
    let worst_layer = c.layers.iter().map(|l| l.hidden).fold(0f32, |m, d| if d.is_nan() || m.is_nan() { f32::NAN } else { m.max(d) });
    if failed == 0 {
        format!(
            "Pass: CPU and GPU agree within the {} tolerance at the embeddings and all {} layers ({} tokens; largest hidden-state |Δ| {}, logits {}; {:.0} ms).",
            c.tol.name,
            c.layers.len().saturating_sub(1),
            c.tokens,
            sci(worst_layer),
            sci(c.logits),
            ms
        )
    } else {
        format!("Fail: {failed} of {} numbers are outside the {} tolerance. Copy the report and file it: this GPU computes ALBERT differently.", cells.len(), c.tol.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use albert::crosscheck::LayerCheck;
    use albert::tolerance::CROSS;

    fn check(hidden: [f32; 3], logits: f32) -> CrossCheck {
        let layers = hidden.iter().enumerate().map(|(layer, &h)| LayerCheck { layer, hidden: h, attention: (layer > 0).then_some(h / 10.0) }).collect();
        CrossCheck { tokens: 9, layers, logits, tol: CROSS }
    }

    #[test]
    fn rows_mark_each_number() {
        let c = check([1e-6, 2e-4, 5e-3], 3e-4);
        let r = rows(&c);
        assert_eq!(r.len(), 4);
        assert_eq!((r[0].label.as_str(), r[0].attention.is_none()), ("embeddings (h0)", true));
        assert_eq!(r[1].values, Cell { text: "2.00e-4".into(), pass: true });
        assert_eq!(r[2].label, "layer 2");
        assert!(!r[2].values.pass && !r[2].attention.as_ref().unwrap().pass, "5e-3 > 1.1e-3 and 5e-4 > 1.1e-4");
        assert_eq!((r[3].label.as_str(), r[3].layer, r[3].values.pass), ("[MASK] logits", None, true));
        assert!(summary(&c, 12.0).starts_with("Fail: 2 of 6"), "{}", summary(&c, 12.0));
    }

    #[test]
    fn nan_fails_and_shows() {
        let c = check([0.0, 0.0, 0.0], f32::NAN);
        let r = rows(&c);
        assert_eq!(r[3].values, Cell { text: "NaN".into(), pass: false });
        assert!(!c.pass());
        let ok = check([0.0, 1e-5, 1e-4], 1e-4);
        assert!(ok.pass() && summary(&ok, 40.0).starts_with("Pass: CPU and GPU agree within the GPU+STRICT tolerance at the embeddings and all 2 layers (9 tokens"), "{}", summary(&ok, 40.0));
    }
}
