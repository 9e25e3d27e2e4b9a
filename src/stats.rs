//! A hook for long-session tests: `window.albertLensStats()` returns the wasm memory's size (the
//! page's, and the CPU worker's as of its latest reply: `workerWasmMemoryBytes`) and
//! the GPU buffers the engine has created so far (tests/e2e/soak.test.mjs watches both stay
//! flat over hundreds of forwards; anyone can call it in the console). Reading costs nothing.
//! It also carries the page's first prediction, broken down (`firstPrediction`: wasm start,
//! files, pipeline compilation, parse and upload, the first forward and the total since
//! navigation; `bridge` when the CPU answered while WebGPU got ready, and then `gpuReadyMs` and
//! `gpuCompileMs` say when WebGPU took over and how long its pipelines took), which
//! tests/e2e/first-prediction.test.mjs reports, and how many forwards of the
//! sentence finished and the longest (`forwards`, `longestForwardMs`: tests/e2e/responsive.test.mjs
//! compares the page's long tasks with them), and the bytes the latest of them returned
//! (`lastForwardBytes`: GPU readback or the CPU worker's reply, issue 13 item 3), and the
//! threads the CPU worker's forwards use (`workerThreads`: it and its helpers, issue 15 item 3)
//! and how many products it handed to its helpers (`workerSharedProducts`), and the build its
//! products ran on, as it said (`cpuKernel`: `relaxed-simd` or `simd128`, `cpu_module`).

use std::cell::{Cell, RefCell};

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::state::LoadTimings;

thread_local! {
    /// `performance.now()` when `main` began: the wasm download, compile and start.
    static STARTED_MS: Cell<f64> = const { Cell::new(0.0) };
    static FIRST: RefCell<Option<js_sys::Object>> = const { RefCell::new(None) };
    /// Forwards of the sentence that finished (shown or not): tests check that typing ran some.
    static FORWARDS: Cell<u32> = const { Cell::new(0) };
    /// The longest of them, in ms (tokenizing, the forward and the top-k).
    static LONGEST_FORWARD_MS: Cell<f64> = const { Cell::new(0.0) };
    /// Bytes the latest successful forward of the sentence returned.
    static LAST_FORWARD_BYTES: Cell<Option<f64>> = const { Cell::new(None) };
    /// The CPU worker's wasm memory with its latest reply (`None`: no worker).
    static WORKER_MEMORY: Cell<Option<f64>> = const { Cell::new(None) };
    /// The threads the CPU worker's forwards use (itself and its helpers), and the products it
    /// handed to its helpers, as its latest reply said.
    static WORKER_THREADS: Cell<Option<(f64, f64)>> = const { Cell::new(None) };
    /// The CPU worker's build, as its latest reply said (`simd128`, `relaxed-simd`).
    static WORKER_KERNEL: RefCell<Option<String>> = const { RefCell::new(None) };
    /// When (ms since navigation) the latest load's WebGPU model was installed, and its
    /// pipelines' compilation time.
    static GPU_READY: Cell<Option<(f64, f64)>> = const { Cell::new(None) };
}

/// A load's WebGPU model is installed (after the CPU bridge, or without one).
pub fn gpu_ready(compile_ms: f64) {
    GPU_READY.with(|g| g.set(Some((crate::web::now_ms(), compile_ms))));
}

/// The CPU worker's threads and shared products, as its latest reply said.
pub fn worker_threads(n: f64, shared_products: f64) {
    WORKER_THREADS.with(|w| w.set(Some((n, shared_products))));
}

/// The CPU worker's build, as its latest reply said.
pub fn worker_kernel(kernel: &str) {
    WORKER_KERNEL.with(|k| {
        if k.borrow().as_deref() != Some(kernel) {
            *k.borrow_mut() = Some(kernel.to_string());
        }
    });
}

/// The CPU worker's build (`None`: no worker has answered).
pub fn cpu_kernel() -> Option<String> {
    WORKER_KERNEL.with(|k| k.borrow().clone())
}

/// The CPU worker's threads (`None`: no worker has answered).
pub fn cpu_threads() -> Option<usize> {
    WORKER_THREADS.with(Cell::get).map(|(n, _)| n as usize)
}

