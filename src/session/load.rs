//! Loading a model: its files (network, cache or disk), the WebGPU device and this dtype's
//! pipelines, then the weights; a GPU failure falls back to the CPU, and a load that is no longer
//! the newest drops its result.

use albert::gpu::kernels::Kernel;
use albert::{DType, FillMask};
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::bench::run_bench;
use super::fill::request_now;
use super::set_status;
use super::storage::refresh_storage;
use crate::cache::ModelCache;
use crate::loader::{self, Again, Confirm, LoadError, Source};
use crate::state::{AppState, BenchState, GpuView, LoadTimings, ModelView};
use crate::view_model::{gpu_failed, Backend, LoadState};
use crate::{engine, web};

/// Starts loading a model (from a button, the Hub picker or the drop zone). The model already
/// loaded keeps answering until the new one's files are in.
pub fn load(state: AppState, source: Source) {
    spawn_local(load_model(state, source));
}

fn backend_name(b: Option<Backend>) -> &'static str {
    match b {
        Some(Backend::WebGpu) => "WebGPU",
        Some(Backend::Cpu) => "the CPU",
        None => "…",
    }
}

pub async fn load_model(state: AppState, source: Source) {
    let generation = state.load_generation.try_update_value(|g| {
        *g += 1;
        *g
    });
    let generation = generation.unwrap_or(0);
    let stale = move || state.load_generation.get_value() != generation;
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
    // The current model answered while the files downloaded (a Hub model takes minutes); it gives
    // way now, before the new weights are parsed and uploaded, so the GPU never holds both.
    state.scheduler.update_value(|s| s.invalidate());
    engine::clear();
    state.model.set(None);
    state.result.set(None);

    // The GPU: device once, then this dtype's pipelines (compiled asynchronously, error-scoped).
    let mut gpu = None;
    let mut compile_ms = None;
    if state.backend() == Some(Backend::WebGpu) {
        set_status(state, LoadState::Loading, "Opening the WebGPU device…");
        match engine::gpu().await {
            Ok(g) => {
                let dtype = albert::weights::header_dtype(loaded.files.weights.iter().map(|(_, b)| b.as_slice())).unwrap_or(DType::F32);
                set_status(
                    state,
                    LoadState::Loading,
                    format!(
                        "Compiling {} WGSL compute pipelines for {} weights…",
                        Kernel::ALL.iter().filter(|k| k.used_by(g.tuning)).count(),
                        if dtype == DType::F16 { "f16" } else { "f32" }
                    ),
                );
                let t = web::now_ms();
                match g.pipelines(dtype).await {
                    Ok(_) => {
                        compile_ms = Some(web::now_ms() - t);
                        state.gpu.update(|v| {
                            let v = v.get_or_insert_with(GpuView::default);
                            v.device = if g.info.name.trim().is_empty() {
                                format!("wgpu {:?} backend, {:?} device, {:?} kernels", g.info.backend, g.info.device_type, g.tuning)
                            } else {
                                g.describe()
                            };
                            v.limits = limits(&g);
                        });
                        gpu = Some(g);
                    }
                    Err(e) => {
                        engine::drop_gpu();
                        state.decision.set(Some(gpu_failed(&e.to_string())));
                    }
                }
            }
            Err(e) => {
                engine::drop_gpu();
                state.decision.set(Some(gpu_failed(&e.to_string())));
            }
        }
        if stale() {
            return;
        }
    }

    let on_gpu = gpu.is_some();
    set_status(
        state,
        LoadState::Loading,
        if on_gpu { "Parsing the weights and uploading them to the GPU…" } else { "Parsing the weights for the CPU…" },
    );
    web::yield_now().await;
    let t = web::now_ms();
    // The CPU path runs in a Web Worker (crate::worker), so its forwards never block the page.
    let (mut fm, mut cpu_note) = match &gpu {
        Some(g) => (FillMask::new(&loaded.files, Some(g)).await, None),
        None => crate::worker::cpu_model(&loaded.files).await,
    };
    if let (Err(e), true) = (&fm, on_gpu) {
        // Not a model problem but a GPU one (limits, device lost): the CPU can still run it.
        if matches!(e, albert::Error::Gpu(_)) {
            state.decision.set(Some(gpu_failed(&e.to_string())));
            set_status(state, LoadState::Loading, "WebGPU failed; parsing the weights for the CPU…");
            web::yield_now().await;
            (fm, cpu_note) = crate::worker::cpu_model(&loaded.files).await;
        }
    }
    if let Some(note) = cpu_note {
        downloads.notice.update(|n| *n = Some(n.take().map_or(note.clone(), |n| format!("{n} {note}"))));
    }
    let init_ms = web::now_ms() - t;
    if stale() {
        return;
    }
    let fm = match fm {
        Ok(fm) => fm,
        Err(e) => {
            loaded.discard().await;
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
    state.model.set(Some(ModelView {
        label: loaded.label.clone(),
        source: loaded.source.clone(),
        info,
        download_bytes: loaded.bytes,
        gpu_weight_bytes,
        from_cache: loaded.from_cache,
        timings: LoadTimings { files_ms, compile_ms, init_ms, first_forward_ms: None },
        crosscheck_off,
    }));
    state.loading.set(false);
    set_status(state, LoadState::Ready, format!("Ready: {summary}, on {}", backend_name(state.backend())));
    spawn_local(refresh_storage(state));
    if state.params.with_value(|p| p.bench) {
        spawn_local(async move {
            run_bench(state).await;
            // Then the page works as usual.
            request_now(state);
        });
    } else {
        request_now(state);
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
    if let Some(index) = web::fetch_small_text(&format!("{base}model.safetensors.index.json"), ASK_MS).await {
        let v: serde_json::Value = serde_json::from_str(&index).ok()?;
        return v.get("metadata")?.get("total_size")?.as_u64();
    }
    web::head_size(&format!("{base}model.safetensors"), ASK_MS).await
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

fn limits(g: &albert::gpu::Gpu) -> Vec<(&'static str, String)> {
    let l = &g.limits;
    vec![
        ("maxStorageBufferBindingSize", crate::view_model::format::bytes(l.max_storage_buffer_binding_size)),
        ("maxBufferSize", crate::view_model::format::bytes(l.max_buffer_size)),
        ("maxStorageBuffersPerShaderStage", l.max_storage_buffers_per_shader_stage.to_string()),
        ("maxComputeWorkgroupStorageSize", crate::view_model::format::bytes(l.max_compute_workgroup_storage_size as u64)),
        ("maxComputeInvocationsPerWorkgroup", l.max_compute_invocations_per_workgroup.to_string()),
        ("maxComputeWorkgroupSizeX", l.max_compute_workgroup_size_x.to_string()),
        ("maxComputeWorkgroupsPerDimension", l.max_compute_workgroups_per_dimension.to_string()),
    ]
}
