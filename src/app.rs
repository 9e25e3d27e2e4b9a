//! The Leptos UI (browser only).

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::gpu_probe;
use crate::view_model::{Status, DEFAULT_SENTENCE};

#[component]
pub fn App() -> impl IntoView {
    let (sentence, set_sentence) = signal(DEFAULT_SENTENCE.to_string());
    let (status, set_status) = signal(Status::loading());

    spawn_local(async move {
        let probe = gpu_probe::probe().await;
        set_status.set(Status::from_probe(&probe));
    });

    view! {
        <header class="masthead">
            <h1>"albert-lens"</h1>
            <p class="tagline">"ALBERT masked-language model, running in your browser on your GPU"</p>
        </header>
        <main>
            <p class="intro">
                "albert-lens runs the ALBERT masked-language model entirely in this page: "
                "the network's layers are WebGPU compute shaders (WGSL) executed on your own GPU, "
                "with a CPU fallback when WebGPU is unavailable. Nothing you type leaves your machine. "
                "Write a sentence with a " <code>"[MASK]"</code> " token and albert-lens will show "
                "which words the model expects in its place."
            </p>

            <label class="field-label" for="sentence">"Sentence"</label>
            <textarea
                id="sentence"
                data-testid="sentence"
                rows="3"
                spellcheck="false"
                prop:value=move || sentence.get()
                on:input=move |ev| set_sentence.set(event_target_value(&ev))
            ></textarea>

            <div
                class="status"
                data-testid="status"
                role="status"
                data-backend=move || status.with(|s| s.backend_attr())
                data-state=move || status.with(|s| s.state_attr())
            >
                <span class="badge">
                    {move || status.with(|s| match s.backend_attr() {
                        Some(b) => b.to_uppercase(),
                        None => "…".to_string(),
                    })}
                </span>
                <span class="detail" data-testid="adapter">{move || status.with(|s| s.detail.clone())}</span>
            </div>

            <p class="notice" data-testid="notice">
                "The model UI is coming: the ALBERT engine is still being wired in, so predictions "
                "are not available in this build yet. The page already checks which backend your "
                "browser offers."
            </p>
        </main>
    }
}
