//! `model.rs`'s modules on the GPU: parameters as storage buffers (`Params for Gpu`: weights
//! uploaded once; query, key and value stacked into one `[3H, H]` projection), and each
//! module's `record`, the dispatches of its forward, mirroring `cpu::` name for name. A plan
//! (plan.rs) calls `AlbertForMaskedLM::record` once per input shape.

use super::device::Gpu;
use super::plan::{Buffers, Readback};
use super::record::{AttentionShape, LinearBufs, LnBufs, Recorder};
use crate::activation::Activation;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::model;
use crate::output::schedule_to;
use crate::var_builder::Params;
use crate::weights::Tensor;

impl Params for Gpu {
    type Table = wgpu::Buffer;
    type Linear = LinearBufs;
    type Norm = LnBufs;
    /// query, key and value stacked into one `[3H, H]` projection: one dispatch instead of
    /// three, and three times the workgroups for short inputs.
    type Qkv = LinearBufs;
    fn table(&self, t: &Tensor) -> Result<wgpu::Buffer> {
        self.upload(t)
    }
    fn linear(&self, w: &Tensor, b: &Tensor) -> Result<LinearBufs> {
        Ok(LinearBufs { w: self.upload(w)?, b: self.upload(b)?, out: w.shape[0], inp: w.shape[1] })
    }
    fn norm(&self, w: &Tensor, b: &Tensor) -> Result<LnBufs> {
        Ok(LnBufs { w: self.upload(w)?, b: self.upload(b)? })
    }
    fn qkv(&self, q: [&Tensor; 2], k: [&Tensor; 2], v: [&Tensor; 2]) -> Result<LinearBufs> {
        let stack = |name: &str, parts: [&Tensor; 3]| {
            Tensor::concat_rows(name, &parts).ok_or_else(|| {
                Error::Gpu(format!("`{}`, `{}` and `{}` differ in shape or dtype and cannot be fused", parts[0].name, parts[1].name, parts[2].name))
            })
        };
        let w = stack("attention.qkv.weight", [q[0], k[0], v[0]])?;
        let b = stack("attention.qkv.bias", [q[1], k[1], v[1]])?;
        self.linear(&w, &b)
    }
}

model::backend_modules!(Gpu);

/// What every `record` needs: the recorder, the config, the plan's buffers and readback layout.
pub(crate) struct Ctx<'r, 'g> {
    pub rec: &'r mut Recorder<'g>,
    pub cfg: &'r Config,
    pub bufs: &'r Buffers,
    pub out: &'r Readback,
}

impl Ctx<'_, '_> {
    fn eps(&self) -> f32 {
        self.cfg.layer_norm_eps as f32
    }
}

impl AlbertEmbeddings {
    /// tokens → `bufs.embeddings` `[n, E]`.
    pub(crate) fn record(&self, c: &mut Ctx) {
        let (b, e) = (c.bufs, c.cfg.embedding_size);
        let table = [&self.word_embeddings, &self.position_embeddings, &self.token_type_embeddings, &self.layer_norm.w, &self.layer_norm.b];
        c.rec.embeddings("embeddings", &b.tokens, table, &b.embeddings, b.rows, b.seq_len, e, c.eps());
    }
}

