//! The `spiece.model` route: transformers' `AlbertConverter` (convert_slow_tokenizer.py)
//! ported, assembling from a SentencePiece model exactly the `tokenizers` pipeline the converter
//! builds (see the module documentation of [`super`]).

use super::{tok_err, SpmOptions, Tokenizer, TokenizerSource, ALBERT_SPECIALS, MASK};
use crate::config::json_kind;
use crate::error::Result;
use crate::spm::{self, PieceType};
use serde_json::{json, Value};
use std::collections::HashSet;

impl Tokenizer {
    /// Converts a SentencePiece `spiece.model` into the tokenizer transformers' `AlbertConverter`
    /// builds from it, with `opts` taking the place of `tokenizer_config.json`'s `do_lower_case`
    /// and `keep_accents`:
    ///
    /// - normalizer: `Replace("``", "\"")`, `Replace("''", "\"")`, then unless `keep_accents`
    ///   `NFKD` and `StripAccents`, then if `do_lower_case` `Lowercase`, then the model's
    ///   `Precompiled` charsmap (if any), then `Replace(/ {2,}/, " ")`;
    /// - pre-tokenizer: `Metaspace("▁", prepend_scheme = always, split = true)`;
    /// - model: `Unigram` over the model's pieces and scores, where a piece that ends in a digit
    ///   followed by `,` gets its score lowered by 100 (transformers' `check_number_comma`), with
    ///   the model's `unk_id`;
    /// - post-processor: `[CLS] $A [SEP]` / `[CLS] $A [SEP] $B:1 [SEP]:1`; decoder: `Metaspace`;
    /// - added tokens: the model's control pieces and `<pad>`, `<unk>`, `[CLS]`, `[SEP]`,
    ///   `[MASK]`, all special and matched in the raw text; `[MASK]` strips whitespace on its left.
    ///
    /// Errors: a truncated or malformed file, a non-Unigram model, an `unk_id` outside the
    /// vocabulary, non-finite scores, or a corrupt `precompiled_charsmap`.
    pub fn from_spiece_model(bytes: &[u8], opts: SpmOptions) -> Result<Tokenizer> {
        let model = spm::parse_model(bytes)
            .map_err(|e| tok_err(format!("spiece.model is not a readable SentencePiece model: {e}")))?;
        if model.model_type != 1 {
            let name = match model.model_type {
                2 => "BPE",
                3 => "WORD",
                4 => "CHAR",
                _ => "unknown",
            };
            return Err(tok_err(format!(
                "spiece.model: expected a Unigram SentencePiece model (model_type 1), found model_type {} ({name}); ALBERT uses Unigram",
                model.model_type
            )));
        }
        let n = model.pieces.len();
        let unk_id = usize::try_from(model.unk_id).ok().filter(|&u| u < n).ok_or_else(|| {
            tok_err(format!(
                "spiece.model: unk_id is {}, but the vocabulary has {n} pieces (expected 0..{n})",
                model.unk_id
            ))
        })?;
        if !model.precompiled_charsmap.is_empty() {
            spm::validate_precompiled_charsmap(&model.precompiled_charsmap)
                .map_err(|e| tok_err(format!("spiece.model: {e}")))?;
        }

        // Model: vocabulary with AlbertConverter's score tweak.
        let mut vocab = Vec::with_capacity(n);
        for (i, p) in model.pieces.iter().enumerate() {
            if !p.score.is_finite() {
                return Err(tok_err(format!(
                    "spiece.model: piece #{i} ({:?}) has score {}; expected a finite number",
                    p.piece, p.score
                )));
            }
            let mut score = f64::from(p.score);
            if !check_number_comma(&p.piece) {
                score -= 100.0;
            }
            vocab.push(json!([p.piece, score]));
        }

        // Normalizer, exactly AlbertConverter.normalizer.
        let mut normalizers = vec![
            json!({"type": "Replace", "pattern": {"String": "``"}, "content": "\""}),
            json!({"type": "Replace", "pattern": {"String": "''"}, "content": "\""}),
        ];
        if !opts.keep_accents {
            normalizers.push(json!({"type": "NFKD"}));
            normalizers.push(json!({"type": "StripAccents"}));
        }
        if opts.do_lower_case {
            normalizers.push(json!({"type": "Lowercase"}));
        }
        if !model.precompiled_charsmap.is_empty() {
            normalizers.push(json!({
                "type": "Precompiled",
                "precompiled_charsmap": spm::base64_encode(&model.precompiled_charsmap),
            }));
        }
        normalizers.push(json!({"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "}));

        // Added tokens: control pieces and ALBERT's specials (special, not normalized). User-defined
        // pieces are left to the Unigram model; see the module documentation.
        let mut added = Vec::new();
        let mut present: HashSet<&str> = HashSet::new();
        for (id, p) in model.pieces.iter().enumerate() {
            let albert_special = ALBERT_SPECIALS.contains(&p.piece.as_str());
            if (p.kind == PieceType::Control || albert_special) && present.insert(p.piece.as_str()) {
                added.push(added_token_json(id, &p.piece));
            }
        }
        let mut next_id = n;
        for s in ALBERT_SPECIALS {
            if !present.contains(s) {
                added.push(added_token_json(next_id, s));
                next_id += 1;
            }
        }

        let tokenizer_json = json!({
            "version": "1.0",
            "truncation": null,
            "padding": null,
            "added_tokens": added,
            "normalizer": {"type": "Sequence", "normalizers": normalizers},
            "pre_tokenizer": {"type": "Metaspace", "replacement": "\u{2581}", "prepend_scheme": "always", "split": true},
            "post_processor": null,
            "decoder": {"type": "Metaspace", "replacement": "\u{2581}", "prepend_scheme": "always", "split": true},
            "model": {"type": "Unigram", "unk_id": unk_id, "vocab": vocab, "byte_fallback": false},
        });
        let bytes = serde_json::to_vec(&tokenizer_json)
            .map_err(|e| tok_err(format!("spiece.model: could not assemble the tokenizer: {e}")))?;
        let inner = tokenizers::Tokenizer::from_bytes(&bytes)
            .map_err(|e| tok_err(format!("spiece.model: could not build the tokenizer: {e}")))?;
        // The post-processor needs the final ids of [CLS] and [SEP]; `finish` installs it.
        Self::finish(inner, TokenizerSource::SpieceModel, "spiece.model")
    }
}

