//! Loading a model: its files (network, cache or disk), then WebGPU (`gpu`: the device, this
//! dtype's pipelines, the weights) with the CPU bridge answering meanwhile
//! (`view_model::bridge`), or the CPU path; a GPU failure falls back to the CPU, and a load that
//! is no longer the newest drops its result.

use std::cell::Cell;
use std::future::Future;

use albert::FillMask;
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::bench::run_bench;
use super::fill::request_now;
use super::gpu::{self, OnGpu};
use super::set_status;
use super::storage::refresh_storage;
use crate::cache::ModelCache;
use crate::loader::{self, Again, Confirm, LoadError, Loaded, Source};
use crate::state::{AppState, BenchState, LoadTimings, ModelView};
use crate::view_model::bridge::{self, GpuStep};
use crate::view_model::{gpu_failed, Backend, LoadState, Status};
use crate::{engine, web};

/// Starts loading a model (from a button, the Hub picker or the drop zone). The model already
/// loaded keeps answering until the new one's files are in.
pub fn load(state: AppState, source: Source) {
    spawn_local(load_model(state, source));
}

/// How often [`first_answer`] looks (a few frames).
const POLL_MS: i32 = 20;

fn backend_name(b: Option<Backend>) -> &'static str {
    match b {
        Some(Backend::WebGpu) => "WebGPU",
        Some(Backend::Cpu) => "the CPU",
        None => "…",
    }
}

pub async fn load_model(state: AppState, source: Source) {
    load_model_when(state, source, async {}).await
}

