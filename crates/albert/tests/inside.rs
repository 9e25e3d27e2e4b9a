//! "Inside ALBERT" against transformers (tools/golden/make_inside.py, fixtures/inside/): sentence
//! order, depth, logit lens, drift, head switches and the neuron view, on the CPU and the GPU.
//! Prints the max differences per fixture and device.

mod common;
use albert::{cpu, gpu, Batch, ModelFiles, Request};
use common::*;
use std::collections::HashMap;

/// The inside goldens of a fixture and its json (mask positions, depths, switches, neuron).
fn inside(name: &str) -> (HashMap<String, GoldenTensor>, serde_json::Value) {
    let dir = fixtures().join("inside");
    let g = golden_tensors(&std::fs::read(dir.join(format!("{name}.safetensors"))).expect("inside golden"));
    let meta = serde_json::from_str(&std::fs::read_to_string(dir.join(format!("{name}.json"))).unwrap()).unwrap();
    (g, meta)
}

fn ids(g: &HashMap<String, GoldenTensor>, key: &str) -> Vec<u32> {
    g[key].data.iter().map(|&x| x as u32).collect()
}

fn load(name: &str) -> (albert::Config, albert::AlbertWeights) {
    ModelFiles::from_dir(fixture(name)).unwrap().load().unwrap()
}

/// SOP logits for (A, B) and (B, A) on both paths, and `FillMask::order` tokenizes the pair
/// as transformers does.
#[test]
fn sentence_order_both_ways() {
    let (g, meta) = inside("pretraining");
    let (cfg, w) = load("pretraining");
    let req = Request { sop: true, ..Default::default() };
    let batch = |tag: &str| Batch::single(ids(&g, &format!("sop.{tag}.input_ids")), ids(&g, &format!("sop.{tag}.token_type_ids")));
    let m = cpu::AlbertForMaskedLM::new(&cfg, &w).unwrap();
    let mut worst = 0f32;
    for tag in ["ab", "ba"] {
        let out = m.forward(&batch(tag), &req).unwrap();
        let d = max_abs_diff(out.sop_logits.as_ref().unwrap(), &g[&format!("sop.{tag}.logits")].data);
        assert!(d <= STRICT.values, "cpu sop.{tag}: {d:e} > STRICT");
        worst = worst.max(d);
    }
    eprintln!("pretraining cpu: max |Δ| sop_logits {worst:.2e} (STRICT)");
    let files = ModelFiles::from_dir(fixture("pretraining")).unwrap();
    let mut fm = pollster::block_on(albert::FillMask::new(&files, None)).unwrap();
    let (a, b) = (meta["sop"]["a"].as_str().unwrap(), meta["sop"]["b"].as_str().unwrap());
    for (tag, (x, y)) in [("ab", (a, b)), ("ba", (b, a))] {
        let r = pollster::block_on(fm.order(x, y)).unwrap();
        assert_eq!(r.ids, ids(&g, &format!("sop.{tag}.input_ids")), "{tag}: ids");
        assert_eq!(r.token_type_ids, ids(&g, &format!("sop.{tag}.token_type_ids")), "{tag}: token types");
        let l = &g[&format!("sop.{tag}.logits")].data;
        let p = 1.0 / (1.0 + (l[1] - l[0]).exp());
        assert!((r.in_order_prob - p).abs() <= STRICT.values, "{tag}: in_order_prob {} vs {p}", r.in_order_prob);
    }
    if let Some(gpu) = gpu() {
        let mut m = pollster::block_on(gpu::AlbertForMaskedLM::new(gpu, &cfg, &w)).unwrap();
        let mut worst = 0f32;
        for tag in ["ab", "ba"] {
            let out = pollster::block_on(m.forward(&batch(tag), &req)).unwrap();
            let d = max_abs_diff(out.sop_logits.as_ref().unwrap(), &g[&format!("sop.{tag}.logits")].data);
            assert!(d <= GPU.values, "gpu sop.{tag}: {d:e} > GPU");
            worst = worst.max(d);
        }
        eprintln!("pretraining gpu: max |Δ| sop_logits {worst:.2e} (GPU)");
    }
}

