//! End-to-end tests of the `albert` binary: `fill`, `info` and `bench` on the committed fixture
//! models (folders and a loopback HTTP server), CPU against GPU (lavapipe in CI), transformers'
//! goldens through the CLI, and every way a user's model or text can be wrong: each must end
//! with a clear message, the documented exit code and no panic.
//!
//! Exit codes: 0 ok, 1 other, 2 usage, 3 model could not be loaded, 4 bad input text, 5 GPU.
//! Set ALBERT_SKIP_GPU=1 to skip the GPU runs knowingly (as for the engine's tests).

#[path = "../common/mod.rs"]
mod common;

use common::*;
use serde_json::Value;
use std::collections::HashMap;

mod bench;
mod broken;
mod fill;
mod http;
mod info;
mod inside;
mod order;
mod usage;

const MASK_ID: u64 = 4;
/// The golden texts (tools/golden): a single sentence and a pair ("A [SEP] B" in the CLI).
const SINGLE: &str = "The capital of France is [MASK].";
const PAIR: &str = "He went to the [MASK]. [SEP] It was a [MASK] day.";

// ---------------------------------------------------------------------------------------------
// Helpers

fn fill(model: &str, text: &str, device: &str, extra: &[&str]) -> Out {
    let mut args = vec!["fill", "--model", model, "--text", text, "--device", device];
    args.extend_from_slice(extra);
    albert(&args)
}

fn fill_json(model: &str, text: &str, device: &str, extra: &[&str]) -> Value {
    let mut e = vec!["--json"];
    e.extend_from_slice(extra);
    fill(model, text, device, &e).json()
}

fn cfg_usize(cfg: &Value, key: &str) -> usize {
    cfg[key].as_u64().unwrap_or_else(|| panic!("config.{key}")) as usize
}

/// Checks the documented shape of `fill --json`; returns the mask positions.
fn check_fill_json(v: &Value, cfg: &Value, top_k: usize, logits: bool, attentions: bool) -> Vec<usize> {
    let vocab = cfg_usize(cfg, "vocab_size");
    let model = &v["model"];
    assert!(model.is_object(), "model: {model}");
    for key in ["source", "architecture", "dtype"] {
        assert!(model[key].is_string(), "model.{key}: {model}");
    }
    assert!(model["parameters"].as_u64().unwrap() > 0);
    assert_eq!(model["config"]["vocab_size"], cfg["vocab_size"]);
    assert_eq!(model["config"]["num_hidden_layers"], cfg["num_hidden_layers"]);
    let device = v["device"].as_str().expect("device");
    assert!(device == "cpu" || device.starts_with("gpu: "), "device: {device}");

    let tokens: Vec<&str> = v["tokens"].as_array().unwrap().iter().map(|t| t.as_str().unwrap()).collect();
    let ids = u64s(&v["ids"]);
    assert_eq!(tokens.len(), ids.len());
    assert_eq!(u64s(&v["token_type_ids"]).len(), ids.len());
    assert_eq!((tokens[0], ids[0]), ("[CLS]", 2));
    assert_eq!((*tokens.last().unwrap(), *ids.last().unwrap()), ("[SEP]", 3));
    assert!(ids.iter().all(|&i| (i as usize) < vocab));

    let expected_positions: Vec<usize> = ids.iter().enumerate().filter(|(_, &id)| id == MASK_ID).map(|(i, _)| i).collect();
    let masks = v["masks"].as_array().expect("masks");
    let positions: Vec<usize> = masks.iter().map(|m| m["position"].as_u64().unwrap() as usize).collect();
    assert_eq!(positions, expected_positions, "mask positions are where id 4 ([MASK]) is");
    assert!(!positions.is_empty());
    for p in &positions {
        assert_eq!(tokens[*p], "[MASK]");
    }
    for m in masks {
        let top = m["top_k"].as_array().expect("top_k");
        assert_eq!(top.len(), top_k.min(vocab), "top_k length");
        let mut last = f64::INFINITY;
        for p in top {
            assert!(p["token"].is_string(), "{p}");
            assert!((p["id"].as_u64().unwrap() as usize) < vocab);
            let prob = p["prob"].as_f64().unwrap();
            assert!((0.0..=1.0).contains(&prob) && prob <= last + 1e-12, "probabilities sorted in [0, 1]: {top:?}");
            last = prob;
        }
        if logits {
            let row = f32s(&m["logits"]);
            assert_eq!(row.len(), vocab, "a logits row has vocab_size values");
            let sm = softmax(&row);
            for p in top {
                let (id, prob) = (p["id"].as_u64().unwrap() as usize, p["prob"].as_f64().unwrap());
                assert!((sm[id] - prob).abs() < 1e-5, "prob of {id} = softmax(logits): {} vs {prob}", sm[id]);
            }
            let best = sm.iter().cloned().fold(0.0, f64::max);
            assert!((best - top[0]["prob"].as_f64().unwrap()).abs() < 1e-6, "top_k[0] is the argmax");
        } else {
            assert!(m.get("logits").is_none(), "logits only with --logits");
        }
    }

    if attentions {
        let t = tokens.len();
        let (layers, inner, groups) = (cfg_usize(cfg, "num_hidden_layers"), cfg_usize(cfg, "inner_group_num"), cfg_usize(cfg, "num_hidden_groups"));
        let heads = cfg_usize(cfg, "num_attention_heads");
        let maps = v["attentions"].as_array().expect("attentions");
        assert_eq!(maps.len(), layers * inner, "num_hidden_layers × inner_group_num attention maps");
        for (i, a) in maps.iter().enumerate() {
            let a = a.as_array().unwrap();
            assert_eq!(a.len(), heads, "map {i}: [heads][T][T]");
            for (h, head) in a.iter().enumerate() {
                let rows = head.as_array().unwrap();
                assert_eq!(rows.len(), t);
                for (r, row) in rows.iter().enumerate() {
                    let row = f32s(row);
                    assert_eq!(row.len(), t);
                    assert!(row.iter().all(|&x| (0.0..=1.0 + 1e-6).contains(&x)));
                    let s: f32 = row.iter().sum();
                    assert!((s - 1.0).abs() < 1e-4, "map {i} head {h} row {r} sums to {s}");
                }
            }
        }
        // Layer application l runs group l / (layers / groups), each inner layer once.
        let expected: Vec<u64> = (0..layers).flat_map(|l| std::iter::repeat_n((l / (layers / groups)) as u64, inner)).collect();
        assert_eq!(u64s(&v["attention_groups"]), expected);
    } else {
        assert!(v.get("attentions").is_none(), "attentions only with --attentions");
    }
    positions
}

