//! The heatmap: one map's head (or the mean of heads) as a `T × T` grid of viridis cells, with
//! the value under the pointer or the keyboard cursor read out.

use leptos::ev;
use leptos::html;
use leptos::prelude::*;

use super::dom::{moved, repaint, reveal};
use super::{Attention, LayerSelect, Placeholder, ViewFrame};
use crate::state::use_app;
use crate::ui::relay::Relay;
use crate::ui::export::{caption, ExportButtons};
use crate::view_model::attention::data::AttentionData;
use crate::view_model::export;
use crate::view_model::attention::colour::{max_value, viridis_css_gradient};
use crate::view_model::attention::layer::HeadSel;
use crate::view_model::attention::geometry::{cell_at, grid_nav, heat_cell_px, Nav};
use crate::view_model::attention::labels::{readout, truncate_token};

/// Characters of a row or column label.
const LABEL_CHARS: usize = 10;

/// The heatmap of the selected (layer, head).
#[component]
pub fn Heatmap(
    /// The forward's attention.
    att: Attention,
    /// The (layer, head) shown; the model view sets it too.
    heat_sel: RwSignal<(usize, HeadSel)>,
    /// The map's canvas (the model view focuses it when it opens a cell).
    canvas: NodeRef<html::Canvas>,
) -> impl IntoView {
    // The cell read out: (query, key).
    let hover = RwSignal::new(None::<(usize, usize)>);
    // Keyboard mode, as in the head view: a still pointer does not steal the cursor.
    let kb = RwSignal::new(false);
    let scroller = NodeRef::<html::Div>::new();
    let map_box = NodeRef::<html::Div>::new();
    let t = move || att.t();
    // The selection, clamped to the data's shape.
    let sel = Memo::new(move |_| {
        let (l, h) = heat_sel.get();
        (l.min(att.layers().saturating_sub(1)), h.clamp(att.heads()))
    });
    let matrix: Memo<Option<Vec<f32>>> = Memo::new(move |_| {
        let (l, h) = sel.get();
        att.with_valid(|d| d.matrix(l, h)).flatten()
    });
    let vmax = move || matrix.with(|m| m.as_deref().map_or(1.0, max_value));
    repaint(canvas, matrix, t);

    let cell = move || heat_cell_px(t());
    // The head options are rebuilt when the count of heads changes (also from none, between a
    // new sentence and its forward): they read the selection through a relay (ui/relay.rs).
    let heads = Memo::new(move |_| att.heads());
    let shown_head = Relay::new(move || sel.get().1);
    let on_move = move |ev: ev::MouseEvent| {
        if kb.get_untracked() {
            if !moved(&ev) {
                return;
            }
            kb.set(false);
        }
        let Some(c) = canvas.get_untracked() else { return };
        let hit = cell_at(ev.offset_x() as f64, ev.offset_y() as f64, c.client_width() as f64, c.client_height() as f64, t());
        if hit.is_some() && hit != hover.get_untracked() {
            hover.set(hit);
        }
    };
    let on_key = move |ev: ev::KeyboardEvent| {
        let n = t();
        let Some(nav) = grid_nav(&ev.key(), hover.get_untracked().unwrap_or((0, 0)), (n, n)) else { return };
        let Nav::To(next) = nav else {
            hover.set(None);
            return;
        };
        ev.prevent_default();
        kb.set(true);
        hover.set(Some(next));
        if let (Some(sc), Some(m)) = (scroller.get_untracked(), map_box.get_untracked()) {
            let c = cell() as f64;
            let (top, left) = (m.offset_top() as f64, m.offset_left() as f64);
            let (x, y) = (left + next.1 as f64 * c, top + next.0 as f64 * c);
            reveal(&sc, (x, x + c), (y, y + c), left, top);
        }
    };
    let text = move || {
        // A head of a map the shown forward has only the mean of: the forward that reads it is on its way.
        if att.ready() && matrix.with(Option::is_none) {
            return "Reading this head's map…".to_string();
        }
        let Some((q, k)) = hover.get() else {
            return "Hover a cell, or focus the map and use the arrow keys, to read its value.".to_string();
        };
        let n = t();
        let w = matrix.with(|m| m.as_ref().and_then(|m| m.get(q * n + k).copied()));
        match w {
            Some(w) => att.shape.with(|s| s.as_ref().map(|s| readout(&s.tokens, q, k, w)).unwrap_or_default()),
            None => String::new(),
        }
    };
    let state = use_app();
    // What is shown: this (layer, head), with the title line of the shown forward.
    let figure = Callback::new(move |_| {
        let (l, h) = sel.get_untracked();
        let cap = caption(state)?;
        att.data.with_untracked(|d| AttentionData::valid(d.as_deref()).and_then(|d| export::attention::heatmap(&cap, d, l, h)))
    });
    let aria_label = move || {
        let (l, h) = sel.get();
        let name = att.shape.with(|s| s.as_ref().and_then(|s| s.layers.get(l).map(|x| x.label.clone()))).unwrap_or_default();
        format!("Attention heatmap, {name}, {}; arrow keys read values", h.label())
    };

    view! {
        <ViewFrame
            att=att
            testid="heatmap"
            prefix="hm"
            title="Heatmap"
            {..}
            id="heatmap-view"
            data-heads=att.attr(|s| s.heads)
            data-layer=move || att.ready().then(|| sel.get().0.to_string())
            data-head=move || att.ready().then(|| sel.get().1.value())
        >
            <p class="att-hint">"Rows are queries (attending), columns keys (attended to)."</p>
            <div class="att-controls">
                <LayerSelect
                    att=att
                    testid="heatmap-layer"
                    current=Signal::derive(move || sel.get().0)
                    on_pick=move |i| heat_sel.update(|s| s.0 = i)
                />
                <label>
                    "Head "
                    <select
                        data-testid="heatmap-head"
                        on:change=move |ev| {
                            if let Some(h) = HeadSel::parse(&event_target_value(&ev)) {
                                heat_sel.update(|s| s.1 = h);
                            }
                        }
                    >
                        <option value="mean" prop:selected=move || sel.get().1 == HeadSel::Mean>"mean of heads"</option>
                        {move || { let shown = shown_head.fresh(); (0..heads.get()).map(|h| {
                            let shown = shown.clone();
                            view! { <option value=h prop:selected=move || shown.get() == HeadSel::Head(h)>"head " {h}</option> }
                        }).collect_view() }}
                    </select>
                </label>
                <span class="hm-legend" aria-label="colour scale">
                    "0"
                    <span class="hm-ramp" style=format!("background:{}", viridis_css_gradient())></span>
                    {move || format!("{:.3}", vmax())}
                </span>
            </div>
            <ExportButtons what="heatmap" ready=Signal::derive(move || att.ready()) figure=figure
                attentions_json=true />
            <p class="hm-readout" data-testid="heatmap-readout" aria-live="polite">{text}</p>
            <div class="att-scroll hm-scroll" node_ref=scroller>
                // Built once and sized from the shape, so a new sentence rebuilds only the label
                // lists (ui/relay.rs says why that matters).
                {move || (!att.ready()).then(|| view! { <Placeholder /> })}
                <div
                    class="hm-grid"
                    style=move || if att.ready() { format!("--cell:{}px;--n:{}", cell(), t()) } else { "display:none".to_string() }
                >
                    <div class="hm-corner" aria-hidden="true">"query ↓ key →"</div>
                    <div class="hm-cols" aria-hidden="true"><AxisLabels att=att hover=hover axis=Axis::Column /></div>
                    <div class="hm-rows" aria-hidden="true"><AxisLabels att=att hover=hover axis=Axis::Row /></div>
                    <div class="hm-map" node_ref=map_box>
                        <canvas
                            node_ref=canvas
                            class="hm-canvas"
                            data-testid="heatmap-canvas"
                            tabindex="0"
                            role="application"
                            aria-roledescription="heatmap"
                            aria-label=aria_label
                            style=move || { let side = cell() * t() as u32; format!("width:{side}px;height:{side}px") }
                            on:mousemove=on_move
                            on:mouseleave=move |_| if !kb.get_untracked() { hover.set(None) }
                            on:keydown=on_key
                            on:focus=move |_| if hover.get_untracked().is_none() {
                                kb.set(true);
                                hover.set(Some((0, 0)));
                            }
                            on:blur=move |_| hover.set(None)
                        ></canvas>
                        <div
                            class="hm-cursor"
                            aria-hidden="true"
                            style=move || match hover.get() {
                                Some((q, k)) => { let c = cell(); format!("left:{}px;top:{}px", k as u32 * c, q as u32 * c) }
                                None => "display:none".to_string(),
                            }
                        ></div>
                    </div>
                </div>
            </div>
        </ViewFrame>
    }
}

