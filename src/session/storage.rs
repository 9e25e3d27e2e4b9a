//! The storage panel's actions: list, delete one, delete all cached models.

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::cache::ModelCache;
use crate::state::AppState;
use crate::web;

/// Re-reads the cached models and the storage estimate. Re-reads overlap (a load ends while a
/// delete runs; two deletes in a row), and the Cache API may answer them out of order: only the
/// newest one started sets the panel, so an older list cannot bring back a deleted model.
pub async fn refresh_storage(state: AppState) {
    let newest = crate::state::newest_of(state.storage_generation);
    if let Ok(c) = ModelCache::open().await {
        let records = c.records().await;
        if newest() {
            state.cached.set(records);
        }
    }
    let estimate = web::storage_estimate().await;
    if newest() {
        state.estimate.set(estimate);
    }
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
