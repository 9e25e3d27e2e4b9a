//! Target safetensors headers and `model.safetensors.index.json`: generated files and edits of the real ones.

use super::*;

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
