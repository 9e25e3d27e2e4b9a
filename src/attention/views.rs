//! The attention views (browser only): head view, model view, heatmap and rollout, all drawn
//! from the same [`AttentionData`]. The numbers come from the pure functions in the parent
//! module; this file only turns them into SVG, canvases and controls.
//!
//! Layout never depends on the values, only on the data's shape (tokens, layers, heads), and
//! every scrolling area has a fixed height, so a new forward pass repaints without moving
//! anything on the page.

use leptos::ev;
use leptos::html;
use leptos::prelude::*;
use wasm_bindgen::{Clamped, JsCast};
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement, ImageData};

use super::{
    cell_at, default_threshold, display_token, head_style, reveal_scroll, head_view_lines, heat_cell_px, heat_rgba, line_opacity, max_value,
    readout, truncate_token, viridis_css_gradient, AttentionData, Focus, HeadSel, HeadViewLayout, MaskAttribution,
    MAX_LINES,
};

/// Characters of a token shown before it is cut (the full token is in the tooltip).
const TOKEN_CHARS: usize = 14;
const LABEL_CHARS: usize = 10;

/// What the layouts depend on: the data's shape, not its values.
#[derive(Clone, Debug, PartialEq)]
struct Shape {
    tokens: Vec<String>,
    masks: Vec<usize>,
    heads: usize,
    layers: Vec<LayerInfo>,
    /// One line on what ran: maps, layers × inner, shared blocks.
    summary: String,
}

#[derive(Clone, Debug, PartialEq)]
struct LayerInfo {
    label: String,
    short: String,
    application: usize,
    group: usize,
    inner: usize,
}

impl Shape {
    fn of(d: &AttentionData) -> Shape {
        Shape {
            tokens: d.tokens.iter().map(|t| display_token(t)).collect(),
            masks: d.mask_positions.clone(),
            heads: d.num_heads(),
            layers: d
                .layers
                .iter()
                .enumerate()
                .map(|(i, l)| LayerInfo {
                    label: d.layer_label(i),
                    short: d.layer_short_label(i),
                    application: l.layer,
                    group: l.group,
                    inner: l.inner,
                })
                .collect(),
            summary: summary(d),
        }
    }

    fn t(&self) -> usize {
        self.tokens.len()
    }
}

fn summary(d: &AttentionData) -> String {
    let applications = d.layers.iter().map(|l| l.layer + 1).max().unwrap_or(0);
    let groups = d.num_groups();
    format!(
        "{} attention maps ({applications} layers × {} inner) running {groups} shared {}, {} heads each, {} tokens.",
        d.num_layers(),
        d.inner_group_num(),
        if groups == 1 { "block" } else { "blocks" },
        d.num_heads(),
        d.seq_len()
    )
}

/// The data when it is present and consistent (every view reads through this, so malformed
/// data shows a message instead of panicking).
fn valid(d: &Option<AttentionData>) -> Option<&AttentionData> {
    d.as_ref().filter(|d| d.validate().is_ok())
}

fn matrix_of(d: &AttentionData, layer: usize, sel: HeadSel) -> Option<Vec<f32>> {
    let l = d.layers.get(layer)?;
    match sel {
        HeadSel::Head(h) if h >= l.heads => None,
        _ => Some(l.matrix(sel)),
    }
}

/// Paints a `t × t` matrix into a canvas of `t × t` pixels (CSS scales it).
fn paint(canvas: &HtmlCanvasElement, m: &[f32], t: usize, vmax: f32) {
    if t == 0 || m.len() != t * t {
        return;
    }
    canvas.set_width(t as u32);
    canvas.set_height(t as u32);
    let Ok(Some(ctx)) = canvas.get_context("2d") else { return };
    let Ok(ctx) = ctx.dyn_into::<CanvasRenderingContext2d>() else { return };
    let px = heat_rgba(m, vmax);
    if let Ok(img) = ImageData::new_with_u8_clamped_array_and_sh(Clamped(&px), t as u32, t as u32) {
        let _ = ctx.put_image_data(&img, 0.0, 0.0);
    }
}

fn focus_by_id(id: &str) {
    if let Some(el) = document().get_element_by_id(id) {
        if let Ok(el) = el.dyn_into::<web_sys::HtmlElement>() {
            let _ = el.focus();
        }
    }
}

