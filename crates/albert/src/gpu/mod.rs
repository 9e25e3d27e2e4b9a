//! The GPU engine: ALBERT as wgpu compute shaders, natively (Vulkan/Metal/DX12) and in the
//! browser (WebGPU), mirroring `cpu` name for name.
//!
//! Shape of the work, following wgpu's repeated_compute: device and pipelines are made once;
//! weights are uploaded once per model (so a shared ALBERT block exists once in GPU memory,
//! however many layers run it); for each input shape a `Plan` of activation buffers, bind
//! groups and dispatches is built once and reused; a forward writes the token ids, records
//! every dispatch in one command encoder, submits once, and maps one staging buffer holding
//! only what the caller asked for.

pub mod kernels;
pub mod ops;

use crate::config::{Activation, Config};
use crate::error::{Error, Result};
use crate::output::{schedule, AttentionMap, Batch, Output, Request};
use crate::weights::{AlbertWeights, DType, Tensor, TensorData};
use kernels::{Kernel, Pipelines};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use wgpu::util::DeviceExt;

/// A GPU device with its queue and compiled pipelines, shared by every model on it.
#[derive(Clone)]
pub struct Gpu {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub info: wgpu::AdapterInfo,
    pub limits: wgpu::Limits,
    /// Whether the device records timestamp queries (GPU time per forward).
    pub timestamps: bool,
    lost: Arc<Mutex<Option<String>>>,
    pipelines: Arc<Mutex<Vec<(DType, Arc<Pipelines>)>>>,
}

impl Gpu {
    /// Picks the high-performance adapter and opens a device with the adapter's own limits
    /// (large models need storage bindings beyond WebGPU's 128 MiB default).
    pub async fn new() -> Result<Gpu> {
        let instance = wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
        let adapter = instance
            .request_adapter(&wgpu::RequestAdapterOptions {
                power_preference: wgpu::PowerPreference::HighPerformance,
                force_fallback_adapter: false,
                ..Default::default()
            })
            .await
            .map_err(|e| {
                Error::Gpu(format!(
                    "no GPU adapter is available ({e}). Natively this needs a Vulkan, Metal or DX12 driver \
                     (on Debian: apt install mesa-vulkan-drivers); in a browser it needs WebGPU. \
                     The CPU path (--device cpu) works without one."
                ))
            })?;
        Self::from_adapter(&adapter).await
    }

