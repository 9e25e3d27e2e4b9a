//! Checks of a tokenizer.json's parts that the `tokenizers` library accepts when it reads them but
//! panics on later (found by tests/fuzz/): a corrupt `Precompiled` charsmap, a template that
//! places a special token it does not define. Each becomes a [`crate::Error::Tokenizer`] instead.

use serde_json::Value;

use super::tok_err;
use crate::error::Result;
use crate::spm;

/// Every object in `v` (itself included, at any depth) whose `type` is `type_name`. The
/// `tokenizers` library reaches nested normalizers and post-processors by more than one route
/// (a `Sequence` whose own `type` is broken is still read, through its untagged fallback), so
/// the checks below look at every such object rather than follow the tags.
fn objects_of_type<'a>(v: &'a Value, type_name: &str, out: &mut Vec<&'a Value>) {
    match v {
        Value::Object(m) => {
            if m.get("type").and_then(Value::as_str) == Some(type_name) {
                out.push(v);
            }
            m.values().for_each(|x| objects_of_type(x, type_name, out));
        }
        Value::Array(a) => a.iter().for_each(|x| objects_of_type(x, type_name, out)),
        _ => {}
    }
}

/// Checks every `Precompiled` normalizer in a tokenizer.json `normalizer` value (which the
/// `tokenizers` library would otherwise accept and later panic on if corrupt).
pub(super) fn check_precompiled_in_json(normalizer: &Value) -> Result<()> {
    let mut found = Vec::new();
    objects_of_type(normalizer, "Precompiled", &mut found);
    found.into_iter().try_for_each(check_precompiled)
}

fn check_precompiled(normalizer: &Value) -> Result<()> {
    // `tokenizers` reads this normalizer with `spm_precompiled` and `.expect`s the result: a
    // charsmap that is not a string, not base64 or not a charsmap panicked inside
    // `Tokenizer::from_bytes` (found by tests/fuzz/). Ask the same parser first, from text as
    // `tokenizers` does (the charsmap is read as a borrowed string).
    if let Err(e) = serde_json::from_str::<spm_precompiled::Precompiled>(&normalizer.to_string()) {
        let e: String = e.to_string().chars().take(200).collect();
        return Err(tok_err(format!("tokenizer.json: the Precompiled normalizer's precompiled_charsmap cannot be read ({e})")));
    }
    let Some(blob) = normalizer.get("precompiled_charsmap").and_then(Value::as_str).and_then(spm::base64_decode) else {
        return Ok(()); // read above, so this does not happen
    };
    if blob.is_empty() {
        return Ok(());
    }
    spm::validate_precompiled_charsmap(&blob).map_err(|e| tok_err(format!("tokenizer.json: the Precompiled normalizer's {e}")))
}

/// Checks every `TemplateProcessing` post-processor in a tokenizer.json `post_processor` value:
/// each special token its templates place must be defined in its `special_tokens`, with as many
/// `ids` as `tokens`. The `tokenizers` library checks this when a template is built in code but
/// not when one is read from JSON, and then panics in the first `encode` (found by
/// tests/fuzz/).
pub(super) fn check_template_in_json(post: &Value) -> Result<()> {
    let mut found = Vec::new();
    objects_of_type(post, "TemplateProcessing", &mut found);
    found.into_iter().try_for_each(check_template)
}

fn check_template(post: &Value) -> Result<()> {
    let specials = post.get("special_tokens").and_then(Value::as_object);
    for (name, t) in specials.into_iter().flatten() {
        let len = |k: &str| t.get(k).and_then(Value::as_array).map(Vec::len);
        if len("ids") != len("tokens") {
            return Err(tok_err(format!(
                "tokenizer.json: the post_processor's special token {name:?} has {} ids but {} tokens; expected one id per token",
                len("ids").unwrap_or(0),
                len("tokens").unwrap_or(0)
            )));
        }
    }
    for template in ["single", "pair"] {
        for piece in post.get(template).and_then(Value::as_array).into_iter().flatten() {
            let Some(id) = piece.get("SpecialToken").and_then(|t| t.get("id")).and_then(Value::as_str) else { continue };
            if !specials.is_some_and(|s| s.contains_key(id)) {
                return Err(tok_err(format!(
                    "tokenizer.json: the post_processor's {template} template places the special token {id:?}, which its special_tokens does not define"
                )));
            }
        }
    }
    Ok(())
}
