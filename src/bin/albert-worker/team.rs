//! The CPU worker's helpers (`albert::cpu::team`) over a SharedArrayBuffer: the page starts
//! this worker and its helpers, gives them one buffer (laid out by `albert::remote::team`) and
//! sends each the model. A helper keeps every linear and then waits on the buffer's job counter
//! for good (`serve`); the worker's forward hands it products through [`Leader`], every thread
//! takes the product's chunks one at a time from the buffer's chunk counter, and the worker
//! waits for the helpers to finish with `Atomics.wait`, which a worker may do. Nothing here
//! can stall the forward: a helper that failed to load, refused a job or did not answer in
//! time retires the team, and the worker computes on alone from then on.

use std::cell::Cell;

use albert::cpu::team::{AttentionJob, Job, Linears, Team};
use albert::remote::team::{kind, word, Layout};
use albert::remote::wire;
use albert::Activation;
use js_sys::{Atomics, Float32Array, Int32Array, SharedArrayBuffer};
use wasm_bindgen::prelude::*;

/// How long the worker waits for its helpers to load the model (they load while it loads its
/// own copy, so usually not at all).
const LOAD_TIMEOUT_MS: f64 = 60_000.0;
/// How long it waits for one product's shares: far more than any product takes (albert-xxlarge's
/// widest at 512 rows is a few seconds on a phone's core).
const JOB_TIMEOUT_MS: f64 = 30_000.0;

thread_local! {
    /// Products handed to the helpers, in this worker (the page's tests read it).
    static SHARED: Cell<f64> = const { Cell::new(0.0) };
}

/// Products handed to the helpers so far.
pub fn shared_products() -> f64 {
    SHARED.with(Cell::get)
}

/// A worker's place in a team, as the page's `{team: {buffer, part, parts}}` message says.
pub struct Setup {
    buffer: SharedArrayBuffer,
    part: usize,
    parts: usize,
}

impl Setup {
    pub fn from_js(v: &JsValue) -> Result<Self, String> {
        let buffer = js_sys::Reflect::get(v, &"buffer".into()).ok().and_then(|b| b.dyn_into::<SharedArrayBuffer>().ok());
        let number = |key: &str| js_sys::Reflect::get(v, &key.into()).ok().and_then(|n| n.as_f64()).filter(|n| n.fract() == 0.0 && *n >= 0.0);
        match (buffer, number("part"), number("parts")) {
            (Some(buffer), Some(part), Some(parts)) if part < parts => Ok(Setup { buffer, part: part as usize, parts: parts as usize }),
            _ => Err("a team message needs {buffer: SharedArrayBuffer, part, parts} with part < parts".into()),
        }
    }

    pub fn part(&self) -> usize {
        self.part
    }

    fn words(&self) -> Int32Array {
        Int32Array::new(&self.buffer)
    }

    fn floats(&self, byte_offset: usize, len: usize) -> Float32Array {
        Float32Array::new_with_byte_offset_and_length(&self.buffer, byte_offset as u32, len as u32)
    }

    fn layout(&self) -> Layout {
        Layout::of_bytes(self.buffer.byte_length() as usize)
    }
}

fn load(words: &Int32Array, i: u32) -> i32 {
    Atomics::load(words, i).unwrap_or(0)
}

fn store(words: &Int32Array, i: u32, v: i32) {
    let _ = Atomics::store(words, i, v);
}

/// Takes the next chunk of the current job: `Some(c)` while `c < chunks`.
fn take(words: &Int32Array, chunks: usize) -> Option<usize> {
    let c = Atomics::add(words, word::NEXT, 1).ok()? as usize;
    (c < chunks).then_some(c)
}

/// Adds 1 to word `i` and wakes whoever waits on it.
fn bump(words: &Int32Array, i: u32) {
    let _ = Atomics::add(words, i, 1);
    let _ = Atomics::notify(words, i);
}

