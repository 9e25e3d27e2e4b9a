//! Checkpoint loading: Hugging Face safetensors (one file or sharded), f32/f16/bf16, in the key
//! layouts of `AlbertForMaskedLM`, `AlbertForPreTraining` and `AlbertModel`, checked tensor by
//! tensor against `Config` so a wrong file names the tensor and both shapes.
//!
//! The engine reads bytes, not paths: the CLI reads files or HTTP, the app reads fetch/OPFS.

use crate::config::Config;
use crate::error::{Error, Result};
use crate::model;
use crate::var_builder::{Params, Store, VarBuilder};
use half::{bf16, f16};
use std::borrow::Cow;
use std::collections::HashMap;

/// How weights are stored once loaded. f16 checkpoints stay f16 (half the memory and upload);
/// bf16 is widened to f32 because f16 cannot hold its range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum DType {
    F32,
    F16,
}

impl DType {
    pub fn size(self) -> usize {
        match self {
            DType::F32 => 4,
            DType::F16 => 2,
        }
    }
}

#[derive(Debug, Clone)]
pub enum TensorData {
    F32(Vec<f32>),
    F16(Vec<f16>),
}

/// An owned tensor with its checkpoint name (kept for error messages).
#[derive(Debug, Clone)]
pub struct Tensor {
    pub name: String,
    pub shape: Vec<usize>,
    pub data: TensorData,
}

impl Tensor {
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    pub fn dtype(&self) -> DType {
        match self.data {
            TensorData::F32(_) => DType::F32,
            TensorData::F16(_) => DType::F16,
        }
    }
    pub fn to_f32(&self) -> Vec<f32> {
        match &self.data {
            TensorData::F32(v) => v.clone(),
            TensorData::F16(v) => v.iter().map(|x| x.to_f32()).collect(),
        }
    }
    pub fn nbytes(&self) -> usize {
        self.len() * self.dtype().size()
    }
    /// Stacks tensors of one dtype along their first dimension (the `out` rows of torch's
    /// Linear weights), e.g. query, key and value into one `[3H, H]` projection. `None` when
    /// the dtypes or trailing dimensions differ.
    pub fn concat_rows(name: &str, parts: &[&Tensor]) -> Option<Tensor> {
        let first = parts.first()?;
        let tail = &first.shape[1..];
        if parts.iter().any(|t| t.shape.is_empty() || &t.shape[1..] != tail || t.dtype() != first.dtype()) {
            return None;
        }
        let mut shape = first.shape.clone();
        shape[0] = parts.iter().map(|t| t.shape[0]).sum();
        let data = match first.data {
            TensorData::F32(_) => TensorData::F32(
                parts.iter().flat_map(|t| match &t.data { TensorData::F32(v) => v.as_slice(), TensorData::F16(_) => &[] }).copied().collect(),
            ),
            TensorData::F16(_) => TensorData::F16(
                parts.iter().flat_map(|t| match &t.data { TensorData::F16(v) => v.as_slice(), TensorData::F32(_) => &[] }).copied().collect(),
            ),
        };
        Some(Tensor { name: name.to_string(), shape, data })
    }
    /// Converts the data to `to` (f16 ↔ f32); a no-op when it is stored so already.
    pub(crate) fn cast(&mut self, to: DType) {
        self.data = match (&self.data, to) {
            (TensorData::F16(v), DType::F32) => TensorData::F32(v.iter().map(|x| x.to_f32()).collect()),
            (TensorData::F32(v), DType::F16) => TensorData::F16(v.iter().map(|&x| f16::from_f32(x)).collect()),
            _ => return,
        };
    }
}

/// All tensors of a checkpoint by name, from one or more safetensors files.
#[derive(Debug, Default)]
pub struct Checkpoint {
    pub tensors: HashMap<String, Tensor>,
}

