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
//! found became a named test in `regressions` below.

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
// config.json

/// The fields of config.json, for targeted edits.
const CONFIG_KEYS: &[&str] = &[
    "model_type", "vocab_size", "embedding_size", "hidden_size", "num_hidden_layers", "num_hidden_groups",
    "num_attention_heads", "intermediate_size", "inner_group_num", "hidden_act", "max_position_embeddings",
    "type_vocab_size", "layer_norm_eps", "position_embedding_type", "pad_token_id", "torch_dtype", "architectures",
];

#[derive(Debug, Clone)]
enum ConfigInput {
    /// A seed config with fields set to small, valid-looking or hostile values, or removed.
    Fields { seed: Index, set: Vec<(Index, Option<Value>)> },
    /// A seed config as bytes, edited.
    Bytes(Mutated),
    /// Any text.
    Text(String),
}

fn small_size() -> impl Strategy<Value = Value> {
    prop_oneof![(1u64..=64).prop_map(Value::from), prop::sample::select(vec![1u64, 2, 4, 8, 16, 32, 48]).prop_map(Value::from)]
}

fn config_input() -> impl Strategy<Value = ConfigInput> {
    let field_value = prop_oneof![3 => small_size().prop_map(Some), 2 => hostile_json().prop_map(Some), 1 => Just(None)];
    prop_oneof![
        4 => (any::<Index>(), prop::collection::vec((any::<Index>(), field_value), 0..8)).prop_map(|(seed, set)| ConfigInput::Fields { seed, set }),
        2 => mutated(6).prop_map(ConfigInput::Bytes),
        1 => any::<String>().prop_map(ConfigInput::Text),
    ]
}

fn config_text(input: &ConfigInput) -> String {
    let seeds = seeds_of("config.json");
    match input {
        ConfigInput::Fields { seed, set } => {
            let mut v: Value = serde_json::from_slice(&seeds[seed.index(seeds.len())].1).unwrap();
            let m = v.as_object_mut().unwrap();
            for (k, val) in set {
                let key = CONFIG_KEYS[k.index(CONFIG_KEYS.len())];
                match val {
                    Some(x) => m.insert(key.to_string(), x.clone()),
                    None => m.remove(key),
                };
            }
            v.to_string()
        }
        ConfigInput::Bytes(mutation) => String::from_utf8_lossy(&mutation.bytes(seeds).1).into_owned(),
        ConfigInput::Text(s) => s.clone(),
    }
}

/// The properties of one config.json: parsing never panics and admits only configs within the
/// limits; an admitted small one builds random weights and runs a CPU forward without a panic.
fn check_config(text: &str) -> Result<(), TestCaseError> {
    let t = Instant::now();
    let Ok(c) = Config::from_json(text) else { return check_time(t, text.len(), "Config::from_json") };
    accepted();
    prop_assert!(c.validate().is_ok());
    for (name, get, max, _) in albert::config::LIMITS {
        prop_assert!(get(&c) <= max, "{name} = {} passed its limit {max}", get(&c));
    }
    prop_assert_eq!(c.head_dim() * c.num_attention_heads, c.hidden_size);
    let p = c.parameter_counts();
    prop_assert!(p.total as u64 <= albert::config::MAX_PARAMETERS);
    // What it says of itself survives a round trip (layer_norm_eps to within serde_json's float
    // parsing, which is not correctly rounded without its float_roundtrip feature: 1 ulp).
    let again = Config::from_json(&serde_json::to_string(&c).unwrap());
    let same = |a: &Config| {
        let eps_close = (a.layer_norm_eps - c.layer_norm_eps).abs() <= 1e-15 * c.layer_norm_eps.abs();
        eps_close && Config { layer_norm_eps: c.layer_norm_eps, ..a.clone() } == c
    };
    prop_assert!(again.as_ref().is_ok_and(same), "round trip: {again:?}");
    // A small one runs: shapes that pass validation must not panic anywhere in a forward.
    if p.total <= 200_000 && c.num_hidden_layers * c.inner_group_num <= 16 {
        let w = AlbertWeights::random(&c, 7, DType::F32).map_err(|e| TestCaseError::fail(format!("random weights: {e}")))?;
        let m = albert::cpu::AlbertForMaskedLM::new(&c, &w).map_err(|e| TestCaseError::fail(format!("cpu model: {e}")))?;
        let n = c.max_position_embeddings.min(5);
        let ids: Vec<u32> = (0..n).map(|i| ((i * 7919) % c.vocab_size) as u32).collect();
        let types = (0..n).map(|i| (i % c.type_vocab_size) as u32).collect();
        let req = Request { logits: LogitsRequest::All, attentions: true, drift: true, lens: true, depth: Some(c.max_depth()), ..Default::default() };
        let out = m.forward(&Batch::single(ids, types), &req).map_err(|e| TestCaseError::fail(format!("forward: {e}")))?;
        prop_assert_eq!(out.logits.map(|l| l.len()), Some(n * c.vocab_size));
    }
    check_time(t, text.len(), "config.json")
}