/// How long a thread watches a word change before it sleeps on it. A sleeping thread is woken
/// through the OS (and, in a virtual machine, the hypervisor), which ONNX Runtime's threads avoid
/// by spinning first. Products come back to back within a layer, so the wait for the next one is
/// usually shorter than this, and a helper that sees no job sleeps after it. Measured effect on
/// this noisy VM: the small shape at 32 tokens on two threads went from 0.43–0.49 of
/// transformers.js' time to 0.28–0.38 (three bench/browser runs each); elsewhere none beyond the
/// noise.
const SPIN_MS: f64 = 2.0;

/// Milliseconds on this worker's clock (`performance.now`, finer than `Date.now`).
fn now_ms() -> f64 {
    js_sys::global().dyn_into::<web_sys::WorkerGlobalScope>().ok().and_then(|g| g.performance()).map_or_else(js_sys::Date::now, |p| p.now())
}

/// Waits until word `i` is no longer `seen` (or, with `or_failed`, a helper is counted as
/// failed) or `timeout_ms` has passed (`None`: for good): watching it for `SPIN_MS`, then asleep
/// (`Atomics.wait`). Returns the word's value.
fn wait_change(words: &Int32Array, i: u32, seen: i32, or_failed: bool, timeout_ms: Option<f64>) -> i32 {
    let start = now_ms();
    loop {
        for _ in 0..64 {
            let v = load(words, i);
            if v != seen || (or_failed && load(words, word::FAILED) > 0) {
                return v;
            }
        }
        if now_ms() - start >= SPIN_MS {
            break;
        }
    }
    let _ = match timeout_ms {
        Some(t) => Atomics::wait_with_timeout(words, i, seen, (t - (now_ms() - start)).max(0.0)),
        None => Atomics::wait(words, i, seen),
    };
    load(words, i)
}

/// Whether the team is usable.
#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    /// The helpers may still be loading.
    Waiting,
    Ready,
    /// Never again: one helper failed or went quiet.
    Retired,
}

/// The worker's side: hands products to the helpers, takes chunks with them, and collects
/// theirs.
pub struct Leader {
    setup: Setup,
    words: Int32Array,
    layout: Layout,
    state: Cell<State>,
    /// The started job's chunks.
    chunks: Cell<usize>,
}

impl Leader {
    pub fn new(setup: Setup) -> Self {
        let (words, layout) = (setup.words(), setup.layout());
        Leader { setup, words, layout, state: Cell::new(State::Waiting), chunks: Cell::new(0) }
    }

    fn retire(&self, why: &str) {
        self.state.set(State::Retired);
        web_sys::console::warn_1(&format!("albert-worker: the CPU path goes on with one thread: {why}").into());
    }

    /// Whether the helpers are ready, waiting (blocking) for them to load the first time.
    fn ready(&self) -> bool {
        if self.state.get() == State::Waiting {
            let helpers = self.setup.parts as i32 - 1;
            let start = js_sys::Date::now();
            loop {
                let (ready, failed) = (load(&self.words, word::READY), load(&self.words, word::FAILED));
                if failed > 0 {
                    self.retire(&format!("{failed} of its {helpers} helpers could not load the model or stopped"));
                    break;
                }
                if ready >= helpers {
                    self.state.set(State::Ready);
                    break;
                }
                let left = LOAD_TIMEOUT_MS - (js_sys::Date::now() - start);
                if left <= 0.0 {
                    self.retire(&format!("{ready} of its {helpers} helpers loaded the model within {} s", LOAD_TIMEOUT_MS / 1000.0));
                    break;
                }
                let _ = Atomics::wait_with_timeout(&self.words, word::READY, ready, left);
            }
        }
        self.state.get() == State::Ready
    }
}

impl Team for Leader {
    /// The parts while the team is usable, else 1. The first call waits for the helpers to load
    /// (the worker asks it for the reply to the model's load).
    fn parts(&self) -> usize {
        if self.ready() {
            self.setup.parts
        } else {
            1
        }
    }

    fn start(&self, job: &Job) -> bool {
        if !self.ready() || !self.layout.fits(job) {
            return false;
        }
        let fields = [(word::ID, job.id), (word::ROWS, job.rows), (word::INP, job.inp), (word::OUT, job.out), (word::ACT, job.act.code() as usize), (word::WIDTH, job.width)];
        self.post(kind::PRODUCT, &fields, job.chunks(), &[(self.layout.input(), job.x)]);
        true
    }

