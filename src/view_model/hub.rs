//! The Hugging Face Hub as the model picker sees it: the official ALBERT checkpoints with their
//! shapes, the Hub's address (`?hub=`, or the build-time default), what the Hub's model API says
//! a repo holds (which files the engine would download, their bytes, or why the repo cannot be
//! loaded), the Hub's error answers in words, and when to suggest a download. Pure: the page does
//! the fetching.

#[cfg(test)]
use albert::Config;

use super::calc;
use serde::Deserialize;

/// The Hub the page talks to unless `?hub=` says otherwise; `ALBERT_LENS_HUB` at build time
/// (e.g. a mirror) overrides it.
pub const DEFAULT_HUB: &str = match option_env!("ALBERT_LENS_HUB") {
    Some(h) => h,
    None => "https://huggingface.co",
};

/// localStorage: the last model the user chose from the picker (a repo id), loaded on the next visit.
pub const CHOSEN_KEY: &str = "albert-lens-hub-model";
/// localStorage: set once a Hub model has loaded; the download suggestion is not shown after that.
pub const LOADED_ONCE_KEY: &str = "albert-lens-hub-loaded";

/// One official checkpoint: the repo id, its shapes (the calculator's preset of the same name:
/// v1 and v2 share shapes) and its activation (v2 uses gelu_new and was trained longer without
/// dropout).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    pub id: &'static str,
    pub shapes: calc::Shapes,
    pub act: &'static str,
}

/// `id` with the shapes of `calc::PRESETS[preset]` (a test checks the two name the same model).
const fn ck(id: &'static str, preset: usize, act: &'static str) -> Checkpoint {
    Checkpoint { id, shapes: calc::PRESETS[preset].shapes, act }
}

/// Google's ALBERT checkpoints on the Hub, smallest first.
pub const CATALOG: [Checkpoint; 8] = [
    ck("albert/albert-base-v2", 0, "gelu_new"),
    ck("albert/albert-large-v2", 1, "gelu_new"),
    ck("albert/albert-xlarge-v2", 2, "gelu_new"),
    ck("albert/albert-xxlarge-v2", 3, "gelu_new"),
    ck("albert/albert-base-v1", 4, "gelu"),
    ck("albert/albert-large-v1", 5, "gelu"),
    ck("albert/albert-xlarge-v1", 6, "gelu"),
    ck("albert/albert-xxlarge-v1", 7, "gelu"),
];

impl Checkpoint {
    /// Its config.json as the engine reads it; the tests hold the engine's count against
    /// `parameters`.
    #[cfg(test)]
    pub fn config(&self) -> Config {
        let s = &self.shapes;
        let json = serde_json::json!({
            "model_type": "albert", "vocab_size": s.vocab, "embedding_size": s.embedding,
            "hidden_size": s.hidden, "num_hidden_layers": s.layers, "num_attention_heads": s.heads,
            "intermediate_size": s.intermediate, "num_hidden_groups": s.groups, "inner_group_num": s.inner,
            "hidden_act": self.act, "max_position_embeddings": s.max_positions, "type_vocab_size": s.type_vocab,
        });
        Config::from_json(&json.to_string()).expect("the catalog's shapes are valid ALBERT configs")
    }

    /// Parameters as transformers' `AlbertModel` counts them (11,683,584 for albert-base-v2),
    /// the figure the calculator and the model cards use.
    pub fn parameters(&self) -> usize {
        calc::albert(&self.shapes).total()
    }

    /// `base-v2`, for compact labels.
    pub fn short_name(&self) -> &'static str {
        self.id.trim_start_matches("albert/albert-")
    }

    /// One line on what it is, e.g. `11.7M parameters · 12 layers · hidden 768 · 1 shared block`.
    pub fn summary(&self) -> String {
        let p = self.parameters();
        let s = &self.shapes;
        let blocks = if s.groups == 1 { "1 shared block".to_string() } else { format!("{} blocks", s.groups) };
        format!("{:.1}M parameters · {} layers · hidden {} · {}", p as f64 / 1e6, s.layers, s.hidden, blocks)
    }
}

/// The Hub's address from `?hub=` (http(s) only, no trailing slash), else the default.
pub fn hub_base(param: Option<&str>) -> Result<String, String> {
    let Some(h) = param.map(str::trim).filter(|h| !h.is_empty()) else {
        return Ok(DEFAULT_HUB.to_string());
    };
    let lower = h.to_ascii_lowercase();
    if !(lower.starts_with("http://") || lower.starts_with("https://")) {
        return Err(format!("hub=\"{h}\": the Hub's address must start with http:// or https://"));
    }
    Ok(h.trim_end_matches('/').to_string())
}

/// The base URL the loader reads a repo's files from (ending in `/`).
pub fn repo_base(hub: &str, id: &str) -> String {
    format!("{hub}/{id}/resolve/main/")
}