impl AlbertAttention {
    /// `bufs.hidden` → `bufs.attention_output`; the maps of layer application `index` are
    /// copied back when asked for.
    pub(crate) fn record(&self, c: &mut Ctx, index: usize) {
        let (b, cfg) = (c.bufs, c.cfg);
        let h = cfg.hidden_size;
        c.rec.linear("attention.query_key_value", &self.query_key_value, &b.hidden, &b.qkv, b.rows, Activation::Linear);
        if let Some((_, at)) = c.out.neuron_at.filter(|&(call, _)| call == index) {
            c.out.copy(c.rec, &b.qkv, at);
        }
        let shape = AttentionShape { batch: b.batch, seq_len: b.seq_len, heads: cfg.num_attention_heads, head_dim: cfg.head_dim(), stride: 3 * h, qkv_off: [0, h, 2 * h] };
        match b.probs.get(if b.probs.len() > 1 { index } else { 0 }) {
            // Without maps to return, the fused kernel never materializes the probabilities.
            None => c.rec.attention("attention (fused)", &b.qkv, &b.tokens, &b.context, shape),
            Some(probs) => {
                c.rec.attention_probs("attention.probs", &b.qkv, &b.qkv, &b.tokens, probs, shape);
                c.rec.attention_context("attention.context", probs, &b.qkv, &b.context, shape);
                if let Some(&Some(at)) = c.out.attentions_at.get(index) {
                    c.out.copy(c.rec, probs, at);
                }
                let (heads, t) = (cfg.num_attention_heads, b.seq_len);
                if let Some(means) = &b.head_means {
                    c.rec.head_mean("attention (mean of heads)", probs, means, b.batch, heads, t, index * b.batch * t * t);
                }
                if let Some((thumbs, max, side)) = &b.thumbnails {
                    c.rec.max_pool("attention (thumbnails)", probs, thumbs, b.batch * heads, t, *max, index * b.batch * heads * side * side);
                }
            }
        }
        for &head in b.off.get(index).map(Vec::as_slice).unwrap_or_default() {
            c.rec.head_off("attention (head switched off)", &b.context, b.rows, cfg.num_attention_heads, cfg.head_dim(), head);
        }
        c.rec.linear("attention.dense", &self.dense, &b.context, &b.projected, b.rows, Activation::Linear);
        c.rec.add_layer_norm("attention.LayerNorm", &b.projected, Some(&b.hidden), &self.layer_norm, &b.attention_output, b.rows, h, c.eps());
    }
}

impl AlbertLayer {
    /// `bufs.hidden` → `bufs.hidden` (through the attention and FFN buffers).
    pub(crate) fn record(&self, c: &mut Ctx, index: usize, act: Activation) {
        self.attention.record(c, index);
        let b = c.bufs;
        c.rec.linear("ffn", &self.ffn, &b.attention_output, &b.ffn, b.rows, act);
        c.rec.linear("ffn_output", &self.ffn_output, &b.ffn, &b.ffn_output, b.rows, Activation::Linear);
        let ln = &self.full_layer_layer_norm;
        c.rec.add_layer_norm("full_layer_layer_norm", &b.ffn_output, Some(&b.attention_output), ln, &b.hidden, b.rows, c.cfg.hidden_size, c.eps());
    }
}

impl AlbertTransformer {
    /// `bufs.embeddings` → `bufs.hidden`, every layer application in `schedule` order.
    pub(crate) fn record(&self, c: &mut Ctx, act: Activation) {
        let b = c.bufs;
        c.rec.linear("embedding_hidden_mapping_in", &self.embedding_hidden_mapping_in, &b.embeddings, &b.hidden, b.rows, Activation::Linear);
        if let Some(&at) = c.out.hidden_at.first() {
            c.out.copy(c.rec, &b.hidden, at);
        }
        let lens = |c: &mut Ctx, l: usize| {
            if let Some(lens) = &b.lens {
                c.rec.gather_rows_at("logit lens (gather [MASK] rows)", &b.hidden, &b.logit_rows, lens, b.logit_rows_len, c.cfg.hidden_size, l * b.logit_rows_len);
            }
        };
        lens(c, 0);
        for (index, (layer, group, inner)) in schedule_to(c.cfg, b.depth).into_iter().enumerate() {
            if let (Some((prev, _)), 0) = (&b.drift, inner) {
                c.rec.copy(&b.hidden, prev, 0, (b.rows * c.cfg.hidden_size * 4) as u64);
            }
            self.layer(group, inner).record(c, index, act);
            if inner + 1 == c.cfg.inner_group_num {
                if let Some(&at) = c.out.hidden_at.get(layer + 1) {
                    c.out.copy(c.rec, &b.hidden, at);
                }
                lens(c, layer + 1);
                if let Some((prev, drift)) = &b.drift {
                    c.rec.drift("drift", prev, &b.hidden, &b.tokens, drift, b.rows, c.cfg.hidden_size, layer);
                }
            }
        }
        if let (Some((_, drift)), Some(at)) = (&b.drift, c.out.drift_at) {
            c.out.copy(c.rec, drift, at);
        }
        // Every map's reductions, read back once.
        if let (Some(means), Some(at)) = (&b.head_means, c.out.head_means_at) {
            c.out.copy(c.rec, means, at);
        }
        if let (Some((thumbs, _, _)), Some(at)) = (&b.thumbnails, c.out.thumbnails_at) {
            c.out.copy(c.rec, thumbs, at);
        }
    }
}

