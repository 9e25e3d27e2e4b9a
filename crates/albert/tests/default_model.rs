//! The model the app and the CLI ship by default (`assets/model`, trained by `train/`): the
//! engine's logits on CPU and GPU against transformers' `AlbertForMaskedLM` on the exported f16
//! files (`golden.safetensors`, written by `train/export.py`), the tokenizer's ids against
//! transformers' `AlbertTokenizerFast`, and the fill-mask answer to the model card's sentence.
//! Prints the max differences and the predictions.

mod common;
use albert::{cpu, gpu, Batch, FillMask, FillOptions, LogitsRequest, ModelFiles, Request, Tokenizer};
use common::*;
use std::collections::HashMap;
use std::path::PathBuf;

fn model_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../assets/model")
}

/// The golden tensors (as f32) and the texts they were computed from.
fn golden_file() -> (HashMap<String, GoldenTensor>, Vec<String>) {
    let bytes = std::fs::read(model_dir().join("golden.safetensors")).expect("assets/model/golden.safetensors");
    let (_, meta) = safetensors::SafeTensors::read_metadata(&bytes).expect("golden metadata");
    let texts_json = meta.metadata().as_ref().and_then(|m| m.get("texts")).expect("`texts` in the golden metadata").clone();
    let texts: Vec<String> = serde_json::from_str(&texts_json).expect("texts are a JSON list");
    let st = safetensors::SafeTensors::deserialize(&bytes).expect("valid golden file");
    let mut out = HashMap::new();
    for (k, v) in st.tensors() {
        let data: Vec<f32> = match v.dtype() {
            safetensors::Dtype::F32 => v.data().chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect(),
            safetensors::Dtype::I64 => v.data().chunks_exact(8).map(|c| i64::from_le_bytes(c.try_into().unwrap()) as f32).collect(),
            d => panic!("unexpected golden dtype {d:?}"),
        };
        out.insert(k, GoldenTensor { shape: v.shape().to_vec(), data });
    }
    (out, texts)
}

fn golden_batch(g: &HashMap<String, GoldenTensor>) -> Batch {
    let ids = &g["input_ids"];
    let (b, t) = (ids.shape[0], ids.shape[1]);
    let u = |k: &str| g[k].data.iter().map(|&x| x as u32).collect::<Vec<u32>>();
    Batch { batch: b, seq_len: t, input_ids: u("input_ids"), token_type_ids: u("token_type_ids"), attention_mask: u("attention_mask") }
}

#[test]
fn default_model_logits_match_transformers() {
    let files = ModelFiles::from_dir(model_dir()).expect("assets/model loads");
    let (cfg, w) = files.load().expect("weights load");
    assert_eq!(w.dtype, albert::DType::F16, "the shipped model is f16");
    let (g, _) = golden_file();
    let batch = golden_batch(&g);
    // The golden file keeps the logits of selected rows (b * seq_len + t), see train/export.py.
    let rows: Vec<usize> = g["rows"].data.iter().map(|&r| r as usize).collect();
    let want = &g["logits"].data;
    assert_eq!(want.len(), rows.len() * cfg.vocab_size);
    let req = Request { logits: LogitsRequest::All, ..Default::default() };
    let pick = |all: &[f32]| -> Vec<f32> {
        rows.iter().flat_map(|&r| all[r * cfg.vocab_size..(r + 1) * cfg.vocab_size].iter().copied()).collect()
    };

    let cpu_model = cpu::AlbertForMaskedLM::new(&cfg, &w).unwrap();
    let out = cpu_model.forward(&batch, &req).unwrap();
    let d = max_abs_diff(&pick(out.logits.as_ref().expect("logits")), want);
    eprintln!(
        "default model cpu: max |Δ| logits {d:.2e} over {} rows × {} ({} tolerance {:e})",
        rows.len(),
        cfg.vocab_size,
        STRICT.name,
        STRICT.values
    );
    assert!(d <= STRICT.values, "cpu logits differ from transformers by {d:e}");

    if let Some(gpu) = gpu() {
        let mut m = pollster::block_on(gpu::AlbertForMaskedLM::new(gpu, &cfg, &w)).unwrap();
        let out = pollster::block_on(m.forward(&batch, &req)).unwrap();
        let d = max_abs_diff(&pick(out.logits.as_ref().expect("logits")), want);
        eprintln!("default model gpu: max |Δ| logits {d:.2e} ({} tolerance {:e})", GPU.name, GPU.values);
        assert!(d <= GPU.values, "gpu logits differ from transformers by {d:e}");
    }
}

#[test]
fn default_model_tokenizer_matches_transformers() {
    let files = ModelFiles::from_dir(model_dir()).expect("assets/model loads");
    assert!(files.tokenizer_json.is_some(), "the shipped model has a tokenizer.json");
    let tok = Tokenizer::from_files(files.tokenizer_json.as_deref(), None, files.tokenizer_config.as_deref()).unwrap();
    let (g, texts) = golden_file();
    let batch = golden_batch(&g);
    for (i, text) in texts.iter().enumerate() {
        let row = i * batch.seq_len..(i + 1) * batch.seq_len;
        let n = batch.attention_mask[row.clone()].iter().filter(|&&m| m == 1).count();
        let want_ids = &batch.input_ids[row.start..row.start + n];
        let want_types = &batch.token_type_ids[row.start..row.start + n];
        // A literal " [SEP] " in the text makes a sentence pair, as the golden file was made.
        let enc = tok.encode(text).unwrap();
        assert_eq!(enc.ids, want_ids, "ids of {text:?}");
        assert_eq!(enc.type_ids, want_types, "token types of {text:?}");
        eprintln!("{text:?} → {:?}", enc.tokens);
    }
}

#[test]
fn default_model_fills_the_model_card_sentence() {
    let files = ModelFiles::from_dir(model_dir()).expect("assets/model loads");
    let text = "She wrote a [MASK] to her mother.";
    let mut fm = pollster::block_on(FillMask::new(&files, None)).unwrap();
    let r = pollster::block_on(fm.fill(text, &FillOptions::default())).unwrap();
    let top: Vec<String> = r.masks[0].top_k.iter().map(|p| format!("{} {:.3}", p.token, p.prob)).collect();
    eprintln!("cpu: {text} → {}", top.join(" | "));
    assert_eq!(r.masks.len(), 1);
    let sum: f32 = r.masks[0].top_k.iter().map(|p| p.prob).sum();
    assert!(sum > 0.0 && sum <= 1.0 + 1e-5, "top-k probabilities {sum}");
    if let Some(gpu) = gpu() {
        let mut fm_gpu = pollster::block_on(FillMask::new(&files, Some(gpu))).unwrap();
        let rg = pollster::block_on(fm_gpu.fill(text, &FillOptions::default())).unwrap();
        eprintln!("gpu: {text} → {} {:.3}", rg.masks[0].top_k[0].token, rg.masks[0].top_k[0].prob);
        assert_eq!(rg.masks[0].top_k[0].id, r.masks[0].top_k[0].id, "cpu and gpu disagree on the top-1");
    }
}

#[test]
fn default_model_fits_the_download_budget() {
    let dir = model_dir();
    let total: u64 = ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"]
        .iter()
        .map(|f| std::fs::metadata(dir.join(f)).unwrap_or_else(|e| panic!("assets/model/{f}: {e}")).len())
        .sum();
    eprintln!("default model download: {:.2} MB", total as f64 / 1e6);
    assert!(total <= 12_000_000, "the default model's files are {total} bytes, over the 12 MB budget");
}
