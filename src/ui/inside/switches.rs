//! Head switches: a grid of every head of every layer this forward runs; pressing one switches
//! it off in that layer only (with shared weights, layer 4 still uses the same head), and the
//! predictions and every view update. The switched-off list resets in one click, and the URL
//! keeps it (`?off=3.0:5`, the CLI's `--ablate` syntax). The grid exports as SVG/PNG with the
//! list and the predictions it gave.

use albert::HeadSwitch;
use leptos::prelude::*;

use crate::session;
use crate::state::{use_app, AppState, InsideView};
use crate::ui::relay::Relay;
use crate::ui::export::{caption, shown_picks, ExportButtons};
use crate::view_model::export;
use crate::view_model::inside::switches::{format_list, inactive_reason, toggle, Shape};
use crate::view_model::params::with_param;
use crate::web;

/// Applies a new switch list: state, URL, a forward now.
fn set_switches(state: AppState, list: Vec<HeadSwitch>) {
    web::replace_query(&with_param(&web::location_search(), "off", format_list(&list).as_deref()));
    state.switches.set(list);
    session::request_now(state);
}

/// Switches `s` off, or on again (also used by the model view's cells).
pub fn toggle_switch(state: AppState, s: HeadSwitch) {
    let mut list = state.switches.get_untracked();
    toggle(&mut list, s);
    set_switches(state, list);
}

#[component]
pub fn SwitchesView(
    /// The shown forward's insides.
    inside: Signal<Option<InsideView>>,
) -> impl IntoView {
    let state = use_app();
    // The grid depends on the shape only, so a new forward does not rebuild it; nor does a new
    // sentence, whose insides are `None` until its forward is back (the last shape is kept).
    let shape = Memo::new(move |prev: Option<&Option<Shape>>| {
        inside.with(|i| i.as_ref().map(|i| Shape { depth: i.depth, inner: i.inner, heads: i.heads })).or_else(|| prev.copied().flatten())
    });
    // The grid is rebuilt when the shape changes (another depth or model): its buttons read
    // the switches through a relay (ui/relay.rs).
    let switched = Relay::new(move || state.switches.get());
    let grid = move || {
        let Some(sh) = shape.get() else { return view! { <p class="att-empty">"The heads appear after the first prediction."</p> }.into_any() };
        let switched = switched.fresh();
        view! {
            <div class="switch-grid" role="group" aria-label="Heads by layer: press to switch off"
                style=format!("grid-template-columns: max-content repeat({}, minmax(1.4rem, 2.2rem))", sh.heads)>
                <span class="switch-corner">"layer \\ head"</span>
                {(0..sh.heads).map(|h| view! { <span class="switch-colhead">{h}</span> }).collect_view()}
                {(1..=sh.depth).flat_map(|l| (0..sh.inner).map(move |j| (l, j))).map(|(l, j)| {
                    let name = if sh.inner > 1 { format!("{l}.{j}") } else { l.to_string() };
                    view! {
                        <span class="switch-rowhead">{name.clone()}</span>
                        {(0..sh.heads).map(|h| {
                            let s = HeadSwitch { layer: l, inner: j, head: h };
                            let off = {
                                let switched = switched.clone();
                                move || switched.with(|list| list.contains(&s))
                            };
                            let off2 = off.clone();
                            view! {
                                <button
                                    type="button"
                                    class="switch"
                                    class:off=off
                                    data-testid="head-switch"
                                    data-layer=format!("{l}.{j}")
                                    data-head=h
                                    aria-pressed=move || off2().to_string()
                                    aria-label=format!("Head {h} of layer {name}: switched off when pressed")
                                    title=format!("{s}: press to switch this head off (or on) in layer {name} only")
                                    on:click=move |_| toggle_switch(state, s)
                                ></button>
                            }
                        }).collect_view()}
                    }
                }).collect_view()}
            </div>
        }
        .into_any()
    };
    let list = move || {
        let sh = shape.get();
        state.switches.with(|list| {
            list.iter()
                .map(|s| {
                    let s = *s;
                    let why = sh.and_then(|sh| inactive_reason(&s, sh));
                    let inactive = why.is_some();
                    view! {
                        <li class="switched" class:inactive=inactive data-testid="head-switch-item" data-switch=s.to_string()>
                            <code>{s.to_string()}</code>
                            {why.map(|w| view! { <span class="muted">" (not applied: " {w} ")"</span> })}
                            <button type="button" class="link" aria-label=format!("Switch {s} back on") on:click=move |_| toggle_switch(state, s)>"×"</button>
                        </li>
                    }
                })
                .collect_view()
        })
    };
    let none_off = move || state.switches.with(Vec::is_empty);
    // The grid as it is now, with the predictions it gave.
    let figure = Callback::new(move |_| {
        let cap = caption(state)?;
        let masks = shown_picks(state)?;
        export::inside::switches(&cap, shape.get_untracked()?, &state.switches.get_untracked(), &export::inside::predictions_line(&masks))
    });
    view! {
        <section class="inside-view switches-view" data-testid="head-switches" aria-labelledby="switch-title">
            <h3 id="switch-title">"Head switches"</h3>
            <p class="att-hint">
                "Switch a head off in one layer (its context vector becomes zero before the output projection) "
                "and see what the predictions lose. The block is shared, so the same head in the other layers keeps working. "
                "In the model view, choose “switch heads” to do it from the thumbnails."
            </p>
            <ExportButtons what="head switches" ready=Signal::derive(move || shape.with(Option::is_some)) figure=figure />
            <div class="inside-scroll switch-scroll">{grid}</div>
            <div class="switch-list">
                <span>"Switched off: "</span>
                <span class="muted" hidden=move || !none_off()>"none"</span>
                <ul data-testid="head-switch-list">{list}</ul>
                <button type="button" data-testid="head-switch-reset" disabled=none_off on:click=move |_| set_switches(state, Vec::new())>
                    "Switch all back on"
                </button>
            </div>
        </section>
    }
}
