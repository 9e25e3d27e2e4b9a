//! A minimal reader for SentencePiece `*.model` files (the `ModelProto` protobuf message of
//! `sentencepiece_model.proto`), plus a safety check for `precompiled_charsmap` blobs.
//!
//! Only the fields the ALBERT tokenizer needs are decoded; every other field is skipped by wire
//! type, as protobuf allows. A hand-written reader keeps the engine free of code generators and C
//! dependencies (it must build for `wasm32-unknown-unknown`). Field numbers, from
//! `sentencepiece_model.proto`:
//!
//! ```text
//! ModelProto      1: repeated SentencePiece pieces   2: TrainerSpec   3: NormalizerSpec
//! SentencePiece   1: piece (string)   2: score (float)   3: type (enum, default NORMAL = 1)
//! TrainerSpec     3: model_type (enum, default UNIGRAM = 1)   35: byte_fallback   40: unk_id (default 0)
//! NormalizerSpec  1: name   2: precompiled_charsmap (bytes)   3: add_dummy_prefix   4: remove_extra_whitespaces
//! ```
//!
//! All functions return `Err(String)` with a message that says what was expected and what was
//! found; [`crate::tokenizer`] wraps it in [`crate::Error::Tokenizer`]. Nothing here panics on
//! malformed input.

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
    Other(u64),
}

impl PieceType {
    fn from_u64(v: u64) -> PieceType {
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
    pub model_type: u64,
    /// `TrainerSpec.unk_id` (protobuf default 0).
    pub unk_id: i64,
    /// `TrainerSpec.byte_fallback` (read for completeness; the converter ignores it, as
    /// transformers does).
    #[allow(dead_code)]
    pub byte_fallback: bool,
    /// `NormalizerSpec.name` (e.g. `nmt_nfkc`), empty when absent.
    #[allow(dead_code)]
    pub normalizer_name: String,
    /// `NormalizerSpec.precompiled_charsmap`, empty when absent.
    pub precompiled_charsmap: Vec<u8>,
}

const WIRE_VARINT: u8 = 0;
const WIRE_I64: u8 = 1;
const WIRE_LEN: u8 = 2;
const WIRE_I32: u8 = 5;

fn wire_name(w: u8) -> &'static str {
    match w {
        0 => "varint",
        1 => "64-bit",
        2 => "length-delimited",
        3 => "start-group",
        4 => "end-group",
        5 => "32-bit",
        _ => "invalid",
    }
}

/// A cursor over one protobuf message; `base` is the message's offset in the whole file, so
/// messages can name the absolute byte where something went wrong.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    base: usize,
    what: &'static str,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8], base: usize, what: &'static str) -> Self {
        Reader { buf, pos: 0, base, what }
    }

    fn at_end(&self) -> bool {
        self.pos >= self.buf.len()
    }

    fn abs(&self) -> usize {
        self.base + self.pos
    }

    fn truncated(&self, reading: &str) -> String {
        format!(
            "truncated: the file ends (or a {} message ends) at byte {} in the middle of {reading}",
            self.what,
            self.base + self.buf.len()
        )
    }

    fn varint(&mut self, reading: &str) -> Result<u64, String> {
        let start = self.abs();
        let mut v: u64 = 0;
        for i in 0..10 {
            let Some(&b) = self.buf.get(self.pos) else {
                return Err(self.truncated(reading));
            };
            self.pos += 1;
            if i == 9 && b > 1 {
                return Err(format!("malformed varint at byte {start} ({reading}): longer than 64 bits"));
            }
            v |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(format!("malformed varint at byte {start} ({reading}): more than 10 bytes"))
    }

    /// Returns (field number, wire type).
    fn tag(&mut self) -> Result<(u64, u8), String> {
        let at = self.abs();
        let key = self.varint("a field tag")?;
        let field = key >> 3;
        let wire = (key & 7) as u8;
        if field == 0 {
            return Err(format!("invalid field number 0 at byte {at} in a {} message", self.what));
        }
        Ok((field, wire))
    }

    fn bytes(&mut self, reading: &str) -> Result<(&'a [u8], usize), String> {
        let len = self.varint(reading)?;
        let start = self.pos;
        let abs_start = self.abs();
        let remaining = (self.buf.len() - self.pos) as u64;
        if len > remaining {
            return Err(format!(
                "truncated: {reading} at byte {abs_start} declares {len} bytes, but only {remaining} remain in the {} message",
                self.what
            ));
        }
        self.pos += len as usize;
        Ok((&self.buf[start..self.pos], abs_start))
    }

    fn fixed32(&mut self, reading: &str) -> Result<[u8; 4], String> {
        let end = self.pos.checked_add(4).filter(|&e| e <= self.buf.len());
        let Some(end) = end else {
            return Err(self.truncated(reading));
        };
        let mut out = [0u8; 4];
        out.copy_from_slice(&self.buf[self.pos..end]);
        self.pos = end;
        Ok(out)
    }

    fn skip(&mut self, field: u64, wire: u8) -> Result<(), String> {
        let reading = format!("field {field} of a {} message", self.what);
        match wire {
            WIRE_VARINT => self.varint(&reading).map(|_| ()),
            WIRE_I64 => {
                let end = self.pos.checked_add(8).filter(|&e| e <= self.buf.len());
                match end {
                    Some(e) => {
                        self.pos = e;
                        Ok(())
                    }
                    None => Err(self.truncated(&reading)),
                }
            }
            WIRE_LEN => self.bytes(&reading).map(|_| ()),
            WIRE_I32 => self.fixed32(&reading).map(|_| ()),
            other => Err(format!(
                "unsupported protobuf wire type {other} ({}) for {reading} at byte {}; a SentencePiece model uses only varint, 32/64-bit and length-delimited fields",
                wire_name(other),
                self.abs()
            )),
        }
    }

    fn expect_wire(&self, field: u64, wire: u8, expected: u8, name: &str) -> Result<(), String> {
        if wire == expected {
            Ok(())
        } else {
            Err(format!(
                "{}.{name} (field {field}) has wire type {} at byte {}; expected {}",
                self.what,
                wire_name(wire),
                self.abs(),
                wire_name(expected)
            ))
        }
    }
}