/// The shard file names listed in `model.safetensors.index.json`, in first-seen order.
pub fn shard_files(index_json: &str) -> Result<Vec<String>> {
    let v: serde_json::Value = serde_json::from_str(index_json).map_err(|e| Error::WeightsFile {
        file: "model.safetensors.index.json".into(),
        reason: format!("not valid JSON ({e})"),
    })?;
    let map = v.get("weight_map").and_then(|m| m.as_object()).ok_or_else(|| Error::WeightsFile {
        file: "model.safetensors.index.json".into(),
        reason: "expected an object with a \"weight_map\" of tensor name → file name".into(),
    })?;
    let mut files: Vec<String> = Vec::new();
    for (tensor, file) in map {
        let file = file.as_str().ok_or_else(|| Error::WeightsFile {
            file: "model.safetensors.index.json".into(),
            reason: format!("weight_map[\"{tensor}\"] is not a file name"),
        })?;
        if !is_shard_name(file) {
            return Err(Error::WeightsFile {
                file: "model.safetensors.index.json".into(),
                reason: format!(
                    "shard name {file:?} is refused: a shard must be a plain file name beside the index, \
                     [A-Za-z0-9_-][A-Za-z0-9._-]*.safetensors (no folders, URLs or leading dot)"
                ),
            });
        }
        if !files.iter().any(|f| f == file) {
            files.push(file.to_string());
        }
    }
    if files.is_empty() {
        return Err(Error::WeightsFile {
            file: "model.safetensors.index.json".into(),
            reason: "weight_map is empty".into(),
        });
    }
    Ok(files)
}

/// Whether `name` may be fetched as a shard: `[A-Za-z0-9_-][A-Za-z0-9._-]*\.safetensors`, by
/// allowlist. The name is joined to a folder or a base URL, so anything else (`../x`, `a/b`,
/// `/etc/x`, `C:\x`, `https://elsewhere/x`, `%2e%2e`, `?`, `#`) could read outside the model.
pub fn is_shard_name(name: &str) -> bool {
    let Some(stem) = name.strip_suffix(".safetensors") else { return false };
    let mut chars = stem.chars();
    let ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-');
    chars.next().is_some_and(ok) && chars.all(|c| ok(c) || c == '.')
}

impl Checkpoint {
    /// Adds every tensor of one safetensors file. `file` only names it in errors.
    pub fn add_file(&mut self, file: &str, bytes: &[u8]) -> Result<()> {
        let st = safetensors::SafeTensors::deserialize(bytes).map_err(|e| Error::WeightsFile {
            file: file.to_string(),
            reason: format!("not a valid safetensors file ({e}); is it truncated or an HTML error page?"),
        })?;
        for (name, view) in st.tensors() {
            let shape = view.shape().to_vec();
            let raw = view.data();
            let data = match view.dtype() {
                safetensors::Dtype::F32 => TensorData::F32(
                    raw.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect(),
                ),
                safetensors::Dtype::F16 => TensorData::F16(
                    raw.chunks_exact(2).map(|c| f16::from_bits(u16::from_le_bytes([c[0], c[1]]))).collect(),
                ),
                safetensors::Dtype::BF16 => TensorData::F32(
                    raw.chunks_exact(2)
                        .map(|c| bf16::from_bits(u16::from_le_bytes([c[0], c[1]])).to_f32())
                        .collect(),
                ),
                // Integer buffers such as `embeddings.position_ids` are not weights.
                safetensors::Dtype::I64 | safetensors::Dtype::I32 => continue,
                other => {
                    return Err(Error::TensorDtype { name, found: format!("{other:?}") });
                }
            };
            self.tensors.insert(name.clone(), Tensor { name, shape, data });
        }
        Ok(())
    }
}

