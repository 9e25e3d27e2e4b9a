//! The CPU reference: ALBERT in plain f32. The modules are `model.rs`'s, with parameters
//! stored as `Cpu` says (weights transposed to `[in, out]` once, so matrixmultiply packs them
//! with unit stride); this file gives each its `forward`, as transformers' modeling_albert.py
//! does. It is the oracle for the GPU path and the fallback without WebGPU.

pub mod math;
pub mod matmul;
pub mod ops;
pub mod panels;
mod parallel;
pub mod team;

pub use parallel::threads;

/// Runs `f` with the CPU path's parallel work (matmul column blocks, attention heads, LayerNorm
/// rows) on a pool of `threads` threads, so a thread count is explicit (`albert bench
/// --threads`); without it, rayon's global pool (RAYON_NUM_THREADS, else every core).
#[cfg(not(target_arch = "wasm32"))]
pub fn with_threads<R: Send>(threads: usize, f: impl FnOnce() -> R + Send) -> Result<R> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads.max(1))
        .build()
        .map_err(|e| Error::Io(format!("could not start {threads} CPU threads: {e}")))?;
    Ok(pool.install(f))
}

use crate::activation::Activation;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::model;
use crate::output::{schedule_to, AttentionMap, Batch, Neuron, Output, Request, Thumbnails};
use crate::var_builder::Params;
use crate::weights::{AlbertWeights, Tensor};

/// The CPU's parameter storage (see `Params`). It numbers the linears in the order it meets
/// them, which is how a forward names one to its helpers (`team`).
#[derive(Default)]
pub struct Cpu {
    linears: std::cell::Cell<usize>,
    kernel: Kernel,
}

/// The matmul kernel a CPU model's linears run on, chosen when it loads (each keeps its weight
/// in that kernel's layout).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kernel {
    /// matrixmultiply on the weight transposed to `[in, out]` (`matmul::linear_t`): natively, where
    /// it has AVX2/FMA kernels and packs for the cache on every call.
    Gemm,
    /// Panels packed once at load (`panels`): the browser's, where its products run 1.25–1.35×
    /// faster (`bench/wasm-ops/run`).
    Panels,
}

impl Default for Kernel {
    fn default() -> Self {
        if cfg!(target_arch = "wasm32") {
            Kernel::Panels
        } else {
            Kernel::Gemm
        }
    }
}

/// A linear's weight in its kernel's layout.
pub enum Weight {
    /// `[in, out]`.
    Transposed(Vec<f32>),
    Panels(panels::Panels),
}

impl Weight {
    /// From torch's `[out, in]` weight.
    pub fn new(rows: &[f32], out: usize, inp: usize, kernel: Kernel) -> Self {
        match kernel {
            Kernel::Gemm => Weight::Transposed(matmul::transpose(rows, out, inp)),
            Kernel::Panels => Weight::Panels(panels::Panels::from_rows(rows, out, inp)),
        }
    }

    /// The floats it holds.
    pub fn floats(&self) -> usize {
        match self {
            Weight::Transposed(wt) => wt.len(),
            Weight::Panels(p) => p.floats(),
        }
    }

    /// Columns `cols` of `act(x · Wᵀ + b)` for x `[m, inp]`: `[m, cols.len()]`.
    #[allow(clippy::too_many_arguments)]
    pub fn linear_columns(&self, x: &[f32], m: usize, inp: usize, b: &[f32], out: usize, cols: std::ops::Range<usize>, a: Activation) -> Vec<f32> {
        match self {
            Weight::Transposed(wt) => matmul::linear_t_columns(x, m, inp, wt, b, out, cols, a),
            Weight::Panels(p) => p.linear_columns(x, m, b, cols, a),
        }
    }
}

impl Weight {
    /// `linear_columns` written into `y`, whose rows are `ys` apart (the panels write in place;
    /// matrixmultiply's layout computes the block and copies it).
    #[allow(clippy::too_many_arguments)]
    pub fn linear_columns_into(&self, x: &[f32], m: usize, inp: usize, b: &[f32], out: usize, cols: std::ops::Range<usize>, a: Activation, y: &mut [f32], ys: usize) {
        match self {
            Weight::Panels(p) => p.linear_columns_into(x, m, b, cols, a, y, ys),
            Weight::Transposed(_) => {
                let width = cols.len();
                let block = self.linear_columns(x, m, inp, b, out, cols, a);
                if width > 0 {
                    for (row, s) in y.chunks_mut(ys).zip(block.chunks_exact(width)) {
                        row[..width].copy_from_slice(s);
                    }
                }
            }
        }
    }
}

/// nn.Linear with its weight in the model's kernel's layout (`Weight`).
pub struct Linear {
    /// Its number among the model's linears (see `Cpu`).
    id: usize,
    weight: Weight,
    b: Vec<f32>,
    out: usize,
    inp: usize,
}

