//! Exports in the browser: [`ExportButtons`], the row of download buttons each view carries
//! (`export-svg`, `export-png`, `export-json`, `export-csv`), and what they need from the page —
//! a download (Blob → object URL → `<a download>`), the PNG drawn from the view's SVG at 2× on a
//! canvas, and the caption and forward of the shown result. Every file itself is built by the
//! pure `view_model::export`.

use std::time::Duration;

use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Blob, BlobPropertyBag, HtmlAnchorElement, HtmlCanvasElement, HtmlImageElement, Url};

use crate::state::{AppState, FillView};
use crate::view_model::export::tables::{model_json, Forward, MaskPicks, Pick};
use crate::view_model::export::{Caption, Figure, FileOut, PNG_SCALE};
use crate::view_model::Backend;

/// How long an object URL outlives its click: the browser reads the Blob asynchronously, so
/// revoking at once can cancel the download.
const REVOKE_AFTER: Duration = Duration::from_secs(60);

fn js_err(e: JsValue) -> String {
    e.as_string().or_else(|| js_sys::JSON::stringify(&e).ok().and_then(|s| s.as_string())).unwrap_or_else(|| "unknown error".into())
}

fn blob(body: &str, mime: &str) -> Result<Blob, String> {
    let opts = BlobPropertyBag::new();
    opts.set_type(mime);
    Blob::new_with_str_sequence_and_options(&js_sys::Array::of1(&JsValue::from_str(body)), &opts).map_err(js_err)
}

/// Saves `blob` as `name` through a temporary `<a download>`.
fn save(blob: &Blob, name: &str) -> Result<(), String> {
    let url = Url::create_object_url_with_blob(blob).map_err(js_err)?;
    let doc = document();
    let a: HtmlAnchorElement = doc.create_element("a").map_err(js_err)?.dyn_into().map_err(|_| "no <a> element".to_string())?;
    a.set_href(&url);
    a.set_download(name);
    a.set_rel("noopener");
    let body = doc.body().ok_or("the page has no body")?;
    body.append_child(&a).map_err(js_err)?;
    a.click();
    a.remove();
    set_timeout(move || drop(Url::revoke_object_url(&url)), REVOKE_AFTER);
    Ok(())
}

/// Downloads a text file.
pub fn download(file: &FileOut) -> Result<(), String> {
    save(&blob(&file.body, &format!("{}; charset=utf-8", file.mime))?, &file.name)
}

/// Waits for a promise made by `start(resolve, reject)`.
async fn promise(mut start: impl FnMut(js_sys::Function, js_sys::Function)) -> Result<JsValue, String> {
    JsFuture::from(js_sys::Promise::new(&mut |res, rej| start(res, rej))).await.map_err(js_err)
}

/// Draws the figure's SVG at `PNG_SCALE` × its size on a canvas and downloads it as PNG: the
/// browser's own renderer, so the PNG looks as the SVG does.
pub async fn download_png(fig: &Figure) -> Result<(), String> {
    let url = Url::create_object_url_with_blob(&blob(&fig.svg, "image/svg+xml;charset=utf-8")?).map_err(js_err)?;
    let img = HtmlImageElement::new().map_err(js_err)?;
    let loaded = promise(|res, rej| {
        img.set_onload(Some(&res));
        img.set_onerror(Some(&rej));
        img.set_src(&url);
    })
    .await;
    let _ = Url::revoke_object_url(&url);
    loaded.map_err(|e| format!("the browser could not draw the SVG: {e}"))?;
    let (w, h) = (fig.width * PNG_SCALE, fig.height * PNG_SCALE);
    let canvas: HtmlCanvasElement =
        document().create_element("canvas").map_err(js_err)?.dyn_into().map_err(|_| "no <canvas> element".to_string())?;
    canvas.set_width(w);
    canvas.set_height(h);
    let ctx = canvas
        .get_context("2d")
        .map_err(js_err)?
        .and_then(|c| c.dyn_into::<web_sys::CanvasRenderingContext2d>().ok())
        .ok_or("no 2D canvas")?;
    ctx.draw_image_with_html_image_element_and_dw_and_dh(&img, 0.0, 0.0, w as f64, h as f64).map_err(js_err)?;
    let out = promise(|res, rej| {
        if let Err(e) = canvas.to_blob_with_type(&res, "image/png") {
            let _ = rej.call1(&JsValue::NULL, &e);
        }
    })
    .await?;
    let png: Blob = out.dyn_into().map_err(|_| "the browser could not encode the PNG (canvas too large?)".to_string())?;
    save(&png, &fig.png_name())
}

/// The shown result, only while it belongs to the text in the box (untracked: read on a click).
pub fn shown_result<R>(state: AppState, f: impl FnOnce(&FillView) -> R) -> Option<R> {
    let s = state.sentence.get_untracked();
    state.result.with_untracked(|r| r.as_ref().filter(|r| r.text == s).map(f))
}

/// The shown result's top-k per [MASK], for the figures.
pub fn shown_picks(state: AppState) -> Option<Vec<MaskPicks>> {
    forward(state).map(|f| f.masks)
}

/// The title line's model and sentence, for the view to add its layer and head.
pub fn caption(state: AppState) -> Option<Caption> {
    let model = state.model.with_untracked(|m| m.as_ref().map(|m| m.label.clone()))?;
    let sentence = shown_result(state, |r| r.text.clone())?;
    Some(Caption { model, sentence, layer: String::new(), head: String::new() })
}

