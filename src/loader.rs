//! Reads a model's files from a base URL (through the browser cache: `url.rs`) or from local files,
//! with a progress line per file; and the page's download controls (Cancel, Retry, the question
//! before a download from another origin).

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use albert::ModelFiles;
use leptos::prelude::*;

use crate::cache::ModelCache;
use crate::state::{FileProgress, FileState};
use crate::view_model::hub::repo_label;
use crate::view_model::params::query_pairs;
use crate::view_model::store::{Heldout, Manifest, ModelRecord};
use crate::web::fetch::{self, Cancel};
use crate::web;

mod url;
use url::load_url;

thread_local! {
    /// The downloads of the load in flight: the Cancel button, or a newer load, cancels them.
    static CURRENT: RefCell<Option<Cancel>> = const { RefCell::new(None) };
}

/// Cancels the downloads of the load in flight (the model already running keeps running).
pub fn cancel_current() {
    if let Some(c) = CURRENT.with(|c| c.borrow_mut().take()) {
        c.cancel();
    }
}

/// How long a download may receive nothing: `?stall_ms=` (at least 100), or `fetch::STALL_MS`.
pub fn stall_ms() -> u32 {
    query_pairs(&web::location_search())
        .into_iter()
        .find(|(k, _)| k == "stall_ms")
        .and_then(|(_, v)| v.trim().parse::<u32>().ok())
        .map(|ms| ms.max(100))
        .unwrap_or(fetch::STALL_MS)
}

/// A model link (`?model=`) on another origin, waiting for the user's OK before downloading.
#[derive(Clone, Debug, PartialEq)]
pub struct Confirm {
    /// The model's base URL (absolute).
    pub url: String,
    /// Its host (`host:port`).
    pub host: String,
    /// The weights' size, once the server said (a HEAD request, or a sharded index's total).
    pub bytes: Option<u64>,
    /// The server was asked (so `None` above means it did not say).
    pub asked: bool,
}

/// What Retry loads again: a URL's or the embedded model's files (local files need no retry).
#[derive(Clone, Debug, PartialEq)]
pub enum Again {
    Embedded,
    Url(String),
}

impl Again {
    pub fn of(source: &Source) -> Option<Again> {
        match source {
            Source::Embedded => Some(Again::Embedded),
            Source::Url(u) => Some(Again::Url(u.clone())),
            Source::Local(_) => None,
        }
    }

    pub fn source(&self) -> Source {
        match self {
            Again::Embedded => Source::Embedded,
            Again::Url(u) => Source::Url(u.clone()),
        }
    }
}

/// The page's download controls: Retry, notices, the cross-origin question. Reference-counted
/// signals in a thread-local (the page has one), so no component's owner can dispose of them and
/// `AppState` stays as it is.
#[derive(Clone)]
pub struct Downloads {
    /// What Retry loads again (a download failed or was cancelled; it resumes where it stopped).
    pub retry: ArcRwSignal<Option<Again>>,
    /// Something to know about the model that did load (the cache was full).
    pub notice: ArcRwSignal<Option<String>>,
    /// A link's model from another origin, waiting for a click.
    pub confirm: ArcRwSignal<Option<Confirm>>,
}

thread_local! {
    static DOWNLOADS: Downloads = Downloads {
        retry: ArcRwSignal::new(None),
        notice: ArcRwSignal::new(None),
        confirm: ArcRwSignal::new(None),
    };
}

/// The page's download controls.
pub fn downloads() -> Downloads {
    DOWNLOADS.with(|d| d.clone())
}

/// Why a load gave no model.
pub enum LoadError {
    /// Why, in words; `retry`: a download failed, and trying again may work (and resumes).
    Failed { message: String, retry: bool },
    /// Cancelled (the Cancel button or a newer load).
    Cancelled,
}

/// Where a model comes from.
#[derive(Clone)]
pub enum Source {
    /// `model/` next to the page (assets/model at build time).
    Embedded,
    /// A Hugging Face-layout base URL (normalized, maybe relative).
    Url(String),
    /// Files picked or dropped by the user.
    Local(Vec<web_sys::File>),
}

/// Files read, and what to remember once the model proved loadable.
pub struct Loaded {
    pub files: ModelFiles,
    pub label: String,
    pub source: String,
    pub bytes: u64,
    pub from_cache: bool,
    /// Write this record (and keep the file entries) after a successful load.
    pub pending_record: Option<(ModelCache, ModelRecord)>,
    /// Cache entries written during this load (deleted if the model turns out to be broken).
    pub written: Vec<String>,
    pub cache: Option<ModelCache>,
    /// Worth telling the user although the model loaded (the browser's storage was full).
    pub notice: Option<String>,
    /// The embedded model's held-out scores, from the build's manifest (other sources: none).
    pub heldout: Option<Heldout>,
}

impl Loaded {
    /// The model loaded: trust the cache entries from now on.
    pub async fn commit(&self) {
        if let Some((cache, record)) = &self.pending_record {
            let _ = cache.put_record(record).await;
        }
    }

