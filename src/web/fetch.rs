//! Downloads: model files streamed with progress, resumable after a stall or a broken
//! connection, cancellable, capped in size. Every request goes out without credentials or
//! referrer (`request::private_request`, which also has the small metadata requests).

use js_sys::{Promise, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use super::request::private_request;
use super::{describe, get, window};

/// The largest single model file the page reads, downloaded or picked: 2 GiB − 1. A wasm32 `Vec`
/// cannot pass `isize::MAX` (a bigger `Content-Length` used to panic here), and the wasm memory
/// must still hold the parsed weights beside it. The largest released ALBERT checkpoint,
/// albert-xxlarge in f32, is about 0.9 GB; bigger models come sharded. The CLI has the same cap.
pub const MAX_FILE_BYTES: u64 = (1 << 31) - 1;

/// A download that receives nothing for this long has stalled; `?stall_ms=` overrides it (tests).
pub const STALL_MS: u32 = 30_000;

/// A fetched file: bytes and the server's ETag.
pub struct Fetched {
    pub bytes: Vec<u8>,
    pub etag: Option<String>,
}

/// The bytes of a download that stopped partway, kept to ask for the rest (`Range: bytes=N-`).
#[derive(Default)]
pub struct Partial {
    pub bytes: Vec<u8>,
    /// The file's size, as the first answer gave it.
    pub total: Option<u64>,
    /// The first answer's ETag: a resumed part must come from the same file.
    pub etag: Option<String>,
}

/// Why a download did not give a file.
pub enum FetchError {
    /// It cannot be fetched (refused, not allowed, too big): why, in words.
    Failed(String),
    /// It stopped partway (a stall, a broken connection): why, and the bytes so far.
    Interrupted { why: String, stalled: bool, partial: Partial },
    /// The user (or a newer load) cancelled it: the bytes so far.
    Cancelled(Partial),
}

/// Cancels a load's downloads: the one in flight is aborted and the next does not start.
#[derive(Clone, Default)]
pub struct Cancel(std::rc::Rc<CancelInner>);

#[derive(Default)]
struct CancelInner {
    cancelled: std::cell::Cell<bool>,
    current: std::cell::RefCell<Option<web_sys::AbortController>>,
}

impl Cancel {
    pub fn cancel(&self) {
        self.0.cancelled.set(true);
        if let Some(c) = self.0.current.borrow_mut().take() {
            c.abort();
        }
    }

    /// The same load's handle.
    pub fn same(&self, other: &Cancel) -> bool {
        std::rc::Rc::ptr_eq(&self.0, &other.0)
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.cancelled.get()
    }

    fn attach(&self, c: &web_sys::AbortController) {
        *self.0.current.borrow_mut() = Some(c.clone());
    }
}

/// How to fetch one model file.
pub struct FetchOptions<'a> {
    /// The file's name, for messages.
    pub name: &'a str,
    pub stall_ms: u32,
    pub cancel: &'a Cancel,
    /// Bytes an earlier try received: the rest is asked for.
    pub resume: Option<Partial>,
}

/// `promise`'s outcome, or `Ok(None)` when `ms` pass first (the timer is cleared either way).
pub(super) async fn within(promise: &Promise, ms: u32) -> Result<Option<JsValue>, JsValue> {
    let sentinel = js_sys::Object::new();
    let mut id = None;
    let timer = Promise::new(&mut |resolve, _reject| {
        id = window()
            .set_timeout_with_callback_and_timeout_and_arguments_1(&resolve, ms.min(i32::MAX as u32) as i32, &sentinel)
            .ok();
    });
    let out = JsFuture::from(Promise::race(&js_sys::Array::of2(promise, &timer))).await;
    if let Some(id) = id {
        window().clear_timeout_with_handle(id);
    }
    match out {
        Ok(v) if js_sys::Object::is(&v, &sentinel) => Ok(None),
        Ok(v) => Ok(Some(v)),
        Err(e) => Err(e),
    }
}

pub(super) fn header(headers: &web_sys::Headers, name: &str) -> Option<String> {
    headers.get(name).ok().flatten().map(|v| v.trim().to_string())
}

/// `bytes START-END/TOTAL` → (START, TOTAL); TOTAL may be `*`.
fn content_range(v: &str) -> Option<(u64, Option<u64>)> {
    let (range, total) = v.strip_prefix("bytes ")?.split_once('/')?;
    let start = range.split_once('-')?.0.trim().parse().ok()?;
    Some((start, total.trim().parse().ok()))
}

/// `owner/name` when `url` is in the Hub's layout (`…/<owner>/<name>/resolve/<rev>/<file>`).
fn repo_id(url: &str) -> Option<String> {
    crate::view_model::hub::repo_label(url).map(|l| l.trim_end_matches(" (Hugging Face)").to_string())
}

fn received(n: usize, total: Option<u64>) -> String {
    match total {
        Some(t) => format!("{n} of {t} bytes received"),
        None => format!("{n} bytes received"),
    }
}