#[test]
fn sentence_order_without_the_head_says_what_is_missing() {
    for name in ["tiny", "no_head"] {
        let files = ModelFiles::from_dir(fixture(name)).unwrap();
        let mut fm = pollster::block_on(albert::FillMask::new(&files, None)).unwrap();
        let err = pollster::block_on(fm.order("One.", "Two.")).unwrap_err();
        assert!(matches!(err, albert::Error::NoSopHead(_)), "{name}: {err}");
        assert!(err.to_string().contains("sop_classifier"), "{name}: {err}");
    }
}

/// The golden sentence of a fixture and its [MASK] rows.
fn sentence(g: &HashMap<String, GoldenTensor>) -> (Batch, Vec<usize>) {
    let batch = Batch::single(ids(g, "input_ids"), ids(g, "token_type_ids"));
    (batch, g["mask_positions"].data.iter().map(|&x| x as usize).collect())
}

fn depths(meta: &serde_json::Value) -> Vec<usize> {
    meta["depths"].as_array().unwrap().iter().map(|d| d.as_u64().unwrap() as usize).collect()
}

/// Both paths, every depth in the goldens (1..L, and L+1..2L for all-shared models): the [MASK]
/// logits after K applications; a depth the model cannot run is refused.
fn check_depth(name: &str) {
    let (g, meta) = inside(name);
    let (cfg, w) = load(name);
    let (batch, masks) = sentence(&g);
    let req = |k: usize| Request { logits: albert::LogitsRequest::Rows(masks.clone()), depth: Some(k), ..Default::default() };
    let m = cpu::AlbertForMaskedLM::new(&cfg, &w).unwrap();
    let ks = depths(&meta);
    assert_eq!(*ks.last().unwrap(), cfg.max_depth(), "{name}: the goldens reach the deepest depth");
    let mut worst = 0f32;
    for &k in &ks {
        let out = m.forward(&batch, &req(k)).unwrap();
        let d = max_abs_diff(out.logits.as_ref().unwrap(), &g[&format!("depth.{k}.mask_logits")].data);
        assert!(d <= STRICT.values, "{name} cpu depth {k}: {d:e} > STRICT");
        worst = worst.max(d);
    }
    eprintln!("{name} cpu depth {ks:?}: max |Δ| mask logits {worst:.2e} (STRICT)");
    for bad in [0, cfg.max_depth() + 1] {
        let err = m.forward(&batch, &req(bad)).unwrap_err();
        assert!(matches!(err, albert::Error::Input(_)) && err.to_string().contains(&format!("depth {bad}")), "{err}");
    }
    if let Some(gpu) = gpu() {
        let mut m = pollster::block_on(gpu::AlbertForMaskedLM::new(gpu, &cfg, &w)).unwrap();
        let plain = Request { logits: albert::LogitsRequest::Rows(masks.clone()), ..Default::default() };
        pollster::block_on(m.forward(&batch, &plain)).unwrap();
        let per_layer = (m.last_dispatches - 4 - 2) / cfg.num_hidden_layers; // embeddings, projection; gather, dense, LN, decoder
        let mut worst = 0f32;
        for &k in &ks {
            let out = pollster::block_on(m.forward(&batch, &req(k))).unwrap();
            let d = max_abs_diff(out.logits.as_ref().unwrap(), &g[&format!("depth.{k}.mask_logits")].data);
            assert!(d <= GPU.values, "{name} gpu depth {k}: {d:e} > GPU");
            assert_eq!(m.last_dispatches, 6 + per_layer * k, "{name} gpu depth {k}: dispatches");
            worst = worst.max(d);
        }
        eprintln!("{name} gpu depth {ks:?}: max |Δ| mask logits {worst:.2e} (GPU)");
        assert!(pollster::block_on(m.forward(&batch, &req(cfg.max_depth() + 1))).is_err());
    }
}