/// The CPU worker's wasm memory, as its latest reply said.
pub fn worker_memory(bytes: f64) {
    WORKER_MEMORY.with(|w| w.set(Some(bytes)));
}

/// One forward of the sentence finished; when it succeeded, its time (ms) and the bytes it
/// returned.
pub fn count_forward(done: Option<(f64, usize)>) {
    FORWARDS.with(|f| f.set(f.get() + 1));
    if let Some((ms, bytes)) = done {
        LONGEST_FORWARD_MS.with(|l| l.set(l.get().max(ms)));
        LAST_FORWARD_BYTES.with(|b| b.set(Some(bytes as f64)));
    }
}

/// Called first thing in `main`.
pub fn mark_start() {
    STARTED_MS.with(|s| s.set(crate::web::now_ms()));
}

fn set(o: &js_sys::Object, key: &str, v: Option<f64>) {
    let _ = js_sys::Reflect::set(o, &key.into(), &v.map_or(JsValue::NULL, JsValue::from_f64));
}

/// Records the page's first prediction (once): the model's load timings and the time since
/// navigation when its predictions were shown.
pub fn first_prediction(t: &LoadTimings, from_cache: bool) {
    FIRST.with(|f| {
        if f.borrow().is_some() {
            return;
        }
        let o = js_sys::Object::new();
        set(&o, "wasmStartMs", Some(STARTED_MS.with(Cell::get)));
        set(&o, "filesMs", Some(t.files_ms));
        set(&o, "compileMs", t.compile_ms);
        set(&o, "initMs", Some(t.init_ms));
        set(&o, "firstForwardMs", t.first_forward_ms);
        set(&o, "totalMs", Some(crate::web::now_ms()));
        let _ = js_sys::Reflect::set(&o, &"fromCache".into(), &JsValue::from_bool(from_cache));
        let _ = js_sys::Reflect::set(&o, &"bridge".into(), &JsValue::from_bool(t.bridge));
        *f.borrow_mut() = Some(o);
    });
}


fn stats() -> JsValue {
    let o = js_sys::Object::new();
    let bytes = wasm_bindgen::memory().unchecked_into::<js_sys::WebAssembly::Memory>().buffer().unchecked_into::<js_sys::ArrayBuffer>().byte_length();
    let _ = js_sys::Reflect::set(&o, &"wasmMemoryBytes".into(), &JsValue::from_f64(bytes as f64));
    let _ = js_sys::Reflect::set(&o, &"gpuBuffersCreated".into(), &JsValue::from_f64(albert::gpu::buffers_created() as f64));
    let first = FIRST.with(|f| f.borrow().clone().map_or(JsValue::NULL, JsValue::from));
    let _ = js_sys::Reflect::set(&o, &"firstPrediction".into(), &first);
    let gpu = GPU_READY.with(Cell::get);
    set(&o, "gpuReadyMs", gpu.map(|g| g.0));
    set(&o, "gpuCompileMs", gpu.map(|g| g.1));
    let _ = js_sys::Reflect::set(&o, &"forwards".into(), &JsValue::from_f64(FORWARDS.with(Cell::get).into()));
    let _ = js_sys::Reflect::set(&o, &"longestForwardMs".into(), &JsValue::from_f64(LONGEST_FORWARD_MS.with(Cell::get)));
    set(&o, "lastForwardBytes", LAST_FORWARD_BYTES.with(Cell::get));
    let worker = WORKER_MEMORY.with(Cell::get).map_or(JsValue::NULL, JsValue::from_f64);
    let _ = js_sys::Reflect::set(&o, &"workerWasmMemoryBytes".into(), &worker);
    let threads = WORKER_THREADS.with(Cell::get);
    set(&o, "workerThreads", threads.map(|t| t.0));
    set(&o, "workerSharedProducts", threads.map(|t| t.1));
    let kernel = cpu_kernel().map_or(JsValue::NULL, JsValue::from);
    let _ = js_sys::Reflect::set(&o, &"cpuKernel".into(), &kernel);
    o.into()
}

/// Puts `albertLensStats` on `window` (once, at start).
pub fn install() {
    let f = Closure::<dyn Fn() -> JsValue>::new(stats);
    let _ = js_sys::Reflect::set(&crate::web::window(), &"albertLensStats".into(), f.as_ref());
    f.forget();
}