/// Refuses a NaN or an infinity in any tensor the model reads, naming the first (by tensor
/// name, then index). One pass at load over every value: for albert-base's 11.2 M values the
/// whole `from_checkpoint`, this pass included, took 12 ms in f16 and 20 ms in f32 (release, a
/// loaded 2-core machine). A NaN left in would turn every score into NaN, and a forward cannot
/// say where it came from.
fn check_finite(tensors: &HashMap<String, Tensor>) -> Result<()> {
    let mut names: Vec<&String> = tensors.keys().collect();
    names.sort();
    for name in names {
        let t = &tensors[name];
        let bad = match &t.data {
            TensorData::F32(v) => v.iter().position(|x| !x.is_finite()).map(|i| (i, v[i].to_string())),
            TensorData::F16(v) => v.iter().position(|x| !x.is_finite()).map(|i| (i, v[i].to_f32().to_string())),
        };
        if let Some((index, value)) = bad {
            return Err(Error::NonFiniteWeight { name: name.clone(), value, index, len: t.len() });
        }
    }
    Ok(())
}

/// The storage dtype `AlbertWeights::from_checkpoint` will choose, read from the safetensors
/// headers alone (`SafeTensors::read_metadata`, no tensor data parsed): F16 when every
/// floating-point tensor is F16, else F32. Lets the app compile the right pipelines while the
/// weights are still being parsed. `None` when a header cannot be read or has no float tensor.
pub fn header_dtype<'a>(files: impl IntoIterator<Item = &'a [u8]>) -> Option<DType> {
    use safetensors::Dtype as D;
    let mut floats = Vec::new();
    for bytes in files {
        let (_, meta) = safetensors::SafeTensors::read_metadata(bytes).ok()?;
        floats.extend(meta.tensors().values().map(|t| t.dtype).filter(|d| matches!(d, D::F16 | D::BF16 | D::F32 | D::F64)));
    }
    if floats.is_empty() {
        return None;
    }
    Some(if floats.iter().all(|&d| d == D::F16) { DType::F16 } else { DType::F32 })
}

/// A checkpoint's weights, validated against a config: exactly the tensors an ALBERT forward
/// reads (shape-checked by loading `model::AlbertForMaskedLM` once), in one storage dtype.
/// The CPU and GPU models load their modules from it by the same Hugging Face keys.
#[derive(Debug, Clone)]
pub struct AlbertWeights {
    pub dtype: DType,
    /// Which transformers class the key layout matches.
    pub architecture: &'static str,
    tensors: HashMap<String, Tensor>,
}

impl AlbertWeights {
    pub fn from_checkpoint(cfg: &Config, ck: Checkpoint) -> Result<Self> {
        let word = "embeddings.word_embeddings.weight";
        if !ck.tensors.contains_key(word) && !ck.tensors.contains_key(&format!("albert.{word}")) {
            let mut keys: Vec<&String> = ck.tensors.keys().collect();
            keys.sort();
            let some: Vec<String> = keys.iter().take(4).map(|s| format!("`{s}`")).collect();
            return Err(Error::MissingTensor {
                name: format!("albert.{word}"),
                expected: vec![cfg.vocab_size, cfg.embedding_size],
                found_count: ck.tensors.len(),
                hint: format!(
                    ": this does not look like an ALBERT checkpoint{}",
                    if some.is_empty() { String::new() } else { format!(" (it has {})", some.join(", ")) }
                ),
            });
        }
        let store = Store::new(Cow::Owned(ck.tensors));
        model::AlbertForMaskedLM::load(VarBuilder::root(&store), &(), cfg)?;
        let mut tensors = store.into_inner().into_used();
        check_finite(&tensors)?;
        // One storage dtype for the whole model keeps every kernel single-typed: f16 only when
        // every tensor is f16, else everything widens to f32.
        let dtype = if tensors.values().all(|t| t.dtype() == DType::F16) { DType::F16 } else { DType::F32 };
        tensors.values_mut().for_each(|t| t.cast(dtype));
        Ok(Self::new(dtype, tensors))
    }

    /// Random weights of a config's shapes (uniform, std ≈ 0.02 like transformers' init;
    /// LayerNorms at 1/0; tied decoder, no pooler), for benchmarks of real shapes without
    /// downloading a checkpoint.
    pub fn random(cfg: &Config, seed: u64, dtype: DType) -> Result<Self> {
        let store = Store::random(seed, dtype);
        model::AlbertForMaskedLM::load(VarBuilder::root(&store), &(), cfg)?;
        Ok(Self::new(dtype, store.into_inner().into_used()))
    }

