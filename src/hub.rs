//! Asks the Hub about the official checkpoints before anything is downloaded: one request to its
//! model API per repo (the files and their sizes), with a time limit, no referrer and no
//! credentials. What the answers mean is `view_model::hub`.

use js_sys::{Array, Promise};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::view_model::hub::{api_url, explain_error, plan_from_api, Availability};
use crate::web::{self, describe, window};

/// How long the Hub gets to answer one question before the picker calls it unreachable.
const ASK_TIMEOUT_MS: i32 = 10_000;

/// `fetch(url)` without a referrer, rejected after `ms` (the request is aborted).
async fn fetch_with_timeout(url: &str, ms: i32) -> Result<web_sys::Response, String> {
    let controller = web_sys::AbortController::new().map_err(|e| describe(&e))?;
    let init = crate::web::request::private_request("GET", &controller);
    let fetch = window().fetch_with_str_and_init(url, &init);
    let abort = controller.clone();
    let timer = Promise::new(&mut |_resolve, reject| {
        let reject = reject.clone();
        let abort = abort.clone();
        let cb = wasm_bindgen::closure::Closure::once_into_js(move || {
            abort.abort();
            let _ = reject.call1(&JsValue::NULL, &JsValue::from_str(&format!("no answer within {} s", ms / 1000)));
        });
        let _ = window().set_timeout_with_callback_and_timeout_and_arguments_0(cb.unchecked_ref(), ms);
    });
    let race = Promise::race(&Array::of2(&fetch, &timer));
    let resp = JsFuture::from(race).await.map_err(|e| describe(&e))?;
    resp.dyn_into::<web_sys::Response>().map_err(|_| "fetch did not give a Response".to_string())
}

/// What the Hub at `hub` says about repo `id`: its download size, or why it cannot be loaded,
/// or why the Hub could not be asked.
pub async fn ask(hub: &str, id: &str) -> Availability {
    if !web::online() {
        return Availability::Unreachable("the browser is offline".into());
    }
    let resp = match fetch_with_timeout(&api_url(hub, id), ASK_TIMEOUT_MS).await {
        Ok(r) => r,
        Err(e) => return Availability::Unreachable(format!("the Hub at {hub} could not be reached ({e})")),
    };
    if !resp.ok() {
        let code = resp.headers().get("x-error-code").ok().flatten();
        return Availability::NotLoadable(explain_error(id, None, resp.status(), code.as_deref()));
    }
    let text = match resp.text() {
        Ok(p) => JsFuture::from(p).await.ok().and_then(|v| v.as_string()),
        Err(_) => None,
    };
    let Some(text) = text else {
        return Availability::Unreachable(format!("the Hub at {hub} sent an unreadable answer"));
    };
    match plan_from_api(&text) {
        Ok(plan) => Availability::Ready { bytes: plan.bytes },
        Err(why) => Availability::NotLoadable(why),
    }
}
