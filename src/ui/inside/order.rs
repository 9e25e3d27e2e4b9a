//! Sentence order (SOP): ALBERT's second pretraining task. Two sentences, the probability the
//! model gives to "A then B is the original order" for both orders, and a swap button. A
//! checkpoint without the pooler and `sop_classifier` gets a note saying what is missing. Under
//! the bars: which order the model prefers, and for the embedded model, how often it is right.

use albert::FillMask;
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::super::{after_pause, Card};
use crate::state::{use_app, AppState, OrderView};
use crate::ui::export::ExportButtons;
use crate::view_model::export;
use crate::view_model::export::compare::pair_sentence;
use crate::view_model::export::Caption;
use crate::view_model::format;
use crate::view_model::inside::order;
use crate::{engine, web};

/// Typing pause before the two forwards.
const DEBOUNCE_MS: u64 = 250;

/// Runs both orders of the current pair on the installed model.
async fn run(state: AppState, a: String, b: String) {
    let out = engine::with_model(async |fm: &mut FillMask| -> OrderView {
        if let Err(e) = fm.backend.check_sop_head() {
            return OrderView::NoHead(e.to_string());
        }
        web::yield_now().await;
        let ab = match fm.order(&a, &b).await {
            Ok(r) => r.in_order_prob,
            Err(e) => return OrderView::Failed(e.to_string()),
        };
        match fm.order(&b, &a).await {
            Ok(r) => OrderView::Done { a: a.clone(), b: b.clone(), in_order: ab, swapped: r.in_order_prob },
            Err(e) => OrderView::Failed(e.to_string()),
        }
    })
    .await;
    // Only the newest pair's answer is shown.
    if let Some(v) = out {
        if state.order_a.get_untracked() == a && state.order_b.get_untracked() == b {
            state.order.set(v);
        }
    }
}

#[component]
pub fn OrderCard() -> impl IntoView {
    let state = use_app();
    let ticket = StoredValue::new(0u64);
    // A new model, or new sentences: ask again after a pause.
    Effect::new(move |_| {
        let loaded = state.model.with(|m| m.as_ref().map(|m| m.source.clone()));
        let (a, b) = (state.order_a.get(), state.order_b.get());
        if loaded.is_none() {
            return;
        }
        after_pause(ticket, DEBOUNCE_MS, move |_| spawn_local(run(state, a, b)));
    });
    let swap = move |_| {
        let (a, b) = (state.order_a.get_untracked(), state.order_b.get_untracked());
        state.order_a.set(b);
        state.order_b.set(a);
    };
    // The shown result belongs to the pair in the boxes.
    let current = move || {
        state.order.with(|o| match o {
            OrderView::Done { a, b, .. } if *a != state.order_a.get() || *b != state.order_b.get() => OrderView::Waiting,
            o => o.clone(),
        })
    };
    let probs = move || match current() {
        OrderView::Done { in_order, swapped, .. } => (Some(in_order), Some(swapped)),
        _ => (None, None),
    };
    // The shown pair's bars, titled with both sentences.
    let figure = Callback::new(move |_| {
        let OrderView::Done { a, b, in_order, swapped } = state.order.get_untracked() else { return None };
        let model = state.model.with_untracked(|m| m.as_ref().map(|m| m.label.clone()))?;
        let caption = Caption { model, sentence: pair_sentence(&a, &b), layer: String::new(), head: String::new() };
        Some(export::inside::order(&caption, in_order, swapped))
    });
    let done = Signal::derive(move || matches!(current(), OrderView::Done { .. }));
    let bar = move |p: Option<f32>, label: &'static str, testid: &'static str| {
        view! {
            <div class="order-bar" data-testid=testid>
                <span class="order-label">{label}</span>
                <span class="bar" aria-hidden="true"><span class="fill" style:width=move || format!("{:.1}%", p.unwrap_or(0.0) * 100.0)></span></span>
                <span class="order-prob">{p.map(format::percent).unwrap_or_else(|| "…".into())}</span>
            </div>
        }
    };
    let body = move || match current() {
        OrderView::NoHead(why) => view! {
            <p class="notice" data-testid="order-note" role="note">
                "This checkpoint cannot judge sentence order: " {why} ". Checkpoints saved as "
                <code>"AlbertForPreTraining"</code> " (such as albert/albert-base-v2 on the Hub) carry it."
            </p>
        }
        .into_any(),
        OrderView::Failed(e) => view! { <p class="fill-error" data-testid="order-error" role="alert">{e}</p> }.into_any(),
        _ => {
            let (p, q) = probs();
            let verdict = p.zip(q).map(|(p, q)| order::preference(p, q));
            // A known held-out accuracy (the embedded model) says how much one answer is worth.
            let heldout = state.model.with(|m| m.as_ref().and_then(|m| m.heldout.as_ref()).map(order::reliability));
            view! {
                <div class="order-result" aria-live="polite">
                    {bar(p, "A then B", "order-ab")}
                    {bar(q, "B then A", "order-ba")}
                    {verdict.map(|v| view! { <p class="order-verdict" data-testid="order-verdict">{v}</p> })}
                    <p class="help">"P(original order) from the SOP head on " <code>"[CLS] A [SEP] B [SEP]"</code> ". A model that learned discourse gives the real order the higher number."</p>
                    {heldout.map(|h| view! { <p class="help" data-testid="order-heldout">{h}</p> })}
                </div>
            }
            .into_any()
        }
    };
    view! {
        <Card class="order-card" title_id="order-title" title="Sentence order (SOP)">
            <div
                class="order"
                data-testid="order"
                data-state=move || match current() {
                    OrderView::Waiting => "waiting",
                    OrderView::NoHead(_) => "no-head",
                    OrderView::Failed(_) => "error",
                    OrderView::Done { .. } => "done",
                }
                data-in-order-prob=move || probs().0.map(|p| p.to_string())
                data-swapped-prob=move || probs().1.map(|p| p.to_string())
            >
                <p class="att-hint">
                    "ALBERT replaced BERT's next-sentence prediction with sentence-order prediction: given two "
                    "consecutive sentences, was their order swapped? Topic alone cannot answer it, so the model has to learn coherence."
                </p>
                <label class="field-label" for="order-a">"Sentence A"</label>
                <textarea id="order-a" data-testid="order-a" rows="2" spellcheck="false"
                    prop:value=move || state.order_a.get()
                    on:input=move |ev| state.order_a.set(event_target_value(&ev))></textarea>
                <div class="toolbar">
                    <button type="button" data-testid="order-swap" title="Swap A and B" on:click=swap>"⇅ Swap"</button>
                </div>
                <label class="field-label" for="order-b">"Sentence B"</label>
                <textarea id="order-b" data-testid="order-b" rows="2" spellcheck="false"
                    prop:value=move || state.order_b.get()
                    on:input=move |ev| state.order_b.set(event_target_value(&ev))></textarea>
                {body}
                <ExportButtons what="sentence order" ready=done figure=figure />
            </div>
        </Card>
    }
}