/// `owner/name (Hugging Face)` for a base URL in the Hub's layout (`<hub>/<owner>/<name>/resolve/<rev>/`,
/// on huggingface.co, a mirror or a test server).
pub fn repo_label(base: &str) -> Option<String> {
    let path = base.split_once("://")?.1.split_once('/')?.1;
    let parts: Vec<&str> = path.split('/').collect();
    let r = parts.iter().position(|p| *p == "resolve")?;
    (r >= 2).then(|| format!("{}/{} (Hugging Face)", parts[r - 2], parts[r - 1]))
}

/// The Hub's model API for a repo, with file sizes.
pub fn api_url(hub: &str, id: &str) -> String {
    format!("{hub}/api/models/{id}?blobs=true")
}

#[derive(Deserialize)]
struct ApiModel {
    #[serde(default)]
    siblings: Vec<Sibling>,
}

#[derive(Deserialize)]
struct Sibling {
    rfilename: String,
    #[serde(default)]
    size: Option<u64>,
}

/// What a download of a repo would fetch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// Files the loader fetches, with their size when the Hub said.
    pub files: Vec<(String, Option<u64>)>,
    /// Their total, when every size is known.
    pub bytes: Option<u64>,
}

/// Whether a repo can be loaded, from the Hub's model API answer (`?blobs=true`).
/// `Err` says why not, in words for the picker.
pub fn plan_from_api(json: &str) -> Result<Plan, String> {
    let m: ApiModel = serde_json::from_str(json).map_err(|e| format!("the Hub's answer is not a model description ({e})"))?;
    let has = |name: &str| m.siblings.iter().any(|s| s.rfilename == name);
    let size = |name: &str| m.siblings.iter().find(|s| s.rfilename == name).and_then(|s| s.size);
    if !has("config.json") {
        return Err("no config.json in the repo".into());
    }
    let mut files = vec!["config.json".to_string()];
    if has("model.safetensors") {
        files.push("model.safetensors".into());
    } else if has("model.safetensors.index.json") {
        files.push("model.safetensors.index.json".into());
        let mut shards: Vec<String> = m
            .siblings
            .iter()
            .map(|s| s.rfilename.clone())
            .filter(|n| n.starts_with("model-") && n.ends_with(".safetensors") && !n.contains('/'))
            .collect();
        shards.sort();
        files.extend(shards);
    } else {
        let other = ["pytorch_model.bin", "tf_model.h5", "flax_model.msgpack"].into_iter().find(|f| has(f));
        return Err(match other {
            Some(f) => format!("not loadable: only {f}, no safetensors copy (the page reads safetensors only)"),
            None => "not loadable: no model.safetensors in the repo".into(),
        });
    }
    if has("tokenizer.json") {
        files.push("tokenizer.json".into());
    } else if has("spiece.model") {
        files.push("spiece.model".into());
    } else {
        return Err("not loadable: neither tokenizer.json nor spiece.model in the repo".into());
    }
    if has("tokenizer_config.json") {
        files.push("tokenizer_config.json".into());
    }
    let files: Vec<(String, Option<u64>)> = files.into_iter().map(|f| { let s = size(&f); (f, s) }).collect();
    let bytes = files.iter().map(|(_, s)| *s).sum::<Option<u64>>();
    Ok(Plan { files, bytes })
}

/// The Hub's error answers in words: HTTP status and its `X-Error-Code` header.
pub fn explain_error(id: &str, file: Option<&str>, status: u16, code: Option<&str>) -> String {
    match (status, code) {
        (401 | 403, Some("GatedRepo")) => format!(
            "{id} is gated on the Hub: its files are only served to signed-in users who accepted its terms, and this page sends no credentials"
        ),
        (401 | 404, Some("RepoNotFound")) => format!("{id} does not exist on the Hub (or is private)"),
        (404, Some("EntryNotFound")) | (404, None) => match file {
            Some(f) => format!("{id} has no {f} on the Hub"),
            None => format!("{id} was not found on the Hub"),
        },
        (401 | 403, _) => format!("the Hub refused access to {id} (HTTP {status})"),
        (s, _) if s >= 500 => format!("the Hub failed (HTTP {s}); try again later"),
        (s, c) => format!("the Hub answered HTTP {s}{} for {id}", c.map(|c| format!(" ({c})")).unwrap_or_default()),
    }
}

/// The picker's state for one checkpoint, from what is known so far.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Availability {
    /// Asking the Hub.
    Checking,
    /// Loadable: the download's bytes when known.
    Ready { bytes: Option<u64> },
    /// The Hub answered, and the repo cannot be loaded (why).
    NotLoadable(String),
    /// The Hub could not be asked (offline, blocked, down): why.
    Unreachable(String),
}

