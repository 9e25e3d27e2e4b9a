//! Target `spiece.model`: protobuf messages rebuilt with hostile fields.

use super::*;

/// A SentencePiece ModelProto written field by field (see crate::spm for the field numbers),
/// with whatever values were drawn.
#[derive(Debug, Clone)]
struct SpmFile {
    pieces: Vec<(Option<String>, Option<f32>, Option<i32>)>,
    model_type: Option<i32>,
    unk_id: Option<i32>,
    /// The real charsmap edited, or arbitrary bytes.
    charsmap: Option<(bool, Vec<Edit>, Vec<u8>)>,
    do_lower_case: bool,
    keep_accents: bool,
}

fn varint(mut x: u64, out: &mut Vec<u8>) {
    while x >= 0x80 {
        out.push((x as u8) | 0x80);
        x >>= 7;
    }
    out.push(x as u8);
}

fn field_bytes(tag: u32, bytes: &[u8], out: &mut Vec<u8>) {
    varint(u64::from(tag) << 3 | 2, out);
    varint(bytes.len() as u64, out);
    out.extend_from_slice(bytes);
}

fn field_varint(tag: u32, x: i64, out: &mut Vec<u8>) {
    varint(u64::from(tag) << 3, out);
    varint(x as u64, out);
}

/// The real `precompiled_charsmap` (from the tiny fixture's tokenizer.json).
fn real_charsmap() -> &'static [u8] {
    use base64::Engine as _;
    static C: OnceLock<Vec<u8>> = OnceLock::new();
    C.get_or_init(|| {
        let v: Value = serde_json::from_slice(&std::fs::read(common::fixture("tiny").join("tokenizer.json")).unwrap()).unwrap();
        let s = v["normalizer"]["normalizers"].as_array().unwrap().iter().find(|n| n["type"] == "Precompiled").unwrap()["precompiled_charsmap"].as_str().unwrap().to_string();
        base64::engine::general_purpose::STANDARD.decode(s).unwrap()
    })
}

impl SpmFile {
    fn bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for (piece, score, kind) in &self.pieces {
            let mut p = Vec::new();
            if let Some(s) = piece {
                field_bytes(1, s.as_bytes(), &mut p);
            }
            if let Some(s) = score {
                varint(2 << 3 | 5, &mut p);
                p.extend_from_slice(&s.to_le_bytes());
            }
            if let Some(k) = kind {
                field_varint(3, i64::from(*k), &mut p);
            }
            field_bytes(1, &p, &mut out);
        }
        let mut trainer = Vec::new();
        if let Some(m) = self.model_type {
            field_varint(3, i64::from(m), &mut trainer);
        }
        if let Some(u) = self.unk_id {
            field_varint(40, i64::from(u), &mut trainer);
        }
        field_bytes(2, &trainer, &mut out);
        if let Some((real, edits, raw)) = &self.charsmap {
            let blob = if *real { apply(real_charsmap().to_vec(), edits, 4096) } else { raw.clone() };
            let mut norm = Vec::new();
            field_bytes(2, &blob, &mut norm);
            field_bytes(3, &norm, &mut out);
        }
        out
    }
}

fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec!["<pad>", "<unk>", "[CLS]", "[SEP]", "[MASK]", "▁", "▁the", "a", "1,", "", " ", "\u{0}", "é", "e\u{301}"]).prop_map(String::from),
        ".{0,6}",
    ]
}

fn score() -> impl Strategy<Value = f32> {
    prop_oneof![4 => -20f32..0.0, 1 => prop::sample::select(vec![f32::NAN, f32::INFINITY, f32::NEG_INFINITY, f32::MAX, -f32::MAX, 0.0, -0.0])]
}

fn spm_file() -> impl Strategy<Value = SpmFile> {
    let entry = (prop::option::weighted(0.95, piece()), prop::option::weighted(0.9, score()), prop::option::weighted(0.8, prop_oneof![4 => 1i32..=6, 1 => any::<i32>()]));
    let charsmap = prop::option::weighted(0.6, (any::<bool>(), prop::collection::vec(edit(), 0..4), prop::collection::vec(any::<u8>(), 0..64)));
    (
        prop::collection::vec(entry, 0..40),
        prop::option::weighted(0.9, prop_oneof![4 => Just(1i32), 1 => any::<i32>()]),
        prop::option::weighted(0.8, prop_oneof![4 => 0i32..40, 1 => any::<i32>()]),
        charsmap,
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(pieces, model_type, unk_id, charsmap, do_lower_case, keep_accents)| SpmFile { pieces, model_type, unk_id, charsmap, do_lower_case, keep_accents })
}

#[derive(Debug, Clone)]
enum SpmInput {
    Built(SpmFile),
    /// A real spiece.model, byte-edited (the header's pieces mostly, or anywhere).
    Real(Mutated, bool, bool),
}

fn spm_input() -> impl Strategy<Value = SpmInput> {
    prop_oneof![
        3 => spm_file().prop_map(SpmInput::Built),
        2 => (mutated(4), any::<bool>(), any::<bool>()).prop_map(|(m, l, a)| SpmInput::Real(m, l, a)),
    ]
}

#[test]
fn fuzz_spiece_model() {
    fuzz("spiece.model", spm_input(), |input| {
        let (bytes, opts) = match &input {
            SpmInput::Built(f) => (f.bytes(), SpmOptions { do_lower_case: f.do_lower_case, keep_accents: f.keep_accents }),
            SpmInput::Real(m, l, a) => (m.bytes(seeds_of("spiece.model")).1, SpmOptions { do_lower_case: *l, keep_accents: *a }),
        };
        let t = Instant::now();
        if let Ok(tok) = Tokenizer::from_spiece_model(&bytes, opts) {
            accepted();
            check_encodes(&tok, PROBES)?;
        }
        check_time(t, bytes.len(), "spiece.model")
    });
}
