//! Side by side (browser only): two sentences, one forward each (with the page's depth and head
//! switches, so each side equals a single run of its sentence), their predictions, for each
//! `[MASK]` pair the candidates of either side with both probabilities and the shift, and the
//! difference of their attention (A − B) when they have the same number of tokens. Forwards run
//! only while the section is open.

use albert::{FillMask, FillOptions};
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::export::ExportButtons;
use super::{after_pause, Card};
use crate::session::{fitted, mask_views};
use crate::state::{use_app, AppState, MaskView};
use crate::view_model::attention::{data::AttentionData, layer::HeadSel};
use crate::view_model::attention::labels::{display_token, truncate_token};
use crate::view_model::compare::{abs_max, candidates, diff, diff_problem, softmax, CandidateRow};
use crate::view_model::export::compare::{diff_heatmap, pair_sentence};
use crate::view_model::export::Caption;
use crate::view_model::format;
use crate::view_model::inside::neuron::diverging;
use crate::view_model::params::with_param;
use crate::view_model::text::{input_problem, mask_title};
use crate::{engine, web};

const DEBOUNCE_MS: u64 = 250;

/// One side's forward.
#[derive(Clone, Debug, PartialEq)]
struct Side {
    text: String,
    masks: Vec<MaskView>,
    /// Per [MASK], the full distribution (for the other side's candidates).
    probs: Vec<Vec<f32>>,
    attention: Option<AttentionData>,
}

/// Both sides, for the texts they were computed on.
#[derive(Clone, Debug, PartialEq)]
struct Outcome {
    a: Result<Side, String>,
    b: Result<Side, String>,
}

async fn forward(state: AppState, text: String) -> Option<Result<Side, String>> {
    if let Some(p) = input_problem(&text) {
        return Some(Err(p.to_string()));
    }
    let (k, depth, list) = (state.top_k.get_untracked(), state.depth.get_untracked(), state.switches.get_untracked());
    engine::with_model(async move |fm: &mut FillMask| -> Result<Side, String> {
        web::yield_now().await;
        let inside = fitted(&fm.config, depth, &list);
        let opts = FillOptions { top_k: k, logits: true, attentions: true, ..Default::default() };
        let r = fm.fill_inside(&text, &opts, &inside).await.map_err(|e| e.to_string())?;
        let tok = &fm.tokenizer;
        let masks = mask_views(tok, &r.masks);
        let probs = r.masks.iter().map(|m| m.logits.as_deref().map(softmax).unwrap_or_default()).collect();
        let tokens = r.ids.iter().map(|&id| tok.decode_token_for_display(id)).collect();
        let positions = r.masks.iter().map(|m| m.position).collect();
        let attention = AttentionData::from_maps(tokens, positions, r.attentions);
        Ok(Side { text: text.clone(), masks, probs, attention })
    })
    .await
}

