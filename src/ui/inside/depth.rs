//! The depth slider: how many times the shared block runs (K of L; up to 2L for an all-shared
//! model). Every prediction and view follows it, and the URL keeps it (`?depth=`).

use leptos::prelude::*;

use crate::session;
use crate::state::use_app;
use crate::view_model::params::with_param;
use crate::web;

/// A range input in the fill card's toolbar; disabled until a model is loaded.
#[component]
pub fn DepthControl() -> impl IntoView {
    let state = use_app();
    // (L, max depth) of the loaded model.
    let bounds = Memo::new(move |_| {
        state.model.with(|m| m.as_ref().map(|m| (m.info.config.num_hidden_layers, m.info.config.max_depth())))
    });
    let value = move || {
        let (l, max) = bounds.get().unwrap_or((1, 1));
        state.depth.get().map_or(l, |d| d.clamp(1, max))
    };
    let text = move || {
        let (l, _) = bounds.get().unwrap_or((1, 1));
        format!("{} of {l}", value())
    };
    let on_input = move |ev| {
        let Ok(k) = event_target_value(&ev).parse::<usize>() else { return };
        let l = bounds.get_untracked().map_or(k, |b| b.0);
        state.depth.set(Some(k));
        let param = (k != l).then(|| k.to_string());
        web::replace_query(&with_param(&web::location_search(), "depth", param.as_deref()));
        session::request_now(state);
    };
    view! {
        <label class="inline depth-control" title="How many times the shared block runs (ALBERT's L layers share one set of weights)">
            "Layers "
            <input
                type="range"
                data-testid="depth"
                min="1"
                max=move || bounds.get().map_or(1, |b| b.1).to_string()
                step="1"
                prop:value=move || value().to_string()
                disabled=move || bounds.get().is_none()
                aria-valuetext=text
                on:input=on_input
            />
            <output class="depth-value" data-testid="depth-value">{text}</output>
        </label>
    }
}
