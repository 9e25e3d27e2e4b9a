//! The CPU path in a Web Worker (src/bin/albert-worker/main.rs), as the page sees it: [`CpuWorker`]
//! is an `albert::remote::RemoteForward`, so `FillMask` tokenizes and ranks here while the
//! forward runs there. A CPU forward of albert-base at 128 tokens takes about 150 ms; on the
//! page's thread it froze typing for that long. When no worker starts (the script is missing,
//! workers are blocked), [`cpu_model`] runs the CPU path on the page's thread and says so.
//!
//! Where the page is cross-origin isolated (SharedArrayBuffer), the worker gets helpers: more
//! workers from the same script, each holding every linear of the model, that take chunks of
//! each product's output columns alongside the worker (`albert::cpu::team`, the worker's
//! `team.rs`). This page starts them, lays out the buffer they share (`albert::remote::team`)
//! and sends each the model; if any of that fails, the worker runs alone.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::time::Duration;

use albert::remote::team::{word, Layout};
use albert::remote::{wire, RemoteForward, WeightFacts};
use albert::{Batch, FillMask, ModelFiles, Output, Request};
use futures::channel::oneshot;
use futures::future::{select, Either};
use wasm_bindgen::prelude::*;
use web_sys::{ErrorEvent, MessageEvent, Worker};

use crate::web::describe;

/// A worker that has not said it is listening by then is taken as not starting.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// Threads the CPU path takes by default, at most: the device's cores up to this.
const DEFAULT_MAX_THREADS: usize = 4;
/// What the helpers may keep together: each keeps every linear of the model in f32, so
/// albert-xxlarge (0.9 GB of them) gets one helper, and albert-base (31 MB) as many as asked.
const HELPERS_BUDGET_BYTES: usize = 1 << 30;

thread_local! {
    /// `?threads=`, as the page's parameters gave it.
    static ASKED_THREADS: Cell<Option<usize>> = const { Cell::new(None) };
    /// A worker started ahead of the first load ([`prestart`]), for it to take.
    static SPARE: RefCell<Option<Inner>> = const { RefCell::new(None) };
}

/// Starts a worker now, so its script and wasm load while the model's files are read; the next
/// CPU load (the bridge, or the CPU path) takes it. Nothing happens when the browser refuses:
/// that load will try again and say why.
pub fn prestart() {
    SPARE.with(|s| {
        if s.borrow().is_none() {
            *s.borrow_mut() = Inner::spawn().ok();
        }
    });
}

/// Ends the worker started ahead if no load took it (WebGPU answers alone: a model too big for
/// the bridge, or the bridge turned off).
pub fn drop_spare() {
    SPARE.with(|s| s.borrow_mut().take());
}

/// The worker started ahead, else a new one.
fn spare_or_spawn() -> Result<Inner, String> {
    SPARE.with(|s| s.borrow_mut().take()).map_or_else(Inner::spawn, Ok)
}

/// `?threads=`: the CPU path's threads (1: no helpers); `None`: the device's cores, at most 4.
pub fn ask_threads(n: Option<usize>) {
    ASKED_THREADS.with(|a| a.set(n));
}

/// Threads for the CPU path: one where the page cannot share memory with workers (not
/// cross-origin isolated), else `?threads=` or the device's cores up to 4.
fn threads() -> usize {
    let global = js_sys::global();
    if crate::web::get(&global, "crossOriginIsolated").as_bool() != Some(true) {
        return 1;
    }
    let cores = crate::web::get(&crate::web::get(&global, "navigator"), "hardwareConcurrency").as_f64().unwrap_or(1.0) as usize;
    ASKED_THREADS.with(Cell::get).unwrap_or(cores.min(DEFAULT_MAX_THREADS)).clamp(1, crate::view_model::params::MAX_THREADS)
}

/// A reply, or why none will come (the worker stopped).
type Answer = Result<wire::Reply, String>;

/// What the worker's handlers and the page's calls share: who waits for which reply.
#[derive(Default)]
struct Shared {
    pending: RefCell<HashMap<u32, oneshot::Sender<Answer>>>,
    /// Why the worker stopped, once it has.
    stopped: RefCell<Option<String>>,
    /// Called once when it stops: a helper tells the worker it helps (`form_team`).
    on_stop: RefCell<Option<Box<dyn Fn()>>>,
}

impl Shared {
    fn wait(&self, id: u32) -> oneshot::Receiver<Answer> {
        let (tx, rx) = oneshot::channel();
        match self.stopped.borrow().clone() {
            Some(why) => drop(tx.send(Err(why))),
            None => drop(self.pending.borrow_mut().insert(id, tx)),
        }
        rx
    }

