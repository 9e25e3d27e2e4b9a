//! What the page does: choose the backend, load models (files → pipelines → weights), run
//! fill-mask on the newest text (one forward in flight, stale results dropped), benchmark, and
//! manage the cache.

use std::time::Duration;

use albert::gpu::kernels::Kernel;
use albert::gpu::{by_stage, median_per_dispatch};
use albert::{Backend as EngineBackend, Batch, DType, FillMask, FillOptions};
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::cache::ModelCache;
use crate::loader::{self, Source};
use crate::state::{AppState, BenchState, FillView, GpuView, LoadTimings, MaskView, ModelView, PredictionView, TokenView};
use crate::view_model::attention::data::AttentionData;
use crate::view_model::bench::{plan_lengths, synthetic_ids, BenchReport, BenchRow};
use crate::view_model::params::{self, BackendChoice};
use crate::view_model::{decide_backend, gpu_failed, sniff, text, Backend, LoadState, Probe, Status};
use crate::{engine, gpu_probe, web};

/// Typing pause before a forward starts.
pub const DEBOUNCE_MS: u64 = 180;

fn set_status(state: AppState, s: LoadState, detail: impl Into<String>) {
    let backend = state.backend();
    state.status.set(Status::new(backend, s, detail));
}

/// Page start: probe WebGPU (unless `?backend=cpu`), then load the requested or embedded model.
pub async fn start(state: AppState) {
    let params = state.params.get_value();
    let (probe, shader_f16) = if params.backend == BackendChoice::Cpu {
        (Probe::NoAdapter, false)
    } else {
        gpu_probe::probe().await
    };
    let decision = decide_backend(params.backend, &probe);
    if let Probe::Adapter(info) = &probe {
        state.gpu.set(Some(GpuView { adapter: info.summary(), shader_f16, ..Default::default() }));
    }
    state.decision.set(Some(decision));
    let source = match params.model.as_deref().map(params::normalize_model_url) {
        Some(Ok(url)) => Source::Url(url),
        Some(Err(e)) => {
            state.load_error.set(Some(e.clone()));
            set_status(state, LoadState::Error, format!("?model= is not usable: {e}"));
            refresh_storage(state).await;
            return;
        }
        None => Source::Embedded,
    };
    load_model(state, source).await;
}