/// The shown forward in the CLI's terms (`albert fill --json`).
pub fn forward(state: AppState) -> Option<Forward> {
    let model = state.model.with_untracked(|m| m.as_ref().map(|m| model_json(&m.source, &m.info)))?;
    let device = match state.backend() {
        Some(Backend::WebGpu) => {
            let adapter = state.gpu.with_untracked(|g| g.as_ref().map(|g| g.adapter.clone())).unwrap_or_default();
            if adapter.is_empty() { "webgpu".to_string() } else { format!("webgpu: {adapter}") }
        }
        _ => "cpu".to_string(),
    };
    shown_result(state, |r| Forward {
        model,
        device,
        tokens: r.tokens.iter().map(|t| t.piece.clone()).collect(),
        ids: r.tokens.iter().map(|t| t.id).collect(),
        type_ids: r.tokens.iter().map(|t| t.type_id).collect(),
        masks: r
            .masks
            .iter()
            .map(|m| MaskPicks {
                position: m.position,
                top_k: m.predictions.iter().map(|p| Pick { token: p.token.clone(), display: p.display.clone(), id: p.id, prob: p.prob }).collect(),
            })
            .collect(),
    })
}

/// The attentions JSON of the shown forward (every attention view offers it), every map whole:
/// when the shown forward read back only what the views show, the sentence runs once more with
/// every map (same depth and head switches), so the file holds the same forward's numbers.
pub async fn attentions_file(state: AppState) -> Result<FileOut, String> {
    let nothing = || "nothing to export yet".to_string();
    let fwd = forward(state).ok_or_else(nothing)?;
    let (text, att) = shown_result(state, |r| (r.text.clone(), r.attention.clone())).ok_or_else(nothing)?;
    let att = att.ok_or_else(nothing)?;
    if att.layers.iter().all(|l| l.is_whole()) {
        return Ok(fwd.attentions_json(&att));
    }
    let every = crate::session::every_map(state, &text).await?;
    Ok(fwd.attentions_json(&every))
}

/// A view's download buttons. Each file is built when its button is pressed, from the data the
/// view shows at that moment; a button whose builder is not given is not shown.
#[component]
pub fn ExportButtons(
    /// What is exported, for the buttons' labels: `"heatmap"`, `"predictions"`, …
    what: &'static str,
    /// False until there is something to export (the buttons are disabled).
    #[prop(into)]
    ready: Signal<bool>,
    /// The view as a figure: the SVG button saves it, the PNG button draws it at 2×.
    #[prop(optional)]
    figure: Option<Callback<(), Option<Figure>>>,
    /// A JSON file (attentions or predictions in the CLI's schema).
    #[prop(optional)]
    json: Option<Callback<(), Option<FileOut>>>,
    /// A CSV file (predictions).
    #[prop(optional)]
    csv: Option<Callback<(), Option<FileOut>>>,
    /// The JSON button saves every attention map of the shown forward (`attentions_file`).
    #[prop(optional)]
    attentions_json: bool,
) -> impl IntoView {
    let state = crate::state::use_app();
    let error = RwSignal::new(None::<String>);
    let report = move |r: Result<(), String>| error.set(r.err());
    let nothing = || Err("nothing to export yet".to_string());
    let text_button = move |testid: &'static str, label: &'static str, build: Option<Callback<(), Option<FileOut>>>| {
        build.map(|b| {
            view! {
                <button type="button" class="chip export" data-testid=testid prop:disabled=move || !ready.get()
                    aria-label=format!("Download the {what} as {label}")
                    on:click=move |_| report(b.run(()).map_or_else(nothing, |f| download(&f)))>
                    {label}
                </button>
            }
        })
    };
    let figure_buttons = figure.map(|fig| {
        view! {
            <button type="button" class="chip export" data-testid="export-svg" prop:disabled=move || !ready.get()
                aria-label=format!("Download the {what} as SVG")
                on:click=move |_| report(fig.run(()).map_or_else(nothing, |f| download(&f.svg_file())))>
                "SVG"
            </button>
            <button type="button" class="chip export" data-testid="export-png" prop:disabled=move || !ready.get()
                aria-label=format!("Download the {what} as PNG (2×)")
                on:click=move |_| match fig.run(()) {
                    Some(f) => spawn_local(async move { report(download_png(&f).await) }),
                    None => report(nothing()),
                }>
                "PNG"
            </button>
        }
    });
    view! {
        <div class="export-row" role="group" aria-label=format!("Export the {what}")>
            <span class="export-label" aria-hidden="true">"Export"</span>
            {figure_buttons}
            {text_button("export-json", "JSON", json)}
            {attentions_json.then(|| view! {
                <button type="button" class="chip export" data-testid="export-json" prop:disabled=move || !ready.get()
                    aria-label=format!("Download the {what}'s attention maps (every layer and head) as JSON")
                    on:click=move |_| spawn_local(async move { report(attentions_file(state).await.and_then(|f| download(&f))) })>
                    "JSON"
                </button>
            })}
            {text_button("export-csv", "CSV", csv)}
            {move || error.get().map(|e| view! { <span class="export-error" role="status">{e}</span> })}
        </div>
    }
}