/// CPU and GPU agree: the same tokens, the same top-k ids (a swap of two candidates whose
/// probabilities are within 1e-4 is a tie, not a disagreement) and probabilities within 1e-4.
fn assert_same_predictions(a: &Value, b: &Value, what: &str) {
    assert_eq!(a["tokens"], b["tokens"], "{what}: tokens");
    assert_eq!(a["ids"], b["ids"], "{what}: ids");
    let (ma, mb) = (a["masks"].as_array().unwrap(), b["masks"].as_array().unwrap());
    assert_eq!(ma.len(), mb.len());
    for (x, y) in ma.iter().zip(mb) {
        assert_eq!(x["position"], y["position"]);
        let (tx, ty) = (x["top_k"].as_array().unwrap(), y["top_k"].as_array().unwrap());
        assert_eq!(tx.len(), ty.len());
        let prob_of = |list: &[Value], id: &Value| list.iter().find(|p| &p["id"] == id).map(|p| p["prob"].as_f64().unwrap());
        for (r, (p, q)) in tx.iter().zip(ty).enumerate() {
            let (pp, qp) = (p["prob"].as_f64().unwrap(), q["prob"].as_f64().unwrap());
            assert!((pp - qp).abs() < 1e-4, "{what}: rank {r} prob {pp} vs {qp}");
            if p["id"] != q["id"] {
                // Allowed only as a near-tie: each id holds (almost) the other's probability.
                let near = |list: &[Value], id: &Value, prob: f64| prob_of(list, id).is_some_and(|o| (o - prob).abs() < 1e-4);
                assert!(
                    near(ty, &p["id"], pp) && near(tx, &q["id"], qp),
                    "{what}: rank {r}: top-k ids differ beyond a tie: {p} vs {q}"
                );
            }
        }
    }
}

