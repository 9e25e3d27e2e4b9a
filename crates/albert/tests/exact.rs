//! The CPU path against the exact value, not only against transformers' float32: an independent
//! float64 forward of the shipped (trained) model, written here from modeling_albert.py, on the
//! golden batch of `assets/model` (3 sequences, with padding). Float32 goldens
//! cannot tell an engine whose error is torch's from one several times worse (both pass STRICT);
//! this test bounds the CPU path's distance from the exact value at about twice torch's own, at
//! the positions the attention mask keeps (see `kept_max_diff`).
mod common;
use albert::{cpu, LogitsRequest, ModelFiles, Request};
use common::*;
use std::collections::HashMap;
use std::path::PathBuf;

/// The CPU path may be at most this many times further from the float64 forward than
/// transformers' own float32 forward is (measured by train/export.py on the same batch, stored in
/// the golden file's `torch_f32_vs_f64`): f32 rounding in another order, nothing worse. Measured
/// (bench/README.md, "CPU exactness"): 1.4–2.0× on the H 256 model shipped first (ours 1.39e-6 /
/// 3.37e-6 / 1.96e-5, torch 9.7e-7 / 2.3e-6 / 1.0e-5), 0.4–1.7× on the H 384 one, 0.86–1.41×
/// at the kept positions of the 500 M-token one (session 32). A bound that
/// follows the shipped model keeps the test meaningful when the model is retrained.
const EXACT_VS_TORCH: f32 = 2.0;

/// What `torch_f32_vs_f64` measures over, as train/export.py records it.
const KEPT: &str = "kept by the attention mask";

/// transformers float32's max |Δ| from float64 (attentions, hidden states, logits) at the kept
/// positions, from the golden file's metadata.
fn torch_f32_error(golden: &[u8]) -> [f32; 3] {
    let v = golden_meta(golden, "torch_f32_vs_f64");
    assert_eq!(v["positions"].as_str(), Some(KEPT), "torch_f32_vs_f64 of assets/model/golden.safetensors: measured over which positions? (re-export with train/export.py)");
    ["attentions", "hidden_states", "logits"].map(|k| v[k].as_f64().unwrap_or_else(|| panic!("torch_f32_vs_f64.{k}")) as f32)
}

fn model_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../assets/model")
}

/// The checkpoint's tensors in f64, by Hugging Face key without the `albert.` prefix.
struct F64Weights(HashMap<String, Vec<f64>>);

impl F64Weights {
    fn get(&self, name: &str) -> &[f64] {
        self.0.get(name).unwrap_or_else(|| panic!("tensor {name}"))
    }
}

fn linear(x: &[f64], rows: usize, w: &[f64], b: &[f64]) -> Vec<f64> {
    let (out, inp) = (b.len(), x.len() / rows);
    let mut y = vec![0.0; rows * out];
    for r in 0..rows {
        for o in 0..out {
            y[r * out + o] = b[o] + (0..inp).map(|i| x[r * inp + i] * w[o * inp + i]).sum::<f64>();
        }
    }
    y
}

fn layer_norm(x: &mut [f64], w: &[f64], b: &[f64], eps: f64) {
    for row in x.chunks_exact_mut(w.len()) {
        let n = row.len() as f64;
        let mean = row.iter().sum::<f64>() / n;
        let var = row.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
        let inv = 1.0 / (var + eps).sqrt();
        for (j, v) in row.iter_mut().enumerate() {
            *v = (*v - mean) * inv * w[j] + b[j];
        }
    }
}

fn gelu_new(x: f64) -> f64 {
    0.5 * x * (1.0 + ((2.0 / std::f64::consts::PI).sqrt() * (x + 0.044715 * x.powi(3))).tanh())
}

/// What the float64 forward returns: attention maps `[b, heads, t, t]` a layer, hidden states
/// (after embedding_hidden_mapping_in, then after each layer) and all rows' logits.
struct Exact {
    attentions: Vec<Vec<f64>>,
    hidden_states: Vec<Vec<f64>>,
    logits: Vec<f64>,
}

