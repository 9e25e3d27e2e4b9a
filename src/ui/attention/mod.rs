//! The attention views (browser only): head view, model view, heatmap and rollout, each a
//! component in its own file, all drawn from the same [`AttentionData`]. The numbers come from
//! the pure `view_model::attention`; these files only turn them into SVG, canvases and controls.
//!
//! Layout never depends on the values, only on the data's shape ([`AttentionShape`]), and every
//! scrolling area has a fixed height, so a new forward pass repaints without moving anything on
//! the page. A new view is a file here taking an [`Attention`] and a line in [`AttentionPanel`].

pub mod dom;
mod head_view;
mod heatmap;
mod model_view;
mod rollout;

use std::sync::Arc;

use leptos::html;
use leptos::prelude::*;

use crate::ui::relay::Relay;
use crate::ui::stage;
use crate::view_model::attention::{data::AttentionData, layer::HeadSel};
use crate::view_model::attention::labels::AttentionShape;
use crate::view_model::attention::request::needs_forward;
use head_view::HeadView;
use heatmap::Heatmap;
use model_view::ModelView;
use rollout::Rollout;

/// Characters of a token shown before it is cut (the full token is in the tooltip).
const TOKEN_CHARS: usize = 14;

/// What every view reads: the forward's attention and its shape. `Copy`, so views take it as one
/// prop; the shape is a memo, so layouts rebuild only when the shape changes.
#[derive(Clone, Copy)]
pub struct Attention {
    pub data: Signal<Option<Arc<AttentionData>>>,
    pub shape: Memo<Option<AttentionShape>>,
}

impl Attention {
    /// `data` as a view sees it `stage` tasks after the predictions (`ui::stage`).
    fn later(data: Signal<Option<Arc<AttentionData>>>, stage: u32) -> Self {
        Self::new(crate::ui::later(data, stage).into())
    }

    fn new(data: Signal<Option<Arc<AttentionData>>>) -> Self {
        let shape = Memo::new(move |_| data.with(|d| AttentionData::valid(d.as_deref()).map(AttentionShape::of)));
        Attention { data, shape }
    }

    /// `f` of the data when it is present and consistent (tracked).
    pub fn with_valid<R>(self, f: impl FnOnce(&AttentionData) -> R) -> Option<R> {
        self.data.with(|d| AttentionData::valid(d.as_deref()).map(f))
    }

    /// `with_valid`, untracked: for work done later (a deferred paint) that must read the
    /// data current then.
    pub fn with_valid_untracked<R>(self, f: impl FnOnce(&AttentionData) -> R) -> Option<R> {
        self.data.with_untracked(|d| AttentionData::valid(d.as_deref()).map(f))
    }

    /// A number from the shape, 0 before the first forward (tracked).
    pub fn count(self, f: fn(&AttentionShape) -> usize) -> usize {
        self.shape.with(|s| s.as_ref().map_or(0, f))
    }

    /// Tokens per side.
    pub fn t(self) -> usize {
        self.count(AttentionShape::t)
    }

    pub fn heads(self) -> usize {
        self.count(|s| s.heads)
    }

    /// Attention maps (layer applications × inner layers).
    pub fn layers(self) -> usize {
        self.count(|s| s.layers.len())
    }

    pub fn ready(self) -> bool {
        self.shape.with(Option::is_some)
    }

    /// A `data-*` attribute from the shape, absent before the first forward.
    pub fn attr(self, f: fn(&AttentionShape) -> usize) -> impl Fn() -> Option<String> + Copy + Send + Sync + 'static {
        move || self.shape.with(|s| s.as_ref().map(|s| f(s).to_string()))
    }
}

/// The four attention views of one forward pass. While loading the views keep their size and
/// show a placeholder.
#[component]
pub fn AttentionPanel(
    /// The attention of the forward whose predictions are shown; `None` before the first one.
    /// Each view gets it in its own task (`ui::stage`).
    #[prop(into)]
    data: Signal<Option<Arc<AttentionData>>>,
) -> impl IntoView {
    let att = Attention::later(data, stage::HEAD_VIEW);
    let problem: Memo<Option<String>> = Memo::new(move |_| att.data.with(|d| d.as_ref().and_then(|d| d.validate().err())));
    // The heatmap's (layer, head): the model view opens cells into it. A shared link's
    // `?layer=`/`?head=` set it; the layer is matched once the first forward's shape is known.
    let state = crate::state::use_app();
    let params = state.params.get_value();
    let heat_sel = state.heat_sel;
    let pending_layer = StoredValue::new(params.layer);
    // A view now shows a map the shown forward did not read back whole: run the sentence again
    // (its request asks for the maps the views show; issue 13 item 3).
    Effect::new(move |_| {
        let (hv, heat) = (state.head_view_layer.get(), heat_sel.get());
        if att.with_valid(|d| needs_forward(d, hv, heat)).unwrap_or(false) {
            crate::session::request_now(state);
        }
    });
    Effect::new(move |_| {
        att.shape.with(|s| {
            let Some(s) = s else { return };
            if let Some((l, j)) = pending_layer.get_value() {
                pending_layer.set_value(None);
                if let Some(i) = s.layers.iter().position(|x| x.application + 1 == l && x.inner == j) {
                    heat_sel.update(|h| h.0 = i);
                }
                return;
            }
            // Keep the URL in step (only what differs from the default), so a copied link reopens it.
            let (i, h) = heat_sel.get();
            let inner_groups = s.layers.iter().any(|x| x.inner > 0);
            let layer = s.layers.get(i).filter(|_| i > 0).map(|x| crate::view_model::params::format_layer(x.application + 1, x.inner, inner_groups));
            let head = (h != HeadSel::Mean).then(|| h.value());
            let q = crate::view_model::params::with_param(&crate::web::location_search(), "layer", layer.as_deref());
            crate::web::replace_query(&crate::view_model::params::with_param(&q, "head", head.as_deref()));
        })
    });
    let heat_canvas = NodeRef::<html::Canvas>::new();
    let open = move |layer: usize, head: usize| {
        heat_sel.set((layer, HeadSel::Head(head)));
        if let Some(c) = heat_canvas.get_untracked() {
            let _ = c.focus();
        }
    };
    let summary = move || att.shape.with(|s| s.as_ref().map(|s| s.summary.clone()));

    view! {
        <div class="attention" data-testid="attention">
            <p class="att-lede">
                "All four views come from the same forward pass as the predictions. ALBERT shares "
                "its weights across layers: every layer is labelled with the shared block (group) it runs."
            </p>
            <p class="att-summary" data-testid="attention-summary" title=summary>
                {move || summary().unwrap_or_else(|| "Waiting for a forward pass…".to_string())}
            </p>
            {move || problem.get().map(|p| view! {
                <p class="att-problem" role="alert">"Attention data is inconsistent: " {p}</p>
            })}
            <div class="att-views">
                <HeadView att=att />
                <ModelView att=Attention::later(data, stage::MODEL_VIEW) heat_sel=heat_sel open=open />
                <Heatmap att=Attention::later(data, stage::HEATMAP) heat_sel=heat_sel canvas=heat_canvas />
                <Rollout att=Attention::later(data, stage::ROLLOUT_BARS) map_att=Attention::later(data, stage::ROLLOUT_MAP) />
            </div>
        </div>
    }
}

