//! Google's ALBERT checkpoints one click away: a picker that lists them with what they are and
//! their download size (asked from the Hub before anything is downloaded), whether they are
//! cached, and why one cannot be loaded; and a suggestion to download albert-base-v2 once while
//! the page runs its small embedded model. Loading goes through `session::load`, so the embedded
//! model keeps answering until the new one is ready, and the sentence and the views stay.

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::loader::Source;
use crate::session;
use crate::state::{use_app, AppState};
use crate::ui::Card;
use crate::view_model::format;
use crate::view_model::hub::{hub_base, repo_base, suggest, Availability, Checkpoint, CATALOG, CHOSEN_KEY, LOADED_ONCE_KEY};
use crate::view_model::params::with_param;
use crate::{hub, web};

/// What the page knows about the Hub, shared by the picker and the suggestion.
#[derive(Clone, Copy)]
pub struct HubState {
    /// The Hub's address, or why `?hub=` is not usable.
    pub base: StoredValue<Result<String, String>>,
    /// One entry per `CATALOG` checkpoint, in order.
    pub availability: RwSignal<Vec<Availability>>,
    /// A Hub model loaded in this browser before (the suggestion is then not shown).
    pub loaded_before: RwSignal<bool>,
}

impl HubState {
    /// Creates the state, provides it to the page and asks the Hub about every checkpoint.
    pub fn provide(state: AppState) -> HubState {
        let base = state.params.with_value(|p| hub_base(p.hub.as_deref()));
        let hub = HubState {
            availability: RwSignal::new(vec![Availability::Checking; CATALOG.len()]),
            loaded_before: RwSignal::new(web::local_storage_get(LOADED_ONCE_KEY).is_some()),
            base: StoredValue::new(base.clone()),
        };
        provide_context(hub);
        // ?bench=1 times forwards: no background requests beside them.
        let base = if state.params.with_value(|p| p.bench) { Err("benchmark mode: the Hub is not asked".to_string()) } else { base };
        match base {
            Ok(base) => {
                for (i, c) in CATALOG.iter().enumerate() {
                    let base = base.clone();
                    spawn_local(async move {
                        let a = hub::ask(&base, c.id).await;
                        hub.availability.update(|v| v[i] = a);
                    });
                }
            }
            Err(e) => hub.availability.set(vec![Availability::Unreachable(e); CATALOG.len()]),
        }
        // A Hub model that loaded once: remember it, and the choice for the next visit.
        Effect::new(move |_| {
            let Some(source) = state.model.with(|m| m.as_ref().map(|m| m.source.clone())) else { return };
            if let Some(c) = hub.catalog_entry(&source) {
                web::local_storage_set(LOADED_ONCE_KEY, Some("1"));
                web::local_storage_set(CHOSEN_KEY, Some(c.id));
                hub.loaded_before.set(true);
            }
        });
        hub
    }

    /// The catalog checkpoint a model's base URL belongs to.
    pub fn catalog_entry(&self, source: &str) -> Option<&'static Checkpoint> {
        let base = self.base.get_value().ok()?;
        CATALOG.iter().find(|c| repo_base(&base, c.id) == source)
    }

    /// Loads checkpoint `c` from the Hub (the cache when it holds it), keeping `?model=` in the URL.
    pub fn load(&self, state: AppState, c: &Checkpoint) {
        let Ok(base) = self.base.get_value() else { return };
        let url = repo_base(&base, c.id);
        web::replace_query(&with_param(&web::location_search(), "model", Some(&url)));
        web::local_storage_set(CHOSEN_KEY, Some(c.id));
        session::load(state, Source::Url(url));
    }
}

pub fn use_hub() -> HubState {
    expect_context::<HubState>()
}

