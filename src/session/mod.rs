//! What the page does, one concern a file: loading a model (`load`: files → pipelines →
//! weights), running fill-mask on the newest text (`fill`: one forward in flight, stale results
//! dropped), `?bench=1` (`bench`), the CPU–GPU cross-check (`crosscheck`), a lost WebGPU
//! device (`lost`) and the cache panel's actions (`storage`). Components call the functions
//! re-exported here.

mod bench;
mod crosscheck;
mod fill;
mod gpu;
mod load;
mod lost;
mod storage;

pub use crosscheck::{cross_check, test_perturbation, CrossCheckView};
pub use fill::{every_map, fitted, mask_views, request_debounced, request_now};
pub use load::{answer_confirm, load};
pub use lost::install_hook as install_lost_device_hook;
pub use storage::{delete_all_cached, delete_cached};

use leptos::prelude::*;
use futures::FutureExt;
use load::load_model_when;
use storage::refresh_storage;

use crate::gpu_probe;
use crate::loader::Source;
use crate::state::{AppState, GpuView};
use crate::cache::ModelCache;
use crate::view_model::hub::{hub_base, repo_base, CATALOG, CHOSEN_KEY, DEFAULT_HUB};
use crate::view_model::model_url::normalize_model_url;
use crate::view_model::params::BackendChoice;
use crate::web;
use crate::view_model::{decide_backend, LoadState, Probe, Status};

/// Sets the status line for the backend chosen so far.
fn set_status(state: AppState, s: LoadState, detail: impl Into<String>) {
    let backend = state.backend();
    state.status.set(Status::new(backend, s, detail));
}

/// Page start: probe WebGPU (unless `?backend=cpu`) while the requested or embedded model's
/// files are read, then load it on the backend the probe chose.
pub async fn start(state: AppState) {
    let params = state.params.get_value();
    // The CPU worker's script and wasm load meanwhile too: the CPU bridge (view_model::bridge)
    // or the CPU path takes it, and a load that needs neither ends it.
    crate::worker::prestart();
    let decided = decide(state, params.backend).shared();
    let load = async {
        let hub = hub_base(params.hub.as_deref()).unwrap_or_else(|_| DEFAULT_HUB.to_string());
        let source = match params.model.as_deref().map(|m| normalize_model_url(m, &hub)) {
            // A link's model on another origin waits for the user's OK (load::ask_first).
            Some(Ok(url)) if load::ask_first(state, &url).await => {
                refresh_storage(state).await;
                return;
            }
            Some(Ok(url)) => Source::Url(url),
            Some(Err(e)) => {
                state.load_error.set(Some(e.clone()));
                set_status(state, LoadState::Error, format!("?model= is not usable: {e}"));
                refresh_storage(state).await;
                return;
            }
            None => remembered(&hub).await.unwrap_or(Source::Embedded),
        };
        load_model_when(state, source, decided.clone()).await;
    };
    futures::join!(decided.clone(), load);
}

/// Probes WebGPU (unless `?backend=cpu`) and records the backend decision.
async fn decide(state: AppState, choice: BackendChoice) {
    let (probe, shader_f16) = if choice == BackendChoice::Cpu { (Probe::NoAdapter, false) } else { gpu_probe::probe().await };
    if let Probe::Adapter(info) = &probe {
        state.gpu.set(Some(GpuView { adapter: info.summary(), shader_f16, ..Default::default() }));
    }
    state.decision.set(Some(decide_backend(choice, &probe)));
}


/// The Hub checkpoint chosen on an earlier visit, when this browser's cache still holds it (so the
/// page never depends on the network to start; otherwise the embedded model loads).
async fn remembered(hub: &str) -> Option<Source> {
    let id = web::local_storage_get(CHOSEN_KEY)?;
    let c = CATALOG.iter().find(|c| c.id == id)?;
    let base = repo_base(hub, c.id);
    ModelCache::open().await.ok()?.record(&base).await?;
    Some(Source::Url(base))
}
