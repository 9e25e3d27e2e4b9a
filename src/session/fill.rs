//! Fill-mask on the sentence: debounced while typing, one forward in flight, the newest text
//! next, and a result shown only while it belongs to the text in the box.

use std::time::Duration;

use albert::{FillMask, FillOptions};
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::state::{AppState, FillView, MaskView, PredictionView, TokenView};
use crate::view_model::attention::data::AttentionData;
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
        let latest = state.scheduler.try_update_value(|s| s.finish(job.generation)).unwrap_or(false);
        if latest && state.sentence.get_untracked() == job.text {
            match out {
                Some(Ok(view)) => {
                    let ms = view.elapsed_ms;
                    state.model.update(|m| {
                        if let Some(m) = m {
                            m.timings.first_forward_ms.get_or_insert(ms);
                        }
                    });
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
    engine::with_model(async move |fm: &mut FillMask| -> Result<FillView, String> {
        // Let the page paint (and take keystrokes) before the forward, which on the CPU is synchronous.
        web::yield_now().await;
        let t = web::now_ms();
        let opts = FillOptions { top_k, logits: false, attentions: true };
        let r = fm.fill(&sentence, &opts).await.map_err(|e| e.to_string())?;
        let elapsed_ms = web::now_ms() - t;
        Ok(fill_view(fm, &sentence, r, elapsed_ms))
    })
    .await
}

fn fill_view(fm: &FillMask, sentence: &str, r: albert::FillResult, elapsed_ms: f64) -> FillView {
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
            type_id,
            special: special_ids.contains(&id),
            mask: mask_positions.contains(&i),
        })
        .collect();
    let masks: Vec<MaskView> = r
        .masks
        .iter()
        .map(|m| MaskView {
            position: m.position,
            predictions: m
                .top_k
                .iter()
                .map(|p| PredictionView { token: p.token.clone(), display: tok.decode_token_for_display(p.id), id: p.id, prob: p.prob })
                .collect(),
        })
        .collect();
    let attention = AttentionData::from_maps(tokens.iter().map(|t| t.text.clone()).collect(), mask_positions, r.attentions);
    FillView { text: sentence.to_string(), tokens, masks, attention, elapsed_ms }
}
