//! Broken tokenizer files give clear errors (never a panic), and tokenizer_config.json's switches
//! reach the spiece.model route.

use super::*;

#[test]
fn bad_files_give_clear_errors() {
    let dir = fixtures().join("vocab");
    let spiece = read(&dir.join("spiece.model"));
    let tj = read(&dir.join("tokenizer.json"));
    let opts = SpmOptions::default();

    // Truncated spiece.model at many lengths: an error, never a panic.
    for len in [0, 1, 2, 3, 7, 100, 1000, spiece.len() / 2, spiece.len() - 1] {
        let r = Tokenizer::from_spiece_model(&spiece[..len], opts);
        let m = tok_msg(r);
        assert!(m.contains("spiece.model"), "{m}");
        if len > 0 {
            assert!(
                m.contains("truncated") || m.contains("no vocabulary pieces") || m.contains("unk_id"),
                "len {len}: {m}"
            );
        }
    }
    // Garbage and the wrong file.
    let garbage: Vec<u8> = (0..5000u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
    let m = tok_msg(Tokenizer::from_spiece_model(&garbage, opts));
    assert!(m.contains("spiece.model"), "{m}");
    let m = tok_msg(Tokenizer::from_spiece_model(&tj, opts));
    assert!(m.contains("JSON"), "{m}");
    // Corrupt bytes inside (e.g. in the charsmap or a piece): error or a working tokenizer, no panic.
    for k in 0..64usize {
        let mut b = spiece.clone();
        let at = (k * 7919 + 13) % b.len();
        b[at] ^= 0x5a;
        if let Ok(t) = Tokenizer::from_spiece_model(&b, opts) {
            let _ = t.encode("Hello wörld, the capital of France is [MASK]. 1,000 ①②");
        }
    }

    // Invalid tokenizer.json.
    let m = tok_msg(Tokenizer::from_tokenizer_json(b"not json"));
    assert!(m.contains("tokenizer.json") && m.contains("not valid JSON"), "{m}");
    let m = tok_msg(Tokenizer::from_tokenizer_json(&tj[..tj.len() / 2]));
    assert!(m.contains("tokenizer.json"), "{m}");
    let m = tok_msg(Tokenizer::from_tokenizer_json(b"[1, 2]"));
    assert!(m.contains("expected a JSON object"), "{m}");
    let m = tok_msg(Tokenizer::from_tokenizer_json(br#"{"do_lower_case": true}"#));
    assert!(m.contains("no `model`"), "{m}");
    let m = tok_msg(Tokenizer::from_tokenizer_json(&spiece));
    assert!(m.contains("tokenizer.json"), "{m}");
    // A tokenizer.json without [MASK].
    let mut v: Value = serde_json::from_slice(&tj).unwrap();
    v["added_tokens"].as_array_mut().unwrap().retain(|t| t["content"] != "[MASK]");
    for entry in v["model"]["vocab"].as_array_mut().unwrap() {
        if entry[0] == "[MASK]" {
            entry[0] = Value::from("[NOT-A-MASK]");
        }
    }
    let m = tok_msg(Tokenizer::from_tokenizer_json(&serde_json::to_vec(&v).unwrap()));
    assert!(m.contains("[MASK]") && m.contains("missing"), "{m}");
    // A corrupt Precompiled charsmap in tokenizer.json is rejected at load time.
    let mut v: Value = serde_json::from_slice(&tj).unwrap();
    for n in v["normalizer"]["normalizers"].as_array_mut().unwrap() {
        if n["type"] == "Precompiled" {
            n["precompiled_charsmap"] = Value::from("BAAAAAAAAAA="); // trie of one zero unit
        }
    }
    let m = tok_msg(Tokenizer::from_tokenizer_json(&serde_json::to_vec(&v).unwrap()));
    assert!(m.contains("precompiled_charsmap"), "{m}");

    // from_files.
    let m = tok_msg(Tokenizer::from_files(None, None, None));
    assert!(m.contains("tokenizer.json") && m.contains("spiece.model"), "{m}");
    let m = tok_msg(Tokenizer::from_files(None, None, Some(b"{}")));
    assert!(m.contains("tokenizer.json") && m.contains("spiece.model"), "{m}");
    let m = tok_msg(Tokenizer::from_files(Some(b"{"), Some(b"\x0a\x05"), None));
    assert!(m.contains("tokenizer.json") && m.contains("spiece.model"), "{m}");
    let m = tok_msg(Tokenizer::from_files(None, Some(&spiece), Some(b"{not json")));
    assert!(m.contains("tokenizer_config.json"), "{m}");
    // A broken tokenizer.json with a good spiece.model falls back to the latter.
    let t = Tokenizer::from_files(Some(b"{"), Some(&spiece), None).unwrap();
    assert_eq!(t.source(), TokenizerSource::SpieceModel);
}

#[test]
fn config_switches_reach_the_spiece_route() {
    let dir = fixtures().join("vocab");
    let spiece = read(&dir.join("spiece.model"));
    let cfg = read(&dir.join("tokenizer_config.json"));
    let default = Tokenizer::from_files(None, Some(&spiece), Some(&cfg)).unwrap();
    let plain = Tokenizer::from_spiece_model(&spiece, SpmOptions::default()).unwrap();
    let text = "Hello Wörld, Café Naïve!";
    assert_eq!(default.encode(text).unwrap(), plain.encode(text).unwrap());
    let cased =
        Tokenizer::from_files(None, Some(&spiece), Some(br#"{"do_lower_case": false, "keep_accents": true}"#)).unwrap();
    assert_ne!(cased.encode(text).unwrap().ids, plain.encode(text).unwrap().ids);
    let cased2 =
        Tokenizer::from_spiece_model(&spiece, SpmOptions { do_lower_case: false, keep_accents: true }).unwrap();
    assert_eq!(cased.encode(text).unwrap(), cased2.encode(text).unwrap());
}
