//! What the page does, one concern a file: loading a model (`load`: files → pipelines →
//! weights), running fill-mask on the newest text (`fill`: one forward in flight, stale results
//! dropped), `?bench=1` (`bench`) and the cache panel's actions (`storage`). Components call the
//! functions re-exported here.

mod bench;
mod fill;
mod load;
mod storage;

pub use fill::{request_debounced, request_now};
pub use load::load;
pub use storage::{delete_all_cached, delete_cached};

use leptos::prelude::*;
use load::load_model;
use storage::refresh_storage;

use crate::gpu_probe;
use crate::loader::Source;
use crate::state::{AppState, GpuView};
use crate::view_model::params::{self, BackendChoice};
use crate::view_model::{decide_backend, LoadState, Probe, Status};

/// Sets the status line for the backend chosen so far.
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

