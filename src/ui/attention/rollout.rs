//! Attention rollout (Abnar & Zuidema, 2020) for a chosen [MASK]: a bar per input token, and
//! the whole rolled-out map with the chosen row marked.

use leptos::html;
use leptos::prelude::*;

use super::dom::repaint;
use super::{Attention, Placeholder, ViewFrame, TOKEN_CHARS};
use crate::view_model::attention::colour::max_value;
use crate::view_model::attention::data::AttentionData;
use crate::view_model::attention::labels::truncate_token;
use crate::view_model::attention::rollout::{whole_map_now, MaskAttribution};
use crate::state::use_app;
use crate::ui::relay::Relay;
use crate::ui::export::{caption, ExportButtons};
use crate::view_model::export;

/// The rollout of the forward, for one [MASK] at a time.
#[component]
pub fn Rollout(
    /// The forward's attention, for the bars.
    att: Attention,
    /// The same, a task later (`ui::stage`): for the whole map, the view's longest work.
    map_att: Attention,
) -> impl IntoView {
    // The bars: each [MASK]'s row alone, O(L·T²). The whole map, O(L·T³), only for short
    // inputs or when asked, so a long input never freezes the page.
    let attributions: Memo<Vec<MaskAttribution>> = Memo::new(move |_| att.with_valid(AttentionData::attributions).unwrap_or_default());
    let map_asked = RwSignal::new(false);
    let map_waits = move || !whole_map_now(map_att.t(), map_asked.get());
    let rolled: Memo<Option<Vec<f32>>> = Memo::new(move |_| if map_waits() { None } else { map_att.with_valid(AttentionData::rollout).flatten() });
    // Which [MASK] (index among the masks) the select chose.
    let mask_idx = RwSignal::new(0usize);
    let chosen = move || attributions.with(|a| mask_idx.get().min(a.len().saturating_sub(1)));
    let position = Memo::new(move |_| attributions.with(|a| a.get(chosen()).map(|m| m.position)));
    let weights: Memo<Option<Vec<f32>>> = Memo::new(move |_| attributions.with(|a| a.get(chosen()).map(|m| m.weights.clone())));
    let map = NodeRef::<html::Canvas>::new();
    repaint(map, rolled, move || map_att.t());
    // The options are rebuilt with every sentence: they read the position through a relay.
    let chosen_relay = Relay::new(move || position.get());

    let state = use_app();
    // The [MASK] the select shows.
    let figure = Callback::new(move |_| {
        let cap = caption(state)?;
        let m = attributions.with_untracked(|a| mask_idx.get_untracked().min(a.len().saturating_sub(1)));
        att.data.with_untracked(|d| AttentionData::valid(d.as_deref()).and_then(|d| export::attention::rollout(&cap, d, m)))
    });

    view! {
        <ViewFrame
            att=att
            testid="rollout"
            prefix="ro"
            title="Attention rollout"
            {..}
            data-masks=att.attr(|s| s.masks.len())
            data-mask=move || position.get().map(|p| p.to_string())
        >
            <p class="att-hint">
                "Attribution of each input token for a [MASK] (Abnar & Zuidema, 2020): each layer's "
                "mean-of-heads attention plus the residual, 0.5·A + 0.5·I, multiplied through "
                {move || match att.shape.with(|s| s.as_ref().map(|s| s.layers.len())) {
                    Some(n) => format!("all {n} layer applications."),
                    None => "every layer application.".to_string(),
                }}
            </p>
            <div class="att-controls">
                <label>
                    "[MASK] "
                    <select
                        data-testid="rollout-mask"
                        prop:disabled=move || att.shape.with(|s| s.as_ref().is_none_or(|s| s.masks.len() < 2))
                        on:change=move |ev| {
                            if let Ok(i) = event_target_value(&ev).parse() {
                                mask_idx.set(i);
                            }
                        }
                    >
                        {move || att.shape.with(|s| s.as_ref().map(|s| {
                            let chosen = chosen_relay.fresh();
                            s.masks.iter().enumerate().map(|(j, &p)| {
                                let chosen = chosen.clone();
                                view! {
                                    <option value=j prop:selected=move || chosen.get() == Some(p)>
                                        {format!("#{} at position {p}", j + 1)}
                                    </option>
                                }
                            }).collect_view()
                        }).unwrap_or_default())}
                    </select>
                </label>
            </div>
            <ExportButtons what="rollout" ready=Signal::derive(move || position.get().is_some()) figure=figure
                attentions_json=true />
            <div class="ro-body">
                <div class="att-scroll ro-scroll"><Bars att=att weights=weights position=position /></div>
                <figure class="ro-map">
                    <div class="ro-map-box" class:empty=move || rolled.with(Option::is_none)>
                        <canvas node_ref=map class="ro-canvas" data-testid="rollout-map" role="img"
                            aria-label="Rolled-out attention, all tokens (rows: tokens, columns: inputs)"></canvas>
                        <div
                            class="ro-map-row"
                            aria-hidden="true"
                            style=move || match (position.get(), map_att.t()) {
                                (Some(p), n) if n > 0 => format!("top:{:.3}%;height:{:.3}%", 100.0 * p as f32 / n as f32, 100.0 / n as f32),
                                _ => "display:none".to_string(),
                            }
                        ></div>
                    </div>
                    {move || map_waits().then(|| view! {
                        <p class="muted" data-testid="rollout-map-wait">
                            {format!("The whole map of {} tokens is O(L·T³) work (the bars are not): ", map_att.t())}
                            <button type="button" data-testid="rollout-map-compute" on:click=move |_| map_asked.set(true)>"Compute the map"</button>
                        </p>
                    })}
                    <figcaption>"Rolled-out map (rows: tokens, columns: inputs); the band is the chosen [MASK]."</figcaption>
                </figure>
            </div>
        </ViewFrame>
    }
}

