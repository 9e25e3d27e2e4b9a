//! Single kernels as functions with the signatures of `cpu::ops`, so each kernel is tested
//! against its CPU twin on awkward shapes. They record through the same `Recorder` methods as
//! the model's plans (same bindings, uniforms, kernel choice and grids) and pay one submission
//! each.

use super::device::Gpu;
use super::record::{token_words, AttentionShape, LinearBufs, LnBufs, Recorder};
use crate::activation::Activation;
use crate::error::Result;
use crate::output::Batch;
use crate::weights::{DType, Tensor};

/// Records one kernel with `f` for weights of `dtype`, copies `out` back, submits, reads.
async fn run(gpu: &Gpu, dtype: DType, out: &wgpu::Buffer, len: usize, f: impl FnOnce(&mut Recorder)) -> Result<Vec<f32>> {
    let mut rec = Recorder::new(gpu, gpu.pipelines(dtype).await?);
    f(&mut rec);
    let bytes = (len.max(1) * 4) as u64;
    let staging = gpu.staging(bytes as usize);
    rec.copy(out, &staging, 0, bytes);
    gpu.submit(&rec.pipes, &rec.program, None);
    let mut v: Vec<f32> = gpu.read_as(&staging, bytes).await?;
    v.truncate(len);
    Ok(v)
}

fn f32s(gpu: &Gpu, label: &str, v: &[f32]) -> wgpu::Buffer {
    gpu.storage_init(label, bytemuck::cast_slice(v))
}

/// The token buffer of a batch whose ids and types the kernel does not read.
fn mask_tokens(gpu: &Gpu, mask: &[u32]) -> wgpu::Buffer {
    let zeros = vec![0u32; mask.len()];
    gpu.storage_init("tokens", &token_words(&zeros, &zeros, mask))
}

fn linear_bufs(gpu: &Gpu, w: &Tensor, b: &Tensor) -> Result<LinearBufs> {
    Ok(LinearBufs { w: gpu.upload(w)?, b: gpu.upload(b)?, out: w.shape[0], inp: w.shape[1] })
}

fn ln_bufs(gpu: &Gpu, w: &Tensor, b: &Tensor) -> Result<LnBufs> {
    Ok(LnBufs { w: gpu.upload(w)?, b: gpu.upload(b)? })
}

#[allow(clippy::too_many_arguments)]
pub async fn embeddings(gpu: &Gpu, batch: &Batch, word: &Tensor, position: &Tensor, token_type: &Tensor, ln_weight: &Tensor, ln_bias: &Tensor, eps: f32, e: usize) -> Result<Vec<f32>> {
    let n = batch.rows();
    let tokens = gpu.storage_init("tokens", &token_words(&batch.input_ids, &batch.token_type_ids, &batch.attention_mask));
    let ws = [word, position, token_type, ln_weight, ln_bias].map(|t| gpu.upload(t));
    let [w, p, t, lw, lb] = ws;
    let (w, p, t, lw, lb) = (w?, p?, t?, lw?, lb?);
    let out = gpu.storage("out", n * e * 4);
    run(gpu, word.dtype(), &out, n * e, |r| r.embeddings("embeddings", &tokens, [&w, &p, &t, &lw, &lb], &out, n, batch.seq_len, e, eps)).await
}

/// `linear` on the kernel the model would pick for `m` rows (`Recorder::linear`).
#[allow(clippy::too_many_arguments)]
pub async fn linear(gpu: &Gpu, x: &[f32], m: usize, k: usize, w: &Tensor, b: &Tensor, n: usize, a: Activation) -> Result<Vec<f32>> {
    debug_assert_eq!((w.shape[0], w.shape[1]), (n, k));
    let xb = f32s(gpu, "x", x);
    let l = linear_bufs(gpu, w, b)?;
    let out = gpu.storage("y", m * n * 4);
    run(gpu, w.dtype(), &out, m * n, |r| r.linear("linear", &l, &xb, &out, m, a)).await
}

fn shape(b: usize, t: usize, heads: usize, d: usize, stride: usize, qkv_off: [usize; 3]) -> AttentionShape {
    AttentionShape { batch: b, seq_len: t, heads, head_dim: d, stride, qkv_off }
}

#[allow(clippy::too_many_arguments)]
pub async fn attention_probs(gpu: &Gpu, q: &[f32], k: &[f32], mask: &[u32], b: usize, t: usize, heads: usize, d: usize) -> Result<Vec<f32>> {
    let tokens = mask_tokens(gpu, mask);
    let (qb, kb) = (f32s(gpu, "q", q), f32s(gpu, "k", k));
    let len = b * heads * t * t;
    let out = gpu.storage("probs", len * 4);
    let s = shape(b, t, heads, d, heads * d, [0, 0, 0]);
    run(gpu, DType::F32, &out, len, |r| r.attention_probs("attention.probs", &qb, &kb, &tokens, &out, s)).await
}