#[test]
fn depth_all_shared_runs_to_twice_its_layers() {
    check_depth("tiny");
}

#[test]
fn depth_groups_and_inner_layers() {
    check_depth("groups");
}

#[test]
fn depth_pretraining() {
    check_depth("pretraining");
}

/// Logit lens: the MLM head on the [MASK] rows of h_0..h_K for every depth K, both paths; its
/// last layer is the forward's logits. On the GPU it adds one gather a layer to the plain
/// forward's dispatches (the head runs once over every layer's rows).
fn check_lens(name: &str) {
    let (g, meta) = inside(name);
    let (cfg, w) = load(name);
    let (batch, masks) = sentence(&g);
    let req = |k: usize| Request { logits: albert::LogitsRequest::Rows(masks.clone()), depth: Some(k), lens: true, ..Default::default() };
    let m = cpu::AlbertForMaskedLM::new(&cfg, &w).unwrap();
    let check = |out: &albert::Output, k: usize, tol: &Tol, what: &str| -> f32 {
        let want = &g[&format!("depth.{k}.lens")];
        assert_eq!(want.shape, [k + 1, masks.len(), cfg.vocab_size]);
        let lens = out.lens.as_ref().expect("lens");
        let d = max_abs_diff(lens, &want.data);
        assert!(d <= tol.values, "{name} {what} lens depth {k}: {d:e} > {}", tol.name);
        let last = &lens[k * masks.len() * cfg.vocab_size..];
        assert!(max_abs_diff(out.logits.as_ref().unwrap(), last) <= tol.values, "{what}: the last lens layer is the logits");
        assert!(out.hidden_states.is_empty(), "hidden states only when asked");
        d
    };
    let worst = depths(&meta).into_iter().map(|k| check(&m.forward(&batch, &req(k)).unwrap(), k, &STRICT, "cpu")).fold(0f32, f32::max);
    eprintln!("{name} cpu lens: max |Δ| {worst:.2e} (STRICT)");
    let no_rows = Request { lens: true, ..Default::default() };
    assert!(matches!(m.forward(&batch, &no_rows), Err(albert::Error::Input(_))));
    if let Some(gpu) = gpu() {
        let mut gm = pollster::block_on(gpu::AlbertForMaskedLM::new(gpu, &cfg, &w)).unwrap();
        let mut worst = 0f32;
        for k in depths(&meta) {
            let plain = Request { lens: false, ..req(k) };
            pollster::block_on(gm.forward(&batch, &plain)).unwrap();
            let base = gm.last_dispatches;
            let out = pollster::block_on(gm.forward(&batch, &req(k))).unwrap();
            assert_eq!(gm.last_dispatches, base + k, "{name} depth {k}: K+1 gathers instead of 1");
            worst = worst.max(check(&out, k, &GPU, "gpu"));
        }
        eprintln!("{name} gpu lens: max |Δ| {worst:.2e} (GPU)");
        assert!(matches!(pollster::block_on(gm.forward(&batch, &no_rows)), Err(albert::Error::Input(_))));
    }
}

#[test]
fn lens_all_shared() {
    check_lens("tiny");
}

#[test]
fn lens_groups_and_inner_layers() {
    check_lens("groups");
}

#[test]
fn lens_pretraining() {
    check_lens("pretraining");
}

