//! The fill-mask workbench: sentence box, [MASK] button, examples, tokens and predictions.

use leptos::html;
use leptos::prelude::*;

use super::export::{caption, forward, shown_picks, ExportButtons};
use super::inside::DepthControl;
use super::Card;
use crate::session;
use crate::state::{use_app, AppState, MaskView};
use crate::view_model::export::predictions::predictions;
use crate::view_model::format;
use crate::view_model::params::with_param;
use crate::view_model::text::{count_masks, insert_mask, is_pair, mask_name, mask_title, replace_mask};
use crate::view_model::EXAMPLES;
use crate::web;

/// Sets the sentence (box, URL) and runs it now.
fn set_sentence_now(state: AppState, text: String) {
    state.sentence.set(text.clone());
    web::replace_query(&with_param(&web::location_search(), "text", Some(&text)));
    session::request_now(state);
}

/// The fill-mask card: the sentence, the [MASK] button and top-k, examples, tokens, predictions.
#[component]
pub fn FillPanel() -> impl IntoView {
    let state = use_app();
    let area: NodeRef<html::Textarea> = NodeRef::new();

    let insert = move || {
        let Some(el) = area.get() else { return };
        let value = el.value();
        let len = value.encode_utf16().count() as u32;
        let start = el.selection_start().ok().flatten().unwrap_or(len) as usize;
        let end = el.selection_end().ok().flatten().unwrap_or(len) as usize;
        let (text, cursor) = insert_mask(&value, start, end);
        el.set_value(&text);
        let _ = el.focus();
        let _ = el.set_selection_range(cursor as u32, cursor as u32);
        set_sentence_now(state, text);
    };

    let on_keydown = move |ev: web_sys::KeyboardEvent| {
        let key = ev.key();
        if (ev.ctrl_key() || ev.meta_key()) && !ev.alt_key() && key.eq_ignore_ascii_case("m") {
            ev.prevent_default();
            insert();
        } else if (ev.ctrl_key() || ev.meta_key()) && key == "Enter" {
            ev.prevent_default();
            session::request_now(state);
        }
    };

    let fresh = Memo::new(move |_| {
        let s = state.sentence.get();
        state.result.with(|r| r.as_ref().is_some_and(|r| r.text == s))
    });
    let elapsed = move || {
        if fresh.get() {
            state.result.with(|r| r.as_ref().map(|r| format!("forward {}", format::millis(r.elapsed_ms))))
        } else {
            None
        }
    };

    view! {
        <Card class="fill" title_id="fill-title" title="Fill the mask" testid="fill">
            <label class="field-label" for="sentence">
                "Sentence "
                <span class="hint">"— write " <code>"[MASK]"</code> " where a word should be guessed; "
                    <code>"A [SEP] B"</code> " makes a sentence pair"</span>
            </label>
            // Its own form: on every keystroke Chrome's autofill reads the form of the edited
            // field, and a field in no form shares one with every other control on the page
            // (the views' selects among them), each checked for visibility with a style and
            // layout of the page: 30-70 ms keystrokes while a result's views were being rebuilt
            // (issue 13 item 2). Nothing submits it.
            <form class="sentence-form" autocomplete="off" on:submit=move |ev| ev.prevent_default()>
            <textarea
                id="sentence"
                data-testid="sentence"
                node_ref=area
                rows="3"
                spellcheck="false"
                aria-describedby="sentence-help"
                prop:value=move || state.sentence.get()
                on:input=move |ev| {
                    state.sentence.set(event_target_value(&ev));
                    session::request_debounced(state);
                }
                on:keydown=on_keydown
            ></textarea>
            </form>
            <div class="toolbar">
                <button
                    type="button"
                    class="primary"
                    data-testid="insert-mask"
                    title="Insert [MASK] at the cursor (Ctrl+M)"
                    on:click=move |_| insert()
                >
                    "Insert " <code>"[MASK]"</code>
                </button>
                <label class="inline">
                    "Top-k "
                    <select
                        data-testid="top-k"
                        aria-label="Predictions per [MASK]"
                        on:change=move |ev| {
                            if let Ok(k) = event_target_value(&ev).parse::<usize>() {
                                let default = (k != crate::view_model::params::DEFAULT_TOP_K).then(|| k.to_string());
                                web::replace_query(&with_param(&web::location_search(), "k", default.as_deref()));
                                state.top_k.set(k);
                                session::request_now(state);
                            }
                        }
                    >
                        {[3usize, 5, 10, 20]
                            .into_iter()
                            .map(|k| view! { <option value=k.to_string() selected=move || state.top_k.get() == k>{k}</option> })
                            .collect_view()}
                    </select>
                </label>
                <DepthControl />
                <span class="pair-badge" data-testid="pair" hidden=move || !is_pair(&state.sentence.get())>
                    "sentence pair: token types 0 | 1"
                </span>
                <span class="timing" aria-live="off">{elapsed}</span>
            </div>
            <p id="sentence-help" class="help">
                <kbd>"Ctrl"</kbd>"+"<kbd>"M"</kbd>" inserts [MASK] at the cursor · "
                <kbd>"Ctrl"</kbd>"+"<kbd>"Enter"</kbd>" runs now · predictions update as you type"
            </p>
            <div class="examples" role="group" aria-label="Example sentences">
                <span class="examples-label">"Examples:"</span>
                {EXAMPLES
                    .iter()
                    .map(|(name, text)| {
                        let text = text.to_string();
                        view! {
                            <button
                                type="button"
                                class="chip"
                                data-testid="example"
                                title=text.clone()
                                on:click=move |_| set_sentence_now(state, text.clone())
                            >
                                {*name}
                            </button>
                        }
                    })
                    .collect_view()}
            </div>
            <Tokens fresh=fresh />
            <Predictions fresh=fresh />
            <ExportButtons
                what="predictions"
                ready=fresh
                figure=Callback::new(move |_| {
                    let cap = caption(state)?;
                    predictions(&cap, &shown_picks(state)?)
                })
                json=Callback::new(move |_| forward(state).map(|f| f.predictions_json()))
                csv=Callback::new(move |_| forward(state).map(|f| f.predictions_csv()))
            />
        </Card>
    }
}

