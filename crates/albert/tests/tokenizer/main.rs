//! Tokenizer parity: the engine's ALBERT tokenizer must give the ids transformers gives.
//!
//! Fixtures (made by tools/golden with transformers 4.46.3 / tokenizers 0.20.3 / sentencepiece
//! 0.2.0): `fixtures/vocab/` holds a tiny 1000-piece SentencePiece vocabulary with its
//! tokenizer.json and `parity.json`; `fixtures/tokenizer_parity.json` holds the same strings
//! encoded with the real albert-base-v2 vocabulary, whose files are read in place from
//! `../shared/data/albert-base-v2-tokenizer/` (those tests print `SKIPPED` when it is absent).
//!
//! Each case has `ids_fast` (AlbertTokenizerFast from tokenizer.json), `offsets_fast_bytes`,
//! and `ids_slow` (the SentencePiece AlbertTokenizer).
//!
//! The tests, by concern: `parity.rs` (both routes against transformers' ids), `encoding.rs`
//! (the mask token, literal `[SEP]`, offsets, empty text), `files.rs` (broken files and the
//! tokenizer_config.json switches).

mod encoding;
mod files;
mod parity;

use std::path::PathBuf;

use albert::tokenizer::{SpmOptions, TokenizerSource};
use albert::{Encoding, Error, Tokenizer};
use serde_json::Value;

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn fixtures() -> PathBuf {
    manifest_dir().join("tests/fixtures")
}

fn read(path: &PathBuf) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// The real albert-base-v2 tokenizer folder, or `None` (after printing SKIPPED) when absent.
fn real_dir(test: &str) -> Option<PathBuf> {
    let dir = manifest_dir().join("../../../shared/data/albert-base-v2-tokenizer");
    if dir.join("tokenizer.json").is_file() && dir.join("spiece.model").is_file() {
        Some(dir)
    } else {
        eprintln!(
            "SKIPPED {test}: real albert-base-v2 tokenizer not found at {} (tokenizer.json + spiece.model)",
            dir.display()
        );
        None
    }
}

struct Vocab {
    name: &'static str,
    fast: Tokenizer,
    spm: Tokenizer,
    cases: Vec<Case>,
}

#[derive(Debug)]
struct Case {
    index: usize,
    text: String,
    pair: Option<String>,
    ids_fast: Vec<u32>,
    tokens_fast: Vec<String>,
    offsets_fast_bytes: Vec<(usize, usize)>,
    type_ids_fast: Vec<u32>,
    ids_slow: Vec<u32>,
    tokens_slow: Vec<String>,
}

fn u32s(v: &Value) -> Vec<u32> {
    v.as_array().expect("array").iter().map(|x| x.as_u64().expect("uint") as u32).collect()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array().expect("array").iter().map(|x| x.as_str().expect("string").to_owned()).collect()
}

fn load_cases(path: &PathBuf) -> Vec<Case> {
    let v: Value = serde_json::from_slice(&read(path)).expect("parity json");
    let cases: Vec<Case> = v["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .enumerate()
        .map(|(index, c)| Case {
            index,
            text: c["text"].as_str().expect("text").to_owned(),
            pair: c["pair"].as_str().map(str::to_owned),
            ids_fast: u32s(&c["ids_fast"]),
            tokens_fast: strings(&c["tokens_fast"]),
            offsets_fast_bytes: c["offsets_fast_bytes"]
                .as_array()
                .expect("offsets")
                .iter()
                .map(|o| (o[0].as_u64().unwrap() as usize, o[1].as_u64().unwrap() as usize))
                .collect(),
            type_ids_fast: u32s(&c["type_ids_fast"]),
            ids_slow: u32s(&c["ids_slow"]),
            tokens_slow: strings(&c["tokens_slow"]),
        })
        .collect();
    assert!(cases.len() >= 250, "{}: expected at least 250 parity cases, found {}", path.display(), cases.len());
    cases
}

fn tiny_vocab() -> Vocab {
    let dir = fixtures().join("vocab");
    Vocab {
        name: "tiny",
        fast: Tokenizer::from_tokenizer_json(&read(&dir.join("tokenizer.json"))).expect("tiny tokenizer.json"),
        spm: Tokenizer::from_spiece_model(&read(&dir.join("spiece.model")), SpmOptions::default())
            .expect("tiny spiece.model"),
        cases: load_cases(&dir.join("parity.json")),
    }
}

fn real_vocab(test: &str) -> Option<Vocab> {
    let dir = real_dir(test)?;
    Some(Vocab {
        name: "albert-base-v2",
        fast: Tokenizer::from_tokenizer_json(&read(&dir.join("tokenizer.json"))).expect("real tokenizer.json"),
        spm: Tokenizer::from_spiece_model(&read(&dir.join("spiece.model")), SpmOptions::default())
            .expect("real spiece.model"),
        cases: load_cases(&fixtures().join("tokenizer_parity.json")),
    })
}

fn vocabs(test: &str) -> Vec<Vocab> {
    let mut v = vec![tiny_vocab()];
    v.extend(real_vocab(test));
    v
}

/// How a fixture case is encoded: `encode` for single texts without a literal `[SEP]` (the two
/// are the same there), else `encode_pair` with the case's own split.
fn encode_case(t: &Tokenizer, c: &Case) -> Encoding {
    let r = if c.pair.is_none() && !c.text.contains("[SEP]") {
        let e = t.encode(&c.text);
        if let Ok(e) = &e {
            assert_eq!(e, &t.encode_pair(&c.text, None).unwrap(), "encode != encode_pair for case {}", c.index);
        }
        e
    } else {
        t.encode_pair(&c.text, c.pair.as_deref())
    };
    r.unwrap_or_else(|e| panic!("case {} {:?}: {e}", c.index, c.text))
}


/// Prints how many of `total` cases agree and fails with the first mismatches.
fn report_agreement(name: &str, what: &str, total: usize, bad: &[String]) {
    eprintln!("[{name}] {what}: {}/{total} cases agree", total - bad.len());
    assert!(bad.is_empty(), "[{name}] {} mismatches; first ones:\n{}", bad.len(), bad[..bad.len().min(8)].join("\n"));
}

fn tok_msg(r: Result<Tokenizer, Error>) -> String {
    match r {
        Err(Error::Tokenizer(m)) => m,
        Err(other) => panic!("expected Error::Tokenizer, got {other:?}"),
        Ok(t) => panic!("expected an error, got {t:?}"),
    }
}