    pub async fn from_adapter(adapter: &wgpu::Adapter) -> Result<Gpu> {
        let info = adapter.get_info();
        let limits = adapter.limits();
        // Timestamps give GPU-side forward times for `albert bench`; optional everywhere.
        let required_features = adapter.features() & wgpu::Features::TIMESTAMP_QUERY;
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("albert"),
                required_features,
                required_limits: limits.clone(),
                ..Default::default()
            })
            .await
            .map_err(|e| Error::Gpu(format!("the adapter `{}` refused a device: {e}", info.name)))?;
        let lost = Arc::new(Mutex::new(None));
        let l2 = lost.clone();
        device.set_device_lost_callback(move |reason, msg| {
            if let Ok(mut g) = l2.lock() {
                *g = Some(format!("{reason:?}: {msg}"));
            }
        });
        // Errors outside an error scope must not abort the process (wgpu's default handler
        // panics); forwards detect them through the lost flag or failed mapping.
        device.on_uncaptured_error(Arc::new(|e| {
            eprintln!("albert: uncaptured GPU error: {e}");
        }));
        let timestamps = required_features.contains(wgpu::Features::TIMESTAMP_QUERY);
        Ok(Gpu { device, queue, info, limits, timestamps, lost, pipelines: Arc::new(Mutex::new(Vec::new())) })
    }

    /// "name (backend, device type)" for people.
    pub fn describe(&self) -> String {
        format!("{} ({:?}, {:?})", self.info.name, self.info.backend, self.info.device_type)
    }

    fn check_lost(&self) -> Result<()> {
        match self.lost.lock().ok().and_then(|g| g.clone()) {
            Some(m) => Err(Error::Gpu(format!("the GPU device was lost ({m}); reload the model to continue"))),
            None => Ok(()),
        }
    }

    /// Pipelines for a weight dtype, compiled on first use.
    pub async fn pipelines(&self, dtype: DType) -> Result<Arc<Pipelines>> {
        if let Some(p) = self.pipelines.lock().ok().and_then(|v| v.iter().find(|(d, _)| *d == dtype).map(|(_, p)| p.clone())) {
            return Ok(p);
        }
        let p = Arc::new(Pipelines::new(&self.device, dtype).await?);
        if let Ok(mut v) = self.pipelines.lock() {
            v.push((dtype, p.clone()));
        }
        Ok(p)
    }

    fn storage(&self, label: &str, bytes: usize) -> wgpu::Buffer {
        self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: (bytes.max(4) as u64).next_multiple_of(4),
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        })
    }

    fn storage_init(&self, label: &str, bytes: &[u8]) -> wgpu::Buffer {
        let mut data = bytes.to_vec();
        data.resize(data.len().max(4).next_multiple_of(4), 0);
        self.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some(label),
            contents: &data,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST,
        })
    }

    /// Uploads a weight tensor as stored: f32 words, or f16 pairs packed into u32 words.
    pub fn upload(&self, t: &Tensor) -> wgpu::Buffer {
        match &t.data {
            TensorData::F32(v) => self.storage_init(&t.name, bytemuck::cast_slice(v)),
            TensorData::F16(v) => self.storage_init(&t.name, bytemuck::cast_slice(v)),
        }
    }

    fn staging(&self, bytes: usize) -> wgpu::Buffer {
        self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("readback"),
            size: (bytes.max(4) as u64).next_multiple_of(4),
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        })
    }

    /// One prepared dispatch: a uniform with `params`, a bind group (binding 0 = the uniform,
    /// then `bindings`), and the workgroup counts. `stage` names what it computes in the
    /// model (see `DispatchTime`).
    fn step(&self, pipes: &Pipelines, stage: &'static str, kernel: Kernel, params: &[u8], bindings: &[(u32, &wgpu::Buffer)], groups: [u32; 3]) -> Step {
        let uniform = self.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some(kernel.name()),
            contents: params,
            usage: wgpu::BufferUsages::UNIFORM,
        });
        let mut entries = vec![wgpu::BindGroupEntry { binding: 0, resource: uniform.as_entire_binding() }];
        entries.extend(bindings.iter().map(|(b, buf)| wgpu::BindGroupEntry { binding: *b, resource: buf.as_entire_binding() }));
        let bind_group = self.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some(kernel.name()),
            layout: &pipes.get(kernel).get_bind_group_layout(0),
            entries: &entries,
        });
        Step { stage, kernel, bind_group, groups }
    }

    /// Records ops into one encoder (compute passes split only around copies) and submits once.
    fn submit(&self, pipes: &Pipelines, program: &[Op], timing: Option<&Timing>) {
        let mut enc = self.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("albert forward") });
        let first = program.iter().position(|o| matches!(o, Op::Dispatch(_)));
        let last = program.iter().rposition(|o| matches!(o, Op::Dispatch(_)));
        let mut i = 0;
        while i < program.len() {
            match &program[i] {
                Op::Dispatch(_) => {
                    // The pass holding the first dispatch stamps its start, the one holding the
                    // last stamps its end: the span covers the whole forward on the GPU.
                    let end = program[i..].iter().position(|o| !matches!(o, Op::Dispatch(_))).map_or(program.len(), |n| i + n);
                    let timestamp_writes = timing.map(|t| wgpu::ComputePassTimestampWrites {
                        query_set: &t.queries,
                        beginning_of_pass_write_index: (Some(i) == first).then_some(0),
                        end_of_pass_write_index: last.filter(|&l| l < end).map(|_| 1),
                    });
                    let timestamp_writes = timestamp_writes.filter(|w| w.beginning_of_pass_write_index.is_some() || w.end_of_pass_write_index.is_some());
                    let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor { label: Some("albert"), timestamp_writes });
                    while let Some(Op::Dispatch(s)) = program.get(i) {
                        s.record(&mut pass, pipes);
                        i += 1;
                    }
                }
                Op::Copy { src, src_offset, dst, dst_offset, bytes } => {
                    enc.copy_buffer_to_buffer(src, *src_offset, dst, *dst_offset, *bytes);
                    i += 1;
                }
            }
        }
        if let Some(t) = timing {
            enc.resolve_query_set(&t.queries, 0..2, &t.resolve, 0);
            enc.copy_buffer_to_buffer(&t.resolve, 0, &t.staging, t.staging_offset, 16);
        }
        self.queue.submit([enc.finish()]);
    }

    /// Like `submit`, but every dispatch gets a compute pass of its own with a timestamp at its
    /// start and end (queries 2i and 2i + 1), resolved and copied to `staging` at offset 0.
    /// Separate passes stop the GPU from overlapping dispatches, so a profiled forward is a
    /// little slower than a plain one; what it shows is where the time goes.
    fn submit_profiled(&self, pipes: &Pipelines, program: &[Op], queries: &wgpu::QuerySet, resolve: &wgpu::Buffer, staging: &wgpu::Buffer) {
        let mut enc = self.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("albert profiled forward") });
        let mut k = 0u32;
        for op in program {
            match op {
                Op::Dispatch(s) => {
                    let timestamp_writes = Some(wgpu::ComputePassTimestampWrites {
                        query_set: queries,
                        beginning_of_pass_write_index: Some(2 * k),
                        end_of_pass_write_index: Some(2 * k + 1),
                    });
                    s.record(&mut enc.begin_compute_pass(&wgpu::ComputePassDescriptor { label: Some(s.stage), timestamp_writes }), pipes);
                    k += 1;
                }
                Op::Copy { src, src_offset, dst, dst_offset, bytes } => enc.copy_buffer_to_buffer(src, *src_offset, dst, *dst_offset, *bytes),
            }
        }
        if k > 0 {
            enc.resolve_query_set(queries, 0..2 * k, resolve, 0);
            enc.copy_buffer_to_buffer(resolve, 0, staging, 0, 16 * k as u64);
        }
        self.queue.submit([enc.finish()]);
    }

    /// Maps `bytes` of a staging buffer and returns them as f32s.
    async fn read(&self, buf: &wgpu::Buffer, bytes: u64) -> Result<Vec<f32>> {
        self.read_as(buf, bytes).await
    }

    /// Maps `bytes` of a staging buffer and copies them out once, as `T`s (f32 outputs, u64
    /// timestamps; unaligned-safe).
    async fn read_as<T: bytemuck::Pod>(&self, buf: &wgpu::Buffer, bytes: u64) -> Result<Vec<T>> {
        let (tx, rx) = futures_channel::oneshot::channel();
        let slice = buf.slice(..bytes);
        slice.map_async(wgpu::MapMode::Read, move |r| {
            let _ = tx.send(r);
        });
        #[cfg(not(target_arch = "wasm32"))]
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| Error::Gpu(format!("waiting for the GPU failed: {e}")))?;
        let mapped = rx.await.map_err(|_| Error::Gpu("the GPU dropped a readback request".into()))?;
        if let Err(e) = mapped {
            self.check_lost()?;
            return Err(Error::Gpu(format!("reading results back from the GPU failed: {e}")));
        }
        let out = {
            let view = slice.get_mapped_range().map_err(|e| Error::Gpu(format!("mapping the readback buffer failed: {e}")))?;
            bytemuck::pod_collect_to_vec::<u8, T>(&view)
        };
        buf.unmap();
        Ok(out)
    }
}

