//! SentencePiece `*.model` files (the `ModelProto` protobuf message of
//! `sentencepiece_model.proto`), decoded by `prost` through hand-written message structs (no
//! build script: only the fields the ALBERT tokenizer needs; protobuf skips the rest), plus a
//! safety check for `precompiled_charsmap` blobs, which no library does. Field numbers, from
//! `sentencepiece_model.proto`:
//!
//! ```text
//! ModelProto      1: repeated SentencePiece pieces   2: TrainerSpec   3: NormalizerSpec
//! SentencePiece   1: piece (string)   2: score (float)   3: type (enum, default NORMAL = 1)
//! TrainerSpec     3: model_type (enum, default UNIGRAM = 1)   35: byte_fallback   40: unk_id (default 0)
//! NormalizerSpec  1: name   2: precompiled_charsmap (bytes)
//! ```
//!
//! All functions return `Err(String)` with a message that says what was expected and what was
//! found; [`crate::tokenizer`] wraps it in [`crate::Error::Tokenizer`]. Nothing here panics on
//! malformed input.

use base64::Engine as _;
use std::collections::HashSet;

/// `SentencePiece.Type` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PieceType {
    Normal,
    Unknown,
    Control,
    UserDefined,
    Unused,
    Byte,
    /// A value this reader does not know (kept, not rejected: newer SentencePiece versions).
    Other(i32),
}

impl PieceType {
    fn from_i32(v: i32) -> PieceType {
        match v {
            1 => PieceType::Normal,
            2 => PieceType::Unknown,
            3 => PieceType::Control,
            4 => PieceType::UserDefined,
            5 => PieceType::Unused,
            6 => PieceType::Byte,
            other => PieceType::Other(other),
        }
    }
}

/// One vocabulary entry of a SentencePiece model.
#[derive(Debug, Clone)]
pub(crate) struct Piece {
    pub piece: String,
    pub score: f32,
    pub kind: PieceType,
}

/// The parts of a SentencePiece `ModelProto` that the ALBERT converter uses.
#[derive(Debug, Clone)]
pub(crate) struct SpmModel {
    pub pieces: Vec<Piece>,
    /// `TrainerSpec.model_type`: 1 UNIGRAM, 2 BPE, 3 WORD, 4 CHAR.
    pub model_type: i32,
    /// `TrainerSpec.unk_id` (protobuf default 0).
    pub unk_id: i64,
    /// `NormalizerSpec.precompiled_charsmap`, empty when absent.
    pub precompiled_charsmap: Vec<u8>,
}

