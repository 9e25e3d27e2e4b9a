//! Single kernels as functions with the signatures of `cpu::ops`, so each kernel is tested
//! against its CPU twin on awkward shapes. The model does not call these: it records the same
//! dispatches into one submission (see `Plan`); these pay one submission each.

use super::kernels::Kernel;
use super::{attn_params, grid_attention, grid_context, grid_rows, linear_kernel, linear_params, ln_params, u32s, Gpu, Op};
use crate::config::Activation;
use crate::error::Result;
use crate::output::Batch;
use crate::weights::{DType, Tensor};

async fn run(gpu: &Gpu, dtype: DType, kernel: Kernel, params: &[u8], bindings: &[(u32, &wgpu::Buffer)], groups: [u32; 3], out: &wgpu::Buffer, len: usize) -> Result<Vec<f32>> {
    let pipes = gpu.pipelines(dtype).await?;
    let staging = gpu.staging(len * 4);
    let program = [
        Op::Dispatch(gpu.step(&pipes, kernel.name(), kernel, params, bindings, groups)),
        Op::Copy { src: out.clone(), src_offset: 0, dst: staging.clone(), dst_offset: 0, bytes: (len.max(1) * 4) as u64 },
    ];
    gpu.submit(&pipes, &program, None);
    let mut v = gpu.read(&staging, (len.max(1) * 4) as u64).await?;
    v.truncate(len);
    Ok(v)
}

fn f32s(gpu: &Gpu, label: &str, v: &[f32]) -> wgpu::Buffer {
    gpu.storage_init(label, bytemuck::cast_slice(v))
}

/// Weights of one dtype: every weight tensor passed to one call must share it.
fn dtype_of(ts: &[&Tensor]) -> DType {
    ts[0].dtype()
}

#[allow(clippy::too_many_arguments)]
pub async fn embeddings(gpu: &Gpu, batch: &Batch, word: &Tensor, position: &Tensor, token_type: &Tensor, ln_weight: &Tensor, ln_bias: &Tensor, eps: f32, e: usize) -> Result<Vec<f32>> {
    let n = batch.rows();
    let mut tokens = batch.input_ids.clone();
    tokens.extend_from_slice(&batch.token_type_ids);
    tokens.extend_from_slice(&batch.attention_mask);
    let tokens = gpu.storage_init("tokens", &u32s(&tokens));
    let ws = [word, position, token_type, ln_weight, ln_bias].map(|t| gpu.upload(t));
    let out = gpu.storage("out", n * e * 4);
    let params = u32s(&[n as u32, batch.seq_len as u32, e as u32, eps.to_bits()]);
    let bind = [(1, &tokens), (2, &ws[0]), (3, &ws[1]), (4, &ws[2]), (5, &ws[3]), (6, &ws[4]), (7, &out)];
    run(gpu, dtype_of(&[word]), Kernel::Embeddings, &params, &bind, grid_rows(n), &out, n * e).await
}

#[allow(clippy::too_many_arguments)]
pub async fn linear(gpu: &Gpu, x: &[f32], m: usize, k: usize, w: &Tensor, b: &Tensor, n: usize, a: Activation) -> Result<Vec<f32>> {
    let xb = f32s(gpu, "x", x);
    let (wb, bb) = (gpu.upload(w), gpu.upload(b));
    let out = gpu.storage("y", m * n * 4);
    // The same choice of kernel as the model makes for `m` rows.
    let (kernel, grid) = linear_kernel(m, n, k);
    run(gpu, dtype_of(&[w, b]), kernel, &linear_params(m, n, k, a), &[(1, &xb), (2, &wb), (3, &bb), (4, &out)], grid, &out, m * n).await
}