    fn deliver(&self, bytes: &[u8]) {
        match wire::decode_reply(bytes) {
            Ok((id, reply)) => {
                if let Some(tx) = self.pending.borrow_mut().remove(&id) {
                    let _ = tx.send(Ok(reply));
                }
            }
            Err(e) => self.stop(e.to_string()),
        }
    }

    /// The worker is gone: every waiting call gets `why`, and so will every later one.
    fn stop(&self, why: String) {
        if self.stopped.borrow().is_none() {
            if let Some(f) = self.on_stop.borrow_mut().take() {
                f();
            }
        }
        self.stopped.borrow_mut().get_or_insert(why.clone());
        for (_, tx) in self.pending.borrow_mut().drain() {
            let _ = tx.send(Err(why.clone()));
        }
    }
}

/// A running worker; dropping it terminates the worker (and frees its copy of the weights).
struct Inner {
    worker: Worker,
    shared: Rc<Shared>,
    /// Where its Ready will arrive: waited for from the start, so a worker started ahead
    /// ([`prestart`]) cannot say it before anyone listens.
    ready: RefCell<Option<oneshot::Receiver<Answer>>>,
    next_id: Cell<u32>,
    _on_message: Closure<dyn Fn(MessageEvent)>,
    _on_error: Closure<dyn Fn(web_sys::Event)>,
}

impl Inner {
    /// A new worker with its handlers.
    fn spawn() -> Result<Self, String> {
        // The worker's build (plain or relaxed SIMD): `cpu_module`.
        let script = crate::cpu_module::script();
        let url = web_sys::Url::new_with_base(script, &crate::web::document_base()).map_err(|e| format!("no URL for {script}: {}", describe(&e)))?;
        let worker = Worker::new(&url.href()).map_err(|e| format!("the browser refused to start it ({})", describe(&e)))?;
        let shared = Rc::new(Shared::default());
        let on_message = Closure::<dyn Fn(MessageEvent)>::new({
            let shared = Rc::clone(&shared);
            move |e: MessageEvent| {
                let data = e.data();
                if let Some(bytes) = crate::web::get(&data, "wasmMemoryBytes").as_f64() {
                    crate::stats::worker_memory(bytes);
                }
                if let (Some(n), Some(shared)) = (crate::web::get(&data, "threads").as_f64(), crate::web::get(&data, "sharedProducts").as_f64()) {
                    crate::stats::worker_threads(n, shared);
                }
                if let Some(kernel) = crate::web::get(&data, "kernel").as_string() {
                    crate::stats::worker_kernel(&kernel);
                }
                shared.deliver(&js_sys::Uint8Array::new(&crate::web::get(&data, "reply")).to_vec())
            }
        });
        let on_error = Closure::<dyn Fn(web_sys::Event)>::new({
            let shared = Rc::clone(&shared);
            move |e: web_sys::Event| {
                // A wasm trap (a panic, memory exhausted) is an ErrorEvent with a message; a script
                // that could not be fetched is a bare Event.
                let why = e.dyn_ref::<ErrorEvent>().map(|e| e.message()).filter(|m| !m.is_empty()).unwrap_or_else(|| format!("its script {script} could not be loaded or run"));
                shared.stop(why);
            }
        });
        worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        let ready = RefCell::new(Some(shared.wait(0)));
        Ok(Inner { worker, shared, ready, next_id: Cell::new(1), _on_message: on_message, _on_error: on_error })
    }

    /// Waits for the worker to say Ready (call id 0) once it listens: a call sent before could be
    /// lost. Called once per worker, right after it is taken; a second call has nothing to wait for.
    async fn started(&self) -> Result<(), String> {
        let Some(ready) = self.ready.borrow_mut().take() else { return Ok(()) };
        let timeout = Box::pin(crate::web::sleep(START_TIMEOUT.as_millis() as i32));
        match select(ready, timeout).await {
            Either::Left((Ok(Ok(wire::Reply::Ready)), _)) => Ok(()),
            Either::Left((Ok(Ok(r)), _)) => Err(format!("it answered {} before saying it was ready", kind(&r))),
            Either::Left((Ok(Err(why)), _)) => Err(why),
            Either::Left((Err(_), _)) => Err("it stopped before saying it was ready".into()),
            Either::Right(_) => Err(format!("it did not start within {} s", START_TIMEOUT.as_secs())),
        }
    }

    /// Posts a message that is not a call (a team's setup).
    fn post(&self, message: &JsValue) -> Result<(), String> {
        self.worker.post_message(message).map_err(|e| describe(&e))
    }