    fn start_attention(&self, job: &AttentionJob) -> bool {
        if !self.ready() || !self.layout.fits_attention(job) {
            return false;
        }
        let (rows, h) = (job.rows(), job.hidden());
        let fields = [(word::ID, job.id), (word::ROWS, rows), (word::INP, h), (word::OUT, job.heads), (word::WIDTH, job.d), (word::BATCH, job.batch), (word::SEQ, job.seq), (word::MAPS, usize::from(job.maps))];
        let mask: Vec<f32> = job.mask.iter().map(|&m| m as f32).collect();
        self.post(kind::ATTENTION, &fields, job.heads, &[(self.layout.input(), job.x), (self.layout.mask(job), &mask)]);
        true
    }

    fn claim(&self) -> Option<usize> {
        take(&self.words, self.chunks.get())
    }

    fn join(&self, job: &Job, theirs: &[usize]) -> Option<Vec<Vec<f32>>> {
        self.finished()?;
        Some(theirs.iter().map(|&c| self.setup.floats(self.layout.chunk(job, c), job.rows * job.chunk(c).len()).to_vec()).collect())
    }

    fn join_attention(&self, job: &AttentionJob, theirs: &[usize]) -> Option<Vec<(Vec<f32>, Vec<f32>)>> {
        self.finished()?;
        let (rows, d, maps) = (job.rows(), job.d, if job.maps { job.map_floats() } else { 0 });
        let read = |c: usize| (self.setup.floats(self.layout.head_context(job, c), rows * d).to_vec(), self.setup.floats(self.layout.head_maps(job, c), maps).to_vec());
        Some(theirs.iter().map(|&c| read(c)).collect())
    }
}

impl Leader {
    /// Posts a job of `chunks` chunks: its kind and header `fields`, its `inputs` (byte offset,
    /// values); the store to JOB publishes them to the helpers.
    fn post(&self, what: i32, fields: &[(u32, usize)], chunks: usize, inputs: &[(usize, &[f32])]) {
        let w = &self.words;
        store(w, word::KIND, what);
        for &(i, v) in fields {
            store(w, i, v as i32);
        }
        store(w, word::DONE, 0);
        store(w, word::REFUSED, 0);
        store(w, word::NEXT, 0);
        self.chunks.set(chunks);
        for &(at, values) in inputs {
            self.setup.floats(at, values.len()).copy_from(values);
        }
        bump(w, word::JOB);
    }

    /// Waits until every helper is done with the posted job: `None` (the team retired) when one
    /// failed, refused it or did not answer in time.
    fn finished(&self) -> Option<()> {
        let (w, helpers) = (&self.words, self.setup.parts as i32 - 1);
        let start = js_sys::Date::now();
        loop {
            let done = load(w, word::DONE);
            if load(w, word::FAILED) > 0 {
                self.retire("a helper stopped (see the page's console)");
                return None;
            }
            if done >= helpers {
                break;
            }
            let left = JOB_TIMEOUT_MS - (js_sys::Date::now() - start);
            if left <= 0.0 {
                self.retire(&format!("{} of its {helpers} helpers did not answer within {} s", helpers - done, JOB_TIMEOUT_MS / 1000.0));
                return None;
            }
            wait_change(w, word::DONE, done, true, Some(left));
        }
        if load(w, word::REFUSED) > 0 {
            self.retire("a helper refused a job (it holds other weights; see its message)");
            return None;
        }
        SHARED.with(|n| n.set(n.get() + 1.0));
        Some(())
    }
}

