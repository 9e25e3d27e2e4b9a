//! The CPU–GPU cross-check behind the card's button: a CPU twin of the installed GPU model,
//! built from the files kept at load, runs the sentence in the box (with the page's depth and
//! switched-off heads) beside the GPU; the engine compares every layer. The twin is dropped as
//! soon as the check ends, so its memory is held only while the button's work runs.

use albert::crosscheck::CrossCheck;
use albert::FillMask;
use leptos::prelude::*;

use super::fill::fitted;
use crate::engine;
use crate::state::AppState;
use crate::view_model::params::query_pairs;
use crate::web;

/// A finished cross-check, for the card.
#[derive(Clone, Debug, PartialEq)]
pub struct CrossCheckView {
    pub check: CrossCheck,
    /// The sentence it ran on.
    pub text: String,
    /// Plain text to paste into a bug report (adapter, model, input, every number).
    pub report: String,
    pub ms: f64,
}

/// Why the cross-check cannot run for a model on the CPU backend.
pub const ON_CPU: &str = "The model runs on the CPU here: there is no GPU result to check.";

/// `?perturb_gpu=x`: the engine's test hook (`gpu::AlbertForMaskedLM::perturb`) adds `x` to
/// GPU outputs, as a broken kernel would, so a test can watch the cross-check fail.
pub fn test_perturbation() -> Option<f32> {
    query_pairs(&web::location_search()).into_iter().find(|(k, _)| k == "perturb_gpu").and_then(|(_, v)| v.trim().parse().ok())
}

pub async fn cross_check(state: AppState) -> Result<CrossCheckView, String> {
    let text = state.sentence.get_untracked();
    let (depth, switches) = (state.depth.get_untracked(), state.switches.get_untracked());
    let adapter = state.gpu.with_untracked(|g| g.as_ref().map(|g| format!("{} — {}", g.adapter, g.device)).unwrap_or_default());
    let model = state.model.with_untracked(|m| m.as_ref().map(|m| m.label.clone())).unwrap_or_default();
    let t = web::now_ms();
    let check = engine::with_model_files(async |gpu, files| {
        let files = files.ok_or_else(|| "this model's files were not kept in memory, so there is no CPU twin to compare with".to_string())?;
        let mut cpu = FillMask::new(&files, None).await.map_err(|e| format!("the CPU twin did not load: {e}"))?;
        let inside = fitted(&gpu.config, depth, &switches);
        albert::crosscheck::cross_check(gpu, &mut cpu, &text, &inside).await.map_err(|e| e.to_string())
    })
    .await
    .ok_or_else(|| "no model is loaded".to_string())??;
    let report = check.report(&adapter, &model, &text);
    Ok(CrossCheckView { check, text, report, ms: web::now_ms() - t })
}