/// Timestamp queries of one plan: written by the first and last compute passes, resolved and
/// copied to the end of the plan's staging buffer.
struct Timing {
    queries: wgpu::QuerySet,
    resolve: wgpu::Buffer,
    staging: wgpu::Buffer,
    staging_offset: u64,
}

struct Step {
    stage: &'static str,
    kernel: Kernel,
    bind_group: wgpu::BindGroup,
    groups: [u32; 3],
}

impl Step {
    fn record(&self, pass: &mut wgpu::ComputePass<'_>, pipes: &Pipelines) {
        pass.set_pipeline(pipes.get(self.kernel));
        pass.set_bind_group(0, &self.bind_group, &[]);
        pass.dispatch_workgroups(self.groups[0], self.groups[1], self.groups[2]);
    }
}

enum Op {
    Dispatch(Step),
    Copy { src: wgpu::Buffer, src_offset: u64, dst: wgpu::Buffer, dst_offset: u64, bytes: u64 },
}

/// GPU time of one dispatch of a profiled forward (`AlbertForMaskedLM::profile`).
#[derive(Debug, Clone, serde::Serialize)]
pub struct DispatchTime {
    /// What it computes, in HF's names: `attention.query_key_value`, `ffn`, `predictions.decoder`…
    pub stage: &'static str,
    /// The WGSL kernel (`kernels::Kernel::name`).
    pub kernel: &'static str,
    pub ms: f64,
}

/// Dispatch times summed by stage and kernel (in order of first appearance): calls and ms.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct StageTime {
    pub stage: &'static str,
    pub kernel: &'static str,
    pub calls: usize,
    pub ms: f64,
}

/// Sums `times` by (stage, kernel); the layers of a shared block add up into one row each.
pub fn by_stage(times: &[DispatchTime]) -> Vec<StageTime> {
    let mut out: Vec<StageTime> = Vec::new();
    for t in times {
        match out.iter_mut().find(|s| s.stage == t.stage && s.kernel == t.kernel) {
            Some(s) => {
                s.calls += 1;
                s.ms += t.ms;
            }
            None => out.push(StageTime { stage: t.stage, kernel: t.kernel, calls: 1, ms: t.ms }),
        }
    }
    out
}

/// Each dispatch's median time over several profiles of the same plan (same program, so entry
/// i is the same dispatch in every run); nearest-rank median as `bench::stats`.
pub fn median_per_dispatch(runs: &[Vec<DispatchTime>]) -> Vec<DispatchTime> {
    let Some(first) = runs.first() else { return vec![] };
    first
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let ms: Vec<f64> = runs.iter().filter_map(|r| r.get(i)).map(|r| r.ms).collect();
            DispatchTime { ms: crate::bench::stats(&ms).0, ..d.clone() }
        })
        .collect()
}

/// Workgroup grids; rows beyond 65,535 spill into the next dimension (the kernels fold them back).
fn grid_rows(rows: usize) -> [u32; 3] {
    let r = rows.max(1) as u32;
    [r.min(65535), r.div_ceil(65535), 1]
}
/// Rows below which `linear_small` (16-row tiles) beats `linear` (64-row tiles).
const SMALL_M: usize = 48;
/// Rows up to which `linear_gemv` (16 columns a workgroup, K split over 4 threads) is used.
const GEMV_M: usize = 8;
/// Output columns a `linear_gemv` workgroup computes (`COLS` in linear_gemv.wgsl).
const GEMV_COLS: u32 = 16;
/// Longest input (K) for which few rows use `linear_gemv_short_k` (one thread a column).
const SHORT_K: usize = 256;
/// Output columns a `linear_gemv_short_k` workgroup computes (`COLS` in its WGSL).
const GEMV_SHORT_K_COLS: u32 = 64;