/// `AddedToken` JSON as ALBERT's tokenizer.json has it: special, not normalized, `[MASK]` lstrip.
fn added_token_json(id: usize, content: &str) -> Value {
    json!({
        "id": id,
        "content": content,
        "single_word": false,
        "lstrip": content == MASK,
        "rstrip": false,
        "normalized": false,
        "special": true,
    })
}

/// transformers' `check_number_comma`: `false` (score − 100) for pieces of 2+ characters that end
/// in `,` preceded by a digit (Python `str.isdigit`).
fn check_number_comma(piece: &str) -> bool {
    let mut rev = piece.chars().rev();
    match (rev.next(), rev.next()) {
        (Some(','), Some(d)) => !is_python_digit(d),
        _ => true,
    }
}

/// Python's `str.isdigit` for one character (Unicode `Numeric_Type` Decimal or Digit, Unicode 14
/// as in Python 3.11; generated with Python and stored as ranges).
fn is_python_digit(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_digit();
    }
    #[rustfmt::skip]
    const RANGES: &[(u32, u32)] = &[
        (0xB2, 0xB3), (0xB9, 0xB9), (0x660, 0x669), (0x6F0, 0x6F9), (0x7C0, 0x7C9), (0x966, 0x96F),
        (0x9E6, 0x9EF), (0xA66, 0xA6F), (0xAE6, 0xAEF), (0xB66, 0xB6F), (0xBE6, 0xBEF), (0xC66, 0xC6F),
        (0xCE6, 0xCEF), (0xD66, 0xD6F), (0xDE6, 0xDEF), (0xE50, 0xE59), (0xED0, 0xED9), (0xF20, 0xF29),
        (0x1040, 0x1049), (0x1090, 0x1099), (0x1369, 0x1371), (0x17E0, 0x17E9), (0x1810, 0x1819),
        (0x1946, 0x194F), (0x19D0, 0x19DA), (0x1A80, 0x1A89), (0x1A90, 0x1A99), (0x1B50, 0x1B59),
        (0x1BB0, 0x1BB9), (0x1C40, 0x1C49), (0x1C50, 0x1C59), (0x2070, 0x2070), (0x2074, 0x2079),
        (0x2080, 0x2089), (0x2460, 0x2468), (0x2474, 0x247C), (0x2488, 0x2490), (0x24EA, 0x24EA),
        (0x24F5, 0x24FD), (0x24FF, 0x24FF), (0x2776, 0x277E), (0x2780, 0x2788), (0x278A, 0x2792),
        (0xA620, 0xA629), (0xA8D0, 0xA8D9), (0xA900, 0xA909), (0xA9D0, 0xA9D9), (0xA9F0, 0xA9F9),
        (0xAA50, 0xAA59), (0xABF0, 0xABF9), (0xFF10, 0xFF19), (0x104A0, 0x104A9), (0x10A40, 0x10A43),
        (0x10D30, 0x10D39), (0x10E60, 0x10E68), (0x11052, 0x1105A), (0x11066, 0x1106F),
        (0x110F0, 0x110F9), (0x11136, 0x1113F), (0x111D0, 0x111D9), (0x112F0, 0x112F9),
        (0x11450, 0x11459), (0x114D0, 0x114D9), (0x11650, 0x11659), (0x116C0, 0x116C9),
        (0x11730, 0x11739), (0x118E0, 0x118E9), (0x11950, 0x11959), (0x11C50, 0x11C59),
        (0x11D50, 0x11D59), (0x11DA0, 0x11DA9), (0x16A60, 0x16A69), (0x16AC0, 0x16AC9),
        (0x16B50, 0x16B59), (0x1D7CE, 0x1D7FF), (0x1E140, 0x1E149), (0x1E2F0, 0x1E2F9),
        (0x1E950, 0x1E959), (0x1F100, 0x1F10A), (0x1FBF0, 0x1FBF9),
    ];
    let c = c as u32;
    RANGES.iter().any(|&(lo, hi)| (lo..=hi).contains(&c))
}

