//! The logit-lens view: for the chosen [MASK], one row per layer (h0 … hK) with the MLM head's
//! top predictions at that layer and their probability bars, and a line chart of the final
//! answer's probability across layers.

use leptos::prelude::*;

use crate::state::{use_app, InsideView};
use crate::ui::relay::Relay;
use crate::ui::export::{caption, ExportButtons};
use crate::view_model::export;
use crate::view_model::format;
use crate::view_model::inside::lens::{row_label, LensView, ROW_PICKS};
use crate::view_model::text::mask_title;

const CHART_W: f32 = 260.0;
const CHART_H: f32 = 90.0;
const CHART_PAD: f32 = 8.0;

/// The view; its rows carry `data-layer`, their predictions `data-id` and `data-prob`.
#[component]
pub fn LensPanel(
    /// The shown forward's insides.
    inside: Signal<Option<InsideView>>,
) -> impl IntoView {
    let chosen = RwSignal::new(0usize);
    let lens: Memo<Option<LensView>> = Memo::new(move |_| {
        inside.with(|i| i.as_ref().and_then(|i| i.lens.get(chosen.get().min(i.lens.len().saturating_sub(1))).cloned()))
    });
    let count = move || inside.with(|i| i.as_ref().map_or(0, |i| i.lens.len()));
    // The buttons are rebuilt with the count of masks: they read the choice through a relay
    // (ui/relay.rs).
    let picked = Relay::new(move || chosen.get());
    let picker = move || {
        let n = count();
        (n > 1).then(|| {
            let picked = picked.fresh();
            view! {
                <div class="lens-masks" role="group" aria-label="Which [MASK]">
                    {(0..n)
                        .map(|i| {
                            let picked = picked.clone();
                            view! {
                            <button
                                type="button"
                                class="chip"
                                data-testid="lens-mask"
                                aria-pressed=move || (picked.get().min(n - 1) == i).to_string()
                                on:click=move |_| chosen.set(i)
                            >
                                {mask_title(i, n)}
                            </button>
                        }})
                        .collect_view()}
                </div>
            }
        })
    };
    let rows = move || {
        lens.with(|l| {
            let Some(l) = l else { return view! { <p class="att-empty">"The lens appears after the first prediction."</p> }.into_any() };
            view! {
                <ol class="lens-rows" aria-label="Top predictions at each layer">
                    {l.rows
                        .iter()
                        .map(|r| {
                            view! {
                                <li
                                    class="lens-row"
                                    class:settled=r.answer_rank == 1
                                    data-testid="lens-row"
                                    data-layer=r.layer
                                    data-answer-rank=r.answer_rank
                                    data-answer-prob=r.answer_prob.to_string()
                                >
                                    <span class="lens-layer">{row_label(r.layer)}</span>
                                    <span class="lens-picks">
                                        {r.picks
                                            .iter()
                                            .take(ROW_PICKS)
                                            .map(|p| {
                                                let shown = if p.display.trim().is_empty() { "␣".to_string() } else { p.display.trim().to_string() };
                                                let width = format!("{:.1}%", (p.prob * 100.0).clamp(0.0, 100.0));
                                                view! {
                                                    <span
                                                        class="lens-pick"
                                                        data-testid="lens-prediction"
                                                        data-token=p.token.clone()
                                                        data-id=p.id
                                                        data-prob=p.prob.to_string()
                                                        title=format!("{} · id {} · {}", p.token, p.id, format::percent(p.prob))
                                                    >
                                                        <span class="lens-word">{shown}</span>
                                                        <span class="bar" aria-hidden="true"><span class="fill" style:width=width></span></span>
                                                        <span class="lens-prob">{format::percent(p.prob)}</span>
                                                    </span>
                                                }
                                            })
                                            .collect_view()}
                                    </span>
                                    <span class="lens-rank" title="Rank of the final answer at this layer">"#" {r.answer_rank}</span>
                                </li>
                            }
                        })
                        .collect_view()}
                </ol>
            }
            .into_any()
        })
    };
    let chart = move || {
        lens.with(|l| {
            l.as_ref().map(|l| {
                let pts = l.curve(CHART_W, CHART_H, CHART_PAD);
                let path = l.curve_path(CHART_W, CHART_H, CHART_PAD);
                let last = l.rows.last().map_or(0, |r| r.layer);
                view! {
                    <svg class="lens-chart" viewBox=format!("0 0 {CHART_W} {CHART_H}") role="img"
                        aria-label=format!("Probability of “{}” after each layer", l.answer)>
                        <line class="axis" x1=CHART_PAD y1=CHART_H - CHART_PAD x2=CHART_W - CHART_PAD y2=CHART_H - CHART_PAD />
                        <line class="grid" x1=CHART_PAD y1=CHART_PAD x2=CHART_W - CHART_PAD y2=CHART_PAD />
                        <text class="tick" x=CHART_PAD y=CHART_H - 1.0>"h0"</text>
                        <text class="tick" x=CHART_W - CHART_PAD y=CHART_H - 1.0 text-anchor="end">{format!("layer {last}")}</text>
                        <text class="tick" x=CHART_PAD + 2.0 y=CHART_PAD + 8.0>"100%"</text>
                        <path class="lens-line" d=path />
                        {pts.iter().zip(&l.rows).map(|((x, y), r)| view! {
                            <circle class="lens-dot" cx=*x cy=*y r="2.5">
                                <title>{format!("{}: {}", row_label(r.layer), format::percent(r.answer_prob))}</title>
                            </circle>
                        }).collect_view()}
                    </svg>
                }
            })
        })
    };
    let reading = move || lens.with(|l| l.as_ref().map(|l| l.reading()));
    let state = use_app();
    // The chosen [MASK]'s lens.
    let figure = Callback::new(move |_| {
        let cap = caption(state)?;
        lens.with_untracked(|l| l.as_ref().and_then(|l| export::inside::lens(&cap, l)))
    });
    view! {
        <section class="inside-view lens-view" data-testid="lens" aria-labelledby="lens-title"
            data-depth=move || inside.with(|i| i.as_ref().map(|i| i.depth.to_string()))
            data-position=move || lens.with(|l| l.as_ref().map(|l| l.position.to_string()))>
            <h3 id="lens-title">"Logit lens: how the answer forms"</h3>
            <p class="att-hint">
                "The MLM head read out after every layer, as if the model stopped there. With one shared block, "
                "each pass refines the same kind of representation, so the head can read every layer."
            </p>
            {picker}
            <ExportButtons what="logit lens" ready=Signal::derive(move || lens.with(Option::is_some)) figure=figure />
            <div class="lens-top">
                {chart}
                <p class="lens-reading" data-testid="lens-reading">{reading}</p>
            </div>
            <div class="inside-scroll lens-scroll">{rows}</div>
        </section>
    }
}
