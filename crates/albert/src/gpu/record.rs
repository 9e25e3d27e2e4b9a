//! Recording dispatches: one typed method per kernel that binds its buffers (binding 0 is its
//! uniform, written from the kernel's `Uniform` struct), takes the kernel variant and grid from
//! `choice`, and appends a `Step` to a program. The model's plans and the single-kernel `ops`
//! the tests call both record through here, so a kernel test exercises the model's binding
//! code; a program is then submitted as one queue submission.

use super::choice::{attention_kernel, k_split, linear_kernel};
use super::device::Gpu;
use super::kernels::*;
use crate::activation::Activation;
use std::sync::Arc;
use wgpu::util::DeviceExt;

/// nn.Linear on the GPU: weight `[out, in]` as torch stores it, and bias.
pub struct LinearBufs {
    pub w: wgpu::Buffer,
    pub b: wgpu::Buffer,
    pub out: usize,
    pub inp: usize,
}

/// LayerNorm weight and bias.
pub struct LnBufs {
    pub w: wgpu::Buffer,
    pub b: wgpu::Buffer,
}

/// Shape of an attention: batch, sequence, heads, head dim, and where q, k and v are read
/// (row stride and column offsets; the fused projection is stride 3H at 0, H, 2H).
#[derive(Debug, Clone, Copy)]
pub struct AttentionShape {
    pub batch: usize,
    pub seq_len: usize,
    pub heads: usize,
    pub head_dim: usize,
    pub stride: usize,
    pub qkv_off: [usize; 3],
}

impl AttentionShape {
    fn params(&self) -> AttentionParams {
        let (b, t, d) = (self.batch, self.seq_len, self.head_dim);
        let [q_off, k_off, v_off] = self.qkv_off.map(|o| o as u32);
        AttentionParams {
            batch: b as u32,
            seq_len: t as u32,
            heads: self.heads as u32,
            head_dim: d as u32,
            stride: self.stride as u32,
            scale: 1.0 / (d as f32).sqrt(),
            rows: (b * t) as u32,
            hidden: (self.heads * d) as u32,
            q_off,
            k_off,
            v_off,
            _pad: 0,
        }
    }
}

/// The token buffer the embeddings and attention kernels read: `[ids | type ids | mask]`, three
/// runs of the batch's rows, packed into one binding to stay within WebGPU's default of 8
/// storage buffers a kernel.
pub fn token_words(ids: &[u32], types: &[u32], mask: &[u32]) -> Vec<u8> {
    let words: Vec<u32> = [ids, types, mask].concat();
    bytemuck::cast_slice(&words).to_vec()
}

pub(crate) struct Step {
    pub stage: &'static str,
    pub kernel: Kernel,
    bind_group: wgpu::BindGroup,
    groups: [u32; 3],
}

impl Step {
    pub(crate) fn record(&self, pass: &mut wgpu::ComputePass<'_>, pipes: &Pipelines) {
        pass.set_pipeline(pipes.get(self.kernel));
        pass.set_bind_group(0, &self.bind_group, &[]);
        pass.dispatch_workgroups(self.groups[0], self.groups[1], self.groups[2]);
    }
}

pub(crate) enum Op {
    Dispatch(Step),
    Copy { src: wgpu::Buffer, dst: wgpu::Buffer, dst_offset: u64, bytes: u64 },
}

/// A program being recorded for one device and weight dtype.
pub struct Recorder<'g> {
    gpu: &'g Gpu,
    pub(crate) pipes: Arc<Pipelines>,
    pub(crate) program: Vec<Op>,
    /// The split linears' partial sums, grown to the largest asked for; the bind groups of a
    /// recorded program keep the buffers they name alive.
    split_scratch: Option<(wgpu::Buffer, usize)>,
}

/// Workgroup grids; rows beyond 65,535 spill into the next dimension (the kernels fold them back).
fn grid_rows(rows: usize) -> [u32; 3] {
    let r = rows.max(1) as u32;
    [r.min(65535), r.div_ceil(65535), 1]
}

