//! Share: "Copy link" puts the page's whole state in a URL — model, sentence, k, depth, heads
//! switched off, the heatmap's layer and head, the side-by-side sentences (all already kept in
//! the address bar as they change) and the view to open at — and copies it. Opening the link
//! restores that state; a model on another origin still asks before downloading.

use leptos::prelude::*;
use wasm_bindgen_futures::JsFuture;

use super::Card;
use crate::view_model::params::{with_param, SHARE_VIEWS};
use crate::web;

/// The link for the page as it is now, opening at `view` (`""`: the top).
fn link(view: &str) -> String {
    let w = web::window();
    let loc = w.location();
    let base = format!("{}{}", loc.origin().unwrap_or_default(), loc.pathname().unwrap_or_default());
    let query = with_param(&web::location_search(), "view", (!view.is_empty()).then_some(view));
    format!("{base}{query}")
}

#[component]
pub fn ShareCard() -> impl IntoView {
    let view = RwSignal::new(String::new());
    let copied = RwSignal::new(None::<(String, bool)>);
    let copy = move |_| {
        let url = link(&view.get_untracked());
        let clip = web::window().navigator().clipboard();
        let url2 = url.clone();
        leptos::task::spawn_local(async move {
            let ok = JsFuture::from(clip.write_text(&url2)).await.is_ok();
            copied.set(Some((url2, ok)));
        });
        copied.set(Some((url, false)));
    };
    let url = move || copied.with(|c| c.as_ref().map(|(u, _)| u.clone()));
    view! {
        <Card class="share-card" title_id="share-title" title="Share">
            <p class="help">"A link to exactly this: the model, the sentence, k, depth, switched-off heads, the heatmap's layer and head and the side-by-side sentences."</p>
            <div class="toolbar">
                <label class="inline">"Open at "
                    <select data-testid="share-view" on:change=move |ev| view.set(event_target_value(&ev))>
                        <option value="">"the top"</option>
                        {SHARE_VIEWS.iter().map(|(id, name)| view! { <option value=*id>{*name}</option> }).collect_view()}
                    </select>
                </label>
                <button type="button" class="primary" data-testid="copy-link" on:click=copy>"Copy link"</button>
            </div>
            <p class="share-url" data-testid="share-url" data-url=url hidden=move || copied.with(Option::is_none) aria-live="polite">
                {move || copied.with(|c| match c {
                    Some((_, true)) => "Copied: ",
                    Some((_, false)) => "Copy this link: ",
                    None => "",
                })}
                <input type="text" readonly aria-label="The link" prop:value=move || url().unwrap_or_default()
                    on:focus=move |ev| { event_target::<web_sys::HtmlInputElement>(&ev).select() } />
            </p>
        </Card>
    }
}

/// After the first prediction, scrolls to the view a shared link names (`?view=`), opening the
/// side-by-side card when that is the one.
pub fn open_shared_view(state: crate::state::AppState) {
    let Some(view) = state.params.with_value(|p| p.view.clone()) else { return };
    if view == "compare" {
        state.compare_open.set(true);
    }
    let done = StoredValue::new(false);
    Effect::new(move |_| {
        if done.get_value() || state.result.with(Option::is_none) {
            return;
        }
        done.set_value(true);
        let sel = format!("[data-testid=\"{view}\"]");
        // After this render, so the section exists with its final size.
        set_timeout(
            move || {
                if let Some(el) = web::window().document().and_then(|d| d.query_selector(&sel).ok().flatten()) {
                    el.scroll_into_view();
                }
            },
            std::time::Duration::from_millis(50),
        );
    });
}
