//! Regressions: each input the fuzzers found that broke a property, named.

use super::*;

/// tiny's tokenizer.json edited by `f`, loaded: the error message.
fn tokenizer_json_error(f: impl FnOnce(&mut Value)) -> String {
    let mut v: Value = serde_json::from_slice(&std::fs::read(common::fixture("tiny").join("tokenizer.json")).unwrap()).unwrap();
    f(&mut v);
    Tokenizer::from_tokenizer_json(&serde_json::to_vec(&v).unwrap()).expect_err("must be refused").to_string()
}

/// Found by fuzz_tokenizer_json: a template that places `[SEP]` while `special_tokens` lacks
/// it loaded, then `tokenizers` panicked in the first encode ("no entry found for key").
#[test]
fn template_special_token_missing_from_special_tokens() {
    let err = tokenizer_json_error(|v| {
        v["post_processor"]["special_tokens"].as_object_mut().unwrap().remove("[SEP]");
    });
    assert!(err.contains("the post_processor's single template places the special token \"[SEP]\", which its special_tokens does not define"), "{err}");
}

/// Found by fuzz_tokenizer_json: a Precompiled normalizer whose charsmap is not base64 (here a
/// `-`) panicked inside `tokenizers::Tokenizer::from_bytes` (`.expect("Precompiled")`).
#[test]
fn precompiled_charsmap_that_is_not_base64() {
    for bad in [json!("AAAA-AAA"), json!("AAA"), json!(12), json!(null)] {
        let err = tokenizer_json_error(|v| {
            let list = v["normalizer"]["normalizers"].as_array_mut().unwrap();
            let p = list.iter_mut().find(|n| n["type"] == "Precompiled").unwrap();
            p["precompiled_charsmap"] = bad.clone();
        });
        assert!(err.contains("the Precompiled normalizer's precompiled_charsmap cannot be read ("), "{bad}: {err}");
    }
    // And without the key at all.
    let err = tokenizer_json_error(|v| {
        let list = v["normalizer"]["normalizers"].as_array_mut().unwrap();
        let p = list.iter_mut().find(|n| n["type"] == "Precompiled").unwrap();
        p.as_object_mut().unwrap().remove("precompiled_charsmap");
    });
    assert!(err.contains("precompiled_charsmap cannot be read (missing field `precompiled_charsmap`"), "{err}");
}

/// Found by a 10-minute fuzz_tokenizer_json run: the same broken charsmap inside a `Sequence`
/// whose own `type` is not a string. The check followed the tags and skipped it; `tokenizers`
/// reads such a Sequence through its untagged fallback, reached the Precompiled and panicked.
#[test]
fn precompiled_charsmap_inside_a_sequence_with_a_broken_type() {
    let err = tokenizer_json_error(|v| {
        v["normalizer"]["type"] = json!(["Sequence"]);
        let list = v["normalizer"]["normalizers"].as_array_mut().unwrap();
        list.iter_mut().find(|n| n["type"] == "Precompiled").unwrap()["precompiled_charsmap"] = json!([0.0, 1, 2]);
    });
    assert!(err.contains("the Precompiled normalizer's precompiled_charsmap cannot be read (invalid type: sequence"), "{err}");
}

/// The same check's other half: a special token with more ids than tokens loaded, and every
/// encoding then had fewer token strings than ids (the engine's parallel vectors disagreed,
/// and a view indexing tokens by id position would read past the end).
#[test]
fn template_special_token_with_ids_and_tokens_of_different_lengths() {
    let err = tokenizer_json_error(|v| v["post_processor"]["special_tokens"]["[CLS]"]["ids"] = json!([2, 2]));
    assert!(err.contains("the post_processor's special token \"[CLS]\" has 2 ids but 1 tokens"), "{err}");
}