/// Scrolls `container` the least so the content box `x0..x1` × `y0..y1` is visible next to
/// sticky bands of `left` × `top` px. Only that box scrolls, never the page.
fn reveal(container: &web_sys::Element, (x0, x1): (f64, f64), (y0, y1): (f64, f64), left: f64, top: f64) {
    let y = reveal_scroll(container.scroll_top() as f64, container.client_height() as f64, top, y0, y1);
    let x = reveal_scroll(container.scroll_left() as f64, container.client_width() as f64, left, x0, x1);
    container.set_scroll_top(y.round() as i32);
    container.set_scroll_left(x.round() as i32);
}

/// A pointer event that really moved (scrolling under a still pointer fires ones that did not).
fn moved(ev: &ev::MouseEvent) -> bool {
    ev.movement_x() != 0 || ev.movement_y() != 0
}

/// The four attention views of one forward pass. `data` is `None` while loading: the views
/// keep their size and show a placeholder.
#[component]
pub fn AttentionPanel(#[prop(into)] data: Signal<Option<AttentionData>>) -> impl IntoView {
    let shape: Memo<Option<Shape>> = Memo::new(move |_| data.with(|d| valid(d).map(Shape::of)));
    let problem: Memo<Option<String>> =
        Memo::new(move |_| data.with(|d| d.as_ref().and_then(|d| d.validate().err())));
    // The heatmap's (layer, head): the model view opens cells into it.
    let heat_sel = RwSignal::new((0usize, HeadSel::Mean));
    let heat_canvas = NodeRef::<html::Canvas>::new();
    let open = move |layer: usize, head: usize| {
        heat_sel.set((layer, HeadSel::Head(head)));
        if let Some(c) = heat_canvas.get_untracked() {
            let _ = c.focus();
        }
    };

    view! {
        <div class="attention" data-testid="attention">
            <p class="att-lede">
                "All four views come from the same forward pass as the predictions. ALBERT shares "
                "its weights across layers: every layer is labelled with the shared block (group) it runs."
            </p>
            <p class="att-summary" data-testid="attention-summary" title=move || shape.with(|s| s.as_ref().map(|s| s.summary.clone()))>
                {move || shape.with(|s| match s {
                    Some(s) => s.summary.clone(),
                    None => "Waiting for a forward pass…".to_string(),
                })}
            </p>
            {move || problem.get().map(|p| view! {
                <p class="att-problem" role="alert">"Attention data is inconsistent: " {p}</p>
            })}
            <div class="att-views">
                <HeadView data=data shape=shape />
                <ModelView data=data shape=shape heat_sel=heat_sel open=open />
                <Heatmap data=data shape=shape heat_sel=heat_sel canvas=heat_canvas />
                <Rollout data=data shape=shape />
            </div>
        </div>
    }
}

fn placeholder() -> impl IntoView {
    view! { <div class="att-empty">"Attention appears here after the first prediction."</div> }
}

fn dims_attr(shape: Memo<Option<Shape>>, f: fn(&Shape) -> usize) -> impl Fn() -> Option<String> + Copy + Send + Sync + 'static {
    move || shape.with(|s| s.as_ref().map(|s| f(s).to_string()))
}

fn layer_options(shape: Memo<Option<Shape>>, current: impl Fn() -> usize + Copy + Send + Sync + 'static) -> impl IntoView {
    move || {
        shape.with(|s| {
            s.as_ref()
                .map(|s| {
                    s.layers
                        .iter()
                        .enumerate()
                        .map(|(i, l)| {
                            view! { <option value=i prop:selected=move || current() == i>{l.label.clone()}</option> }
                        })
                        .collect_view()
                })
                .unwrap_or_default()
        })
    }
}

// ---------------------------------------------------------------------------------------
// Head view

