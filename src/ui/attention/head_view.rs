//! The head view (bertviz-style): the tokens twice, with a line from each query to each key it
//! attends to, one colour per head; a layer selector, a threshold and head switches.

use leptos::ev;
use leptos::html;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use super::dom::{moved, reveal};
use super::{Attention, LayerSelect, Placeholder, ViewFrame, TOKEN_CHARS};
use crate::view_model::attention::colour::head_style;
use crate::view_model::attention::geometry::{
    default_threshold, focus_shade, head_view_lines, line_opacity, list_nav, Focus, HeadLine, HeadViewLayout, Nav, MAX_LINES,
};
use crate::view_model::attention::labels::truncate_token;
use crate::view_model::attention::markup;
use crate::state::use_app;
use crate::ui::relay::Relay;
use crate::ui::export::{caption, ExportButtons};
use crate::view_model::attention::data::AttentionData;
use crate::view_model::export;

/// The head view of one attention map at a time.
#[component]
pub fn HeadView(
    /// The forward's attention.
    att: Attention,
) -> impl IntoView {
    let layer = use_app().head_view_layer;
    // Heads switched off (so new heads start on).
    let off = RwSignal::new(Vec::<usize>::new());
    let focus = RwSignal::new(None::<Focus>);
    let threshold = RwSignal::new(None::<f32>);
    // Keyboard mode: the pointer's enter/leave events (fired by scrolling under a still
    // pointer) leave the keyboard's token alone until the pointer really moves.
    let kb = RwSignal::new(false);
    let scroller = NodeRef::<html::Div>::new();

    let cur_layer = Memo::new(move |_| layer.get().min(att.layers().saturating_sub(1)));
    let geo = Memo::new(move |_| HeadViewLayout::new(att.t()));
    let thr = Memo::new(move |_| threshold.get().unwrap_or_else(|| default_threshold(att.t())));
    let enabled = Memo::new(move |_| off.with(|o| (0..att.heads()).map(|h| !o.contains(&h)).collect::<Vec<bool>>()));

    let lines = Memo::new(move |_| {
        let (li, f, th) = (cur_layer.get(), focus.get(), thr.get());
        enabled.with(|on| att.with_valid(|d| d.whole(li).map(|l| head_view_lines(l, on, f, th, MAX_LINES))))
            .flatten()
            .unwrap_or_default()
    });
    let shade = Memo::new(move |_| {
        let Some(f) = focus.get() else { return Vec::new() };
        let li = cur_layer.get();
        enabled.with(|on| att.with_valid(|d| d.whole(li).map(|l| focus_shade(l, on, f)))).flatten().unwrap_or_default()
    });

    let state = use_app();
    // The map is not in the shown forward yet: a forward that reads it is on its way.
    let waiting = move || att.with_valid(|d| d.whole(cur_layer.get()).is_none()).unwrap_or(false);
    // The layer, heads and threshold shown (every line, not only a focused token's).
    let figure = Callback::new(move |_| {
        let cap = caption(state)?;
        let (li, th) = (cur_layer.get_untracked(), thr.get_untracked());
        enabled.with_untracked(|on| {
            att.data.with_untracked(|d| AttentionData::valid(d.as_deref()).and_then(|d| export::attention::head_view(&cap, d, li, on, th)))
        })
    });

    view! {
        <ViewFrame
            att=att
            testid="head-view"
            prefix="hv"
            title="Head view"
            {..}
            data-heads=att.attr(|s| s.heads)
            data-layer=move || att.ready().then(|| cur_layer.get().to_string())
        >
            <p class="att-hint">
                "Lines join each token (left) to the tokens it attends to (right); opacity is the "
                "attention weight, colour the head. Hover or focus a token to see only its lines."
            </p>
            <div class="att-controls">
                <LayerSelect att=att testid="head-view-layer" current=cur_layer on_pick=move |i| layer.set(i) />
                <label class="hv-threshold">
                    "Hide below "
                    <input
                        type="range"
                        min="0"
                        max="0.5"
                        step="0.01"
                        prop:value=move || format!("{:.2}", thr.get())
                        on:input=move |ev| {
                            if let Ok(v) = event_target_value(&ev).parse::<f32>() {
                                threshold.set(Some(v));
                            }
                        }
                    />
                    <output>{move || format!("{:.2}", thr.get())}</output>
                </label>
            </div>
            <HeadToggles heads=Memo::new(move |_| att.heads()) off=off enabled=enabled />
            <ExportButtons what="head view" ready=Signal::derive(move || att.ready()) figure=figure
                attentions_json=true />
            // Built once: the columns and the lines follow the shape themselves, so a new sentence
            // rebuilds only the token lists (see ui/relay.rs for why that matters).
            <div class="att-scroll hv-scroll" node_ref=scroller>
                {move || (!att.ready()).then(|| view! { <Placeholder /> })}
                <div class="hv-body" style=move || format!("--row:{}px", geo.get().row)>
                    <TokenColumn att=att side=Side::Query focus=focus shade=shade kb=kb scroller=scroller />
                    <Lines geo=geo lines=lines />
                    <TokenColumn att=att side=Side::Key focus=focus shade=shade kb=kb scroller=scroller />
                </div>
            </div>
            <p class="att-foot" data-testid="head-view-foot">
                {move || if waiting() { "Reading this layer's map…".to_string() } else { lines.with(|l| {
                    let n = l.len();
                    if n >= MAX_LINES { format!("{n} strongest lines shown") } else { format!("{n} lines shown") }
                })}}
            </p>
        </ViewFrame>
    }
}

