//! The model the app and the CLI ship by default (`assets/model`, trained by `train/`): the
//! engine's logits and sentence-order logits on CPU and GPU against transformers'
//! `AlbertForPreTraining` on the exported f16 files (`golden.safetensors`, written by
//! `train/export.py`), the tokenizer's ids against transformers' `AlbertTokenizerFast`, the
//! fill-mask answer to the model card's sentence, and every answer the card prints (its probe
//! sentences and sentence-order probabilities), so the card cannot drift from the shipped weights.
//! Prints the max differences and the predictions.

mod common;
use albert::{cpu, gpu, FillMask, FillOptions, LogitsRequest, ModelFiles, Request, Tokenizer};
use common::*;
use std::collections::HashMap;
use std::path::PathBuf;

fn model_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../assets/model")
}

/// The golden tensors (as f32) and the texts they were computed from.
fn golden_file() -> (HashMap<String, GoldenTensor>, Vec<String>) {
    let (g, texts) = golden_with_meta("texts");
    (g, serde_json::from_value(texts).expect("texts are a JSON list"))
}

/// The golden tensors and one JSON entry of the golden file's metadata.
fn golden_with_meta(key: &str) -> (HashMap<String, GoldenTensor>, serde_json::Value) {
    let bytes = std::fs::read(model_dir().join("golden.safetensors")).expect("assets/model/golden.safetensors");
    (golden_tensors(&bytes), golden_meta(&bytes, key))
}

