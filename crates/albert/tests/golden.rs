//! Model tests: CPU and GPU forwards against transformers' outputs recorded by tools/golden on
//! random-init checkpoints covering ALBERT's variants (see tools/golden/README.md). Prints the
//! max differences per fixture and device.

mod common;
use albert::{cpu, gpu, Batch, LogitsRequest, ModelFiles, Output, Request};
use common::*;
use std::collections::HashMap;

fn request(has_head: bool, sop: bool) -> Request {
    Request { logits: if has_head { LogitsRequest::All } else { LogitsRequest::None }, attentions: true, hidden_states: true, sop, ..Default::default() }
}

/// Compares one output with the golden tensors under `prefix`; returns a report line.
fn compare(g: &HashMap<String, GoldenTensor>, prefix: &str, out: &Output, tol: &Tol, what: &str) -> String {
    let mut worst = (0.0f32, 0.0f32, 0.0f32);
    if let Some(l) = g.get(&format!("{prefix}logits")) {
        let d = max_abs_diff(out.logits.as_ref().expect("logits"), &l.data);
        assert!(d <= tol.values, "{what}: logits differ by {d:e} > {} {:e}", tol.name, tol.values);
        worst.0 = d;
    }
    let n_att = g.keys().filter(|k| k.starts_with(&format!("{prefix}attentions."))).count();
    assert_eq!(out.attentions.len(), n_att, "{what}: number of attention maps");
    for (i, a) in out.attentions.iter().enumerate() {
        let d = max_abs_diff(&a.data, &g[&format!("{prefix}attentions.{i}")].data);
        assert!(d <= tol.probs, "{what}: attentions.{i} differ by {d:e} > {} {:e}", tol.name, tol.probs);
        worst.1 = worst.1.max(d);
    }
    let n_hid = g.keys().filter(|k| k.starts_with(&format!("{prefix}hidden_states."))).count();
    assert_eq!(out.hidden_states.len(), n_hid, "{what}: number of hidden states");
    for (i, h) in out.hidden_states.iter().enumerate() {
        let d = max_abs_diff(h, &g[&format!("{prefix}hidden_states.{i}")].data);
        assert!(d <= tol.values, "{what}: hidden_states.{i} differ by {d:e} > {} {:e}", tol.name, tol.values);
        worst.2 = worst.2.max(d);
    }
    if let Some(s) = g.get(&format!("{prefix}sop_logits")) {
        let d = max_abs_diff(out.sop_logits.as_ref().expect("sop logits"), &s.data);
        assert!(d <= tol.values, "{what}: sop_logits differ by {d:e}");
    }
    format!("{what}: max |Δ| logits {:.2e}, attentions {:.2e}, hidden states {:.2e} ({} tolerance)", worst.0, worst.1, worst.2, tol.name)
}