/// The tokens the model read, with their type (sentence A or B) and [MASK]s marked.
#[component]
fn Tokens(
    /// The result belongs to the text in the box (else a placeholder is shown).
    fresh: Memo<bool>,
) -> impl IntoView {
    let state = use_app();
    view! {
        <div class="tokens" data-testid="tokens" aria-label="Tokens the model reads" role="list">
            {move || {
                if !fresh.get() {
                    return view! { <span class="tokens-placeholder">"tokens appear here"</span> }.into_any();
                }
                state
                    .result
                    .with(|r| {
                        r.as_ref()
                            .map(|r| {
                                r.tokens
                                    .iter()
                                    .enumerate()
                                    .map(|(i, t)| {
                                        let shown = if t.text.trim().is_empty() { "␣".to_string() } else { t.text.trim().to_string() };
                                        let title = format!("#{i} · token type {}{}", t.type_id, if t.text.starts_with(' ') { " · starts a word" } else { "" });
                                        view! {
                                            <span
                                                class="token"
                                                class:special=t.special
                                                class:mask=t.mask
                                                class:type-b=t.type_id == 1
                                                class:word-start=t.text.starts_with(' ')
                                                role="listitem"
                                                data-testid="token"
                                                data-type=t.type_id.to_string()
                                                title=title
                                            >
                                                {shown}
                                            </span>
                                        }
                                    })
                                    .collect_view()
                            })
                    })
                    .into_any()
            }}
        </div>
    }
}

