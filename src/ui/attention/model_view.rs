//! The model view: every layer × head as a thumbnail heatmap, rows banded by the shared block
//! they run; a thumbnail opens in the heatmap, or (in "switch heads" mode) switches that head off
//! in that layer, as the Inside ALBERT card's head switches do.
//!
//! Each row of thumbnails is one canvas under a row of transparent buttons (the cells). A canvas
//! is a compositor layer: with one a thumbnail (144 for albert-base) every frame that repainted
//! some of them spent 30–50 ms layering the page while the sentence was typed (issue 13 item 2).

use std::sync::atomic::{AtomicUsize, Ordering};

use leptos::ev;
use leptos::html;
use leptos::prelude::*;
use wasm_bindgen::{Clamped, JsCast};
use web_sys::{HtmlCanvasElement, ImageData};

use super::dom::{context_2d, focus_by_id, paint_soon};
use super::{Attention, Placeholder, ViewFrame};

use crate::state::use_app;
use crate::ui::relay::Relay;
use crate::ui::inside::toggle_switch;
use crate::view_model::attention::colour::{heat_rgba, max_value};
use crate::view_model::attention::request::THUMBNAIL;
use crate::view_model::attention::layer::HeadSel;
use crate::view_model::attention::labels::LayerInfo;
use crate::view_model::attention::geometry::{grid_nav, Nav};
use crate::ui::export::{caption, ExportButtons};
use crate::view_model::attention::data::AttentionData;
use crate::view_model::export;

/// A cell's size and the gap between cells, in CSS pixels (the grid's style sets them, and the
/// row canvases draw to them).
const CELL_PX: f64 = 56.0;
const GAP_PX: f64 = 3.0;
/// Where a thumbnail starts inside its cell: within the cell's 2 px border (attention.css,
/// `.mv-cell`), 2 px clear of it.
const INSET_PX: f64 = 4.0;

