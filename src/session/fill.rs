//! Fill-mask on the sentence: debounced while typing, one forward in flight, the newest text
//! next, and a result shown only while it belongs to the text in the box.

use std::time::Duration;

use albert::{FillMask, FillOptions, HeadSwitch, Inside};
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::state::{AppState, FillView, InsideView, MaskView, PredictionView, TokenView};
use crate::view_model::attention::data::AttentionData;
use crate::view_model::attention::request::map_request;
use crate::view_model::inside::lens::{LensPick, LensRow, LensView};
use crate::view_model::inside::neuron::NeuronData;
use crate::view_model::inside::switches::{self, Shape};
use crate::view_model::{params, text};
use crate::{engine, web};

/// Typing pause before a forward starts.
pub const DEBOUNCE_MS: u64 = 180;

/// The sentence changed by typing: run the newest text after a pause.
pub fn request_debounced(state: AppState) {
    let Some(token) = state.debounce.try_update_value(|d| d.bump()) else { return };
    set_timeout(
        move || {
            if state.debounce.with_value(|d| d.is_current(token)) {
                let text = state.sentence.get_untracked();
                web::replace_query(&params::with_param(&web::location_search(), "text", Some(&text)));
                request_now(state);
            }
        },
        Duration::from_millis(DEBOUNCE_MS),
    );
}

/// Runs the current sentence as soon as the model is free (clicks, a new model, top-k).
pub fn request_now(state: AppState) {
    state.debounce.update_value(|d| {
        d.bump();
    });
    let text = state.sentence.get_untracked();
    state.scheduler.update_value(|s| {
        s.submit(text);
    });
    pump(state);
}

fn pump(state: AppState) {
    let Some(Some(job)) = state.scheduler.try_update_value(|s| s.start()) else { return };
    spawn_local(async move {
        let out = run(state, &job.text).await;
        if let Some(out) = &out {
            crate::stats::count_forward(out.as_ref().ok().map(|v| (v.elapsed_ms, v.output_bytes)));
        }
        // A lost device is not this sentence's error: recover, then run the newest text again.
        let recovered = match &out {
            Some(Err(e)) => super::lost::recover_if_lost(state, e).await,
            _ => false,
        };
        let latest = state.scheduler.try_update_value(|s| s.finish(job.generation)).unwrap_or(false);
        if recovered {
            request_now(state);
            return;
        }
        if latest && state.sentence.get_untracked() == job.text {
            match out {
                Some(Ok(view)) => {
                    // Only the model's first forward changes it: an update notifies every reader of
                    // the model, and a new model clears what belongs to the old one (the
                    // cross-check's verdict), so later forwards must not touch it.
                    let ms = view.elapsed_ms;
                    if state.model.with_untracked(|m| m.as_ref().is_some_and(|m| m.timings.first_forward_ms.is_none())) {
                        state.model.update(|m| {
                            if let Some(m) = m {
                                m.timings.first_forward_ms = Some(ms);
                                crate::stats::first_prediction(&m.timings, m.from_cache);
                            }
                        });
                    }
                    state.fill_error.set(None);
                    state.result.set(Some(view));
                }
                Some(Err(e)) => state.fill_error.set(Some((job.text.clone(), e))),
                None => {}
            }
        }
        pump(state);
    });
}

/// One forward on the installed model; `None` when there is no model (yet) or nothing to do.
async fn run(state: AppState, sentence: &str) -> Option<Result<FillView, String>> {
    if let Some(problem) = text::input_problem(sentence) {
        return Some(Err(problem.to_string()));
    }
    let top_k = state.top_k.get_untracked();
    let sentence = sentence.to_string();
    let (depth, switches, neuron) = (state.depth.get_untracked(), state.switches.get_untracked(), state.neuron_head.get_untracked());
    // Maps only while the attention card shows them, and of them only what its views show
    // (issue 13 item 3: pay for what is shown).
    let maps_shown = state.attention_open.get_untracked();
    let (hv_layer, heat) = (state.head_view_layer.get_untracked(), state.heat_sel.get_untracked());
    engine::with_model(async move |fm: &mut FillMask| -> Result<FillView, String> {
        // Let the page paint (and take keystrokes) before the forward, which on the CPU is synchronous.
        web::yield_now().await;
        let t = web::now_ms();
        let inside = inside_request(&fm.config, depth, &switches, neuron);
        let (attentions, maps) = if maps_shown {
            let cfg = &fm.config;
            let calls = inside.depth.unwrap_or(cfg.num_hidden_layers) * cfg.inner_group_num;
            let tokens = fm.encode_masked(&sentence).map(|(e, _)| e.ids.len()).unwrap_or(0);
            map_request(hv_layer, heat, calls, cfg.num_attention_heads, tokens)
        } else {
            (false, albert::MapViews::default())
        };
        let opts = FillOptions { top_k, logits: false, attentions, maps };
        let r = fm.fill_inside(&sentence, &opts, &inside).await.map_err(|e| e.to_string())?;
        let elapsed_ms = web::now_ms() - t;
        Ok(fill_view(fm, &sentence, r, &inside, elapsed_ms))
    })
    .await
}