impl Linear {
    fn forward(&self, x: &[f32], rows: usize, a: Activation) -> Vec<f32> {
        team::linear(self, x, rows, a)
    }
}

pub struct LayerNorm {
    w: Vec<f32>,
    b: Vec<f32>,
}

impl Params for Cpu {
    type Table = Vec<f32>;
    type Linear = Linear;
    type Norm = LayerNorm;
    /// Three projections, as transformers computes them (the reference stays unfused).
    type Qkv = [Linear; 3];
    fn table(&self, t: &Tensor) -> Result<Vec<f32>> {
        Ok(t.to_f32())
    }
    fn linear(&self, w: &Tensor, b: &Tensor) -> Result<Linear> {
        let (out, inp) = (w.shape[0], w.shape[1]);
        let id = self.linears.replace(self.linears.get() + 1);
        Ok(Linear { id, weight: Weight::new(&w.to_f32(), out, inp, self.kernel), b: b.to_f32(), out, inp })
    }
    fn norm(&self, w: &Tensor, b: &Tensor) -> Result<LayerNorm> {
        Ok(LayerNorm { w: w.to_f32(), b: b.to_f32() })
    }
    fn qkv(&self, q: [&Tensor; 2], k: [&Tensor; 2], v: [&Tensor; 2]) -> Result<[Linear; 3]> {
        Ok([self.linear(q[0], q[1])?, self.linear(k[0], k[1])?, self.linear(v[0], v[1])?])
    }
}

model::backend_modules!(Cpu);
pub type AlbertForMaskedLM = model::AlbertForMaskedLM<Cpu>;

impl AlbertEmbeddings {
    /// `[rows, E]`.
    pub fn forward(&self, batch: &Batch, eps: f32) -> Vec<f32> {
        let e = self.layer_norm.w.len();
        let (w, p, t) = (&self.word_embeddings, &self.position_embeddings, &self.token_type_embeddings);
        ops::embeddings(batch, w, p, t, &self.layer_norm.w, &self.layer_norm.b, eps, e)
    }
}

impl AlbertAttention {
    /// Returns the attention output and, when `maps` asks for them, the attention probabilities.
    /// Heads in `off` are switched off: their context is zero before `dense`.
    pub fn forward(&self, x: &[f32], batch: &Batch, cfg: &Config, off: &[usize], maps: bool) -> (Vec<f32>, Option<Vec<f32>>) {
        let (n, h, eps) = (batch.rows(), cfg.hidden_size, cfg.layer_norm_eps as f32);
        let (heads, d) = (cfg.num_attention_heads, cfg.head_dim());
        let (mut ctx, probs) = team::attention(&self.query_key_value, x, batch, heads, d, maps);
        for &head in off {
            for row in ctx.chunks_exact_mut(h) {
                row[head * d..(head + 1) * d].fill(0.0);
            }
        }
        let projected = self.dense.forward(&ctx, n, Activation::Linear);
        (ops::add_layer_norm(&projected, x, &self.layer_norm.w, &self.layer_norm.b, eps, h), probs)
    }
}

impl AlbertLayer {
    /// One layer; returns the new hidden states and, when `maps` asks for them, the attention
    /// probabilities.
    pub fn forward(&self, x: &[f32], batch: &Batch, cfg: &Config, a: Activation, off: &[usize], maps: bool) -> (Vec<f32>, Option<Vec<f32>>) {
        let (n, h, eps) = (batch.rows(), cfg.hidden_size, cfg.layer_norm_eps as f32);
        let (attn_out, probs) = self.attention.forward(x, batch, cfg, off, maps);
        let ffn = self.ffn.forward(&attn_out, n, a);
        let ffn_out = self.ffn_output.forward(&ffn, n, Activation::Linear);
        let ln = &self.full_layer_layer_norm;
        (ops::add_layer_norm(&ffn_out, &attn_out, &ln.w, &ln.b, eps, h), probs)
    }
}

