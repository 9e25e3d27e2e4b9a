//! The GPU model and its plans. `AlbertForMaskedLM::new` uploads the weights once; for each
//! input shape (and outputs asked for) a `Plan` of activation buffers, a readback layout and
//! the recorded program is built once and reused; a forward writes the tokens, submits the
//! program once and maps one staging buffer holding only what the caller asked for.

use super::device::Gpu;
use super::kernels::{Pipelines, ATTENTION_MAX_T};
use super::model::Ctx;
use super::record::{token_words, Op, Recorder, Timing};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::model;
use crate::output::{pooled_side, schedule_to, AttentionMap, Batch, HeadSwitch, MapViews, Neuron, Output, Request, Thumbnails};
use crate::weights::{AlbertWeights, DType};
use std::collections::HashMap;
use std::sync::Arc;

/// Input shape and outputs asked for: everything a `Plan` depends on.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct PlanKey {
    batch: usize,
    seq_len: usize,
    logit_rows: usize,
    attentions: bool,
    hidden_states: bool,
    sop: bool,
    /// Layer applications (`Request::depth`).
    depth: usize,
    lens: bool,
    drift: bool,
    /// Heads switched off per call (`Request::heads_off`).
    off: Vec<Vec<usize>>,
    /// The neuron view's call index and head.
    neuron: Option<(usize, HeadSwitch)>,
    /// What the attention views read of the maps (`MapViews::checked`).
    maps: MapViews,
}

impl PlanKey {
    /// The forward materializes the attention probabilities (the fused kernel never does).
    fn needs_probs(&self) -> bool {
        self.attentions || self.maps.any() || self.seq_len > ATTENTION_MAX_T as usize
    }

    /// The maps read back whole: every one, or those asked for.
    fn whole(&self, index: usize) -> bool {
        self.attentions || self.maps.whole.contains(&index)
    }

    /// The side of the thumbnails asked for, at this plan's length.
    fn thumb_side(&self) -> Option<usize> {
        self.maps.thumbnails.map(|max| pooled_side(self.seq_len, max).1)
    }
}

/// The activation buffers of one plan (f32), named after what they hold.
pub(crate) struct Buffers {
    pub batch: usize,
    pub seq_len: usize,
    /// `batch · seq_len`.
    pub rows: usize,
    /// `[ids | type ids | mask]` (`record::token_words`).
    pub tokens: wgpu::Buffer,
    pub embeddings: wgpu::Buffer,
    pub hidden: wgpu::Buffer,
    pub qkv: wgpu::Buffer,
    pub context: wgpu::Buffer,
    pub projected: wgpu::Buffer,
    pub attention_output: wgpu::Buffer,
    pub ffn: wgpu::Buffer,
    pub ffn_output: wgpu::Buffer,
    /// Attention probabilities: one per layer application when every map is read back, one
    /// reused when some are, or reduced, or the sequence is too long for the fused kernel, none
    /// otherwise.
    pub probs: Vec<wgpu::Buffer>,
    /// Every map's mean over heads, `[calls, batch, T, T]` (`MapViews::head_means`).
    pub head_means: Option<wgpu::Buffer>,
    /// Every head of every map max-pooled, `[calls, batch · heads, side, side]`, the largest
    /// side asked (`MapViews::thumbnails`) and the side that gives at this length.
    pub thumbnails: Option<(wgpu::Buffer, usize, usize)>,
    /// The rows whose logits are computed, and how many.
    pub logit_rows: wgpu::Buffer,
    pub logit_rows_len: usize,
    /// Layer applications this plan runs.
    pub depth: usize,
    /// Logit lens: the logits rows of h_0..h_depth, stacked `[(depth + 1) · m, H]`.
    pub lens: Option<wgpu::Buffer>,
    /// Drift: h_{l−1} kept for the comparison, and the `[depth, 2]` results.
    pub drift: Option<(wgpu::Buffer, wgpu::Buffer)>,
    /// Heads switched off in each call of the schedule (by index).
    pub off: Vec<Vec<usize>>,
}

/// Where each output lies in the staging buffer: (offset, length) in f32s.
pub(crate) struct Readback {
    pub staging: wgpu::Buffer,
    pub bytes: u64,
    pub hidden_at: Vec<(usize, usize)>,
    /// Per call, where its whole map lies when it is read back.
    pub attentions_at: Vec<Option<(usize, usize)>>,
    pub head_means_at: Option<(usize, usize)>,
    pub thumbnails_at: Option<(usize, usize)>,
    pub logits_at: Option<(usize, usize)>,
    /// The logit lens; `logits_at` is then its last block.
    pub lens_at: Option<(usize, usize)>,
    pub drift_at: Option<(usize, usize)>,
    /// The neuron view: (call index, where the call's whole `[n, 3H]` qkv lies).
    pub neuron_at: Option<(usize, (usize, usize))>,
    pub sop_at: Option<(usize, usize)>,
    /// Two u64 timestamps (a forward's GPU time), 8-byte aligned at the end.
    ts_at: Option<usize>,
}