/// The linear kernel for `m` rows of `k` inputs and `n` outputs, and its grid.
fn linear_kernel(m: usize, n: usize, k: usize) -> (Kernel, [u32; 3]) {
    let cols = (n.max(1) as u32).div_ceil(64);
    if m <= GEMV_M && k <= SHORT_K {
        (Kernel::LinearGemvShortK, [(n.max(1) as u32).div_ceil(GEMV_SHORT_K_COLS), (m.max(1) as u32).div_ceil(8), 1])
    } else if m <= GEMV_M {
        (Kernel::LinearGemv, [(n.max(1) as u32).div_ceil(GEMV_COLS), (m.max(1) as u32).div_ceil(8), 1])
    } else if m <= SMALL_M {
        (Kernel::LinearSmall, [cols, (m.max(1) as u32).div_ceil(16), 1])
    } else {
        (Kernel::Linear, [cols, (m.max(1) as u32).div_ceil(64), 1])
    }
}
fn grid_context(rows: usize, hidden: usize) -> [u32; 3] {
    let r = rows.max(1) as u32;
    [(hidden as u32).div_ceil(64), r.min(65535), r.div_ceil(65535)]
}

fn u32s(v: &[u32]) -> Vec<u8> {
    bytemuck::cast_slice(v).to_vec()
}

fn linear_params(m: usize, n: usize, k: usize, act: Activation) -> Vec<u8> {
    u32s(&[m as u32, n as u32, k as u32, act.code()])
}

fn ln_params(rows: usize, n: usize, eps: f32, residual: bool) -> Vec<u8> {
    u32s(&[rows as u32, n as u32, eps.to_bits(), residual as u32])
}

/// `AttentionParams` of attention_params.wgsl. q, k, v are read at row `stride` from column
/// offsets `qkv_off` (the fused projection: `[0, H, 2H]` at stride 3H).
fn attn_params(b: usize, t: usize, heads: usize, d: usize, stride: usize, qkv_off: [usize; 3]) -> Vec<u8> {
    let h = heads * d;
    let [qo, ko, vo] = qkv_off.map(|o| o as u32);
    u32s(&[b as u32, t as u32, heads as u32, d as u32, stride as u32, (1.0 / (d as f32).sqrt()).to_bits(), (b * t) as u32, h as u32, qo, ko, vo, 0])
}

/// Longest sequence the fused attention kernel takes (`MAX_T` in attention.wgsl): every
/// ALBERT's max_position_embeddings; longer inputs run attention_probs + attention_context.
pub const ATTENTION_MAX_T: usize = 512;
/// Query rows a fused attention workgroup takes (`ROWS` in attention.wgsl).
const ATTENTION_ROWS: u32 = 4;

/// The fused attention kernel's grid: row blocks × (batch · heads).
fn grid_attention(t: usize, bh: usize) -> [u32; 3] {
    [(t.max(1) as u32).div_ceil(ATTENTION_ROWS), bh as u32, 1]
}

struct LinearBufs {
    w: wgpu::Buffer,
    b: wgpu::Buffer,
    out: usize,
    inp: usize,
}

/// Stacks a layer's query, key and value projections for the fused `[3H, H]` linear.
fn fused_qkv(gpu: &Gpu, l: &crate::weights::LayerWeights) -> Result<LinearBufs> {
    let stack = |name: &str, parts: [&Tensor; 3]| {
        Tensor::concat_rows(name, &parts).ok_or_else(|| {
            Error::Gpu(format!("`{}`, `{}` and `{}` differ in shape or dtype and cannot be fused", parts[0].name, parts[1].name, parts[2].name))
        })
    };
    let w = stack("attention.qkv.weight", [&l.query.weight, &l.key.weight, &l.value.weight])?;
    let b = stack("attention.qkv.bias", [&l.query.bias, &l.key.bias, &l.value.bias])?;
    Ok(LinearBufs { out: w.shape[0], inp: w.shape[1], w: gpu.upload(&w), b: gpu.upload(&b) })
}

struct LnBufs {
    w: wgpu::Buffer,
    b: wgpu::Buffer,
}

struct LayerBufs {
    /// query, key and value stacked into one `[3H, H]` projection: one dispatch instead of
    /// three, and three times the workgroups for short inputs.
    qkv: LinearBufs,
    dense: LinearBufs,
    attention_layer_norm: LnBufs,
    ffn: LinearBufs,
    ffn_output: LinearBufs,
    full_layer_layer_norm: LnBufs,
}

struct HeadBufs {
    dense: LinearBufs,
    layer_norm: LnBufs,
    decoder_weight: wgpu::Buffer,
    decoder_bias: wgpu::Buffer,
}

/// Input shape and outputs asked for: everything a `Plan` depends on.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct PlanKey {
    batch: usize,
    seq_len: usize,
    logit_rows: usize,
    attentions: bool,
    hidden_states: bool,
    sop: bool,
}