/// Which column of tokens: queries (left, attending) or keys (right, attended to).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Query,
    Key,
}

impl Side {
    /// `q` / `k`, for classes and ids.
    fn tag(self) -> &'static str {
        match self {
            Side::Query => "q",
            Side::Key => "k",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Side::Query => "Query tokens (attending): arrow keys move, Escape clears",
            Side::Key => "Key tokens (attended to): arrow keys move, Escape clears",
        }
    }

    fn focus(self, i: usize) -> Focus {
        match self {
            Side::Query => Focus::Query(i),
            Side::Key => Focus::Key(i),
        }
    }

    /// The focused token when it is in this column.
    fn index(self, f: Option<Focus>) -> Option<usize> {
        match (self, f) {
            (Side::Query, Some(Focus::Query(i))) | (Side::Key, Some(Focus::Key(i))) => Some(i),
            _ => None,
        }
    }
}

/// One column of tokens: a listbox the pointer or the arrow keys move through, shaded by the
/// strongest weight to the focused token in the other column.
///
/// The tokens are one HTML string (view_model::attention::markup): the column listens for the
/// pointer once (delegation, by id), and one effect sets each token's focus and shade. Three
/// reactive attributes and three listeners a token made every new sentence's 2 × 128 tokens a
/// 50–60 ms task here (issue 13 item 2).
#[component]
fn TokenColumn(
    att: Attention,
    side: Side,
    /// The token pointed at (in either column).
    focus: RwSignal<Option<Focus>>,
    /// Shade per token of this column (empty without a focus).
    shade: Memo<Vec<f32>>,
    /// Keyboard mode, shared by both columns.
    kb: RwSignal<bool>,
    /// The scrolling box the keyboard keeps the token visible in.
    scroller: NodeRef<html::Div>,
) -> impl IntoView {
    let tag = side.tag();
    let mine = move || side.index(focus.get());
    let list = NodeRef::<html::Ol>::new();
    let onkey = move |ev: ev::KeyboardEvent| {
        let n = att.t();
        let Some(nav) = list_nav(&ev.key(), side.index(focus.get_untracked()), n) else { return };
        ev.prevent_default();
        kb.set(true);
        match nav {
            Nav::Clear => focus.set(None),
            Nav::To(i) => {
                focus.set(Some(side.focus(i)));
                if let Some(c) = scroller.get_untracked() {
                    let row = HeadViewLayout::new(n).row as f64;
                    let y = i as f64 * row;
                    reveal(&c, (0.0, 0.0), (y, y + row), 0.0, 0.0);
                }
            }
        }
    };
    // Focus and shade onto the tokens (after the list is rebuilt for a new sentence: the
    // effect reads the shape too).
    Effect::new(move |_| {
        att.shape.track();
        let Some(ol) = list.get() else { return };
        let active = mine();
        shade.with(|w| {
            let items = ol.children();
            for i in 0..items.length() {
                let Some(li) = items.item(i) else { continue };
                let i = i as usize;
                let _ = li.class_list().toggle_with_force("active", active == Some(i));
                let _ = if active == Some(i) { li.set_attribute("aria-selected", "true") } else { li.remove_attribute("aria-selected") };
                let _ = match w.get(i) {
                    Some(w) => li.set_attribute("style", &format!("--w:{:.3}", w.min(1.0))),
                    None => li.remove_attribute("style"),
                };
            }
        });
    });
    view! {
        <ol
            node_ref=list
            class=format!("hv-col hv-{tag}")
            role="listbox"
            tabindex="0"
            aria-label=side.label()
            aria-activedescendant=move || mine().map(|i| format!("hv-{tag}-{i}"))
            on:keydown=onkey
            on:focus=move |_| {
                if side.index(focus.get_untracked()).is_none() && att.t() > 0 {
                    focus.set(Some(side.focus(0)));
                }
            }
            on:blur=move |_| focus.set(None)
            on:mouseover=move |ev| if !kb.get_untracked() {
                if let Some(i) = token_index(&ev) {
                    focus.set(Some(side.focus(i)));
                }
            }
            on:mouseleave=move |_| if !kb.get_untracked() { focus.set(None) }
            on:mousemove=move |ev| if moved(&ev) && kb.get_untracked() {
                kb.set(false);
                if let Some(i) = token_index(&ev) {
                    focus.set(Some(side.focus(i)));
                }
            }
            inner_html=move || att.shape.with(|s| s.as_ref().map(|s| {
                // Built with the focus and shade of now, whether the effect above runs before
                // or after this rebuild.
                let label = |i: usize| truncate_token(&s.tokens[i], TOKEN_CHARS);
                let title = |i: usize| format!("{} (position {i})", s.tokens[i]);
                markup::token_items(s.tokens.len(), tag, &s.masks, side.index(focus.get_untracked()), &shade.get_untracked(), label, title)
            }).unwrap_or_default())
        >
        </ol>
    }
}