    fn new(dtype: DType, tensors: HashMap<String, Tensor>) -> Self {
        let has = |k: &str| tensors.keys().any(|n| n.starts_with(k));
        let architecture = match (has("predictions."), has("sop_classifier.")) {
            (true, true) => "AlbertForPreTraining",
            (true, false) => "AlbertForMaskedLM",
            (false, _) => "AlbertModel",
        };
        AlbertWeights { dtype, architecture, tensors }
    }

    /// Loads the model's modules with a backend's parameter storage (`cpu::Cpu`, `gpu::Gpu`).
    pub fn load<P: Params>(&self, cfg: &Config, p: &P) -> Result<model::AlbertForMaskedLM<P>> {
        // Borrowed: the backend converts each tensor from here (no copy of the checkpoint).
        let store = Store::new(Cow::Borrowed(&self.tensors));
        model::AlbertForMaskedLM::load(VarBuilder::root(&store), p, cfg)
    }

    /// Every tensor, for size accounting (a tied decoder once).
    pub fn tensors(&self) -> impl Iterator<Item = &Tensor> {
        self.tensors.values()
    }

    pub fn has_mlm_head(&self) -> bool {
        self.architecture != "AlbertModel"
    }

    pub fn has_sop_head(&self) -> bool {
        self.tensors.keys().any(|k| k.starts_with("sop_classifier."))
    }

    /// Bytes of weights as stored (and as uploaded to the GPU: one copy of each shared block).
    pub fn nbytes(&self) -> usize {
        self.tensors().map(|t| t.nbytes()).sum()
    }

    pub fn parameter_count(&self) -> usize {
        self.tensors().map(|t| t.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(name: &str, shape: &[usize], v: &[f32]) -> Tensor {
        Tensor { name: name.into(), shape: shape.to_vec(), data: TensorData::F32(v.to_vec()) }
    }

    #[test]
    fn random_weights_are_every_tensor_the_model_loads() {
        let cfg = Config::from_json(
            r#"{"vocab_size": 50, "embedding_size": 8, "hidden_size": 16, "num_hidden_layers": 4, "num_hidden_groups": 2,
                "num_attention_heads": 2, "intermediate_size": 24, "inner_group_num": 2, "max_position_embeddings": 10}"#,
        )
        .unwrap();
        let w = AlbertWeights::random(&cfg, 1, DType::F16).unwrap();
        assert_eq!(w.parameter_count(), cfg.parameter_counts().total);
        assert_eq!((w.architecture, w.dtype), ("AlbertForMaskedLM", DType::F16));
        assert!(w.tensors().all(|t| t.dtype() == DType::F16));
        // A checkpoint of them validates against the same config, key for key.
        let ck = Checkpoint { tensors: w.tensors.clone() };
        assert_eq!(AlbertWeights::from_checkpoint(&cfg, ck).unwrap().parameter_count(), w.parameter_count());
    }

    #[test]
    fn shard_names_are_allowlisted() {
        for ok in ["model-00001-of-00002.safetensors", "model.safetensors", "_a.b-c.safetensors", "X9.safetensors"] {
            assert!(is_shard_name(ok), "{ok}");
        }
        for bad in [
            "../x.safetensors", "a/b.safetensors", "a\\b.safetensors", "/etc/x.safetensors", ".hidden.safetensors",
            "https://evil.example/x.safetensors", "file:x.safetensors", "C:x.safetensors", "%2e%2e.safetensors",
            "x.safetensors?y", "x.safetensors#", "x y.safetensors", ".safetensors", "x.bin", "", "é.safetensors",
            "x.SAFETENSORS",
        ] {
            assert!(!is_shard_name(bad), "{bad}");
            let index = serde_json::json!({"weight_map": {"a": "model-1.safetensors", "b": bad}}).to_string();
            let err = shard_files(&index).unwrap_err().to_string();
            assert!(err.contains("is refused: a shard must be a plain file name beside the index"), "{bad}: {err}");
        }
    }

    /// Random weights of a small config, as a checkpoint, with `name`'s value `index` set to `x`.
    fn poisoned(name: &str, index: usize, x: f32, dtype: DType) -> (Config, Checkpoint) {
        let cfg = Config::from_json(
            r#"{"vocab_size": 50, "embedding_size": 8, "hidden_size": 16, "num_hidden_layers": 2,
                "num_attention_heads": 2, "intermediate_size": 24, "max_position_embeddings": 10}"#,
        )
        .unwrap();
        let mut tensors = AlbertWeights::random(&cfg, 3, dtype).unwrap().tensors;
        let t = tensors.get_mut(name).unwrap();
        match &mut t.data {
            TensorData::F32(v) => v[index] = x,
            TensorData::F16(v) => v[index] = f16::from_f32(x),
        }
        (cfg, Checkpoint { tensors })
    }

