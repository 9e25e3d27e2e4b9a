//! Side panels: backend (adapter, limits, f16), model facts and ALBERT's savings, cached models,
//! and the benchmark.

use leptos::prelude::*;

use super::Card;
use crate::session;
use crate::state::{use_app, BenchState, ModelView};
use crate::view_model::format;
use crate::view_model::inside::order::heldout_facts;
use crate::view_model::savings::{comparisons, config_summary, parts};
use crate::view_model::Backend;

/// The status line (`data-testid="status"`: backend and load state) and the CPU notice.
#[component]
pub fn StatusLine() -> impl IntoView {
    let state = use_app();
    let status = state.status;
    view! {
        <div
            class="status"
            data-testid="status"
            role="status"
            aria-live="polite"
            data-backend=move || status.with(|s| s.backend_attr())
            data-state=move || status.with(|s| s.state_attr())
        >
            <span class="badge">
                {move || status.with(|s| match s.backend_attr() {
                    Some("webgpu") => "WebGPU".to_string(),
                    Some(b) => b.to_uppercase(),
                    None => "…".to_string(),
                })}
            </span>
            <span class="spinner" aria-hidden="true" hidden=move || status.with(|s| s.state_attr() != "loading")></span>
            <span class="detail">{move || status.with(|s| s.detail.clone())}</span>
        </div>
        <p class="notice" data-testid="notice" role="note" hidden=move || state.decision.with(|d| d.as_ref().and_then(|d| d.notice.as_ref()).is_none())>
            {move || state.decision.with(|d| d.as_ref().and_then(|d| d.notice.clone()).unwrap_or_default())}
        </p>
    }
}

/// The backend card: the adapter, the device, the limits requested and what f16 weights become.
#[component]
pub fn BackendPanel() -> impl IntoView {
    let state = use_app();
    let f16 = move || state.model.with(|m| m.as_ref().map(|m| m.info.dtype == albert::DType::F16));
    view! {
        <Card class="backend" title_id="backend-title" title="Backend">
            <p data-testid="adapter" class="adapter">
                {move || state.decision.with(|d| d.as_ref().map(|d| d.detail.clone()).unwrap_or_else(|| "Looking for a WebGPU adapter…".into()))}
            </p>
            <p class="device" hidden=move || state.gpu.with(|g| g.as_ref().is_none_or(|g| g.device.is_empty()))>
                "Device: " {move || state.gpu.with(|g| g.as_ref().map(|g| g.device.clone()).unwrap_or_default())}
            </p>
            <p data-testid="f16" data-f16=move || f16().map(|b| b.to_string())>
                {move || {
                    let on_gpu = state.backend() == Some(Backend::WebGpu);
                    let adapter_f16 = state.gpu.with(|g| g.as_ref().is_some_and(|g| g.shader_f16));
                    let adapter_note = if on_gpu {
                        if adapter_f16 { " The adapter offers shader-f16; it is not needed." } else { " The adapter lacks shader-f16; it is not needed." }
                    } else {
                        ""
                    };
                    match f16() {
                        Some(true) if on_gpu => format!("f16 weights: yes, kept as f16 in GPU memory (half the bytes) and widened to f32 inside the shaders (unpack2x16float).{adapter_note}"),
                        Some(true) => "f16 weights: widened to f32 for the CPU path.".to_string(),
                        Some(false) => format!("f16 weights: no, this checkpoint is f32 (bf16 is widened to f32).{adapter_note}"),
                        None => "f16 weights: known once a model loads.".to_string(),
                    }
                }}
            </p>
            <details class="limits" data-testid="limits" hidden=move || state.gpu.with(|g| g.as_ref().is_none_or(|g| g.limits.is_empty()))>
                <summary>"Limits requested for the device (the adapter's own)"</summary>
                <table>
                    <tbody>
                        {move || state.gpu.with(|g| {
                            g.as_ref().map(|g| g.limits.iter().map(|(k, v)| view! { <tr><th scope="row">{*k}</th><td>{v.clone()}</td></tr> }).collect_view())
                        })}
                    </tbody>
                </table>
            </details>
        </Card>
    }
}