#[test]
fn fuzz_config_json() {
    fuzz("config.json", config_input(), |input| check_config(&config_text(&input)));
}

// ---------------------------------------------------------------------------------------------
// safetensors headers and model.safetensors.index.json

const DTYPES: &[&str] = &["F32", "F16", "BF16", "I64", "I32", "F64", "U8", "I8", "BOOL", "F8_E4M3", "F8_E5M2", "U64", "X", ""];
const NAMES: &[&str] = &[
    "albert.embeddings.word_embeddings.weight", "albert.embeddings.LayerNorm.weight", "predictions.bias",
    "albert.encoder.embedding_hidden_mapping_in.weight", "embeddings.word_embeddings.weight", "", "__metadata__",
];

/// A safetensors file built from parts, consistent or not.
#[derive(Debug, Clone)]
struct StFile {
    tensors: Vec<TensorEdit>,
    metadata: Option<Value>,
    data_len: u16,
    /// Replace the header's length prefix.
    prefix: Option<u64>,
}

fn dim() -> impl Strategy<Value = u64> {
    prop_oneof![4 => 0u64..20, 1 => prop::sample::select(vec![1000u64, 1 << 31, 1 << 32, 1 << 62, u64::MAX, u64::MAX / 2 + 1])]
}

fn st_file() -> impl Strategy<Value = StFile> {
    let tensor = (
        any::<Index>(),
        prop::option::weighted(0.3, ".{0,10}"),
        any::<Index>(),
        prop::collection::vec(dim(), 0..4),
        prop::option::weighted(0.5, (dim(), dim())),
    );
    (
        prop::collection::vec(tensor, 0..5),
        prop::option::weighted(0.2, hostile_json()),
        0u16..2048,
        prop::option::weighted(0.2, prop_oneof![0u64..64, dim()]),
    )
        .prop_map(|(tensors, metadata, data_len, prefix)| StFile { tensors, metadata, data_len, prefix })
}

impl StFile {
    /// The header JSON (offsets consistent unless given), its length prefix, the data.
    fn bytes(&self) -> Vec<u8> {
        let mut header = serde_json::Map::new();
        let mut offset = 0u64;
        for (name, custom, dtype, shape, offsets) in &self.tensors {
            let dtype = DTYPES[dtype.index(DTYPES.len())];
            let size: u64 = shape.iter().fold(1u64, |a, &d| a.saturating_mul(d)).saturating_mul(if dtype == "F32" { 4 } else { 2 });
            let (a, b) = offsets.unwrap_or((offset, offset.saturating_add(size)));
            offset = b;
            let name = custom.clone().unwrap_or_else(|| NAMES[name.index(NAMES.len())].to_string());
            header.insert(name, json!({"dtype": dtype, "shape": shape, "data_offsets": [a, b]}));
        }
        if let Some(m) = &self.metadata {
            header.insert("__metadata__".into(), m.clone());
        }
        let h = Value::Object(header).to_string().into_bytes();
        let mut out = self.prefix.unwrap_or(h.len() as u64).to_le_bytes().to_vec();
        out.extend_from_slice(&h);
        // Data: enough for the consistent offsets when small, else what was drawn.
        let want = usize::try_from(offset).unwrap_or(usize::MAX).min(4096).max(self.data_len as usize);
        out.extend((0..want).map(|i| (i * 31) as u8));
        out
    }
}

#[derive(Debug, Clone)]
enum WeightsInput {
    /// A real safetensors file, its header (mostly) or anywhere edited.
    Real(Mutated),
    /// A file made from parts.
    Built(StFile),
    /// A real index, as JSON, edited.
    Index(Index, Vec<JsonEdit>),
    /// An index made of arbitrary shard names.
    Names(Vec<(String, String)>),
}

