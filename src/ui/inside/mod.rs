//! "Inside ALBERT" (browser only): what is special about ALBERT, from the same forward as the
//! predictions — the logit lens, the drift between layers, head switches and the neuron view —
//! plus the depth control (in the fill card's toolbar) and the sentence-order card. The numbers
//! come from the engine (`albert::Inside`), their arrangement from `view_model::inside`.

mod depth;
mod drift;
mod lens;
mod neuron;
mod order;
mod switches;

pub use depth::DepthControl;
pub use order::OrderCard;
pub use switches::toggle_switch;

use leptos::prelude::*;

use crate::state::{use_app, InsideView};
use crate::ui::stage;
use drift::DriftView;
use lens::LensPanel;
use neuron::NeuronView;
use switches::SwitchesView;

/// The insides of the forward whose predictions are shown: only while it belongs to the text
/// in the box (never a stale result). Each view is fed them in its own task, after the
/// attention views (`ui::stage`).
fn use_inside() -> Signal<Option<InsideView>> {
    let state = use_app();
    Memo::new(move |_| {
        let s = state.sentence.get();
        state.result.with(|r| r.as_ref().filter(|r| r.text == s).map(|r| r.inside.clone()))
    })
    .into()
}

/// `inside` as a view sees it, `stage` tasks after the predictions (`ui::stage`).
fn later(inside: Signal<Option<InsideView>>, stage: u32) -> Signal<Option<InsideView>> {
    crate::ui::later(inside, stage).into()
}

/// The card: one section per view, each laid out from the forward's shape.
#[component]
pub fn InsidePanel() -> impl IntoView {
    let now = use_inside();
    let inside = later(now, stage::LENS);
    let depth_line = move || {
        inside.with(|i| {
            i.as_ref().map(|i| {
                let extra = if i.depth > i.layers { " (past the trained depth: the shared block simply runs again)" } else { "" };
                format!("This forward ran the shared block {} time(s) of the model's {}{extra}.", i.depth, i.layers)
            })
        })
    };
    view! {
        <div class="inside" data-testid="inside"
            data-depth=move || inside.with(|i| i.as_ref().map(|i| i.depth.to_string()))
            data-switches=move || inside.with(|i| i.as_ref().map(|i| crate::view_model::inside::switches::format_list(&i.switches).unwrap_or_default()))>
            <p class="att-lede">
                "ALBERT runs one block of weights again and again. These views show what each pass does: "
                "how the answer forms layer by layer, how far each pass moves the hidden states, what "
                "happens when a head is switched off, and how one head's scores are made. "
                "The depth slider above the predictions runs fewer (or, for an all-shared model, more) passes."
            </p>
            <p class="att-summary" data-testid="inside-summary">{move || depth_line().unwrap_or_else(|| "Waiting for a forward pass…".into())}</p>
            <div class="inside-views">
                <LensPanel inside=inside />
                <DriftView inside=inside />
                <SwitchesView inside=later(now, stage::SWITCHES) />
                <NeuronView inside=later(now, stage::NEURON) />
            </div>
        </div>
    }
}
