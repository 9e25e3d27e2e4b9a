//! `?bench=1`: times forwards of the loaded model at each `?n=` length, as `albert bench` does.

use albert::gpu::{by_stage, median_per_dispatch};
use albert::{Backend as EngineBackend, Batch, FillMask};
use leptos::prelude::*;

use crate::state::{AppState, BenchState};
use crate::view_model::attention::layer::HeadSel;
use crate::view_model::attention::request::map_request;
use crate::view_model::bench::{plan_lengths, synthetic_ids, BenchReport, BenchRow};
use crate::view_model::Backend;
use crate::{engine, web};

/// `?bench=1`: times forwards of the loaded model at each `?n=` length.
pub async fn run_bench(state: AppState) {
    let params = state.params.get_value();
    let Some(model) = state.model.get_untracked() else { return };
    let cfg = model.info.config.clone();
    let (lengths, skipped) = plan_lengths(&params.bench_lengths, &cfg);
    let backend = state.backend().unwrap_or(Backend::Cpu);
    let on_page = engine::with_model(async |fm: &mut FillMask| matches!(fm.backend, EngineBackend::Cpu(_))).await.unwrap_or(false);
    let threads = if on_page { 1 } else { crate::stats::cpu_threads().unwrap_or(1) };
    let adapter = match backend {
        Backend::WebGpu => state.gpu.with_untracked(|g| g.as_ref().map(|g| format!("{} ({})", g.adapter, g.device)).unwrap_or_default()),
        Backend::Cpu => {
            // The page's own module is plain simd128; the worker says which build it is.
            let (place, kernel) = if on_page { ("on the page's thread", "simd128".to_string()) } else { ("in a Web Worker", crate::stats::cpu_kernel().unwrap_or_else(|| "simd128".into())) };
            format!("albert cpu (f32, wasm {kernel}, {threads} thread{}), {place}", if threads == 1 { "" } else { "s" })
        }
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
            let mut bytes = None;
            for i in 0..warmup + runs {
                web::yield_now().await;
                let t = web::now_ms();
                bytes = Some(fm.backend.forward(&batch, &req).await.map_err(|e| format!("n={n}: {e}"))?.nbytes());
                if i >= warmup {
                    samples.push(web::now_ms() - t);
                }
                if i + 1 == warmup + runs || i % 5 == 4 {
                    state.bench.set(BenchState::Running(format!("n={n}: {}/{} runs", i + 1, warmup + runs)));
                }
            }
            let mut row = BenchRow::new(&device, &adapter, n, samples);
            row.readback_bytes = bytes;
            row.threads = (backend == Backend::Cpu).then_some(threads);
            // One untimed forward of what the page asks for the sentence, for its transfer size,
            // and one of what it asked before the views' reductions (every map whole).
            let cfg = &fm.config;
            let (all, maps) = map_request(0, (0, HeadSel::Mean), cfg.num_hidden_layers * cfg.inner_group_num, cfg.num_attention_heads, n);
            let page_req = albert::Request { attentions: all, ..albert::bench::page_request(n, maps) };
            let before_req = albert::Request { attentions: true, ..albert::bench::page_request(n, Default::default()) };
            for (req, slot) in [(page_req, &mut row.page_readback_bytes), (before_req, &mut row.page_all_maps_bytes)] {
                let out = fm.backend.forward(&batch, &req).await.map_err(|e| format!("n={n}, page request: {e}"))?;
                *slot = Some(out.nbytes());
            }
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