/// Compares a `fill --json --logits --attentions` result with transformers' goldens for batch
/// row `row` of the golden texts.
fn assert_matches_golden(v: &Value, fixture: &str, row: usize, tol_values: f32, tol_probs: f32, what: &str) {
    let g = golden(fixture);
    let meta: Value = serde_json::from_str(&std::fs::read_to_string(common::fixture(fixture).join("golden.json")).unwrap()).unwrap();
    let gtokens: Vec<&str> = meta["tokens"][row].as_array().unwrap().iter().map(|t| t.as_str().unwrap()).filter(|t| *t != "<pad>").collect();
    let tokens: Vec<&str> = v["tokens"].as_array().unwrap().iter().map(|t| t.as_str().unwrap()).collect();
    assert_eq!(tokens, gtokens, "{what}: tokens as the slow AlbertTokenizer makes them");
    let t = tokens.len();
    let seq = g["input_ids"].shape[1];
    let gids: Vec<u64> = g["input_ids"].data[row * seq..row * seq + t].iter().map(|&x| x as u64).collect();
    assert_eq!(u64s(&v["ids"]), gids, "{what}: ids");
    let gtypes: Vec<u64> = g["token_type_ids"].data[row * seq..row * seq + t].iter().map(|&x| x as u64).collect();
    assert_eq!(u64s(&v["token_type_ids"]), gtypes, "{what}: token_type_ids");
    let vocab = g["logits"].shape[2];
    for m in v["masks"].as_array().unwrap() {
        let pos = m["position"].as_u64().unwrap() as usize;
        let start = (row * seq + pos) * vocab;
        let d = max_abs_diff(&f32s(&m["logits"]), &g["logits"].data[start..start + vocab]);
        assert!(d <= tol_values, "{what}: logits at {pos} differ from transformers by {d:e} > {tol_values:e}");
    }
    if t == seq {
        // An unpadded golden row: its attentions are comparable as they are.
        for (i, a) in v["attentions"].as_array().unwrap().iter().enumerate() {
            let ga = &g[&format!("attentions.{i}")];
            let heads = ga.shape[1];
            let got: Vec<f32> = a.as_array().unwrap().iter().flat_map(|h| h.as_array().unwrap().iter().flat_map(f32s)).collect();
            let n = heads * t * t;
            let d = max_abs_diff(&got, &ga.data[row * n..(row + 1) * n]);
            assert!(d <= tol_probs, "{what}: attentions.{i} differ from transformers by {d:e} > {tol_probs:e}");
        }
    }
}

/// `fill` on one fixture folder: the JSON shape, CPU against GPU, and transformers' goldens.
fn fill_fixture(name: &str) {
    let model = fixture_str(name);
    let cfg = config(name);
    let flags = ["--logits", "--attentions", "--top-k", "5"];
    let mut by_device: HashMap<&str, Vec<Value>> = HashMap::new();
    for dev in devices() {
        let (tol_values, tol_probs) = if dev == "cpu" { (1e-4, 1e-5) } else { (1e-3, 1e-4) };
        for (row, text) in [(0, SINGLE), (1, PAIR)] {
            let v = fill_json(&model, text, dev, &flags);
            let what = format!("{name} on {dev}, {text:?}");
            let positions = check_fill_json(&v, &cfg, 5, true, true);
            assert_eq!(positions.len(), if row == 0 { 1 } else { 2 }, "{what}");
            assert_eq!(v["model"]["source"], model.as_str());
            assert_eq!(v["device"].as_str().unwrap() == "cpu", dev == "cpu", "{what}");
            assert_matches_golden(&v, name, row, tol_values, tol_probs, &what);
            by_device.entry(dev).or_default().push(v);
        }
    }
    if let Some(gpu) = by_device.get("gpu") {
        for (c, g) in by_device["cpu"].iter().zip(gpu) {
            assert_same_predictions(c, g, &format!("{name}: cpu vs gpu"));
            for (mc, mg) in c["masks"].as_array().unwrap().iter().zip(g["masks"].as_array().unwrap()) {
                let d = max_abs_diff(&f32s(&mc["logits"]), &f32s(&mg["logits"]));
                assert!(d < 1e-3, "{name}: cpu vs gpu logits differ by {d:e}");
            }
            for (ac, ag) in c["attentions"].as_array().unwrap().iter().zip(g["attentions"].as_array().unwrap()) {
                let flat = |a: &Value| -> Vec<f32> { a.as_array().unwrap().iter().flat_map(|h| h.as_array().unwrap().iter().flat_map(f32s)).collect() };
                let d = max_abs_diff(&flat(ac), &flat(ag));
                assert!(d < 1e-4, "{name}: cpu vs gpu attentions differ by {d:e}");
            }
        }
    }
}

/// Runs `fill` and `info` on a broken model folder: both must fail with exit 3 and `needles`.
fn assert_load_fails(model: &str, needles: &[&str]) {
    fill(model, "The cat sat on the [MASK].", "cpu", &[]).fails(3, needles);
    albert(&["info", "--model", model]).fails(3, needles);
}