struct Plan {
    tokens: wgpu::Buffer,
    rows: wgpu::Buffer,
    program: Vec<Op>,
    staging: wgpu::Buffer,
    staging_bytes: u64,
    /// (offset in f32s, length) of each output in the staging buffer.
    logits_at: Option<(usize, usize)>,
    attentions_at: Vec<(usize, usize)>,
    hidden_at: Vec<(usize, usize)>,
    sop_at: Option<(usize, usize)>,
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
    act: Activation,
    pipes: Arc<Pipelines>,
    emb: [wgpu::Buffer; 5],
    mapping_in: LinearBufs,
    groups: Vec<Vec<LayerBufs>>,
    head: Option<HeadBufs>,
    pooler: Option<LinearBufs>,
    sop: Option<LinearBufs>,
    weight_bytes: usize,
    plans: HashMap<PlanKey, Plan>,
    clock: u64,
    /// GPU time of the last forward from timestamp queries, when the device has them.
    pub last_gpu_ms: Option<f64>,
    /// Compute dispatches the last forward recorded (all in one submission).
    pub last_dispatches: usize,
}

impl AlbertForMaskedLM {
    /// Compiles (or reuses) the pipelines and uploads every weight once.
    pub async fn new(gpu: &Gpu, config: &Config, w: &AlbertWeights) -> Result<Self> {
        gpu.check_lost()?;
        let max_binding = gpu.limits.max_storage_buffer_binding_size as usize;
        if let Some(t) = w.tensors().into_iter().find(|t| t.nbytes() > max_binding) {
            return Err(Error::Gpu(format!(
                "tensor `{}` needs {} bytes in one storage binding, but this GPU allows at most {max_binding}",
                t.name,
                t.nbytes()
            )));
        }
        let pipes = gpu.pipelines(w.dtype).await?;
        let lin = |l: &crate::weights::Linear| LinearBufs {
            w: gpu.upload(&l.weight),
            b: gpu.upload(&l.bias),
            out: l.weight.shape[0],
            inp: l.weight.shape[1],
        };
        let ln = |l: &crate::weights::LayerNorm| LnBufs { w: gpu.upload(&l.weight), b: gpu.upload(&l.bias) };
        let e = &w.embeddings;
        let emb = [gpu.upload(&e.word), gpu.upload(&e.position), gpu.upload(&e.token_type), gpu.upload(&e.layer_norm.weight), gpu.upload(&e.layer_norm.bias)];
        let groups = w
            .groups
            .iter()
            .map(|g| {
                g.layers
                    .iter()
                    .map(|l| {
                        Ok(LayerBufs {
                            qkv: fused_qkv(gpu, l)?,
                            dense: lin(&l.dense),
                            attention_layer_norm: ln(&l.attention_layer_norm),
                            ffn: lin(&l.ffn),
                            ffn_output: lin(&l.ffn_output),
                            full_layer_layer_norm: ln(&l.full_layer_layer_norm),
                        })
                    })
                    .collect::<Result<Vec<_>>>()
            })
            .collect::<Result<Vec<_>>>()?;
        let head = w.mlm_head.as_ref().map(|h| HeadBufs {
            dense: lin(&h.dense),
            layer_norm: ln(&h.layer_norm),
            // A tied decoder binds the word-embedding buffer itself: no second copy.
            decoder_weight: match &h.decoder_weight {
                Some(d) => gpu.upload(d),
                None => emb[0].clone(),
            },
            decoder_bias: gpu.upload(&h.decoder_bias),
        });
        Ok(AlbertForMaskedLM {
            config: config.clone(),
            gpu: gpu.clone(),
            dtype: w.dtype,
            act: config.activation()?,
            pipes,
            emb,
            mapping_in: lin(&w.embedding_hidden_mapping_in),
            groups,
            head,
            pooler: w.pooler.as_ref().map(lin),
            sop: w.sop_classifier.as_ref().map(lin),
            weight_bytes: w.nbytes(),
            plans: HashMap::new(),
            clock: 0,
            last_gpu_ms: None,
            last_dispatches: 0,
        })
    }

    pub fn has_mlm_head(&self) -> bool {
        self.head.is_some()
    }

    /// Bytes of weights resident on the GPU.
    pub fn weight_bytes(&self) -> usize {
        self.weight_bytes
    }

    pub async fn forward(&mut self, batch: &Batch, req: &Request) -> Result<Output> {
        let (key, rows) = self.prepare(batch, req)?;
        let plan = &self.plans[&key];
        self.gpu.submit(&self.pipes, &plan.program, plan.timing.as_ref());
        let data = self.gpu.read(&plan.staging, plan.staging_bytes).await?;
        self.last_gpu_ms = plan.timing.as_ref().and_then(|t| {
            let at = t.staging_offset as usize / 4;
            let raw: &[u8] = bytemuck::cast_slice(data.get(at..at + 4)?);
            let (t0, t1) = (bytemuck::pod_read_unaligned::<u64>(&raw[..8]), bytemuck::pod_read_unaligned::<u64>(&raw[8..]));
            let ticks = t1.checked_sub(t0)?;
            Some(ticks as f64 * self.gpu.queue.get_timestamp_period() as f64 / 1e6)
        });
        Ok(self.unpack(&key, rows, &data))
    }