#[component]
fn HeadView(data: Signal<Option<AttentionData>>, shape: Memo<Option<Shape>>) -> impl IntoView {
    let layer = RwSignal::new(0usize);
    // Heads switched off (so new heads start on).
    let off = RwSignal::new(Vec::<usize>::new());
    let focus = RwSignal::new(None::<Focus>);
    let threshold = RwSignal::new(None::<f32>);
    // Keyboard mode: the pointer's enter/leave events (fired by scrolling under a still
    // pointer) leave the keyboard's token alone until the pointer really moves.
    let kb = RwSignal::new(false);
    let scroller = NodeRef::<html::Div>::new();

    let n_layers = move || shape.with(|s| s.as_ref().map_or(0, |s| s.layers.len()));
    let n_heads = move || shape.with(|s| s.as_ref().map_or(0, |s| s.heads));
    let t = move || shape.with(|s| s.as_ref().map_or(0, Shape::t));
    let cur_layer = move || layer.get().min(n_layers().saturating_sub(1));
    let thr = move || threshold.get().unwrap_or_else(|| default_threshold(t()));
    let is_on = move |h: usize| !off.with(|o| o.contains(&h));

    let lines = Memo::new(move |_| {
        let li = cur_layer();
        let f = focus.get();
        let th = thr();
        let heads = n_heads();
        let enabled: Vec<bool> = (0..heads).map(is_on).collect();
        data.with(|d| {
            valid(d)
                .and_then(|d| d.layers.get(li))
                .map(|l| head_view_lines(l, &enabled, f, th, MAX_LINES))
                .unwrap_or_default()
        })
    });
    // Strongest weight (over the shown heads) between the focused token and each token on
    // the other side, for shading.
    let shade = Memo::new(move |_| {
        let Some(f) = focus.get() else { return Vec::new() };
        let li = cur_layer();
        let n = t();
        let heads: Vec<usize> = (0..n_heads()).filter(|&h| is_on(h)).collect();
        data.with(|d| {
            let Some(l) = valid(d).and_then(|d| d.layers.get(li)) else { return Vec::new() };
            (0..n)
                .map(|i| {
                    let (q, k) = match f {
                        Focus::Query(q) => (q, i),
                        Focus::Key(k) => (i, k),
                    };
                    if q >= n || k >= n {
                        return 0.0;
                    }
                    heads.iter().map(|&h| l.weight(h, q, k)).fold(0.0f32, f32::max)
                })
                .collect()
        })
    });

    let column = move |side: &'static str| {
        let (make, label): (fn(usize) -> Focus, &str) = match side {
            "q" => (Focus::Query, "Query tokens (attending): arrow keys move, Escape clears"),
            _ => (Focus::Key, "Key tokens (attended to): arrow keys move, Escape clears"),
        };
        let mine = move |f: Option<Focus>| match (side, f) {
            ("q", Some(Focus::Query(i))) | ("k", Some(Focus::Key(i))) => Some(i),
            _ => None,
        };
        let onkey = move |ev: ev::KeyboardEvent| {
            let n = t();
            if n == 0 {
                return;
            }
            let cur = mine(focus.get_untracked());
            let next = match ev.key().as_str() {
                "ArrowDown" => Some(cur.map_or(0, |i| (i + 1).min(n - 1))),
                "ArrowUp" => Some(cur.map_or(0, |i| i.saturating_sub(1))),
                "Home" => Some(0),
                "End" => Some(n - 1),
                "Escape" => {
                    focus.set(None);
                    None
                }
                _ => return,
            };
            ev.prevent_default();
            kb.set(true);
            if let Some(i) = next {
                focus.set(Some(make(i)));
                if let Some(c) = scroller.get_untracked() {
                    let geo = HeadViewLayout::new(n);
                    let y = i as f64 * geo.row as f64;
                    reveal(&c, (0.0, 0.0), (y, y + geo.row as f64), 0.0, 0.0);
                }
            }
        };
        view! {
            <ol
                class=format!("hv-col hv-{side}")
                role="listbox"
                tabindex="0"
                aria-label=label
                aria-activedescendant=move || mine(focus.get()).map(|i| format!("hv-{side}-{i}"))
                on:keydown=onkey
                on:focus=move |_| {
                    if mine(focus.get_untracked()).is_none() && t() > 0 {
                        focus.set(Some(make(0)));
                    }
                }
                on:blur=move |_| focus.set(None)
                on:mousemove=move |ev| if moved(&ev) { kb.set(false) }
            >
                {move || shape.with(|s| s.as_ref().map(|s| {
                    s.tokens.iter().enumerate().map(|(i, tok)| {
                        let masked = s.masks.contains(&i);
                        view! {
                            <li
                                id=format!("hv-{side}-{i}")
                                role="option"
                                class="hv-tok"
                                class:mask=masked
                                class:active=move || mine(focus.get()) == Some(i)
                                aria-selected=move || (mine(focus.get()) == Some(i)).to_string()
                                title=format!("{tok} (position {i})")
                                style=move || shade.with(|w| w.get(i).map(|w| format!("--w:{:.3}", w.min(1.0)))).unwrap_or_default()
                                on:mouseenter=move |_| if !kb.get_untracked() { focus.set(Some(make(i))) }
                                on:mouseleave=move |_| if !kb.get_untracked() { focus.set(None) }
                                on:mousemove=move |ev| if moved(&ev) && kb.get_untracked() {
                                    kb.set(false);
                                    focus.set(Some(make(i)));
                                }
                            >
                                {truncate_token(tok, TOKEN_CHARS)}
                            </li>
                        }
                    }).collect_view()
                }))}
            </ol>
        }
    };

    let toggle = move |h: usize| {
        off.update(|o| {
            if let Some(p) = o.iter().position(|&x| x == h) {
                o.remove(p);
            } else {
                o.push(h);
            }
        })
    };

    view! {
        <section
            class="att-view head-view"
            data-testid="head-view"
            aria-labelledby="hv-title"
            data-layers=dims_attr(shape, |s| s.layers.len())
            data-heads=dims_attr(shape, |s| s.heads)
            data-tokens=dims_attr(shape, Shape::t)
            data-layer=move || shape.with(|s| s.is_some()).then(|| cur_layer().to_string())
        >
            <h3 id="hv-title">"Head view"</h3>
            <p class="att-hint">
                "Lines join each token (left) to the tokens it attends to (right); opacity is the "
                "attention weight, colour the head. Hover or focus a token to see only its lines."
            </p>
            <div class="att-controls">
                <label>
                    "Layer "
                    <select
                        data-testid="head-view-layer"
                        on:change=move |ev| {
                            if let Ok(i) = event_target_value(&ev).parse() {
                                layer.set(i);
                            }
                        }
                    >
                        {layer_options(shape, cur_layer)}
                    </select>
                </label>
                <label class="hv-threshold">
                    "Hide below "
                    <input
                        type="range"
                        min="0"
                        max="0.5"
                        step="0.01"
                        prop:value=move || format!("{:.2}", thr())
                        on:input=move |ev| {
                            if let Ok(v) = event_target_value(&ev).parse::<f32>() {
                                threshold.set(Some(v));
                            }
                        }
                    />
                    <output>{move || format!("{:.2}", thr())}</output>
                </label>
            </div>
            <div class="hv-heads" role="group" aria-label="Heads (toggle; double-click shows one head alone)">
                <button type="button" class="hv-all" on:click=move |_| off.set(Vec::new())>"all"</button>
                <button type="button" class="hv-all" on:click=move |_| off.set((0..n_heads()).collect())>"none"</button>
                {move || (0..n_heads()).map(|h| {
                    let st = head_style(h);
                    view! {
                        <button
                            type="button"
                            class="hv-head"
                            data-testid="head-toggle"
                            data-head=h
                            aria-pressed=move || is_on(h).to_string()
                            title=format!("head {h}: click to hide or show, double-click to show it alone")
                            on:click=move |_| toggle(h)
                            on:dblclick=move |_| off.set((0..n_heads()).filter(|&x| x != h).collect())
                        >
                            <svg width="16" height="8" aria-hidden="true">
                                <line x1="1" y1="4" x2="15" y2="4" stroke=st.color stroke-width="3" stroke-dasharray=st.dash />
                            </svg>
                            {h}
                        </button>
                    }
                }).collect_view()}
            </div>
            <div class="att-scroll hv-scroll" node_ref=scroller>
                {move || if shape.with(|s| s.is_some()) {
                    let geo = HeadViewLayout::new(t());
                    view! {
                        <div class="hv-body" style=format!("--row:{}px", geo.row)>
                            {column("q")}
                            <svg
                                class="hv-lines"
                                width=geo.width
                                height=geo.height()
                                viewBox=format!("0 0 {} {}", geo.width, geo.height())
                                preserveAspectRatio="none"
                                aria-hidden="true"
                            >
                                {move || lines.with(|ls| ls.iter().map(|l| {
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
                                }).collect_view())}
                            </svg>
                            {column("k")}
                        </div>
                    }.into_any()
                } else {
                    placeholder().into_any()
                }}
            </div>
            <p class="att-foot">
                {move || lines.with(|l| {
                    let n = l.len();
                    if n >= MAX_LINES { format!("{n} strongest lines shown") } else { format!("{n} lines shown") }
                })}
            </p>
        </section>
    }
}