/// The wire messages (proto2: absent fields are `None`, read with the proto's defaults).
mod proto {
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct ModelProto {
        #[prost(message, repeated, tag = "1")]
        pub pieces: Vec<SentencePiece>,
        #[prost(message, optional, tag = "2")]
        pub trainer_spec: Option<TrainerSpec>,
        #[prost(message, optional, tag = "3")]
        pub normalizer_spec: Option<NormalizerSpec>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct SentencePiece {
        #[prost(string, optional, tag = "1")]
        pub piece: Option<String>,
        #[prost(float, optional, tag = "2")]
        pub score: Option<f32>,
        /// An enum on the wire; read as int32 so unknown values survive.
        #[prost(int32, optional, tag = "3")]
        pub r#type: Option<i32>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct TrainerSpec {
        #[prost(int32, optional, tag = "3")]
        pub model_type: Option<i32>,
        #[prost(int32, optional, tag = "40")]
        pub unk_id: Option<i32>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct NormalizerSpec {
        #[prost(bytes = "vec", optional, tag = "2")]
        pub precompiled_charsmap: Option<Vec<u8>>,
    }
}

/// Parses a SentencePiece `.model` file (a serialized `ModelProto`).
pub(crate) fn parse_model(bytes: &[u8]) -> Result<SpmModel, String> {
    if bytes.is_empty() {
        return Err("the file is empty; expected a SentencePiece model (protobuf ModelProto)".into());
    }
    let first = bytes.iter().copied().find(|b| !b.is_ascii_whitespace());
    if first == Some(b'{') || first == Some(b'[') {
        return Err("the file looks like JSON, not a SentencePiece model (protobuf ModelProto); was tokenizer.json or tokenizer_config.json given as spiece.model?".into());
    }
    let m = <proto::ModelProto as prost::Message>::decode(bytes).map_err(|e| format!("truncated or malformed protobuf ({e})"))?;
    if m.pieces.is_empty() {
        return Err("no vocabulary pieces (ModelProto field 1) found; this is not a SentencePiece model".into());
    }
    let pieces = m
        .pieces
        .into_iter()
        .enumerate()
        .map(|(i, p)| {
            let piece = p.piece.ok_or_else(|| format!("piece #{i} has no piece string (field 1)"))?;
            Ok(Piece { piece, score: p.score.unwrap_or(0.0), kind: PieceType::from_i32(p.r#type.unwrap_or(1)) })
        })
        .collect::<Result<_, String>>()?;
    let trainer = m.trainer_spec.unwrap_or_default();
    Ok(SpmModel {
        pieces,
        model_type: trainer.model_type.unwrap_or(1),
        unk_id: i64::from(trainer.unk_id.unwrap_or(0)),
        precompiled_charsmap: m.normalizer_spec.and_then(|n| n.precompiled_charsmap).unwrap_or_default(),
    })
}

// ---------------------------------------------------------------------------------------------
// precompiled_charsmap safety check
// ---------------------------------------------------------------------------------------------

// The array-unit accessors of SentencePiece's Darts double array, written exactly as the
// `spm_precompiled` crate (used by `tokenizers`) computes them, in `usize`, so the check sees the
// same numbers as the lookup on every target.
fn unit_has_leaf(u: usize) -> bool {
    (u >> 8) & 1 == 1
}
fn unit_value(u: usize) -> usize {
    u & ((1usize << 31) - 1)
}
fn unit_label(u: usize) -> usize {
    u & ((1usize << 31) | 0xFF)
}
fn unit_offset(u: usize) -> usize {
    (u >> 10) << ((u & (1usize << 9)) >> 6)
}

/// Checks that a SentencePiece `precompiled_charsmap` can be used by the `tokenizers`
/// `Precompiled` normalizer without indexing out of bounds.
///
/// That normalizer trusts the blob: a corrupt trie makes it panic while *encoding* text, long
/// after the file was accepted. This walks every trie path the normalizer can take (it looks up
/// keys of at most 5 bytes: graphemes shorter than 6 bytes, else single characters, each byte
/// 1..=255) and checks every array index and every replacement-string offset it would use.
pub(crate) fn validate_precompiled_charsmap(blob: &[u8]) -> Result<(), String> {
    if blob.len() < 4 {
        return Err(format!("precompiled_charsmap is {} bytes; expected at least a 4-byte trie length", blob.len()));
    }
    let trie_size = u32::from_le_bytes([blob[0], blob[1], blob[2], blob[3]]) as usize;
    let trie_units = trie_size / 4;
    let trie_end =
        trie_units.checked_mul(4).and_then(|n| n.checked_add(4)).filter(|&e| e <= blob.len()).ok_or_else(|| {
            format!(
                "precompiled_charsmap declares a {trie_size}-byte trie, but only {} bytes follow the length",
                blob.len() - 4
            )
        })?;
    if trie_units == 0 {
        return Err("precompiled_charsmap has an empty trie; expected at least one unit".into());
    }
    let units: Vec<usize> =
        blob[4..trie_end].chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]) as usize).collect();
    let normalized = std::str::from_utf8(&blob[trie_end..])
        .map_err(|e| format!("precompiled_charsmap's replacement strings are not valid UTF-8 ({e})"))?;

    let bad_index = |at: usize| {
        format!("precompiled_charsmap is corrupt: its trie refers to unit {at}, but it has {} units", units.len())
    };
    let root = unit_offset(units[0]);
    let mut frontier = vec![root];
    let mut seen: HashSet<usize> = HashSet::new();
    seen.insert(root);
    for _depth in 0..5 {
        let mut next_frontier = Vec::new();
        for &node in &frontier {
            for c in 1usize..=255 {
                let child = node ^ c;
                let unit = *units.get(child).ok_or_else(|| bad_index(child))?;
                if unit_label(unit) != c {
                    continue;
                }
                let next = child ^ unit_offset(unit);
                if unit_has_leaf(unit) {
                    let leaf = *units.get(next).ok_or_else(|| bad_index(next))?;
                    let value = unit_value(leaf);
                    if value > normalized.len() || !normalized.is_char_boundary(value) {
                        return Err(format!(
                            "precompiled_charsmap is corrupt: a replacement starts at byte {value} of its {}-byte string table, which is not a character boundary",
                            normalized.len()
                        ));
                    }
                }
                if seen.insert(next) {
                    next_frontier.push(next);
                }
            }
        }
        frontier = next_frontier;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// base64 (standard alphabet, padded), as tokenizer.json stores `precompiled_charsmap`
// ---------------------------------------------------------------------------------------------

/// Standard, padded base64 (what Python's `base64.b64encode` and the `tokenizers` serializer write).
pub(crate) fn base64_encode(data: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(data)
}

/// Decodes standard base64 (padding optional). `None` for anything else.
pub(crate) fn base64_decode(s: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::STANDARD_NO_PAD.decode(s.trim_end_matches('=')).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    #[test]
    fn base64_is_standard_and_padded() {
        assert_eq!(base64_encode(b"Ma"), "TWE=");
        assert_eq!(base64_decode("TWE=").unwrap(), b"Ma");
        assert_eq!(base64_decode("TWE").unwrap(), b"Ma");
        assert!(base64_decode("T$==").is_none());
    }

    #[test]
    fn errors_name_the_problem() {
        // field 1, LEN, length 5 but only 2 bytes follow
        let e = parse_model(&[0x0a, 0x05, 0x0a, 0x01]).unwrap_err();
        assert!(e.contains("truncated"), "{e}");
        assert!(parse_model(&[0xff; 12]).is_err());
        assert!(parse_model(b"").unwrap_err().contains("empty"));
        assert!(parse_model(b"{\"version\": \"1.0\"}").unwrap_err().contains("JSON"));
    }

    #[test]
    fn minimal_model() {
        let m = proto::ModelProto {
            pieces: vec![proto::SentencePiece { piece: Some("a".into()), score: Some(-1.5), r#type: Some(1) }],
            trainer_spec: Some(proto::TrainerSpec { model_type: None, unk_id: Some(-1) }),
            normalizer_spec: None,
        };
        let m = parse_model(&m.encode_to_vec()).unwrap();
        assert_eq!((m.pieces.len(), m.pieces[0].piece.as_str(), m.pieces[0].score, m.pieces[0].kind), (1, "a", -1.5, PieceType::Normal));
        assert_eq!((m.unk_id, m.model_type), (-1, 1));
    }

    #[test]
    fn charsmap_checks() {
        assert!(validate_precompiled_charsmap(&[]).is_err());
        assert!(validate_precompiled_charsmap(&[0, 0, 0, 0]).is_err());
        // trie says 400 bytes, none follow
        assert!(validate_precompiled_charsmap(&[0x90, 0x01, 0, 0]).is_err());
        // one unit (offset 0): every child index 1..=255 is out of range
        assert!(validate_precompiled_charsmap(&[4, 0, 0, 0, 0, 0, 0, 0]).is_err());
    }
}
