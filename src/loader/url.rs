//! A model's files under a base URL: from the browser cache when a complete record of them is
//! there and verifies, else downloaded with progress, resumed after a broken connection, and
//! stored for the next visit (`load_url`, for `loader::load`).

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use albert::ModelFiles;
use leptos::prelude::*;

use super::{set_progress, stall_ms, Loaded};
use crate::cache::{ModelCache, PutError};
use crate::state::{FileProgress, FileState};
use crate::view_model::store::{verify, FileRecord, Manifest, ModelRecord};
use crate::web::fetch::{self, Cancel, FetchError, FetchOptions, Partial};
use crate::web;

/// Tries of one file when the connection breaks (the first included): each later one asks for the
/// rest with a Range request. A stall is not retried by itself: it is an error with a Retry button.
const AUTO_RESUMES: usize = 3;

thread_local! {
    /// Bytes of downloads that stopped partway, by URL: Retry asks for the rest.
    static PARTIALS: RefCell<HashMap<String, Partial>> = RefCell::new(HashMap::new());
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

/// Reads a model's files under `base` through the cache, downloading what it lacks.
pub(super) async fn load_url(
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
