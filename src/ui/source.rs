//! Choosing a model: the embedded one, a URL / Hugging Face id, or local files; and the
//! per-file progress bars.

use leptos::prelude::*;
use wasm_bindgen::JsCast;

use super::Card;
use crate::loader::{self, Source};
use crate::session;
use crate::state::{use_app, FileState};
use crate::view_model::format;
use crate::ui::hub::use_hub;
use crate::view_model::hub::{CHOSEN_KEY, DEFAULT_HUB};
use crate::view_model::model_url::normalize_model_url;
use crate::view_model::params::with_param;
use crate::web;

fn files_of(list: Option<web_sys::FileList>) -> Vec<web_sys::File> {
    let Some(list) = list else { return vec![] };
    (0..list.length()).filter_map(|i| list.get(i)).collect()
}

/// The model source card: a URL or Hub id, local files (picker or drop), the embedded model.
#[component]
pub fn SourcePanel() -> impl IntoView {
    let state = use_app();
    let url = RwSignal::new(state.params.with_value(|p| p.model.clone().unwrap_or_default()));
    let dragging = RwSignal::new(false);

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let hub = use_hub().base.get_value().unwrap_or_else(|_| DEFAULT_HUB.to_string());
        match normalize_model_url(&url.get_untracked(), &hub) {
            Ok(u) => {
                web::replace_query(&with_param(&web::location_search(), "model", Some(&u)));
                session::load(state, Source::Url(u));
            }
            Err(e) => {
                state.load_error.set(Some(e));
            }
        }
    };
    let load_default = move |_| {
        web::replace_query(&with_param(&web::location_search(), "model", None));
        // The embedded model, chosen by hand: the next visit starts with it too.
        web::local_storage_set(CHOSEN_KEY, None);
        session::load(state, Source::Embedded);
    };
    let load_local = move |files: Vec<web_sys::File>| {
        if !files.is_empty() {
            session::load(state, Source::Local(files));
        }
    };

    view! {
        <Card class="source" title_id="source-title" title="Model">
            <p class="model-name" data-testid="model-name" aria-live="polite">
                {move || match state.model.get() {
                    Some(m) => m.label,
                    None if state.loading.get() => "Loading…".to_string(),
                    None => "No model loaded".to_string(),
                }}
            </p>
            <form class="url-form" on:submit=submit>
                <label class="field-label" for="model-url">"Load from a URL or Hugging Face id"</label>
                <div class="row">
                    <input
                        id="model-url"
                        data-testid="model-url"
                        type="text"
                        inputmode="url"
                        autocomplete="off"
                        spellcheck="false"
                        placeholder="albert/albert-base-v2 or https://…/resolve/main"
                        prop:value=move || url.get()
                        on:input=move |ev| url.set(event_target_value(&ev))
                    />
                    <button type="submit" class="primary" data-testid="load-model">"Load"</button>
                </div>
                <p class="help">
                    "A folder in Hugging Face layout: config.json, model.safetensors (or shards with "
                    "model.safetensors.index.json; f32, f16 or bf16), tokenizer.json or spiece.model."
                </p>
            </form>
            <div
                class="drop-zone"
                class:dragging=move || dragging.get()
                data-testid="drop-zone"
                on:dragover=move |ev: web_sys::DragEvent| {
                    ev.prevent_default();
                    dragging.set(true);
                }
                on:dragleave=move |_| dragging.set(false)
                on:drop=move |ev: web_sys::DragEvent| {
                    ev.prevent_default();
                    dragging.set(false);
                    load_local(files_of(ev.data_transfer().and_then(|d| d.files())));
                }
            >
                <span>"Drop config.json, the safetensors file(s) and the tokenizer here, or "</span>
                <label class="file-button">
                    "choose files…"
                    <input
                        type="file"
                        multiple
                        class="visually-hidden"
                        data-testid="file-input"
                        accept=".json,.safetensors,.model"
                        on:change=move |ev| {
                            let input: Option<web_sys::HtmlInputElement> = ev.target().and_then(|t| t.dyn_into().ok());
                            if let Some(input) = input {
                                load_local(files_of(input.files()));
                                input.set_value("");
                            }
                        }
                    />
                </label>
            </div>
            <button type="button" class="link" data-testid="load-default" on:click=load_default>
                "Load the embedded default model"
            </button>
            <ConfirmDownload />
            <p class="load-error" data-testid="load-error" role="alert" hidden=move || state.load_error.with(|e| e.is_none())>
                {move || state.load_error.get().unwrap_or_default()}
            </p>
            <DownloadControls />
            <ProgressList />
        </Card>
    }
}