pub async fn attention_probs(gpu: &Gpu, q: &[f32], k: &[f32], mask: &[u32], b: usize, t: usize, heads: usize, d: usize) -> Result<Vec<f32>> {
    let n = b * t;
    let mut tokens = vec![0u32; 2 * n];
    tokens.extend_from_slice(mask);
    let tokens = gpu.storage_init("tokens", &u32s(&tokens));
    let (qb, kb) = (f32s(gpu, "q", q), f32s(gpu, "k", k));
    let len = b * heads * t * t;
    let out = gpu.storage("probs", len * 4);
    let params = attn_params(b, t, heads, d, heads * d, [0, 0, 0]);
    run(gpu, DType::F32, Kernel::AttentionProbs, &params, &[(1, &qb), (2, &kb), (3, &tokens), (4, &out)], [t as u32, (b * heads) as u32, 1], &out, len).await
}

pub async fn attention_context(gpu: &Gpu, probs: &[f32], v: &[f32], b: usize, t: usize, heads: usize, d: usize) -> Result<Vec<f32>> {
    let h = heads * d;
    let (pb, vb) = (f32s(gpu, "probs", probs), f32s(gpu, "v", v));
    let out = gpu.storage("ctx", b * t * h * 4);
    run(gpu, DType::F32, Kernel::AttentionContext, &attn_params(b, t, heads, d, h, [0, 0, 0]), &[(1, &pb), (2, &vb), (3, &out)], grid_context(b * t, h), &out, b * t * h).await
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
    let mut tokens = vec![0u32; 2 * n];
    tokens.extend_from_slice(mask);
    let tokens = gpu.storage_init("tokens", &u32s(&tokens));
    let qkv = f32s(gpu, "qkv", &qkv);
    let out = gpu.storage("ctx", n * h * 4);
    let params = attn_params(b, t, heads, d, 3 * h, [0, h, 2 * h]);
    run(gpu, DType::F32, Kernel::Attention, &params, &[(1, &qkv), (2, &tokens), (3, &out)], grid_attention(t, b * heads), &out, n * h).await
}

pub async fn add_layer_norm(gpu: &Gpu, x: &[f32], residual: &[f32], w: &Tensor, b: &Tensor, eps: f32, n: usize) -> Result<Vec<f32>> {
    let rows = x.len() / n;
    let (xb, rb) = (f32s(gpu, "x", x), f32s(gpu, "residual", residual));
    let (wb, bb) = (gpu.upload(w), gpu.upload(b));
    let out = gpu.storage("out", x.len() * 4);
    run(gpu, dtype_of(&[w]), Kernel::AddLayerNorm, &ln_params(rows, n, eps, true), &[(1, &xb), (2, &rb), (3, &wb), (4, &bb), (5, &out)], grid_rows(rows), &out, x.len()).await
}

pub async fn layer_norm(gpu: &Gpu, x: &[f32], w: &Tensor, b: &Tensor, eps: f32, n: usize) -> Result<Vec<f32>> {
    let rows = x.len() / n;
    let xb = f32s(gpu, "x", x);
    let (wb, bb) = (gpu.upload(w), gpu.upload(b));
    let out = gpu.storage("out", x.len() * 4);
    run(gpu, dtype_of(&[w]), Kernel::AddLayerNorm, &ln_params(rows, n, eps, false), &[(1, &xb), (2, &xb), (3, &wb), (4, &bb), (5, &out)], grid_rows(rows), &out, x.len()).await
}

pub async fn gather_rows(gpu: &Gpu, x: &[f32], width: usize, rows: &[usize]) -> Result<Vec<f32>> {
    let xb = f32s(gpu, "x", x);
    let r: Vec<u32> = rows.iter().map(|&r| r as u32).collect();
    let rb = gpu.storage_init("rows", &u32s(&r));
    let len = rows.len() * width;
    let out = gpu.storage("out", len * 4);
    let params = u32s(&[rows.len() as u32, width as u32, 0, 0]);
    run(gpu, DType::F32, Kernel::GatherRows, &params, &[(1, &xb), (2, &rb), (3, &out)], [(width as u32).div_ceil(64), rows.len() as u32, 1], &out, len).await
}