impl AlbertMLMHead {
    /// Logits of the `m` rows listed in `bufs.logit_rows`, copied back.
    pub(crate) fn record(&self, c: &mut Ctx, decoder: &wgpu::Buffer, act: Activation, at: (usize, usize)) {
        let b = c.bufs;
        let (m, h) = (b.logit_rows_len, c.cfg.hidden_size);
        let sel = c.rec.gpu().storage("selected", m * h * 4);
        c.rec.gather_rows("predictions (gather [MASK] rows)", &b.hidden, &b.logit_rows, &sel, m, h);
        self.record_rows(c, &sel, m, decoder, act, at);
    }

    /// Logits of `m` gathered rows `sel` `[m, H]`, copied back to `at`.
    pub(crate) fn record_rows(&self, c: &mut Ctx, sel: &wgpu::Buffer, m: usize, decoder: &wgpu::Buffer, act: Activation, at: (usize, usize)) {
        let cfg = c.cfg;
        let (e, v) = (cfg.embedding_size, cfg.vocab_size);
        let g = c.rec.gpu();
        let (t1, t2, logits) = (g.storage("mlm_dense", m * e * 4), g.storage("mlm_ln", m * e * 4), g.storage("logits", m * v * 4));
        c.rec.linear("predictions.dense", &self.dense, sel, &t1, m, act);
        c.rec.add_layer_norm("predictions.LayerNorm", &t1, None, &self.layer_norm, &t2, m, e, c.eps());
        let dec = LinearBufs { w: decoder.clone(), b: self.bias.clone(), out: v, inp: e };
        c.rec.linear("predictions.decoder", &dec, &t2, &logits, m, Activation::Linear);
        c.out.copy(c.rec, &logits, at);
    }
}

impl model::AlbertForMaskedLM<Gpu> {
    /// Every dispatch and readback copy of one forward of the plan's shape.
    pub(crate) fn record(&self, c: &mut Ctx) {
        self.albert.embeddings.record(c);
        self.albert.encoder.record(c, self.act);
        match (&self.predictions, c.out.logits_at, &c.bufs.lens, c.out.lens_at) {
            // The logit lens: the head once over every layer's rows (the last block is `logits`).
            (Some(head), Some(_), Some(lens), Some(at)) => head.record_rows(c, lens, (c.bufs.depth + 1) * c.bufs.logit_rows_len, self.decoder(head), self.act, at),
            (Some(head), Some(at), _, _) => head.record(c, self.decoder(head), self.act, at),
            _ => {}
        }
        if let (Some(pooler), Some(sop), Some(at)) = (&self.albert.pooler, &self.sop_classifier, c.out.sop_at) {
            let (b, h) = (c.bufs, c.cfg.hidden_size);
            let g = c.rec.gpu();
            let cls: Vec<u32> = (0..b.batch).map(|i| (i * b.seq_len) as u32).collect();
            let cls = g.storage_init("cls_rows", bytemuck::cast_slice(&cls));
            let (sel, pooled, out) = (g.storage("cls", b.batch * h * 4), g.storage("pooled", b.batch * h * 4), g.storage("sop_logits", b.batch * 2 * 4));
            c.rec.gather_rows("pooler (gather [CLS] rows)", &b.hidden, &cls, &sel, b.batch, h);
            c.rec.linear("pooler", pooler, &sel, &pooled, b.batch, Activation::Tanh);
            c.rec.linear("sop_classifier", &sop.classifier, &pooled, &out, b.batch, Activation::Linear);
            c.out.copy(c.rec, &out, at);
        }
    }
}