impl Readback {
    fn new(g: &Gpu, cfg: &Config, key: &PlanKey) -> Readback {
        let (n, b, t) = (key.batch * key.seq_len, key.batch, key.seq_len);
        let probs_len = b * cfg.num_attention_heads * t * t;
        let mut len = 0usize;
        let mut alloc = |n: usize| {
            let at = (len, n);
            len += n;
            at
        };
        let hidden_at = if key.hidden_states { (0..=key.depth).map(|_| alloc(n * cfg.hidden_size)).collect() } else { vec![] };
        let calls = key.depth * cfg.inner_group_num;
        let attentions_at = (0..calls).map(|i| key.whole(i).then(|| alloc(probs_len))).collect();
        let head_means_at = key.maps.head_means.then(|| alloc(calls * b * t * t));
        let thumbnails_at = key.thumb_side().map(|side| alloc(calls * b * cfg.num_attention_heads * side * side));
        let row_logits = key.logit_rows * cfg.vocab_size;
        let lens_at = (key.lens && key.logit_rows > 0).then(|| alloc((key.depth + 1) * row_logits));
        let logits_at = match lens_at {
            Some((o, n)) => Some((o + n - row_logits, row_logits)),
            None => (key.logit_rows > 0).then(|| alloc(row_logits)),
        };
        let sop_at = key.sop.then(|| alloc(b * 2));
        let drift_at = key.drift.then(|| alloc(key.depth * 2));
        let neuron_at = key.neuron.map(|(call, _)| (call, alloc(n * 3 * cfg.hidden_size)));
        let ts_at = g.timestamps.then(|| {
            let (end, _) = alloc(0);
            alloc(end % 2); // pad
            alloc(4).0
        });
        let bytes = (len.max(1) * 4) as u64;
        Readback { staging: g.staging(bytes as usize), bytes, hidden_at, attentions_at, head_means_at, thumbnails_at, logits_at, lens_at, drift_at, neuron_at, sop_at, ts_at }
    }

    /// Records the copy of `src` into the staging buffer at `(offset, len)`.
    pub fn copy(&self, rec: &mut Recorder, src: &wgpu::Buffer, (o, len): (usize, usize)) {
        rec.copy(src, &self.staging, (o * 4) as u64, (len * 4) as u64);
    }
}

struct Plan {
    bufs: Buffers,
    out: Readback,
    program: Vec<Op>,
    timing: Option<Timing>,
    last_used: u64,
}

/// How many input shapes keep their buffers alive at once.
const PLAN_CACHE: usize = 4;

/// ALBERT with an optional MLM head on the GPU; see the module header for the design.
pub struct AlbertForMaskedLM {
    pub config: Config,
    pub gpu: Gpu,
    pub dtype: DType,
    model: model::AlbertForMaskedLM<Gpu>,
    pub(crate) pipes: Arc<Pipelines>,
    weight_bytes: usize,
    plans: HashMap<PlanKey, Plan>,
    clock: u64,
    /// GPU time of the last forward from timestamp queries, when the device has them.
    pub last_gpu_ms: Option<f64>,
    /// Compute dispatches the last forward recorded (all in one submission).
    pub last_dispatches: usize,
    /// Test hook, as a broken kernel would be: adds this to the first element of the last
    /// layer's hidden state and attention map and of the logits each forward reads back, so
    /// the cross-check can be seen to fail. `None` (always, outside tests).
    pub perturb: Option<f32>,
}

impl AlbertForMaskedLM {
    /// Compiles (or reuses) the pipelines and uploads every weight once (a tied decoder binds
    /// the word-embedding buffer: no second copy).
    pub async fn new(gpu: &Gpu, config: &Config, w: &AlbertWeights) -> Result<Self> {
        gpu.check_lost()?;
        let pipes = gpu.pipelines(w.dtype).await?;
        let model = w.load(config, gpu)?;
        Ok(AlbertForMaskedLM {
            config: config.clone(),
            gpu: gpu.clone(),
            dtype: w.dtype,
            model,
            pipes,
            weight_bytes: w.nbytes(),
            plans: HashMap::new(),
            clock: 0,
            last_gpu_ms: None,
            last_dispatches: 0,
            perturb: None,
        })
    }

    pub fn has_mlm_head(&self) -> bool {
        self.model.has_mlm_head()
    }