    /// A forward that also times every dispatch on the GPU (timestamp queries around each one;
    /// see `Gpu::submit_profiled`): the output, and one `DispatchTime` per dispatch in program
    /// order. Needs an adapter with timestamp queries (`Gpu::timestamps`).
    pub async fn profile(&mut self, batch: &Batch, req: &Request) -> Result<(Output, Vec<DispatchTime>)> {
        if !self.gpu.timestamps {
            return Err(Error::Gpu(format!("`{}` has no timestamp queries, so dispatches cannot be timed on it", self.gpu.info.name)));
        }
        let (key, rows) = self.prepare(batch, req)?;
        let plan = &self.plans[&key];
        let steps: Vec<&Step> = plan.program.iter().filter_map(|op| if let Op::Dispatch(s) = op { Some(s) } else { None }).collect();
        let count = 2 * steps.len() as u32;
        if count > wgpu::QUERY_SET_MAX_QUERIES {
            return Err(Error::Gpu(format!("{} dispatches need {count} timestamp queries; a query set holds at most {}", steps.len(), wgpu::QUERY_SET_MAX_QUERIES)));
        }
        let g = &self.gpu;
        let queries = g.device.create_query_set(&wgpu::QuerySetDescriptor { label: Some("profile"), ty: wgpu::QueryType::Timestamp, count: count.max(2) });
        let bytes = 8 * count.max(2) as u64;
        let resolve = g.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("profile timestamps"),
            size: bytes,
            usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        let ts_staging = g.staging(bytes as usize);
        g.submit_profiled(&self.pipes, &plan.program, &queries, &resolve, &ts_staging);
        let data = g.read(&plan.staging, plan.staging_bytes).await?;
        let ticks: Vec<u64> = g.read_as(&ts_staging, bytes).await?;
        let period = g.queue.get_timestamp_period() as f64;
        let times = steps
            .iter()
            .enumerate()
            .map(|(i, s)| DispatchTime {
                stage: s.stage,
                kernel: s.kernel.name(),
                // A GPU may write the end stamp from another clock domain tick first; never negative.
                ms: ticks[2 * i + 1].saturating_sub(ticks[2 * i]) as f64 * period / 1e6,
            })
            .collect();
        Ok((self.unpack(&key, rows, &data), times))
    }

    /// Validates the input, finds or builds the plan for its shape and writes the token ids and
    /// logit rows; returns the plan's key and the logit rows.
    fn prepare(&mut self, batch: &Batch, req: &Request) -> Result<(PlanKey, Vec<usize>)> {
        self.gpu.check_lost()?;
        batch.validate(&self.config)?;
        let rows = req.rows(batch)?;
        if !rows.is_empty() && self.head.is_none() {
            return Err(Error::NoMlmHead);
        }
        let key = PlanKey {
            batch: batch.batch,
            seq_len: batch.seq_len,
            logit_rows: rows.len(),
            attentions: req.attentions,
            hidden_states: req.hidden_states,
            sop: req.sop && self.pooler.is_some() && self.sop.is_some(),
        };
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

        let mut tokens = Vec::with_capacity(3 * batch.rows());
        tokens.extend_from_slice(&batch.input_ids);
        tokens.extend_from_slice(&batch.token_type_ids);
        tokens.extend_from_slice(&batch.attention_mask);
        self.gpu.queue.write_buffer(&plan.tokens, 0, &u32s(&tokens));
        if !rows.is_empty() {
            let r: Vec<u32> = rows.iter().map(|&r| r as u32).collect();
            self.gpu.queue.write_buffer(&plan.rows, 0, &u32s(&r));
        }
        Ok((key, rows))
    }

    /// Cuts a forward's staging data into an `Output`.
    fn unpack(&self, key: &PlanKey, rows: Vec<usize>, data: &[f32]) -> Output {
        let plan = &self.plans[key];
        let take = |(o, n): (usize, usize)| data[o..o + n].to_vec();
        let mut out = Output { logit_rows: rows, ..Default::default() };
        out.logits = plan.logits_at.map(take);
        out.sop_logits = plan.sop_at.map(take);
        out.hidden_states = plan.hidden_at.iter().map(|&a| take(a)).collect();
        out.attentions = schedule(&self.config)
            .into_iter()
            .zip(&plan.attentions_at)
            .enumerate()
            .map(|(index, ((layer, group, inner), &at))| AttentionMap { index, layer, group, inner, data: take(at) })
            .collect();
        out
    }