/// Drift per layer (mean ‖h_l − h_{l−1}‖₂ and cosine over the tokens) for every depth, both
/// paths; on the GPU one small reduction a layer, 2·K numbers read back.
fn check_drift(name: &str) {
    let (g, meta) = inside(name);
    let (cfg, w) = load(name);
    let (batch, masks) = sentence(&g);
    let req = |k: usize| Request { logits: albert::LogitsRequest::Rows(masks.clone()), depth: Some(k), drift: true, ..Default::default() };
    let check = |out: &albert::Output, k: usize, tol: &Tol, what: &str| -> f32 {
        let want = &g[&format!("depth.{k}.drift")];
        assert_eq!(want.shape, [k, 2]);
        let d = max_abs_diff(out.drift.as_ref().expect("drift"), &want.data);
        assert!(d <= tol.values, "{name} {what} drift depth {k}: {d:e} > {}", tol.name);
        assert!(max_abs_diff(out.logits.as_ref().unwrap(), &g[&format!("depth.{k}.mask_logits")].data) <= tol.values, "{what}: drift leaves the logits alone");
        d
    };
    let m = cpu::AlbertForMaskedLM::new(&cfg, &w).unwrap();
    let worst = depths(&meta).into_iter().map(|k| check(&m.forward(&batch, &req(k)).unwrap(), k, &STRICT, "cpu")).fold(0f32, f32::max);
    eprintln!("{name} cpu drift: max |Δ| {worst:.2e} (STRICT)");
    if let Some(gpu) = gpu() {
        let mut gm = pollster::block_on(gpu::AlbertForMaskedLM::new(gpu, &cfg, &w)).unwrap();
        let mut worst = 0f32;
        for k in depths(&meta) {
            pollster::block_on(gm.forward(&batch, &Request { drift: false, ..req(k) })).unwrap();
            let base = gm.last_dispatches;
            let out = pollster::block_on(gm.forward(&batch, &req(k))).unwrap();
            assert_eq!(gm.last_dispatches, base + k, "{name} depth {k}: one drift dispatch a layer");
            worst = worst.max(check(&out, k, &GPU, "gpu"));
        }
        eprintln!("{name} gpu drift: max |Δ| {worst:.2e} (GPU)");
    }
}

#[test]
fn drift_all_shared() {
    check_drift("tiny");
}

#[test]
fn drift_groups_and_inner_layers() {
    check_drift("groups");
}

fn switches(meta: &serde_json::Value) -> Vec<albert::HeadSwitch> {
    meta["switches"].as_array().unwrap().iter().map(|s| s.as_str().unwrap().parse().unwrap()).collect()
}

/// Head switches: the first n of the golden's switches off (each in its own call only), the
/// [MASK] logits on both paths; on the GPU one small dispatch a switched head, and a plain
/// forward after it is the plain forward again (its own plan).
fn check_switches(name: &str) {
    let (g, meta) = inside(name);
    let (cfg, w) = load(name);
    let (batch, masks) = sentence(&g);
    let sw = switches(&meta);
    let req = |n: usize| Request { logits: albert::LogitsRequest::Rows(masks.clone()), switches: sw[..n].to_vec(), ..Default::default() };
    let m = cpu::AlbertForMaskedLM::new(&cfg, &w).unwrap();
    let mut worst = 0f32;
    for n in 1..=sw.len() {
        let d = max_abs_diff(m.forward(&batch, &req(n)).unwrap().logits.as_ref().unwrap(), &g[&format!("ablate.{n}.mask_logits")].data);
        assert!(d <= STRICT.values, "{name} cpu switches {:?}: {d:e} > STRICT", &sw[..n]);
        worst = worst.max(d);
    }
    eprintln!("{name} cpu switches {sw:?}: max |Δ| mask logits {worst:.2e} (STRICT)");
    let bad = albert::HeadSwitch { layer: cfg.num_hidden_layers + 1, inner: 0, head: 0 };
    let err = m.forward(&batch, &Request { switches: vec![bad], ..req(0) }).unwrap_err();
    assert!(err.to_string().contains("head switch"), "{err}");
    let bad = albert::HeadSwitch { layer: 1, inner: 0, head: cfg.num_attention_heads };
    assert!(m.forward(&batch, &Request { switches: vec![bad], ..req(0) }).is_err());
    if let Some(gpu) = gpu() {
        let mut gm = pollster::block_on(gpu::AlbertForMaskedLM::new(gpu, &cfg, &w)).unwrap();
        let plain = pollster::block_on(gm.forward(&batch, &req(0))).unwrap();
        let base = gm.last_dispatches;
        let mut worst = 0f32;
        for n in 1..=sw.len() {
            let out = pollster::block_on(gm.forward(&batch, &req(n))).unwrap();
            assert_eq!(gm.last_dispatches, base + n, "one dispatch a switched head");
            let d = max_abs_diff(out.logits.as_ref().unwrap(), &g[&format!("ablate.{n}.mask_logits")].data);
            assert!(d <= GPU.values, "{name} gpu switches {:?}: {d:e} > GPU", &sw[..n]);
            worst = worst.max(d);
        }
        let again = pollster::block_on(gm.forward(&batch, &req(0))).unwrap();
        assert_eq!(again.logits, plain.logits, "switches do not stick to the plain forward");
        eprintln!("{name} gpu switches {sw:?}: max |Δ| mask logits {worst:.2e} (GPU)");
    }
}

