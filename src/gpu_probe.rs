//! Browser-only: asks `navigator.gpu.requestAdapter()` for a WebGPU adapter.
//! Uses `js_sys::Reflect` rather than web-sys's WebGPU types, which would need
//! the `web_sys_unstable_apis` cfg.

use js_sys::{Function, Promise, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::view_model::{AdapterInfo, Probe};

fn get(target: &JsValue, key: &str) -> JsValue {
    Reflect::get(target, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

fn get_string(target: &JsValue, key: &str) -> String {
    get(target, key).as_string().unwrap_or_default()
}

fn describe(err: &JsValue) -> String {
    if let Some(s) = err.as_string() {
        return s;
    }
    let message = get_string(err, "message");
    if !message.is_empty() {
        return message;
    }
    format!("{err:?}")
}

/// Probes for an adapter; the flag says whether it offers `shader-f16`.
pub async fn probe() -> (Probe, bool) {
    let p = probe_adapter().await;
    let f16 = SHADER_F16.with(std::cell::Cell::get);
    (p, f16)
}

thread_local! {
    static SHADER_F16: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

async fn probe_adapter() -> Probe {
    let Some(window) = web_sys::window() else {
        return Probe::Failed("no window".into());
    };
    let gpu = get(&window.navigator(), "gpu");
    if gpu.is_undefined() || gpu.is_null() {
        return Probe::NoWebGpuApi;
    }
    let Ok(request_adapter) = get(&gpu, "requestAdapter").dyn_into::<Function>() else {
        return Probe::Failed("navigator.gpu.requestAdapter is not a function".into());
    };
    let promise = match request_adapter.call0(&gpu) {
        Ok(p) => p,
        Err(e) => return Probe::Failed(describe(&e)),
    };
    let Ok(promise) = promise.dyn_into::<Promise>() else {
        return Probe::Failed("requestAdapter() did not return a promise".into());
    };
    let adapter = match JsFuture::from(promise).await {
        Ok(a) => a,
        Err(e) => return Probe::Failed(describe(&e)),
    };
    if adapter.is_undefined() || adapter.is_null() {
        return Probe::NoAdapter;
    }
    let features = get(&adapter, "features");
    if let Ok(has) = get(&features, "has").dyn_into::<Function>() {
        let f16 = has.call1(&features, &JsValue::from_str("shader-f16")).map(|v| v.is_truthy()).unwrap_or(false);
        SHADER_F16.with(|c| c.set(f16));
    }
    // `GPUAdapter.info` (Chrome 127+, Firefox 141+); absent on older browsers.
    let info = get(&adapter, "info");
    let info = if info.is_object() {
        AdapterInfo {
            vendor: get_string(&info, "vendor"),
            architecture: get_string(&info, "architecture"),
            device: get_string(&info, "device"),
            description: get_string(&info, "description"),
        }
    } else {
        AdapterInfo::default()
    };
    Probe::Adapter(info)
}
