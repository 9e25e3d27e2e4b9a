//! CPU–GPU cross-check: one input through both paths of the same checkpoint, and per layer the
//! largest |Δ| of the hidden states and the attention probabilities, and of the `[MASK]` logits,
//! judged with `tolerance::CROSS`. The test suite checks the kernels on lavapipe and SwiftShader;
//! on a visitor's own GPU this is the only check they get, so it must be cheap (two forwards)
//! and easy to report (`CrossCheck::report`).

use crate::error::{Error, Result};
use crate::output::{Output, Request};
use crate::pipeline::{FillMask, Inside};
use crate::tolerance::{Tol, CROSS};

/// One layer's largest differences. Layer 0 is the embeddings' output `h_0` (no attention);
/// layer l = 1..K the output of application l and, over its inner layers, its attention maps.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LayerCheck {
    pub layer: usize,
    pub hidden: f32,
    pub attention: Option<f32>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct CrossCheck {
    pub tokens: usize,
    pub layers: Vec<LayerCheck>,
    /// Over every `[MASK]` row of the logits.
    pub logits: f32,
    pub tol: Tol,
}

/// Within `limit`; NaN (a kernel that produced one) is not.
fn within(d: f32, limit: f32) -> bool {
    d <= limit
}

/// The largest value, NaN when any is NaN (so a non-finite output fails instead of hiding:
/// `f32::max` would skip it).
fn nan_max(values: impl IntoIterator<Item = f32>) -> f32 {
    values.into_iter().fold(0.0, |m, d| if d.is_nan() || m.is_nan() { f32::NAN } else { m.max(d) })
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    nan_max(a.iter().zip(b).map(|(x, y)| (x - y).abs()))
}

impl LayerCheck {
    pub fn hidden_pass(&self, tol: &Tol) -> bool {
        within(self.hidden, tol.values)
    }

    pub fn attention_pass(&self, tol: &Tol) -> bool {
        self.attention.is_none_or(|a| within(a, tol.probs))
    }
}

impl CrossCheck {
    /// Compares the two outputs of one request (`hidden_states` and `attentions` asked for).
    pub fn compare(cpu: &Output, gpu: &Output) -> Result<CrossCheck> {
        let shapes_differ = cpu.hidden_states.len() != gpu.hidden_states.len()
            || cpu.attentions.len() != gpu.attentions.len()
            || cpu.logits.as_ref().map(Vec::len) != gpu.logits.as_ref().map(Vec::len);
        if shapes_differ || cpu.hidden_states.is_empty() {
            return Err(Error::Input(format!(
                "the two paths returned different outputs (CPU: {} hidden states, {} attention maps; GPU: {}, {}): \
                 the cross-check needs the same request on the same checkpoint",
                cpu.hidden_states.len(),
                cpu.attentions.len(),
                gpu.hidden_states.len(),
                gpu.attentions.len()
            )));
        }
        let layers = (0..cpu.hidden_states.len())
            .map(|layer| {
                let hidden = max_abs_diff(&cpu.hidden_states[layer], &gpu.hidden_states[layer]);
                // Maps are numbered by 0-based application: layer l's are those of application l − 1.
                let maps: Vec<f32> = cpu
                    .attentions
                    .iter()
                    .zip(&gpu.attentions)
                    .filter(|(c, _)| layer > 0 && c.layer + 1 == layer)
                    .map(|(c, g)| max_abs_diff(&c.data, &g.data))
                    .collect();
                let attention = (!maps.is_empty()).then(|| nan_max(maps));
                LayerCheck { layer, hidden, attention }
            })
            .collect();
        let logits = max_abs_diff(cpu.logits.as_deref().unwrap_or_default(), gpu.logits.as_deref().unwrap_or_default());
        let tokens = cpu.attentions.first().map_or(0, |m| (m.data.len() as f64).sqrt() as usize);
        Ok(CrossCheck { tokens, layers, logits, tol: CROSS })
    }

    pub fn logits_pass(&self) -> bool {
        within(self.logits, self.tol.values)
    }

    /// Every number within the tolerance.
    pub fn pass(&self) -> bool {
        self.logits_pass() && self.layers.iter().all(|l| l.hidden_pass(&self.tol) && l.attention_pass(&self.tol))
    }

    /// Plain text to paste into an issue: what ran where, the verdict and every number.
    pub fn report(&self, adapter: &str, model: &str, text: &str) -> String {
        let mark = |ok: bool| if ok { "ok" } else { "FAIL" };
        let mut s = format!(
            "albert-lens CPU–GPU cross-check: {}\nadapter: {adapter}\nmodel: {model}\ninput: {text}\n\
             tolerance {}: values {:e}, attention probabilities {:e} (max |CPU − GPU|)\n\
             layer  hidden        attention\n",
            if self.pass() { "PASS" } else { "FAIL" },
            self.tol.name,
            self.tol.values,
            self.tol.probs
        );
        for l in &self.layers {
            let att = l.attention.map_or_else(|| "—".to_string(), |a| format!("{a:.3e} {}", mark(l.attention_pass(&self.tol))));
            s += &format!("{:<6} {:.3e} {:<4} {att}\n", l.layer, l.hidden, mark(l.hidden_pass(&self.tol)));
        }
        s += &format!("[MASK] logits {:.3e} {}\n", self.logits, mark(self.logits_pass()));
        s
    }
}

/// Runs `text` (with what `inside` asks: depth, switched-off heads) on `gpu` and on `cpu`, two
/// models of the same checkpoint, and compares every hidden state, attention map and `[MASK]`
/// logit.
pub async fn cross_check(gpu: &mut FillMask, cpu: &mut FillMask, text: &str, inside: &Inside) -> Result<CrossCheck> {
    if gpu.config != cpu.config {
        return Err(Error::Input("the cross-check's two models have different configs: load the same checkpoint on both paths".into()));
    }
    let (enc, positions) = gpu.encode_masked(text)?;
    let batch = crate::output::Batch::single(enc.ids, enc.type_ids);
    let req = Request {
        logits: crate::output::LogitsRequest::Rows(positions),
        attentions: true,
        hidden_states: true,
        depth: inside.depth,
        switches: inside.switches.clone(),
        ..Default::default()
    };
    let on_gpu = gpu.backend.forward(&batch, &req).await?;
    let on_cpu = cpu.backend.forward(&batch, &req).await?;
    CrossCheck::compare(&on_cpu, &on_gpu)
}
