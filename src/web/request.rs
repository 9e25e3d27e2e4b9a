//! Requests that tell the server nothing about the visitor (`private_request`: no credentials,
//! no referrer), and the small reads: a file's size (HEAD) and a small JSON file, each within a
//! deadline; the build's own text files past the HTTP cache. The model files' downloads are in
//! `fetch`.

use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use super::fetch::{header, within};
use super::window;

/// A cross-origin request that tells the server nothing about the visitor: no credentials, no
/// referrer (the typed sentence is in the page's URL), abortable through `controller`. Every
/// request for model files and Hub metadata starts here.
pub fn private_request(method: &str, controller: &web_sys::AbortController) -> web_sys::RequestInit {
    let init = web_sys::RequestInit::new();
    init.set_method(method);
    init.set_mode(web_sys::RequestMode::Cors);
    init.set_credentials(web_sys::RequestCredentials::Omit);
    init.set_referrer_policy(web_sys::ReferrerPolicy::NoReferrer);
    init.set_signal(Some(&controller.signal()));
    init
}

/// A private `method` request (no referrer, no credentials, redirects followed) answered within
/// `ms`: the response and its controller, which aborts the body; `None` when no answer came in
/// time (the request is aborted) or it failed.
async fn answer_within(method: &str, url: &str, ms: u32) -> Option<(web_sys::Response, web_sys::AbortController)> {
    let controller = web_sys::AbortController::new().ok()?;
    let init = private_request(method, &controller);
    let Ok(Some(resp)) = within(&window().fetch_with_str_and_init(url, &init), ms).await else {
        controller.abort();
        return None;
    };
    Some((resp.dyn_into().ok()?, controller))
}

/// Asks a server, before any download, how big a file is: a HEAD request and its
/// `Content-Length`, within `ms`.
pub async fn head_size(url: &str, ms: u32) -> Option<u64> {
    let (resp, _) = answer_within("HEAD", url, ms).await?;
    if !resp.ok() {
        return None;
    }
    header(&resp.headers(), "content-length").and_then(|v| v.parse().ok())
}

/// GETs a small JSON file within `ms` (no referrer, no credentials); `None` on any failure.
pub async fn fetch_small_text(url: &str, ms: u32) -> Option<String> {
    let (resp, controller) = answer_within("GET", url, ms).await?;
    let len = header(&resp.headers(), "content-length").and_then(|v| v.parse::<u64>().ok());
    if !resp.ok() || len.is_some_and(|l| l > 1 << 20) {
        controller.abort();
        return None;
    }
    JsFuture::from(resp.text().ok()?).await.ok()?.as_string()
}

/// GETs a small text file, bypassing the HTTP cache; `None` on any failure (offline included).
pub async fn fetch_text_fresh(url: &str) -> Option<String> {
    let init = web_sys::RequestInit::new();
    init.set_method("GET");
    init.set_cache(web_sys::RequestCache::NoStore);
    let resp = JsFuture::from(window().fetch_with_str_and_init(url, &init)).await.ok()?;
    let resp: web_sys::Response = resp.dyn_into().ok()?;
    if !resp.ok() {
        return None;
    }
    JsFuture::from(resp.text().ok()?).await.ok()?.as_string()
}