fn weights_input() -> impl Strategy<Value = WeightsInput> {
    prop_oneof![
        3 => mutated(4).prop_map(WeightsInput::Real),
        3 => st_file().prop_map(WeightsInput::Built),
        1 => (any::<Index>(), prop::collection::vec(json_edit(), 1..4)).prop_map(|(i, e)| WeightsInput::Index(i, e)),
        1 => prop::collection::vec((".{0,6}", prop_oneof![".{0,24}", "[A-Za-z0-9._/\\\\:%-]{0,20}(\\.safetensors)?"]), 0..5).prop_map(WeightsInput::Names),
    ]
}

/// Every safetensors file of the fixtures and assets/model (the shards too).
fn safetensors_seeds() -> &'static [(String, Vec<u8>)] {
    static S: OnceLock<Vec<(String, Vec<u8>)>> = OnceLock::new();
    S.get_or_init(|| {
        let mut out = seeds("model.safetensors");
        for i in 1..=4 {
            let f = format!("model-0000{i}-of-00004.safetensors");
            out.push((format!("fixtures/sharded/{f}"), std::fs::read(common::fixture("sharded").join(f)).unwrap()));
        }
        out
    })
}

/// The tiny fixture's config, the one edited weights are checked against.
fn tiny_config() -> &'static Config {
    static C: OnceLock<Config> = OnceLock::new();
    C.get_or_init(|| Config::from_json(&std::fs::read_to_string(common::fixture("tiny").join("config.json")).unwrap()).unwrap())
}

fn check_weights(input: &WeightsInput) -> Result<(), TestCaseError> {
    let t = Instant::now();
    match input {
        WeightsInput::Real(_) | WeightsInput::Built(_) => {
            let bytes = match input {
                WeightsInput::Real(m) => m.bytes(safetensors_seeds()).1,
                WeightsInput::Built(f) => f.bytes(),
                _ => unreachable!(),
            };
            let _ = header_dtype([bytes.as_slice()]);
            let mut ck = Checkpoint::default();
            if ck.add_file("model.safetensors", &bytes).is_ok() {
                accepted();
                let stored: usize = ck.tensors.values().map(|t| t.nbytes()).sum();
                // What was read is what the file holds, never what it claims.
                prop_assert!(stored <= 2 * bytes.len(), "{stored} bytes stored from a {}-byte file", bytes.len());
                let _ = AlbertWeights::from_checkpoint(tiny_config(), ck);
            }
            check_time(t, bytes.len(), "safetensors")
        }
        WeightsInput::Index(seed, edits) => {
            let seeds = seeds_of("model.safetensors.index.json");
            let mut v: Value = serde_json::from_slice(&seeds[seed.index(seeds.len())].1).unwrap();
            edits.iter().for_each(|e| apply_json(&mut v, e));
            check_index(&v.to_string())
        }
        WeightsInput::Names(pairs) => {
            let map: serde_json::Map<String, Value> = pairs.iter().map(|(k, f)| (k.clone(), Value::from(f.clone()))).collect();
            check_index(&json!({ "weight_map": map }).to_string())
        }
    }
}

/// Only allowlisted shard names come out of an index, each once.
fn check_index(text: &str) -> Result<(), TestCaseError> {
    if let Ok(files) = shard_files(text) {
        accepted();
        prop_assert!(!files.is_empty());
        for (i, f) in files.iter().enumerate() {
            prop_assert!(is_shard_name(f), "{f:?} passed");
            prop_assert!(!files[..i].contains(f), "{f:?} twice");
        }
    }
    Ok(())
}

#[test]
fn fuzz_safetensors_and_index() {
    fuzz("safetensors header and index", weights_input(), |input| check_weights(&input));
}

// ---------------------------------------------------------------------------------------------
// tokenizer.json

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

// ---------------------------------------------------------------------------------------------
// spiece.model

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

// ---------------------------------------------------------------------------------------------
// text → ids (and on through a CPU forward of the tiny model)

/// Pieces of text that tokenizers treat specially.
const TEXT_PIECES: &[&str] = &[
    "[MASK]", "[SEP]", "[CLS]", "<pad>", "<unk>", "[mask]", "[MASK", "MASK]", " ", "  ", "\t", "\n", "\r\n", "\u{0}", "\u{7f}",
    "\u{200b}", "\u{200d}", "\u{2581}", "\u{feff}", "\u{fffd}", "\u{202e}", "``", "''", "é", "e\u{301}", "\u{301}", "ﬁ", "🙂",
    "👨\u{200d}👩\u{200d}👧", "Ⅻ", "١٢٣", "中文", "ǅ", "İ", "ß", "1,000", "the", "cat", ".", "-", "\u{10ffff}", "\u{e000}",
];