    /// Sends one call (its buffer transferred, not copied) and returns where its reply will arrive.
    fn call(&self, id: u32, bytes: Vec<u8>) -> oneshot::Receiver<Answer> {
        let rx = self.shared.wait(id);
        let buf = js_sys::Uint8Array::from(&bytes[..]);
        drop(bytes);
        let buffer = buf.buffer();
        if let Err(e) = self.worker.post_message_with_transfer(&buffer, &js_sys::Array::of1(&buffer)) {
            self.shared.stop(format!("the page could not send it a message ({})", describe(&e)));
        }
        rx
    }

    fn next_id(&self) -> u32 {
        let id = self.next_id.get();
        // 0 is the worker's Ready.
        self.next_id.set(id.checked_add(1).unwrap_or(1));
        id
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.worker.terminate();
    }
}

/// A model loaded in the CPU worker.
pub struct CpuWorker {
    inner: Inner,
    /// The worker's helpers (none where it runs alone); dropped with it.
    _helpers: Vec<Inner>,
    facts: WeightFacts,
}

/// Starts `n` helpers and waits until each listens.
async fn start_helpers(n: usize) -> Result<Vec<Inner>, String> {
    let helpers = (0..n).map(|_| Inner::spawn()).collect::<Result<Vec<_>, _>>()?;
    for h in &helpers {
        h.started().await?;
    }
    Ok(helpers)
}

/// Gives the worker and its helpers their shared buffer and parts, and each helper the model's
/// `load` call (the worker's own, whose id a helper ignores).
fn form_team(files: &ModelFiles, load: &[u8], worker: &Inner, helpers: &[Inner]) -> Result<(), String> {
    let cfg = albert::Config::from_json(&files.config_json).map_err(|e| e.to_string())?;
    let layout = Layout::for_config(&cfg);
    let ctor = crate::web::get(&js_sys::global(), "SharedArrayBuffer");
    let args = js_sys::Array::of1(&(layout.bytes() as f64).into());
    let buffer = js_sys::Reflect::construct(ctor.unchecked_ref::<js_sys::Function>(), &args).map_err(|e| format!("no shared buffer of {} MB ({})", layout.bytes() >> 20, describe(&e)))?;
    let parts = helpers.len() + 1;
    // A helper that dies (out of memory, a trap) is counted as failed in the buffer, which wakes
    // the worker wherever it waits: it goes on alone at once instead of at its timeouts.
    let words = js_sys::Int32Array::new(&buffer);
    for h in helpers {
        let words = words.clone();
        *h.shared.on_stop.borrow_mut() = Some(Box::new(move || {
            let _ = js_sys::Atomics::add(&words, word::FAILED, 1);
            // READY and DONE change too, after FAILED, so a worker about to sleep on either
            // (having read FAILED as 0 a moment before) finds the value changed and does not
            // sleep through the notify; it reads FAILED before it trusts either count.
            for w in [word::READY, word::DONE] {
                let _ = js_sys::Atomics::add(&words, w, 1);
                let _ = js_sys::Atomics::notify(&words, w);
            }
        }));
    }
    let setup = |part: usize| {
        let setup = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&setup, &"buffer".into(), &buffer);
        let _ = js_sys::Reflect::set(&setup, &"part".into(), &(part as f64).into());
        let _ = js_sys::Reflect::set(&setup, &"parts".into(), &(parts as f64).into());
        let message = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&message, &"team".into(), &setup);
        message
    };
    // Each helper gets its own copy of the model's files and keeps only their linears.
    for (i, h) in helpers.iter().enumerate() {
        h.post(&setup(i + 1))?;
        h.post(&js_sys::Uint8Array::from(load).buffer())?;
    }
    // The worker last: told of a team, it waits for the helpers, so only once they are told.
    worker.post(&setup(0))
}

/// Why [`CpuWorker::load`] gave no model.
pub enum LoadError {
    /// No worker could run (missing script, blocked, crashed at start): the page's thread can.
    NoWorker(String),
    /// The worker ran and the model is at fault (the engine's message).
    Model(String),
}

