//! A hook for long-session tests: `window.albertLensStats()` returns the wasm memory's size and
//! the GPU buffers the engine has created so far (tests/e2e/soak.test.mjs watches both stay
//! flat over hundreds of forwards; anyone can call it in the console). Reading costs nothing.

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

fn stats() -> JsValue {
    let o = js_sys::Object::new();
    let bytes = wasm_bindgen::memory().unchecked_into::<js_sys::WebAssembly::Memory>().buffer().unchecked_into::<js_sys::ArrayBuffer>().byte_length();
    let _ = js_sys::Reflect::set(&o, &"wasmMemoryBytes".into(), &JsValue::from_f64(bytes as f64));
    let _ = js_sys::Reflect::set(&o, &"gpuBuffersCreated".into(), &JsValue::from_f64(albert::gpu::buffers_created() as f64));
    o.into()
}

/// Puts `albertLensStats` on `window` (once, at start).
pub fn install() {
    let f = Closure::<dyn Fn() -> JsValue>::new(stats);
    let _ = js_sys::Reflect::set(&crate::web::window(), &"albertLensStats".into(), f.as_ref());
    f.forget();
}