/// The model card: the loaded model's facts, or a line saying they come once it loads.
#[component]
pub fn ModelPanel() -> impl IntoView {
    let state = use_app();
    view! {
        <Card class="model-panel" title_id="model-title" title="Inside the model" testid="model-panel">
            {move || match state.model.get() {
                None => view! { <p class="muted">"Facts about the model appear once it loads."</p> }.into_any(),
                Some(m) => view! { <ModelFacts m=m /> }.into_any(),
            }}
        </Card>
    }
}

/// The loaded model's facts: shape, parameters by part, download and memory, load times, and
/// ALBERT's savings against a BERT of the same shapes.
#[component]
fn ModelFacts(
    /// The model as the page describes it.
    m: ModelView,
) -> impl IntoView {
    let i = &m.info;
    let c = &i.config;
    let p = &i.parameters;
    let rows = parts(p, c);
    let cmps = comparisons(p, c);
    let t = &m.timings;
    let timing = format!(
        "files {}{} · {} {} · first forward {}",
        format::millis(t.files_ms),
        if m.from_cache { " (cache)" } else { "" },
        if m.gpu_weight_bytes.is_some() { "parse + upload" } else { "parse" },
        format::millis(t.init_ms),
        t.first_forward_ms.map(format::millis).unwrap_or_else(|| "…".into()),
    );
    let timing = match (t.compile_ms, t.bridge) {
        (Some(cm), _) => format!("{timing} · pipelines {}", format::millis(cm)),
        (None, true) => format!("{timing} · on the CPU while WebGPU gets ready"),
        (None, false) => timing,
    };
    view! {
        <dl class="facts">
            <dt>"Architecture"</dt><dd>{format!("{} · {:?} weights · tokenizer from {}", i.architecture, i.dtype, i.tokenizer)}</dd>
            <dt>"Source"</dt><dd class="break">{m.source.clone()}</dd>
            <dt>"Shape"</dt><dd data-testid="config-summary">{config_summary(c)}</dd>
            <dt>"Parameters"</dt>
            <dd data-testid="parameters" data-count=i.checkpoint_parameters.to_string()>
                {format!("{} ({})", format::thousands(i.checkpoint_parameters as u64), format::count(i.checkpoint_parameters as u64))}
            </dd>
            <dt>"Download"</dt><dd data-testid="download-size">{format::bytes(m.download_bytes)} {if m.from_cache { " (read from the browser cache)" } else { "" }}</dd>
            <dt>"Weights in memory"</dt>
            <dd data-testid="gpu-memory">
                {match m.gpu_weight_bytes {
                    Some(b) => format!("{} of GPU memory (the tied decoder shares the embedding buffer)", format::bytes(b)),
                    None => format!("{} as f32 on the CPU", format::bytes(i.checkpoint_parameters as u64 * 4)),
                }}
            </dd>
            <dt>"Load time"</dt><dd>{timing}</dd>
            {m.heldout.as_ref().map(|h| view! {
                <dt>"Held-out scores"</dt><dd data-testid="heldout">{heldout_facts(h)} " (its model card)"</dd>
            })}
        </dl>
        <h3>"Parameters by part"</h3>
        <div class="table-scroll"><table class="parts">
            <thead><tr><th scope="col">"Part"</th><th scope="col" class="num">"Parameters"</th><th scope="col">"Share"</th></tr></thead>
            <tbody>
                {rows.into_iter().map(|r| view! {
                    <tr>
                        <th scope="row"><span>{r.name}</span><span class="formula">{r.formula}</span></th>
                        <td class="num">{format::thousands(r.count)}</td>
                        <td class="share">
                            <span class="bar" aria-hidden="true"><span class="fill" style:width=format!("{:.1}%", r.share * 100.0)></span></span>
                            <span class="pct">{format!("{:.1}%", r.share * 100.0)}</span>
                        </td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table></div>
        <h3>"ALBERT's savings against a BERT of the same shapes"</h3>
        <div class="table-scroll"><table class="savings" data-testid="savings">
            <thead><tr><th scope="col"></th><th scope="col" class="num">"ALBERT"</th><th scope="col" class="num">"BERT-shaped"</th><th scope="col" class="num">"Smaller by"</th></tr></thead>
            <tbody>
                {cmps.into_iter().map(|c| {
                    let ratio = c.ratio();
                    view! {
                        <tr>
                            <th scope="row"><span>{c.name}</span><span class="formula">{format!("{} vs {}", c.albert_formula, c.bert_formula)}</span></th>
                            <td class="num">{format::count(c.albert)}</td>
                            <td class="num">{format::count(c.bert)}</td>
                            <td class="num">{if c.saved() > 0 { format::times(ratio) } else { "—".to_string() }}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table></div>
    }
}

/// The storage card: models kept in the browser cache, each with a delete button.
#[component]
pub fn StoragePanel() -> impl IntoView {
    let state = use_app();
    view! {
        <Card class="storage" title_id="storage-title" title="Stored in this browser" testid="storage">
            <p class="help">
                "Downloaded models stay in the browser cache and are verified (size and SHA-256) when read back, "
                "so the next visit loads them without the network. The app itself works offline after the first visit."
            </p>
            <ul class="cached-list">
                {move || {
                    let list = state.cached.get();
                    if list.is_empty() {
                        return view! { <li class="muted">"No models stored yet."</li> }.into_any();
                    }
                    list.into_iter()
                        .map(|r| {
                            let base = r.base.clone();
                            let label = r.label.clone();
                            let when = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(r.stored_at_ms))
                                .to_locale_string("default", &wasm_bindgen::JsValue::UNDEFINED)
                                .as_string()
                                .unwrap_or_default();
                            view! {
                                <li class="cached" data-testid="cached-model" data-base=r.base.clone() data-bytes=r.total_bytes().to_string()>
                                    <div class="cached-text">
                                        <span class="cached-label">{r.label.clone()}</span>
                                        <span class="muted">{format!("{} · {} files · {}", format::bytes(r.total_bytes()), r.files.len(), when)}</span>
                                    </div>
                                    <button
                                        type="button"
                                        class="danger"
                                        data-testid="delete-cached"
                                        aria-label=format!("Delete {label} from the browser cache")
                                        on:click=move |_| session::delete_cached(state, base.clone())
                                    >
                                        "Delete"
                                    </button>
                                </li>
                            }
                        })
                        .collect_view()
                        .into_any()
                }}
            </ul>
            <button
                type="button"
                class="link danger-link"
                data-testid="delete-all-cached"
                hidden=move || state.cached.with(|c| c.is_empty())
                on:click=move |_| session::delete_all_cached(state)
            >
                "Delete all stored models"
            </button>
            <p class="muted" data-testid="storage-estimate">
                {move || state.estimate.get().map(|(u, q)| format!("This site uses {} of {} the browser allows.", format::bytes(u as u64), format::bytes(q as u64)))}
            </p>
        </Card>
    }
}

/// `?bench=1`: progress, a table of the timings and the JSON report (`data-testid="bench"`).
#[component]
pub fn BenchPanel() -> impl IntoView {
    let state = use_app();
    let json = move || match state.bench.get() {
        BenchState::Done(r) => serde_json::to_string_pretty(&r).unwrap_or_default(),
        BenchState::Failed(e) => serde_json::json!({ "error": e }).to_string(),
        _ => String::new(),
    };
    let bench_state = move || match state.bench.get() {
        BenchState::Off => "off",
        BenchState::Waiting => "waiting",
        BenchState::Running(_) => "running",
        BenchState::Done(_) => "done",
        BenchState::Failed(_) => "error",
    };
    view! {
        <Card class="bench" title_id="bench-title" title="Benchmark">
            <p class="help">
                {move || {
                    let p = state.params.get_value();
                    format!(
                        "?bench=1: {} warm-up + {} timed forwards (batch 1, one [MASK] row of logits) at n = {:?}, on the current backend, wall clock including readback.",
                        p.bench_warmup, p.bench_runs, p.bench_lengths
                    )
                }}
            </p>
            <p class="bench-progress" aria-live="polite">
                {move || match state.bench.get() {
                    BenchState::Waiting => "Waiting for the model…".to_string(),
                    BenchState::Running(s) => s,
                    BenchState::Done(_) => "Done.".to_string(),
                    BenchState::Failed(e) => format!("Failed: {e}"),
                    BenchState::Off => String::new(),
                }}
            </p>
            {move || match state.bench.get() {
                BenchState::Done(r) => view! {
                    <table class="bench-table">
                        <thead><tr><th scope="col">"n"</th><th scope="col" class="num">"p50"</th><th scope="col" class="num">"p90"</th><th scope="col" class="num">"mean"</th><th scope="col" class="num">"min"</th><th scope="col" class="num">"runs"</th><th scope="col" class="num" title="Bytes one forward returns (GPU readback, or from the CPU worker): the benchmark's one [MASK] row; the page's own request (what the attention views show, lens, drift, neuron view); and that request with every attention map whole, as before">"read back: bench / page / every map"</th></tr></thead>
                        <tbody>
                            {r.rows.iter().map(|row| view! {
                                <tr>
                                    <th scope="row">{row.seq_len}</th>
                                    <td class="num">{format::millis(row.p50_ms)}</td>
                                    <td class="num">{format::millis(row.p90_ms)}</td>
                                    <td class="num">{format::millis(row.mean_ms)}</td>
                                    <td class="num">{format::millis(row.min_ms)}</td>
                                    <td class="num">{row.runs}</td>
                                    <td class="num" data-testid="bench-readback" data-bytes=row.readback_bytes.map(|b| b.to_string()) data-page-bytes=row.page_readback_bytes.map(|b| b.to_string()) data-page-all-bytes=row.page_all_maps_bytes.map(|b| b.to_string())>
                                        {[row.readback_bytes, row.page_readback_bytes, row.page_all_maps_bytes].map(|b| b.map(|b| format::bytes(b as u64)).unwrap_or_default()).join(" / ")}
                                    </td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                    {r.rows.iter().filter_map(|row| row.profile.clone().map(|p| (row.seq_len, p))).map(|(n, stages)| {
                        let total: f64 = stages.iter().map(|s| s.ms).sum();
                        view! {
                            <table class="bench-table bench-profile" data-testid="bench-profile">
                                <caption>{format!("GPU time by stage, n = {n} (median of each dispatch; {} in all)", format::millis(total))}</caption>
                                <thead><tr><th scope="col">"stage"</th><th scope="col">"kernel"</th><th scope="col" class="num">"calls"</th><th scope="col" class="num">"time"</th><th scope="col" class="num">"share"</th></tr></thead>
                                <tbody>
                                    {stages.into_iter().map(|s| view! {
                                        <tr>
                                            <th scope="row">{s.stage}</th>
                                            <td><code>{s.kernel}</code></td>
                                            <td class="num">{s.calls}</td>
                                            <td class="num">{format::millis(s.ms)}</td>
                                            <td class="num">{if total > 0.0 { format!("{:.1} %", 100.0 * s.ms / total) } else { "–".into() }}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        }
                    }).collect_view()}
                    {r.profile_unavailable.clone().map(|why| view! { <p class="muted">{format!("Profile: {why}.")}</p> })}
                }.into_any(),
                _ => ().into_any(),
            }}
            <pre class="bench-json" data-testid="bench" data-state=bench_state>{json}</pre>
        </Card>
    }
}
