//! `info` on every fixture, and a model without the MLM head.

use super::*;

#[test]
fn info_describes_each_fixture() {
    for (name, arch, dtype) in [
        ("tiny", "AlbertForMaskedLM", "F32"),
        ("groups", "AlbertForMaskedLM", "F32"),
        ("sharded", "AlbertForMaskedLM", "F32"),
        ("spiece_only", "AlbertForMaskedLM", "F32"),
        ("f16", "AlbertForMaskedLM", "F16"),
        ("bf16", "AlbertForMaskedLM", "F32"),
        ("pretraining", "AlbertForPreTraining", "F32"),
        ("no_head", "AlbertModel", "F32"),
    ] {
        let model = fixture_str(name);
        let v = albert(&["info", "--model", &model, "--json"]).json();
        assert_eq!(v["architecture"], arch, "{name}");
        assert_eq!(v["dtype"], dtype, "{name}");
        assert_eq!(v["config"]["hidden_size"], config(name)["hidden_size"], "{name}");
        assert_eq!(v["tokenizer"], if name == "spiece_only" { "spiece.model" } else { "tokenizer.json" }, "{name}");
        // Parameters in the checkpoint = the float tensors golden.json lists (tied decoder once).
        let meta: Value = serde_json::from_str(&std::fs::read_to_string(fixture(name).join("golden.json")).unwrap()).unwrap();
        let listed: u64 = meta["tensors"]
            .as_object()
            .unwrap()
            .values()
            .filter(|t| ["F32", "F16", "BF16"].contains(&t[0].as_str().unwrap()))
            .map(|t| u64s(&t[1]).iter().product::<u64>())
            .sum();
        assert_eq!(v["checkpoint_parameters"].as_u64().unwrap(), listed, "{name}");
        let p = &v["parameters"];
        assert!(p["total"].as_u64().unwrap() > 0);
        assert!(v["bert_equivalent_parameters"].as_u64().unwrap() > p["total"].as_u64().unwrap(), "{name}: ALBERT is smaller than BERT");

        let text = albert(&["info", "--model", &model]).ok().to_string();
        for needle in ["architecture: ", arch, "parameters", "total", "BERT with these shapes"] {
            assert!(text.contains(needle), "{name}: {needle:?} in\n{text}");
        }
    }
}

#[test]
fn no_head_model_cannot_fill_but_info_works() {
    let model = fixture_str("no_head");
    for dev in devices() {
        fill(&model, SINGLE, dev, &[]).fails(3, &["no masked-LM head", "AlbertModel"]);
        fill(&model, SINGLE, dev, &["--json"]).fails(3, &["no masked-LM head"]);
    }
    albert(&["info", "--model", &model]).ok();
}
