//! The CPU–GPU cross-check card: one button runs the sentence in the box on both paths and
//! shows, per layer, the largest |Δ| of hidden states and attention and of the [MASK] logits,
//! green within the engine's tolerance and red outside it, with a report to copy (adapter
//! included) for a bug report. Models on the CPU, or too large to hold twice, get a note.

use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen_futures::JsFuture;

use super::Card;
use crate::session::{self, CrossCheckView};
use crate::state::use_app;
use crate::view_model::crosscheck::{rows, sci, summary, Cell};
use crate::web;

#[component]
pub fn CrossCheckCard() -> impl IntoView {
    let state = use_app();
    let result = RwSignal::new(None::<Result<CrossCheckView, String>>);
    let running = RwSignal::new(false);
    let copied = RwSignal::new(None::<bool>);
    let off = move || state.model.with(|m| match m {
        None => Some("Load a model first.".to_string()),
        Some(m) => m.crosscheck_off.clone(),
    });
    // A new model makes an old verdict meaningless.
    Effect::new(move |_| {
        state.model.track();
        result.set(None);
    });
    let run = move |_| {
        running.set(true);
        copied.set(None);
        spawn_local(async move {
            let r = session::cross_check(state).await;
            result.set(Some(r));
            running.set(false);
        });
    };
    let copy = move |_| {
        let Some(Ok(v)) = result.get_untracked() else { return };
        let clip = web::window().navigator().clipboard();
        spawn_local(async move { copied.set(Some(JsFuture::from(clip.write_text(&v.report)).await.is_ok())) });
    };
    view! {
        <Card class="crosscheck-card" title_id="crosscheck-title" title="CPU–GPU cross-check" testid="crosscheck-card">
            <p class="help">
                "Runs the sentence on the GPU and on the CPU (the reference path) and compares every layer. "
                "The test suite holds the GPU kernels to this tolerance on emulated GPUs; this button holds your GPU to it."
            </p>
            <button type="button" class="primary" data-testid="crosscheck" on:click=run
                disabled=move || running.get() || off().is_some()>
                {move || if running.get() { "Checking…" } else { "Cross-check CPU vs GPU" }}
            </button>
            {move || off().map(|why| view! { <p class="muted" data-testid="crosscheck-off">{why}</p> })}
            {session::test_perturbation().map(|d| view! {
                <p class="error" data-testid="crosscheck-perturbed">
                    {format!("Test hook on (?perturb_gpu={d} in the address): GPU outputs are deliberately off by {d}, so this check should fail. Remove it from the address for real results.")}
                </p>
            })}
            <div aria-live="polite">
                {move || result.get().map(|r| match r {
                    Err(e) => view! {
                        <p class="error" data-testid="crosscheck-result" data-state="error">{format!("The cross-check could not run: {e}")}</p>
                    }.into_any(),
                    Ok(v) => view! { <Verdict v=v copy=copy copied=copied /> }.into_any(),
                })}
            </div>
        </Card>
    }
}

/// A finished check: the verdict line, the per-layer table and the copyable report.
#[component]
fn Verdict(
    /// The finished check.
    v: CrossCheckView,
    /// Copies `v.report` to the clipboard.
    copy: impl Fn(leptos::ev::MouseEvent) + 'static,
    /// Whether the last copy worked (`None`: not tried).
    copied: RwSignal<Option<bool>>,
) -> impl IntoView {
    let c = &v.check;
    let state = if c.pass() { "pass" } else { "fail" };
    let cell = |c: Option<Cell>| match c {
        None => view! { <td class="muted">"—"</td> }.into_any(),
        Some(c) => view! { <td class=if c.pass { "cc-pass" } else { "cc-fail" }>{c.text}{if c.pass { " ✓" } else { " ✗" }}</td> }.into_any(),
    };
    let table = rows(c)
        .into_iter()
        .map(|r| view! {
            <tr data-layer=r.layer.map(|l| l.to_string())>
                <th scope="row">{r.label}</th>
                {cell(Some(r.values))}
                {cell(r.attention)}
            </tr>
        })
        .collect_view();
    view! {
        <div data-testid="crosscheck-result" data-state=state data-max-logit-diff=c.logits.to_string() class=format!("crosscheck-result {state}")>
            <p class="verdict">{summary(c, v.ms)}</p>
            <p class="muted">{format!("For: {} · tolerance {}: values ≤ {}, attention ≤ {}", v.text, c.tol.name, sci(c.tol.values), sci(c.tol.probs))}</p>
            <table class="crosscheck-table">
                <thead><tr><th scope="col">"Layer"</th><th scope="col">"Hidden states (max |Δ|)"</th><th scope="col">"Attention (max |Δ|)"</th></tr></thead>
                <tbody>{table}</tbody>
            </table>
            <div class="toolbar">
                <button type="button" data-testid="crosscheck-copy" on:click=copy>"Copy report"</button>
                <span class="muted" aria-live="polite">{move || match copied.get() {
                    Some(true) => "Copied.",
                    Some(false) => "The clipboard refused; select the report below.",
                    None => "",
                }}</span>
            </div>
            <details class="crosscheck-report">
                <summary>"Report (plain text, with the adapter)"</summary>
                <pre data-testid="crosscheck-report">{v.report.clone()}</pre>
            </details>
        </div>
    }
}
