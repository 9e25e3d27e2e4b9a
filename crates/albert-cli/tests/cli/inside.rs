//! `fill --depth`, `--lens`, `--drift`, `--ablate`, `--neuron` against transformers (fixtures/inside, tools/golden/make_inside.py), and `bench` with them.

use super::*;

const INSIDE_TEXT: &str = "The [MASK] chased the [MASK] across the garden.";

/// The [MASK] logits of `fill --json --logits` with `extra` flags, both masks in a row.
fn mask_logits(v: &Value) -> Vec<f32> {
    v["masks"].as_array().unwrap().iter().flat_map(|m| f32s(&m["logits"])).collect()
}

#[test]
fn fill_depth_matches_transformers() {
    for (name, k) in [("tiny", 6), ("tiny", 1), ("groups", 3)] {
        let g = inside_golden(name);
        for dev in devices() {
            let tol = if dev == "cpu" { 1e-4 } else { 1e-3 };
            let v = fill_json(&fixture_str(name), INSIDE_TEXT, dev, &["--logits", "--depth", &k.to_string()]);
            let d = max_abs_diff(&mask_logits(&v), &g[&format!("depth.{k}.mask_logits")].data);
            assert!(d <= tol, "{name} on {dev}, depth {k}: logits differ by {d:e}");
            eprintln!("{name} on {dev}, --depth {k}: max |Δ| logits {d:.2e}");
        }
    }
    fill(&fixture_str("tiny"), INSIDE_TEXT, "cpu", &["--depth", "7"]).fails(4, &["depth 7", "1 to 6"]);
    fill(&fixture_str("groups"), INSIDE_TEXT, "cpu", &["--depth", "5"]).fails(4, &["depth 5", "1 to 4"]);
    fill(&fixture_str("tiny"), INSIDE_TEXT, "cpu", &["--depth", "0"]).fails(2, &[]);
}

/// Softmax of one row.
fn softmax32(row: &[f32]) -> Vec<f32> {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let e: Vec<f64> = row.iter().map(|&x| ((x - max) as f64).exp()).collect();
    let s: f64 = e.iter().sum();
    e.iter().map(|&x| (x / s) as f32).collect()
}

#[test]
fn fill_lens_matches_transformers() {
    for (name, depth) in [("tiny", Some(5)), ("groups", None)] {
        let g = inside_golden(name);
        let cfg = config(name);
        let (v, layers) = (cfg_usize(&cfg, "vocab_size"), cfg_usize(&cfg, "num_hidden_layers"));
        let k = depth.unwrap_or(layers);
        let want = &g[&format!("depth.{k}.lens")]; // [K+1, M, V]
        let m = want.shape[1];
        let d_arg = k.to_string();
        let mut flags = vec!["--lens", "--top-k", "3"];
        if depth.is_some() {
            flags.extend(["--depth", d_arg.as_str()]);
        }
        for dev in devices() {
            let tol = if dev == "cpu" { 1e-4 } else { 1e-3 };
            let out = fill_json(&fixture_str(name), INSIDE_TEXT, dev, &flags);
            let masks = out["masks"].as_array().unwrap();
            assert_eq!(masks.len(), m);
            let mut worst = 0f32;
            for (i, mask) in masks.iter().enumerate() {
                let lens = mask["lens"].as_array().expect("masks[i].lens");
                assert_eq!(lens.len(), k + 1, "{name} on {dev}: K+1 layers");
                let last = softmax32(&want.data[(k * m + i) * v..(k * m + i + 1) * v]);
                let answer = (0..v).max_by(|&a, &b| last[a].total_cmp(&last[b])).unwrap();
                for (l, entry) in lens.iter().enumerate() {
                    assert_eq!(entry["layer"].as_u64(), Some(l as u64));
                    let p = softmax32(&want.data[(l * m + i) * v..(l * m + i + 1) * v]);
                    let top = entry["top_k"].as_array().unwrap();
                    assert_eq!(top.len(), 3);
                    let best = (0..v).max_by(|&a, &b| p[a].total_cmp(&p[b]).then(b.cmp(&a))).unwrap();
                    assert_eq!(top[0]["id"].as_u64(), Some(best as u64), "{name} on {dev}: layer {l} top-1");
                    let d = (top[0]["prob"].as_f64().unwrap() as f32 - p[best]).abs().max((entry["answer_prob"].as_f64().unwrap() as f32 - p[answer]).abs());
                    assert!(d <= tol, "{name} on {dev}: layer {l} probabilities differ by {d:e}");
                    worst = worst.max(d);
                    let rank = 1 + p.iter().filter(|&&x| x > p[answer]).count();
                    assert_eq!(entry["answer_rank"].as_u64(), Some(rank as u64), "{name} on {dev}: layer {l} rank of the final answer");
                }
                assert_eq!(lens[k]["answer_rank"].as_u64(), Some(1), "the final answer ranks first at the last layer");
            }
            eprintln!("{name} on {dev}, --lens (K = {k}): max |Δ| probabilities {worst:.2e}");
        }
    }
    let plain = fill_json(&fixture_str("tiny"), INSIDE_TEXT, "cpu", &[]);
    assert!(plain["masks"][0].get("lens").is_none(), "no lens unless asked");
}