    /// Whether the checkpoint has (the pooler, the SOP classifier).
    pub fn sop_parts(&self) -> (bool, bool) {
        (self.model.albert.pooler.is_some(), self.model.sop_classifier.is_some())
    }

    /// Bytes of weights resident on the GPU.
    pub fn weight_bytes(&self) -> usize {
        self.weight_bytes
    }

    pub async fn forward(&mut self, batch: &Batch, req: &Request) -> Result<Output> {
        let (key, rows) = self.prepare(batch, req)?;
        let plan = &self.plans[&key];
        self.gpu.submit(&self.pipes, &plan.program, plan.timing.as_ref());
        let data: Vec<f32> = self.gpu.read_as(&plan.out.staging, plan.out.bytes).await?;
        self.last_gpu_ms = plan.out.ts_at.and_then(|at| {
            let raw: &[u8] = bytemuck::cast_slice(data.get(at..at + 4)?);
            let (t0, t1) = (bytemuck::pod_read_unaligned::<u64>(&raw[..8]), bytemuck::pod_read_unaligned::<u64>(&raw[8..]));
            let ticks = t1.checked_sub(t0)?;
            Some(ticks as f64 * self.gpu.queue.get_timestamp_period() as f64 / 1e6)
        });
        let mut out = self.unpack(&key, rows, &data);
        if let Some(d) = self.perturb {
            let firsts = [out.hidden_states.last_mut().map(|h| &mut h[..]), out.attentions.last_mut().map(|a| &mut a.data[..]), out.logits.as_deref_mut()];
            for x in firsts.into_iter().flatten().filter_map(|v| v.first_mut()) {
                *x += d;
            }
        }
        Ok(out)
    }

    /// The program of a prepared plan, and its staging buffer and size (for `profile`).
    pub(super) fn program(&self, key: &PlanKey) -> (&[Op], &wgpu::Buffer, u64) {
        let plan = &self.plans[key];
        (&plan.program, &plan.out.staging, plan.out.bytes)
    }

    /// Validates the input, finds or builds the plan for its shape and writes the token ids and
    /// logit rows; returns the plan's key and the logit rows.
    pub(super) fn prepare(&mut self, batch: &Batch, req: &Request) -> Result<(PlanKey, Vec<usize>)> {
        self.gpu.check_lost()?;
        batch.validate(&self.config)?;
        let rows = req.rows(batch)?;
        if !rows.is_empty() && !self.has_mlm_head() {
            return Err(Error::NoMlmHead);
        }
        let key = PlanKey {
            batch: batch.batch,
            seq_len: batch.seq_len,
            logit_rows: rows.len(),
            attentions: req.attentions,
            hidden_states: req.hidden_states,
            sop: req.sop && self.model.albert.pooler.is_some() && self.model.sop_classifier.is_some(),
            depth: req.depth(&self.config)?,
            lens: req.lens,
            drift: req.drift,
            off: {
                let d = req.depth(&self.config)?;
                let off = req.heads_off(&self.config, d)?;
                if off.iter().all(|o| o.is_empty()) { vec![] } else { off }
            },
            neuron: req.neuron_call(&self.config, req.depth(&self.config)?)?.zip(req.neuron),
            maps: req.maps.checked(req.depth(&self.config)? * self.config.inner_group_num)?,
        };
        if req.lens && rows.is_empty() {
            return Err(Error::Input("the logit lens needs logits rows (the [MASK] rows) to look at".into()));
        }
        if !self.plans.contains_key(&key) {
            if self.plans.len() >= PLAN_CACHE {
                let oldest = self.plans.iter().min_by_key(|(_, p)| p.last_used).map(|(k, _)| k.clone());
                if let Some(k) = oldest {
                    self.plans.remove(&k);
                }
            }
            let plan = self.build_plan(&key);
            self.plans.insert(key.clone(), plan);
        }
        self.clock += 1;
        let plan = self.plans.get_mut(&key).ok_or_else(|| Error::Gpu("plan cache inconsistency".into()))?;
        plan.last_used = self.clock;
        self.last_dispatches = plan.program.iter().filter(|op| matches!(op, Op::Dispatch(_))).count();
        let q = &self.gpu.queue;
        q.write_buffer(&plan.bufs.tokens, 0, &token_words(&batch.input_ids, &batch.token_type_ids, &batch.attention_mask));
        if !rows.is_empty() {
            let r: Vec<u32> = rows.iter().map(|&r| r as u32).collect();
            q.write_buffer(&plan.bufs.logit_rows, 0, bytemuck::cast_slice(&r));
        }
        Ok((key, rows))
    }