pub async fn attention_context(gpu: &Gpu, probs: &[f32], v: &[f32], b: usize, t: usize, heads: usize, d: usize) -> Result<Vec<f32>> {
    let h = heads * d;
    let (pb, vb) = (f32s(gpu, "probs", probs), f32s(gpu, "v", v));
    let out = gpu.storage("ctx", b * t * h * 4);
    let s = shape(b, t, heads, d, h, [0, 0, 0]);
    run(gpu, DType::F32, &out, b * t * h, |r| r.attention_context("attention.context", &pb, &vb, &out, s)).await
}

/// The fused kernel, fed as the model feeds it: q, k and v interleaved into one `[b·t, 3H]`
/// buffer (the fused projection's output), read at stride 3H.
#[allow(clippy::too_many_arguments)]
pub async fn attention(gpu: &Gpu, q: &[f32], k: &[f32], v: &[f32], mask: &[u32], b: usize, t: usize, heads: usize, d: usize) -> Result<Vec<f32>> {
    let (n, h) = (b * t, heads * d);
    let mut qkv = Vec::with_capacity(3 * n * h);
    for r in 0..n {
        for part in [q, k, v] {
            qkv.extend_from_slice(&part[r * h..(r + 1) * h]);
        }
    }
    let tokens = mask_tokens(gpu, mask);
    let qkv = f32s(gpu, "qkv", &qkv);
    let out = gpu.storage("ctx", n * h * 4);
    let s = shape(b, t, heads, d, 3 * h, [0, h, 2 * h]);
    run(gpu, DType::F32, &out, n * h, |r| r.attention("attention (fused)", &qkv, &tokens, &out, s)).await
}

pub async fn add_layer_norm(gpu: &Gpu, x: &[f32], residual: &[f32], w: &Tensor, b: &Tensor, eps: f32, n: usize) -> Result<Vec<f32>> {
    let (xb, rb) = (f32s(gpu, "x", x), f32s(gpu, "residual", residual));
    let ln = ln_bufs(gpu, w, b)?;
    let out = gpu.storage("out", x.len() * 4);
    run(gpu, w.dtype(), &out, x.len(), |r| r.add_layer_norm("add_layer_norm", &xb, Some(&rb), &ln, &out, x.len() / n, n, eps)).await
}

pub async fn layer_norm(gpu: &Gpu, x: &[f32], w: &Tensor, b: &Tensor, eps: f32, n: usize) -> Result<Vec<f32>> {
    let xb = f32s(gpu, "x", x);
    let ln = ln_bufs(gpu, w, b)?;
    let out = gpu.storage("out", x.len() * 4);
    run(gpu, w.dtype(), &out, x.len(), |r| r.add_layer_norm("layer_norm", &xb, None, &ln, &out, x.len() / n, n, eps)).await
}

pub async fn gather_rows(gpu: &Gpu, x: &[f32], width: usize, rows: &[usize]) -> Result<Vec<f32>> {
    let xb = f32s(gpu, "x", x);
    let r: Vec<u32> = rows.iter().map(|&r| r as u32).collect();
    let rb = gpu.storage_init("rows", bytemuck::cast_slice(&r));
    let len = rows.len() * width;
    let out = gpu.storage("out", len * 4);
    run(gpu, DType::F32, &out, len, |rec| rec.gather_rows("gather_rows", &xb, &rb, &out, rows.len(), width)).await
}

/// The mean over heads, `[b, heads, t, t]` → `[b, t, t]` (written at an offset, as the plans do).
pub async fn head_mean(gpu: &Gpu, probs: &[f32], b: usize, heads: usize, t: usize) -> Result<Vec<f32>> {
    let pb = f32s(gpu, "probs", probs);
    let (at, len) = (3, b * t * t);
    let out = gpu.storage("means", (at + len) * 4);
    let v = run(gpu, DType::F32, &out, at + len, |r| r.head_mean("attention (mean of heads)", &pb, &out, b, heads, t, at)).await?;
    Ok(v[at..].to_vec())
}

/// `maps` maps of `t × t` max-pooled to at most `max` a side, and the side (written at an
/// offset, as the plans do).
pub async fn max_pool(gpu: &Gpu, m: &[f32], maps: usize, t: usize, max: usize) -> Result<(Vec<f32>, usize)> {
    let pb = f32s(gpu, "probs", m);
    let side = crate::output::pooled_side(t, max).1;
    let (at, len) = (5, maps * side * side);
    let out = gpu.storage("thumbnails", (at + len) * 4);
    let v = run(gpu, DType::F32, &out, at + len, |r| {
        r.max_pool("attention (thumbnails)", &pb, &out, maps, t, max, at);
    })
    .await?;
    Ok((v[at..].to_vec(), side))
}
