//! `fill` on every fixture folder, CPU and GPU, against transformers' goldens; its flags and odd texts.

use super::*;

#[test]
fn fill_tiny() {
    fill_fixture("tiny");
}

#[test]
fn fill_groups() {
    fill_fixture("groups");
}

#[test]
fn fill_sharded() {
    fill_fixture("sharded");
}

#[test]
fn fill_spiece_only() {
    fill_fixture("spiece_only");
}

#[test]
fn fill_f16() {
    fill_fixture("f16");
}

#[test]
fn fill_bf16() {
    fill_fixture("bf16");
}

#[test]
fn fill_relu() {
    fill_fixture("relu");
}

#[test]
fn fill_pretraining() {
    fill_fixture("pretraining");
}

#[test]
fn fill_json_without_flags_is_lean_and_top_k_is_honoured() {
    let model = fixture_str("tiny");
    let cfg = config("tiny");
    for dev in devices() {
        let v = fill_json(&model, PAIR, dev, &["--top-k", "3"]);
        check_fill_json(&v, &cfg, 3, false, false);
        // --logits and --attentions only apply to --json; without it they change nothing.
        let human = fill(&model, PAIR, dev, &["--logits", "--attentions", "--top-k", "3"]);
        let s = human.ok();
        assert!(!s.contains('{'), "human output, not JSON: {s}");
    }
}

#[test]
fn fill_top_k_zero_gives_one_and_large_top_k_gives_the_vocabulary() {
    // Decision: --top-k 0 is not an error; it is raised to 1 (the engine's `top_k.max(1)`).
    let model = fixture_str("tiny");
    let v = fill_json(&model, SINGLE, "cpu", &["--top-k", "0"]);
    check_fill_json(&v, &config("tiny"), 1, false, false);
    let v = fill_json(&model, SINGLE, "cpu", &["--top-k", "5000"]);
    check_fill_json(&v, &config("tiny"), 1000, false, false);
    let total: f64 = v["masks"][0]["top_k"].as_array().unwrap().iter().map(|p| p["prob"].as_f64().unwrap()).sum();
    assert!((total - 1.0).abs() < 1e-4, "all {} probabilities sum to {total}", 1000);
}

#[test]
fn fill_human_output() {
    let model = fixture_str("tiny");
    for dev in devices() {
        let out = fill(&model, PAIR, dev, &["--top-k", "4"]);
        let s = out.ok();
        assert!(s.contains(PAIR), "the sentence is echoed: {s}");
        assert!(s.contains("[MASK] #1") && s.contains("[MASK] #2") && !s.contains("[MASK] #3"), "{s}");
        assert!(s.contains(&format!("on {dev}")), "{s}");
        assert!(s.contains("AlbertForMaskedLM"), "{s}");
        // 4 candidates per mask, ranked "1." to "4.".
        assert_eq!(s.lines().filter(|l| l.trim_start().starts_with("4. ")).count(), 2, "{s}");
        assert_eq!(s.lines().filter(|l| l.trim_start().starts_with("5. ")).count(), 0, "{s}");
        assert!(s.contains('%'));
    }
}

#[test]
fn fill_odd_unicode() {
    let model = fixture_str("tiny");
    let cfg = config("tiny");
    let texts = [
        "😀 漢字と日本語 [MASK] 👨‍👩‍👧‍👦!",
        "שלום [MASK] مرحبا \u{202E}reversed\u{202C} e\u{301}\u{301}",
        "ctrl \u{1}\u{7}\u{1b}[0m \u{7f} tab\there\nnew line \u{200B}\u{FEFF} [MASK].",
        "漢字[MASK]😀",
        "[MASK]",
        "\u{10FFFF}\u{FFFD} [MASK] \u{E000}",
    ];
    let mut results = Vec::new();
    for dev in devices() {
        for text in texts {
            let v = fill_json(&model, text, dev, &["--attentions"]);
            let positions = check_fill_json(&v, &cfg, 5, false, true);
            assert_eq!(positions.len(), 1, "{text:?}: one [MASK]");
            results.push(v);
            // The human output prints the text as given.
            let s = fill(&model, text, dev, &[]).ok().to_string();
            assert!(s.contains(text), "{text:?}: {s}");
        }
    }
    if results.len() == 2 * texts.len() {
        for (c, g) in results[..texts.len()].iter().zip(&results[texts.len()..]) {
            assert_same_predictions(c, g, "odd unicode, cpu vs gpu");
        }
    }
}

#[test]
fn fill_text_at_the_length_limit() {
    // max_position_embeddings is 64: [CLS] + 61 × "▁a" + [MASK] + [SEP] fits, one more does not.
    let model = fixture_str("tiny");
    assert_eq!(cfg_usize(&config("tiny"), "max_position_embeddings"), 64);
    let text = |n: usize| format!("{}[MASK]", "a ".repeat(n));
    for dev in devices() {
        let v = fill_json(&model, &text(61), dev, &[]);
        assert_eq!(v["tokens"].as_array().unwrap().len(), 64, "{}", v["tokens"]);
        fill(&model, &text(62), dev, &[]).fails(4, &["65 tokens", "at most 64", "max_position_embeddings"]);
    }
}