/// Why a file past [`MAX_FILE_BYTES`] is refused (`name` says which file, and where).
pub fn over_cap(name: &str, bytes: u64) -> String {
    format!(
        "{name} is {} ({bytes} bytes), over the {MAX_FILE_BYTES}-byte limit for one model file (2 GiB; the largest \
         ALBERT checkpoint is about 0.9 GB, bigger models come sharded)",
        crate::view_model::format::bytes(bytes)
    )
}

fn too_big(name: &str, url: &str, bytes: u64) -> FetchError {
    FetchError::Failed(over_cap(&format!("{name} at {url}"), bytes))
}

/// GETs a model file, streaming the body so `progress(loaded, total)` sees every chunk, with no
/// referrer and no credentials. `Ok(None)` for HTTP 404/410 (the file does not exist). A stall
/// (`stall_ms` without a byte), a broken connection or a cancel keep the bytes received, and a
/// call with them in `resume` asks for the rest (`Range: bytes=N-`): a 206 whose `Content-Range`
/// starts at N (same total, same ETag when known) is appended, a 200 starts the file again.
pub async fn fetch_with_progress(
    url: &str,
    opts: FetchOptions<'_>,
    mut progress: impl FnMut(u64, Option<u64>),
) -> Result<Option<Fetched>, FetchError> {
    let FetchOptions { name, stall_ms, cancel, resume } = opts;
    let mut partial = resume.unwrap_or_default();
    let mut restarted = false;
    loop {
        if cancel.is_cancelled() {
            return Err(FetchError::Cancelled(partial));
        }
        let from = partial.bytes.len();
        let controller = web_sys::AbortController::new().map_err(|e| FetchError::Failed(describe(&e)))?;
        cancel.attach(&controller);
        let init = private_request("GET", &controller);
        // The page keeps its own verified copy (cache.rs): the HTTP cache would hold a second one,
        // and its own handling of truncated entries would answer our Range requests in its place.
        init.set_cache(web_sys::RequestCache::NoStore);
        if from > 0 {
            let headers = web_sys::Headers::new().map_err(|e| FetchError::Failed(describe(&e)))?;
            let _ = headers.set("Range", &format!("bytes={from}-"));
            init.set_headers(&headers);
        }
        let request = window().fetch_with_str_and_init(url, &init);
        let resp = match within(&request, stall_ms).await {
            Ok(Some(r)) => r,
            Ok(None) => {
                controller.abort();
                let why = format!("stalled: no answer for {} s ({})", secs(stall_ms), received(from, partial.total));
                return Err(FetchError::Interrupted { why, stalled: true, partial });
            }
            Err(_) if cancel.is_cancelled() => return Err(FetchError::Cancelled(partial)),
            Err(e) if from > 0 => {
                let why = format!("broke off ({}; {})", describe(&e), received(from, partial.total));
                return Err(FetchError::Interrupted { why, stalled: false, partial });
            }
            Err(e) => {
                return Err(FetchError::Failed(format!(
                    "could not fetch {url}: {} (offline, wrong host, or the server refuses cross-origin requests)",
                    describe(&e)
                )))
            }
        };
        let resp: web_sys::Response =
            resp.dyn_into().map_err(|_| FetchError::Failed(format!("fetch({url}) did not give a Response")))?;
        let headers = resp.headers();
        let status = resp.status();
        let code = header(&headers, "x-error-code");
        // Compressed bodies report the compressed length: only trust it as a size when identity.
        let encoded = header(&headers, "content-encoding").is_some_and(|e| !e.eq_ignore_ascii_case("identity"));
        let length = if encoded { None } else { header(&headers, "content-length").and_then(|v| v.parse::<u64>().ok()) };
        let etag = header(&headers, "etag").or_else(|| header(&headers, "x-linked-etag"));
        match status {
            200 => {
                // A first answer, or a server that ignored Range: the whole file.
                partial = Partial { bytes: Vec::new(), total: length, etag: etag.clone() };
            }
            206 if from > 0 => {
                let range = header(&headers, "content-range").and_then(|v| content_range(&v));
                let same_file = partial.etag.is_none() || etag.is_none() || partial.etag == etag;
                let fits = match range {
                    Some((start, t)) => start == from as u64 && (partial.total.is_none() || t.is_none() || t == partial.total),
                    // Content-Range not readable (not exposed to this page): the rest's length must fit.
                    None => partial.total.zip(length).is_some_and(|(t, l)| t == from as u64 + l),
                };
                if !(fits && same_file) {
                    // Another part or another file: trust none of it, start again once.
                    controller.abort();
                    if restarted {
                        return Err(FetchError::Failed(format!("{url} answered a Range request with the wrong part")));
                    }
                    restarted = true;
                    partial = Partial::default();
                    continue;
                }
                if partial.total.is_none() {
                    partial.total = range.and_then(|r| r.1);
                }
            }
            416 if from > 0 => {
                restarted = true;
                partial = Partial::default();
                continue;
            }
            404 | 410 if from == 0 && code.as_deref() != Some("RepoNotFound") => return Ok(None),
            _ => {
                let hub = repo_id(url).map(|id| crate::view_model::hub::explain_error(&id, Some(name), status, code.as_deref()));
                let why = match (hub, status) {
                    (Some(h), _) => format!("{h} (HTTP {status} for {url})"),
                    (None, 401 | 403) => format!(
                        "HTTP {status} {} for {url} (private or gated model? only public files can be fetched)",
                        resp.status_text()
                    ),
                    (None, _) => format!("HTTP {status} {} for {url}", resp.status_text()),
                };
                return Err(FetchError::Failed(why));
            }
        }
        let total = partial.total;
        if let Some(t) = total {
            if t > MAX_FILE_BYTES {
                controller.abort();
                return Err(too_big(name, url, t));
            }
        }
        progress(from as u64, total);
        let Some(body) = resp.body() else {
            // No stream (old engines): the whole body at once.
            let buf = match resp.array_buffer() {
                Ok(p) => JsFuture::from(p).await,
                Err(e) => Err(e),
            };
            let buf = buf.map_err(|e| FetchError::Failed(format!("download of {name} from {url} failed: {}", describe(&e))))?;
            let mut body = Body::after(partial);
            if body.len() as u64 + Uint8Array::new(&buf).length() as u64 > MAX_FILE_BYTES {
                return Err(too_big(name, url, body.len() as u64 + Uint8Array::new(&buf).length() as u64));
            }
            body.push(Uint8Array::new(&buf));
            progress(body.len() as u64, total);
            let partial = body.into_partial();
            return Ok(Some(Fetched { bytes: partial.bytes, etag: partial.etag }));
        };
        let reader: web_sys::ReadableStreamDefaultReader = body
            .get_reader()
            .dyn_into()
            .map_err(|_| FetchError::Failed("the response body has no default reader".to_string()))?;
        let mut body = Body::after(partial);
        loop {
            let chunk = match within(&reader.read(), stall_ms).await {
                Ok(Some(c)) => c,
                Ok(None) => {
                    controller.abort();
                    let why = format!("stalled: no data for {} s ({})", secs(stall_ms), received(body.len(), total));
                    return Err(FetchError::Interrupted { why, stalled: true, partial: body.into_partial() });
                }
                Err(_) if cancel.is_cancelled() => return Err(FetchError::Cancelled(body.into_partial())),
                Err(e) => {
                    let why = format!("broke off ({}; {})", describe(&e), received(body.len(), total));
                    return Err(FetchError::Interrupted { why, stalled: false, partial: body.into_partial() });
                }
            };
            if get(&chunk, "done").as_bool().unwrap_or(true) {
                break;
            }
            let value = get(&chunk, "value");
            if let Ok(arr) = value.dyn_into::<Uint8Array>() {
                let after = body.len() as u64 + arr.length() as u64;
                if after > total.unwrap_or(MAX_FILE_BYTES).min(MAX_FILE_BYTES) {
                    controller.abort();
                    return Err(match total {
                        Some(t) if t <= MAX_FILE_BYTES => FetchError::Failed(format!(
                            "{url} sent more than the {t} bytes its Content-Length announced"
                        )),
                        _ => too_big(name, url, after),
                    });
                }
                body.push(arr);
            }
            progress(body.len() as u64, total);
        }
        if let Some(t) = total {
            if body.len() as u64 != t {
                let why = format!("broke off: the connection closed early ({})", received(body.len(), total));
                return Err(FetchError::Interrupted { why, stalled: false, partial: body.into_partial() });
            }
        }
        let partial = body.into_partial();
        return Ok(Some(Fetched { bytes: partial.bytes, etag: partial.etag }));
    }
}