/// The grid of thumbnails, with a roving tab stop (one cell in the tab order, arrows move).
#[component]
pub fn ModelView(
    /// The forward's attention.
    att: Attention,
    /// The heatmap's (layer, head): its cell is marked open.
    heat_sel: RwSignal<(usize, HeadSel)>,
    /// Opens (layer, head) in the heatmap.
    open: impl Fn(usize, usize) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let roving = RwSignal::new((0usize, 0usize));
    let state = use_app();
    // What a click on a thumbnail does: open it in the heatmap, or switch the head off/on.
    let switching = RwSignal::new(false);
    // The cells are rebuilt when the maps change (another model or depth): what they show of
    // the page's state, and the forward to paint, they read through relays (ui/relay.rs).
    let open_cell = Relay::new(move || heat_sel.get());
    let switched = Relay::new(move || state.switches.get());
    let tab_stop = Relay::new(move || roving.get());
    let forward = Relay::new({
        let n = AtomicUsize::new(0);
        move || {
            att.data.track();
            n.fetch_add(1, Ordering::Relaxed)
        }
    });
    // The grid depends on the maps and heads, not on the sentence: it is built once a model
    // (kept while a new sentence waits for its forward) and only the thumbnails repaint, so
    // typing does not rebuild 144 cells for albert-base (issue 13 item 2).
    let cells = Memo::new(move |prev: Option<&Option<(Vec<LayerInfo>, usize)>>| {
        att.shape.with(|s| s.as_ref().map(|s| (s.layers.clone(), s.heads))).or_else(|| prev.cloned().flatten())
    });
    let grid = move || {
        cells.with(|s| {
            let Some((layers, heads)) = s.as_ref() else { return view! { <Placeholder /> }.into_any() };
            let (nl, nh) = (layers.len(), *heads);
            if nl == 0 || nh == 0 {
                return view! { <Placeholder /> }.into_any();
            }
            let (open_cell, switched, tab_stop, forward) = (open_cell.fresh(), switched.fresh(), tab_stop.fresh(), forward.fresh());
            let corner = if layers.iter().any(|l| l.inner > 0) { "layer.inner · group" } else { "layer · block" };
            let onkey = move |i: usize, h: usize, ev: ev::KeyboardEvent| {
                let Some(Nav::To((ni, nh2))) = grid_nav(&ev.key(), (i, h), (nl, nh)) else { return };
                ev.prevent_default();
                roving.set((ni, nh2));
                focus_by_id(&format!("mv-{ni}-{nh2}"));
            };
            view! {
                <div
                    class="mv-grid"
                    role="group"
                    aria-label="Layers × heads"
                    style=format!("grid-template-columns: max-content repeat({nh}, {CELL_PX}px); grid-template-rows: auto; grid-auto-rows: {CELL_PX}px; gap: {GAP_PX}px")
                >
                    <div class="mv-corner" style="grid-row: 1; grid-column: 1">{corner}</div>
                    {(0..nh).map(|h| view! { <div class="mv-colhead" style=format!("grid-row: 1; grid-column: {}", h + 2)>"head " {h}</div> }).collect_view()}
                    {layers.iter().enumerate().map(|(i, li)| {
                        let band = if li.group % 2 == 0 { "mv-rowhead band-a" } else { "mv-rowhead band-b" };
                        let row = format!("grid-row: {}", i + 2);
                        let canvas = NodeRef::<html::Canvas>::new();
                        let forward = forward.clone();
                        Effect::new(move |_| {
                            let Some(c) = canvas.get() else { return };
                            forward.track();
                            // Painted in a coming frame from the data current then.
                            paint_soon(c, move |c| paint_row(c, att, i, nh));
                        });
                        view! {
                            <div class=band data-group=li.group title=li.label.clone() style=format!("{row}; grid-column: 1")>{li.short.clone()}</div>
                            <canvas
                                node_ref=canvas
                                class="mv-row"
                                class:band-b=li.group % 2 == 1
                                data-testid="model-view-row"
                                data-layer=i
                                style=format!("{row}; grid-column: 2 / span {nh}")
                                aria-hidden="true"
                            ></canvas>
                            {(0..nh).map(|h| {
                                // Layers count from 1 in switches (`3.0:5`), as in the CLI.
                                let sw = albert::HeadSwitch { layer: li.application + 1, inner: li.inner, head: h };
                                let off = {
                                    let switched = switched.clone();
                                    move || switched.with(|l| l.contains(&sw))
                                };
                                let off2 = off.clone();
                                let is_open = {
                                    let open_cell = open_cell.clone();
                                    move || open_cell.get() == (i, HeadSel::Head(h))
                                };
                                let tab = {
                                    let tab_stop = tab_stop.clone();
                                    move || {
                                        let (ri, rh) = tab_stop.get();
                                        if (ri.min(nl - 1), rh.min(nh - 1)) == (i, h) { "0" } else { "-1" }
                                    }
                                };
                                let label = format!("{}, head {h}: open in the heatmap, or switch it off in “switch heads” mode", li.label);
                                view! {
                                    <button
                                        type="button"
                                        id=format!("mv-{i}-{h}")
                                        class="mv-cell"
                                        class:open=is_open
                                        class:off=off
                                        data-off=move || off2().to_string()
                                        data-testid="model-view-cell"
                                        data-layer=i
                                        data-head=h
                                        data-group=li.group
                                        data-application=li.application
                                        data-inner=li.inner
                                        aria-label=label.clone()
                                        title=label
                                        style=format!("{row}; grid-column: {}", h + 2)
                                        tabindex=tab
                                        on:focus=move |_| roving.set((i, h))
                                        on:click=move |_| if switching.get_untracked() { toggle_switch(state, sw) } else { open(i, h) }
                                        on:keydown=move |ev| onkey(i, h, ev)
                                    ></button>
                                }
                            }).collect_view()}
                        }
                    }).collect_view()}
                </div>
            }
            .into_any()
        })
    };
    let figure = Callback::new(move |_| {
        let cap = caption(state)?;
        att.data.with_untracked(|d| AttentionData::valid(d.as_deref()).and_then(|d| export::attention::model_view(&cap, d)))
    });
    view! {
        <ViewFrame att=att testid="model-view" prefix="mv" title="Model view" {..} data-heads=att.attr(|s| s.heads)>
            <p class="att-hint">
                "Every layer × head. Rows with the same block run the same shared weights. "
                "Click a thumbnail (or press Enter on it; arrow keys move) to open it in the heatmap, "
                "or to switch that head off in that layer."
            </p>
            <div class="mv-mode" role="radiogroup" aria-label="A click on a thumbnail">
                <label><input type="radio" name="mv-mode" data-testid="mv-mode-open" prop:checked=move || !switching.get() on:change=move |_| switching.set(false) />" opens it in the heatmap"</label>
                <label><input type="radio" name="mv-mode" data-testid="mv-mode-switch" prop:checked=move || switching.get() on:change=move |_| switching.set(true) />" switches the head off / on"</label>
            </div>
            <ExportButtons what="model view" ready=Signal::derive(move || att.ready()) figure=figure
                attentions_json=true />
            <div class="att-scroll mv-scroll">{grid}</div>
        </ViewFrame>
    }
}