/// [`load_model`], once `decided` (the page's start: the WebGPU probe, run while the files are
/// read) has chosen the backend.
pub async fn load_model_when(state: AppState, source: Source, decided: impl Future<Output = ()>) {
    let newest = crate::state::newest_of(state.load_generation);
    let stale = move || !newest();
    state.fill_error.set(None);
    state.load_error.set(None);
    state.loading.set(true);
    let downloads = loader::downloads();
    downloads.retry.set(None);
    downloads.notice.set(None);
    downloads.confirm.set(None);
    let again = Again::of(&source);

    set_status(state, LoadState::Loading, "Fetching model files…");
    let t0 = web::now_ms();
    let loaded = loader::load(source, state.files).await;
    if stale() {
        return;
    }
    let mut loaded = match loaded {
        Ok(l) => l,
        Err(LoadError::Cancelled) => {
            // Retry resumes where the download stopped.
            downloads.retry.set(again);
            return cancelled(state);
        }
        Err(LoadError::Failed { message, retry }) => {
            if retry {
                downloads.retry.set(again);
            }
            return fail(state, message);
        }
    };
    downloads.notice.set(loaded.notice.clone());
    let files_ms = web::now_ms() - t0;
    decided.await;
    if stale() {
        return;
    }
    // The current model answered while the files downloaded (a Hub model takes minutes); it gives
    // way now, before the new weights are parsed and uploaded, so the GPU never holds both.
    state.scheduler.update_value(|s| s.invalidate());
    engine::clear();
    state.model.set(None);
    state.result.set(None);

    // WebGPU (device, pipelines, upload: session::gpu). A small model first answers from a
    // one-thread CPU worker (view_model::bridge), and keeps answering while WebGPU gets ready,
    // or, if the GPU fails, until the CPU path proper is loaded.
    let bridged = Cell::new(false);
    let say = |s: GpuStep| {
        let backend = if bridged.get() { Some(Backend::Cpu) } else { state.backend() };
        state.status.set(Status::new(backend, LoadState::Loading, bridge::step_status(s, bridged.get())));
    };
    let mut outcome = None;
    if state.backend() == Some(Backend::WebGpu) {
        if state.params.with_value(|p| bridge::wanted(p, state.backend(), loaded.files.weights_bytes())) {
            set_status(state, LoadState::Loading, "Starting the CPU worker, which answers while WebGPU gets ready…");
            let t = web::now_ms();
            if let Some(fm) = crate::worker::bridge_model(&loaded.files).await.filter(|_| !stale()) {
                if bridge_in(state, &loaded, fm, files_ms, web::now_ms() - t).await {
                    bridged.set(true);
                    first_answer(state, bridge::FIRST_ANSWER_MS).await;
                }
            }
            if stale() {
                return;
            }
        }
        outcome = Some(gpu::open(state, &loaded.files, &say).await);
        if stale() {
            return;
        }
    }
    let (fm, cpu_note, compile_ms, init_ms) = match outcome {
        Some(OnGpu::Ready { fm, compile_ms, init_ms }) => (Ok(*fm), None, Some(compile_ms), init_ms),
        Some(OnGpu::Model(e)) => (Err(e), None, None, 0.0),
        Some(OnGpu::Failed(why)) => {
            state.decision.set(Some(gpu_failed(&why)));
            let detail = if bridged.get() { bridge::GPU_FAILED_BRIDGED } else { "WebGPU failed; parsing the weights for the CPU…" };
            on_cpu(state, &loaded.files, detail).await
        }
        None => on_cpu(state, &loaded.files, "Parsing the weights for the CPU…").await,
    };
    // The worker started ahead (worker::prestart) is not needed when WebGPU answered alone.
    crate::worker::drop_spare();
    if let Some(note) = cpu_note {
        downloads.notice.update(|n| *n = Some(n.take().map_or(note.clone(), |n| format!("{n} {note}"))));
    }
    if stale() {
        return;
    }
    let fm = match fm {
        Ok(fm) => fm,
        Err(e) => {
            loaded.discard().await;
            if bridged.get() {
                engine::clear();
                state.model.set(None);
                state.result.set(None);
            }
            return fail(state, e.to_string());
        }
    };
    loaded.commit().await;
    let gpu_weight_bytes = fm.backend.gpu_weight_bytes().map(|b| b as u64);
    let info = fm.info.clone();
    let summary = format!(
        "{} · {} parameters · {:?} weights",
        loaded.label,
        crate::view_model::format::count(info.checkpoint_parameters as u64),
        info.dtype
    );
    let mut fm = fm;
    let gpu_model = match &mut fm.backend {
        albert::Backend::Gpu(m) => {
            m.perturb = super::crosscheck::test_perturbation();
            true
        }
        albert::Backend::Cpu(_) | albert::Backend::Remote(_) => false,
    };
    let weights = loaded.files.weights_bytes();
    let crosscheck_off = if !gpu_model {
        Some(super::crosscheck::ON_CPU.to_string())
    } else if weights > engine::KEEP_FILES_BYTES {
        Some(format!(
            "The weights ({}) are over the {} this page keeps in memory to build a CPU twin; the CLI compares the paths: `albert fill --device cpu` and `--device gpu`.",
            crate::view_model::format::bytes(weights as u64),
            crate::view_model::format::bytes(engine::KEEP_FILES_BYTES as u64)
        ))
    } else {
        None
    };
    let files = crosscheck_off.is_none().then(|| std::mem::take(&mut loaded.files));
    if stale() || !engine::install(fm, files).await {
        return;
    }
    if let Some(ms) = compile_ms {
        crate::stats::gpu_ready(ms);
    }
    let timings = LoadTimings { files_ms, compile_ms, init_ms, first_forward_ms: None, bridge: false };
    state.model.set(Some(model_view(&loaded, info, gpu_weight_bytes, timings, crosscheck_off)));
    if bridged.get() {
        // The bridge's predictions stay until WebGPU's replace them; "Ready" then says who answered.
        request_now(state);
        first_answer(state, bridge::TAKEOVER_ANSWER_MS).await;
        if stale() {
            return;
        }
    }
    state.loading.set(false);
    set_status(state, LoadState::Ready, format!("Ready: {summary}, on {}", backend_name(state.backend())));
    spawn_local(refresh_storage(state));
    if state.params.with_value(|p| p.bench) {
        spawn_local(async move {
            run_bench(state).await;
            // Then the page works as usual.
            request_now(state);
        });
    } else if !bridged.get() {
        // (After the bridge, WebGPU's first forward was asked for above.)
        request_now(state);
    }
}

/// Installs the CPU bridge's model (`init_ms`: its worker's start and parse) and runs the
/// sentence on it; WebGPU's model replaces it once ready. `false` when a newer load came first.
async fn bridge_in(state: AppState, loaded: &Loaded, fm: FillMask, files_ms: f64, init_ms: f64) -> bool {
    let info = fm.info.clone();
    if !engine::install(fm, None).await {
        return false;
    }
    let timings = LoadTimings { files_ms, compile_ms: None, init_ms, first_forward_ms: None, bridge: true };
    state.model.set(Some(model_view(loaded, info, None, timings, Some(bridge::CROSSCHECK_WAITS.to_string()))));
    request_now(state);
    true
}

/// The page's description of a loaded model.
fn model_view(loaded: &Loaded, info: albert::ModelInfo, gpu_weight_bytes: Option<u64>, timings: LoadTimings, crosscheck_off: Option<String>) -> ModelView {
    ModelView {
        label: loaded.label.clone(),
        source: loaded.source.clone(),
        info,
        download_bytes: loaded.bytes,
        gpu_weight_bytes,
        from_cache: loaded.from_cache,
        timings,
        crosscheck_off,
        heldout: loaded.heldout.clone(),
    }
}

