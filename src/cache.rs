//! Model files in the browser's Cache API: one entry per file (keyed by its URL) plus one record
//! per model (see `view_model::store`). Everything degrades to "no cache" when the Cache API is
//! missing (insecure origin, private mode quirks) or full.

use js_sys::{Array, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::view_model::store::{ModelRecord, MODEL_CACHE, RECORD_SUFFIX};
use crate::web::{describe, window};

/// Why a file was not stored.
pub enum PutError {
    /// The origin's storage quota is used up.
    Full(String),
    Other(String),
}

impl PutError {
    pub fn message(&self) -> &str {
        match self {
            PutError::Full(m) | PutError::Other(m) => m,
        }
    }
}

#[derive(Clone)]
pub struct ModelCache {
    cache: web_sys::Cache,
}

impl ModelCache {
    pub async fn open() -> Result<ModelCache, String> {
        let storage = window().caches().map_err(|e| format!("the Cache API is unavailable: {}", describe(&e)))?;
        let cache = JsFuture::from(storage.open(MODEL_CACHE)).await.map_err(|e| describe(&e))?;
        Ok(ModelCache { cache: cache.unchecked_into() })
    }

    async fn response(&self, url: &str) -> Option<web_sys::Response> {
        let v = JsFuture::from(self.cache.match_with_str(url)).await.ok()?;
        if v.is_undefined() || v.is_null() {
            return None;
        }
        v.dyn_into().ok()
    }

    /// The cached bytes of `url`, if any.
    pub async fn get(&self, url: &str) -> Option<Vec<u8>> {
        let resp = self.response(url).await?;
        let buf = JsFuture::from(resp.array_buffer().ok()?).await.ok()?;
        Some(Uint8Array::new(&buf).to_vec())
    }

    pub async fn put(&self, url: &str, bytes: &[u8], content_type: &str) -> Result<(), String> {
        self.put_js(url, &Uint8Array::from(bytes), content_type).await.map_err(|e| e.message().to_string())
    }

    /// Stores bytes already copied to JS.
    pub async fn put_js(&self, url: &str, body: &Uint8Array, content_type: &str) -> Result<(), PutError> {
        let init = web_sys::ResponseInit::new();
        init.set_status(200);
        let headers = web_sys::Headers::new().map_err(|e| PutError::Other(describe(&e)))?;
        let _ = headers.set("content-type", content_type);
        let _ = headers.set("content-length", &body.length().to_string());
        init.set_headers(&headers);
        let resp = web_sys::Response::new_with_opt_buffer_source_and_init(Some(body), &init)
            .map_err(|e| PutError::Other(describe(&e)))?;
        JsFuture::from(self.cache.put_with_str(url, &resp)).await.map(|_| ()).map_err(|e| {
            let why = format!("could not store {url} in the browser cache: {}", describe(&e));
            // Chromium and Firefox reject with a DOMException named QuotaExceededError.
            let name = crate::web::get(&e, "name").as_string().unwrap_or_default();
            if name == "QuotaExceededError" || why.to_ascii_lowercase().contains("quota") {
                PutError::Full(why)
            } else {
                PutError::Other(why)
            }
        })
    }

    pub async fn delete(&self, url: &str) {
        let _ = JsFuture::from(self.cache.delete_with_str(url)).await;
    }

    pub async fn record(&self, base: &str) -> Option<ModelRecord> {
        let bytes = self.get(&ModelRecord::key(base)).await?;
        serde_json::from_slice(&bytes).ok()
    }

    pub async fn put_record(&self, record: &ModelRecord) -> Result<(), String> {
        let json = serde_json::to_vec(record).map_err(|e| e.to_string())?;
        self.put(&ModelRecord::key(&record.base), &json, "application/json").await
    }

    /// Deletes a model's files and record.
    pub async fn delete_model(&self, record: &ModelRecord) {
        for f in &record.files {
            self.delete(&record.file_url(&f.name)).await;
        }
        self.delete(&ModelRecord::key(&record.base)).await;
    }

    /// Every stored model record, newest first.
    pub async fn records(&self) -> Vec<ModelRecord> {
        let Ok(keys) = JsFuture::from(self.cache.keys()).await else {
            return vec![];
        };
        let keys: Array = keys.unchecked_into();
        let mut out = Vec::new();
        for k in keys.iter() {
            let Ok(req) = k.dyn_into::<web_sys::Request>() else { continue };
            let url = req.url();
            if let Some(base) = url.strip_suffix(RECORD_SUFFIX) {
                if let Some(r) = self.record(base).await {
                    out.push(r);
                }
            }
        }
        out.sort_by(|a, b| b.stored_at_ms.total_cmp(&a.stored_at_ms));
        out
    }
}

/// Deletes every model file and record stored by this page.
pub async fn clear_all() -> Result<(), String> {
    let storage = window().caches().map_err(|e| describe(&e))?;
    JsFuture::from(storage.delete(MODEL_CACHE)).await.map(|_| ()).map_err(|e: JsValue| describe(&e))
}