fn forward_f64(cfg: &albert::Config, w: &F64Weights, batch: &albert::Batch) -> Exact {
    assert_eq!((cfg.num_hidden_groups, cfg.inner_group_num), (1, 1), "this reference shares one layer");
    let (bsz, t, h, e) = (batch.batch, batch.seq_len, cfg.hidden_size, cfg.embedding_size);
    let (heads, d, rows, eps) = (cfg.num_attention_heads, cfg.head_dim(), batch.rows(), cfg.layer_norm_eps);
    let emb_w = |name: &str, i: usize| &w.get(&format!("embeddings.{name}.weight"))[i * e..(i + 1) * e];
    let mut emb = Vec::with_capacity(rows * e);
    for r in 0..rows {
        let (id, ty) = (batch.input_ids[r] as usize, batch.token_type_ids[r] as usize);
        let (word, pos, typ) = (emb_w("word_embeddings", id), emb_w("position_embeddings", r % t), emb_w("token_type_embeddings", ty));
        emb.extend((0..e).map(|j| word[j] + typ[j] + pos[j]));
    }
    layer_norm(&mut emb, w.get("embeddings.LayerNorm.weight"), w.get("embeddings.LayerNorm.bias"), eps);
    let lin = |x: &[f64], name: &str| linear(x, rows, w.get(&format!("{name}.weight")), w.get(&format!("{name}.bias")));
    let mut x = lin(&emb, "encoder.embedding_hidden_mapping_in");
    let mut out = Exact { attentions: vec![], hidden_states: vec![x.clone()], logits: vec![] };
    let l = "encoder.albert_layer_groups.0.albert_layers.0";
    for _ in 0..cfg.num_hidden_layers {
        let (q, k, v) = (lin(&x, &format!("{l}.attention.query")), lin(&x, &format!("{l}.attention.key")), lin(&x, &format!("{l}.attention.value")));
        let mut probs = vec![0.0; bsz * heads * t * t];
        let mut ctx = vec![0.0; rows * h];
        for bi in 0..bsz {
            for hi in 0..heads {
                for i in 0..t {
                    let qi = &q[(bi * t + i) * h + hi * d..][..d];
                    let p = &mut probs[((bi * heads + hi) * t + i) * t..][..t];
                    for (j, pj) in p.iter_mut().enumerate() {
                        let kj = &k[(bi * t + j) * h + hi * d..][..d];
                        // A masked key's probability is exactly 0 (transformers' finfo.min in f32).
                        *pj = if batch.attention_mask[bi * t + j] == 0 {
                            f64::NEG_INFINITY
                        } else {
                            qi.iter().zip(kj).map(|(a, b)| a * b).sum::<f64>() / (d as f64).sqrt()
                        };
                    }
                    let max = p.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                    p.iter_mut().for_each(|s| *s = (*s - max).exp());
                    let sum: f64 = p.iter().sum();
                    p.iter_mut().for_each(|s| *s /= sum);
                    for c in 0..d {
                        ctx[(bi * t + i) * h + hi * d + c] = (0..t).map(|j| p[j] * v[(bi * t + j) * h + hi * d + c]).sum();
                    }
                }
            }
        }
        let mut attn: Vec<f64> = lin(&ctx, &format!("{l}.attention.dense")).iter().zip(&x).map(|(a, b)| a + b).collect();
        layer_norm(&mut attn, w.get(&format!("{l}.attention.LayerNorm.weight")), w.get(&format!("{l}.attention.LayerNorm.bias")), eps);
        let ffn: Vec<f64> = lin(&attn, &format!("{l}.ffn")).into_iter().map(gelu_new).collect();
        let mut next: Vec<f64> = lin(&ffn, &format!("{l}.ffn_output")).iter().zip(&attn).map(|(a, b)| a + b).collect();
        layer_norm(&mut next, w.get(&format!("{l}.full_layer_layer_norm.weight")), w.get(&format!("{l}.full_layer_layer_norm.bias")), eps);
        x = next;
        out.attentions.push(probs);
        out.hidden_states.push(x.clone());
    }
    let mut head: Vec<f64> = lin(&x, "predictions.dense").into_iter().map(gelu_new).collect();
    layer_norm(&mut head, w.get("predictions.LayerNorm.weight"), w.get("predictions.LayerNorm.bias"), eps);
    // The decoder is tied to the word embeddings when the checkpoint has no matrix of its own.
    let decoder = w.0.get("predictions.decoder.weight").map(Vec::as_slice).unwrap_or_else(|| w.get("embeddings.word_embeddings.weight"));
    out.logits = linear(&head, rows, decoder, w.get("predictions.bias"));
    out
}