    #[test]
    fn non_finite_weights_are_refused_naming_the_tensor() {
        let ln = "albert.encoder.albert_layer_groups.0.albert_layers.0.full_layer_layer_norm.weight";
        for (x, shown) in [(f32::NAN, "NaN"), (f32::INFINITY, "inf"), (f32::NEG_INFINITY, "-inf")] {
            for dtype in [DType::F32, DType::F16] {
                let (cfg, ck) = poisoned(ln, 5, x, dtype);
                let err = AlbertWeights::from_checkpoint(&cfg, ck).unwrap_err().to_string();
                assert!(err.contains(&format!("tensor `{ln}` holds {shown} at index 5 of its 16 values")), "{err}");
            }
        }
        // 70000 is finite in f32 but past f16's range: an f16 file cannot hold it, an f32 file can.
        let (cfg, ck) = poisoned(ln, 0, 7e4, DType::F32);
        AlbertWeights::from_checkpoint(&cfg, ck).unwrap();
    }

    #[test]
    fn header_dtype_reads_headers_only() {
        let f16 = safetensors::serialize([("a", safetensors::tensor::TensorView::new(safetensors::Dtype::F16, vec![2], &[0u8; 4]).unwrap())], None).unwrap();
        let f32 = safetensors::serialize([("b", safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![1], &[0u8; 4]).unwrap())], None).unwrap();
        assert_eq!(header_dtype([f16.as_slice()]), Some(DType::F16));
        assert_eq!(header_dtype([f16.as_slice(), f32.as_slice()]), Some(DType::F32));
        assert_eq!(header_dtype([&b"nope"[..]]), None);
    }

    #[test]
    fn concat_rows_stacks_out_rows_and_refuses_mismatches() {
        let (q, k) = (t("q", &[2, 3], &[1., 2., 3., 4., 5., 6.]), t("k", &[1, 3], &[7., 8., 9.]));
        let qk = Tensor::concat_rows("qk", &[&q, &k]).expect("same trailing dims");
        assert_eq!(qk.shape, vec![3, 3]);
        assert_eq!(qk.to_f32(), vec![1., 2., 3., 4., 5., 6., 7., 8., 9.]);
        let bias = Tensor::concat_rows("b", &[&t("a", &[2], &[1., 2.]), &t("b", &[1], &[3.])]).expect("vectors");
        assert_eq!((bias.shape.clone(), bias.to_f32()), (vec![3], vec![1., 2., 3.]));
        assert!(Tensor::concat_rows("x", &[&q, &t("w", &[1, 2], &[1., 2.])]).is_none(), "trailing dims differ");
        let mut h = k.clone();
        h.cast(DType::F16);
        assert!(Tensor::concat_rows("x", &[&q, &h]).is_none(), "dtypes differ");
        let mut q16 = q.clone();
        q16.cast(DType::F16);
        assert_eq!(Tensor::concat_rows("x", &[&q16, &h]).expect("both f16").to_f32(), qk.to_f32());
    }
}