/// A model link from another origin: its host and size, and nothing downloads until a click.
#[component]
fn ConfirmDownload() -> impl IntoView {
    let state = use_app();
    let confirm = loader::downloads().confirm;
    move || {
        confirm.get().map(|c| {
            let size = match (c.bytes, c.asked) {
                (Some(b), _) => format!("{} of weights", format::bytes(b)),
                (None, false) => "asking its size…".to_string(),
                (None, true) => "size unknown: the server did not say".to_string(),
            };
            view! {
                <div
                    class="confirm notice"
                    role="alertdialog"
                    aria-labelledby="confirm-title"
                    data-testid="download-confirm"
                    data-host=c.host.clone()
                    data-bytes=c.bytes.map(|b| b.to_string())
                >
                    <p id="confirm-title">
                        "This link asks to download a model from "
                        <strong>{c.host.clone()}</strong>
                        {format!(" ({size}), another site than this page. Nothing is downloaded until you say so.")}
                    </p>
                    <p class="help confirm-url">{c.url.clone()}</p>
                    <div class="row">
                        <button
                            type="button"
                            class="primary"
                            data-testid="download-confirm-yes"
                            on:click=move |_| session::answer_confirm(state, true)
                        >
                            "Download it"
                        </button>
                        <button type="button" data-testid="download-confirm-no" on:click=move |_| session::answer_confirm(state, false)>
                            "No, use the embedded model"
                        </button>
                    </div>
                </div>
            }
        })
    }
}

/// Cancel while files download (the running model keeps answering), Retry after a failed or
/// cancelled download (it resumes), and what to know about a model that loaded (a full cache).
#[component]
fn DownloadControls() -> impl IntoView {
    let state = use_app();
    let d = loader::downloads();
    let (retry, notice) = (d.retry.clone(), d.notice.clone());
    let downloading = move || state.loading.get() && state.files.with(|f| f.iter().any(|f| f.state == FileState::Downloading));
    let again = retry.clone();
    view! {
        <div class="download-controls">
        {move || downloading().then(|| view! {
            <button type="button" data-testid="cancel-load" on:click=move |_| loader::cancel_current()>
                "Cancel download"
            </button>
        })}
        {move || {
            let again = again.clone();
            (!state.loading.get() && retry.with(|r| r.is_some())).then(move || view! {
                <button
                    type="button"
                    class="primary"
                    data-testid="retry-load"
                    title="Downloads what is missing; a file that stopped partway resumes where it stopped"
                    on:click=move |_| {
                        if let Some(a) = again.get_untracked() {
                            session::load(state, a.source());
                        }
                    }
                >
                    "Retry"
                </button>
            })
        }}
        {move || notice.get().map(|n| view! { <p class="notice" data-testid="load-notice" role="status">{n}</p> })}
        </div>
    }
}

/// One progress bar per model file, as the loader reports them.
#[component]
fn ProgressList() -> impl IntoView {
    let state = use_app();
    view! {
        <ul class="progress-list" aria-label="Model files">
            {move || {
                state
                    .files
                    .get()
                    .into_iter()
                    .map(|f| {
                        let (value, max) = match (f.state.clone(), f.total) {
                            (_, Some(t)) if t > 0 => (f.loaded.min(t) as f64, t as f64),
                            (FileState::Downloading, _) => (0.0, 0.0),
                            _ => (1.0, 1.0),
                        };
                        let text = match &f.state {
                            FileState::Downloading => format::progress(f.loaded, f.total),
                            FileState::Downloaded => format!("{} downloaded", format::bytes(f.loaded)),
                            FileState::Cached => format!("{} from the browser cache, SHA-256 verified", format::bytes(f.loaded)),
                            FileState::Local => format!("{} read from disk", format::bytes(f.loaded)),
                            FileState::Absent => "not on the server".to_string(),
                            FileState::Failed(e) => format!("failed: {e}"),
                        };
                        let indeterminate = max == 0.0;
                        view! {
                            <li
                                class="progress-item"
                                data-testid="progress"
                                data-file=f.name.clone()
                                data-loaded=f.loaded.to_string()
                                data-total=f.total.map(|t| t.to_string())
                                data-state=f.state.attr()
                            >
                                <span class="file">{f.name.clone()}</span>
                                {if indeterminate {
                                    view! { <progress aria-label=format!("{} download", f.name)></progress> }.into_any()
                                } else {
                                    view! { <progress max=max value=value aria-label=format!("{} download", f.name)></progress> }.into_any()
                                }}
                                <span class="bytes">{text}</span>
                            </li>
                        }
                    })
                    .collect_view()
            }}
        </ul>
    }
}
