//! Checkpoint loading: Hugging Face safetensors (one file or sharded), f32/f16/bf16, in the key
//! layouts of `AlbertForMaskedLM`, `AlbertForPreTraining` and `AlbertModel`, checked tensor by
//! tensor against `Config` so a wrong file names the tensor and both shapes.
//!
//! The engine reads bytes, not paths: the CLI reads files or HTTP, the app reads fetch/OPFS.

use crate::config::Config;
use crate::error::{Error, Result};
use half::{bf16, f16};
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
    fn cast(&mut self, to: DType) {
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
        if file.contains('/') || file.contains('\\') || file.starts_with('.') {
            return Err(Error::WeightsFile {
                file: "model.safetensors.index.json".into(),
                reason: format!("shard name \"{file}\" must be a plain file name beside the index"),
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

    fn take(&mut self, name: &str, expected: &[usize]) -> Result<Tensor> {
        let t = self.tensors.remove(name).ok_or_else(|| self.missing(name, expected))?;
        if t.shape != expected {
            return Err(Error::TensorShape { name: name.into(), expected: expected.to_vec(), found: t.shape });
        }
        Ok(t)
    }

    fn take_opt(&mut self, name: &str, expected: &[usize]) -> Result<Option<Tensor>> {
        if self.tensors.contains_key(name) {
            self.take(name, expected).map(Some)
        } else {
            Ok(None)
        }
    }

    /// LayerNorm parameters under HF's names, or TF-era `gamma`/`beta`.
    fn take_ln(&mut self, prefix: &str, size: usize) -> Result<LayerNorm> {
        let w = format!("{prefix}.weight");
        if !self.tensors.contains_key(&w) && self.tensors.contains_key(&format!("{prefix}.gamma")) {
            return Ok(LayerNorm {
                weight: self.take(&format!("{prefix}.gamma"), &[size])?,
                bias: self.take(&format!("{prefix}.beta"), &[size])?,
            });
        }
        Ok(LayerNorm { weight: self.take(&w, &[size])?, bias: self.take(&format!("{prefix}.bias"), &[size])? })
    }

    fn take_linear(&mut self, prefix: &str, out: usize, inp: usize) -> Result<Linear> {
        Ok(Linear {
            weight: self.take(&format!("{prefix}.weight"), &[out, inp])?,
            bias: self.take(&format!("{prefix}.bias"), &[out])?,
        })
    }

    fn missing(&self, name: &str, expected: &[usize]) -> Error {
        // Point at a near miss (same last two name parts) so prefix mistakes are obvious.
        let tail: Vec<&str> = name.rsplit('.').take(2).collect();
        let mut near: Vec<&String> = self
            .tensors
            .keys()
            .filter(|k| {
                let kt: Vec<&str> = k.rsplit('.').take(2).collect();
                kt == tail
            })
            .collect();
        near.sort();
        let hint = match near.first() {
            Some(k) => format!("; a tensor named `{k}` exists: was the checkpoint saved with another prefix?"),
            None => {
                let mut some: Vec<&String> = self.tensors.keys().collect();
                some.sort();
                let some: Vec<String> = some.iter().take(3).map(|s| format!("`{s}`")).collect();
                if some.is_empty() { String::new() } else { format!(", e.g. {}", some.join(", ")) }
            }
        };
        Error::MissingTensor { name: name.into(), expected: expected.to_vec(), found_count: self.tensors.len(), hint }
    }
}

#[derive(Debug, Clone)]
pub struct Linear {
    /// `[out, in]`, as torch's nn.Linear stores it.
    pub weight: Tensor,
    pub bias: Tensor,
}

#[derive(Debug, Clone)]
pub struct LayerNorm {
    pub weight: Tensor,
    pub bias: Tensor,
}

#[derive(Debug, Clone)]
pub struct EmbeddingsWeights {
    pub word: Tensor,
    pub position: Tensor,
    pub token_type: Tensor,
    pub layer_norm: LayerNorm,
}

/// One `AlbertLayer`: attention (q, k, v, output dense, LayerNorm) and FFN.
#[derive(Debug, Clone)]
pub struct LayerWeights {
    pub query: Linear,
    pub key: Linear,
    pub value: Linear,
    pub dense: Linear,
    pub attention_layer_norm: LayerNorm,
    pub ffn: Linear,
    pub ffn_output: Linear,
    pub full_layer_layer_norm: LayerNorm,
}

/// One `AlbertLayerGroup`: the block shared by every layer application that runs this group.
#[derive(Debug, Clone)]
pub struct GroupWeights {
    pub layers: Vec<LayerWeights>,
}

#[derive(Debug, Clone)]
pub struct MlmHeadWeights {
    pub dense: Linear,
    pub layer_norm: LayerNorm,
    /// `None` when tied to the word embeddings (transformers drops the tied copy on save).
    pub decoder_weight: Option<Tensor>,
    pub decoder_bias: Tensor,
}

/// Every weight an ALBERT forward pass uses, shape-checked against the config.
#[derive(Debug, Clone)]
pub struct AlbertWeights {
    pub dtype: DType,
    pub embeddings: EmbeddingsWeights,
    pub embedding_hidden_mapping_in: Linear,
    pub groups: Vec<GroupWeights>,
    pub mlm_head: Option<MlmHeadWeights>,
    /// `AlbertModel`'s pooler (dense + tanh over [CLS]), present unless saved without it.
    pub pooler: Option<Linear>,
    /// `AlbertForPreTraining`'s sentence-order head, `[2, H]`.
    pub sop_classifier: Option<Linear>,
    /// Which transformers class the key layout matches.
    pub architecture: &'static str,
}

impl AlbertWeights {
    pub fn from_checkpoint(cfg: &Config, mut ck: Checkpoint) -> Result<Self> {
        let (v, e, h, i) = (cfg.vocab_size, cfg.embedding_size, cfg.hidden_size, cfg.intermediate_size);
        let has_prefix = ck.tensors.keys().any(|k| k.starts_with("albert."));
        let p = if has_prefix { "albert." } else { "" };
        if !ck.tensors.contains_key(&format!("{p}embeddings.word_embeddings.weight")) {
            let mut keys: Vec<&String> = ck.tensors.keys().collect();
            keys.sort();
            let some: Vec<String> = keys.iter().take(4).map(|s| format!("`{s}`")).collect();
            return Err(Error::MissingTensor {
                name: "albert.embeddings.word_embeddings.weight".into(),
                expected: vec![v, e],
                found_count: ck.tensors.len(),
                hint: format!(
                    ": this does not look like an ALBERT checkpoint{}",
                    if some.is_empty() { String::new() } else { format!(" (it has {})", some.join(", ")) }
                ),
            });
        }
        let embeddings = EmbeddingsWeights {
            word: ck.take(&format!("{p}embeddings.word_embeddings.weight"), &[v, e])?,
            position: ck.take(&format!("{p}embeddings.position_embeddings.weight"), &[cfg.max_position_embeddings, e])?,
            token_type: ck.take(&format!("{p}embeddings.token_type_embeddings.weight"), &[cfg.type_vocab_size, e])?,
            layer_norm: ck.take_ln(&format!("{p}embeddings.LayerNorm"), e)?,
        };
        let embedding_hidden_mapping_in = ck.take_linear(&format!("{p}encoder.embedding_hidden_mapping_in"), h, e)?;
        let mut groups = Vec::with_capacity(cfg.num_hidden_groups);
        for g in 0..cfg.num_hidden_groups {
            let mut layers = Vec::with_capacity(cfg.inner_group_num);
            for j in 0..cfg.inner_group_num {
                let l = format!("{p}encoder.albert_layer_groups.{g}.albert_layers.{j}");
                layers.push(LayerWeights {
                    query: ck.take_linear(&format!("{l}.attention.query"), h, h)?,
                    key: ck.take_linear(&format!("{l}.attention.key"), h, h)?,
                    value: ck.take_linear(&format!("{l}.attention.value"), h, h)?,
                    dense: ck.take_linear(&format!("{l}.attention.dense"), h, h)?,
                    attention_layer_norm: ck.take_ln(&format!("{l}.attention.LayerNorm"), h)?,
                    ffn: ck.take_linear(&format!("{l}.ffn"), i, h)?,
                    ffn_output: ck.take_linear(&format!("{l}.ffn_output"), h, i)?,
                    full_layer_layer_norm: ck.take_ln(&format!("{l}.full_layer_layer_norm"), h)?,
                });
            }
            groups.push(GroupWeights { layers });
        }
        let has_head = ck.tensors.keys().any(|k| k.starts_with("predictions."));
        let mlm_head = if has_head {
            let dense = ck.take_linear("predictions.dense", e, h)?;
            let layer_norm = ck.take_ln("predictions.LayerNorm", e)?;
            let decoder_weight = ck.take_opt("predictions.decoder.weight", &[v, e])?;
            // transformers ties `predictions.decoder.bias` to `predictions.bias`; either may be saved.
            let decoder_bias = match ck.take_opt("predictions.bias", &[v])? {
                Some(b) => {
                    ck.tensors.remove("predictions.decoder.bias");
                    b
                }
                None => ck.take("predictions.decoder.bias", &[v])?,
            };
            Some(MlmHeadWeights { dense, layer_norm, decoder_weight, decoder_bias })
        } else {
            None
        };
        let pooler = match ck.take_opt(&format!("{p}pooler.weight"), &[h, h])? {
            Some(weight) => Some(Linear { weight, bias: ck.take(&format!("{p}pooler.bias"), &[h])? }),
            None => None,
        };
        let sop_classifier = ck.take_opt("sop_classifier.classifier.weight", &[2, h])?;
        let sop_classifier = match sop_classifier {
            Some(weight) => Some(Linear { weight, bias: ck.take("sop_classifier.classifier.bias", &[2])? }),
            None => None,
        };
        let architecture = match (&mlm_head, &sop_classifier) {
            (Some(_), Some(_)) => "AlbertForPreTraining",
            (Some(_), None) => "AlbertForMaskedLM",
            (None, _) => "AlbertModel",
        };
        let mut w = AlbertWeights {
            dtype: DType::F32,
            embeddings,
            embedding_hidden_mapping_in,
            groups,
            mlm_head,
            pooler,
            sop_classifier,
            architecture,
        };
        // One storage dtype for the whole model keeps every kernel single-typed: f16 only when
        // every tensor is f16, else everything widens to f32.
        let all_f16 = w.tensors().iter().all(|t| t.dtype() == DType::F16);
        let dtype = if all_f16 { DType::F16 } else { DType::F32 };
        w.for_each_mut(|t| t.cast(dtype));
        w.dtype = dtype;
        Ok(w)
    }

    /// Every tensor, for size accounting.
    pub fn tensors(&self) -> Vec<&Tensor> {
        let mut out = Vec::new();
        let e = &self.embeddings;
        out.extend([&e.word, &e.position, &e.token_type, &e.layer_norm.weight, &e.layer_norm.bias]);
        out.extend([&self.embedding_hidden_mapping_in.weight, &self.embedding_hidden_mapping_in.bias]);
        for g in &self.groups {
            for l in &g.layers {
                for lin in [&l.query, &l.key, &l.value, &l.dense, &l.ffn, &l.ffn_output] {
                    out.extend([&lin.weight, &lin.bias]);
                }
                for ln in [&l.attention_layer_norm, &l.full_layer_layer_norm] {
                    out.extend([&ln.weight, &ln.bias]);
                }
            }
        }
        if let Some(h) = &self.mlm_head {
            out.extend([&h.dense.weight, &h.dense.bias, &h.layer_norm.weight, &h.layer_norm.bias, &h.decoder_bias]);
            if let Some(d) = &h.decoder_weight {
                out.push(d);
            }
        }
        for s in [&self.pooler, &self.sop_classifier].into_iter().flatten() {
            out.extend([&s.weight, &s.bias]);
        }
        out
    }

    fn for_each_mut(&mut self, mut f: impl FnMut(&mut Tensor)) {
        let e = &mut self.embeddings;
        for t in [&mut e.word, &mut e.position, &mut e.token_type, &mut e.layer_norm.weight, &mut e.layer_norm.bias] {
            f(t);
        }
        f(&mut self.embedding_hidden_mapping_in.weight);
        f(&mut self.embedding_hidden_mapping_in.bias);
        for g in &mut self.groups {
            for l in &mut g.layers {
                for lin in [&mut l.query, &mut l.key, &mut l.value, &mut l.dense, &mut l.ffn, &mut l.ffn_output] {
                    f(&mut lin.weight);
                    f(&mut lin.bias);
                }
                for ln in [&mut l.attention_layer_norm, &mut l.full_layer_layer_norm] {
                    f(&mut ln.weight);
                    f(&mut ln.bias);
                }
            }
        }
        if let Some(h) = &mut self.mlm_head {
            for t in [&mut h.dense.weight, &mut h.dense.bias, &mut h.layer_norm.weight, &mut h.layer_norm.bias, &mut h.decoder_bias] {
                f(t);
            }
            if let Some(d) = &mut h.decoder_weight {
                f(d);
            }
        }
        for s in [&mut self.pooler, &mut self.sop_classifier].into_iter().flatten() {
            f(&mut s.weight);
            f(&mut s.bias);
        }
    }

    /// Bytes of weights as stored (and as uploaded to the GPU: one copy of each shared block).
    pub fn nbytes(&self) -> usize {
        self.tensors().iter().map(|t| t.nbytes()).sum()
    }

    pub fn parameter_count(&self) -> usize {
        self.tensors().iter().map(|t| t.len()).sum()
    }

    /// The decoder matrix `[V, E]`: its own, or the tied word embeddings.
    pub fn decoder_weight(&self) -> Option<&Tensor> {
        self.mlm_head.as_ref().map(|h| h.decoder_weight.as_ref().unwrap_or(&self.embeddings.word))
    }
}

impl AlbertWeights {
    /// Random weights of a config's shapes (uniform, std ≈ 0.02 like transformers' init;
    /// LayerNorms at 1/0), for benchmarks of real shapes without downloading a checkpoint.
    pub fn random(cfg: &Config, seed: u64, dtype: DType) -> Self {
        let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let mut t = |name: &str, shape: &[usize], fill: Option<f32>| {
            let n: usize = shape.iter().product();
            let data: Vec<f32> = match fill {
                Some(v) => vec![v; n],
                None => (0..n)
                    .map(|_| {
                        state ^= state << 13;
                        state ^= state >> 7;
                        state ^= state << 17;
                        ((state >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * 0.0346
                    })
                    .collect(),
            };
            let mut tensor = Tensor { name: name.to_string(), shape: shape.to_vec(), data: TensorData::F32(data) };
            tensor.cast(dtype);
            tensor
        };
        let (v, e, h, i) = (cfg.vocab_size, cfg.embedding_size, cfg.hidden_size, cfg.intermediate_size);
        let mut lin = |name: &str, out: usize, inp: usize| Linear {
            weight: t(&format!("{name}.weight"), &[out, inp], None),
            bias: t(&format!("{name}.bias"), &[out], Some(0.0)),
        };
        let embeddings_word = lin("word", v, e).weight;
        let position = lin("pos", cfg.max_position_embeddings, e).weight;
        let token_type = lin("type", cfg.type_vocab_size, e).weight;
        let mapping = lin("embedding_hidden_mapping_in", h, e);
        let mut groups = Vec::new();
        for g in 0..cfg.num_hidden_groups {
            let mut layers = Vec::new();
            for j in 0..cfg.inner_group_num {
                let p = format!("group{g}.layer{j}");
                layers.push(LayerWeights {
                    query: lin(&format!("{p}.query"), h, h),
                    key: lin(&format!("{p}.key"), h, h),
                    value: lin(&format!("{p}.value"), h, h),
                    dense: lin(&format!("{p}.dense"), h, h),
                    attention_layer_norm: ln_ones(h, dtype),
                    ffn: lin(&format!("{p}.ffn"), i, h),
                    ffn_output: lin(&format!("{p}.ffn_output"), h, i),
                    full_layer_layer_norm: ln_ones(h, dtype),
                });
            }
            groups.push(GroupWeights { layers });
        }
        let dense = lin("predictions.dense", e, h);
        let decoder_bias = lin("predictions", v, 1).bias;
        AlbertWeights {
            dtype,
            embeddings: EmbeddingsWeights { word: embeddings_word, position, token_type, layer_norm: ln_ones(e, dtype) },
            embedding_hidden_mapping_in: mapping,
            groups,
            mlm_head: Some(MlmHeadWeights { dense, layer_norm: ln_ones(e, dtype), decoder_weight: None, decoder_bias }),
            pooler: None,
            sop_classifier: None,
            architecture: "AlbertForMaskedLM",
        }
    }
}

fn ln_ones(n: usize, dtype: DType) -> LayerNorm {
    let mut w = Tensor { name: "LayerNorm.weight".into(), shape: vec![n], data: TensorData::F32(vec![1.0; n]) };
    let mut b = Tensor { name: "LayerNorm.bias".into(), shape: vec![n], data: TensorData::F32(vec![0.0; n]) };
    w.cast(dtype);
    b.cast(dtype);
    LayerNorm { weight: w, bias: b }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(name: &str, shape: &[usize], v: &[f32]) -> Tensor {
        Tensor { name: name.into(), shape: shape.to_vec(), data: TensorData::F32(v.to_vec()) }
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