/// One group of predictions per [MASK], skeletons while a forward runs, or the input's problem.
#[component]
fn Predictions(
    /// The result belongs to the text in the box (else skeletons are shown).
    fresh: Memo<bool>,
) -> impl IntoView {
    let state = use_app();
    let error = move || {
        let s = state.sentence.get();
        state.fill_error.with(|e| e.as_ref().filter(|(t, _)| *t == s).map(|(_, m)| m.clone()))
    };
    view! {
        <div class="masks" aria-live="polite" aria-busy=move || (!fresh.get()).to_string()>
            {move || {
                if let Some(e) = error() {
                    return view! { <p class="fill-error" data-testid="fill-error" role="alert">{e}</p> }.into_any();
                }
                let k = state.top_k.get();
                if fresh.get() {
                    state
                        .result
                        .with(|r| {
                            r.as_ref()
                                .map(|r| {
                                    let n = r.masks.len();
                                    r.masks
                                        .iter()
                                        .enumerate()
                                        .map(|(nth, m)| view! { <MaskGroup nth=nth count=n mask=m.clone() k=k /> })
                                        .collect_view()
                                })
                        })
                        .into_any()
                } else {
                    let n = state.sentence.with(|s| count_masks(s));
                    let loading = state.model.with(|m| m.is_none());
                    (0..n)
                        .map(|nth| view! { <SkeletonGroup nth=nth count=n k=k loading=loading /> })
                        .collect_view()
                        .into_any()
                }
            }}
        </div>
    }
}

/// One [MASK]'s top-k: a button per prediction that puts it in the sentence.
#[component]
fn MaskGroup(
    /// Which [MASK] in the sentence (0-based).
    nth: usize,
    /// How many [MASK]s the sentence has.
    count: usize,
    mask: MaskView,
    /// Rows to reserve (the top-k asked for), so the layout does not jump.
    k: usize,
) -> impl IntoView {
    let state = use_app();
    let title = mask_title(nth, count);
    let rows = mask.predictions.len();
    view! {
        <div class="mask-group" data-testid="mask" data-position=mask.position.to_string() style=format!("--rows:{}", k.max(rows))>
            <h3>{title} <span class="muted">" · token " {mask.position}</span></h3>
            <ol class="predictions" aria-label=format!("Predictions for {}", mask_name(nth, count))>
                {mask
                    .predictions
                    .into_iter()
                    .enumerate()
                    .map(|(rank, p)| {
                        let display = p.display.clone();
                        let shown = if p.display.trim().is_empty() { "␣".to_string() } else { p.display.trim().to_string() };
                        let piece = !p.display.starts_with(' ') && !p.display.starts_with('[');
                        let width = format!("{:.2}%", (p.prob * 100.0).clamp(0.0, 100.0));
                        let label = format!("Put “{}” in place of the mask ({})", shown, format::percent(p.prob));
                        view! {
                            <li>
                                <button
                                    type="button"
                                    class="prediction"
                                    class:top=rank == 0
                                    data-testid="prediction"
                                    data-token=p.token.clone()
                                    data-id=p.id.to_string()
                                    data-prob=p.prob.to_string()
                                    aria-label=label
                                    title=format!("{} · id {}", p.token, p.id)
                                    on:click=move |_| {
                                        let s = state.sentence.get_untracked();
                                        if let Some(t) = replace_mask(&s, nth, &display) {
                                            set_sentence_now(state, t);
                                        }
                                    }
                                >
                                    <span class="rank">{rank + 1}</span>
                                    <span class="word" class:piece=piece>{shown}</span>
                                    <span class="bar" aria-hidden="true"><span class="fill" style:width=width></span></span>
                                    <span class="prob">{format::percent(p.prob)}</span>
                                </button>
                            </li>
                        }
                    })
                    .collect_view()}
            </ol>
        </div>
    }
}

/// A [MASK]'s group before its predictions arrive, the size the real one will have.
#[component]
fn SkeletonGroup(
    /// Which [MASK] in the sentence (0-based).
    nth: usize,
    /// How many [MASK]s the sentence has.
    count: usize,
    /// Rows to reserve.
    k: usize,
    /// No model yet (else a forward is running).
    loading: bool,
) -> impl IntoView {
    let title = mask_title(nth, count);
    view! {
        <div class="mask-group skeleton" style=format!("--rows:{k}") aria-hidden="true">
            <h3>{title} <span class="muted">{if loading { " · waiting for the model" } else { " · computing…" }}</span></h3>
            <ol class="predictions">
                {(0..k).map(|_| view! { <li><span class="prediction ghost"></span></li> }).collect_view()}
            </ol>
        </div>
    }
}