#[component]
pub fn CompareCard() -> impl IntoView {
    let state = use_app();
    let outcome = RwSignal::new(None::<Outcome>);
    let ticket = StoredValue::new(0u64);
    // Run both sides after a pause, while open, on a loaded model; again when depth, switches or
    // k change (each side must equal a single run of its sentence).
    Effect::new(move |_| {
        let open = state.compare_open.get();
        let loaded = state.model.with(|m| m.as_ref().map(|m| m.source.clone()));
        let (a, b) = (state.compare_a.get(), state.compare_b.get());
        state.depth.track();
        state.switches.track();
        state.top_k.track();
        if !open || loaded.is_none() {
            return;
        }
        after_pause(ticket, DEBOUNCE_MS, move |t| {
            spawn_local(async move {
                let Some(ra) = forward(state, a.clone()).await else { return };
                let Some(rb) = forward(state, b.clone()).await else { return };
                if ticket.get_value() == t {
                    outcome.set(Some(Outcome { a: ra, b: rb }));
                }
            });
        });
    });
    let sync = move |key: &str, v: &str| web::replace_query(&with_param(&web::location_search(), key, Some(v)));
    // Shown only while it belongs to the texts in the boxes.
    let current = Memo::new(move |_| {
        let (a, b) = (state.compare_a.get(), state.compare_b.get());
        outcome.with(|o| {
            o.as_ref()
                .filter(|o| o.a.as_ref().map_or(true, |s| s.text == a) && o.b.as_ref().map_or(true, |s| s.text == b))
                .cloned()
        })
    });
    let side = move |which: &'static str| {
        move || {
            current.with(|o| {
                let Some(o) = o else { return view! { <p class="muted">"computing…"</p> }.into_any() };
                let r = if which == "a" { &o.a } else { &o.b };
                match r {
                    Err(e) => view! { <p class="fill-error" role="alert">{e.clone()}</p> }.into_any(),
                    Ok(s) => {
                        let n = s.masks.len();
                        s.masks
                            .iter()
                            .enumerate()
                            .map(|(i, m)| view! {
                                <div class="mask-group" data-testid="compare-mask" data-position=m.position>
                                    <h4>{mask_title(i, n)}</h4>
                                    <ol class="predictions">
                                        {m.predictions.iter().enumerate().map(|(rank, p)| view! {
                                            <li>
                                                <button type="button" class="prediction" tabindex="-1" data-testid="prediction"
                                                    data-token=p.token.clone() data-id=p.id data-prob=p.prob.to_string()>
                                                    <span class="rank">{rank + 1}</span>
                                                    <span class="word">{p.display.trim().to_string()}</span>
                                                    <span class="bar" aria-hidden="true"><span class="fill" style:width=format!("{:.1}%", p.prob * 100.0)></span></span>
                                                    <span class="prob">{format::percent(p.prob)}</span>
                                                </button>
                                            </li>
                                        }).collect_view()}
                                    </ol>
                                </div>
                            })
                            .collect_view()
                            .into_any()
                    }
                }
            })
        }
    };
    let pairs = move || {
        current.with(|o| {
            let o = o.as_ref()?;
            let (Ok(a), Ok(b)) = (&o.a, &o.b) else { return None };
            let n = a.masks.len().min(b.masks.len());
            let note = (a.masks.len() != b.masks.len()).then(|| {
                format!("A has {} [MASK]s and B has {}: the first {n} are paired.", a.masks.len(), b.masks.len())
            });
            Some(view! {
                {note.map(|t| view! { <p class="muted">{t}</p> })}
                {(0..n).map(|i| {
                    let name = |id: u32| {
                        let p = a.masks[i].predictions.iter().chain(&b.masks[i].predictions).find(|p| p.id == id);
                        p.map(|p| (p.token.clone(), p.display.trim().to_string())).unwrap_or_default()
                    };
                    let ids = |m: &MaskView| m.predictions.iter().map(|p| p.id).collect::<Vec<_>>();
                    let rows: Vec<CandidateRow> = candidates(&ids(&a.masks[i]), &ids(&b.masks[i]), &a.probs[i], &b.probs[i], name);
                    view! {
                        <table class="compare-pairs" data-testid="compare-pair" data-mask=i>
                            <caption>{mask_title(i, n)} " — A vs B"</caption>
                            <thead><tr><th scope="col">"word"</th><th scope="col">"A"</th><th scope="col">"B"</th><th scope="col">"shift B − A"</th></tr></thead>
                            <tbody>
                                {rows.into_iter().map(|r| {
                                    let s = r.shift();
                                    let w = format!("{:.1}%", (s.abs() * 100.0).min(100.0));
                                    view! {
                                        <tr data-testid="compare-candidate" data-id=r.id data-prob-a=r.prob_a.to_string() data-prob-b=r.prob_b.to_string()>
                                            <td title=r.token.clone()>{r.display.clone()}</td>
                                            <td class="num">{format::percent(r.prob_a)}</td>
                                            <td class="num">{format::percent(r.prob_b)}</td>
                                            <td class="shift" class:up={s > 0.0} class:down={s < 0.0}>
                                                <span class="shift-bar" style:width=w></span>
                                                {format!("{}{:.1} pt", if s >= 0.0 { "+" } else { "−" }, (s * 100.0).abs())}
                                            </td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    }
                }).collect_view()}
            })
        })
    };
    view! {
        <Card class="compare-card" title_id="compare-title" title="Compare two sentences" testid="compare">
            <details prop:open=move || state.compare_open.get() on:toggle=move |ev| {
                let open = event_target::<web_sys::HtmlDetailsElement>(&ev).open();
                if open != state.compare_open.get_untracked() {
                    state.compare_open.set(open);
                }
            }>
                <summary data-testid="compare-toggle">"Side by side: how does changing one word move the predictions and the attention?"</summary>
                <div class="compare-inputs">
                    <label class="field-label" for="compare-a">"A"</label>
                    <textarea id="compare-a" data-testid="compare-a" rows="2" spellcheck="false"
                        prop:value=move || state.compare_a.get()
                        on:input=move |ev| { let v = event_target_value(&ev); sync("ca", &v); state.compare_a.set(v); }></textarea>
                    <label class="field-label" for="compare-b">"B"</label>
                    <textarea id="compare-b" data-testid="compare-b" rows="2" spellcheck="false"
                        prop:value=move || state.compare_b.get()
                        on:input=move |ev| { let v = event_target_value(&ev); sync("cb", &v); state.compare_b.set(v); }></textarea>
                </div>
                <div class="compare-sides">
                    <div class="compare-side" data-testid="compare-side" data-side="a"><h3>"A"</h3>{side("a")}</div>
                    <div class="compare-side" data-testid="compare-side" data-side="b"><h3>"B"</h3>{side("b")}</div>
                </div>
                {pairs}
                <DiffHeatmap current=current.into() />
            </details>
        </Card>
    }
}

/// The A − B attention of a chosen layer and head (or the mean of heads), diverging colours.
#[component]
fn DiffHeatmap(
    /// Both sides' forwards (`None` while computing).
    current: Signal<Option<Outcome>>,
) -> impl IntoView {
    let layer = RwSignal::new(0usize);
    let sel = RwSignal::new(HeadSel::Mean);
    let state = use_app();
    let pair = Memo::new(move |_| {
        current.with(|o| match o {
            Some(Outcome { a: Ok(a), b: Ok(b) }) => Some((a.attention.clone(), b.attention.clone())),
            _ => None,
        })
    });
    let texts = Memo::new(move |_| {
        current.with(|o| match o {
            Some(Outcome { a: Ok(a), b: Ok(b) }) => Some((a.text.clone(), b.text.clone())),
            _ => None,
        })
    });
    let ready = Signal::derive(move || pair.with(|p| matches!(p, Some((Some(a), Some(b))) if diff_problem(a, b).is_none())));
    // The map shown now, with both sentences in its title.
    let figure = Callback::new(move |_| {
        let model = state.model.with_untracked(|m| m.as_ref().map(|m| m.label.clone()))?;
        let (ta, tb) = texts.get_untracked()?;
        let caption = Caption { model, sentence: pair_sentence(&ta, &tb), layer: String::new(), head: String::new() };
        pair.with_untracked(|p| {
            let Some((Some(a), Some(b))) = p else { return None };
            let l = layer.get_untracked().min(a.num_layers().saturating_sub(1));
            let s = sel.get_untracked().clamp(a.num_heads());
            diff_heatmap(&caption, a, &diff(a, b, l, s)?, l, s)
        })
    });
    let body = move || {
        pair.with(|p| {
            let Some((Some(a), Some(b))) = p else { return view! { <p class="muted">"The difference appears after both forwards."</p> }.into_any() };
            if let Some(why) = diff_problem(a, b) {
                return view! { <p class="notice" data-testid="diff-reason">"No difference heatmap: " {why}</p> }.into_any();
            }
            let (nl, nh, t) = (a.num_layers(), a.num_heads(), a.seq_len());
            let l = layer.get().min(nl.saturating_sub(1));
            let s = sel.get().clamp(nh);
            let Some(m) = diff(a, b, l, s) else { return ().into_any() };
            let scale = abs_max(&m);
            // Big enough to hover at sentence lengths; long texts shrink to fit.
            let cell = (640.0 / t.max(1) as f32).clamp(6.0, 24.0);
            let label_w = 80.0f32;
            let size = label_w + cell * t as f32;
            let name = |i: usize| truncate_token(&display_token(&a.tokens[i]), 9);
            let (layer_attr, head_attr) = (l.to_string(), s.value());
            view! {
                <div class="diff-controls">
                    <label>"Layer "
                        <select data-testid="diff-layer" on:change=move |ev| if let Ok(v) = event_target_value(&ev).parse() { layer.set(v) }>
                            {(0..nl).map(|i| view! { <option value=i selected=i == l>{a.layer_label(i)}</option> }).collect_view()}
                        </select>
                    </label>
                    <label>"Head "
                        <select data-testid="diff-head" on:change=move |ev| if let Some(v) = HeadSel::parse(&event_target_value(&ev)) { sel.set(v) }>
                            <option value="mean" selected=s == HeadSel::Mean>"mean of heads"</option>
                            {(0..nh).map(|h| view! { <option value=h selected=s == HeadSel::Head(h)>{h}</option> }).collect_view()}
                        </select>
                    </label>
                    <span class="muted">{format!("blue: more attention in B, orange: more in A; scale ±{scale:.3}")}</span>
                </div>
                <svg class="diff-heatmap" data-testid="diff-heatmap" data-layer=layer_attr.clone() data-head=head_attr.clone()
                    viewBox=format!("0 0 {size} {size}") width=size height=size role="img" aria-label="Attention A minus B">
                    {(0..t).map(|i| view! {
                        <text class="diff-label" x=label_w - 4.0 y=label_w + cell * (i as f32 + 0.7) text-anchor="end">{name(i)}</text>
                        <text class="diff-label" x=0 y=0 text-anchor="start"
                            transform=format!("translate({} {}) rotate(-60)", label_w + cell * (i as f32 + 0.6), label_w - 4.0)>{name(i)}</text>
                    }).collect_view()}
                    {m.iter().enumerate().map(|(idx, v)| {
                        let (r, c) = (idx / t.max(1), idx % t.max(1));
                        view! {
                            <rect class="diff-cell" data-testid="diff-cell" data-layer=layer_attr.clone() data-head=head_attr.clone()
                                data-row=r data-col=c data-value=v.to_string()
                                x=label_w + cell * c as f32 y=label_w + cell * r as f32 width=cell - 1.0 height=cell - 1.0
                                fill=diverging(*v, scale)>
                                <title>{format!("{} → {}: A − B = {v:+.4}", name(r), name(c))}</title>
                            </rect>
                        }
                    }).collect_view()}
                </svg>
            }
            .into_any()
        })
    };
    view! {
        <div class="diff" aria-live="polite">
            <h3>"Attention A − B"</h3>
            <ExportButtons what="attention difference" ready=ready figure=figure />
            {body}
        </div>
    }
}
