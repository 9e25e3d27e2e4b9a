//! The CPU reference: ALBERT in plain f32, structured as transformers' modeling_albert.py
//! (`AlbertEmbeddings` → `AlbertTransformer` of `AlbertLayerGroup`s of `AlbertLayer`s →
//! `AlbertMLMHead`). It is the oracle for the GPU path and the fallback without WebGPU.

pub mod ops;

use crate::config::{Activation, Config};
use crate::error::{Error, Result};
use crate::output::{schedule, AttentionMap, Batch, Output, Request};
use crate::weights::{self, AlbertWeights};

struct Linear {
    /// The weight transposed to `[in, out]` (see `ops::linear_t`).
    wt: Vec<f32>,
    b: Vec<f32>,
    out: usize,
    inp: usize,
}

impl Linear {
    fn new(l: &weights::Linear) -> Self {
        let (out, inp) = (l.weight.shape[0], l.weight.shape[1]);
        Linear { wt: ops::transpose(&l.weight.to_f32(), out, inp), b: l.bias.to_f32(), out, inp }
    }
    fn forward(&self, x: &[f32], rows: usize, a: Activation) -> Vec<f32> {
        ops::linear_t(x, rows, self.inp, &self.wt, &self.b, self.out, a)
    }
}

struct LayerNorm {
    w: Vec<f32>,
    b: Vec<f32>,
}

impl LayerNorm {
    fn new(l: &weights::LayerNorm) -> Self {
        LayerNorm { w: l.weight.to_f32(), b: l.bias.to_f32() }
    }
}

pub struct AlbertEmbeddings {
    word: Vec<f32>,
    position: Vec<f32>,
    token_type: Vec<f32>,
    layer_norm: LayerNorm,
    e: usize,
}

impl AlbertEmbeddings {
    pub fn forward(&self, batch: &Batch, eps: f32) -> Vec<f32> {
        ops::embeddings(batch, &self.word, &self.position, &self.token_type, &self.layer_norm.w, &self.layer_norm.b, eps, self.e)
    }
}

pub struct AlbertLayer {
    query: Linear,
    key: Linear,
    value: Linear,
    dense: Linear,
    attention_layer_norm: LayerNorm,
    ffn: Linear,
    ffn_output: Linear,
    full_layer_layer_norm: LayerNorm,
}

impl AlbertLayer {
    /// One layer; returns the new hidden states and the attention probabilities.
    fn forward(&self, x: &[f32], batch: &Batch, cfg: &Config, a: Activation) -> (Vec<f32>, Vec<f32>) {
        let (n, h, eps) = (batch.rows(), cfg.hidden_size, cfg.layer_norm_eps as f32);
        let (heads, d) = (cfg.num_attention_heads, cfg.head_dim());
        let q = self.query.forward(x, n, Activation::Linear);
        let k = self.key.forward(x, n, Activation::Linear);
        let v = self.value.forward(x, n, Activation::Linear);
        let probs = ops::attention_probs(&q, &k, &batch.attention_mask, batch.batch, batch.seq_len, heads, d);
        let ctx = ops::attention_context(&probs, &v, batch.batch, batch.seq_len, heads, d);
        let projected = self.dense.forward(&ctx, n, Activation::Linear);
        let attn_out = ops::add_layer_norm(&projected, x, &self.attention_layer_norm.w, &self.attention_layer_norm.b, eps, h);
        let ffn = self.ffn.forward(&attn_out, n, a);
        let ffn_out = self.ffn_output.forward(&ffn, n, Activation::Linear);
        let out = ops::add_layer_norm(&ffn_out, &attn_out, &self.full_layer_layer_norm.w, &self.full_layer_layer_norm.b, eps, h);
        (out, probs)
    }
}

pub struct AlbertLayerGroup {
    layers: Vec<AlbertLayer>,
}

pub struct AlbertTransformer {
    embedding_hidden_mapping_in: Linear,
    groups: Vec<AlbertLayerGroup>,
}

pub struct AlbertMLMHead {
    dense: Linear,
    layer_norm: LayerNorm,
    decoder_weight: Vec<f32>,
    decoder_bias: Vec<f32>,
}

/// The whole model. Also runs checkpoints without a head (hidden states and attentions only).
pub struct AlbertForMaskedLM {
    pub config: Config,
    act: Activation,
    embeddings: AlbertEmbeddings,
    encoder: AlbertTransformer,
    head: Option<AlbertMLMHead>,
    pooler: Option<Linear>,
    sop: Option<Linear>,
}

