//! Reads a model's files from a base URL (through the browser cache) or from local files, with a
//! progress line per file.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use albert::ModelFiles;
use leptos::prelude::*;

use crate::cache::{ModelCache, PutError};
use crate::state::{FileProgress, FileState};
use crate::view_model::hub::repo_label;
use crate::view_model::params::query_pairs;
use crate::view_model::store::{verify, FileRecord, Heldout, Manifest, ModelRecord};
use crate::web::fetch::{self, Cancel, FetchError, FetchOptions, Partial};
use crate::web;

/// Tries of one file when the connection breaks (the first included): each later one asks for the
/// rest with a Range request. A stall is not retried by itself: it is an error with a Retry button.
const AUTO_RESUMES: usize = 3;

thread_local! {
    /// The downloads of the load in flight: the Cancel button, or a newer load, cancels them.
    static CURRENT: RefCell<Option<Cancel>> = const { RefCell::new(None) };
    /// Bytes of downloads that stopped partway, by URL: Retry asks for the rest.
    static PARTIALS: RefCell<HashMap<String, Partial>> = RefCell::new(HashMap::new());
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

fn content_type(name: &str) -> &'static str {
    if name.ends_with(".json") {
        "application/json"
    } else {
        "application/octet-stream"
    }
}

/// Accumulated during a load: the new record's entries.
#[derive(Default)]
struct Builder {
    files: Vec<FileRecord>,
    absent: Vec<String>,
    written: Vec<String>,
    downloaded: bool,
    bytes: u64,
    /// The cache refused a file for want of space: why (nothing more is stored).
    cache_full: Option<String>,
    /// A download failed in a way a retry may mend (network, stall).
    retryable: bool,
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
            let manifest = match fetch::fetch_text_fresh(&format!("{base}manifest.json")).await {
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

/// Reads a model's files under `base` through the cache, downloading what it lacks.
async fn load_url(
    base: String,
    label: String,
    manifest: Option<Manifest>,
    progress: RwSignal<Vec<FileProgress>>,
    cancel: &Cancel,
    retryable: Rc<std::cell::Cell<bool>>,
) -> Result<Loaded, String> {
    // Kept bytes of another model's files will not be asked for again.
    PARTIALS.with(|p| p.borrow_mut().retain(|url, _| url.starts_with(&base)));
    let stall = stall_ms();
    let cache = ModelCache::open().await.ok();
    let mut record = match &cache {
        Some(c) => c.record(&base).await,
        None => None,
    };
    if let (Some(r), Some(m), Some(c)) = (&record, &manifest, &cache) {
        if r.is_stale(m) {
            // The deployed model changed since it was cached.
            c.delete_model(r).await;
            record = None;
        }
    }
    let record = Rc::new(RefCell::new(record));
    let builder = Rc::new(RefCell::new(Builder::default()));
    let get = {
        let (base, cache, record, builder, cancel) = (base.clone(), cache.clone(), record.clone(), builder.clone(), cancel.clone());
        move |name: String| {
            let (base, cache, record, builder, cancel) = (base.clone(), cache.clone(), record.clone(), builder.clone(), cancel.clone());
            async move {
                let fetch = Fetch { base: &base, cache: cache.as_ref(), record: &record, builder: &builder, progress, cancel: &cancel, stall_ms: stall };
                get_file(&fetch, &name).await.map_err(albert::Error::Io)
            }
        }
    };
    let result = ModelFiles::fetch(get).await;
    let mut b = std::mem::take(&mut *builder.borrow_mut());
    retryable.set(b.retryable);
    let files = match result {
        Ok(f) => f,
        Err(e) => {
            if let Some(c) = &cache {
                for url in &b.written {
                    c.delete(url).await;
                }
            }
            let e = e.to_string();
            // The engine's message does not say where it looked.
            return Err(if e.starts_with("config.json not found") {
                format!("{e} ({base}config.json answered 404)")
            } else {
                e
            });
        }
    };
    // The storage is full: the model runs from memory; the files that did fit would be orphans
    // without a record, so they go too (their space is what the next model needs).
    let notice = b.cache_full.take().map(|why| {
        web_sys::console::warn_1(&why.clone().into());
        format!(
            "The browser's storage is full (quota exceeded), so {label} is not kept for the next visit: it runs from \
             memory now and downloads again next time. Delete cached models below to make room."
        )
    });
    if notice.is_some() {
        if let Some(c) = &cache {
            for url in b.written.drain(..) {
                c.delete(&url).await;
            }
        }
    }
    let pending_record = match &cache {
        Some(_) if notice.is_some() => None,
        Some(c) if b.downloaded || record.borrow().is_none() => Some((
            c.clone(),
            ModelRecord {
                base: base.clone(),
                label: label.clone(),
                files: b.files,
                absent: b.absent,
                stored_at_ms: js_sys::Date::now(),
            },
        )),
        _ => None,
    };
    Ok(Loaded {
        files,
        label,
        source: base,
        bytes: b.bytes,
        from_cache: !b.downloaded,
        pending_record,
        written: b.written,
        cache,
        notice,
        heldout: manifest.and_then(|m| m.heldout),
    })
}

/// What fetching one file of a model needs.
struct Fetch<'a> {
    base: &'a str,
    cache: Option<&'a ModelCache>,
    record: &'a RefCell<Option<ModelRecord>>,
    builder: &'a RefCell<Builder>,
    progress: RwSignal<Vec<FileProgress>>,
    cancel: &'a Cancel,
    stall_ms: u32,
}

async fn get_file(f: &Fetch<'_>, name: &str) -> Result<Option<Vec<u8>>, String> {
    let Fetch { base, cache, record, builder, progress, cancel, stall_ms } = *f;
    let url = format!("{base}{name}");
    // 1. The cache, when a complete record exists: verified size and SHA-256, or re-download.
    let known = record.borrow().as_ref().map(|r| (r.absent.iter().any(|a| a == name), r.file(name).cloned()));
    if let (Some(cache), Some((absent, file))) = (cache, known) {
        if absent {
            builder.borrow_mut().absent.push(name.to_string());
            return Ok(None);
        }
        if let Some(expected) = file {
            if let Some(bytes) = cache.get(&url).await {
                let sha = web::sha256_hex(&bytes).await?;
                match verify(&expected, bytes.len() as u64, &sha) {
                    Ok(()) => {
                        let n = bytes.len() as u64;
                        set_progress(progress, name, n, Some(n), FileState::Cached);
                        let mut b = builder.borrow_mut();
                        b.files.push(expected);
                        b.bytes += n;
                        return Ok(Some(bytes));
                    }
                    Err(why) => {
                        web_sys::console::warn_1(&format!("albert-lens: {why}; downloading it again").into());
                    }
                }
            }
            // Missing or corrupt entry: download this file again (a new record is written once
            // the model loads).
        }
    }
    // 2. The network, streaming with progress; bytes an earlier try received are kept and the
    // rest asked for.
    let mut resume = PARTIALS.with(|p| p.borrow_mut().remove(&url));
    let kept = resume.as_ref().map_or(0, |p| p.bytes.len() as u64);
    set_progress(progress, name, kept, resume.as_ref().and_then(|p| p.total), FileState::Downloading);
    let mut tries = 0;
    let fetched = loop {
        tries += 1;
        let before = resume.as_ref().map_or(0, |p| p.bytes.len());
        let opts = FetchOptions { name, stall_ms, cancel, resume: resume.take() };
        let result = fetch::fetch_with_progress(&url, opts, |loaded, total| {
            set_progress(progress, name, loaded, total, FileState::Downloading);
        })
        .await;
        let (why, partial) = match result {
            Ok(f) => break f,
            // A broken connection that made progress: ask for the rest at once.
            Err(FetchError::Interrupted { stalled: false, partial, .. }) if partial.bytes.len() > before && tries < AUTO_RESUMES => {
                resume = Some(partial);
                continue;
            }
            Err(FetchError::Interrupted { why, partial, .. }) => {
                builder.borrow_mut().retryable = true;
                (format!("download of {name} from {url} {why}"), Some(partial))
            }
            Err(FetchError::Cancelled(partial)) => (format!("download of {name} cancelled"), Some(partial)),
            Err(FetchError::Failed(why)) => {
                if why.starts_with("could not fetch") {
                    builder.borrow_mut().retryable = true;
                }
                (why, None)
            }
        };
        let (loaded, total) = partial.as_ref().map_or((0, None), |p| (p.bytes.len() as u64, p.total));
        if let Some(p) = partial.filter(|p| !p.bytes.is_empty()) {
            PARTIALS.with(|m| m.borrow_mut().insert(url.clone(), p));
        }
        set_progress(progress, name, loaded, total, FileState::Failed(why.clone()));
        return Err(why);
    };
    let Some(fetched) = fetched else {
        progress.update(|v| v.retain(|f| f.name != name));
        if is_optional(name) {
            // Expected to be missing for most models: no line for it.
        } else {
            set_progress(progress, name, 0, None, FileState::Absent);
        }
        builder.borrow_mut().absent.push(name.to_string());
        return Ok(None);
    };
    let n = fetched.bytes.len() as u64;
    set_progress(progress, name, n, Some(n), FileState::Downloaded);
    {
        let mut b = builder.borrow_mut();
        b.downloaded = true;
        b.bytes += n;
    }
    let full = builder.borrow().cache_full.is_some();
    if let (Some(cache), false) = (cache, full) {
        // One copy in JS serves both the digest and the cache entry.
        let js = js_sys::Uint8Array::from(fetched.bytes.as_slice());
        let sha = web::sha256_hex_js(&js).await?;
        match cache.put_js(&url, &js, content_type(name)).await {
            Ok(()) => {
                let mut b = builder.borrow_mut();
                b.written.push(url.clone());
                b.files.push(FileRecord { name: name.to_string(), size: n, sha256: sha, etag: fetched.etag });
            }
            Err(PutError::Full(why)) => builder.borrow_mut().cache_full = Some(why),
            Err(PutError::Other(e)) => web_sys::console::warn_1(&format!("albert-lens: {e}").into()),
        }
    }
    Ok(Some(fetched.bytes))
}

/// Files a model usually lacks; their absence is not worth a line.
fn is_optional(name: &str) -> bool {
    matches!(name, "model.safetensors.index.json" | "spiece.model" | "tokenizer_config.json")
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
