//! The neuron view (bertviz's third view): for the chosen layer, head and query token, the query
//! vector, each key vector, their element-wise product, the score q·k/√d and the softmax over
//! the keys — the head's attention weights, rebuilt from their parts.

use albert::HeadSwitch;
use leptos::prelude::*;

use crate::session;
use crate::state::{use_app, InsideView};
use crate::ui::export::{caption, ExportButtons};
use crate::view_model::export;
use crate::view_model::attention::labels::{display_token, truncate_token};
use crate::view_model::format;
use crate::view_model::inside::neuron::{block_rgba, vector_rgba, NeuronRows, BLOCK_ROW_PX};
use crate::view_model::window;
use leptos::html;
use wasm_bindgen::Clamped;
use web_sys::ImageData;

use crate::ui::attention::dom::context_2d;

/// A row's height (the stylesheet takes it from the table's `--row`): the window of drawn rows
/// is computed from it.
const ROW_PX: f64 = 18.0;
/// `.neuron-scroll`'s height (18rem) until the reader scrolls and the scroller says.
const VIEWPORT_PX: f64 = 288.0;

/// One vector as a row of coloured cells: a canvas of one pixel a dimension (CSS widens each to a
/// cell), the value under the pointer in its tooltip.
fn cells(v: &[f32], scale: f32, class: &'static str) -> impl IntoView {
    let canvas = NodeRef::<html::Canvas>::new();
    let px = vector_rgba(v, scale);
    let n = v.len();
    Effect::new(move |_| {
        let Some(c) = canvas.get() else { return };
        let Some(ctx) = context_2d(&c) else { return };
        if let Ok(img) = ImageData::new_with_u8_clamped_array_and_sh(Clamped(&px), n.max(1) as u32, 1) {
            let _ = ctx.put_image_data(&img, 0.0, 0.0);
        }
    });
    let values = v.to_vec();
    let hover = move |ev: leptos::ev::MouseEvent| {
        let Some(c) = canvas.get_untracked() else { return };
        let w = f64::from(c.client_width().max(1));
        let i = ((f64::from(ev.offset_x()) / w * n as f64).floor().max(0.0) as usize).min(n.saturating_sub(1));
        if let Some(x) = values.get(i) {
            c.set_title(&format!("dim {i}: {x:.4}"));
        }
    };
    view! {
        <canvas node_ref=canvas class=format!("vec {class}") width=n height=1 style=format!("--dims:{n}") on:mousemove=hover aria-hidden="true"></canvas>
    }
}

/// The vectors of the keys in view as one canvas (`block_rgba`), over their rows: set in the first
/// row's cell and as tall as the rows. The tooltip gives the key, dimension and value under the
/// pointer.
fn block(vectors: Vec<Vec<f32>>, first: usize, dims: usize, scale: f32, class: &'static str) -> impl IntoView {
    let canvas = NodeRef::<html::Canvas>::new();
    let rows = vectors.len();
    // The painting effect and the tooltip read the same vectors.
    let vectors = std::sync::Arc::new(vectors);
    let values = vectors.clone();
    Effect::new(move |_| {
        let Some(c) = canvas.get() else { return };
        let Some(ctx) = context_2d(&c) else { return };
        let refs: Vec<&[f32]> = vectors.iter().map(Vec::as_slice).collect();
        let px = block_rgba(&refs, dims, scale);
        if let Ok(img) = ImageData::new_with_u8_clamped_array_and_sh(Clamped(&px), dims.max(1) as u32, (rows * BLOCK_ROW_PX).max(1) as u32) {
            let _ = ctx.put_image_data(&img, 0.0, 0.0);
        }
    });
    let hover = move |ev: leptos::ev::MouseEvent| {
        let Some(c) = canvas.get_untracked() else { return };
        let w = f64::from(c.client_width().max(1));
        let d = ((f64::from(ev.offset_x()) / w * dims as f64).floor().max(0.0) as usize).min(dims.saturating_sub(1));
        let r = ((f64::from(ev.offset_y()) / ROW_PX).floor().max(0.0) as usize).min(rows.saturating_sub(1));
        if let Some(x) = values.get(r).and_then(|v| v.get(d)) {
            c.set_title(&format!("key {}, dim {d}: {x:.4}", first + r));
        }
    };
    view! {
        <canvas node_ref=canvas class=format!("vec-block {class}") width=dims.max(1) height=(rows * BLOCK_ROW_PX).max(1)
            style=format!("--dims:{dims};height:{}px", rows as f64 * ROW_PX) on:mousemove=hover aria-hidden="true"></canvas>
    }
}