/// A helper's life: loads the model's linears from `call` (a `wire` Load), says so in the
/// buffer, then takes chunks of every product the worker posts until none is left, for good. Returns only
/// when it could not load (after saying so), so its worker can report why.
pub fn serve(setup: &Setup, call: Vec<u8>) -> Result<(), String> {
    let words = setup.words();
    let decoded = wire::decode_call(&call);
    // The model's bytes go before the loop that never ends: only the linears stay.
    drop(call);
    let linears = match decoded {
        Ok((_, wire::Call::Load(files))) => files.load().and_then(|(cfg, w)| Linears::load(&cfg, &w)).map_err(|e| e.to_string()),
        Ok(_) => Err("a helper expects the model's files first".to_string()),
        Err(e) => Err(e.to_string()),
    };
    let linears = match linears {
        Ok(l) => l,
        Err(e) => {
            // The worker waits on READY: change it (after FAILED, as the page does for a helper
            // that stops) and wake it to read FAILED.
            let _ = Atomics::add(&words, word::FAILED, 1);
            bump(&words, word::READY);
            return Err(e);
        }
    };
    let layout = setup.layout();
    let mut seen = load(&words, word::JOB);
    bump(&words, word::READY);
    loop {
        let now = wait_change(&words, word::JOB, seen, false, None);
        if now == seen {
            continue;
        }
        seen = now;
        let field = |i| load(&words, i).max(0) as usize;
        let answer = if load(&words, word::KIND) == kind::ATTENTION {
            attention_chunks(setup, &words, &layout, &linears, field)
        } else {
            product_chunks(setup, &words, &layout, &linears, field)
        };
        if let Err(e) = answer {
            web_sys::console::error_1(&format!("albert-worker helper {}: {e}", setup.part).into());
            let _ = Atomics::add(&words, word::REFUSED, 1);
        }
        bump(&words, word::DONE);
    }
}

/// A helper's chunks of the posted product, until none is left.
fn product_chunks(setup: &Setup, words: &Int32Array, layout: &Layout, linears: &Linears, field: impl Fn(u32) -> usize) -> Result<(), String> {
    let (id, rows, inp, out, width) = (field(word::ID), field(word::ROWS), field(word::INP), field(word::OUT), field(word::WIDTH));
    let act = Activation::from_code(field(word::ACT) as u32).ok_or_else(|| format!("no activation has code {}", field(word::ACT)))?;
    let shape = Job { id, x: &[], rows, inp, out, act, width };
    // The input is copied once this helper has a chunk to compute.
    let mut x: Option<Vec<f32>> = None;
    while let Some(c) = take(words, shape.chunks()) {
        let x = x.get_or_insert_with(|| setup.floats(layout.input(), (rows * inp).min(layout.floats)).to_vec());
        let job = Job { x, ..shape };
        let y = linears.chunk(&job, c).map_err(|e| e.to_string())?;
        setup.floats(layout.chunk(&job, c), y.len()).copy_from(&y);
    }
    Ok(())
}

/// A helper's heads of the posted attention, until none is left.
fn attention_chunks(setup: &Setup, words: &Int32Array, layout: &Layout, linears: &Linears, field: impl Fn(u32) -> usize) -> Result<(), String> {
    let (id, rows, h, heads, d, batch, seq) = (field(word::ID), field(word::ROWS), field(word::INP), field(word::OUT), field(word::WIDTH), field(word::BATCH), field(word::SEQ));
    if rows != batch * seq || h != heads * d {
        return Err(format!("an attention of {batch} × {seq} rows and {heads} heads of {d} cannot have {rows} rows of {h}"));
    }
    let shape = AttentionJob { id, x: &[], mask: &[], batch, seq, heads, d, maps: field(word::MAPS) != 0 };
    if !layout.fits_attention(&shape) {
        return Err(format!("an attention of {rows} rows × {h} with {heads} heads does not fit the shared buffer"));
    }
    let mut inputs: Option<(Vec<f32>, Vec<u32>)> = None;
    while let Some(c) = take(words, heads) {
        let (x, mask) = inputs.get_or_insert_with(|| {
            let mask = setup.floats(layout.mask(&shape), rows).to_vec().into_iter().map(|m| m as u32).collect();
            (setup.floats(layout.input(), rows * h).to_vec(), mask)
        });
        let job = AttentionJob { x, mask, ..shape };
        let (ctx, maps) = linears.attention_head(&job, c).map_err(|e| e.to_string())?;
        setup.floats(layout.head_context(&job, c), ctx.len()).copy_from(&ctx);
        if job.maps {
            setup.floats(layout.head_maps(&job, c), maps.len()).copy_from(&maps);
        }
    }
    Ok(())
}
