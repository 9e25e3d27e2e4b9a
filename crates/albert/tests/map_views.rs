//! What the app's attention views read of the maps (`MapViews`, issue 13 item 3): a forward that
//! asks for a few maps whole, every map's mean over heads and thumbnails returns exactly what
//! reducing every whole map would give, on the CPU and the GPU, for a model with groups of two
//! inner layers and one of plain shared layers; bad requests are refused with what was expected.

mod common;
use albert::{cpu, gpu, Batch, MapViews, ModelFiles, Output, Request};
use common::*;

fn load(name: &str) -> (albert::Config, albert::AlbertWeights) {
    ModelFiles::from_dir(fixture(name)).unwrap().load().unwrap()
}

/// `views` against `all` (every map whole) of the same input: whole maps and thumbnails exact,
/// the means within `mean_tol` of the CPU's head_mean of the whole maps.
fn check(device: &str, all: &Output, views: &Output, ask: &MapViews, heads: usize, t: usize, mean_tol: f32) {
    let calls = all.attentions.len();
    assert_eq!(views.attentions.iter().map(|a| a.index).collect::<Vec<_>>(), ask.whole, "{device}: the maps asked for, whole");
    for a in &views.attentions {
        let b = &all.attentions[a.index];
        assert_eq!((a.layer, a.group, a.inner), (b.layer, b.group, b.inner), "{device}: map {} labels", a.index);
        assert_eq!(a.data, b.data, "{device}: map {} whole", a.index);
    }
    assert_eq!(views.head_means.len(), calls, "{device}: a mean per map");
    let mut worst = 0f32;
    for (m, a) in views.head_means.iter().zip(&all.attentions) {
        worst = worst.max(max_abs_diff(m, &cpu::ops::head_mean(&a.data, 1, heads, t)));
    }
    eprintln!("{device}: means of heads, max |Δ| {worst:.2e} over {calls} maps");
    assert!(worst <= mean_tol, "{device}: {worst:e} > {mean_tol:e}");
    let thumbs = views.thumbnails.as_ref().expect("thumbnails");
    let max = ask.thumbnails.unwrap();
    assert_eq!(thumbs.side, albert::output::pooled_side(t, max).1);
    for (th, a) in thumbs.maps.iter().zip(&all.attentions) {
        assert_eq!(th, &cpu::ops::max_pool(&a.data, heads, t, max).0, "{device}: map {} thumbnails", a.index);
    }
    assert_eq!(thumbs.maps.len(), calls);
}

#[test]
fn views_of_the_maps_equal_the_reduced_whole_maps() {
    for name in ["groups", "tiny"] {
        let (cfg, w) = load(name);
        let t = 23; // pooled to at most 5 a side: blocks of 5, the last 3 wide
        let batch = Batch::single(albert::bench::synthetic_ids(cfg.vocab_size, t), vec![0; t]);
        let calls = cfg.num_hidden_layers * cfg.inner_group_num;
        let ask = MapViews { whole: vec![calls - 1, 1, 1], head_means: true, thumbnails: Some(5) };
        let all_req = Request { attentions: true, ..Default::default() };
        let views_req = Request { maps: ask.clone(), ..Default::default() };
        let ask = ask.checked(calls).unwrap(); // sorted, once each
        let heads = cfg.num_attention_heads;
        let m = cpu::AlbertForMaskedLM::new(&cfg, &w).unwrap();
        let (all, views) = (m.forward(&batch, &all_req).unwrap(), m.forward(&batch, &views_req).unwrap());
        // The CPU reduces its own maps: exact.
        check(&format!("{name} cpu"), &all, &views, &ask, heads, t, 0.0);
        assert!(views.nbytes() < all.nbytes() || t <= 5, "{name}: the views read back less");
        if let Some(g) = gpu() {
            let mut m = pollster::block_on(gpu::AlbertForMaskedLM::new(g, &cfg, &w)).unwrap();
            let all = pollster::block_on(m.forward(&batch, &all_req)).unwrap();
            let views = pollster::block_on(m.forward(&batch, &views_req)).unwrap();
            // One division on the GPU (WGSL's `/`: 2.5 ulp) against the CPU's.
            check(&format!("{name} gpu"), &all, &views, &ask, heads, t, 1e-6);
        }
    }
}

#[test]
fn bad_map_requests_say_what_was_expected() {
    let (cfg, w) = load("tiny");
    let batch = Batch::single(vec![2, 7, 4, 3], vec![0; 4]);
    let calls = cfg.num_hidden_layers * cfg.inner_group_num;
    let m = cpu::AlbertForMaskedLM::new(&cfg, &w).unwrap();
    let mut gm = gpu().map(|g| pollster::block_on(gpu::AlbertForMaskedLM::new(g, &cfg, &w)).unwrap());
    for (maps, want) in [
        (MapViews { whole: vec![calls], ..Default::default() }, format!("attention map {calls}: this forward has maps 0..{}", calls - 1)),
        (MapViews { thumbnails: Some(0), ..Default::default() }, "thumbnails of 0 cells a side: expected 1 to 256".to_string()),
        (MapViews { thumbnails: Some(100_000), ..Default::default() }, "thumbnails of 100000 cells a side: expected 1 to 256".to_string()),
    ] {
        let req = Request { maps, ..Default::default() };
        let e = m.forward(&batch, &req).unwrap_err().to_string();
        assert!(e.contains(&want), "cpu: {e}");
        if let Some(gm) = gm.as_mut() {
            let e = pollster::block_on(gm.forward(&batch, &req)).unwrap_err().to_string();
            assert!(e.contains(&want), "gpu: {e}");
        }
    }
}
