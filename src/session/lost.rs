//! A lost WebGPU device (a driver reset, a GPU taken away, the tab backgrounded too long): the
//! failed forward is not shown as the sentence's error; the page says what happened, rebuilds
//! the device, its pipelines and the weights from memory (`engine::recover`), or moves to the
//! CPU when the GPU fails again, and runs the newest text again. `window.albertLensLoseDevice()`
//! destroys the device for tests.

use leptos::prelude::*;
use wasm_bindgen::prelude::*;

use super::set_status;
use crate::engine::{self, Recovered};
use crate::state::AppState;
use crate::view_model::{device_lost_cpu, device_recreated, LoadState};
use crate::web;

/// After a failed forward: `true` when the device had been lost and the page recovered (or is
/// reloading), so the caller runs the newest text again instead of showing the error.
pub async fn recover_if_lost(state: AppState, error: &str) -> bool {
    let Some(reason) = lost_reason(error).await else { return false };
    set_status(state, LoadState::Loading, format!("The GPU device was lost ({reason}); setting it up again…"));
    match engine::recover().await {
        None => return false,
        Some(Ok(Recovered::Gpu { ms })) => {
            state.decision.update(|d| *d = Some(device_recreated(d.as_ref(), &reason, ms)));
        }
        Some(Ok(Recovered::Cpu { why })) => {
            state.decision.set(Some(device_lost_cpu(&reason, &why)));
            state.gpu.set(None);
            state.model.update(|m| {
                if let Some(m) = m {
                    m.gpu_weight_bytes = None;
                    m.crosscheck_off = Some(super::crosscheck::ON_CPU.to_string());
                }
            });
        }
        Some(Err(why)) => {
            engine::clear();
            state.model.set(None);
            state.load_error.set(Some(format!("The GPU device was lost ({reason}) and the model could not be set up again: {why}.")));
            set_status(state, LoadState::Error, format!("The GPU device was lost ({reason})"));
            return false;
        }
    }
    let label = state.model.with_untracked(|m| m.as_ref().map(|m| m.label.clone())).unwrap_or_default();
    let on = if matches!(state.backend(), Some(crate::view_model::Backend::WebGpu)) { "WebGPU (a new device)" } else { "the CPU" };
    set_status(state, LoadState::Ready, format!("Ready: {label}, on {on}"));
    true
}

/// How long a GPU error waits for the browser to report a loss: the report comes through a
/// promise, and the failed readback can come first.
const LOSS_REPORT_MS: i32 = 500;
const LOSS_POLL_MS: i32 = 25;

/// The loss behind a failed forward, if it was one.
async fn lost_reason(error: &str) -> Option<String> {
    let gpu_error = error.starts_with("GPU:");
    for _ in 0..(if gpu_error { LOSS_REPORT_MS / LOSS_POLL_MS } else { 1 }) {
        if let Some(r) = engine::lost_reason().await {
            return Some(r);
        }
        web::sleep(LOSS_POLL_MS).await;
    }
    None
}

/// Puts `albertLensLoseDevice` on `window` (once, at start): destroys the WebGPU device, as a
/// lost GPU would; returns whether there was one.
pub fn install_hook() {
    let f = Closure::<dyn Fn() -> bool>::new(engine::lose_device);
    let _ = js_sys::Reflect::set(&web::window(), &"albertLensLoseDevice".into(), f.as_ref());
    f.forget();
}
