//! The engine's boundary against hostile or broken files (issue 13, item 1): non-finite weights
//! and scores, sizes past the limits (refused from config.json alone, before any weight is
//! fetched), shard names outside the model, non-http(s) URLs, the page's referrer policy. Each
//! test asserts the message a user gets; the README's "Bad inputs" catalogue quotes them.

mod common;

use albert::{Error, FillMask, FillOptions, ModelFiles};
use std::cell::RefCell;
use std::time::{Duration, Instant};

/// The tiny fixture's files, read from disk.
fn tiny() -> ModelFiles {
    ModelFiles::from_dir(common::fixture("tiny")).unwrap()
}

/// `files`' one weights file with tensor `name` changed by `f` (f32 tensors only).
fn rewrite(files: &mut ModelFiles, name: &str, f: impl Fn(&mut [f32])) {
    let (_, bytes) = &mut files.weights[0];
    let st = safetensors::SafeTensors::deserialize(bytes).unwrap();
    let mut owned: Vec<(String, safetensors::Dtype, Vec<usize>, Vec<u8>)> =
        st.tensors().into_iter().map(|(k, v)| (k, v.dtype(), v.shape().to_vec(), v.data().to_vec())).collect();
    let t = owned.iter_mut().find(|t| t.0 == name).unwrap_or_else(|| panic!("no tensor {name}"));
    assert_eq!(t.1, safetensors::Dtype::F32);
    let mut v: Vec<f32> = t.3.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect();
    f(&mut v);
    t.3 = v.iter().flat_map(|x| x.to_le_bytes()).collect();
    let views: Vec<(String, safetensors::tensor::TensorView)> = owned
        .iter()
        .map(|(k, d, s, b)| (k.clone(), safetensors::tensor::TensorView::new(*d, s.clone(), b).unwrap()))
        .collect();
    *bytes = safetensors::serialize(views, None).unwrap();
}

fn cpu(files: &ModelFiles) -> albert::Result<FillMask> {
    pollster::block_on(FillMask::new(files, None))
}

#[test]
fn a_nan_in_a_layer_norm_weight_is_refused_at_load_naming_the_tensor() {
    // The issue's reproduction: one NaN in a LayerNorm weight printed `NaN%` predictions.
    let name = "albert.encoder.albert_layer_groups.0.albert_layers.0.attention.LayerNorm.weight";
    let mut files = tiny();
    rewrite(&mut files, name, |v| v[3] = f32::NAN);
    let err = cpu(&files).err().expect("a NaN weight must not load").to_string();
    assert!(err.contains(&format!("tensor `{name}` holds NaN at index 3 of its 32 values")), "{err}");
    assert!(err.contains("corrupt or come from a training run that diverged"), "{err}");

    let mut files = tiny();
    rewrite(&mut files, "predictions.bias", |v| v[999] = f32::NEG_INFINITY);
    let err = cpu(&files).err().unwrap().to_string();
    assert!(err.contains("tensor `predictions.bias` holds -inf at index 999 of its 1000 values"), "{err}");
}

#[test]
fn scores_that_overflow_are_an_error_not_nan_percent() {
    // Finite weights whose MLM head overflows f32: the LayerNorm's output is f32::MAX in every
    // column, so decoder dot products reach ±inf (and inf − inf = NaN in the softmax).
    let mut files = tiny();
    rewrite(&mut files, "predictions.LayerNorm.weight", |v| v.fill(0.0));
    rewrite(&mut files, "predictions.LayerNorm.bias", |v| v.fill(f32::MAX));
    let mut fm = cpu(&files).expect("finite weights load");
    let err = pollster::block_on(fm.fill("The cat sat on the [MASK].", &FillOptions::default())).unwrap_err();
    assert!(matches!(err, Error::NonFiniteOutput(_)), "{err}");
    let msg = err.to_string();
    assert!(msg.contains("the model produced non-finite scores ("), "{msg}");
    assert!(msg.contains("at the [MASK] at token "), "{msg}");
    assert!(!msg.contains('%'), "{msg}");
}

#[test]
fn sentence_order_scores_that_overflow_are_an_error() {
    // The SOP head's weights at f32::MAX: tanh(pooled) · MAX summed over 32 columns overflows.
    let mut files = ModelFiles::from_dir(common::fixture("pretraining")).unwrap();
    rewrite(&mut files, "sop_classifier.classifier.weight", |v| v.fill(f32::MAX));
    let mut fm = cpu(&files).expect("finite weights load");
    let err = pollster::block_on(fm.order("The cat sat.", "It purred.")).unwrap_err().to_string();
    assert!(err.contains("the model produced non-finite scores (") && err.contains("in the sentence-order head"), "{err}");
}

/// Runs `ModelFiles::fetch` over an in-memory folder, recording every file asked for.
fn fetch_from(files: &[(&str, Vec<u8>)]) -> (albert::Result<ModelFiles>, Vec<String>) {
    let asked = RefCell::new(Vec::new());
    let r = pollster::block_on(ModelFiles::fetch(|name: String| {
        asked.borrow_mut().push(name.clone());
        let found = files.iter().find(|(n, _)| *n == name).map(|(_, b)| b.clone());
        async move { Ok(found) }
    }));
    (r, asked.into_inner())
}

#[test]
fn huge_layer_counts_are_refused_from_config_json_before_any_weight_is_fetched() {
    // The issue: 4,000,000,000 layers loaded and ran out of memory; 100,000 hung.
    for layers in ["4000000000", "100000", "129"] {
        let config = format!(r#"{{"model_type": "albert", "num_hidden_layers": {layers}}}"#);
        let t = Instant::now();
        let (r, asked) = fetch_from(&[("config.json", config.into_bytes()), ("model.safetensors", vec![0; 8])]);
        let err = r.unwrap_err().to_string();
        assert!(err.contains(&format!("config.json: num_hidden_layers is {layers}, above this engine's limit of 128")), "{err}");
        assert_eq!(asked, ["config.json"], "weights were asked for after a refused config");
        assert!(t.elapsed() < Duration::from_millis(200), "{:?}", t.elapsed());
    }
}

#[test]
fn shard_names_outside_the_model_are_refused_before_fetching_them() {
    let config = std::fs::read(common::fixture("tiny").join("config.json")).unwrap();
    for shard in ["../x.safetensors", "a/b.safetensors", "/etc/x.safetensors", "https://evil.example/x.safetensors", "..\\x.safetensors"] {
        let index = serde_json::json!({"weight_map": {"a": shard}}).to_string();
        let (r, asked) = fetch_from(&[("config.json", config.clone()), ("model.safetensors.index.json", index.into_bytes())]);
        let err = r.unwrap_err().to_string();
        assert!(err.contains(&format!("shard name {shard:?} is refused")), "{shard}: {err}");
        assert!(!asked.iter().any(|a| a == shard), "{shard} was fetched: {asked:?}");
    }
}

#[test]
fn the_page_sends_no_referrer() {
    // The sentence typed is in the page's URL (?text=): a Referer would carry it to every
    // origin the page fetches from (model hosts, the Hub).
    let html = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../index.html")).unwrap();
    assert!(html.contains(r#"<meta name="referrer" content="no-referrer" />"#), "index.html lacks the no-referrer policy");
}