// ---------------------------------------------------------------------------------------
// Model view

#[component]
fn Thumb(data: Signal<Option<AttentionData>>, layer: usize, head: usize) -> impl IntoView {
    let canvas = NodeRef::<html::Canvas>::new();
    Effect::new(move |_| {
        let Some(c) = canvas.get() else { return };
        data.with(|d| {
            if let Some(d) = valid(d) {
                if let Some(m) = matrix_of(d, layer, HeadSel::Head(head)) {
                    paint(&c, &m, d.seq_len(), max_value(&m));
                }
            }
        });
    });
    view! { <canvas node_ref=canvas class="mv-thumb" aria-hidden="true"></canvas> }
}

#[component]
fn ModelView(
    data: Signal<Option<AttentionData>>,
    shape: Memo<Option<Shape>>,
    heat_sel: RwSignal<(usize, HeadSel)>,
    open: impl Fn(usize, usize) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    // Roving tab stop: one cell is in the tab order, arrow keys move between cells.
    let roving = RwSignal::new((0usize, 0usize));
    let grid = move || {
        shape.with(|s| {
            let Some(s) = s.as_ref() else { return placeholder().into_any() };
            let (nl, nh) = (s.layers.len(), s.heads);
            if nl == 0 || nh == 0 {
                return placeholder().into_any();
            }
            let corner = if s.layers.iter().any(|l| l.inner > 0) { "layer.inner · group" } else { "layer · block" };
            let onkey = move |i: usize, h: usize, ev: ev::KeyboardEvent| {
                let (ni, nh2) = match ev.key().as_str() {
                    "ArrowRight" => (i, (h + 1).min(nh - 1)),
                    "ArrowLeft" => (i, h.saturating_sub(1)),
                    "ArrowDown" => ((i + 1).min(nl - 1), h),
                    "ArrowUp" => (i.saturating_sub(1), h),
                    "Home" => (i, 0),
                    "End" => (i, nh - 1),
                    _ => return,
                };
                ev.prevent_default();
                roving.set((ni, nh2));
                focus_by_id(&format!("mv-{ni}-{nh2}"));
            };
            view! {
                <div
                    class="mv-grid"
                    class:smooth={s.t() > 52}
                    role="group"
                    aria-label="Layers × heads"
                    style=format!("grid-template-columns: max-content repeat({nh}, var(--mv-thumb))")
                >
                    <div class="mv-corner">{corner}</div>
                    {(0..nh).map(|h| view! { <div class="mv-colhead">"head " {h}</div> }).collect_view()}
                    {s.layers.iter().enumerate().map(|(i, li)| {
                        let band = if li.group % 2 == 0 { "mv-rowhead band-a" } else { "mv-rowhead band-b" };
                        view! {
                            <div class=band data-group=li.group title=li.label.clone()>{li.short.clone()}</div>
                            {(0..nh).map(|h| {
                                let label = format!("{}, head {h}: open in the heatmap", li.label);
                                view! {
                                    <button
                                        type="button"
                                        id=format!("mv-{i}-{h}")
                                        class="mv-cell"
                                        class:band-b=li.group % 2 == 1
                                        class:open=move || heat_sel.get() == (i, HeadSel::Head(h))
                                        data-testid="model-view-cell"
                                        data-layer=i
                                        data-head=h
                                        data-group=li.group
                                        data-application=li.application
                                        data-inner=li.inner
                                        aria-label=label.clone()
                                        title=label
                                        tabindex=move || {
                                            let (ri, rh) = roving.get();
                                            if (ri.min(nl - 1), rh.min(nh - 1)) == (i, h) { "0" } else { "-1" }
                                        }
                                        on:focus=move |_| roving.set((i, h))
                                        on:click=move |_| open(i, h)
                                        on:keydown=move |ev| onkey(i, h, ev)
                                    >
                                        <Thumb data=data layer=i head=h />
                                    </button>
                                }
                            }).collect_view()}
                        }
                    }).collect_view()}
                </div>
            }
            .into_any()
        })
    };
    view! {
        <section
            class="att-view model-view"
            data-testid="model-view"
            aria-labelledby="mv-title"
            data-layers=dims_attr(shape, |s| s.layers.len())
            data-heads=dims_attr(shape, |s| s.heads)
            data-tokens=dims_attr(shape, Shape::t)
        >
            <h3 id="mv-title">"Model view"</h3>
            <p class="att-hint">
                "Every layer × head. Rows with the same block run the same shared weights. "
                "Click a thumbnail (or press Enter on it; arrow keys move) to open it in the heatmap."
            </p>
            <div class="att-scroll mv-scroll">{grid}</div>
        </section>
    }
}