#[component]
pub fn NeuronView(
    /// The shown forward's insides.
    inside: Signal<Option<InsideView>>,
) -> impl IntoView {
    let state = use_app();
    // The query token; `None`: the first [MASK] (or token 0).
    let query = RwSignal::new(None::<usize>);
    let data = Memo::new(move |_| inside.with(|i| i.as_ref().and_then(|i| i.neuron.clone())));
    // From the same (staged) insides as the rows, so a new result rebuilds the table once.
    let first_mask = move || inside.with(|i| i.as_ref().and_then(|i| i.lens.first().map(|l| l.position)).unwrap_or(0));
    let rows: Memo<Option<NeuronRows>> = Memo::new(move |_| {
        data.with(|d| {
            let d = d.as_ref()?;
            let q = query.get().unwrap_or_else(first_mask).min(d.seq_len().saturating_sub(1));
            d.rows(q)
        })
    });
    let set_head = move |s: HeadSwitch| {
        state.neuron_head.set(s);
        session::request_now(state);
    };
    let selects = move || {
        let (Some(i), Some(head)) = (inside.get(), data.with(|d| d.as_ref().map(|d| d.head))) else { return None };
        let tokens = data.with(|d| d.as_ref().map(|d| d.tokens.clone()).unwrap_or_default());
        let q_now = rows.with(|r| r.as_ref().map_or(0, |r| r.query));
        let layers: Vec<(usize, usize)> = (1..=i.depth).flat_map(|l| (0..i.inner).map(move |j| (l, j))).collect();
        let inner = i.inner;
        Some(view! {
            <div class="neuron-controls">
                <label>"Layer "
                    <select data-testid="neuron-layer" on:change=move |ev| {
                        if let Some((l, j)) = event_target_value(&ev).split_once('.').and_then(|(l, j)| Some((l.parse().ok()?, j.parse().ok()?))) {
                            // From the state, not this render: a second choice may come before the first's forward.
                            set_head(HeadSwitch { layer: l, inner: j, ..state.neuron_head.get_untracked() });
                        }
                    }>
                        {layers.into_iter().map(|(l, j)| {
                            let name = if inner > 1 { format!("{l}.{j}") } else { l.to_string() };
                            view! { <option value=format!("{l}.{j}") selected=(l, j) == (head.layer, head.inner)>{name}</option> }
                        }).collect_view()}
                    </select>
                </label>
                <label>"Head "
                    <select data-testid="neuron-head" on:change=move |ev| {
                        if let Ok(h) = event_target_value(&ev).parse() {
                            set_head(HeadSwitch { head: h, ..state.neuron_head.get_untracked() });
                        }
                    }>
                        {(0..i.heads).map(|h| view! { <option value=h selected=h == head.head>{h}</option> }).collect_view()}
                    </select>
                </label>
                <label>"Query token "
                    <select data-testid="neuron-query" on:change=move |ev| {
                        if let Ok(q) = event_target_value(&ev).parse() {
                            query.set(Some(q));
                        }
                    }>
                        {tokens.iter().enumerate().map(|(t, tok)| view! {
                            <option value=t selected=t == q_now>{format!("{t}: {}", truncate_token(&display_token(tok), 16))}</option>
                        }).collect_view()}
                    </select>
                </label>
            </div>
        })
    };
    // Only the key rows the scroller shows are drawn (view_model::window): 128 or 512 rows of two
    // canvases each made every result a long task to build and to lay out.
    let scroller = NodeRef::<html::Div>::new();
    let scroll = RwSignal::new((0.0f64, VIEWPORT_PX));
    let on_scroll = move |_| {
        if let Some(el) = scroller.get_untracked() {
            scroll.set((f64::from(el.scroll_top()), f64::from(el.client_height())));
        }
    };
    let keys = move || rows.with(|r| r.as_ref().map_or(0, |r| r.keys.len()));
    let shown = Memo::new(move |_| {
        let (top, height) = scroll.get();
        window::visible(top, height, 2.0 * ROW_PX, ROW_PX, keys())
    });
    let table = move || {
        let tokens = data.with(|d| d.as_ref().map(|d| d.tokens.clone()).unwrap_or_default());
        let shown = shown.get();
        rows.with(|r| {
            let Some(r) = r else { return view! { <p class="att-empty">"The neuron view appears after the first prediction."</p> }.into_any() };
            let name = |i: usize| truncate_token(&display_token(tokens.get(i).map(String::as_str).unwrap_or("?")), 12);
            let n = r.keys.len();
            let dims = r.q.len();
            let pad = |rows: usize| format!("height:{}px", rows as f64 * ROW_PX);
            let keys = &r.keys[shown.clone()];
            let mut blocks = (!keys.is_empty()).then(|| {
                (
                    block(keys.iter().map(|k| k.k.clone()).collect(), shown.start, dims, r.vector_scale, "k"),
                    block(keys.iter().map(|k| k.product.clone()).collect(), shown.start, dims, r.product_scale, "qk"),
                )
            });
            view! {
                <div class="neuron-table" role="table" aria-label="Query, keys, products, scores and weights" aria-rowcount=n + 2
                    style=format!("--row:{ROW_PX}px;--dims:{}", r.q.len())>
                    <div class="neuron-row head" role="row" aria-rowindex="1">
                        <span role="columnheader" class="tok">"token"</span>
                        <span role="columnheader" class="vcol">"key k"</span>
                        <span role="columnheader" class="vcol">"q × k"</span>
                        <span role="columnheader" class="num">"q·k/√d"</span>
                        <span role="columnheader" class="weight">"softmax"</span>
                    </div>
                    <div class="neuron-row query" role="row" aria-rowindex="2" data-testid="neuron-query-row">
                        <span role="cell" class="tok">{format!("q: {}", name(r.query))}</span>
                        <span role="cell" class="vcol">{cells(&r.q, r.vector_scale, "q")}</span>
                        <span role="cell" class="vcol"></span><span role="cell" class="num"></span><span role="cell" class="weight"></span>
                    </div>
                    <div class="neuron-pad" aria-hidden="true" style=pad(shown.start)></div>
                    {r.keys[shown.clone()].iter().map(|k| {
                        let width = format!("{:.1}%", (k.weight * 100.0).clamp(0.0, 100.0));
                        // The first row in view carries the canvases that draw every row's vectors.
                        let (kb, qkb) = blocks.take().unzip();
                        view! {
                            <div class="neuron-row" role="row" aria-rowindex=k.index + 3 data-testid="neuron-key" data-key=k.index data-score=k.score.to_string() data-weight=k.weight.to_string()>
                                <span role="cell" class="tok">{name(k.index)}</span>
                                <span role="cell" class="vcol">{kb}</span>
                                <span role="cell" class="vcol">{qkb}</span>
                                <span role="cell" class="num">{format!("{:.3}", k.score)}</span>
                                <span role="cell" class="weight">
                                    <span class="bar" aria-hidden="true"><span class="fill" style:width=width></span></span>
                                    {format::percent(k.weight)}
                                </span>
                            </div>
                        }
                    }).collect_view()}
                    <div class="neuron-pad" aria-hidden="true" style=pad(n - shown.end)></div>
                </div>
            }
            .into_any()
        })
    };
    // The layer, head and query token shown.
    let figure = Callback::new(move |_| {
        let cap = caption(state)?;
        let inner = inside.with_untracked(|i| i.as_ref().map_or(1, |i| i.inner));
        data.with_untracked(|d| rows.with_untracked(|r| export::neuron::neuron(&cap, d.as_ref()?, r.as_ref()?, inner)))
    });
    view! {
        <section class="inside-view neuron-view" data-testid="neuron-view" aria-labelledby="neuron-title"
            data-layer=move || data.with(|d| d.as_ref().map(|d| format!("{}.{}", d.head.layer, d.head.inner)))
            data-head=move || data.with(|d| d.as_ref().map(|d| d.head.head.to_string()))
            data-query=move || rows.with(|r| r.as_ref().map(|r| r.query.to_string()))>
            <h3 id="neuron-title">"Neuron view"</h3>
            <p class="att-hint">
                "How one head's attention is made: the query vector of one token meets every key vector; "
                "their element-wise products (orange positive, blue negative) sum to the score, and the softmax "
                "of the scores is the attention weight. Dimensions that light up in both q and k decide where the head looks."
            </p>
            {selects}
            <ExportButtons what="neuron view" ready=Signal::derive(move || rows.with(Option::is_some)) figure=figure />
            <div class="inside-scroll neuron-scroll" node_ref=scroller on:scroll=on_scroll>{table}</div>
        </section>
    }
}