/// Starts loading a model (from a button or the drop zone).
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
    state.scheduler.update_value(|s| s.invalidate());
    engine::clear();
    state.model.set(None);
    state.result.set(None);
    state.fill_error.set(None);
    state.load_error.set(None);
    state.loading.set(true);

    set_status(state, LoadState::Loading, "Fetching model files…");
    let t0 = web::now_ms();
    let loaded = loader::load(source, state.files).await;
    if stale() {
        return;
    }
    let loaded = match loaded {
        Ok(l) => l,
        Err(e) => return fail(state, e),
    };
    let files_ms = web::now_ms() - t0;

    // The GPU: device once, then this dtype's pipelines (compiled asynchronously, error-scoped).
    let mut gpu = None;
    let mut compile_ms = None;
    if state.backend() == Some(Backend::WebGpu) {
        set_status(state, LoadState::Loading, "Opening the WebGPU device…");
        match engine::gpu().await {
            Ok(g) => {
                let dtype = sniff::weights_dtype(loaded.files.weights.iter().map(|(_, b)| b.as_slice())).unwrap_or(DType::F32);
                set_status(
                    state,
                    LoadState::Loading,
                    format!(
                        "Compiling {} WGSL compute pipelines for {} weights…",
                        Kernel::ALL.len(),
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
                                format!("wgpu {:?} backend, {:?} device", g.info.backend, g.info.device_type)
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
    let mut fm = FillMask::new(&loaded.files, gpu.as_ref()).await;
    if let (Err(e), true) = (&fm, on_gpu) {
        // Not a model problem but a GPU one (limits, device lost): the CPU can still run it.
        if matches!(e, albert::Error::Gpu(_)) {
            state.decision.set(Some(gpu_failed(&e.to_string())));
            set_status(state, LoadState::Loading, "WebGPU failed; parsing the weights for the CPU…");
            web::yield_now().await;
            fm = FillMask::new(&loaded.files, None).await;
        }
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
    if stale() || !engine::install(fm).await {
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

/// The sentence changed by typing: run the newest text after a pause.
pub fn request_debounced(state: AppState) {
    let Some(token) = state.debounce.try_update_value(|d| d.bump()) else { return };
    set_timeout(
        move || {
            if state.debounce.with_value(|d| d.is_current(token)) {
                let text = state.sentence.get_untracked();
                web::replace_query(&params::with_param(&web::location_search(), "text", Some(&text)));
                request_now(state);
            }
        },
        Duration::from_millis(DEBOUNCE_MS),
    );
}

/// Runs the current sentence as soon as the model is free (clicks, a new model, top-k).
pub fn request_now(state: AppState) {
    state.debounce.update_value(|d| {
        d.bump();
    });
    let text = state.sentence.get_untracked();
    state.scheduler.update_value(|s| {
        s.submit(text);
    });
    pump(state);
}

fn pump(state: AppState) {
    let Some(Some(job)) = state.scheduler.try_update_value(|s| s.start()) else { return };
    spawn_local(async move {
        let out = run(state, &job.text).await;
        let latest = state.scheduler.try_update_value(|s| s.finish(job.generation)).unwrap_or(false);
        if latest && state.sentence.get_untracked() == job.text {
            match out {
                Some(Ok(view)) => {
                    let ms = view.elapsed_ms;
                    state.model.update(|m| {
                        if let Some(m) = m {
                            m.timings.first_forward_ms.get_or_insert(ms);
                        }
                    });
                    state.fill_error.set(None);
                    state.result.set(Some(view));
                }
                Some(Err(e)) => state.fill_error.set(Some((job.text.clone(), e))),
                None => {}
            }
        }
        pump(state);
    });
}

/// One forward on the installed model; `None` when there is no model (yet) or nothing to do.
async fn run(state: AppState, sentence: &str) -> Option<Result<FillView, String>> {
    if let Some(problem) = text::input_problem(sentence) {
        return Some(Err(problem.to_string()));
    }
    let top_k = state.top_k.get_untracked();
    let sentence = sentence.to_string();
    engine::with_model(async move |fm: &mut FillMask| -> Result<FillView, String> {
        // Let the page paint (and take keystrokes) before the forward, which on the CPU is synchronous.
        web::yield_now().await;
        let t = web::now_ms();
        let opts = FillOptions { top_k, logits: false, attentions: true };
        let r = fm.fill(&sentence, &opts).await.map_err(|e| e.to_string())?;
        let elapsed_ms = web::now_ms() - t;
        Ok(fill_view(fm, &sentence, r, elapsed_ms))
    })
    .await
}

fn fill_view(fm: &FillMask, sentence: &str, r: albert::FillResult, elapsed_ms: f64) -> FillView {
    let tok = &fm.tokenizer;
    let special_ids = [tok.cls_token_id(), tok.sep_token_id(), tok.mask_token_id(), tok.pad_token_id()];
    // The engine found the [MASK]s; everything below reads their positions from here.
    let mask_positions: Vec<usize> = r.masks.iter().map(|m| m.position).collect();
    let tokens: Vec<TokenView> = r
        .ids
        .iter()
        .zip(&r.type_ids)
        .enumerate()
        .map(|(i, (&id, &type_id))| TokenView {
            text: tok.decode_token_for_display(id),
            type_id,
            special: special_ids.contains(&id),
            mask: mask_positions.contains(&i),
        })
        .collect();
    let masks: Vec<MaskView> = r
        .masks
        .iter()
        .map(|m| MaskView {
            position: m.position,
            predictions: m
                .top_k
                .iter()
                .map(|p| PredictionView { token: p.token.clone(), display: tok.decode_token_for_display(p.id), id: p.id, prob: p.prob })
                .collect(),
        })
        .collect();
    let attention = AttentionData::from_maps(tokens.iter().map(|t| t.text.clone()).collect(), mask_positions, r.attentions);
    FillView { text: sentence.to_string(), tokens, masks, attention, elapsed_ms }
}

/// `?bench=1`: times forwards of the loaded model at each `?n=` length.
pub async fn run_bench(state: AppState) {
    let params = state.params.get_value();
    let Some(model) = state.model.get_untracked() else { return };
    let cfg = model.info.config.clone();
    let (lengths, skipped) = plan_lengths(&params.bench_lengths, &cfg);
    let backend = state.backend().unwrap_or(Backend::Cpu);
    let adapter = match backend {
        Backend::WebGpu => state.gpu.with_untracked(|g| g.as_ref().map(|g| format!("{} ({})", g.adapter, g.device)).unwrap_or_default()),
        Backend::Cpu => "albert cpu (f32, wasm, 1 thread)".to_string(),
    };
    let device = backend.as_str().to_string();
    let (warmup, runs) = (params.bench_warmup, params.bench_runs);
    state.bench.set(BenchState::Running(format!("warming up ({warmup} runs per length)…")));
    let profile = params.bench_profile;
    let rows = engine::with_model(async |fm: &mut FillMask| -> Result<(Vec<BenchRow>, Option<String>), String> {
        let mut rows = Vec::new();
        let mut unavailable = None;
        for &n in &lengths {
            let batch = Batch::single(synthetic_ids(cfg.vocab_size, n), vec![0; n]);
            let req = albert::bench::request(n, false);
            let mut samples = Vec::with_capacity(runs);
            for i in 0..warmup + runs {
                web::yield_now().await;
                let t = web::now_ms();
                fm.backend.forward(&batch, &req).await.map_err(|e| format!("n={n}: {e}"))?;
                if i >= warmup {
                    samples.push(web::now_ms() - t);
                }
                if i + 1 == warmup + runs || i % 5 == 4 {
                    state.bench.set(BenchState::Running(format!("n={n}: {}/{} runs", i + 1, warmup + runs)));
                }
            }
            let mut row = BenchRow::new(&device, &adapter, n, samples);
            if let (true, EngineBackend::Gpu(m)) = (profile, &mut fm.backend) {
                if m.gpu.timestamps {
                    state.bench.set(BenchState::Running(format!("n={n}: profiling {runs} forwards")));
                    let mut times = Vec::with_capacity(runs);
                    for _ in 0..runs {
                        web::yield_now().await;
                        times.push(m.profile(&batch, &req).await.map_err(|e| format!("n={n}, profile: {e}"))?.1);
                    }
                    row.profile = Some(by_stage(&median_per_dispatch(&times)));
                } else {
                    unavailable = Some(format!("this WebGPU adapter ({adapter}) has no timestamp queries, so dispatches cannot be timed"));
                }
            }
            rows.push(row);
        }
        Ok((rows, unavailable))
    })
    .await;
    let (rows, profile_unavailable) = match rows {
        Some(Ok(rows)) => rows,
        Some(Err(e)) => return state.bench.set(BenchState::Failed(e)),
        None => return state.bench.set(BenchState::Failed("the model was unloaded during the benchmark".into())),
    };
    let report = BenchReport {
        model: model.label.clone(),
        dtype: format!("{:?}", model.info.dtype),
        parameters: model.info.checkpoint_parameters,
        backend: device,
        adapter,
        user_agent: web::user_agent(),
        warmup,
        gpu_pipeline_compile_ms: model.timings.compile_ms,
        model_init_ms: Some(model.timings.init_ms),
        rows,
        skipped,
        profile_unavailable: profile_unavailable.or_else(|| {
            (profile && backend == Backend::Cpu).then(|| "?profile=1 times WebGPU dispatches; this run used the CPU backend".to_string())
        }),
    };
    state.bench.set(BenchState::Done(report));
}

/// Re-reads the cached models and the storage estimate.
pub async fn refresh_storage(state: AppState) {
    if let Ok(c) = ModelCache::open().await {
        state.cached.set(c.records().await);
    }
    state.estimate.set(web::storage_estimate().await);
}

/// Deletes one cached model.
pub fn delete_cached(state: AppState, base: String) {
    spawn_local(async move {
        if let Ok(c) = ModelCache::open().await {
            if let Some(r) = c.record(&base).await {
                c.delete_model(&r).await;
            }
        }
        refresh_storage(state).await;
    });
}

/// Deletes every cached model.
pub fn delete_all_cached(state: AppState) {
    spawn_local(async move {
        if let Err(e) = crate::cache::clear_all().await {
            web_sys::console::warn_1(&e.into());
        }
        refresh_storage(state).await;
    });
}