#[test]
fn head_switches_all_shared() {
    check_switches("tiny");
}

#[test]
fn head_switches_groups_and_inner_layers() {
    check_switches("groups");
}

#[test]
fn head_switches_pretraining() {
    check_switches("pretraining");
}

#[test]
fn head_switch_parses_layer_inner_head() {
    let s: albert::HeadSwitch = "3.1:5".parse().unwrap();
    assert_eq!((s.layer, s.inner, s.head), (3, 1, 5));
    assert_eq!(s.to_string(), "3.1:5");
    for bad in ["3:5", "3.1", "a.0:1", ""] {
        assert!(bad.parse::<albert::HeadSwitch>().is_err(), "{bad}");
    }
}

/// Neuron view: the q and k vectors of the golden's head in its call, both paths, and the
/// scores and softmax they give; nothing of it unless asked.
fn check_neuron(name: &str) {
    let (g, meta) = inside(name);
    let (cfg, w) = load(name);
    let (batch, masks) = sentence(&g);
    let head: albert::HeadSwitch = meta["neuron"].as_str().unwrap().parse().unwrap();
    let req = Request { logits: albert::LogitsRequest::Rows(masks.clone()), neuron: Some(head), ..Default::default() };
    let d = cfg.head_dim();
    let t = batch.seq_len;
    let check = |out: &albert::Output, tol: &Tol, what: &str| -> f32 {
        let n = out.neuron.as_ref().expect("neuron view");
        assert_eq!(n.head, head);
        let dq = max_abs_diff(&n.q, &g["neuron.q"].data);
        let dk = max_abs_diff(&n.k, &g["neuron.k"].data);
        let scores: Vec<f32> = (0..t).flat_map(|i| (0..t).map(move |j| (i, j))).map(|(i, j)| (0..d).map(|c| n.q[i * d + c] * n.k[j * d + c]).sum::<f32>() / (d as f32).sqrt()).collect();
        let ds = max_abs_diff(&scores, &g["neuron.scores"].data);
        let worst = dq.max(dk).max(ds);
        assert!(worst <= tol.values, "{name} {what} neuron {head}: q {dq:e}, k {dk:e}, scores {ds:e} > {}", tol.name);
        assert!(max_abs_diff(out.logits.as_ref().unwrap(), &g[&format!("depth.{}.mask_logits", cfg.num_hidden_layers)].data) <= tol.values);
        worst
    };
    let m = cpu::AlbertForMaskedLM::new(&cfg, &w).unwrap();
    let dc = check(&m.forward(&batch, &req).unwrap(), &STRICT, "cpu");
    assert!(m.forward(&batch, &Request { neuron: None, ..req.clone() }).unwrap().neuron.is_none());
    let bad = albert::HeadSwitch { head: cfg.num_attention_heads, ..head };
    assert!(matches!(m.forward(&batch, &Request { neuron: Some(bad), ..req.clone() }), Err(albert::Error::Input(_))));
    eprintln!("{name} cpu neuron {head}: max |Δ| q, k, scores {dc:.2e} (STRICT)");
    if let Some(gpu) = gpu() {
        let mut gm = pollster::block_on(gpu::AlbertForMaskedLM::new(gpu, &cfg, &w)).unwrap();
        pollster::block_on(gm.forward(&batch, &Request { neuron: None, ..req.clone() })).unwrap();
        let base = gm.last_dispatches;
        let dg = check(&pollster::block_on(gm.forward(&batch, &req)).unwrap(), &GPU, "gpu");
        assert_eq!(gm.last_dispatches, base, "the neuron view is a copy, no dispatch");
        eprintln!("{name} gpu neuron {head}: max |Δ| q, k, scores {dg:.2e} (GPU)");
    }
}

