//! What a user types as a model address (a Hugging Face repo id, a Hub page, a folder URL, a
//! path, with or without a file name at its end) → the base URL the loader fetches from. Pure:
//! the page resolves relative paths and does the fetching.

/// File names a user may paste at the end of a model URL; they are cut off to get the base.
const MODEL_FILES: [&str; 6] = [
    "config.json",
    "model.safetensors",
    "model.safetensors.index.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "spiece.model",
];

/// Turns what a user typed into a model base URL ending in `/`:
/// - `owner/name` (a Hugging Face repo id) → `<hub>/owner/name/resolve/main/` (`hub` without a
///   trailing slash, e.g. `https://huggingface.co`);
/// - `https://huggingface.co/owner/name` or `…/tree/<rev>` → the matching `resolve/<rev>/` URL;
/// - any other `http(s)://` URL or relative path (`./models/x`, `/models/x`) is kept, with a
///   trailing file name such as `config.json` removed.
///
/// Relative paths are resolved against the page by the caller.
pub fn normalize_model_url(input: &str, hub: &str) -> Result<String, String> {
    let s = input.trim();
    if s.is_empty() {
        return Err("enter a model URL (a folder with config.json, model.safetensors and tokenizer.json) or a Hugging Face id such as albert/albert-base-v2".into());
    }
    if s.contains(char::is_whitespace) {
        return Err(format!("\"{s}\" contains spaces: a model URL cannot"));
    }
    let mut s = s.to_string();
    for f in MODEL_FILES {
        if let Some(stripped) = s.strip_suffix(f) {
            if stripped.ends_with('/') {
                s = stripped.to_string();
                break;
            }
        }
    }
    let lower = s.to_ascii_lowercase();
    let is_url = lower.starts_with("http://") || lower.starts_with("https://");
    if !is_url && !s.starts_with('.') && !s.starts_with('/') && is_repo_id(s.trim_end_matches('/')) {
        return Ok(format!("{hub}/{}/resolve/main/", s.trim_end_matches('/')));
    }
    if is_url {
        if let Some(rest) = s.strip_prefix("https://huggingface.co/").or_else(|| s.strip_prefix("http://huggingface.co/")) {
            let parts: Vec<&str> = rest.trim_end_matches('/').split('/').collect();
            if parts.len() == 2 && is_repo_id(&parts.join("/")) {
                return Ok(format!("https://huggingface.co/{}/{}/resolve/main/", parts[0], parts[1]));
            }
            if parts.len() >= 4 && (parts[2] == "tree" || parts[2] == "blob") {
                return Ok(format!("https://huggingface.co/{}/{}/resolve/{}/", parts[0], parts[1], parts[3..].join("/")));
            }
        }
    } else if lower.contains("://") || albert::files::url_scheme(&s).is_some() {
        // `javascript:`, `data:`, `blob:` have no `//` but are schemes all the same: never fetched.
        return Err(format!("\"{s}\": only http:// and https:// model URLs can be fetched"));
    }
    if !s.ends_with('/') {
        s.push('/');
    }
    Ok(s)
}

/// `owner/name` with Hugging Face's allowed characters.
fn is_repo_id(s: &str) -> bool {
    let parts: Vec<&str> = s.split('/').collect();
    parts.len() == 2
        && parts.iter().all(|p| {
            !p.is_empty()
                && !p.starts_with('.')
                && p.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HF: &str = "https://huggingface.co";

    #[test]
    fn model_urls() {
        let hf = "https://huggingface.co/albert/albert-base-v2/resolve/main/";
        assert_eq!(normalize_model_url("albert/albert-base-v2", HF).unwrap(), hf);
        assert_eq!(normalize_model_url(" https://huggingface.co/albert/albert-base-v2 ", HF).unwrap(), hf);
        assert_eq!(normalize_model_url("https://huggingface.co/albert/albert-base-v2/resolve/main", HF).unwrap(), hf);
        assert_eq!(normalize_model_url("https://huggingface.co/albert/albert-base-v2/resolve/main/config.json", HF).unwrap(), hf);
        assert_eq!(
            normalize_model_url("https://huggingface.co/albert/albert-base-v2/tree/refs%2Fpr%2F1", HF).unwrap(),
            "https://huggingface.co/albert/albert-base-v2/resolve/refs%2Fpr%2F1/"
        );
        assert_eq!(normalize_model_url("http://127.0.0.1:9000/tiny", HF).unwrap(), "http://127.0.0.1:9000/tiny/");
        assert_eq!(normalize_model_url("./fixtures/tiny/", HF).unwrap(), "./fixtures/tiny/");
        assert_eq!(normalize_model_url("/m/tiny/model.safetensors", HF).unwrap(), "/m/tiny/");
        assert_eq!(normalize_model_url("model", HF).unwrap(), "model/");
        assert!(normalize_model_url("  ", HF).is_err());
        assert!(normalize_model_url("ftp://x/y", HF).is_err());
        for bad in ["javascript:alert(1)", "data:application/json,{}", "blob:https://x/1", "file:/etc"] {
            assert!(normalize_model_url(bad, HF).unwrap_err().contains("only http:// and https:// model URLs can be fetched"), "{bad}");
        }
        assert!(normalize_model_url("a b", HF).is_err());
        // A repo id goes to the configured Hub (?hub=, a mirror or a test server).
        assert_eq!(
            normalize_model_url("albert/albert-base-v2", "http://127.0.0.1:5").unwrap(),
            "http://127.0.0.1:5/albert/albert-base-v2/resolve/main/"
        );
    }
}
