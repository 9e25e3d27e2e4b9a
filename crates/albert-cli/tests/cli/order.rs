//! `order`: sentence-order prediction against transformers (fixtures/inside/pretraining, tools/golden/make_inside.py).

use super::*;

const SOP_A: &str = "The capital of France is Paris.";
const SOP_B: &str = "It is a very big city.";

#[test]
fn order_matches_transformers_both_ways() {
    let model = fixture_str("pretraining");
    let g = inside_golden("pretraining");
    for dev in devices() {
        let tol = if dev == "cpu" { 1e-4 } else { 1e-3 };
        let mut worst = 0f32;
        for (tag, a, b) in [("ab", SOP_A, SOP_B), ("ba", SOP_B, SOP_A)] {
            let v = albert(&["order", "--model", &model, "--a", a, "--b", b, "--device", dev, "--json"]).json();
            assert_eq!(u64s(&v["ids"]), g[&format!("sop.{tag}.input_ids")].data.iter().map(|&x| x as u64).collect::<Vec<_>>(), "{dev} {tag}: ids");
            assert_eq!(u64s(&v["token_type_ids"]), g[&format!("sop.{tag}.token_type_ids")].data.iter().map(|&x| x as u64).collect::<Vec<_>>());
            let l = f32s(&v["sop_logits"]);
            let d = max_abs_diff(&l, &g[&format!("sop.{tag}.logits")].data);
            assert!(d <= tol, "{dev} {tag}: sop_logits differ by {d:e}");
            worst = worst.max(d);
            let p = v["in_order_prob"].as_f64().unwrap() as f32;
            assert!((p - 1.0 / (1.0 + (l[1] - l[0]).exp())).abs() < 1e-6, "in_order_prob is softmax(sop_logits)[0]: {v}");
        }
        eprintln!("order on {dev}: max |Δ| sop_logits {worst:.2e}");
    }
    let text = albert(&["order", "--model", &model, "--a", SOP_A, "--b", SOP_B, "--device", "cpu"]).ok().to_string();
    assert!(text.contains("A then B") && text.contains("B then A") && text.contains("% in order"), "{text}");
}

#[test]
fn order_without_the_sop_head_exits_3() {
    for (name, needles) in [("tiny", &["sentence-order head", "pooler", "sop_classifier"][..]), ("no_head", &["sop_classifier"][..])] {
        albert(&["order", "--model", &fixture_str(name), "--a", "One.", "--b", "Two.", "--device", "cpu"]).fails(3, needles);
    }
    albert(&["order", "--model", &fixture_str("pretraining"), "--a", " ", "--b", "Two.", "--device", "cpu"]).fails(4, &["sentence A is empty"]);
}