#[test]
fn default_model_logits_match_transformers() {
    let files = ModelFiles::from_dir(model_dir()).expect("assets/model loads");
    let (cfg, w) = files.load().expect("weights load");
    assert_eq!(w.dtype, albert::DType::F16, "the shipped model is f16");
    let (g, _) = golden_file();
    let batch = batch_from(&g, "");
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

/// The shipped model carries AlbertForPreTraining's pooler and `sop_classifier`, so the app's
/// sentence-order view works out of the box: the card's pair, both ways, against transformers,
/// on both paths, through `FillMask::order` as the CLI and the app call it.
#[test]
fn default_model_sentence_order_matches_transformers() {
    let files = ModelFiles::from_dir(model_dir()).expect("assets/model loads");
    let (g, pair) = golden_with_meta("sop");
    let (a, b) = (pair["a"].as_str().expect("sop.a"), pair["b"].as_str().expect("sop.b"));
    let ids = |key: &str| g[key].data.iter().map(|&x| x as u32).collect::<Vec<u32>>();
    let want_prob = |tag: &str| {
        let l = &g[&format!("sop.{tag}.logits")].data;
        1.0 / (1.0 + (l[1] - l[0]).exp())
    };
    let check = |device: &str, fm: &mut FillMask, tol: &Tol| {
        let mut worst = 0f32;
        for (tag, (x, y)) in [("ab", (a, b)), ("ba", (b, a))] {
            let r = pollster::block_on(fm.order(x, y)).unwrap_or_else(|e| panic!("{device}: order {tag}: {e}"));
            assert_eq!(r.ids, ids(&format!("sop.{tag}.input_ids")), "{device} {tag}: ids");
            assert_eq!(r.token_type_ids, ids(&format!("sop.{tag}.token_type_ids")), "{device} {tag}: token types");
            let d = max_abs_diff(&r.sop_logits, &g[&format!("sop.{tag}.logits")].data);
            assert!(d <= tol.values, "{device} {tag}: sop_logits differ from transformers' by {d:e} ({} {:e})", tol.name, tol.values);
            assert!((r.in_order_prob - want_prob(tag)).abs() <= tol.probs, "{device} {tag}: P(in order) {} vs {}", r.in_order_prob, want_prob(tag));
            worst = worst.max(d);
        }
        eprintln!("default model {device}: max |Δ| sop_logits {worst:.2e} ({} tolerance {:e}); P(in order) A→B {:.3}, B→A {:.3}", tol.name, tol.values, want_prob("ab"), want_prob("ba"));
    };
    let mut fm = pollster::block_on(FillMask::new(&files, None)).unwrap();
    check("cpu", &mut fm, &STRICT);
    if let Some(gpu) = gpu() {
        let mut fm_gpu = pollster::block_on(FillMask::new(&files, Some(gpu))).unwrap();
        check("gpu", &mut fm_gpu, &GPU);
    }
}

#[test]
fn default_model_tokenizer_matches_transformers() {
    let files = ModelFiles::from_dir(model_dir()).expect("assets/model loads");
    assert!(files.tokenizer_json.is_some(), "the shipped model has a tokenizer.json");
    let tok = Tokenizer::from_files(files.tokenizer_json.as_deref(), None, files.tokenizer_config.as_deref()).unwrap();
    let (g, texts) = golden_file();
    let batch = batch_from(&g, "");
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

/// The model card's first example must give transformers' answer: the same top-5 tokens, in
/// order, with the same probabilities, as the golden logits of that sentence's [MASK] row.
#[test]
fn default_model_fills_the_model_card_sentence() {
    let files = ModelFiles::from_dir(model_dir()).expect("assets/model loads");
    let text = "She wrote a [MASK] to her mother.";
    let (g, texts) = golden_file();
    let batch = batch_from(&g, "");
    let i = texts.iter().position(|t| t == text).expect("the card's sentence is in the golden file");
    let mut fm = pollster::block_on(FillMask::new(&files, None)).unwrap();
    let mask_id = fm.tokenizer.mask_token_id();
    let seq = &batch.input_ids[i * batch.seq_len..(i + 1) * batch.seq_len];
    let row = i * batch.seq_len + seq.iter().position(|&id| id == mask_id).expect("a [MASK] in the golden ids");
    let at = g["rows"].data.iter().position(|&r| r as usize == row).expect("the golden file keeps the [MASK] row's logits");
    let v = fm.config.vocab_size;
    let want = albert::rank::top_k(&g["logits"].data[at * v..(at + 1) * v], 5);
    let r = pollster::block_on(fm.fill(text, &FillOptions::default())).unwrap();
    let tok = &fm.tokenizer;
    let shown = |p: &[(u32, f32)]| p.iter().map(|(id, p)| format!("{} {p:.4}", tok.id_to_token(*id).unwrap_or_default())).collect::<Vec<_>>().join(" | ");
    eprintln!("transformers: {text} → {}", shown(&want));

    let check = |device: &str, r: &albert::FillResult, tol: &Tol| {
        assert_eq!(r.masks.len(), 1, "{device}: one [MASK]");
        let got: Vec<(u32, f32)> = r.masks[0].top_k.iter().map(|p| (p.id, p.prob)).collect();
        eprintln!("{device}: {text} → {}", shown(&got));
        assert_eq!(got.iter().map(|p| p.0).collect::<Vec<_>>(), want.iter().map(|p| p.0).collect::<Vec<_>>(), "{device}: top-5 ids differ from transformers'");
        let d = got.iter().zip(&want).map(|(a, b)| (a.1 - b.1).abs()).fold(0.0f32, f32::max);
        eprintln!("{device}: max |Δ| top-5 probabilities {d:.2e} ({} tolerance {:e})", tol.name, tol.probs);
        assert!(d <= tol.probs, "{device}: top-5 probabilities differ from transformers' by {d:e}");
    };
    check("cpu", &r, &STRICT);
    if let Some(gpu) = gpu() {
        let mut fm_gpu = pollster::block_on(FillMask::new(&files, Some(gpu))).unwrap();
        let rg = pollster::block_on(fm_gpu.fill(text, &FillOptions::default())).unwrap();
        check("gpu", &rg, &GPU);
    }
}

/// The card's "Probe sentences" section: `- <sentence> → a, **b**, ",", d, e` lines (the top 5 in
/// order; bold marks the word the sentence wants, quotes a punctuation piece), and the
/// sentence-order numbers after `P(in order) = ` and `swapped: `.
struct CardProbes {
    fills: Vec<(String, Vec<String>)>,
    in_order: f32,
    swapped: f32,
    /// The section with its line breaks as spaces (the card wraps its lines).
    text: String,
}

fn card_probes() -> CardProbes {
    let card = std::fs::read_to_string(model_dir().join("README.md")).expect("assets/model/README.md");
    let start = card.find("\n## Probe sentences").expect("the card has a '## Probe sentences' section");
    let section = &card[start + 1..];
    let section = &section[..section[3..].find("\n## ").map_or(section.len(), |e| e + 3)];
    let fills = section
        .lines()
        .filter_map(|l| l.strip_prefix("- ")?.split_once(" → "))
        .map(|(text, answers)| {
            let words = answers.split(", ").map(|w| w.trim().trim_matches('*').trim_matches('"').to_string()).collect();
            (text.trim().to_string(), words)
        })
        .collect();
    let number_after = |key: &str| -> f32 {
        let at = section.find(key).unwrap_or_else(|| panic!("the card's probe section has no {key:?}")) + key.len();
        let digits: String = section[at..].trim_start_matches('*').chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
        digits.parse().unwrap_or_else(|e| panic!("the number after {key:?} in the card: {digits:?}: {e}"))
    };
    CardProbes { fills, in_order: number_after("P(in order) = "), swapped: number_after("swapped: "), text: section.split_whitespace().collect::<Vec<_>>().join(" ") }
}

/// What the card prints is what the engine answers: each probe sentence's top 5 (as the app shows
/// them, without the word-start mark `▁`) on both paths, and P(in order) of the card's pair both
/// ways to the card's three decimals. A re-exported model with a stale card fails here. The card
/// prints transformers' order; two neighbours may trade places only where the engine's
/// probabilities for them are within the path's tolerance (the card's "room, table" differ by
/// 5e-5 in transformers, under `GPU`'s 1e-4).
#[test]
fn default_model_gives_the_model_cards_answers() {
    let files = ModelFiles::from_dir(model_dir()).expect("assets/model loads");
    let card = card_probes();
    assert!(card.fills.len() >= 5, "the card lists {} probe sentences; expected at least 5", card.fills.len());
    let (_, pair) = golden_with_meta("sop");
    let (a, b) = (pair["a"].as_str().expect("sop.a"), pair["b"].as_str().expect("sop.b"));
    assert!(card.text.contains(a) && card.text.contains(b), "the card's sentence-order pair is the golden file's: {a:?}, {b:?}");
    let check = |device: &str, fm: &mut FillMask, tol: &Tol| {
        let options = FillOptions { top_k: 10, ..Default::default() };
        for (text, want) in &card.fills {
            let r = pollster::block_on(fm.fill(text, &options)).unwrap_or_else(|e| panic!("{device}: {text}: {e}"));
            assert_eq!(r.masks.len(), 1, "{device}: {text}: one [MASK]");
            let top: Vec<(String, f32)> = r.masks[0].top_k.iter().map(|p| (p.token.trim_start_matches('\u{2581}').to_string(), p.prob)).collect();
            let got: Vec<&str> = top.iter().take(5).map(|(t, _)| t.as_str()).collect();
            eprintln!("{device}: {text} → {}", got.join(", "));
            assert_eq!(want.len(), got.len(), "{device}: the card lists {} answers to {text:?}; the engine gives a top 5", want.len());
            let prob = |t: &str| top.iter().find(|(w, _)| w == t).map(|p| p.1);
            for (rank, (g, w)) in got.iter().zip(want).enumerate() {
                if g == w {
                    continue;
                }
                let (pg, pw) = (prob(g).unwrap_or(f32::NAN), prob(w).unwrap_or(f32::NAN));
                assert!(
                    (pg - pw).abs() <= tol.probs,
                    "{device}: the card's answer to {text:?} is {want:?}; the engine's is {got:?} (rank {}: {g} {pg:.6} against the card's {w} {pw:.6}, beyond {} {:e})",
                    rank + 1,
                    tol.name,
                    tol.probs
                );
            }
        }
        // The card prints three decimals: a rounding leaves at most 5e-4.
        let ab = pollster::block_on(fm.order(a, b)).unwrap().in_order_prob;
        let ba = pollster::block_on(fm.order(b, a)).unwrap().in_order_prob;
        eprintln!("{device}: P(in order) {ab:.4} in order, {ba:.4} swapped; the card: {} and {}", card.in_order, card.swapped);
        assert!((ab - card.in_order).abs() <= 5e-4 + tol.probs, "{device}: P(in order) {ab} against the card's {}", card.in_order);
        assert!((ba - card.swapped).abs() <= 5e-4 + tol.probs, "{device}: swapped P(in order) {ba} against the card's {}", card.swapped);
    };
    check("cpu", &mut pollster::block_on(FillMask::new(&files, None)).unwrap(), &STRICT);
    if let Some(gpu) = gpu() {
        check("gpu", &mut pollster::block_on(FillMask::new(&files, Some(gpu))).unwrap(), &GPU);
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
