//! Reads a model's files from a base URL (through the browser cache) or from local files, with a
//! progress line per file.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use albert::ModelFiles;
use leptos::prelude::*;

use crate::cache::ModelCache;
use crate::state::{FileProgress, FileState};
use crate::view_model::hub::repo_label;
use crate::view_model::store::{verify, FileRecord, Manifest, ModelRecord};
use crate::web;

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
}

pub async fn load(source: Source, progress: RwSignal<Vec<FileProgress>>) -> Result<Loaded, String> {
    progress.set(Vec::new());
    match source {
        Source::Local(files) => load_local(files, progress).await,
        Source::Embedded => {
            let base = web::absolute_url("model/")?;
            let manifest = match web::fetch_text_fresh(&format!("{base}manifest.json")).await {
                Some(text) => Manifest::parse(&text),
                None => None,
            };
            let name = manifest.as_ref().map(|m| m.name.clone()).filter(|n| !n.is_empty());
            let label = match name {
                Some(n) => format!("Embedded default model: {n}"),
                None => "Embedded default model".to_string(),
            };
            load_url(base, label, manifest, progress).await.map_err(|e| {
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
            load_url(base, label, None, progress).await
        }
    }
}

/// `owner/name (Hugging Face)` for hub URLs.

async fn load_url(
    base: String,
    label: String,
    manifest: Option<Manifest>,
    progress: RwSignal<Vec<FileProgress>>,
) -> Result<Loaded, String> {
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
        let (base, cache, record, builder) = (base.clone(), cache.clone(), record.clone(), builder.clone());
        move |name: String| {
            let (base, cache, record, builder) = (base.clone(), cache.clone(), record.clone(), builder.clone());
            async move { get_file(&base, &name, cache.as_ref(), &record, &builder, progress).await.map_err(albert::Error::Io) }
        }
    };
    let result = ModelFiles::fetch(get).await;
    let b = std::mem::take(&mut *builder.borrow_mut());
    let files = match result {
        Ok(f) => f,
        Err(e) => {
            if let Some(c) = &cache {
                for url in &b.written {
                    c.delete(url).await;
                }
            }
            return Err(e.to_string());
        }
    };
    let pending_record = match &cache {
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
    })
}

async fn get_file(
    base: &str,
    name: &str,
    cache: Option<&ModelCache>,
    record: &RefCell<Option<ModelRecord>>,
    builder: &RefCell<Builder>,
    progress: RwSignal<Vec<FileProgress>>,
) -> Result<Option<Vec<u8>>, String> {
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
    // 2. The network, streaming with progress.
    set_progress(progress, name, 0, None, FileState::Downloading);
    let fetched = web::fetch_with_progress(&url, |loaded, total| {
        set_progress(progress, name, loaded, total, FileState::Downloading);
    })
    .await;
    let fetched = match fetched {
        Ok(f) => f,
        Err(e) => {
            set_progress(progress, name, 0, None, FileState::Failed(e.clone()));
            return Err(e);
        }
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
    if let Some(cache) = cache {
        // One copy in JS serves both the digest and the cache entry.
        let js = js_sys::Uint8Array::from(fetched.bytes.as_slice());
        let sha = web::sha256_hex_js(&js).await?;
        match cache.put_js(&url, &js, content_type(name)).await {
            Ok(()) => {
                let mut b = builder.borrow_mut();
                b.written.push(url.clone());
                b.files.push(FileRecord { name: name.to_string(), size: n, sha256: sha, etag: fetched.etag });
            }
            Err(e) => web_sys::console::warn_1(&format!("albert-lens: {e}").into()),
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
    })
}