#[test]
fn neuron_all_shared() {
    check_neuron("tiny");
}

#[test]
fn neuron_groups_and_inner_layers() {
    check_neuron("groups");
}

/// `Output::nbytes` (the bytes a forward returns, which `?bench=1` reports per forward) counts
/// what was returned, on both paths: the page's request minus a plain one is exactly the lens,
/// the drift, the neuron view's q and k and what the attention views read of the maps (every
/// map whole, or one map whole, the means over heads and the thumbnails).
#[test]
fn output_bytes_count_what_the_page_reads_back() {
    let (cfg, w) = load("pretraining");
    let n = 12;
    let batch = Batch::single(albert::bench::synthetic_ids(cfg.vocab_size, n), vec![0; n]);
    let views = albert::MapViews { whole: vec![1], head_means: true, thumbnails: Some(5) };
    let plain = albert::bench::request(n, false);
    let all_maps = Request { attentions: true, ..albert::bench::page_request(n, Default::default()) };
    let page = albert::bench::page_request(n, views);
    let (l, heads, v) = (cfg.num_hidden_layers * cfg.inner_group_num, cfg.num_attention_heads, cfg.vocab_size);
    // The lens has h_0..h_L, L + 1 rows of logits (its last equals `logits`).
    let inside = 4 * ((cfg.num_hidden_layers + 1) * v + 2 * cfg.num_hidden_layers + 2 * n * cfg.head_dim());
    // 12 tokens pooled to at most 5 a side: blocks of 3, 4 a side.
    let reduced = 4 * (heads * n * n + l * n * n + l * heads * 4 * 4);
    let check = |device: &str, a: &albert::Output, all: &albert::Output, b: &albert::Output| {
        assert_eq!(a.nbytes(), 4 * v, "{device}: a plain forward returns one row of logits");
        assert_eq!(all.nbytes() - a.nbytes(), inside + 4 * l * heads * n * n, "{device}: every map + lens + drift + q/k");
        assert_eq!(b.nbytes() - a.nbytes(), inside + reduced, "{device}: one map, the means, the thumbnails + lens + drift + q/k");
        eprintln!("{device}: plain {} B, page {} B with every map, {} B with the views' reductions at n = {n}", a.nbytes(), all.nbytes(), b.nbytes());
    };
    let m = cpu::AlbertForMaskedLM::new(&cfg, &w).unwrap();
    check("cpu", &m.forward(&batch, &plain).unwrap(), &m.forward(&batch, &all_maps).unwrap(), &m.forward(&batch, &page).unwrap());
    if let Some(gpu) = gpu() {
        let mut m = pollster::block_on(gpu::AlbertForMaskedLM::new(gpu, &cfg, &w)).unwrap();
        let a = pollster::block_on(m.forward(&batch, &plain)).unwrap();
        let all = pollster::block_on(m.forward(&batch, &all_maps)).unwrap();
        let b = pollster::block_on(m.forward(&batch, &page)).unwrap();
        check("gpu", &a, &all, &b);
    }
}
