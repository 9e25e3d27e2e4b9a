//! albert-lens: the browser app (Leptos, built with Trunk for wasm32).
//!
//! Natively this binary does nothing; it exists so `cargo test --workspace`
//! builds the package and runs the view-model unit tests.

#[cfg(target_arch = "wasm32")]
mod app;
#[cfg(target_arch = "wasm32")]
mod cache;
#[cfg(target_arch = "wasm32")]
mod cpu_module;
#[cfg(target_arch = "wasm32")]
mod engine;
#[cfg(target_arch = "wasm32")]
mod gpu_probe;
#[cfg(target_arch = "wasm32")]
mod hub;
#[cfg(target_arch = "wasm32")]
mod loader;
#[cfg(target_arch = "wasm32")]
mod session;
#[cfg(target_arch = "wasm32")]
mod state;
#[cfg(target_arch = "wasm32")]
mod stats;
#[cfg(target_arch = "wasm32")]
mod ui;
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
mod view_model;
#[cfg(target_arch = "wasm32")]
mod web;
#[cfg(target_arch = "wasm32")]
mod worker;

#[cfg(target_arch = "wasm32")]
fn main() {
    stats::mark_start();
    console_error_panic_hook::set_once();
    stats::install();
    session::install_lost_device_hook();
    leptos::mount::mount_to_body(app::App);
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("albert-lens is a browser app: build it with `trunk build --release` (see scripts/serve).");
}
