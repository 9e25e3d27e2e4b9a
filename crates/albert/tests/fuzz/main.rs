//! Fuzzing on stable Rust (issue 13, item 8): property tests (proptest) over everything a model
//! link or a user hands the engine: config.json, safetensors headers and the sharded index,
//! tokenizer.json, spiece.model, and the text → ids path. Inputs grow from the real files
//! (the fixtures, assets/model, and ../shared/data's albert-base-v2 tokenizer when present) by
//! byte edits and by structural edits (a JSON value replaced, a protobuf message rebuilt with
//! hostile fields), plus inputs generated from scratch.
//!
//! Properties, for every input: no panic (proptest catches one and shrinks the input), no hang
//! (each case is timed against a limit), memory bounded (the inputs are small, so an allocation
//! sized by a claim inside a file, not by its bytes, shows up in the peak RSS printed and checked
//! at the end of each target), and the outputs' own invariants (ids, offsets, limits).
//!
//! Each target runs for `ALBERT_FUZZ_SECONDS` (default 5 s, so the file stays within 30 s of a
//! CI run on 2 cores): `ALBERT_FUZZ_SECONDS=600 cargo test --release -p albert --test fuzz --
//! --nocapture --test-threads 1` runs each for 10 minutes. `ALBERT_FUZZ_SEED=N` replays a run;
//! every run prints its seed, and a failure prints the seed and the shrunk input. Each crash
//! found became a named test in `regressions.rs`.

#[path = "../common/mod.rs"]
mod common;

use albert::tokenizer::SpmOptions;
use albert::weights::{header_dtype, is_shard_name, shard_files};
use albert::{AlbertWeights, Batch, Checkpoint, Config, DType, Error, FillMask, FillOptions, LogitsRequest, ModelFiles, Request, Tokenizer};
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config as RunnerConfig, RngSeed, TestCaseError, TestError, TestRunner};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

mod config;
mod regressions;
mod spiece;
mod text;
mod tokenizer_json;
mod weights;

/// Named files read once and kept for the whole run (leaked on purpose: tests share them).
type NamedFiles = &'static [(String, Vec<u8>)];
/// A generated tensor entry: which name, a replacement name, which dtype, its shape and offsets.
type TensorEdit = (Index, Option<String>, Index, Vec<u64>, Option<(u64, u64)>);

// ---------------------------------------------------------------------------------------------
// The driver

/// Seconds each target runs: `ALBERT_FUZZ_SECONDS`, default 5.
fn budget() -> Duration {
    let s = std::env::var("ALBERT_FUZZ_SECONDS").ok().and_then(|s| s.parse::<f64>().ok()).filter(|s| s.is_finite() && *s >= 0.0);
    Duration::from_secs_f64(s.unwrap_or(5.0))
}

/// Whether this is a long run (larger inputs are worth their time then).
fn long_run() -> bool {
    budget() > Duration::from_secs(60)
}

/// The slowest a case may be before it counts as a hang. Debug builds are ~20× slower.
fn case_limit(bytes: usize) -> Duration {
    let per_byte = if cfg!(debug_assertions) { 20e-6 } else { 2e-6 };
    let base = if cfg!(debug_assertions) { 10.0 } else { 2.0 };
    Duration::from_secs_f64(base + per_byte * bytes as f64)
}

fn check_time(t: Instant, bytes: usize, what: &str) -> Result<(), TestCaseError> {
    let limit = case_limit(bytes);
    if t.elapsed() > limit {
        return Err(TestCaseError::fail(format!("{what} took {:?} (limit {limit:?} for {bytes} bytes): a hang", t.elapsed())));
    }
    Ok(())
}

/// Peak resident memory of this process (VmHWM), in MiB; 0 where /proc is not there.
fn peak_rss_mib() -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines().find_map(|l| l.strip_prefix("VmHWM:")).and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok()).unwrap_or(0) / 1024
}