// ---------------------------------------------------------------------------------------
// Heatmap

#[component]
fn Heatmap(
    data: Signal<Option<AttentionData>>,
    shape: Memo<Option<Shape>>,
    heat_sel: RwSignal<(usize, HeadSel)>,
    canvas: NodeRef<html::Canvas>,
) -> impl IntoView {
    let hover = RwSignal::new(None::<(usize, usize)>);
    // Keyboard mode, as in the head view: a still pointer does not steal the cursor.
    let kb = RwSignal::new(false);
    let scroller = NodeRef::<html::Div>::new();
    let map_box = NodeRef::<html::Div>::new();
    let n_layers = move || shape.with(|s| s.as_ref().map_or(0, |s| s.layers.len()));
    let n_heads = move || shape.with(|s| s.as_ref().map_or(0, |s| s.heads));
    let t = move || shape.with(|s| s.as_ref().map_or(0, Shape::t));
    // The selection, clamped to the data's shape.
    let sel = move || {
        let (l, h) = heat_sel.get();
        let h = match h {
            HeadSel::Head(h) if h >= n_heads() => HeadSel::Mean,
            other => other,
        };
        (l.min(n_layers().saturating_sub(1)), h)
    };
    let matrix: Memo<Option<Vec<f32>>> = Memo::new(move |_| {
        let (l, h) = sel();
        data.with(|d| valid(d).and_then(|d| matrix_of(d, l, h)))
    });
    let vmax = move || matrix.with(|m| m.as_deref().map_or(1.0, max_value));
    Effect::new(move |_| {
        let Some(c) = canvas.get() else { return };
        let n = t();
        matrix.with(|m| {
            if let Some(m) = m {
                paint(&c, m, n, max_value(m));
            }
        });
    });

    let cell = move || heat_cell_px(t());
    let on_move = move |ev: ev::MouseEvent| {
        if kb.get_untracked() {
            if !moved(&ev) {
                return;
            }
            kb.set(false);
        }
        let Some(c) = canvas.get_untracked() else { return };
        let hit = cell_at(
            ev.offset_x() as f64,
            ev.offset_y() as f64,
            c.client_width() as f64,
            c.client_height() as f64,
            t(),
        );
        if hit.is_some() && hit != hover.get_untracked() {
            hover.set(hit);
        }
    };
    let on_key = move |ev: ev::KeyboardEvent| {
        let n = t();
        if n == 0 {
            return;
        }
        let (q, k) = hover.get_untracked().unwrap_or((0, 0));
        let next = match ev.key().as_str() {
            "ArrowDown" => ((q + 1).min(n - 1), k),
            "ArrowUp" => (q.saturating_sub(1), k),
            "ArrowRight" => (q, (k + 1).min(n - 1)),
            "ArrowLeft" => (q, k.saturating_sub(1)),
            "Home" => (q, 0),
            "End" => (q, n - 1),
            "Escape" => {
                hover.set(None);
                return;
            }
            _ => return,
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
        let Some((q, k)) = hover.get() else {
            return "Hover a cell, or focus the map and use the arrow keys, to read its value.".to_string();
        };
        let n = t();
        let w = matrix.with(|m| m.as_ref().and_then(|m| m.get(q * n + k).copied()));
        match w {
            Some(w) => shape.with(|s| s.as_ref().map(|s| readout(&s.tokens, q, k, w)).unwrap_or_default()),
            None => String::new(),
        }
    };

    let labels = move |axis: &'static str| {
        move || {
            shape.with(|s| {
                s.as_ref()
                    .map(|s| {
                        s.tokens
                            .iter()
                            .enumerate()
                            .map(|(i, tok)| {
                                let active = move || {
                                    hover.get().is_some_and(|(q, k)| if axis == "row" { q == i } else { k == i })
                                };
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
    };

    view! {
        <section
            class="att-view heatmap"
            data-testid="heatmap"
            id="heatmap-view"
            aria-labelledby="hm-title"
            data-layers=dims_attr(shape, |s| s.layers.len())
            data-heads=dims_attr(shape, |s| s.heads)
            data-tokens=dims_attr(shape, Shape::t)
            data-layer=move || shape.with(|s| s.is_some()).then(|| sel().0.to_string())
            data-head=move || shape.with(|s| s.is_some()).then(|| sel().1.value())
        >
            <h3 id="hm-title">"Heatmap"</h3>
            <p class="att-hint">"Rows are queries (attending), columns keys (attended to)."</p>
            <div class="att-controls">
                <label>
                    "Layer "
                    <select
                        data-testid="heatmap-layer"
                        on:change=move |ev| {
                            if let Ok(i) = event_target_value(&ev).parse() {
                                heat_sel.update(|s| s.0 = i);
                            }
                        }
                    >
                        {layer_options(shape, move || sel().0)}
                    </select>
                </label>
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
                        <option value="mean" prop:selected=move || sel().1 == HeadSel::Mean>"mean of heads"</option>
                        {move || (0..n_heads()).map(|h| view! {
                            <option value=h prop:selected=move || sel().1 == HeadSel::Head(h)>"head " {h}</option>
                        }).collect_view()}
                    </select>
                </label>
                <span class="hm-legend" aria-label="colour scale">
                    "0"
                    <span class="hm-ramp" style=format!("background:{}", viridis_css_gradient())></span>
                    {move || format!("{:.3}", vmax())}
                </span>
            </div>
            <p class="hm-readout" data-testid="heatmap-readout" aria-live="polite">{text}</p>
            <div class="att-scroll hm-scroll" node_ref=scroller>
                {move || if shape.with(|s| s.is_some()) {
                    let c = cell();
                    let n = t();
                    view! {
                        <div class="hm-grid" style=format!("--cell:{c}px;--n:{n}")>
                            <div class="hm-corner" aria-hidden="true">"query ↓ key →"</div>
                            <div class="hm-cols" aria-hidden="true">{labels("col")}</div>
                            <div class="hm-rows" aria-hidden="true">{labels("row")}</div>
                            <div class="hm-map" node_ref=map_box>
                                <canvas
                                    node_ref=canvas
                                    class="hm-canvas"
                                    data-testid="heatmap-canvas"
                                    tabindex="0"
                                    role="application"
                                    aria-roledescription="heatmap"
                                    aria-label=move || {
                                        let (l, h) = sel();
                                        let name = shape.with(|s| s.as_ref().and_then(|s| s.layers.get(l).map(|x| x.label.clone()))).unwrap_or_default();
                                        format!("Attention heatmap, {name}, {}; arrow keys read values", h.label())
                                    }
                                    style=format!("width:{}px;height:{}px", c * n as u32, c * n as u32)
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
                                        Some((q, k)) => format!("left:{}px;top:{}px", k as u32 * c, q as u32 * c),
                                        None => "display:none".to_string(),
                                    }
                                ></div>
                            </div>
                        </div>
                    }.into_any()
                } else {
                    placeholder().into_any()
                }}
            </div>
        </section>
    }
}

// ---------------------------------------------------------------------------------------
// Rollout

#[component]
fn Rollout(data: Signal<Option<AttentionData>>, shape: Memo<Option<Shape>>) -> impl IntoView {
    let rolled: Memo<Option<Vec<f32>>> = Memo::new(move |_| data.with(|d| valid(d).map(AttentionData::rollout)));
    let attributions: Memo<Vec<MaskAttribution>> = Memo::new(move |_| {
        rolled.with(|r| data.with(|d| valid(d).zip(r.as_deref()).map(|(d, r)| d.attributions_from(r)).unwrap_or_default()))
    });
    let mask_idx = RwSignal::new(0usize);
    let t = move || shape.with(|s| s.as_ref().map_or(0, Shape::t));
    let chosen = move || attributions.with(|a| mask_idx.get().min(a.len().saturating_sub(1)));
    let position = move || attributions.with(|a| a.get(chosen()).map(|m| m.position));
    let weights: Memo<Option<Vec<f32>>> = Memo::new(move |_| attributions.with(|a| a.get(chosen()).map(|m| m.weights.clone())));
    let top = move || weights.with(|w| w.as_deref().map_or(1.0, max_value));
    let map = NodeRef::<html::Canvas>::new();
    Effect::new(move |_| {
        let Some(c) = map.get() else { return };
        let n = t();
        rolled.with(|r| {
            if let Some(r) = r {
                paint(&c, r, n, max_value(r));
            }
        });
    });

    let bars = move || {
        shape.with(|s| {
            let Some(s) = s.as_ref() else { return placeholder().into_any() };
            if s.masks.is_empty() {
                return view! { <div class="att-empty">"No [MASK] in the input."</div> }.into_any();
            }
            view! {
                <ol class="ro-bars">
                    {s.tokens.iter().enumerate().map(|(i, tok)| {
                        let w = move || weights.with(|w| w.as_ref().and_then(|w| w.get(i).copied()).unwrap_or(0.0));
                        view! {
                            <li
                                class="ro-row"
                                class:mask=s.masks.contains(&i)
                                class:selected=move || position() == Some(i)
                                data-testid="rollout-bar"
                                data-token=i
                                data-value=move || format!("{:.4}", w())
                            >
                                <span class="ro-tok" title=format!("{tok} (position {i})")>{truncate_token(tok, TOKEN_CHARS)}</span>
                                <span class="ro-track">
                                    <span class="ro-bar" style=move || format!("width:{:.2}%", 100.0 * w() / top())></span>
                                </span>
                                <span class="ro-val">{move || format!("{:.3}", w())}</span>
                            </li>
                        }
                    }).collect_view()}
                </ol>
            }
            .into_any()
        })
    };

    view! {
        <section
            class="att-view rollout"
            data-testid="rollout"
            aria-labelledby="ro-title"
            data-layers=dims_attr(shape, |s| s.layers.len())
            data-tokens=dims_attr(shape, Shape::t)
            data-masks=dims_attr(shape, |s| s.masks.len())
            data-mask=move || position().map(|p| p.to_string())
        >
            <h3 id="ro-title">"Attention rollout"</h3>
            <p class="att-hint">
                "Attribution of each input token for a [MASK] (Abnar & Zuidema, 2020): each layer's "
                "mean-of-heads attention plus the residual, 0.5·A + 0.5·I, multiplied through "
                {move || match shape.with(|s| s.as_ref().map(|s| s.layers.len())) {
                    Some(n) => format!("all {n} layer applications."),
                    None => "every layer application.".to_string(),
                }}
            </p>
            <div class="att-controls">
                <label>
                    "[MASK] "
                    <select
                        data-testid="rollout-mask"
                        prop:disabled=move || shape.with(|s| s.as_ref().is_none_or(|s| s.masks.len() < 2))
                        on:change=move |ev| {
                            if let Ok(i) = event_target_value(&ev).parse() {
                                mask_idx.set(i);
                            }
                        }
                    >
                        {move || shape.with(|s| s.as_ref().map(|s| s.masks.iter().enumerate().map(|(j, &p)| view! {
                            <option value=j prop:selected=move || position() == Some(p)>
                                {format!("#{} at position {p}", j + 1)}
                            </option>
                        }).collect_view()).unwrap_or_default())}
                    </select>
                </label>
            </div>
            <div class="ro-body">
                <div class="att-scroll ro-scroll">{bars}</div>
                <figure class="ro-map">
                    <div class="ro-map-box" class:empty=move || rolled.with(Option::is_none)>
                        <canvas node_ref=map class="ro-canvas" data-testid="rollout-map" role="img"
                            aria-label="Rolled-out attention, all tokens (rows: tokens, columns: inputs)"></canvas>
                        <div
                            class="ro-map-row"
                            aria-hidden="true"
                            style=move || match (position(), t()) {
                                (Some(p), n) if n > 0 => format!("top:{:.3}%;height:{:.3}%", 100.0 * p as f32 / n as f32, 100.0 / n as f32),
                                _ => "display:none".to_string(),
                            }
                        ></div>
                    </div>
                    <figcaption>"Rolled-out map (rows: tokens, columns: inputs); the band is the chosen [MASK]."</figcaption>
                </figure>
            </div>
        </section>
    }
}