impl AlbertForMaskedLM {
    pub fn new(config: &Config, w: &AlbertWeights) -> Result<Self> {
        let layer = |l: &weights::LayerWeights| AlbertLayer {
            query: Linear::new(&l.query),
            key: Linear::new(&l.key),
            value: Linear::new(&l.value),
            dense: Linear::new(&l.dense),
            attention_layer_norm: LayerNorm::new(&l.attention_layer_norm),
            ffn: Linear::new(&l.ffn),
            ffn_output: Linear::new(&l.ffn_output),
            full_layer_layer_norm: LayerNorm::new(&l.full_layer_layer_norm),
        };
        Ok(AlbertForMaskedLM {
            config: config.clone(),
            act: config.activation()?,
            embeddings: AlbertEmbeddings {
                word: w.embeddings.word.to_f32(),
                position: w.embeddings.position.to_f32(),
                token_type: w.embeddings.token_type.to_f32(),
                layer_norm: LayerNorm::new(&w.embeddings.layer_norm),
                e: config.embedding_size,
            },
            encoder: AlbertTransformer {
                embedding_hidden_mapping_in: Linear::new(&w.embedding_hidden_mapping_in),
                groups: w.groups.iter().map(|g| AlbertLayerGroup { layers: g.layers.iter().map(layer).collect() }).collect(),
            },
            head: w.mlm_head.as_ref().map(|h| AlbertMLMHead {
                dense: Linear::new(&h.dense),
                layer_norm: LayerNorm::new(&h.layer_norm),
                decoder_weight: w.decoder_weight().map(|t| t.to_f32()).unwrap_or_default(),
                decoder_bias: h.decoder_bias.to_f32(),
            }),
            pooler: w.pooler.as_ref().map(Linear::new),
            sop: w.sop_classifier.as_ref().map(Linear::new),
        })
    }

    pub fn has_mlm_head(&self) -> bool {
        self.head.is_some()
    }

    pub fn forward(&self, batch: &Batch, req: &Request) -> Result<Output> {
        let cfg = &self.config;
        batch.validate(cfg)?;
        let rows = req.rows(batch)?;
        if !rows.is_empty() && self.head.is_none() {
            return Err(Error::NoMlmHead);
        }
        let (n, h, eps) = (batch.rows(), cfg.hidden_size, cfg.layer_norm_eps as f32);
        let emb = self.embeddings.forward(batch, eps);
        let mut x = self.encoder.embedding_hidden_mapping_in.forward(&emb, n, Activation::Linear);
        let mut out = Output { logit_rows: rows.clone(), ..Default::default() };
        if req.hidden_states {
            out.hidden_states.push(x.clone());
        }
        for (index, (layer, group, inner)) in schedule(cfg).into_iter().enumerate() {
            let (next, probs) = self.encoder.groups[group].layers[inner].forward(&x, batch, cfg, self.act);
            x = next;
            if req.attentions {
                out.attentions.push(AttentionMap { index, layer, group, inner, data: probs });
            }
            if req.hidden_states && inner + 1 == cfg.inner_group_num {
                out.hidden_states.push(x.clone());
            }
        }
        if let Some(head) = self.head.as_ref().filter(|_| !rows.is_empty()) {
            let sel = ops::gather_rows(&x, h, &rows);
            let m = rows.len();
            let t = head.dense.forward(&sel, m, self.act);
            let t = ops::layer_norm(&t, &head.layer_norm.w, &head.layer_norm.b, eps, cfg.embedding_size);
            out.logits = Some(ops::linear(
                &t, m, cfg.embedding_size, &head.decoder_weight, &head.decoder_bias, cfg.vocab_size, Activation::Linear,
            ));
        }
        if req.sop {
            if let (Some(pooler), Some(sop)) = (&self.pooler, &self.sop) {
                let cls: Vec<usize> = (0..batch.batch).map(|b| b * batch.seq_len).collect();
                let pooled = pooler.forward(&ops::gather_rows(&x, h, &cls), batch.batch, Activation::Tanh);
                out.sop_logits = Some(sop.forward(&pooled, batch.batch, Activation::Linear));
            }
        }
        Ok(out)
    }
}