/// Every attention map of `sentence`, whole, with the reader's depth and head switches (the
/// attentions JSON export: the page's own forwards read back only what the views show).
pub async fn every_map(state: AppState, sentence: &str) -> Result<AttentionData, String> {
    let (depth, switches) = (state.depth.get_untracked(), state.switches.get_untracked());
    let sentence = sentence.to_string();
    let out = engine::with_model(async move |fm: &mut FillMask| -> Result<AttentionData, String> {
        let inside = fitted(&fm.config, depth, &switches);
        let opts = FillOptions { top_k: 1, attentions: true, ..Default::default() };
        let r = fm.fill_inside(&sentence, &opts, &inside).await.map_err(|e| e.to_string())?;
        let tok = &fm.tokenizer;
        let texts = r.ids.iter().map(|&id| tok.decode_token_for_display(id)).collect();
        let masks = r.masks.iter().map(|m| m.position).collect();
        AttentionData::from_maps(texts, masks, r.attentions).ok_or_else(|| "the forward returned no attention maps".to_string())
    })
    .await;
    out.unwrap_or_else(|| Err("no model is loaded".to_string()))
}

/// What the page asks of every forward: the depth and switches the reader chose, fitted to this
/// model (a link made on another model must not fail the forward), the lens and drift (cheap: the
/// lens runs the head on the [MASK] rows only, the drift reads back 2·K numbers), and q/k of the
/// neuron view's head.
fn inside_request(cfg: &albert::Config, depth: Option<usize>, switches: &[HeadSwitch], neuron: HeadSwitch) -> Inside {
    let fit = fitted(cfg, depth, switches);
    let depth = fit.depth.unwrap_or(cfg.num_hidden_layers);
    let neuron = HeadSwitch {
        layer: neuron.layer.clamp(1, depth),
        inner: neuron.inner.min(cfg.inner_group_num.saturating_sub(1)),
        head: neuron.head.min(cfg.num_attention_heads.saturating_sub(1)),
    };
    Inside { lens: true, drift: true, neuron: Some(neuron), ..fit }
}

/// The reader's depth and switches fitted to this model (clamped; switches it cannot honour
/// left out), nothing else asked: what every forward of the page shares.
pub fn fitted(cfg: &albert::Config, depth: Option<usize>, switches: &[HeadSwitch]) -> Inside {
    let depth = depth.map_or(cfg.num_hidden_layers, |d| d.clamp(1, cfg.max_depth()));
    let shape = Shape { depth, inner: cfg.inner_group_num, heads: cfg.num_attention_heads };
    Inside { depth: Some(depth), switches: switches::active(switches, shape), ..Default::default() }
}

/// The top-k of each [MASK], as the page shows them.
pub fn mask_views(tok: &albert::Tokenizer, masks: &[albert::pipeline::MaskResult]) -> Vec<MaskView> {
    masks
        .iter()
        .map(|m| MaskView {
            position: m.position,
            predictions: m
                .top_k
                .iter()
                .map(|p| PredictionView { token: p.token.clone(), display: tok.decode_token_for_display(p.id), id: p.id, prob: p.prob })
                .collect(),
        })
        .collect()
}

fn fill_view(fm: &FillMask, sentence: &str, r: albert::FillResult, inside: &Inside, elapsed_ms: f64) -> FillView {
    let output_bytes = r.output_bytes;
    let tok = &fm.tokenizer;
    let special_ids = [tok.cls_token_id(), tok.sep_token_id(), tok.mask_token_id(), tok.pad_token_id()];
    // The engine found the [MASK]s; everything below reads their positions from here.
    let mask_positions: Vec<usize> = r.masks.iter().map(|m| m.position).collect();
    let tokens: Vec<TokenView> = r
        .ids
        .iter()
        .zip(&r.type_ids)
        .enumerate()
        .map(|(i, (&id, &type_id))| TokenView {
            text: tok.decode_token_for_display(id),
            piece: r.tokens.get(i).cloned().unwrap_or_default(),
            id,
            type_id,
            special: special_ids.contains(&id),
            mask: mask_positions.contains(&i),
        })
        .collect();
    let pick = |p: &albert::output::Prediction| LensPick { token: p.token.clone(), display: tok.decode_token_for_display(p.id), id: p.id, prob: p.prob };
    let lens = r
        .masks
        .iter()
        .map(|m| {
            let layers = m.lens.as_deref().unwrap_or_default();
            LensView {
                position: m.position,
                answer: m.top_k.first().map(|p| tok.decode_token_for_display(p.id).trim().to_string()).unwrap_or_default(),
                rows: layers
                    .iter()
                    .map(|l| LensRow { layer: l.layer, picks: l.top_k.iter().map(pick).collect(), answer_rank: l.answer_rank, answer_prob: l.answer_prob })
                    .collect(),
            }
        })
        .collect();
    let cfg = &fm.config;
    let neuron = r.neuron.as_ref().map(|n| NeuronData {
        head: n.head,
        tokens: tokens.iter().map(|t| t.text.clone()).collect(),
        head_dim: cfg.hidden_size / cfg.num_attention_heads.max(1),
        q: n.q.clone(),
        k: n.k.clone(),
    });
    let inside = InsideView {
        depth: inside.depth.unwrap_or(cfg.num_hidden_layers),
        layers: cfg.num_hidden_layers,
        max_depth: cfg.max_depth(),
        inner: cfg.inner_group_num,
        heads: cfg.num_attention_heads,
        switches: inside.switches.clone(),
        lens,
        drift: r.drift.clone().unwrap_or_default(),
        neuron,
    };
    let masks = mask_views(tok, &r.masks);
    let texts = tokens.iter().map(|t| t.text.clone()).collect();
    let schedule = albert::output::schedule_to(cfg, inside.depth);
    let attention = AttentionData::from_views(texts, mask_positions, &schedule, cfg.num_attention_heads, r.attentions, r.head_means, r.thumbnails);
    FillView { text: sentence.to_string(), tokens, masks, attention: attention.map(std::sync::Arc::new), inside, elapsed_ms, output_bytes }
}