/// Max |Δ| over the rows the attention mask keeps: `got` and `exact` are `[rows, width]` with
/// `rows` = batch × seq (hidden states, logits) or, for an attention map `[b, heads, t, t]`,
/// query rows of t keys, whose query position is the row's index mod t within sequence
/// row / (heads · t). Padding positions are left out here (the golden logits keep one a text,
/// which the golden tests compare with transformers at STRICT): nothing reads them, and float32
/// is ill-conditioned there (torch's own error at a padding row
/// of the 500 M model's last layer was 12× its largest at a kept row of that layer; ours with
/// matrixmultiply 2.03× torch's there, with the panels 0.8×, while at kept rows both are within
/// 1.5× of torch's: bench/README.md, "Exactness"), so a max over them measured one position, not
/// the engine's arithmetic.
fn kept_max_diff(got: &[f32], exact: &[f64], width: usize, mask: &[u32], per_seq: usize, t: usize) -> f32 {
    assert_eq!(got.len(), exact.len());
    let kept = |row: usize| mask[(row / per_seq) * t + row % t] == 1;
    let rows = got.chunks_exact(width).zip(exact.chunks_exact(width)).enumerate().filter(|&(r, _)| kept(r));
    rows.flat_map(|(_, (g, x))| g.iter().zip(x).map(|(&g, &x)| (g as f64 - x).abs())).fold(0.0, f64::max) as f32
}

#[test]
fn cpu_path_is_near_a_float64_forward_of_the_trained_model() {
    let files = ModelFiles::from_dir(model_dir()).expect("assets/model loads");
    let (cfg, w) = files.load().expect("weights load");
    let f64w = F64Weights(
        w.tensors().map(|t| (t.name.strip_prefix("albert.").unwrap_or(&t.name).to_string(), t.to_f32().into_iter().map(f64::from).collect())).collect(),
    );
    let golden = std::fs::read(model_dir().join("golden.safetensors")).expect("assets/model/golden.safetensors");
    let g = golden_tensors(&golden);
    let [torch_probs, torch_hidden, torch_logits] = torch_f32_error(&golden);
    let batch = batch_from(&g, "");
    let exact = forward_f64(&cfg, &f64w, &batch);
    // Both CPU kernels: matrixmultiply (native's default) and the packed panels (the browser's).
    for kernel in [cpu::Kernel::Gemm, cpu::Kernel::Panels] {
        let model = cpu::AlbertForMaskedLM::with_kernel(&cfg, &w, kernel).unwrap();
        let req = Request { logits: LogitsRequest::All, attentions: true, hidden_states: true, ..Default::default() };
        let out = model.forward(&batch, &req).unwrap();
        let (t, mask, heads) = (batch.seq_len, &batch.attention_mask, cfg.num_attention_heads);
        let probs = out.attentions.iter().zip(&exact.attentions).map(|(a, x)| kept_max_diff(&a.data, x, t, mask, heads * t, t)).fold(0.0, f32::max);
        let hidden = out.hidden_states.iter().zip(&exact.hidden_states).map(|(a, x)| kept_max_diff(a, x, cfg.hidden_size, mask, t, t)).fold(0.0, f32::max);
        let logits = kept_max_diff(out.logits.as_ref().unwrap(), &exact.logits, cfg.vocab_size, mask, t, t);
        assert_eq!((out.attentions.len(), out.hidden_states.len()), (exact.attentions.len(), exact.hidden_states.len()));
        eprintln!("cpu ({kernel:?}) vs float64 ({} sequences × {} tokens, the positions {KEPT}): max |Δ| attentions {probs:.2e}, hidden states {hidden:.2e}, logits {logits:.2e}", batch.batch, batch.seq_len);
        eprintln!("transformers float32 vs float64: attentions {torch_probs:.2e}, hidden states {torch_hidden:.2e}, logits {torch_logits:.2e} (bound: {EXACT_VS_TORCH}×)");
        for (what, ours, torch) in [("attentions", probs, torch_probs), ("hidden states", hidden, torch_hidden), ("logits", logits, torch_logits)] {
            assert!(torch > 0.0, "transformers' float32 error on {what} is recorded as {torch}: the golden file is wrong");
            assert!(ours <= EXACT_VS_TORCH * torch, "{kernel:?} {what}: {ours:e} from float64, over {EXACT_VS_TORCH}× transformers' float32 ({torch:e})");
        }
    }
}