#[test]
fn fill_drift_matches_transformers() {
    for (name, depth) in [("tiny", 6), ("groups", 4)] {
        let want = &inside_golden(name)[&format!("depth.{depth}.drift")];
        for dev in devices() {
            let tol = if dev == "cpu" { 1e-4 } else { 1e-3 };
            let v = fill_json(&fixture_str(name), INSIDE_TEXT, dev, &["--drift", "--depth", &depth.to_string()]);
            let drift = v["drift"].as_array().expect("drift");
            assert_eq!(drift.len(), depth);
            let got: Vec<f32> = drift.iter().enumerate().flat_map(|(i, d)| {
                assert_eq!(d["layer"].as_u64(), Some(i as u64 + 1));
                [d["l2"].as_f64().unwrap() as f32, d["cosine"].as_f64().unwrap() as f32]
            }).collect();
            let d = max_abs_diff(&got, &want.data);
            assert!(d <= tol, "{name} on {dev}: drift differs by {d:e}");
            eprintln!("{name} on {dev}, --drift (K = {depth}): max |Δ| {d:.2e}");
        }
    }
    assert!(fill_json(&fixture_str("tiny"), INSIDE_TEXT, "cpu", &[]).get("drift").is_none(), "no drift unless asked");
}

#[test]
fn fill_ablate_matches_transformers() {
    // fixtures/inside/<name>.json's switches: ablate.n = the first n of them.
    for (name, flag, n) in [("tiny", "2.0:1,1.0:0,3.0:3", 3), ("groups", "3.1:2", 1), ("groups", "3.1:2,1.0:0", 2)] {
        let want = &inside_golden(name)[&format!("ablate.{n}.mask_logits")];
        for dev in devices() {
            let tol = if dev == "cpu" { 1e-4 } else { 1e-3 };
            let v = fill_json(&fixture_str(name), INSIDE_TEXT, dev, &["--logits", "--ablate", flag]);
            let d = max_abs_diff(&mask_logits(&v), &want.data);
            assert!(d <= tol, "{name} on {dev}, --ablate {flag}: logits differ by {d:e}");
            eprintln!("{name} on {dev}, --ablate {flag}: max |Δ| logits {d:.2e}");
        }
    }
    fill(&fixture_str("tiny"), INSIDE_TEXT, "cpu", &["--ablate", "3:5"]).fails(2, &["layer.inner:head"]);
    fill(&fixture_str("tiny"), INSIDE_TEXT, "cpu", &["--ablate", "4.0:0"]).fails(4, &["head switch 4.0:0", "layers 1..3"]);
    fill(&fixture_str("groups"), INSIDE_TEXT, "cpu", &["--ablate", "1.2:0"]).fails(4, &["head switch 1.2:0", "inner layers 0..1"]);
}

#[test]
fn fill_neuron_matches_transformers() {
    for (name, spec) in [("tiny", "2.0:1"), ("groups", "3.1:2")] {
        let g = inside_golden(name);
        for dev in devices() {
            let tol = if dev == "cpu" { 1e-4 } else { 1e-3 };
            let v = fill_json(&fixture_str(name), INSIDE_TEXT, dev, &["--neuron", spec]);
            let n = &v["neuron"];
            assert_eq!(format!("{}.{}:{}", n["layer"], n["inner"], n["head"]), spec);
            let flat = |x: &Value| -> Vec<f32> { x.as_array().unwrap().iter().flat_map(f32s).collect() };
            let d = max_abs_diff(&flat(&n["q"]), &g["neuron.q"].data).max(max_abs_diff(&flat(&n["k"]), &g["neuron.k"].data));
            assert_eq!(n["q"].as_array().unwrap().len(), g["neuron.q"].shape[0], "one q row a token");
            assert!(d <= tol, "{name} on {dev}, --neuron {spec}: q/k differ by {d:e}");
            eprintln!("{name} on {dev}, --neuron {spec}: max |Δ| q, k {d:.2e}");
        }
    }
    assert!(fill_json(&fixture_str("tiny"), INSIDE_TEXT, "cpu", &[]).get("neuron").is_none());
    fill(&fixture_str("tiny"), INSIDE_TEXT, "cpu", &["--json", "--neuron", "2:1"]).fails(2, &["layer.inner:head"]);
    fill(&fixture_str("tiny"), INSIDE_TEXT, "cpu", &["--json", "--neuron", "2.0:9"]).fails(4, &["neuron view 2.0:9"]);
}

#[test]
fn bench_times_depth_lens_and_drift() {
    let model = fixture_str("tiny");
    let run = |dev: &str, extra: &[&str]| {
        let mut args = vec!["bench", "--seq", "5", "--runs", "1", "--warmup", "0", "--device", dev, "--json", "--model", &model];
        args.extend_from_slice(extra);
        albert(&args).json()
    };
    let v = run("cpu", &["--depth", "6", "--lens", "--drift"]);
    assert_eq!((v["depth"].as_u64(), v["lens"].as_bool(), v["drift"].as_bool()), (Some(6), Some(true), Some(true)));
    assert!(v["rows"][0]["p50_ms"].as_f64().unwrap() > 0.0);
    albert(&["bench", "--model", &model, "--device", "cpu", "--seq", "5", "--depth", "7"]).fails(2, &["--depth 7"]);
    if !devices().contains(&"gpu") {
        return;
    }
    let count = |v: &Value| v["rows"][0]["dispatches"].as_u64().expect("gpu rows count dispatches");
    let plain = count(&run("gpu", &[]));
    // tiny: 3 layers of 7 dispatches; + one gather a layer for the lens, + one reduction a layer for drift.
    assert_eq!(count(&run("gpu", &["--depth", "6"])), plain + 3 * 7);
    assert_eq!(count(&run("gpu", &["--lens"])), plain + 3);
    assert_eq!(count(&run("gpu", &["--drift"])), plain + 3);
}