thread_local! {
    /// Cases whose input the engine accepted (loaded, parsed, encoded), for the summary: a
    /// fuzzer whose inputs are all refused at the first check tests little.
    static ACCEPTED: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Counts an accepted input (the test closure runs on the target's own thread).
fn accepted() {
    ACCEPTED.with(|a| a.set(a.get() + 1));
}

/// The most memory the whole test process may peak at. Every input is at most a few MiB and
/// the real files are read once, so more means something allocated what a file claimed.
const MAX_RSS_MIB: u64 = 3072;

/// Runs `test` on values of `strategy` until the budget is spent; panics with the seed and the
/// shrunk input on the first failure. Prints the cases run.
fn fuzz<S: Strategy>(target: &str, strategy: S, test: impl Fn(S::Value) -> Result<(), TestCaseError>)
where
    S::Value: std::fmt::Debug,
{
    let seed = std::env::var("ALBERT_FUZZ_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(1)
    });
    // A runner counts its successes for good, so each chunk of cases gets a fresh one, seeded
    // from the run's seed: a failure names the chunk's seed, which replays it first.
    const CHUNK: u32 = 16;
    let (start, budget) = (Instant::now(), budget());
    let mut cases = 0u64;
    for chunk in 0u64.. {
        let chunk_seed = seed.wrapping_add(chunk.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let config = RunnerConfig {
            cases: CHUNK,
            failure_persistence: None,
            rng_seed: RngSeed::Fixed(chunk_seed),
            max_shrink_time: 120_000,
            max_global_rejects: 1 << 20,
            ..RunnerConfig::default()
        };
        match TestRunner::new(config).run(&strategy, &test) {
            Ok(()) => cases += u64::from(CHUNK),
            Err(TestError::Fail(why, input)) => {
                panic!("fuzz {target}: FAILED after {cases} cases (replay: ALBERT_FUZZ_SEED={chunk_seed}): {why}\nshrunk input: {input:#?}")
            }
            Err(TestError::Abort(why)) => panic!("fuzz {target}: aborted (ALBERT_FUZZ_SEED={chunk_seed}): {why}"),
        }
        if start.elapsed() >= budget {
            break;
        }
    }
    let rss = peak_rss_mib();
    let ok = ACCEPTED.with(|a| a.get());
    eprintln!(
        "fuzz {target}: {cases} cases in {:.1} s, {ok} inputs accepted, no failure (seed {seed}; peak RSS of the test process {rss} MiB)",
        start.elapsed().as_secs_f64()
    );
    assert!(rss <= MAX_RSS_MIB, "fuzz {target}: the process peaked at {rss} MiB (limit {MAX_RSS_MIB})");
}

// ---------------------------------------------------------------------------------------------
// Seeds: the real files

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// (name, bytes) of `file` in each fixture folder that has it, assets/model and, for the
/// tokenizer files, the shared albert-base-v2 tokenizer (absent: a SKIPPED line, once).
fn seeds(file: &str) -> Vec<(String, Vec<u8>)> {
    let mut dirs: Vec<(String, PathBuf)> = ["tiny", "groups", "f16", "bf16", "relu", "no_head", "pretraining", "sharded", "spiece_only", "vocab"]
        .iter()
        .map(|d| (format!("fixtures/{d}"), common::fixture(d)))
        .collect();
    dirs.push(("assets/model".into(), root().join("assets/model")));
    if file == "tokenizer.json" || file == "spiece.model" {
        if let Some(d) = shared_dir() {
            dirs.push(("shared/albert-base-v2".into(), d));
        }
    }
    let mut out: Vec<(String, Vec<u8>)> = Vec::new();
    for (name, d) in dirs {
        if let Ok(b) = std::fs::read(d.join(file)) {
            // Identical files (the fixtures share one spiece.model) are one seed.
            if !out.iter().any(|(_, x)| *x == b) {
                out.push((format!("{name}/{file}"), b));
            }
        }
    }
    assert!(!out.is_empty(), "no seed file {file}");
    out
}

fn shared_dir() -> Option<PathBuf> {
    static DIR: OnceLock<Option<PathBuf>> = OnceLock::new();
    DIR.get_or_init(common::shared_tokenizer_dir).clone()
}

/// Every seed of `file`, loaded once per process.
fn seeds_of(file: &'static str) -> &'static [(String, Vec<u8>)] {
    static CACHE: OnceLock<std::sync::Mutex<Vec<(&'static str, NamedFiles)>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let mut c = cache.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, s)) = c.iter().find(|(f, _)| *f == file) {
        return s;
    }
    let s: &'static [(String, Vec<u8>)] = Box::leak(seeds(file).into_boxed_slice());
    c.push((file, s));
    s
}

// ---------------------------------------------------------------------------------------------
// Byte edits

/// Byte sequences that break parsers: length fields at their extremes, numbers past every
/// width, JSON and protobuf delimiters.
const INTERESTING: &[&[u8]] = &[
    b"\xff\xff\xff\xff\xff\xff\xff\xff", b"\xff\xff\xff\xff\xff\xff\xff\x7f", b"\x00\x00\x00\x00", b"\xff\xff\xff\xff\x0f",
    b"\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01", b"0", b"-1", b"1e999", b"-0", b"18446744073709551615",
    b"4294967296", b"9999999999999999999999", b"null", b"[]", b"{}", b"\"", b"\\", b"\\u0000", b"\\ud800",
    b"\xc3", b"\xe2\x96\x81", b"NaN", b"[MASK]", b"..", b"/",
];

#[derive(Debug, Clone)]
enum Edit {
    Flip(Index, u8),
    Set(Index, u8),
    Insert(Index, Vec<u8>),
    Interesting(Index, Index),
    Delete(Index, u16),
    Copy { from: Index, to: Index, len: u16 },
    Truncate(Index),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        3 => (any::<Index>(), 0u8..8).prop_map(|(i, b)| Edit::Flip(i, 1 << b)),
        2 => (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Edit::Set(i, b)),
        1 => (any::<Index>(), prop::collection::vec(any::<u8>(), 1..16)).prop_map(|(i, v)| Edit::Insert(i, v)),
        2 => (any::<Index>(), any::<Index>()).prop_map(|(i, j)| Edit::Interesting(i, j)),
        1 => (any::<Index>(), 1u16..64).prop_map(|(i, n)| Edit::Delete(i, n)),
        1 => (any::<Index>(), any::<Index>(), 1u16..256).prop_map(|(from, to, len)| Edit::Copy { from, to, len }),
        1 => any::<Index>().prop_map(Edit::Truncate),
    ]
}

/// Applies `edits` to `b`, each at a position within `b[..window]` (the header, say), the window
/// shrinking with the data.
fn apply(mut b: Vec<u8>, edits: &[Edit], window: usize) -> Vec<u8> {
    for e in edits {
        let w = window.min(b.len()).max(1);
        let at = |i: &Index| i.index(w).min(b.len());
        match e {
            Edit::Flip(i, m) if !b.is_empty() => {
                let p = at(i).min(b.len() - 1);
                b[p] ^= m;
            }
            Edit::Set(i, v) if !b.is_empty() => {
                let p = at(i).min(b.len() - 1);
                b[p] = *v;
            }
            Edit::Insert(i, v) => {
                let p = at(i);
                b.splice(p..p, v.iter().copied());
            }
            Edit::Interesting(i, j) => {
                let s = INTERESTING[j.index(INTERESTING.len())];
                let p = at(i);
                let end = (p + s.len()).min(b.len());
                b.splice(p..end, s.iter().copied());
            }
            Edit::Delete(i, n) => {
                let p = at(i);
                let end = (p + *n as usize).min(b.len());
                b.drain(p..end);
            }
            Edit::Copy { from, to, len } => {
                let f = at(from);
                let chunk: Vec<u8> = b[f..(f + *len as usize).min(b.len())].to_vec();
                let t = at(to);
                b.splice(t..t, chunk);
            }
            Edit::Truncate(i) => {
                let p = at(i);
                b.truncate(p);
            }
            _ => {}
        }
    }
    b
}

/// A seed (by index) and the edits made to it; `Debug` stays short, unlike the bytes.
#[derive(Debug, Clone)]
struct Mutated {
    seed: Index,
    edits: Vec<Edit>,
    /// Edit only the first bytes (a header): `Some(n)`; anywhere: `None`.
    head: Option<u16>,
}

fn mutated(max_edits: usize) -> impl Strategy<Value = Mutated> {
    (any::<Index>(), prop::collection::vec(edit(), 1..=max_edits), prop::option::weighted(0.7, 1u16..2048))
        .prop_map(|(seed, edits, head)| Mutated { seed, edits, head })
}

impl Mutated {
    fn bytes(&self, seeds: &[(String, Vec<u8>)]) -> (String, Vec<u8>) {
        let (name, b) = &seeds[self.seed.index(seeds.len())];
        let window = self.head.map_or(usize::MAX, usize::from);
        (name.clone(), apply(b.clone(), &self.edits, window))
    }
}

// ---------------------------------------------------------------------------------------------
// JSON values and structural edits

/// JSON values that break readers: numbers at and past every limit, wrong types, nesting.
fn hostile_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        prop::sample::select(vec![
            json!(0), json!(1), json!(2), json!(3), json!(4), json!(8), json!(12), json!(16), json!(64), json!(127), json!(128),
            json!(129), json!(256), json!(512), json!(4096), json!(8192), json!(16384), json!(65536), json!(100000),
            json!(1000000), json!(4000000000u64), json!(4294967295u64), json!(4294967296u64), json!(u64::MAX),
            json!(i64::MIN), json!(-1), json!(-0.0), json!(0.5), json!(12.0), json!(1e-12), json!(1e308), json!(-1e308),
            json!(null), json!(true), json!(false), json!(""), json!("12"), json!("gelu_new"), json!("relu"), json!("albert"),
            json!("absolute"), json!("[MASK]"), json!("<unk>"), json!("Unigram"), json!("BPE"), json!("WordPiece"),
            json!("Sequence"), json!("Precompiled"), json!("Metaspace"), json!("TemplateProcessing"), json!("../x.safetensors"),
            json!([]), json!({}), json!([0]), json!(["", 0.0]), json!([["a", 1e308]]),
        ]),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_filter_map("finite", |f| serde_json::Number::from_f64(f).map(Value::Number)),
        ".{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(".{0,8}", inner, 0..4).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// One change somewhere in a JSON document: the node at a random path replaced, removed, or (in
/// an array) duplicated.
#[derive(Debug, Clone)]
struct JsonEdit {
    path: Vec<Index>,
    kind: u8,
    value: Value,
}

fn json_edit() -> impl Strategy<Value = JsonEdit> {
    (prop::collection::vec(any::<Index>(), 0..7), 0u8..4, hostile_json()).prop_map(|(path, kind, value)| JsonEdit { path, kind, value })
}

/// Applies `e` to `doc`: walks the path (stopping early at a leaf or at random depth), then
/// replaces (kinds 0, 1), removes (2) or duplicates (3) the node there.
fn apply_json(doc: &mut Value, e: &JsonEdit) {
    fn walk(v: &mut Value, path: &[Index], e: &JsonEdit) {
        let Some((first, rest)) = path.split_first() else {
            if e.kind != 2 && e.kind != 3 {
                *v = e.value.clone();
            }
            return;
        };
        match v {
            Value::Object(m) if !m.is_empty() => {
                let key = m.keys().nth(first.index(m.len())).cloned().unwrap_or_default();
                if rest.is_empty() && e.kind == 2 {
                    m.remove(&key);
                } else if let Some(child) = m.get_mut(&key) {
                    walk(child, rest, e);
                }
            }
            Value::Array(a) if !a.is_empty() => {
                let i = first.index(a.len());
                if rest.is_empty() && e.kind == 2 {
                    a.remove(i);
                } else if rest.is_empty() && e.kind == 3 {
                    let x = a[i].clone();
                    a.insert(i, x);
                } else {
                    walk(&mut a[i], rest, e);
                }
            }
            _ => *v = e.value.clone(),
        }
    }
    walk(doc, &e.path, e);
}

// ---------------------------------------------------------------------------------------------
// What every tokenizer that loads must do (tokenizer.json, spiece.model and text targets)

/// Fixed texts every tokenizer that loads must encode without a panic.
const PROBES: &[&str] = &["", "The capital of France is [MASK].", "a [SEP] b", "  \u{0}\t\n\u{2581}[MASK][MASK]é🙂", "[CLS]<pad><unk>"];

fn check_encodes(tok: &Tokenizer, texts: &[&str]) -> Result<(), TestCaseError> {
    for text in texts {
        if let Ok(enc) = tok.encode(text) {
            check_encoding(text, &enc)?;
        }
        let _ = tok.encode_pair(text, Some(text));
    }
    Ok(())
}

fn check_encoding(text: &str, enc: &albert::Encoding) -> Result<(), TestCaseError> {
    let n = enc.ids.len();
    prop_assert!(enc.type_ids.len() == n && enc.tokens.len() == n && enc.offsets.len() == n && enc.special.len() == n);
    for &(s, e) in &enc.offsets {
        prop_assert!(s <= e && e <= text.len(), "offset ({s}, {e}) outside a {}-byte text", text.len());
    }
    Ok(())
}