/// The picker: one button per official checkpoint.
#[component]
pub fn HubPicker() -> impl IntoView {
    let state = use_app();
    let hub = use_hub();
    let unreachable = move || {
        hub.availability.with(|v| {
            let why: Vec<&String> = v.iter().filter_map(|a| if let Availability::Unreachable(w) = a { Some(w) } else { None }).collect();
            (why.len() == v.len()).then(|| why[0].clone())
        })
    };
    view! {
        <Card class="hub" title_id="hub-title" title="Google's ALBERT models">
            <p class="hint">
                "The original checkpoints from the Hugging Face Hub. One click downloads a model once; it is kept in "
                "this browser, and the page keeps answering with the current model until the new one is ready."
            </p>
            {move || unreachable().map(|why| view! {
                <p class="notice" data-testid="hub-status" role="status">
                    {format!("The Hub cannot be reached, so only the embedded model runs: {why}.")}
                </p>
            })}
            <ul class="hub-list" data-testid="hub-picker">
                {CATALOG.iter().enumerate().map(|(i, c)| view! { <HubEntry index=i checkpoint=c /> }).collect_view()}
            </ul>
            {move || state.loading.get().then(|| view! { <p class="hint">"Downloading… the current model answers meanwhile."</p> })}
        </Card>
    }
}

/// One checkpoint of the picker.
#[component]
fn HubEntry(
    /// Its index in `CATALOG` (and in `HubState::availability`).
    index: usize,
    /// The checkpoint.
    checkpoint: &'static Checkpoint,
) -> impl IntoView {
    let state = use_app();
    let hub = use_hub();
    let c = checkpoint;
    let availability = Memo::new(move |_| hub.availability.with(|v| v[index].clone()));
    let cached = Memo::new(move |_| {
        let Ok(base) = hub.base.get_value() else { return false };
        let url = repo_base(&base, c.id);
        state.cached.with(|r| r.iter().any(|r| r.base == url))
    });
    let current = Memo::new(move |_| state.model.with(|m| m.as_ref().is_some_and(|m| hub.catalog_entry(&m.source).is_some_and(|e| e.id == c.id))));
    let bytes = move || match availability.get() {
        Availability::Ready { bytes: Some(b) } => Some(b.to_string()),
        _ => None,
    };
    let disabled = move || {
        state.loading.get() || current.get() || !matches!(availability.get(), Availability::Ready { .. }) && !cached.get()
    };
    let detail = move || match availability.get() {
        Availability::Checking => "asking the Hub…".to_string(),
        Availability::Ready { bytes: Some(b) } => format!("{} to download", format::bytes(b)),
        Availability::Ready { bytes: None } => "size unknown".to_string(),
        Availability::NotLoadable(why) => why,
        Availability::Unreachable(_) if cached.get() => "in this browser's cache".to_string(),
        Availability::Unreachable(_) => "unavailable: the Hub cannot be reached".to_string(),
    };
    view! {
        <li>
            <button
                class="hub-model"
                data-testid="hub-model"
                data-id=c.id
                data-bytes=bytes
                data-cached=move || cached.get().to_string()
                aria-current=move || current.get().then_some("true")
                disabled=disabled
                on:click=move |_| hub.load(state, c)
            >
                <span class="hub-name">{c.id}</span>
                <span class="hub-summary">{c.summary()}</span>
                <span class="hub-detail">
                    {detail}
                    {move || cached.get().then_some(" · cached")}
                    {move || current.get().then_some(" · running")}
                </span>
            </button>
        </li>
    }
}

/// "For answers from Google's albert-base-v2, download it once (N MB)": shown while the embedded
/// model runs, online, when the Hub answered and no Hub model ever loaded here.
#[component]
pub fn HubSuggestion() -> impl IntoView {
    let state = use_app();
    let hub = use_hub();
    let base = &CATALOG[0];
    let online = RwSignal::new(web::online());
    web::on_online_change(move |on| online.set(on));
    let show = Memo::new(move |_| {
        let running_embedded = state.model.with(|m| m.as_ref().is_some_and(|m| m.label.starts_with("Embedded")));
        let a = hub.availability.with(|v| v[0].clone());
        suggest(running_embedded && !state.loading.get(), online.get(), hub.loaded_before.get(), &a)
    });
    move || {
        show.get().map(|bytes| {
            view! {
                <aside class="card suggestion" data-testid="hub-suggestion" role="note">
                    <p>
                        "The embedded model is small and trained briefly. For answers from Google's "
                        <strong>{base.id.trim_start_matches("albert/")}</strong>
                        {format!(", download it once ({}); it stays in this browser.", format::bytes(bytes))}
                    </p>
                    <button class="primary" on:click=move |_| hub.load(state, base)>
                        {format!("Download {}", base.short_name())}
                    </button>
                </aside>
            }
        })
    }
}