fn utf8(bytes: &[u8], at: usize, what: &str) -> Result<String, String> {
    String::from_utf8(bytes.to_vec()).map_err(|e| format!("{what} at byte {at} is not valid UTF-8 ({e})"))
}

fn parse_piece(buf: &[u8], base: usize, index: usize) -> Result<Piece, String> {
    let mut r = Reader::new(buf, base, "SentencePiece");
    let mut piece: Option<String> = None;
    let mut score = 0.0f32;
    let mut kind = PieceType::Normal;
    while !r.at_end() {
        let (field, wire) = r.tag()?;
        match field {
            1 => {
                r.expect_wire(field, wire, WIRE_LEN, "piece")?;
                let (b, at) = r.bytes("a piece string")?;
                piece = Some(utf8(b, at, &format!("piece #{index}"))?);
            }
            2 => {
                r.expect_wire(field, wire, WIRE_I32, "score")?;
                score = f32::from_le_bytes(r.fixed32("a piece score")?);
            }
            3 => {
                r.expect_wire(field, wire, WIRE_VARINT, "type")?;
                kind = PieceType::from_u64(r.varint("a piece type")?);
            }
            _ => r.skip(field, wire)?,
        }
    }
    let piece = piece.ok_or_else(|| format!("piece #{index} (at byte {base}) has no piece string (field 1)"))?;
    Ok(Piece { piece, score, kind })
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
    let mut model = SpmModel {
        pieces: Vec::new(),
        model_type: 1,
        unk_id: 0,
        byte_fallback: false,
        normalizer_name: String::new(),
        precompiled_charsmap: Vec::new(),
    };
    let mut r = Reader::new(bytes, 0, "ModelProto");
    while !r.at_end() {
        let (field, wire) = r.tag()?;
        match field {
            1 => {
                r.expect_wire(field, wire, WIRE_LEN, "pieces")?;
                let (b, at) = r.bytes("a SentencePiece entry")?;
                let index = model.pieces.len();
                model.pieces.push(parse_piece(b, at, index)?);
            }
            2 => {
                r.expect_wire(field, wire, WIRE_LEN, "trainer_spec")?;
                let (b, at) = r.bytes("the TrainerSpec")?;
                parse_trainer_spec(b, at, &mut model)?;
            }
            3 => {
                r.expect_wire(field, wire, WIRE_LEN, "normalizer_spec")?;
                let (b, at) = r.bytes("the NormalizerSpec")?;
                parse_normalizer_spec(b, at, &mut model)?;
            }
            _ => r.skip(field, wire)?,
        }
    }
    if model.pieces.is_empty() {
        return Err("no vocabulary pieces (ModelProto field 1) found; this is not a SentencePiece model".into());
    }
    Ok(model)
}