    /// The model did not load: drop what this load put in the cache.
    pub async fn discard(&self) {
        if let Some(cache) = &self.cache {
            for url in &self.written {
                cache.delete(url).await;
            }
        }
    }
}

fn set_progress(files: RwSignal<Vec<FileProgress>>, name: &str, loaded: u64, total: Option<u64>, state: FileState) {
    files.update(|v| {
        let p = FileProgress { name: name.to_string(), loaded, total, state };
        match v.iter_mut().find(|f| f.name == name) {
            Some(f) => *f = p,
            None => v.push(p),
        }
    });
}



pub async fn load(source: Source, progress: RwSignal<Vec<FileProgress>>) -> Result<Loaded, LoadError> {
    // A newer load supersedes the one in flight: its downloads stop.
    let cancel = Cancel::default();
    if let Some(old) = CURRENT.with(|c| c.borrow_mut().replace(cancel.clone())) {
        old.cancel();
    }
    let retryable = Rc::new(std::cell::Cell::new(false));
    let result = load_source(source, progress, &cancel, retryable.clone()).await;
    CURRENT.with(|c| {
        let mut c = c.borrow_mut();
        if c.as_ref().is_some_and(|c| c.same(&cancel)) {
            *c = None;
        }
    });
    match result {
        Ok(l) => Ok(l),
        Err(_) if cancel.is_cancelled() => Err(LoadError::Cancelled),
        Err(message) => Err(LoadError::Failed { message, retry: retryable.get() }),
    }
}

async fn load_source(
    source: Source,
    progress: RwSignal<Vec<FileProgress>>,
    cancel: &Cancel,
    retryable: Rc<std::cell::Cell<bool>>,
) -> Result<Loaded, String> {
    progress.set(Vec::new());
    match source {
        Source::Local(files) => load_local(files, progress).await,
        Source::Embedded => {
            let base = web::absolute_url("model/")?;
            let manifest = match crate::web::request::fetch_text_fresh(&format!("{base}manifest.json")).await {
                Some(text) => Manifest::parse(&text),
                None => None,
            };
            let name = manifest.as_ref().map(|m| m.name.clone()).filter(|n| !n.is_empty());
            let label = match name {
                Some(n) => format!("Embedded default model: {n}"),
                None => "Embedded default model".to_string(),
            };
            load_url(base, label, manifest, progress, cancel, retryable).await.map_err(|e| {
                if e.starts_with("config.json not found") {
                    "This build has no embedded default model (model/config.json is missing: assets/model was absent \
                     when it was built). Load a model by URL (for example albert/albert-base-v2) or from local files."
                        .to_string()
                } else {
                    e
                }
            })
        }
        Source::Url(url) => {
            let base = web::absolute_url(&url)?;
            let label = repo_label(&base).unwrap_or_else(|| base.clone());
            load_url(base, label, None, progress, cancel, retryable).await
        }
    }
}


async fn load_local(files: Vec<web_sys::File>, progress: RwSignal<Vec<FileProgress>>) -> Result<Loaded, String> {
    let by_name: HashMap<String, web_sys::File> = files.into_iter().map(|f| (f.name(), f)).collect();
    if !by_name.contains_key("config.json") {
        let mut names: Vec<&String> = by_name.keys().collect();
        names.sort();
        return Err(format!(
            "config.json is missing among the chosen files ({}). Choose config.json, model.safetensors (or the \
             shards and model.safetensors.index.json) and tokenizer.json (or spiece.model) together.",
            if names.is_empty() { "none".to_string() } else { names.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ") }
        ));
    }
    let mut names: Vec<String> = by_name.keys().cloned().collect();
    names.sort();
    // Refused before anything is read: a file past the cap would not fit in wasm32 memory.
    for f in by_name.values() {
        if f.size() > fetch::MAX_FILE_BYTES as f64 {
            let why = fetch::over_cap(&f.name(), f.size() as u64);
            set_progress(progress, &f.name(), 0, Some(f.size() as u64), FileState::Failed(why.clone()));
            return Err(why);
        }
    }
    let by_name = Rc::new(by_name);
    let total = Rc::new(RefCell::new(0u64));
    let get = {
        let (by_name, total) = (by_name.clone(), total.clone());
        move |name: String| {
            let (by_name, total) = (by_name.clone(), total.clone());
            async move {
                let Some(file) = by_name.get(&name) else { return Ok(None) };
                let size = file.size() as u64;
                set_progress(progress, &name, 0, Some(size), FileState::Downloading);
                let bytes = web::read_file(file).await.map_err(albert::Error::Io)?;
                set_progress(progress, &name, bytes.len() as u64, Some(size), FileState::Local);
                *total.borrow_mut() += bytes.len() as u64;
                Ok(Some(bytes))
            }
        }
    };
    let files = ModelFiles::fetch(get).await.map_err(|e| e.to_string())?;
    let bytes = *total.borrow();
    Ok(Loaded {
        files,
        label: format!("Local files: {}", names.join(", ")),
        source: "local files".into(),
        bytes,
        from_cache: false,
        pending_record: None,
        written: vec![],
        cache: None,
        notice: None,
        heldout: None,
    })
}