impl CpuWorker {
    /// Starts a worker and loads `files` into it, with helpers up to `asked` threads in all.
    pub async fn load(files: &ModelFiles, asked: usize) -> Result<Self, LoadError> {
        let inner = spare_or_spawn().map_err(LoadError::NoWorker)?;
        inner.started().await.map_err(LoadError::NoWorker)?;
        // Encoded once: the helpers get copies of the worker's call.
        let id = inner.next_id();
        let load = wire::encode_load(id, files);
        // A config that does not parse gets no helpers: the worker's load says what is wrong.
        let parts = albert::Config::from_json(&files.config_json).map_or(1, |cfg| albert::cpu::team::helpers(asked, &cfg, HELPERS_BUDGET_BYTES) + 1);
        if parts < asked {
            let why = format!("albert-lens: the CPU path runs on {parts} of {asked} threads (each helper keeps every linear of the model; more would keep over {} MB, or the config did not parse)", HELPERS_BUDGET_BYTES >> 20);
            web_sys::console::info_1(&why.into());
        }
        let mut helpers = Vec::new();
        if parts > 1 {
            let formed = match start_helpers(parts - 1).await {
                Ok(h) => form_team(files, &load, &inner, &h).map(|()| h),
                Err(why) => Err(format!("its helpers did not start ({why})")),
            };
            match formed {
                Ok(h) => helpers = h,
                // Dropping them ends them. The worker is told of its team last, so it never
                // waits for helpers it will not get.
                Err(why) => web_sys::console::warn_1(&format!("albert-lens: the CPU path runs on one thread: {why}").into()),
            }
        }
        crate::stats::worker_threads(1.0, 0.0);
        match inner.call(id, load).await {
            Ok(Ok(wire::Reply::Loaded(facts))) => Ok(CpuWorker { inner, _helpers: helpers, facts }),
            Ok(Ok(wire::Reply::Error(e))) => Err(LoadError::Model(e)),
            Ok(Ok(r)) => Err(LoadError::NoWorker(format!("it answered the load with {}", kind(&r)))),
            // Out of memory while loading, most likely: the page's thread would not fare better.
            Ok(Err(why)) => Err(LoadError::Model(format!("the CPU worker stopped while loading the model: {why}"))),
            Err(_) => Err(LoadError::Model("the CPU worker stopped while loading the model".into())),
        }
    }
}

impl RemoteForward for CpuWorker {
    fn name(&self) -> &'static str {
        "cpu"
    }

    fn facts(&self) -> &WeightFacts {
        &self.facts
    }

    fn forward<'a>(&'a mut self, batch: &'a Batch, req: &'a Request) -> Pin<Box<dyn Future<Output = albert::Result<Output>> + 'a>> {
        let id = self.inner.next_id();
        let rx = self.inner.call(id, wire::encode_forward(id, batch, req));
        Box::pin(async move {
            let stopped = |why: String| albert::Error::Io(format!("the CPU worker stopped ({why}); load the model again"));
            match rx.await {
                Ok(Ok(wire::Reply::Output(o))) => Ok(*o),
                // The engine's own message (too long, non-finite scores, …), as the user should read it.
                Ok(Ok(wire::Reply::Error(e))) => Err(albert::Error::Io(e)),
                Ok(Ok(r)) => Err(stopped(format!("it answered a forward with {}", kind(&r)))),
                Ok(Err(why)) => Err(stopped(why)),
                Err(_) => Err(stopped("no answer came".into())),
            }
        })
    }
}

/// The CPU path for `files`: in a worker, else on the page's thread with a note saying why.
pub async fn cpu_model(files: &ModelFiles) -> (albert::Result<FillMask>, Option<String>) {
    match CpuWorker::load(files, threads()).await {
        Ok(w) => (FillMask::remote(files, Box::new(w)), None),
        Err(LoadError::Model(e)) => (Err(albert::Error::Io(e)), None),
        Err(LoadError::NoWorker(why)) => {
            web_sys::console::warn_1(&format!("albert-lens: the CPU worker did not start ({why}); running the CPU path on the page's thread").into());
            let note = format!("The CPU worker did not start ({why}), so forwards run on the page's thread and typing may stutter while one runs.");
            (FillMask::new(files, None).await, Some(note))
        }
    }
}

/// The CPU bridge's model (`view_model::bridge`): a worker on one thread (helpers would each
/// copy every linear, for a model that answers for a few seconds). `None` when no worker
/// starts or the model does not load in it: then the page simply waits for WebGPU, whose own
/// load says what is wrong with the model.
pub async fn bridge_model(files: &ModelFiles) -> Option<FillMask> {
    match CpuWorker::load(files, 1).await {
        Ok(w) => FillMask::remote(files, Box::new(w)).ok(),
        Err(LoadError::NoWorker(why) | LoadError::Model(why)) => {
            web_sys::console::info_1(&format!("albert-lens: no CPU answers while WebGPU gets ready ({why})").into());
            None
        }
    }
}

fn kind(r: &wire::Reply) -> &'static str {
    match r {
        wire::Reply::Ready => "Ready",
        wire::Reply::Loaded(_) => "Loaded",
        wire::Reply::Output(_) => "an output",
        wire::Reply::Error(_) => "an error",
    }
}