#[derive(Debug, Clone)]
enum Text {
    Any(String),
    Pieces(Vec<Index>),
    /// One piece repeated, to a huge text.
    Huge(Index, u32),
    Mixed(Vec<Index>, String),
}

fn text_input() -> impl Strategy<Value = Text> {
    let huge = if long_run() { 2_000_000u32 } else { 200_000 };
    prop_oneof![
        4 => any::<String>().prop_map(Text::Any),
        4 => prop::collection::vec(any::<Index>(), 0..40).prop_map(Text::Pieces),
        1 => (any::<Index>(), 1000..huge).prop_map(|(i, n)| Text::Huge(i, n)),
        2 => (prop::collection::vec(any::<Index>(), 0..10), "\\PC{0,20}").prop_map(|(p, s)| Text::Mixed(p, s)),
    ]
}

impl Text {
    fn string(&self) -> String {
        let piece = |i: &Index| TEXT_PIECES[i.index(TEXT_PIECES.len())];
        match self {
            Text::Any(s) => s.clone(),
            Text::Pieces(p) => p.iter().map(piece).collect(),
            Text::Huge(i, n) => {
                let p = piece(i);
                p.repeat((*n as usize / p.len().max(1)).max(1))
            }
            Text::Mixed(p, s) => p.iter().map(piece).chain([s.as_str()]).collect::<Vec<_>>().join(" "),
        }
    }
}

/// Every tokenizer the engine ships or reads: both routes of the fixtures, assets/model's, and
/// the real albert-base-v2 (both routes) when ../shared/data has it.
/// With each its vocabulary size (`Tokenizer::vocab_size` builds the vocabulary: once here).
fn tokenizers() -> &'static [(String, Tokenizer, usize)] {
    static T: OnceLock<Vec<(String, Tokenizer, usize)>> = OnceLock::new();
    T.get_or_init(|| {
        let mut out = Vec::new();
        for (name, b) in seeds_of("tokenizer.json") {
            out.push((name.clone(), Tokenizer::from_tokenizer_json(b).unwrap()));
        }
        for (name, b) in seeds_of("spiece.model") {
            out.push((name.clone(), Tokenizer::from_spiece_model(b, SpmOptions::default()).unwrap()));
        }
        out.into_iter().map(|(n, t)| {
            let v = t.vocab_size();
            (n, t, v)
        }).collect()
    })
}

/// The tiny model on the CPU, for text → ids → forward.
fn tiny_model() -> &'static std::sync::Mutex<FillMask> {
    static M: OnceLock<std::sync::Mutex<FillMask>> = OnceLock::new();
    M.get_or_init(|| {
        let files = ModelFiles::from_dir(common::fixture("tiny")).unwrap();
        std::sync::Mutex::new(pollster::block_on(FillMask::new(&files, None)).unwrap())
    })
}

#[test]
fn fuzz_text_to_ids() {
    let names: Vec<&str> = tokenizers().iter().map(|(n, _, _)| n.as_str()).collect();
    eprintln!("fuzz text → ids: tokenizers {names:?}");
    fuzz("text → ids", (text_input(), any::<Index>()), |(text, which)| {
        let s = text.string();
        let (_, tok, vocab) = &tokenizers()[which.index(tokenizers().len())];
        let t = Instant::now();
        match tok.encode(&s) {
            Ok(enc) => {
                check_encoding(&s, &enc)?;
                prop_assert!(enc.ids.iter().all(|&id| (id as usize) < *vocab), "an id past the vocabulary");
            }
            Err(e) => prop_assert!(matches!(e, Error::Tokenizer(_)), "{e}"),
        }
        check_time(t, s.len(), "encode")?;
        // The whole fill path on short texts: an answer or an input error, never a panic, and
        // probabilities that are numbers.
        if s.len() <= 512 {
            let mut m = tiny_model().lock().unwrap_or_else(|e| e.into_inner());
            match pollster::block_on(m.fill(&s, &FillOptions::default())) {
                Ok(r) => {
                    accepted();
                    for p in r.masks.iter().flat_map(|m| &m.top_k) {
                        prop_assert!(p.prob.is_finite() && (0.0..=1.0).contains(&p.prob), "probability {}", p.prob);
                    }
                }
                Err(e) => prop_assert!(matches!(e, Error::Input(_)), "fill: {e}"),
            }
        }
        check_time(t, s.len(), "encode and fill")
    });
}

// ---------------------------------------------------------------------------------------------
// Regressions: each input the fuzzers found that broke a property, named.

mod regressions {
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
}