impl<'g> Recorder<'g> {
    pub fn new(gpu: &'g Gpu, pipes: Arc<Pipelines>) -> Self {
        Recorder { gpu, pipes, program: Vec::new(), split_scratch: None }
    }

    pub fn gpu(&self) -> &'g Gpu {
        self.gpu
    }

    /// Appends one dispatch: a uniform holding `params`, a bind group (binding 0 = the uniform,
    /// then `bindings`), the workgroup counts. `stage` names what it computes in the model.
    fn dispatch<U: Uniform>(&mut self, stage: &'static str, kernel: Kernel, params: U, bindings: &[(u32, &wgpu::Buffer)], groups: [u32; 3]) {
        debug_assert_eq!(std::any::type_name::<U>(), kernel.params_type(), "{} takes another uniform", kernel.name());
        let device = &self.gpu.device;
        super::device::count_buffer();
        let uniform = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some(kernel.name()),
            contents: bytemuck::bytes_of(&params),
            usage: wgpu::BufferUsages::UNIFORM,
        });
        let mut entries = vec![wgpu::BindGroupEntry { binding: 0, resource: uniform.as_entire_binding() }];
        entries.extend(bindings.iter().map(|(b, buf)| wgpu::BindGroupEntry { binding: *b, resource: buf.as_entire_binding() }));
        let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some(kernel.name()),
            layout: &self.pipes.get(kernel).get_bind_group_layout(0),
            entries: &entries,
        });
        self.program.push(Op::Dispatch(Step { stage, kernel, bind_group, groups }));
    }

    /// Copies `bytes` of `src` to `dst` at `dst_offset` (readback into a staging buffer).
    pub fn copy(&mut self, src: &wgpu::Buffer, dst: &wgpu::Buffer, dst_offset: u64, bytes: u64) {
        self.program.push(Op::Copy { src: src.clone(), dst: dst.clone(), dst_offset, bytes });
    }

    /// Word + position + token-type rows, then LayerNorm: `rows` tokens → `[rows, E]`.
    /// `table` is word, position, token type, LayerNorm weight and bias.
    #[allow(clippy::too_many_arguments)]
    pub fn embeddings(&mut self, stage: &'static str, tokens: &wgpu::Buffer, table: [&wgpu::Buffer; 5], out: &wgpu::Buffer, rows: usize, seq_len: usize, e: usize, eps: f32) {
        let params = EmbeddingsParams { rows: rows as u32, seq_len: seq_len as u32, e: e as u32, eps };
        let [w, p, t, lw, lb] = table;
        let bind = [(1, tokens), (2, w), (3, p), (4, t), (5, lw), (6, lb), (7, out)];
        self.dispatch(stage, Kernel::Embeddings, params, &bind, grid_rows(rows));
    }

    /// `y = act(x · Wᵀ + b)` for `m` rows, on the kernel that suits `m` and K.
    pub fn linear(&mut self, stage: &'static str, l: &LinearBufs, x: &wgpu::Buffer, y: &wgpu::Buffer, m: usize, act: Activation) {
        let (kernel, grid) = linear_kernel(m, l.out, l.inp, self.gpu.tuning);
        let (n, k) = (l.out, l.inp);
        if kernel == Kernel::Linear {
            let (splits, k_len) = if self.gpu.tuning.real_gpu() { k_split(m, n, k) } else { (1, k) };
            let params = TileParams { m: m as u32, n: n as u32, k: k as u32, act: act.code(), k_len: k_len as u32, splits: splits as u32, _a: 0, _b: 0 };
            if splits == 1 {
                self.dispatch(stage, kernel, params, &[(1, x), (2, &l.w), (3, &l.b), (4, y)], grid);
                return;
            }
            let part = self.split_scratch(splits * m * n);
            self.dispatch(stage, kernel, params, &[(1, x), (2, &l.w), (3, &l.b), (4, &part)], [grid[0], grid[1], splits as u32]);
            let groups = (m * n).div_ceil(256) as u32;
            self.dispatch(stage, Kernel::LinearSplitSum, params, &[(1, &part), (3, &l.b), (4, y)], [groups.min(65535), groups.div_ceil(65535), 1]);
            return;
        }
        let params = LinearParams { m: m as u32, n: n as u32, k: k as u32, act: act.code() };
        self.dispatch(stage, kernel, params, &[(1, x), (2, &l.w), (3, &l.b), (4, y)], grid);
    }

    /// A buffer of at least `floats` f32 for split partial sums (see `split_scratch`).
    fn split_scratch(&mut self, floats: usize) -> wgpu::Buffer {
        match &self.split_scratch {
            Some((b, n)) if *n >= floats => b.clone(),
            _ => {
                let b = self.gpu.storage("linear partial sums (split over K)", floats * 4);
                self.split_scratch = Some((b.clone(), floats));
                b
            }
        }
    }

    /// `LayerNorm(x + residual)` (plain LayerNorm without a residual) over `rows` rows of `n`.
    #[allow(clippy::too_many_arguments)]
    pub fn add_layer_norm(&mut self, stage: &'static str, x: &wgpu::Buffer, residual: Option<&wgpu::Buffer>, ln: &LnBufs, out: &wgpu::Buffer, rows: usize, n: usize, eps: f32) {
        let params = LayerNormParams { rows: rows as u32, n: n as u32, eps, has_residual: residual.is_some() as u32 };
        let bind = [(1, x), (2, residual.unwrap_or(x)), (3, &ln.w), (4, &ln.b), (5, out)];
        self.dispatch(stage, Kernel::AddLayerNorm, params, &bind, grid_rows(rows));
    }

    /// Scores, scale, padding mask, softmax and probs · v in one dispatch: `ctx` `[B·T, H]`.
    pub fn attention(&mut self, stage: &'static str, qkv: &wgpu::Buffer, tokens: &wgpu::Buffer, ctx: &wgpu::Buffer, s: AttentionShape) {
        let (kernel, rows) = attention_kernel(s.head_dim, self.gpu.tuning);
        let grid = [(s.seq_len.max(1) as u32).div_ceil(rows), (s.batch * s.heads) as u32, 1];
        self.dispatch(stage, kernel, s.params(), &[(1, qkv), (2, tokens), (3, ctx)], grid);
    }

    /// The probabilities alone, `[B, heads, T, T]` (when the maps are read back).
    pub fn attention_probs(&mut self, stage: &'static str, q: &wgpu::Buffer, k: &wgpu::Buffer, tokens: &wgpu::Buffer, probs: &wgpu::Buffer, s: AttentionShape) {
        let grid = [s.seq_len as u32, (s.batch * s.heads) as u32, 1];
        self.dispatch(stage, Kernel::AttentionProbs, s.params(), &[(1, q), (2, k), (3, tokens), (4, probs)], grid);
    }

    /// `probs · v` per head, heads concatenated: `ctx` `[B·T, H]`.
    pub fn attention_context(&mut self, stage: &'static str, probs: &wgpu::Buffer, v: &wgpu::Buffer, ctx: &wgpu::Buffer, s: AttentionShape) {
        let rows = (s.batch * s.seq_len).max(1) as u32;
        let grid = [((s.heads * s.head_dim) as u32).div_ceil(ELEMENT_WG), rows.min(65535), rows.div_ceil(65535)];
        self.dispatch(stage, Kernel::AttentionContext, s.params(), &[(1, probs), (2, v), (3, ctx)], grid);
    }

    /// `out[r] = x[rows[r]]` for `n_rows` rows of `width`.
    pub fn gather_rows(&mut self, stage: &'static str, x: &wgpu::Buffer, rows: &wgpu::Buffer, out: &wgpu::Buffer, n_rows: usize, width: usize) {
        self.gather_rows_at(stage, x, rows, out, n_rows, width, 0);
    }

    /// Zeroes head `head`'s columns of the context `[rows, heads · head_dim]` (a head switch).
    pub fn head_off(&mut self, stage: &'static str, ctx: &wgpu::Buffer, rows: usize, heads: usize, head_dim: usize, head: usize) {
        let params = HeadOffParams { rows: rows as u32, hidden: (heads * head_dim) as u32, head_dim: head_dim as u32, head: head as u32 };
        let r = rows.max(1) as u32;
        self.dispatch(stage, Kernel::HeadOff, params, &[(1, ctx)], [(head_dim as u32).div_ceil(ELEMENT_WG), r.min(65535), r.div_ceil(65535)]);
    }

    /// The mean over heads of `probs` `[batch, heads, t, t]` into `out` from element `out_at`.
    #[allow(clippy::too_many_arguments)]
    pub fn head_mean(&mut self, stage: &'static str, probs: &wgpu::Buffer, out: &wgpu::Buffer, batch: usize, heads: usize, t: usize, out_at: usize) {
        let params = HeadMeanParams { batch: batch as u32, heads: heads as u32, t: t as u32, out_at: out_at as u32 };
        self.dispatch(stage, Kernel::HeadMean, params, &[(1, probs), (2, out)], [(t as u32).div_ceil(ELEMENT_WG), t as u32, batch as u32]);
    }

    /// `maps` maps of `t × t` in `probs`, max-pooled to at most `max` cells a side
    /// (`output::pooled_side`), into `out` from element `out_at`; returns the side.
    #[allow(clippy::too_many_arguments)]
    pub fn max_pool(&mut self, stage: &'static str, probs: &wgpu::Buffer, out: &wgpu::Buffer, maps: usize, t: usize, max: usize, out_at: usize) -> usize {
        let (block, side) = crate::output::pooled_side(t, max);
        let params = MaxPoolParams { maps: maps as u32, t: t as u32, side: side as u32, block: block as u32, out_at: out_at as u32, ..Default::default() };
        self.dispatch(stage, Kernel::MaxPool, params, &[(1, probs), (2, out)], [(side as u32).div_ceil(ELEMENT_WG), side as u32, maps as u32]);
        side
    }

    /// Mean over real tokens of ‖cur − prev‖₂ and cos(cur, prev) into `out[2·index..]`.
    #[allow(clippy::too_many_arguments)]
    pub fn drift(&mut self, stage: &'static str, prev: &wgpu::Buffer, cur: &wgpu::Buffer, tokens: &wgpu::Buffer, out: &wgpu::Buffer, rows: usize, width: usize, index: usize) {
        let params = DriftParams { rows: rows as u32, width: width as u32, index: index as u32, ..Default::default() };
        self.dispatch(stage, Kernel::Drift, params, &[(1, prev), (2, cur), (3, tokens), (4, out)], [1, 1, 1]);
    }

    /// `gather_rows` into `out` from row `dst_row` on (the logit lens stacks each layer's rows).
    #[allow(clippy::too_many_arguments)]
    pub fn gather_rows_at(&mut self, stage: &'static str, x: &wgpu::Buffer, rows: &wgpu::Buffer, out: &wgpu::Buffer, n_rows: usize, width: usize, dst_row: usize) {
        let params = GatherParams { n_rows: n_rows as u32, width: width as u32, dst_row: dst_row as u32, ..Default::default() };
        self.dispatch(stage, Kernel::GatherRows, params, &[(1, x), (2, rows), (3, out)], [(width as u32).div_ceil(ELEMENT_WG), n_rows as u32, 1]);
    }
}

/// Timestamp queries around a whole forward: written by the first and last compute passes,
/// resolved and copied to `staging` at `staging_offset` (GPU time per forward).
pub(crate) struct Timing {
    pub queries: wgpu::QuerySet,
    pub resolve: wgpu::Buffer,
    pub staging: wgpu::Buffer,
    pub staging_offset: u64,
}

impl Gpu {
    /// Records a program into one encoder (compute passes split only around copies) and
    /// submits it once.
    pub(crate) fn submit(&self, pipes: &Pipelines, program: &[Op], timing: Option<&Timing>) {
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
                Op::Copy { src, dst, dst_offset, bytes } => {
                    enc.copy_buffer_to_buffer(src, 0, dst, *dst_offset, *bytes);
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
}