/// One bar per input token: its share of the chosen [MASK]'s rolled-out attention.
#[component]
fn Bars(
    att: Attention,
    /// The chosen [MASK]'s row of the rollout.
    weights: Memo<Option<Vec<f32>>>,
    /// The chosen [MASK]'s token position.
    position: Memo<Option<usize>>,
) -> impl IntoView {
    // The bars' scale, once a change rather than once a bar.
    let top = Memo::new(move |_| weights.with(|w| w.as_deref().map_or(1.0, max_value)));
    // The bars are rebuilt with every sentence: they read the weights, the scale and the
    // position through relays (ui/relay.rs).
    let (weights, top, position) = (Relay::new(move || weights.get()), Relay::new(move || top.get()), Relay::new(move || position.get()));
    move || {
        att.shape.with(|s| {
            let Some(s) = s.as_ref() else { return view! { <Placeholder /> }.into_any() };
            if s.masks.is_empty() {
                return view! { <div class="att-empty">"No [MASK] in the input."</div> }.into_any();
            }
            let (weights, top, position) = (weights.fresh(), top.fresh(), position.fresh());
            view! {
                <ol class="ro-bars">
                    {s.tokens.iter().enumerate().map(|(i, tok)| {
                        let w = {
                            let weights = weights.clone();
                            move || weights.with(|w| w.as_ref().and_then(|w| w.get(i).copied()).unwrap_or(0.0))
                        };
                        let top = top.clone();
                        let selected = {
                            let position = position.clone();
                            move || position.get() == Some(i)
                        };
                        let (w2, w3) = (w.clone(), w.clone());
                        view! {
                            <li
                                class="ro-row"
                                class:mask=s.masks.contains(&i)
                                class:selected=selected
                                data-testid="rollout-bar"
                                data-token=i
                                data-value=move || format!("{:.4}", w())
                            >
                                <span class="ro-tok" title=format!("{tok} (position {i})")>{truncate_token(tok, TOKEN_CHARS)}</span>
                                <span class="ro-track">
                                    <span class="ro-bar" style=move || format!("width:{:.2}%", 100.0 * w2() / top.get())></span>
                                </span>
                                <span class="ro-val">{move || format!("{:.3}", w3())}</span>
                            </li>
                        }
                    }).collect_view()}
                </ol>
            }
            .into_any()
        })
    }
}