/// Paints map `layer`'s `heads` thumbnails into its row canvas, each into its cell's content box
/// (the CSS sizes below), at the device's pixel ratio; records the pooled side on the canvas
/// (`data-side`). Nothing is drawn while the shown forward has no thumbnails of this map.
fn paint_row(canvas: &HtmlCanvasElement, att: Attention, layer: usize, heads: usize) {
    let dpr = window().device_pixel_ratio().max(1.0);
    let width = heads as f64 * CELL_PX + heads.saturating_sub(1) as f64 * GAP_PX;
    let (w, h) = ((width * dpr).round() as u32, (CELL_PX * dpr).round() as u32);
    if canvas.width() != w || canvas.height() != h {
        canvas.set_width(w);
        canvas.set_height(h);
    }
    let Some(ctx) = context_2d(canvas) else { return };
    ctx.clear_rect(0.0, 0.0, f64::from(w), f64::from(h));
    let drawn = att.with_valid_untracked(|d| {
        // More tokens than thumbnail pixels: let the browser average instead of dropping rows.
        ctx.set_image_smoothing_enabled(d.seq_len() > 52);
        let mut side = None;
        for head in 0..heads {
            let Some((m, n)) = d.thumbnail(layer, head, THUMBNAIL) else { continue };
            let Some(scratch) = scratch(n) else { return side };
            let px = heat_rgba(&m, max_value(&m));
            let Ok(img) = ImageData::new_with_u8_clamped_array_and_sh(Clamped(&px), n as u32, n as u32) else { continue };
            let Some(sctx) = context_2d(&scratch) else { return side };
            let _ = sctx.put_image_data(&img, 0.0, 0.0);
            let x = head as f64 * (CELL_PX + GAP_PX) + INSET_PX;
            let inner = CELL_PX - 2.0 * INSET_PX;
            let _ = ctx.draw_image_with_html_canvas_element_and_dw_and_dh(&scratch, x * dpr, INSET_PX * dpr, inner * dpr, inner * dpr);
            side = Some(n);
        }
        side
    });
    match drawn.flatten() {
        Some(n) => canvas.set_attribute("data-side", &n.to_string()).ok(),
        None => canvas.remove_attribute("data-side").ok(),
    };
}

thread_local! {
    /// The canvas a thumbnail is put into before it is drawn, scaled, into its row: never in the
    /// page, so never a layer.
    static SCRATCH: std::cell::RefCell<Option<HtmlCanvasElement>> = const { std::cell::RefCell::new(None) };
}

/// The scratch canvas, `n × n` pixels.
fn scratch(n: usize) -> Option<HtmlCanvasElement> {
    SCRATCH.with(|s| {
        let mut s = s.borrow_mut();
        if s.is_none() {
            *s = document().create_element("canvas").ok()?.dyn_into().ok();
        }
        let c = s.clone()?;
        if c.width() != n as u32 || c.height() != n as u32 {
            c.set_width(n as u32);
            c.set_height(n as u32);
        }
        Some(c)
    })
}