/// Which side of the grid a label run is on.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Axis {
    /// Down the left: queries.
    Row,
    /// Along the top: keys.
    Column,
}

/// The token labels along one axis; the hovered cell's row or column is highlighted.
#[component]
fn AxisLabels(
    att: Attention,
    /// The cell read out: (query, key).
    hover: RwSignal<Option<(usize, usize)>>,
    axis: Axis,
) -> impl IntoView {
    // The labels are rebuilt with every sentence: they read the hovered cell through a relay.
    let hover = Relay::new(move || hover.get());
    move || {
        att.shape.with(|s| {
            s.as_ref()
                .map(|s| {
                    let hover = hover.fresh();
                    s.tokens
                        .iter()
                        .enumerate()
                        .map(|(i, tok)| {
                            let hover = hover.clone();
                            let active =
                                move || hover.get().is_some_and(|(q, k)| if axis == Axis::Row { q == i } else { k == i });
                            view! {
                                <div
                                    class="hm-label"
                                    class:mask=s.masks.contains(&i)
                                    class:active=active
                                    title=format!("{tok} (position {i})")
                                >
                                    {truncate_token(tok, LABEL_CHARS)}
                                </div>
                            }
                        })
                        .collect_view()
                })
                .unwrap_or_default()
        })
    }
}