    /// Cuts a forward's staging data into an `Output`.
    pub(super) fn unpack(&self, key: &PlanKey, rows: Vec<usize>, data: &[f32]) -> Output {
        let out = &self.plans[key].out;
        let take = |(o, n): (usize, usize)| data[o..o + n].to_vec();
        let calls = key.depth * self.config.inner_group_num;
        // One block of `calls` equal maps → one Vec a map.
        let split = |v: Vec<f32>, calls: usize| v.chunks_exact((v.len() / calls.max(1)).max(1)).map(<[f32]>::to_vec).collect();
        Output {
            logit_rows: rows,
            logits: out.logits_at.map(take),
            sop_logits: out.sop_at.map(take),
            lens: out.lens_at.map(take),
            drift: out.drift_at.map(take),
            neuron: out.neuron_at.zip(key.neuron).map(|((_, at), (_, head))| {
                let (h, d) = (self.config.hidden_size, self.config.head_dim());
                let qkv = take(at);
                let cols = |off: usize| qkv.chunks_exact(3 * h).flat_map(|r| r[off + head.head * d..off + (head.head + 1) * d].to_vec()).collect();
                Neuron { head, q: cols(0), k: cols(h) }
            }),
            hidden_states: out.hidden_at.iter().map(|&a| take(a)).collect(),
            attentions: schedule_to(&self.config, key.depth)
                .into_iter()
                .zip(&out.attentions_at)
                .enumerate()
                .filter_map(|(index, ((layer, group, inner), at))| at.map(|at| AttentionMap { index, layer, group, inner, data: take(at) }))
                .collect(),
            head_means: out.head_means_at.map_or_else(Vec::new, |at| split(take(at), calls)),
            thumbnails: out.thumbnails_at.zip(key.thumb_side()).map(|(at, side)| Thumbnails { side, maps: split(take(at), calls) }),
        }
    }

    fn build_plan(&self, key: &PlanKey) -> Plan {
        let (cfg, g) = (&self.config, &self.gpu);
        let (b, t) = (key.batch, key.seq_len);
        let n = b * t;
        let (e, h) = (cfg.embedding_size, cfg.hidden_size);
        let f = 4usize;
        let calls = key.depth * cfg.inner_group_num;
        let probs_bytes = b * cfg.num_attention_heads * t * t * f;
        let n_probs = if key.attentions { calls } else if key.needs_probs() { 1 } else { 0 };
        let bufs = Buffers {
            batch: b,
            seq_len: t,
            rows: n,
            tokens: g.storage("tokens", 3 * n * 4),
            embeddings: g.storage("embeddings", n * e * f),
            hidden: g.storage("hidden", n * h * f),
            qkv: g.storage("qkv", n * 3 * h * f),
            context: g.storage("context", n * h * f),
            projected: g.storage("projected", n * h * f),
            attention_output: g.storage("attention_output", n * h * f),
            ffn: g.storage("ffn", n * cfg.intermediate_size * f),
            ffn_output: g.storage("ffn_output", n * h * f),
            probs: (0..n_probs).map(|_| g.storage("attention_probs", probs_bytes)).collect(),
            head_means: key.maps.head_means.then(|| g.storage("attention_head_means", calls * b * t * t * f)),
            thumbnails: key.maps.thumbnails.zip(key.thumb_side()).map(|(max, side)| {
                (g.storage("attention_thumbnails", calls * b * cfg.num_attention_heads * side * side * f), max, side)
            }),
            logit_rows: g.storage("logit_rows", key.logit_rows.max(1) * 4),
            logit_rows_len: key.logit_rows,
            depth: key.depth,
            lens: key.lens.then(|| g.storage("lens_rows", (key.depth + 1) * key.logit_rows * h * f)),
            drift: key.drift.then(|| (g.storage("drift_prev", n * h * f), g.storage("drift", key.depth * 2 * f))),
            off: key.off.clone(),
        };
        let out = Readback::new(g, cfg, key);
        let mut rec = Recorder::new(g, self.pipes.clone());
        self.model.record(&mut Ctx { rec: &mut rec, cfg, bufs: &bufs, out: &out });
        let timing = out.ts_at.map(|at| Timing {
            queries: g.device.create_query_set(&wgpu::QuerySetDescriptor { label: Some("forward"), ty: wgpu::QueryType::Timestamp, count: 2 }),
            resolve: g.buffer(&wgpu::BufferDescriptor {
                label: Some("timestamps"),
                size: 16,
                usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
                mapped_at_creation: false,
            }),
            staging: out.staging.clone(),
            staging_offset: (at * f) as u64,
        });
        Plan { bufs, out, program: rec.program, timing, last_used: 0 }
    }
}
