//! Why views rebuilt on every forward read a [`Relay`] and not the page's signals directly.
//!
//! reactive_graph 0.2 (Leptos 0.8) never takes a dropped effect out of the subscriber set of
//! what it read: the source keeps a weak entry, which also keeps the effect's allocation, until
//! the source notifies (a signal takes its whole set then) or for ever (a memo only clones it).
//! A list of tokens is rebuilt whenever the sentence changes, and each item's reactive attribute
//! is an effect; when those items read a long-lived signal or memo (the focused token, the
//! selected cell, the shading), every forward left a few hundred dead entries behind: the
//! page's wasm memory grew about 25 KB a forward (issue 13 item 5, found with an allocation
//! tracer that kept a stack for every live allocation: the growth was subscriber sets).
//!
//! A relay is made once, where the component is (never inside a closure that rebuilds), from a
//! source. A rebuilt list asks it for a [`Relay::fresh`] signal and its items read that: it is
//! dropped with the list, together with every entry the items left in it. One long-lived effect
//! copies the source into the newest fresh signal.

use std::sync::Arc;

use leptos::prelude::*;

/// A source, seen through a signal made anew for each build of a list (see the module doc).
pub struct Relay<T: Send + Sync + 'static> {
    source: StoredValue<Arc<dyn Fn() -> T + Send + Sync>>,
    current: StoredValue<Option<ArcRwSignal<T>>>,
}

impl<T: Send + Sync + 'static> Clone for Relay<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T: Send + Sync + 'static> Copy for Relay<T> {}

impl<T: Clone + PartialEq + Send + Sync + 'static> Relay<T> {
    /// A relay of `source` (read tracked by the relay's one effect). Call it in a component's
    /// body, not in a closure that rebuilds.
    pub fn new(source: impl Fn() -> T + Send + Sync + 'static) -> Self {
        let source: Arc<dyn Fn() -> T + Send + Sync> = Arc::new(source);
        let current = StoredValue::new(None::<ArcRwSignal<T>>);
        let read = source.clone();
        Effect::new(move |_| {
            let v = read();
            current.with_value(|c| {
                if let Some(c) = c {
                    if c.with_untracked(|old| old != &v) {
                        c.set(v);
                    }
                }
            });
        });
        Relay { source: StoredValue::new(source), current }
    }

    /// A signal holding the source's value, which follows it until the next `fresh`; for the
    /// items of one build of a list. Reads the source untracked, so the build does not depend on
    /// it.
    pub fn fresh(self) -> ArcRwSignal<T> {
        let v = untrack(|| self.source.with_value(|f| f()));
        let s = ArcRwSignal::new(v);
        self.current.set_value(Some(s.clone()));
        s
    }
}