/// Reads `do_lower_case` / `keep_accents` from `tokenizer_config.json` (absent keys keep the
/// ALBERT defaults).
pub(super) fn spm_options_from_config(bytes: &[u8]) -> Result<SpmOptions> {
    let value: Value =
        serde_json::from_slice(bytes).map_err(|e| tok_err(format!("tokenizer_config.json is not valid JSON: {e}")))?;
    let obj = value.as_object().ok_or_else(|| {
        tok_err(format!("tokenizer_config.json: expected a JSON object, found {}", json_kind(&value)))
    })?;
    let mut opts = SpmOptions::default();
    for (key, slot) in [("do_lower_case", &mut opts.do_lower_case), ("keep_accents", &mut opts.keep_accents)] {
        match obj.get(key) {
            None | Some(Value::Null) => {}
            Some(Value::Bool(b)) => *slot = *b,
            Some(other) => {
                return Err(tok_err(format!(
                    "tokenizer_config.json: expected `{key}` to be true or false, found {other}"
                )))
            }
        }
    }
    Ok(opts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_comma() {
        assert!(check_number_comma(","));
        assert!(check_number_comma("a,"));
        assert!(!check_number_comma("1,"));
        assert!(!check_number_comma("▁2010,"));
        assert!(!check_number_comma("²,"));
        assert!(check_number_comma("½,"));
        assert!(check_number_comma("1,2"));
    }

    #[test]
    fn config_options() {
        let o = spm_options_from_config(br#"{"do_lower_case": false, "keep_accents": true}"#).unwrap();
        assert_eq!(o, SpmOptions { do_lower_case: false, keep_accents: true });
        assert_eq!(spm_options_from_config(b"{}").unwrap(), SpmOptions::default());
        assert!(spm_options_from_config(br#"{"do_lower_case": "yes"}"#).is_err());
        assert!(spm_options_from_config(b"[1]").is_err());
        assert!(spm_options_from_config(b"nope").is_err());
    }
}
