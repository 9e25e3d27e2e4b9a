//! Leptos components (browser only).

pub mod attention;
pub mod calc;
pub mod compare;
pub mod crosscheck;
pub mod export;
pub mod fill;
pub mod hub;
pub mod inside;
pub mod panels;
pub mod relay;
pub mod share;
pub mod source;

use leptos::prelude::*;

use crate::web;

/// `source`, `tasks` tasks later. The views of one forward are fed in turn, one a task
/// ([`stage`]), so a result does not rebuild every view in one long task and keystrokes get in
/// between (issue 13 item 2). When several values arrive before the tasks have run, only the
/// newest is passed on.
pub fn later<T: Clone + Send + Sync + 'static>(source: Signal<T>, tasks: u32) -> ReadSignal<T> {
    let (read, write) = signal(source.get_untracked());
    let newest = StoredValue::new(0u64);
    Effect::new(move |_| {
        source.track();
        let n = newest.get_value() + 1;
        newest.set_value(n);
        leptos::task::spawn_local(async move {
            for _ in 0..tasks {
                web::yield_now().await;
            }
            // The view may be gone by now (its signals disposed): then nothing is passed on.
            if newest.try_get_value() == Some(n) {
                if let Some(v) = source.try_get_untracked() {
                    write.try_set(v);
                }
            }
        });
    });
    read
}

/// The task, after the predictions', in which each view of a forward is built: one view a task,
/// in the page's order, each under 50 ms at 128 tokens on the CI machine (issue 13 item 2).
pub mod stage {
    pub const HEAD_VIEW: u32 = 1;
    pub const MODEL_VIEW: u32 = 2;
    pub const HEATMAP: u32 = 3;
    pub const ROLLOUT_BARS: u32 = 4;
    /// The rollout's whole map (O(L·T³), about 30 ms at 128 tokens): a task of its own.
    pub const ROLLOUT_MAP: u32 = 5;
    /// The lens and the drift (small): one signal for both.
    pub const LENS: u32 = 6;
    pub const SWITCHES: u32 = 7;
    pub const NEURON: u32 = 8;
}

/// A titled panel: every card on the page is one, so a new panel is one `<Card>`.
#[component]
pub fn Card(
    /// The card's own class (after `card`), e.g. `"model-panel"`.
    class: &'static str,
    /// The heading's id, which labels the section (`aria-labelledby`).
    title_id: &'static str,
    /// The heading.
    title: &'static str,
    /// `data-testid` of the section, if tests look for it.
    #[prop(optional)]
    testid: Option<&'static str>,
    children: Children,
) -> impl IntoView {
    view! {
        <section class=format!("card {class}") data-testid=testid aria-labelledby=title_id>
            <h2 id=title_id>{title}</h2>
            {children()}
        </section>
    }
}

/// Runs `f` after `ms` of quiet: each call bumps `ticket`, and only the newest call's `f` runs
/// (with its ticket, to check it is still the newest when its work ends). For forwards that
/// follow typing (the order and compare cards).
pub fn after_pause(ticket: StoredValue<u64>, ms: u64, f: impl FnOnce(u64) + 'static) {
    let Some(t) = ticket.try_update_value(|t| {
        *t += 1;
        *t
    }) else {
        return;
    };
    set_timeout(
        move || {
            if ticket.get_value() == t {
                f(t);
            }
        },
        std::time::Duration::from_millis(ms),
    );
}

const THEME_KEY: &str = "albert-lens-theme";

/// Applies `light`, `dark` or the system's scheme (`None`) to `<html data-theme>`.
fn apply_theme(theme: Option<&str>) {
    if let Some(root) = web::window().document().and_then(|d| d.document_element()) {
        let _ = match theme {
            Some(t) => root.set_attribute("data-theme", t),
            None => root.remove_attribute("data-theme"),
        };
    }
}

fn system_dark() -> bool {
    web::window().match_media("(prefers-color-scheme: dark)").ok().flatten().is_some_and(|m| m.matches())
}

/// Light/dark toggle; the first press picks the opposite of what is shown, remembered per browser.
#[component]
pub fn ThemeToggle() -> impl IntoView {
    let stored = web::local_storage_get(THEME_KEY).filter(|t| t == "light" || t == "dark");
    apply_theme(stored.as_deref());
    let dark = RwSignal::new(match stored.as_deref() {
        Some("dark") => true,
        Some(_) => false,
        None => system_dark(),
    });
    let toggle = move |_| {
        let next = !dark.get_untracked();
        dark.set(next);
        let t = if next { "dark" } else { "light" };
        apply_theme(Some(t));
        web::local_storage_set(THEME_KEY, Some(t));
    };
    view! {
        <button
            type="button"
            class="theme-toggle"
            data-testid="theme-toggle"
            aria-pressed=move || dark.get().to_string()
            aria-label="Dark mode"
            title="Toggle dark mode"
            on:click=toggle
        >
            <span aria-hidden="true">{move || if dark.get() { "☾" } else { "☀" }}</span>
            <span class="theme-text">{move || if dark.get() { " Dark" } else { " Light" }}</span>
        </button>
    }
}