/// Whether to show "download Google's albert-base-v2 once (N MB)": only while the embedded model
/// runs, the browser is online, the Hub answered for it, and no Hub model ever loaded here.
pub fn suggest(running_embedded: bool, online: bool, loaded_hub_before: bool, base: &Availability) -> Option<u64> {
    match base {
        Availability::Ready { bytes: Some(b) } if running_embedded && online && !loaded_hub_before => Some(*b),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_counts_match_transformers() {
        // AlbertModel(config).num_parameters(), and the engine reads the same shapes from the config.
        let base = CATALOG[0].parameters();
        assert_eq!(base, 11_683_584);
        assert_eq!(CATALOG[3].parameters(), 222_595_584);
        let counts = CATALOG[0].config().parameter_counts();
        let h = 768;
        assert_eq!(counts.total - counts.mlm_head + h * h + h, base, "the engine's count agrees");
        assert!(CATALOG.iter().all(|c| c.id.starts_with("albert/albert-")));
        assert_eq!(CATALOG[0].summary(), "11.7M parameters · 12 layers · hidden 768 · 1 shared block");
        assert_eq!(CATALOG[3].short_name(), "xxlarge-v2");
        for c in CATALOG {
            let preset = calc::preset_by_id(c.id.trim_start_matches("albert/")).expect("a calculator preset per checkpoint");
            assert_eq!(c.shapes, preset.shapes, "{}", c.id);
        }
    }

    #[test]
    fn hub_address() {
        assert_eq!(hub_base(None).unwrap(), DEFAULT_HUB);
        assert_eq!(hub_base(Some(" ")).unwrap(), DEFAULT_HUB);
        assert_eq!(hub_base(Some("http://127.0.0.1:9/")).unwrap(), "http://127.0.0.1:9");
        assert!(hub_base(Some("file:///etc")).unwrap_err().contains("http"));
        assert_eq!(repo_base("https://hf.co", "albert/albert-base-v2"), "https://hf.co/albert/albert-base-v2/resolve/main/");
        assert_eq!(api_url("https://hf.co", "a/b"), "https://hf.co/api/models/a/b?blobs=true");
        assert_eq!(repo_label("https://huggingface.co/albert/albert-base-v2/resolve/main/").as_deref(), Some("albert/albert-base-v2 (Hugging Face)"));
        assert_eq!(repo_label("http://127.0.0.1:9/mirror/albert/albert-base-v2/resolve/main/").as_deref(), Some("albert/albert-base-v2 (Hugging Face)"));
        assert_eq!(repo_label("http://127.0.0.1:9/tiny/"), None);
    }

    #[test]
    fn plans_from_the_api() {
        let p = plan_from_api(r#"{"siblings":[{"rfilename":"config.json","size":684},{"rfilename":"model.safetensors","size":47376696},
            {"rfilename":"pytorch_model.bin","size":47376000},{"rfilename":"spiece.model","size":760289},{"rfilename":"tokenizer.json","size":1312669},
            {"rfilename":"tokenizer_config.json","size":25}]}"#)
        .unwrap();
        let names: Vec<&str> = p.files.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"]);
        assert_eq!(p.bytes, Some(684 + 47376696 + 1312669 + 25));

        let sharded = plan_from_api(r#"{"siblings":[{"rfilename":"config.json"},{"rfilename":"model.safetensors.index.json","size":1},
            {"rfilename":"model-00002-of-00002.safetensors","size":5},{"rfilename":"model-00001-of-00002.safetensors","size":5},{"rfilename":"spiece.model","size":3}]}"#)
        .unwrap();
        let names: Vec<&str> = sharded.files.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["config.json", "model.safetensors.index.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors", "spiece.model"]);
        assert_eq!(sharded.bytes, None, "config.json's size is unknown");

        let bin = plan_from_api(r#"{"siblings":[{"rfilename":"config.json"},{"rfilename":"pytorch_model.bin"},{"rfilename":"spiece.model"}]}"#);
        assert!(bin.unwrap_err().contains("only pytorch_model.bin"));
        assert!(plan_from_api(r#"{"siblings":[{"rfilename":"config.json"},{"rfilename":"model.safetensors"}]}"#).unwrap_err().contains("tokenizer"));
        assert!(plan_from_api("<html>").unwrap_err().contains("not a model description"));
    }

    #[test]
    fn errors_in_words() {
        assert!(explain_error("a/b", None, 401, Some("GatedRepo")).contains("gated"));
        assert!(explain_error("a/b", None, 401, Some("RepoNotFound")).contains("does not exist"));
        assert_eq!(explain_error("a/b", Some("spiece.model"), 404, Some("EntryNotFound")), "a/b has no spiece.model on the Hub");
        assert!(explain_error("a/b", None, 503, None).contains("HTTP 503"));
    }

    #[test]
    fn suggestion_rules() {
        let ready = Availability::Ready { bytes: Some(47_000_000) };
        assert_eq!(suggest(true, true, false, &ready), Some(47_000_000));
        assert_eq!(suggest(false, true, false, &ready), None, "not while a Hub model runs");
        assert_eq!(suggest(true, false, false, &ready), None, "not offline");
        assert_eq!(suggest(true, true, true, &ready), None, "not after a Hub model loaded once");
        assert_eq!(suggest(true, true, false, &Availability::Unreachable("offline".into())), None);
        assert_eq!(suggest(true, true, false, &Availability::Ready { bytes: None }), None, "no size, no promise");
    }
}