/// A body as it arrives: the chunks stay in JS memory, and are copied into wasm memory once, at
/// the exact size, when the file is complete or stops. Growing a `Vec` as chunks come would
/// leave the wasm memory (which never shrinks) at up to 2.5× the file after its last
/// reallocation, and would reserve ahead of the bytes received.
struct Body {
    /// Bytes an earlier try received.
    prefix: Partial,
    chunks: Vec<Uint8Array>,
    len: usize,
}

impl Body {
    fn after(prefix: Partial) -> Body {
        let len = prefix.bytes.len();
        Body { prefix, chunks: Vec::new(), len }
    }

    fn len(&self) -> usize {
        self.len
    }

    fn push(&mut self, chunk: Uint8Array) {
        self.len += chunk.length() as usize;
        self.chunks.push(chunk);
    }

    fn into_partial(self) -> Partial {
        let Body { mut prefix, chunks, len } = self;
        // `len` is at most MAX_FILE_BYTES (checked as chunks come), so this fits wasm32.
        prefix.bytes.reserve_exact(len - prefix.bytes.len());
        for c in chunks {
            let start = prefix.bytes.len();
            prefix.bytes.resize(start + c.length() as usize, 0);
            c.copy_to(&mut prefix.bytes[start..]);
        }
        prefix
    }
}

/// Seconds for messages: `30`, `0.5`.
pub fn secs(ms: u32) -> String {
    if ms.is_multiple_of(1000) {
        (ms / 1000).to_string()
    } else {
        format!("{}", ms as f64 / 1000.0)
    }
}
