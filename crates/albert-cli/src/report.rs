//! What the `albert` binary prints: `fill`'s JSON and its text, and `info`'s account of a
//! checkpoint's parameters (what the factorized embeddings and the shared block save).

use albert::{FillMask, FillResult, ModelInfo};
use serde_json::json;

/// `fill --json`'s answer: the model, the tokens, each mask's top-k, and what the inside options
/// asked for (attention maps as [layer][head][query][key], the drift, the neuron view's q and k).
pub fn fill_json(model: &str, info: &ModelInfo, device: &str, r: &FillResult) -> serde_json::Value {
    let t = r.tokens.len();
    let attentions: Vec<Vec<Vec<&[f32]>>> = r
        .attentions
        .iter()
        .map(|a| {
            let heads = a.data.len() / (t * t);
            (0..heads).map(|h| (0..t).map(|i| &a.data[(h * t + i) * t..(h * t + i + 1) * t]).collect()).collect()
        })
        .collect();
    let mut v = json!({
        "model": {
            "source": model,
            "architecture": info.architecture,
            "dtype": info.dtype,
            "parameters": info.checkpoint_parameters,
            "config": info.config,
        },
        "device": device,
        "tokens": r.tokens,
        "ids": r.ids,
        "token_type_ids": r.type_ids,
        "masks": r.masks,
    });
    if let Some(d) = &r.drift {
        v["drift"] = json!(d);
    }
    if let Some(n) = &r.neuron {
        let d = n.q.len() / t.max(1);
        let rows = |x: &[f32]| x.chunks_exact(d.max(1)).map(|r| r.to_vec()).collect::<Vec<_>>();
        v["neuron"] = json!({"layer": n.head.layer, "inner": n.head.inner, "head": n.head.head, "q": rows(&n.q), "k": rows(&n.k)});
    }
    if !r.attentions.is_empty() {
        v["attentions"] = json!(attentions);
        v["attention_groups"] = json!(r.attentions.iter().map(|a| a.group).collect::<Vec<_>>());
    }
    v
}

/// `fill`'s answer for a person: each mask's top-k with bars.
pub fn print_fill(model: &str, fm: &FillMask, device: &str, text: &str, r: &FillResult) {
    let i = &fm.info;
    println!("model: {model} ({}, {:.1}M parameters, {:?}) on {device}", i.architecture, i.checkpoint_parameters as f64 / 1e6, i.dtype);
    println!("text:  {text}");
    for (k, m) in r.masks.iter().enumerate() {
        println!("[MASK] #{} (token {}):", k + 1, m.position);
        for (j, p) in m.top_k.iter().enumerate() {
            let shown = fm.tokenizer.decode_token_for_display(p.id);
            let bar = "█".repeat((p.prob * 30.0).round() as usize);
            println!("  {:>2}. {:<16} {:>7.2}%  {bar}", j + 1, shown.trim(), p.prob * 100.0);
        }
    }
}

/// `info`: what the checkpoint holds, by part, and what factorization and sharing save.
pub fn print_info(model: &str, i: &ModelInfo) {
    let c = &i.config;
    let p = &i.parameters;
    let mb = |b: usize| b as f64 / 1e6;
    println!("model: {model}");
    println!("architecture: {} ({:?} weights, tokenizer from {})", i.architecture, i.dtype, i.tokenizer);
    println!(
        "shape: V={} E={} H={} layers={} groups={} inner={} heads={} FFN={} act={} max_len={}",
        c.vocab_size, c.embedding_size, c.hidden_size, c.num_hidden_layers, c.num_hidden_groups, c.inner_group_num,
        c.num_attention_heads, c.intermediate_size, c.hidden_act, c.max_position_embeddings
    );
    println!("parameters (tied decoder counted once):");
    println!("  embeddings (V+P+T)×E + LN   {:>12}", p.embeddings);
    println!("  projection E→H              {:>12}", p.projection);
    for g in 0..p.groups {
        println!("  group {g} block ×{} layer(s)    {:>12}", c.inner_group_num, p.per_group);
    }
    println!("  MLM head                    {:>12}", p.mlm_head);
    println!("  total                       {:>12}", p.total);
    println!("in the checkpoint: {} parameters, {:.1} MB as loaded, {:.1} MB of files", i.checkpoint_parameters, mb(i.weight_bytes), mb(i.file_bytes));
    let bpp = i.dtype.size();
    println!(
        "without factorization (V×H embeddings): embeddings {} instead of {} (+{:.1} MB)",
        p.unfactorized_embeddings,
        p.embeddings + p.projection,
        mb((p.unfactorized_embeddings.saturating_sub(p.embeddings + p.projection)) * bpp)
    );
    println!(
        "without sharing (a block per layer): layers {} instead of {} (+{:.1} MB)",
        p.unshared_layers,
        p.per_group * p.groups,
        mb((p.unshared_layers.saturating_sub(p.per_group * p.groups)) * bpp)
    );
    println!(
        "BERT with these shapes: {} parameters = {:.1}× this model",
        i.bert_equivalent_parameters,
        i.bert_equivalent_parameters as f64 / p.total as f64
    );
}
