//! `bench`: its JSON rows per device, threads, attention maps, the profile and its errors.

use super::*;

#[test]
fn bench_json_rows_for_each_device() {
    let model = fixture_str("tiny");
    let devs = devices().join(",");
    let v = albert(&["bench", "--seq", "4,9", "--runs", "2", "--warmup", "1", "--device", &devs, "--json", "--model", &model]).json();
    assert_eq!(v["model"], model.as_str());
    assert_eq!(v["dtype"], "F32");
    assert_eq!(v["parameters"], albert(&["info", "--model", &model, "--json"]).json()["checkpoint_parameters"]);
    let rows = v["rows"].as_array().unwrap();
    let mut seen = Vec::new();
    for r in rows {
        let dev = r["device"].as_str().unwrap().to_string();
        let n = r["seq_len"].as_u64().unwrap();
        assert_eq!(r["runs"], 2);
        let (p50, p90, mean) = (r["p50_ms"].as_f64().unwrap(), r["p90_ms"].as_f64().unwrap(), r["mean_ms"].as_f64().unwrap());
        assert!(p50 > 0.0 && p90 >= p50 && mean > 0.0, "{r}");
        assert!(r["gflops"].as_f64().unwrap() > 0.0, "{r}");
        assert!(r["adapter"].is_string());
        seen.push((dev, n));
    }
    let mut expected = Vec::new();
    for d in devices() {
        for n in [4, 9] {
            expected.push((d.to_string(), n));
        }
    }
    assert_eq!(seen, expected);
    if devices().contains(&"gpu") {
        assert!(v["gpu_pipeline_compile_ms"].as_f64().unwrap() > 0.0);
        assert!(v["gpu_weight_upload_ms"].as_f64().unwrap() > 0.0);
    }

    // Human output: one line per row.
    let out = albert(&["bench", "--seq", "4", "--runs", "1", "--warmup", "0", "--device", "cpu", "--model", &model]);
    let s = out.ok();
    assert!(s.contains("model: ") && s.contains("p50") && s.contains("n=4"), "{s}");
}

#[test]
fn bench_threads_sets_the_cpu_thread_count() {
    let model = fixture_str("tiny");
    for t in ["1", "3"] {
        let v = albert(&["bench", "--seq", "4", "--runs", "1", "--warmup", "0", "--device", "cpu", "--threads", t, "--json", "--model", &model]).json();
        let adapter = v["rows"][0]["adapter"].as_str().unwrap().to_string();
        // bench/compare reads the count back from this label.
        assert!(adapter.ends_with(&format!(" {t} threads)")), "{adapter}");
    }
    albert(&["bench", "--model", &model, "--seq", "4", "--device", "cpu", "--threads", "0"]).fails(2, &["--threads 0"]);
}

#[test]
fn bench_with_attention_maps_runs_the_unfused_path() {
    let model = fixture_str("tiny");
    let run = |extra: &[&str]| {
        let mut args = vec!["bench", "--seq", "5", "--runs", "1", "--warmup", "0", "--device", "gpu", "--json", "--model", &model];
        args.extend_from_slice(extra);
        albert(&args).json()
    };
    if !devices().contains(&"gpu") {
        eprintln!("skipped: no GPU adapter (ALBERT_SKIP_GPU)");
        return;
    }
    let (fused, maps) = (run(&[]), run(&["--attentions"]));
    assert_eq!((fused["attentions"].as_bool(), maps["attentions"].as_bool()), (Some(false), Some(true)));
    let count = |v: &serde_json::Value| v["rows"][0]["dispatches"].as_u64().expect("gpu rows count dispatches");
    // The tiny fixture runs its shared layer 3 times: one extra dispatch a layer with maps.
    assert_eq!(count(&maps) - count(&fused), 3, "fused {fused}\nmaps {maps}");
}

#[test]
fn bench_profile_times_every_dispatch_by_stage() {
    let model = fixture_str("tiny");
    if !devices().contains(&"gpu") {
        eprintln!("skipped: no GPU adapter (ALBERT_SKIP_GPU)");
        return;
    }
    let v = albert(&["bench", "--seq", "5,9", "--runs", "2", "--warmup", "1", "--device", "gpu", "--profile", "--json", "--model", &model]).json();
    for row in v["rows"].as_array().expect("rows") {
        let Some(stages) = row["profile"].as_array() else {
            // An adapter without timestamp queries says so instead.
            assert!(v["profile_unavailable"].as_str().is_some_and(|w| w.contains("timestamp")), "{v}");
            return;
        };
        let calls: u64 = stages.iter().map(|s| s["calls"].as_u64().expect("calls")).sum();
        assert_eq!(Some(calls), row["dispatches"].as_u64(), "every dispatch in the profile once: {row}");
        let find = |stage: &str| stages.iter().find(|s| s["stage"] == stage).unwrap_or_else(|| panic!("no {stage} in {row}"));
        // The tiny fixture runs its one shared layer 3 times.
        assert_eq!(find("ffn")["calls"], 3);
        assert_eq!(find("predictions.decoder")["calls"], 1);
        assert!(stages.iter().all(|s| s["ms"].as_f64().is_some_and(|ms| ms >= 0.0)), "{row}");
    }
    // The text form prints one table a length, with shares.
    let text = albert(&["bench", "--seq", "5", "--runs", "1", "--warmup", "0", "--device", "gpu", "--profile", "--model", &model]);
    let out = text.ok();
    assert!(out.contains("profile gpu n=5") || out.contains("no timestamp queries"), "{out}");
    // The CPU path has no dispatches to time: it says what to use instead and still runs.
    let cpu = albert(&["bench", "--seq", "5", "--runs", "1", "--warmup", "0", "--device", "cpu", "--profile", "--json", "--model", &model]).json();
    assert!(cpu["profile_unavailable"].as_str().is_some_and(|w| w.contains("perf")), "{cpu}");
    assert_eq!(cpu["rows"].as_array().map(Vec::len), Some(1));
}

#[test]
fn bench_sequence_longer_than_the_model_fails_clearly() {
    let model = fixture_str("tiny");
    let out = albert(&["bench", "--seq", "1000", "--runs", "2", "--warmup", "1", "--device", "cpu,gpu", "--json", "--model", &model]);
    out.fails(2, &["--seq 1000", "1..=64", "max_position_embeddings"]);
    // Checked before anything runs: no GPU work, no partial rows.
    let out = albert(&["bench", "--seq", "4,65", "--device", "cpu", "--model", &model]);
    out.fails(2, &["--seq 65"]);
    assert!(!out.stderr.contains("p50"), "{}", out.stderr);
}

#[test]
fn bench_of_a_broken_model_fails_like_fill() {
    let dir = TempDir::copy_of("tiny");
    dir.remove("model.safetensors");
    albert(&["bench", "--model", &dir.str(), "--seq", "4", "--device", "cpu"]).fails(3, &["no weights found"]);
}