fn check_fixture(name: &str) {
    let files = ModelFiles::from_dir(fixture(name)).expect("fixture loads");
    let (cfg, w) = files.load().expect("weights load");
    let g = golden(name);
    let has_head = w.has_mlm_head();
    let sop = w.has_sop_head();
    let mut report = Vec::new();
    // Both CPU kernels: matrixmultiply (native's default) and the packed panels (the browser's).
    for kernel in [cpu::Kernel::Gemm, cpu::Kernel::Panels] {
        let model = cpu::AlbertForMaskedLM::with_kernel(&cfg, &w, kernel).unwrap();
        for prefix in ["", "single."] {
            if !g.contains_key(&format!("{prefix}input_ids")) {
                continue;
            }
            let batch = batch_from(&g, prefix);
            let out = model.forward(&batch, &request(has_head, sop)).unwrap();
            report.push(compare(&g, prefix, &out, &STRICT, &format!("{name} {prefix}cpu {kernel:?}")));
        }
    }
    // Both kernel sets on the one adapter: the emulators' (lavapipe's own) and real GPUs'.
    for tuning in gpu().map(|_| [gpu::Tuning::Emulated, gpu::Tuning::Gpu]).into_iter().flatten() {
        let gpu = &gpu().expect("checked").with_tuning(tuning);
        let name = &format!("{name} ({tuning:?} kernels)");
        let mut model = pollster::block_on(gpu::AlbertForMaskedLM::new(gpu, &cfg, &w)).unwrap();
        for prefix in ["", "single."] {
            if !g.contains_key(&format!("{prefix}input_ids")) {
                continue;
            }
            let batch = batch_from(&g, prefix);
            // Twice: the second run reuses the cached plan and must give the same numbers.
            let out = pollster::block_on(model.forward(&batch, &request(has_head, sop))).unwrap();
            let again = pollster::block_on(model.forward(&batch, &request(has_head, sop))).unwrap();
            assert_eq!(out.logits, again.logits, "{name}: a reused plan changed the result");
            if gpu.timestamps {
                let t = model.last_gpu_ms.expect("timestamp queries give a GPU time");
                assert!(t > 0.0 && t.is_finite(), "{name}: GPU time {t} ms");
            }
            report.push(compare(&g, prefix, &out, &GPU, &format!("{name} {prefix}gpu")));
            // Without maps to return, the fused attention kernel runs instead of probs + context.
            if has_head {
                let maps = model.last_dispatches;
                let req = Request { logits: LogitsRequest::All, sop, ..Default::default() };
                let fused = pollster::block_on(model.forward(&batch, &req)).unwrap();
                let d = max_abs_diff(fused.logits.as_ref().expect("logits"), &g[&format!("{prefix}logits")].data);
                assert!(d <= GPU.values, "{name} {prefix}gpu fused attention: logits differ by {d:e} > GPU {:e}", GPU.values);
                let layers = cfg.num_hidden_layers * cfg.inner_group_num;
                assert_eq!(maps - model.last_dispatches, layers, "{name}: one attention dispatch per layer saved");
                report.push(format!("{name} {prefix}gpu fused attention: max |Δ| logits {d:.2e} ({} dispatches, {maps} with maps)", model.last_dispatches));
            }
        }
    }
    for line in report {
        eprintln!("{line}");
    }
}

#[test]
fn tiny_e_ne_h_gelu_new() {
    check_fixture("tiny");
}

#[test]
fn groups_and_inner_groups_gelu() {
    check_fixture("groups");
}

#[test]
fn relu() {
    check_fixture("relu");
}

#[test]
fn f16_checkpoint_stays_f16() {
    let (_, w) = ModelFiles::from_dir(fixture("f16")).unwrap().load().unwrap();
    assert_eq!(w.dtype, albert::DType::F16);
    check_fixture("f16");
}

#[test]
fn bf16_checkpoint() {
    check_fixture("bf16");
}

#[test]
fn sharded_checkpoint() {
    let files = ModelFiles::from_dir(fixture("sharded")).unwrap();
    assert!(files.weights.len() >= 2, "expected shards, found {}", files.weights.len());
    check_fixture("sharded");
}

#[test]
fn spiece_only_checkpoint() {
    let files = ModelFiles::from_dir(fixture("spiece_only")).unwrap();
    assert!(files.tokenizer_json.is_none() && files.spiece_model.is_some());
    check_fixture("spiece_only");
}

#[test]
fn pretraining_checkpoint_with_sop_head() {
    check_fixture("pretraining");
}

#[test]
fn model_without_head_gives_states_but_refuses_logits() {
    check_fixture("no_head");
    let (cfg, w) = ModelFiles::from_dir(fixture("no_head")).unwrap().load().unwrap();
    assert_eq!(w.architecture, "AlbertModel");
    let m = cpu::AlbertForMaskedLM::new(&cfg, &w).unwrap();
    let b = Batch::single(vec![2, 4, 3], vec![0, 0, 0]);
    let err = m.forward(&b, &Request { logits: LogitsRequest::All, ..Default::default() }).unwrap_err();
    assert!(err.to_string().contains("no masked-LM head"), "{err}");
}

