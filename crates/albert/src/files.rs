//! A checkpoint's files in Hugging Face's layout (config.json, model.safetensors or a sharded
//! index, tokenizer.json and/or spiece.model, tokenizer_config.json), fetched through any
//! async byte source: a folder natively, HTTP in the CLI, fetch/cache in the browser.

use crate::config::Config;
use crate::error::{Error, Result};
use crate::weights::{shard_files, AlbertWeights, Checkpoint};
use std::future::Future;

pub const CONFIG: &str = "config.json";
pub const WEIGHTS: &str = "model.safetensors";
pub const WEIGHTS_INDEX: &str = "model.safetensors.index.json";
pub const TOKENIZER_JSON: &str = "tokenizer.json";
pub const SPIECE: &str = "spiece.model";
pub const TOKENIZER_CONFIG: &str = "tokenizer_config.json";

/// The scheme of a URL-like string (`https`, `file`, `javascript`, …): the letters, digits,
/// `+`, `-` and `.` before the first `:`, at least two of them so that a Windows drive (`C:\x`)
/// stays a path.
pub fn url_scheme(s: &str) -> Option<&str> {
    let (scheme, _) = s.split_once(':')?;
    let mut chars = scheme.chars();
    let ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        && scheme.len() >= 2;
    ok.then_some(scheme)
}

/// Why `model` (with URL scheme `scheme`) is refused: only http(s) URLs are fetched.
pub fn not_http(model: &str, scheme: &str) -> String {
    if scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https") {
        return format!("`{model}`: write the scheme in lower case (http:// or https://)");
    }
    let shown: String = model.chars().take(80).collect();
    format!(
        "`{shown}` is a `{scheme}:` URL; only http:// and https:// model URLs can be fetched (a local model is given by its folder's path)"
    )
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ModelFiles {
    pub config_json: String,
    /// (file name, bytes) of every safetensors file.
    pub weights: Vec<(String, Vec<u8>)>,
    pub tokenizer_json: Option<Vec<u8>>,
    pub spiece_model: Option<Vec<u8>>,
    pub tokenizer_config: Option<Vec<u8>>,
}

impl ModelFiles {
    /// Reads a model through `get(file name)`, which yields `Ok(None)` when the file does not
    /// exist (HTTP 404, missing file) and `Err` when it could not be read at all.
    pub async fn fetch<F, Fut>(get: F) -> Result<Self>
    where
        F: Fn(String) -> Fut,
        Fut: Future<Output = Result<Option<Vec<u8>>>>,
    {
        let config = get(CONFIG.into()).await?.ok_or_else(|| {
            Error::Io(format!("{CONFIG} not found: a Hugging Face model folder (or base URL) must contain it"))
        })?;
        let config_json = String::from_utf8(config).map_err(|_| Error::Config("not UTF-8 text".into()))?;
        // Validate before downloading weights: a wrong URL should fail fast and cheaply.
        Config::from_json(&config_json)?;
        let mut weights = Vec::new();
        if let Some(index) = get(WEIGHTS_INDEX.into()).await? {
            let index = String::from_utf8_lossy(&index).into_owned();
            for f in shard_files(&index)? {
                let bytes = get(f.clone()).await?.ok_or_else(|| {
                    Error::Io(format!("shard `{f}` listed in {WEIGHTS_INDEX} was not found"))
                })?;
                weights.push((f, bytes));
            }
        } else if let Some(bytes) = get(WEIGHTS.into()).await? {
            weights.push((WEIGHTS.to_string(), bytes));
        } else {
            return Err(Error::Io(format!(
                "no weights found: expected {WEIGHTS} or {WEIGHTS_INDEX} (PyTorch .bin checkpoints are not read; \
                 convert them with transformers' save_pretrained(safe_serialization=True))"
            )));
        }
        let tokenizer_json = get(TOKENIZER_JSON.into()).await?;
        let spiece_model = if tokenizer_json.is_none() { get(SPIECE.into()).await? } else { None };
        let tokenizer_config = get(TOKENIZER_CONFIG.into()).await?;
        Ok(ModelFiles { config_json, weights, tokenizer_json, spiece_model, tokenizer_config })
    }

    /// Reads a model folder from disk.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn from_dir(dir: impl AsRef<std::path::Path>) -> Result<Self> {
        let dir = dir.as_ref().to_path_buf();
        if !dir.is_dir() {
            // `file:`, `javascript:`, `data:`, `ftp://`…: never a folder, and never fetched.
            if let Some(scheme) = dir.to_str().and_then(url_scheme) {
                return Err(Error::Io(not_http(dir.to_str().unwrap_or_default(), scheme)));
            }
            return Err(Error::Io(format!("model folder `{}` does not exist or is not a folder", dir.display())));
        }
        let get = |name: String| {
            let path = dir.join(&name);
            async move {
                match std::fs::read(&path) {
                    Ok(b) => Ok(Some(b)),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                    Err(e) => Err(Error::Io(format!("cannot read `{}`: {e}", path.display()))),
                }
            }
        };
        // Every read is ready at once; pollster drives the future without an executor.
        pollster::block_on(Self::fetch(get))
    }

    /// Total bytes of the weights files.
    pub fn weights_bytes(&self) -> usize {
        self.weights.iter().map(|(_, b)| b.len()).sum()
    }

    /// Parses config and weights.
    pub fn load(&self) -> Result<(Config, AlbertWeights)> {
        let config = Config::from_json(&self.config_json)?;
        let mut ck = Checkpoint::default();
        for (name, bytes) in &self.weights {
            ck.add_file(name, bytes)?;
        }
        let w = AlbertWeights::from_checkpoint(&config, ck)?;
        Ok((config, w))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_schemes_are_told_from_paths() {
        for (s, scheme) in [
            ("https://x/y", Some("https")),
            ("file:///etc", Some("file")),
            ("javascript:alert(1)", Some("javascript")),
            ("data:application/json,{}", Some("data")),
            ("blob:https://x/1", Some("blob")),
            ("git+ssh://x", Some("git+ssh")),
            ("C:\\models\\tiny", None),
            ("models/tiny", None),
            ("./a:b", None),
            ("/tmp/x:y", None),
            ("1abc:x", None),
            ("", None),
        ] {
            assert_eq!(url_scheme(s), scheme, "{s}");
        }
    }

    #[cfg(not(target_arch = "wasm32"))]
    #[test]
    fn from_dir_refuses_non_http_urls_with_a_message() {
        for (model, needle) in [
            ("file:///etc/passwd", "is a `file:` URL; only http:// and https:// model URLs can be fetched"),
            ("javascript:alert(1)", "is a `javascript:` URL; only http:// and https://"),
            ("data:text/plain,hello", "is a `data:` URL; only http:// and https://"),
            ("ftp://example.com/m", "is a `ftp:` URL; only http:// and https://"),
            ("HTTPS://example.com/m", "write the scheme in lower case"),
            ("no/such/folder", "model folder `no/such/folder` does not exist"),
        ] {
            let err = ModelFiles::from_dir(model).unwrap_err().to_string();
            assert!(err.contains(needle), "{model}: {err}");
        }
    }
}
