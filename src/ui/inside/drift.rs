//! The drift view (the paper's Figure 2): mean L2 distance and cosine similarity between each
//! layer's input and output, as two curves with their own axes, next to what the paper found
//! and what the loaded model shows.

use leptos::prelude::*;

use crate::state::{use_app, InsideView};
use crate::ui::export::{caption, ExportButtons};
use crate::view_model::export;
use crate::view_model::inside::drift::{chart, reading, Frame, PAPER};

/// The chart; each layer is a point with `data-layer`, `data-l2` and `data-cosine`.
#[component]
pub fn DriftView(
    /// The shown forward's insides.
    inside: Signal<Option<InsideView>>,
) -> impl IntoView {
    let f = Frame::DEFAULT;
    let svg = move || {
        inside.with(|i| {
            let Some(i) = i.as_ref().filter(|i| !i.drift.is_empty()) else {
                return view! { <p class="att-empty">"The drift appears after the first prediction."</p> }.into_any();
            };
            let c = chart(&i.drift, f);
            let (x0, x1, y0, y1) = (f.margin_x, f.width - f.margin_x, f.height - f.margin_y, f.margin_y);
            view! {
                <svg class="drift-chart" viewBox=format!("0 0 {} {}", f.width, f.height) role="img"
                    aria-label="Mean L2 distance and cosine similarity between each layer's input and output">
                    <line class="axis" x1=x0 y1=y0 x2=x1 y2=y0 />
                    <line class="axis l2" x1=x0 y1=y0 x2=x0 y2=y1 />
                    <line class="axis cos" x1=x1 y1=y0 x2=x1 y2=y1 />
                    <text class="tick l2" x=x0 - 4.0 y=y1 + 4.0 text-anchor="end">{format!("{}", c.l2_top)}</text>
                    <text class="tick l2" x=x0 - 4.0 y=y0 text-anchor="end">"0"</text>
                    <text class="tick cos" x=x1 + 4.0 y=y1 + 4.0>"1"</text>
                    <text class="tick cos" x=x1 + 4.0 y=y0>{format!("{:.1}", c.cos_bottom)}</text>
                    {c.points.iter().map(|p| view! {
                        <text class="tick" x=p.x y=f.height - 2.0 text-anchor="middle">{p.layer}</text>
                    }).collect_view()}
                    <path class="drift-line l2" d=c.l2_path.clone() />
                    <path class="drift-line cos" d=c.cosine_path.clone() />
                    {c.points.iter().map(|p| {
                        let tip = format!("layer {}: L2 {:.3}, cosine {:.4}", p.layer, p.l2, p.cosine);
                        view! {
                            <g class="drift-point" data-testid="drift-point" data-layer=p.layer data-l2=p.l2.to_string() data-cosine=p.cosine.to_string()>
                                <title>{tip}</title>
                                <circle class="l2" cx=p.x cy=p.y_l2 r="3.5" />
                                <rect class="cos" x=p.x - 3.0 y=p.y_cosine - 3.0 width="6" height="6" />
                            </g>
                        }
                    }).collect_view()}
                </svg>
            }
            .into_any()
        })
    };
    let model_reading = move || inside.with(|i| i.as_ref().map(|i| reading(&i.drift)));
    let state = use_app();
    let figure = Callback::new(move |_| {
        let cap = caption(state)?;
        inside.with_untracked(|i| i.as_ref().and_then(|i| export::inside::drift(&cap, &i.drift)))
    });
    let ready = Signal::derive(move || inside.with(|i| i.as_ref().is_some_and(|i| !i.drift.is_empty())));
    view! {
        <section class="inside-view drift-view" data-testid="drift" aria-labelledby="drift-title"
            data-depth=move || inside.with(|i| i.as_ref().map(|i| i.depth.to_string()))>
            <h3 id="drift-title">"Drift: how far each layer moves the states"</h3>
            <p class="drift-legend">
                <span class="key l2">"● mean L2 distance ‖hₗ − hₗ₋₁‖ (left axis)"</span>
                <span class="key cos">"■ mean cosine similarity (right axis)"</span>
            </p>
            <ExportButtons what="drift chart" ready=ready figure=figure />
            {svg}
            <p class="att-hint">{PAPER}</p>
            <p class="drift-reading" data-testid="drift-reading">{model_reading}</p>
        </section>
    }
}
