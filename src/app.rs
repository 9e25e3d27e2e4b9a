//! The page: layout, shared state, start-up.

use std::sync::Arc;

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::session;
use crate::state::AppState;
use crate::ui::attention::{AttentionPanel, AttentionToggle};
use crate::ui::calc::ParameterCalculator;
use crate::ui::compare::CompareCard;
use crate::ui::crosscheck::CrossCheckCard;
use crate::ui::fill::FillPanel;
use crate::ui::hub::{HubPicker, HubState, HubSuggestion};
use crate::ui::inside::{InsidePanel, OrderCard};
use crate::ui::panels::{BackendPanel, BenchPanel, ModelPanel, StatusLine, StoragePanel};
use crate::ui::share::{open_shared_view, ShareCard};
use crate::ui::source::SourcePanel;
use crate::ui::{Card, ThemeToggle};
use crate::view_model::attention::data::AttentionData;
use crate::view_model::params::parse_query;
use crate::web;

#[component]
pub fn App() -> impl IntoView {
    let params = parse_query(&web::location_search());
    crate::worker::ask_threads(params.threads);
    crate::cpu_module::ask_plain(params.plain_simd);
    let bench = params.bench;
    let state = AppState::new(params);
    provide_context(state);
    HubState::provide(state);
    spawn_local(session::start(state));
    open_shared_view(state);

    // The attention views get the forward's attentions only while they belong to the text in
    // the box (never a stale result).
    // Each view a task after the one before (ui::stage).
    let attention: Memo<Option<Arc<AttentionData>>> = Memo::new(move |_| {
        let s = state.sentence.get();
        state.result.with(|r| r.as_ref().filter(|r| r.text == s).and_then(|r| r.attention.clone()))
    });

    view! {
        <a class="skip-link" href="#sentence">"Skip to the sentence"</a>
        <header class="masthead">
            <div class="brand">
                <h1>"albert-lens"</h1>
                <p class="tagline">"ALBERT masked-language model, running in your browser on your GPU"</p>
            </div>
            <ThemeToggle />
        </header>
        <main class="layout">
            <div class="primary-column">
                <p class="intro">
                    "albert-lens runs the ALBERT masked-language model entirely in this page: "
                    "the network's layers are WebGPU compute shaders (WGSL) executed on your own GPU, "
                    "with a CPU fallback when WebGPU is unavailable. Nothing you type leaves your machine. "
                    "Write a sentence with a " <code>"[MASK]"</code> " token and albert-lens shows "
                    "which words the model expects in its place, and where its attention goes."
                </p>
                <StatusLine />
                {bench.then(|| view! { <BenchPanel /> })}
                <HubSuggestion />
                <FillPanel />
                {(!bench).then(|| view! { <CompareCard /> })}
                <Card class="attention-card" title_id="attention-title" title="Attention">
                    <AttentionToggle />
                    {move || state.attention_open.get().then(|| view! { <AttentionPanel data=attention /> })}
                </Card>
                {(!bench).then(|| view! {
                    <Card class="inside-card" title_id="inside-title" title="Inside ALBERT">
                        <InsidePanel />
                    </Card>
                    <OrderCard />
                })}
            </div>
            <aside class="side-column" aria-label="Model, backend and storage">
                <SourcePanel />
                {(!bench).then(|| view! { <ShareCard /> })}
                <HubPicker />
                <BackendPanel />
                {(!bench).then(|| view! { <CrossCheckCard /> })}
                <ModelPanel />
                <ParameterCalculator />
                <StoragePanel />
            </aside>
        </main>
        <footer class="footer">
            <p>
                "ALBERT: Lan et al., 2020. Engine: Rust + wgpu (WGSL), tokenizer: Hugging Face tokenizers, UI: Leptos. "
                "Everything runs locally."
            </p>
        </footer>
    }
}
