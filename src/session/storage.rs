//! The storage panel's actions: list, delete one, delete all cached models.

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::cache::ModelCache;
use crate::state::AppState;
use crate::web;

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