impl AlbertTransformer {
    /// Every layer application in `schedule` order, collecting what `req` asks for.
    pub fn forward(&self, emb: &[f32], batch: &Batch, cfg: &Config, a: Activation, req: &Request, out: &mut Output) -> Result<Vec<f32>> {
        let mut x = self.embedding_hidden_mapping_in.forward(emb, batch.rows(), Activation::Linear);
        if req.hidden_states || req.lens {
            out.hidden_states.push(x.clone());
        }
        let mut prev = Vec::new();
        let depth = req.depth(cfg)?;
        let off = req.heads_off(cfg, depth)?;
        let neuron = req.neuron_call(cfg, depth)?;
        let schedule = schedule_to(cfg, depth);
        let maps = req.maps.checked(schedule.len())?;
        let (heads, t) = (cfg.num_attention_heads, batch.seq_len);
        for (index, (layer, group, inner)) in schedule.into_iter().enumerate() {
            if let (Some(head), true) = (req.neuron, neuron == Some(index)) {
                let (n, d) = (batch.rows(), cfg.head_dim());
                let qk = &self.layer(group, inner).attention.query_key_value;
                let cols = |y: Vec<f32>| y.chunks_exact(cfg.hidden_size).flat_map(|r| r[head.head * d..(head.head + 1) * d].to_vec()).collect();
                out.neuron = Some(Neuron { head, q: cols(qk[0].forward(&x, n, Activation::Linear)), k: cols(qk[1].forward(&x, n, Activation::Linear)) });
            }
            if req.drift && inner == 0 {
                prev = x.clone();
            }
            // The maps only where something reads them: over a team they cross the shared buffer.
            let whole = req.attentions || maps.whole.contains(&index);
            let want = whole || maps.head_means || maps.thumbnails.is_some();
            let (next, probs) = self.layer(group, inner).forward(&x, batch, cfg, a, &off[index], want);
            x = next;
            if let Some(probs) = probs {
                if maps.head_means {
                    out.head_means.push(ops::head_mean(&probs, batch.batch, heads, t));
                }
                if let Some(side) = maps.thumbnails {
                    let (pooled, side) = ops::max_pool(&probs, batch.batch * heads, t, side);
                    out.thumbnails.get_or_insert_with(|| Thumbnails { side, maps: vec![] }).maps.push(pooled);
                }
                if whole {
                    out.attentions.push(AttentionMap { index, layer, group, inner, data: probs });
                }
            }
            if (req.hidden_states || req.lens) && inner + 1 == cfg.inner_group_num {
                out.hidden_states.push(x.clone());
            }
            if req.drift && inner + 1 == cfg.inner_group_num {
                out.drift.get_or_insert_with(Vec::new).extend(ops::drift(&prev, &x, &batch.attention_mask, cfg.hidden_size));
            }
        }
        Ok(x)
    }
}

impl AlbertMLMHead {
    /// Logits `[m, V]` of `m` selected hidden rows; `decoder` is the head's or the tied matrix.
    pub fn forward(&self, sel: &[f32], m: usize, decoder: &[f32], cfg: &Config, a: Activation) -> Vec<f32> {
        let e = cfg.embedding_size;
        let t = self.dense.forward(sel, m, a);
        let t = ops::layer_norm(&t, &self.layer_norm.w, &self.layer_norm.b, cfg.layer_norm_eps as f32, e);
        ops::linear(&t, m, e, decoder, &self.bias, cfg.vocab_size, Activation::Linear)
    }
}

impl AlbertForMaskedLM {
    /// The model on this target's default kernel (`Kernel::default`).
    pub fn new(config: &Config, w: &AlbertWeights) -> Result<Self> {
        Self::with_kernel(config, w, Kernel::default())
    }

    /// The model with its linears on `kernel`.
    pub fn with_kernel(config: &Config, w: &AlbertWeights, kernel: Kernel) -> Result<Self> {
        w.load(config, &Cpu { kernel, ..Cpu::default() })
    }

    pub fn forward(&self, batch: &Batch, req: &Request) -> Result<Output> {
        let cfg = &self.config;
        batch.validate(cfg)?;
        let rows = req.rows(batch)?;
        req.heads_off(cfg, req.depth(cfg)?)?;
        req.neuron_call(cfg, req.depth(cfg)?)?;
        if req.lens && rows.is_empty() {
            return Err(Error::Input("the logit lens needs logits rows (the [MASK] rows) to look at".into()));
        }
        if !rows.is_empty() && self.predictions.is_none() {
            return Err(Error::NoMlmHead);
        }
        let h = cfg.hidden_size;
        let mut out = Output { logit_rows: rows.clone(), ..Default::default() };
        let emb = self.albert.embeddings.forward(batch, cfg.layer_norm_eps as f32);
        let x = self.albert.encoder.forward(&emb, batch, cfg, self.act, req, &mut out)?;
        if let Some(head) = self.predictions.as_ref().filter(|_| !rows.is_empty()) {
            let logits = |x: &[f32]| head.forward(&ops::gather_rows(x, h, &rows), rows.len(), self.decoder(head), cfg, self.act);
            out.logits = Some(logits(&x));
            if req.lens {
                out.lens = Some(out.hidden_states.iter().flat_map(|hs| logits(hs)).collect());
            }
        }
        if req.lens && !req.hidden_states {
            out.hidden_states.clear();
        }
        if let (true, Some(pooler), Some(sop)) = (req.sop, &self.albert.pooler, &self.sop_classifier) {
            let cls: Vec<usize> = (0..batch.batch).map(|b| b * batch.seq_len).collect();
            let pooled = pooler.forward(&ops::gather_rows(&x, h, &cls), batch.batch, Activation::Tanh);
            out.sop_logits = Some(sop.classifier.forward(&pooled, batch.batch, Activation::Linear));
        }
        Ok(out)
    }
}