/// The token a pointer event happened on, from its id (`hv-q-12`).
fn token_index(ev: &ev::MouseEvent) -> Option<usize> {
    let el: web_sys::Element = ev.target()?.dyn_into().ok()?;
    el.closest(".hv-tok").ok()??.id().rsplit('-').next()?.parse().ok()
}

/// The head switches: all, none, and one toggle per head drawn in its colour and dash.
#[component]
fn HeadToggles(
    /// Heads in the model (a memo: the buttons rebuild only when it changes).
    heads: Memo<usize>,
    /// Heads switched off.
    off: RwSignal<Vec<usize>>,
    /// Per head: shown.
    enabled: Memo<Vec<bool>>,
) -> impl IntoView {
    let toggle = move |h: usize| {
        off.update(|o| {
            if let Some(p) = o.iter().position(|&x| x == h) {
                o.remove(p);
            } else {
                o.push(h);
            }
        })
    };
    // The buttons are rebuilt when the heads go from none (a new sentence, before its forward)
    // to some: they read which are on through a relay (ui/relay.rs).
    let on = Relay::new(move || enabled.get());
    view! {
        <div class="hv-heads" role="group" aria-label="Heads (toggle; double-click shows one head alone)">
            <button type="button" class="hv-all" on:click=move |_| off.set(Vec::new())>"all"</button>
            <button type="button" class="hv-all" on:click=move |_| off.set((0..heads.get()).collect())>"none"</button>
            {move || { let on = on.fresh(); (0..heads.get()).map(|h| {
                let st = head_style(h);
                let on = on.clone();
                let is_on = move || on.with(|e| e.get(h).copied().unwrap_or(true));
                view! {
                    <button
                        type="button"
                        class="hv-head"
                        data-testid="head-toggle"
                        data-head=h
                        aria-pressed=move || is_on().to_string()
                        title=format!("head {h}: click to hide or show, double-click to show it alone")
                        on:click=move |_| toggle(h)
                        on:dblclick=move |_| off.set((0..heads.get()).filter(|&x| x != h).collect())
                    >
                        <svg width="16" height="8" aria-hidden="true">
                            <line x1="1" y1="4" x2="15" y2="4" stroke=st.color stroke-width="3" stroke-dasharray=st.dash />
                        </svg>
                        {h}
                    </button>
                }
            }).collect_view() }}
        </div>
    }
}

/// The lines between the two columns.
#[component]
fn Lines(
    /// Where rows are (follows the token count).
    geo: Memo<HeadViewLayout>,
    /// What to draw, weakest first.
    lines: Memo<Vec<HeadLine>>,
) -> impl IntoView {
    view! {
        <svg
            class="hv-lines"
            width=move || geo.get().width
            height=move || geo.get().height()
            viewBox=move || { let g = geo.get(); format!("0 0 {} {}", g.width, g.height()) }
            preserveAspectRatio="none"
            aria-hidden="true"
        >
            // Each line is static: the whole set is rebuilt from `lines`.
            {move || { let geo = geo.get(); lines.with(|ls| ls.iter().map(|l| {
                let st = head_style(l.head);
                view! {
                    <line
                        x1=geo.x_left()
                        y1=geo.y(l.query)
                        x2=geo.x_right()
                        y2=geo.y(l.key)
                        stroke=st.color
                        stroke-width="2"
                        stroke-opacity=format!("{:.3}", line_opacity(l.weight))
                        stroke-dasharray=st.dash
                    />
                }
            }).collect_view()) }}
        </svg>
    }
}