#[test]
fn selected_rows_equal_the_same_rows_of_all_logits() {
    let (cfg, w) = ModelFiles::from_dir(fixture("groups")).unwrap().load().unwrap();
    let g = golden("groups");
    let batch = batch_from(&g, "");
    let rows = vec![1, batch.seq_len + 2, batch.rows() - 1];
    let req = Request { logits: LogitsRequest::Rows(rows.clone()), ..Default::default() };
    let v = cfg.vocab_size;
    let check = |out: &Output, tol: f32| {
        let l = out.logits.as_ref().unwrap();
        for (i, &r) in rows.iter().enumerate() {
            let d = max_abs_diff(&l[i * v..(i + 1) * v], &g["logits"].data[r * v..(r + 1) * v]);
            assert!(d <= tol, "row {r}: {d:e}");
        }
    };
    check(&cpu::AlbertForMaskedLM::new(&cfg, &w).unwrap().forward(&batch, &req).unwrap(), STRICT.values);
    if let Some(gpu) = gpu() {
        let mut m = pollster::block_on(gpu::AlbertForMaskedLM::new(gpu, &cfg, &w)).unwrap();
        check(&pollster::block_on(m.forward(&batch, &req)).unwrap(), GPU.values);
    }
}

/// `profile` times every dispatch of the plan `forward` runs (one pass each) without changing
/// what it computes: the same logits, one entry per dispatch in program order, stages named
/// after HF's modules, and `by_stage` folding the shared block's layers into one row a stage.
#[test]
fn profile_times_every_dispatch_of_the_same_forward() {
    let Some(gpu) = gpu() else { return };
    let (cfg, w) = ModelFiles::from_dir(fixture("pretraining")).unwrap().load().unwrap();
    let g = golden("pretraining");
    let batch = batch_from(&g, "");
    let mut m = pollster::block_on(gpu::AlbertForMaskedLM::new(gpu, &cfg, &w)).unwrap();
    let req = Request { logits: LogitsRequest::Rows(vec![1, batch.rows() - 1]), sop: true, ..Default::default() };
    if !gpu.timestamps {
        let err = pollster::block_on(m.profile(&batch, &req)).unwrap_err();
        assert!(err.to_string().contains("no timestamp queries"), "{err}");
        eprintln!("profile: {} has no timestamp queries; refusal checked", gpu.describe());
        return;
    }
    let plain = pollster::block_on(m.forward(&batch, &req)).unwrap();
    let (out, times) = pollster::block_on(m.profile(&batch, &req)).unwrap();
    assert_eq!(out.logits, plain.logits, "a profiled forward must compute the same logits");
    assert_eq!(out.sop_logits, plain.sop_logits, "and the same SOP logits");
    assert_eq!(times.len(), m.last_dispatches, "one time per dispatch");
    assert!(times.iter().all(|t| t.ms.is_finite() && t.ms >= 0.0), "{times:?}");
    assert!(times.iter().any(|t| t.ms > 0.0), "a forward takes some GPU time: {times:?}");
    let layers = cfg.num_hidden_layers * cfg.inner_group_num;
    let stages = gpu::by_stage(&times);
    let calls = |stage: &str| stages.iter().filter(|s| s.stage == stage).map(|s| s.calls).sum::<usize>();
    assert_eq!(times[0].stage, "embeddings");
    assert_eq!(calls("embedding_hidden_mapping_in"), 1);
    for per_layer in ["attention.query_key_value", "attention (fused)", "attention.dense", "attention.LayerNorm", "ffn", "ffn_output", "full_layer_layer_norm"] {
        assert_eq!(calls(per_layer), layers, "{per_layer}: once a layer");
    }
    for once in ["predictions.dense", "predictions.decoder", "pooler", "sop_classifier"] {
        assert_eq!(calls(once), 1, "{once}");
    }
    assert_eq!(stages.iter().map(|s| s.calls).sum::<usize>(), times.len());
    let total: f64 = times.iter().map(|t| t.ms).sum();
    let folded: f64 = stages.iter().map(|s| s.ms).sum();
    assert!((total - folded).abs() <= 1e-9 * total.max(1.0), "by_stage keeps the total: {total} vs {folded}");
    eprintln!("profile ({} dispatches, {total:.3} ms on {}):", times.len(), gpu.describe());
    for s in &stages {
        eprintln!("  {:<34} {:<18} {:>3} calls {:>9.3} ms", s.stage, s.kernel, s.calls, s.ms);
    }
}