/// Shows or hides the four views. Hidden, forwards of the sentence ask for no attention maps
/// (the GPU runs the fused kernel and reads back none), so a reader who only wants predictions
/// does not pay for maps; the line says what the latest forward read back. Showing them again
/// runs the sentence at once.
#[component]
pub fn AttentionToggle() -> impl IntoView {
    let state = crate::state::use_app();
    let open = state.attention_open;
    // What the latest forward did, not what the button says now (a forward may predate a click).
    let latest = move || state.result.with(|r| r.as_ref().map(|r| (crate::view_model::format::bytes(r.output_bytes as u64), r.attention.is_some())));
    let toggle = move |_| {
        let now = !open.get_untracked();
        open.set(now);
        if now {
            crate::session::request_now(state);
        }
    };
    view! {
        <p class="att-toggle">
            <button type="button" class="chip" data-testid="attention-toggle" aria-pressed=move || open.get().to_string() on:click=toggle>
                {move || if open.get() { "Hide the maps" } else { "Show the maps" }}
            </button>
            <span class="muted" data-testid="readback">
                {move || latest().map(|(b, maps)| format!(
                    "The latest forward read back {b}{}.",
                    if maps { ", attention maps included" } else { ", without attention maps (on WebGPU the attention then runs as one fused kernel)" }
                ))}
            </span>
        </p>
    }
}

/// What a view shows before the first forward.
#[component]
fn Placeholder() -> impl IntoView {
    view! { <div class="att-empty">"Attention appears here after the first prediction."</div> }
}

/// The frame every view shares: a section with the shape's `data-layers` and `data-tokens`
/// hooks, and its title. Views spread their own hooks onto it (`{..} data-heads=…`).
#[component]
fn ViewFrame(
    att: Attention,
    /// `head-view`, …: the section's class (after `att-view`) and its `data-testid`.
    testid: &'static str,
    /// Prefix of the title's id: `hv` → `hv-title`.
    prefix: &'static str,
    title: &'static str,
    /// The hint and the view.
    children: Children,
) -> impl IntoView {
    let title_id = format!("{prefix}-title");
    let labelled_by = title_id.clone();
    view! {
        <section
            class=format!("att-view {testid}")
            data-testid=testid
            aria-labelledby=labelled_by
            data-layers=att.attr(|s| s.layers.len())
            data-tokens=att.attr(AttentionShape::t)
        >
            <h3 id=title_id>{title}</h3>
            {children()}
        </section>
    }
}

/// A layer `<select>`: one option per attention map, labelled with its group.
#[component]
fn LayerSelect(
    att: Attention,
    /// The select's `data-testid`.
    testid: &'static str,
    /// The map shown now (its option is selected).
    #[prop(into)]
    current: Signal<usize>,
    /// Called with the map the reader picks.
    on_pick: impl Fn(usize) + 'static,
) -> impl IntoView {
    // The options follow the layers' labels, which are gone between a new sentence and its
    // forward: they read the current map through a relay (ui/relay.rs).
    let labels = Memo::new(move |_| att.shape.with(|s| s.as_ref().map(|s| s.layers.iter().map(|l| l.label.clone()).collect::<Vec<_>>()).unwrap_or_default()));
    let current = Relay::new(move || current.get());
    let options = move || {
        let current = current.fresh();
        labels.with(|labels| {
            labels
                .iter()
                .enumerate()
                .map(|(i, l)| {
                    let current = current.clone();
                    view! { <option value=i prop:selected=move || current.get() == i>{l.clone()}</option> }
                })
                .collect_view()
        })
    };
    view! {
        <label>
            "Layer "
            <select
                data-testid=testid
                on:change=move |ev| {
                    if let Ok(i) = event_target_value(&ev).parse() {
                        on_pick(i);
                    }
                }
            >
                {options}
            </select>
        </label>
    }
}
