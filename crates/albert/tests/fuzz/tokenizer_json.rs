//! Target `tokenizer.json`: byte and structural edits of the real files; every one that loads must encode sanely.

use super::*;

#[derive(Debug, Clone)]
enum TokenizerJsonInput {
    /// A real tokenizer.json with JSON edits anywhere.
    Json(Index, Vec<JsonEdit>),
    /// Edits aimed at the vocabulary and the special tokens.
    Vocab(Index, Vec<(Index, u8, Value)>),
    /// The Precompiled normalizer's charsmap, byte-edited.
    Charsmap(Index, Vec<Edit>),
    /// Bytes edited (mostly invalid JSON).
    Bytes(Mutated),
}

fn tokenizer_json_input() -> impl Strategy<Value = TokenizerJsonInput> {
    prop_oneof![
        3 => (any::<Index>(), prop::collection::vec(json_edit(), 1..5)).prop_map(|(i, e)| TokenizerJsonInput::Json(i, e)),
        3 => (any::<Index>(), prop::collection::vec((any::<Index>(), 0u8..6, hostile_json()), 1..5)).prop_map(|(i, e)| TokenizerJsonInput::Vocab(i, e)),
        2 => (any::<Index>(), prop::collection::vec(edit(), 1..6)).prop_map(|(i, e)| TokenizerJsonInput::Charsmap(i, e)),
        1 => mutated(4).prop_map(TokenizerJsonInput::Bytes),
    ]
}

/// The tokenizer.json seeds, parsed once.
fn tokenizer_json_values() -> &'static [Value] {
    static V: OnceLock<Vec<Value>> = OnceLock::new();
    V.get_or_init(|| seeds_of("tokenizer.json").iter().map(|(_, b)| serde_json::from_slice(b).unwrap()).collect())
}

fn tokenizer_json_bytes(input: &TokenizerJsonInput) -> Vec<u8> {
    use base64::Engine as _;
    let values = tokenizer_json_values();
    let pick = |i: &Index| values[i.index(values.len())].clone();
    match input {
        TokenizerJsonInput::Json(i, edits) => {
            let mut v = pick(i);
            edits.iter().for_each(|e| apply_json(&mut v, e));
            serde_json::to_vec(&v).unwrap()
        }
        TokenizerJsonInput::Vocab(i, edits) => {
            let mut v = pick(i);
            for (at, what, x) in edits {
                match what {
                    // A vocabulary entry, its piece or its score.
                    0..=2 => {
                        if let Some(vocab) = v.pointer_mut("/model/vocab").and_then(Value::as_array_mut) {
                            if !vocab.is_empty() {
                                let k = at.index(vocab.len());
                                let e = &mut vocab[k];
                                match (what, e.as_array_mut()) {
                                    (1, Some(pair)) if !pair.is_empty() => pair[0] = x.clone(),
                                    (2, Some(pair)) if pair.len() > 1 => pair[1] = x.clone(),
                                    _ => *e = x.clone(),
                                }
                            }
                        }
                    }
                    3 => v["model"]["unk_id"] = x.clone(),
                    // An added token's id or content.
                    _ => {
                        if let Some(added) = v.get_mut("added_tokens").and_then(Value::as_array_mut) {
                            if !added.is_empty() {
                                let k = at.index(added.len());
                                let t = &mut added[k];
                                t[if *what == 4 { "id" } else { "content" }] = x.clone();
                            }
                        }
                    }
                }
            }
            serde_json::to_vec(&v).unwrap()
        }
        TokenizerJsonInput::Charsmap(i, edits) => {
            let mut v = pick(i);
            let b64 = base64::engine::general_purpose::STANDARD;
            if let Some(list) = v.pointer_mut("/normalizer/normalizers").and_then(Value::as_array_mut) {
                for n in list.iter_mut().filter(|n| n["type"] == "Precompiled") {
                    let blob = n["precompiled_charsmap"].as_str().and_then(|s| b64.decode(s).ok()).unwrap_or_default();
                    n["precompiled_charsmap"] = Value::from(b64.encode(apply(blob, edits, usize::MAX)));
                }
            }
            serde_json::to_vec(&v).unwrap()
        }
        TokenizerJsonInput::Bytes(m) => m.bytes(seeds_of("tokenizer.json")).1,
    }
}

#[test]
fn fuzz_tokenizer_json() {
    fuzz("tokenizer.json", tokenizer_json_input(), |input| {
        let bytes = tokenizer_json_bytes(&input);
        let t = Instant::now();
        if let Ok(tok) = Tokenizer::from_tokenizer_json(&bytes) {
            accepted();
            check_encodes(&tok, PROBES)?;
        }
        check_time(t, bytes.len(), "tokenizer.json")
    });
}