fn parse_trainer_spec(buf: &[u8], base: usize, model: &mut SpmModel) -> Result<(), String> {
    let mut r = Reader::new(buf, base, "TrainerSpec");
    while !r.at_end() {
        let (field, wire) = r.tag()?;
        match field {
            3 => {
                r.expect_wire(field, wire, WIRE_VARINT, "model_type")?;
                model.model_type = r.varint("model_type")?;
            }
            35 => {
                r.expect_wire(field, wire, WIRE_VARINT, "byte_fallback")?;
                model.byte_fallback = r.varint("byte_fallback")? != 0;
            }
            40 => {
                r.expect_wire(field, wire, WIRE_VARINT, "unk_id")?;
                // int32: negative values are sign-extended to 64 bits on the wire.
                model.unk_id = i64::from(r.varint("unk_id")? as u32 as i32);
            }
            _ => r.skip(field, wire)?,
        }
    }
    Ok(())
}

fn parse_normalizer_spec(buf: &[u8], base: usize, model: &mut SpmModel) -> Result<(), String> {
    let mut r = Reader::new(buf, base, "NormalizerSpec");
    while !r.at_end() {
        let (field, wire) = r.tag()?;
        match field {
            1 => {
                r.expect_wire(field, wire, WIRE_LEN, "name")?;
                let (b, at) = r.bytes("the normalizer name")?;
                model.normalizer_name = utf8(b, at, "the normalizer name")?;
            }
            2 => {
                r.expect_wire(field, wire, WIRE_LEN, "precompiled_charsmap")?;
                let (b, _) = r.bytes("the precompiled_charsmap")?;
                model.precompiled_charsmap = b.to_vec();
            }
            _ => r.skip(field, wire)?,
        }
    }
    Ok(())
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

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard, padded base64 (what Python's `base64.b64encode` and the `tokenizers` serializer write).
pub(crate) fn base64_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        out.push(B64[(n >> 18) as usize & 63] as char);
        out.push(B64[(n >> 12) as usize & 63] as char);
        out.push(if chunk.len() > 1 { B64[(n >> 6) as usize & 63] as char } else { '=' });
        out.push(if chunk.len() > 2 { B64[n as usize & 63] as char } else { '=' });
    }
    out
}

/// Decodes standard base64 (padding optional). `None` for anything else.
pub(crate) fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let s = s.trim_end_matches('=');
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    if bits >= 6 {
        return None; // a lone trailing symbol cannot encode a byte
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trip() {
        for n in 0..20usize {
            let data: Vec<u8> = (0..n).map(|i| (i * 37 + 11) as u8).collect();
            let enc = base64_encode(&data);
            assert_eq!(base64_decode(&enc).unwrap(), data, "n = {n}");
        }
        assert_eq!(base64_encode(b"Man"), "TWFu");
        assert_eq!(base64_encode(b"Ma"), "TWE=");
        assert_eq!(base64_encode(b"M"), "TQ==");
        assert!(base64_decode("T$==").is_none());
    }

    #[test]
    fn varint_and_truncation_errors() {
        // field 1, LEN, length 5 but only 2 bytes follow
        let e = parse_model(&[0x0a, 0x05, 0x0a, 0x01]).unwrap_err();
        assert!(e.contains("truncated"), "{e}");
        let e = parse_model(&[0xff; 12]).unwrap_err();
        assert!(e.contains("varint") || e.contains("wire type"), "{e}");
        let e = parse_model(b"").unwrap_err();
        assert!(e.contains("empty"), "{e}");
        let e = parse_model(b"{\"version\": \"1.0\"}").unwrap_err();
        assert!(e.contains("JSON"), "{e}");
    }

    #[test]
    fn minimal_model() {
        // pieces { piece: "a" score: -1.5 type: NORMAL }, trainer_spec { unk_id: -1 }
        let mut piece = vec![0x0a, 0x01, b'a', 0x15];
        piece.extend_from_slice(&(-1.5f32).to_le_bytes());
        piece.extend_from_slice(&[0x18, 0x01]);
        let mut file = vec![0x0a, piece.len() as u8];
        file.extend_from_slice(&piece);
        // field 40 varint: key = 40 << 3 = 320 -> 0xc0 0x02; value -1 as 10-byte varint
        let trainer = [0xc0, 0x02, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
        file.push(0x12);
        file.push(trainer.len() as u8);
        file.extend_from_slice(&trainer);
        let m = parse_model(&file).unwrap();
        assert_eq!(m.pieces.len(), 1);
        assert_eq!(m.pieces[0].piece, "a");
        assert_eq!(m.pieces[0].score, -1.5);
        assert_eq!(m.pieces[0].kind, PieceType::Normal);
        assert_eq!(m.unk_id, -1);
        assert_eq!(m.model_type, 1);
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
