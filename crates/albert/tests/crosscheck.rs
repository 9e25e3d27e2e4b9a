//! The CPU–GPU cross-check (the app's button): it passes on a correct GPU path, and a perturbed
//! GPU output (the engine's test hook, as a broken kernel) turns exactly the perturbed layer and
//! the logits red. Prints the max differences it found.

mod common;
use albert::crosscheck::{cross_check, CrossCheck};
use albert::{Backend, FillMask, Inside, ModelFiles};
use common::*;

const TEXT: &str = "the cat sat on the [MASK] and the dog ate a [MASK].";

fn models(name: &str) -> Option<(FillMask, FillMask)> {
    let gpu = gpu()?;
    let files = ModelFiles::from_dir(fixture(name)).unwrap();
    let g = pollster::block_on(FillMask::new(&files, Some(gpu))).unwrap();
    let c = pollster::block_on(FillMask::new(&files, None)).unwrap();
    Some((g, c))
}

fn set_perturb(fm: &mut FillMask, d: Option<f32>) {
    match &mut fm.backend {
        Backend::Gpu(m) => m.perturb = d,
        Backend::Cpu(_) | Backend::Remote(_) => panic!("expected the GPU path"),
    }
}

/// On every fixture shape (inner groups, one group, f16 weights), both paths agree within the
/// cross-check's tolerance at every layer.
#[test]
fn passes_on_a_correct_gpu_path() {
    for name in ["groups", "tiny", "f16"] {
        let Some((mut g, mut c)) = models(name) else { return };
        let r = pollster::block_on(cross_check(&mut g, &mut c, TEXT, &Inside::default())).unwrap();
        assert_eq!(r.layers.len(), g.config.num_hidden_layers + 1, "{name}: h_0..h_L");
        assert!(r.layers[0].attention.is_none() && r.layers[1..].iter().all(|l| l.attention.is_some()), "{name}: attention per application");
        let worst = r.layers.iter().map(|l| l.hidden).fold(0f32, f32::max);
        let worst_att = r.layers.iter().filter_map(|l| l.attention).fold(0f32, f32::max);
        eprintln!("{name}: max |CPU − GPU| hidden {worst:.2e}, attention {worst_att:.2e}, [MASK] logits {:.2e} ({})", r.logits, r.tol.name);
        assert!(r.pass(), "{name}: a correct GPU path failed the cross-check:\n{}", r.report("test", name, TEXT));
        assert!(worst > 0.0 || r.logits > 0.0, "{name}: bit-identical paths: was the CPU model compared with itself?");
    }
}

/// Depth and switched-off heads reach both paths: the layers follow the depth asked for.
#[test]
fn follows_depth_and_switches() {
    let Some((mut g, mut c)) = models("groups") else { return };
    let inside = Inside { depth: Some(2), switches: vec![albert::HeadSwitch { layer: 1, inner: 0, head: 0 }], ..Default::default() };
    let r = pollster::block_on(cross_check(&mut g, &mut c, TEXT, &inside)).unwrap();
    assert_eq!(r.layers.len(), 3);
    assert!(r.pass(), "{}", r.report("test", "groups", TEXT));
}

/// A GPU output off by 1e-2 (ten times the tolerance) fails the check at the last layer and the
/// logits only; NaN fails too (a `max` that skipped NaN would pass it).
#[test]
fn a_perturbed_gpu_output_fails() {
    let Some((mut g, mut c)) = models("groups") else { return };
    let last = g.config.num_hidden_layers;
    for d in [1e-2, f32::NAN] {
        set_perturb(&mut g, Some(d));
        let r = pollster::block_on(cross_check(&mut g, &mut c, TEXT, &Inside::default())).unwrap();
        let report = r.report("test", "groups", TEXT);
        assert!(!r.pass(), "perturbed by {d}: passed:\n{report}");
        assert!(!r.logits_pass() && !r.layers[last].hidden_pass(&r.tol) && !r.layers[last].attention_pass(&r.tol), "{report}");
        assert!(r.layers[..last].iter().all(|l| l.hidden_pass(&r.tol) && l.attention_pass(&r.tol)), "only the last layer is off:\n{report}");
        assert!(report.starts_with("albert-lens CPU–GPU cross-check: FAIL"), "{report}");
        eprintln!("perturbed by {d}: FAIL at layer {last} and the logits, as expected");
    }
    set_perturb(&mut g, None);
    assert!(pollster::block_on(cross_check(&mut g, &mut c, TEXT, &Inside::default())).unwrap().pass());
}

/// Mismatched outputs (different requests or checkpoints) are an error, not a verdict.
#[test]
fn refuses_mismatched_outputs() {
    let a = albert::Output { hidden_states: vec![vec![0.0; 4]], ..Default::default() };
    let b = albert::Output { hidden_states: vec![vec![0.0; 4], vec![0.0; 4]], ..Default::default() };
    let e = CrossCheck::compare(&a, &b).unwrap_err().to_string();
    assert!(e.contains("different outputs"), "{e}");
    let r = CrossCheck::compare(&a, &a).unwrap();
    assert!(r.pass() && r.layers.len() == 1 && r.logits == 0.0);
}
