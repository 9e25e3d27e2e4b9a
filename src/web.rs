//! Small browser helpers: timers, clocks, URLs, SHA-256, local storage, picked files; the
//! downloads are in `fetch`, private and small requests in `request`.

pub mod fetch;
pub mod request;

use js_sys::{Promise, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use fetch::{over_cap, MAX_FILE_BYTES};

pub fn window() -> web_sys::Window {
    web_sys::window().expect("albert-lens runs in a browser window")
}

/// The document's base URL, against which files next to index.html resolve.
pub fn document_base() -> String {
    window().document().and_then(|d| d.base_uri().ok().flatten()).unwrap_or_else(location_href)
}

/// Reads `target[key]` (undefined when absent).
pub fn get(target: &JsValue, key: &str) -> JsValue {
    Reflect::get(target, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

/// A JS error or rejection as text.
pub fn describe(err: &JsValue) -> String {
    if let Some(s) = err.as_string() {
        return s;
    }
    let message = get(err, "message").as_string().unwrap_or_default();
    let name = get(err, "name").as_string().unwrap_or_default();
    match (name.is_empty(), message.is_empty()) {
        (_, true) => format!("{err:?}"),
        (true, false) => message,
        (false, false) => format!("{name}: {message}"),
    }
}

/// Resolves after `ms` milliseconds (a macrotask: the page renders and handles input meanwhile).
pub async fn sleep(ms: i32) {
    let promise = Promise::new(&mut |resolve, _reject| {
        let _ = window().set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
    });
    let _ = JsFuture::from(promise).await;
}

/// Lets the browser paint and handle events before heavy synchronous work.
pub async fn yield_now() {
    sleep(0).await;
}

/// `performance.now()` in milliseconds.
pub fn now_ms() -> f64 {
    window().performance().map(|p| p.now()).unwrap_or_else(js_sys::Date::now)
}

pub fn location_search() -> String {
    window().location().search().unwrap_or_default()
}

pub fn location_href() -> String {
    window().location().href().unwrap_or_default()
}

/// Resolves a possibly relative URL against the page.
pub fn absolute_url(url: &str) -> Result<String, String> {
    web_sys::Url::new_with_base(url, &location_href())
        .map(|u| u.href())
        .map_err(|e| format!("\"{url}\" is not a valid URL ({})", describe(&e)))
}

/// Rewrites the page's query string without navigating (so the URL stays shareable).
pub fn replace_query(query: &str) {
    // A history entry is rewritten only when the query changes: views keep the URL in step on
    // every forward, and an unchanged `replaceState` still cost the page ~30 ms a forward
    // (a same-document navigation: issue 13 item 2).
    if location_search() == query {
        return;
    }
    let loc = window().location();
    let path = loc.pathname().unwrap_or_else(|_| "/".into());
    let hash = loc.hash().unwrap_or_default();
    if let Ok(history) = window().history() {
        let _ = history.replace_state_with_url(&JsValue::NULL, "", Some(&format!("{path}{query}{hash}")));
    }
}

/// `navigator.onLine`: false when the browser knows it is offline (true can still mean no route).
pub fn online() -> bool {
    window().navigator().on_line()
}

/// Calls `f(online)` on every `online` / `offline` event of the window, for the page's lifetime.
pub fn on_online_change(f: impl Fn(bool) + 'static) {
    let f = std::rc::Rc::new(f);
    for (event, value) in [("online", true), ("offline", false)] {
        let f = f.clone();
        let cb = wasm_bindgen::closure::Closure::<dyn Fn()>::new(move || f(value));
        let _ = window().add_event_listener_with_callback(event, cb.as_ref().unchecked_ref());
        cb.forget(); // the listener lives as long as the page
    }
}

pub fn local_storage_get(key: &str) -> Option<String> {
    window().local_storage().ok().flatten()?.get_item(key).ok().flatten()
}

pub fn local_storage_set(key: &str, value: Option<&str>) {
    if let Some(s) = window().local_storage().ok().flatten() {
        let _ = match value {
            Some(v) => s.set_item(key, v),
            None => s.remove_item(key),
        };
    }
}

/// Lower-case hex SHA-256 via SubtleCrypto (fast, native, async).
pub async fn sha256_hex(bytes: &[u8]) -> Result<String, String> {
    sha256_hex_js(&Uint8Array::from(bytes)).await
}

/// SHA-256 of bytes already copied to JS (saves a copy when they are also stored).
pub async fn sha256_hex_js(data: &Uint8Array) -> Result<String, String> {
    let subtle = window().crypto().map_err(|e| describe(&e))?.subtle();
    let promise = subtle.digest_with_str_and_buffer_source("SHA-256", data).map_err(|e| describe(&e))?;
    let digest = JsFuture::from(promise).await.map_err(|e| describe(&e))?;
    Ok(crate::view_model::store::hex(&Uint8Array::new(&digest).to_vec()))
}

/// Reads a local file picked or dropped by the user; one over [`MAX_FILE_BYTES`] is refused
/// before it is read.
pub async fn read_file(file: &web_sys::File) -> Result<Vec<u8>, String> {
    let size = file.size();
    if size > MAX_FILE_BYTES as f64 {
        return Err(over_cap(&file.name(), size as u64));
    }
    let buf = JsFuture::from(file.array_buffer()).await.map_err(|e| format!("cannot read {}: {}", file.name(), describe(&e)))?;
    Ok(Uint8Array::new(&buf).to_vec())
}

/// `navigator.userAgent`.
pub fn user_agent() -> String {
    window().navigator().user_agent().unwrap_or_default()
}

/// (usage, quota) bytes from `navigator.storage.estimate()`.
pub async fn storage_estimate() -> Option<(f64, f64)> {
    let promise = window().navigator().storage().estimate().ok()?;
    let est: web_sys::StorageEstimate = JsFuture::from(promise).await.ok()?.unchecked_into();
    Some((est.get_usage()?, est.get_quota()?))
}