    fn build_plan(&self, key: &PlanKey) -> Plan {
        let cfg = &self.config;
        let g = &self.gpu;
        let p = &*self.pipes;
        let (b, t) = (key.batch, key.seq_len);
        let n = b * t;
        let (e, h, i_size, v) = (cfg.embedding_size, cfg.hidden_size, cfg.intermediate_size, cfg.vocab_size);
        let (heads, d) = (cfg.num_attention_heads, cfg.head_dim());
        let eps = cfg.layer_norm_eps as f32;
        let f = 4usize;

        let tokens = g.storage("tokens", 3 * n * 4);
        let emb_out = g.storage("embeddings", n * e * f);
        let x = g.storage("hidden", n * h * f);
        let attn = g.storage("attention_output", n * h * f);
        let (qkv, ctx, proj, ffn_out) = (
            g.storage("qkv", n * 3 * h * f),
            g.storage("context", n * h * f),
            g.storage("projected", n * h * f),
            g.storage("ffn_output", n * h * f),
        );
        let ffn = g.storage("ffn", n * i_size * f);
        let probs_len = b * heads * t * t;
        let n_maps = cfg.num_attention_maps();
        // Without maps to return, the fused kernel never materializes the probabilities.
        let fused = !key.attentions && t <= ATTENTION_MAX_T;
        let probs: Vec<wgpu::Buffer> = (0..if key.attentions { n_maps } else if fused { 0 } else { 1 })
            .map(|_| g.storage("attention_probs", probs_len * f))
            .collect();

        // Readback layout, in f32s.
        let mut staging_len = 0usize;
        let mut alloc = |len: usize| {
            let at = (staging_len, len);
            staging_len += len;
            at
        };
        let hidden_at: Vec<_> = if key.hidden_states { (0..=cfg.num_hidden_layers).map(|_| alloc(n * h)).collect() } else { vec![] };
        let attentions_at: Vec<_> = if key.attentions { (0..n_maps).map(|_| alloc(probs_len)).collect() } else { vec![] };
        let logits_at = (key.logit_rows > 0).then(|| alloc(key.logit_rows * v));
        let sop_at = key.sop.then(|| alloc(b * 2));
        // Two u64 timestamps, 8-byte aligned at the end.
        let ts_at = g.timestamps.then(|| {
            let (end, _) = alloc(0);
            alloc(end % 2); // pad
            alloc(4).0
        });
        let staging_bytes = (staging_len.max(1) * f) as u64;
        let staging = g.staging(staging_bytes as usize);
        let copy = |src: &wgpu::Buffer, (o, len): (usize, usize)| Op::Copy {
            src: src.clone(),
            src_offset: 0,
            dst: staging.clone(),
            dst_offset: (o * f) as u64,
            bytes: (len * f) as u64,
        };

        let mut prog = Vec::new();
        let lin = |prog: &mut Vec<Op>, stage: &'static str, l: &LinearBufs, input: &wgpu::Buffer, out: &wgpu::Buffer, m: usize, act: Activation| {
            let (kernel, grid) = linear_kernel(m, l.out, l.inp);
            prog.push(Op::Dispatch(g.step(p, stage, kernel, &linear_params(m, l.out, l.inp, act), &[(1, input), (2, &l.w), (3, &l.b), (4, out)], grid)));
        };
        let add_ln = |prog: &mut Vec<Op>, stage: &'static str, xs: &wgpu::Buffer, res: Option<&wgpu::Buffer>, ln: &LnBufs, out: &wgpu::Buffer, rows: usize, width: usize| {
            prog.push(Op::Dispatch(g.step(
                p,
                stage,
                Kernel::AddLayerNorm,
                &ln_params(rows, width, eps, res.is_some()),
                &[(1, xs), (2, res.unwrap_or(xs)), (3, &ln.w), (4, &ln.b), (5, out)],
                grid_rows(rows),
            )));
        };

        prog.push(Op::Dispatch(g.step(
            p,
            "embeddings",
            Kernel::Embeddings,
            &u32s(&[n as u32, t as u32, e as u32, eps.to_bits()]),
            &[(1, &tokens), (2, &self.emb[0]), (3, &self.emb[1]), (4, &self.emb[2]), (5, &self.emb[3]), (6, &self.emb[4]), (7, &emb_out)],
            grid_rows(n),
        )));
        lin(&mut prog, "embedding_hidden_mapping_in", &self.mapping_in, &emb_out, &x, n, Activation::Linear);
        if key.hidden_states {
            prog.push(copy(&x, hidden_at[0]));
        }
        for (idx, (layer, group, inner)) in schedule(cfg).into_iter().enumerate() {
            let l = &self.groups[group][inner];
            lin(&mut prog, "attention.query_key_value", &l.qkv, &x, &qkv, n, Activation::Linear);
            let ap = attn_params(b, t, heads, d, 3 * h, [0, h, 2 * h]);
            let per_row = [t as u32, (b * heads) as u32, 1];
            if fused {
                prog.push(Op::Dispatch(g.step(p, "attention (fused)", Kernel::Attention, &ap, &[(1, &qkv), (2, &tokens), (3, &ctx)], grid_attention(t, b * heads))));
            } else {
                let pr = &probs[if key.attentions { idx } else { 0 }];
                prog.push(Op::Dispatch(g.step(p, "attention.probs", Kernel::AttentionProbs, &ap, &[(1, &qkv), (2, &qkv), (3, &tokens), (4, pr)], per_row)));
                prog.push(Op::Dispatch(g.step(p, "attention.context", Kernel::AttentionContext, &ap, &[(1, pr), (2, &qkv), (3, &ctx)], grid_context(n, h))));
                if key.attentions {
                    prog.push(copy(pr, attentions_at[idx]));
                }
            }
            lin(&mut prog, "attention.dense", &l.dense, &ctx, &proj, n, Activation::Linear);
            add_ln(&mut prog, "attention.LayerNorm", &proj, Some(&x), &l.attention_layer_norm, &attn, n, h);
            lin(&mut prog, "ffn", &l.ffn, &attn, &ffn, n, self.act);
            lin(&mut prog, "ffn_output", &l.ffn_output, &ffn, &ffn_out, n, Activation::Linear);
            add_ln(&mut prog, "full_layer_layer_norm", &ffn_out, Some(&attn), &l.full_layer_layer_norm, &x, n, h);
            if key.hidden_states && inner + 1 == cfg.inner_group_num {
                prog.push(copy(&x, hidden_at[layer + 1]));
            }
        }
        let rows = g.storage("logit_rows", key.logit_rows.max(1) * 4);
        if let (Some(head), Some(at)) = (&self.head, logits_at) {
            let m = key.logit_rows;
            let sel = g.storage("selected", m * h * f);
            let t1 = g.storage("mlm_dense", m * e * f);
            let t2 = g.storage("mlm_ln", m * e * f);
            let logits = g.storage("logits", m * v * f);
            prog.push(Op::Dispatch(g.step(p, "predictions (gather [MASK] rows)", Kernel::GatherRows, &u32s(&[m as u32, h as u32, 0, 0]), &[(1, &x), (2, &rows), (3, &sel)], [(h as u32).div_ceil(64), m as u32, 1])));
            lin(&mut prog, "predictions.dense", &head.dense, &sel, &t1, m, self.act);
            add_ln(&mut prog, "predictions.LayerNorm", &t1, None, &head.layer_norm, &t2, m, e);
            let dec = LinearBufs { w: head.decoder_weight.clone(), b: head.decoder_bias.clone(), out: v, inp: e };
            lin(&mut prog, "predictions.decoder", &dec, &t2, &logits, m, Activation::Linear);
            prog.push(copy(&logits, at));
        }
        if let (Some(pooler), Some(sop), Some(at)) = (&self.pooler, &self.sop, sop_at) {
            let cls: Vec<u32> = (0..b).map(|i| (i * t) as u32).collect();
            let cls = g.storage_init("cls_rows", &u32s(&cls));
            let sel = g.storage("cls", b * h * f);
            let pooled = g.storage("pooled", b * h * f);
            let out = g.storage("sop_logits", b * 2 * f);
            prog.push(Op::Dispatch(g.step(p, "pooler (gather [CLS] rows)", Kernel::GatherRows, &u32s(&[b as u32, h as u32, 0, 0]), &[(1, &x), (2, &cls), (3, &sel)], [(h as u32).div_ceil(64), b as u32, 1])));
            lin(&mut prog, "pooler", pooler, &sel, &pooled, b, Activation::Tanh);
            lin(&mut prog, "sop_classifier", sop, &pooled, &out, b, Activation::Linear);
            prog.push(copy(&out, at));
        }
        let timing = ts_at.map(|at| Timing {
            queries: g.device.create_query_set(&wgpu::QuerySetDescriptor { label: Some("forward"), ty: wgpu::QueryType::Timestamp, count: 2 }),
            resolve: g.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("timestamps"),
                size: 16,
                usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
                mapped_at_creation: false,
            }),
            staging: staging.clone(),
            staging_offset: (at * f) as u64,
        });
        Plan { tokens, rows, program: prog, staging, staging_bytes, logits_at, attentions_at, hidden_at, sop_at, timing, last_used: 0 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(stage: &'static str, kernel: &'static str, ms: f64) -> DispatchTime {
        DispatchTime { stage, kernel, ms }
    }

    #[test]
    fn by_stage_sums_layers_in_first_appearance_order() {
        let times = [t("embeddings", "embeddings", 1.0), t("ffn", "linear", 2.0), t("attention.dense", "linear", 0.5), t("ffn", "linear", 3.0)];
        let s = by_stage(&times);
        let rows: Vec<_> = s.iter().map(|s| (s.stage, s.calls, s.ms)).collect();
        assert_eq!(rows, vec![("embeddings", 1, 1.0), ("ffn", 2, 5.0), ("attention.dense", 1, 0.5)]);
        // The same stage on two kernels (a length switching kernels) stays apart.
        assert_eq!(by_stage(&[t("ffn", "linear", 1.0), t("ffn", "linear_gemv", 1.0)]).len(), 2);
        assert!(by_stage(&[]).is_empty());
    }

    #[test]
    fn median_per_dispatch_takes_each_dispatch_over_runs() {
        let runs = vec![
            vec![t("a", "k", 1.0), t("b", "k", 10.0)],
            vec![t("a", "k", 3.0), t("b", "k", 30.0)],
            vec![t("a", "k", 2.0), t("b", "k", 20.0)],
        ];
        let m = median_per_dispatch(&runs);
        assert_eq!(m.iter().map(|d| (d.stage, d.ms)).collect::<Vec<_>>(), vec![("a", 2.0), ("b", 20.0)]);
        assert!(median_per_dispatch(&[]).is_empty());
    }
}