/// The CPU path for `files` (after a GPU failure, or without WebGPU), with `detail` on the status
/// line meanwhile: (the model, a note for the user, no compilation, its load time in ms).
async fn on_cpu(state: AppState, files: &albert::ModelFiles, detail: &str) -> (albert::Result<FillMask>, Option<String>, Option<f64>, f64) {
    set_status(state, LoadState::Loading, detail);
    web::yield_now().await;
    let t = web::now_ms();
    // The CPU path runs in a Web Worker (crate::worker), so its forwards never block the page.
    let (fm, note) = crate::worker::cpu_model(files).await;
    (fm, note, None, web::now_ms() - t)
}

/// Waits (up to `cap_ms`) until the installed model's first forward has finished: the bridge's,
/// before WebGPU compiles (on a machine with few cores the compiler would otherwise share them
/// with it), and WebGPU's, before the status says it is ready.
async fn first_answer(state: AppState, cap_ms: f64) {
    let t = web::now_ms();
    let answered = move || {
        state.fill_error.with_untracked(Option::is_some)
            || state.model.with_untracked(|m| m.as_ref().is_none_or(|m| m.timings.first_forward_ms.is_some()))
    };
    while !answered() && web::now_ms() - t < cap_ms {
        web::sleep(POLL_MS).await;
    }
}

/// The download was cancelled: the model that ran before keeps running.
fn cancelled(state: AppState) {
    state.loading.set(false);
    match state.model.get_untracked() {
        Some(m) => set_status(state, LoadState::Ready, format!("Download cancelled; still running {}", m.label)),
        None => set_status(state, LoadState::Error, "Download cancelled: no model is loaded (Retry, or load another)"),
    }
    spawn_local(refresh_storage(state));
}

/// Whether a model link (`?model=`) must wait for the user's OK: its files are on another origin
/// than the page's and not all in this browser's cache. Then the question goes up (host, and the
/// weights' size once the server answers a HEAD request) and nothing downloads until a click:
/// a link alone never makes the page fetch hundreds of megabytes from a host the user did not
/// choose. A typed URL and a Hub-picker click are consent themselves and do not come here.
pub async fn ask_first(state: AppState, url: &str) -> bool {
    let Ok(abs) = web::absolute_url(url) else { return false };
    let (Ok(target), Ok(page)) = (web_sys::Url::new(&abs), web_sys::Url::new(&web::location_href())) else { return false };
    if target.origin() == page.origin() {
        return false;
    }
    if let Ok(c) = ModelCache::open().await {
        if c.record(&abs).await.is_some() {
            return false;
        }
    }
    let host = target.host();
    loader::downloads().confirm.set(Some(Confirm { url: url.to_string(), host: host.clone(), bytes: None, asked: false }));
    set_status(state, LoadState::Loading, format!("Waiting for your OK to download a model from {host} (see the Model card)"));
    spawn_local(async move {
        let bytes = weights_size(&abs).await;
        loader::downloads().confirm.update(|c| {
            if let Some(c) = c.as_mut().filter(|c| c.host == host) {
                c.bytes = bytes;
                c.asked = true;
            }
        });
    });
    true
}

/// The weights' size before downloading them: a sharded index's `metadata.total_size`, else the
/// `Content-Length` of a HEAD request for model.safetensors (redirects followed, as to the Hub's CDN).
async fn weights_size(base: &str) -> Option<u64> {
    const ASK_MS: u32 = 10_000;
    if let Some(index) = web::request::fetch_small_text(&format!("{base}model.safetensors.index.json"), ASK_MS).await {
        let v: serde_json::Value = serde_json::from_str(&index).ok()?;
        return v.get("metadata")?.get("total_size")?.as_u64();
    }
    web::request::head_size(&format!("{base}model.safetensors"), ASK_MS).await
}

/// The user's answer to the cross-origin question: download (`true`), or run the embedded model.
pub fn answer_confirm(state: AppState, download: bool) {
    let downloads = loader::downloads();
    let Some(c) = downloads.confirm.get_untracked() else { return };
    downloads.confirm.set(None);
    if download {
        load(state, Source::Url(c.url));
    } else {
        web::replace_query(&crate::view_model::params::with_param(&web::location_search(), "model", None));
        load(state, Source::Embedded);
    }
}

fn fail(state: AppState, e: String) {
    state.loading.set(false);
    state.load_error.set(Some(e.clone()));
    set_status(state, LoadState::Error, e.clone());
    if state.params.with_value(|p| p.bench) {
        state.bench.set(BenchState::Failed(e));
    }
    spawn_local(refresh_storage(state));
}
