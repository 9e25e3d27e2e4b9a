//! The CPU forward shared with helpers that share no memory (`cpu::team`: the browser's CPU
//! worker and its helper workers, issue 15 item 3). Helpers holding `Linears` of the same files
//! give the same logits, hidden states and attention maps as one thread, bit for bit, however
//! the chunks of each product fall between the threads: each output column goes through the
//! same kernel whoever computes it. A helper that fails, or a team that cannot take a job,
//! costs speed, never the answer; a helper holding other weights refuses the job and says why.

mod common;
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;

use albert::cpu::team::{self, AttentionJob, Job, Linears, Team};
use albert::{cpu, Activation, Batch, LogitsRequest, ModelFiles, Output, Request};
use common::*;

fn load(name: &str) -> (albert::Config, albert::AlbertWeights) {
    ModelFiles::from_dir(fixture(name)).unwrap().load().unwrap()
}

/// How the simulated helpers take chunks against the leader.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Pace {
    /// Before each of the leader's claims, helper `i` takes `i + 1` chunks.
    Interleaved,
    /// The helpers take every chunk before the leader claims one.
    Fast,
    /// The leader takes every chunk (the helpers never wake in time).
    Asleep,
}

/// What is being shared: a product or an attention, with its inputs.
enum Work {
    Product { id: usize, width: usize, x: Vec<f32>, rows: usize, inp: usize, out: usize, act: Activation },
    Attention { id: usize, x: Vec<f32>, mask: Vec<u32>, batch: usize, seq: usize, heads: usize, d: usize, maps: bool },
}

impl Work {
    fn chunks(&self) -> usize {
        match self {
            Work::Product { id, width, rows, inp, out, act, .. } => Job { id: *id, x: &[], rows: *rows, inp: *inp, out: *out, act: *act, width: *width }.chunks(),
            Work::Attention { heads, .. } => *heads,
        }
    }

    /// Chunk `c` as a helper computes it: a product's `[rows, columns]` (and no maps), or a
    /// head's context and maps.
    fn compute(&self, helper: &Linears, c: usize) -> albert::Result<(Vec<f32>, Vec<f32>)> {
        match self {
            Work::Product { id, width, x, rows, inp, out, act } => {
                helper.chunk(&Job { id: *id, x, rows: *rows, inp: *inp, out: *out, act: *act, width: *width }, c).map(|y| (y, Vec::new()))
            }
            Work::Attention { id, x, mask, batch, seq, heads, d, maps } => {
                helper.attention_head(&AttentionJob { id: *id, x, mask, batch: *batch, seq: *seq, heads: *heads, d: *d, maps: *maps }, c)
            }
        }
    }
}

/// The work being shared, the next free chunk, what the helpers took and made.
struct Running {
    work: Work,
    next: usize,
    taken: Vec<usize>,
    made: BTreeMap<usize, (Vec<f32>, Vec<f32>)>,
    failed: bool,
}

/// Helpers in this process, taking chunks as `pace` says whenever the leader claims one.
struct Local {
    helpers: Vec<Linears>,
    pace: Pace,
    /// Take no job (a shared buffer too small, say).
    refuse: bool,
    /// Every helper's answer is lost (a helper crashed).
    lose: bool,
    jobs: Cell<usize>,
    /// Attentions among the jobs.
    attentions: Cell<usize>,
    /// Chunks the helpers computed, over all jobs.
    helper_chunks: Cell<usize>,
    running: RefCell<Option<Running>>,
}

impl Local {
    fn new(name: &str, parts: usize, kernel: cpu::Kernel, pace: Pace) -> Self {
        let (cfg, w) = load(name);
        let helpers = (1..parts).map(|_| Linears::load_with(&cfg, &w, kernel).unwrap()).collect();
        let zero = || Cell::new(0);
        Local { helpers, pace, refuse: false, lose: false, jobs: zero(), attentions: zero(), helper_chunks: zero(), running: RefCell::new(None) }
    }

    fn begin(&self, work: Work) -> bool {
        if self.refuse {
            return false;
        }
        self.jobs.set(self.jobs.get() + 1);
        *self.running.borrow_mut() = Some(Running { work, next: 0, taken: Vec::new(), made: BTreeMap::new(), failed: false });
        true
    }

    /// Helper `h` takes the next chunk, if any.
    fn helper_takes(&self, h: usize, r: &mut Running) {
        if r.next >= r.work.chunks() {
            return;
        }
        r.taken.push(r.next);
        match r.work.compute(&self.helpers[h], r.next) {
            Ok(y) => {
                r.made.insert(r.next, y);
                self.helper_chunks.set(self.helper_chunks.get() + 1);
            }
            Err(_) => r.failed = true,
        }
        r.next += 1;
    }

    /// The helpers' chunks, `theirs`, once the leader has claimed its own.
    fn end(&self, theirs: &[usize]) -> Option<Vec<(Vec<f32>, Vec<f32>)>> {
        let mut r = self.running.borrow_mut().take()?;
        // The leader names exactly the chunks the helpers took.
        assert_eq!(theirs, r.taken, "the chunks the leader did not claim");
        if self.lose || r.failed {
            return None;
        }
        Some(theirs.iter().map(|c| r.made.remove(c).unwrap()).collect())
    }
}

impl Team for Local {
    fn parts(&self) -> usize {
        self.helpers.len() + 1
    }
    /// Every product goes to the helpers, however small: the fixtures are.
    fn min_macs(&self) -> usize {
        0
    }
    /// One tile a chunk: the fixtures' products (32 to 48 columns) cut into two or three.
    fn chunk_width(&self, _: usize, _: usize) -> usize {
        team::TILE_COLUMNS
    }
    fn start(&self, job: &Job) -> bool {
        let work = Work::Product { id: job.id, width: job.width, x: job.x.to_vec(), rows: job.rows, inp: job.inp, out: job.out, act: job.act };
        self.begin(work)
    }
    fn claim(&self) -> Option<usize> {
        let mut running = self.running.borrow_mut();
        let r = running.as_mut()?;
        let chunks = r.work.chunks();
        match self.pace {
            Pace::Interleaved => {
                for h in 0..self.helpers.len() {
                    for _ in 0..=h {
                        self.helper_takes(h, r);
                    }
                }
            }
            Pace::Fast => {
                while r.next < chunks {
                    self.helper_takes(0, r);
                }
            }
            Pace::Asleep => {}
        }
        let c = r.next;
        r.next += 1;
        (c < chunks).then_some(c)
    }
    fn join(&self, _: &Job, theirs: &[usize]) -> Option<Vec<Vec<f32>>> {
        self.end(theirs).map(|made| made.into_iter().map(|(y, _)| y).collect())
    }
    fn start_attention(&self, job: &AttentionJob) -> bool {
        let work = Work::Attention { id: job.id, x: job.x.to_vec(), mask: job.mask.to_vec(), batch: job.batch, seq: job.seq, heads: job.heads, d: job.d, maps: job.maps };
        let started = self.begin(work);
        self.attentions.set(self.attentions.get() + usize::from(started));
        started
    }
    fn join_attention(&self, _: &AttentionJob, theirs: &[usize]) -> Option<Vec<(Vec<f32>, Vec<f32>)>> {
        self.end(theirs)
    }
}

/// Logits of two rows, every map and hidden state, sentence order.
fn everything(t: usize) -> Request {
    Request { logits: LogitsRequest::Rows(vec![1, t / 2]), attentions: true, hidden_states: true, sop: true, ..Default::default() }
}

/// The model's forward with `team` installed on this thread (and removed after).
fn forward_with(m: &cpu::AlbertForMaskedLM, batch: &Batch, team: Option<Rc<dyn Team>>) -> Output {
    team::install(team);
    let out = m.forward(batch, &everything(batch.seq_len));
    team::install(None);
    out.unwrap()
}

/// Largest |Δ| between two outputs over logits, hidden states and maps.
fn worst(a: &Output, b: &Output) -> f32 {
    let mut w = max_abs_diff(a.logits.as_ref().unwrap(), b.logits.as_ref().unwrap());
    for (x, y) in a.hidden_states.iter().zip(&b.hidden_states) {
        w = w.max(max_abs_diff(x, y));
    }
    for (x, y) in a.attentions.iter().zip(&b.attentions) {
        w = w.max(max_abs_diff(&x.data, &y.data));
    }
    w
}

#[test]
fn a_team_gives_one_threads_answer() {
    // Each kernel: matrixmultiply's (natively, 23 rows go through it and 7 through the few-rows
    // loops) and the panels (the browser's).
    for (name, kernel) in ["groups", "tiny", "relu"].into_iter().flat_map(|n| [(n, cpu::Kernel::Gemm), (n, cpu::Kernel::Panels)]) {
        let (cfg, w) = load(name);
        let m = cpu::AlbertForMaskedLM::with_kernel(&cfg, &w, kernel).unwrap();
        for t in [23, 7] {
            let batch = Batch::single(albert::bench::synthetic_ids(cfg.vocab_size, t), vec![0; t]);
            let alone = forward_with(&m, &batch, None);
            assert_eq!(alone.hidden_states.len(), cfg.num_hidden_layers + 1);
            for (parts, pace) in [(2, Pace::Interleaved), (3, Pace::Interleaved), (4, Pace::Interleaved), (2, Pace::Fast), (3, Pace::Asleep)] {
                let local = Rc::new(Local::new(name, parts, kernel, pace));
                let shared = forward_with(&m, &batch, Some(local.clone()));
                // Per layer: the attention (q, k, v and the heads), dense, ffn, ffn_output; and the
                // mapping in, the head's dense, the pooler and the SOP classifier.
                let sop = usize::from(m.albert.pooler.is_some()) + usize::from(m.sop_classifier.is_some());
                // Heads of 16 (groups) go to the helpers whole; heads of 8 (tiny, relu) do not
                // (their q, k and v go one by one).
                let layers = cfg.num_hidden_layers * cfg.inner_group_num;
                let by_head = cfg.head_dim() % team::TILE_COLUMNS == 0;
                let per_layer = if by_head { 4 } else { 6 };
                assert_eq!(local.jobs.get(), layers * per_layer + 2 + sop, "{name}: every linear went to the helpers");
                assert_eq!(local.attentions.get(), if by_head { layers } else { 0 }, "{name}: attentions that went to the helpers");
                assert_eq!(local.helper_chunks.get() > 0, pace != Pace::Asleep, "{name}, {pace:?}: the helpers computed chunks");
                let d = worst(&alone, &shared);
                eprintln!("{name} on {kernel:?}, {t} tokens, {parts} parts, {pace:?}: max |Δ| {d:.2e} from one thread ({} jobs, {} chunks by helpers)", local.jobs.get(), local.helper_chunks.get());
                assert_eq!(d, 0.0, "{name} on {kernel:?}, {t} tokens, {parts} parts, {pace:?}");
                assert_eq!(alone.sop_logits.is_some(), shared.sop_logits.is_some());
            }
        }
    }
}

#[test]
fn a_padded_batch_on_a_team_gives_one_threads_answer() {
    // Two sentences, the shorter padded: the mask and each sentence's maps go through the heads.
    let (cfg, w) = load("groups");
    for kernel in [cpu::Kernel::Gemm, cpu::Kernel::Panels] {
        let m = cpu::AlbertForMaskedLM::with_kernel(&cfg, &w, kernel).unwrap();
        let ids = |t: usize| albert::bench::synthetic_ids(cfg.vocab_size, t);
        let batch = Batch::padded(&[(ids(19), vec![0; 19]), (ids(11), vec![1; 11])], 0);
        assert!(batch.attention_mask.contains(&0), "padding in the batch");
        let alone = forward_with(&m, &batch, None);
        let local = Rc::new(Local::new("groups", 2, kernel, Pace::Interleaved));
        let shared = forward_with(&m, &batch, Some(local.clone()));
        assert_eq!(local.attentions.get(), cfg.num_hidden_layers * cfg.inner_group_num);
        let d = worst(&alone, &shared);
        eprintln!("groups on {kernel:?}, a padded batch of 2: max |Δ| {d:.2e} from one thread");
        assert_eq!(d, 0.0, "groups on {kernel:?}, a padded batch of 2");
    }
}

#[test]
fn without_maps_a_team_gives_one_threads_answer() {
    // Logits and hidden states only: no maps cross to the helpers, the rest is the same.
    let (cfg, w) = load("groups");
    let m = cpu::AlbertForMaskedLM::with_kernel(&cfg, &w, cpu::Kernel::Panels).unwrap();
    let batch = Batch::single(albert::bench::synthetic_ids(cfg.vocab_size, 23), vec![0; 23]);
    let req = Request { logits: LogitsRequest::Rows(vec![1, 11]), hidden_states: true, ..Default::default() };
    let run = |team: Option<Rc<dyn Team>>| {
        team::install(team);
        let out = m.forward(&batch, &req);
        team::install(None);
        out.unwrap()
    };
    let alone = run(None);
    let local = Rc::new(Local::new("groups", 3, cpu::Kernel::Panels, Pace::Interleaved));
    let shared = run(Some(local.clone()));
    assert!(alone.attentions.is_empty() && shared.attentions.is_empty());
    assert_eq!(local.attentions.get(), cfg.num_hidden_layers * cfg.inner_group_num);
    assert_eq!(worst(&alone, &shared), 0.0);
    assert_eq!(alone.hidden_states.len(), shared.hidden_states.len());
}

#[test]
fn a_team_that_fails_costs_speed_not_the_answer() {
    let (cfg, w) = load("groups");
    let m = cpu::AlbertForMaskedLM::new(&cfg, &w).unwrap();
    let batch = Batch::single(albert::bench::synthetic_ids(cfg.vocab_size, 23), vec![0; 23]);
    let alone = forward_with(&m, &batch, None);
    for (refuse, lose) in [(true, false), (false, true)] {
        let mut local = Local::new("groups", 3, cpu::Kernel::default(), Pace::Interleaved);
        (local.refuse, local.lose) = (refuse, lose);
        let out = forward_with(&m, &batch, Some(Rc::new(local)));
        assert_eq!(worst(&alone, &out), 0.0, "refuse {refuse}, lose {lose}");
    }
    // Helpers holding another model's linears refuse every chunk; the leader computes them.
    let local = Local::new("tiny", 2, cpu::Kernel::default(), Pace::Interleaved);
    let out = forward_with(&m, &batch, Some(Rc::new(local)));
    assert_eq!(worst(&alone, &out), 0.0, "helpers holding another model");
}

#[test]
fn a_helper_refuses_a_job_it_does_not_hold() {
    let (cfg, w) = load("tiny");
    let l = Linears::load(&cfg, &w).unwrap();
    let (h, i) = (cfg.hidden_size, cfg.intermediate_size);
    let x = vec![0.5f32; 3 * h];
    let ok = Job { id: 1, x: &x, rows: 3, inp: h, out: h, act: Activation::Linear, width: team::TILE_COLUMNS };
    assert!(ok.chunks() > 1, "{h} outputs in chunks of {}", ok.width);
    let last = ok.chunks() - 1;
    assert_eq!(l.chunk(&ok, last).unwrap().len(), 3 * ok.chunk(last).len());
    let err = |job: Job, c: usize| l.chunk(&job, c).unwrap_err().to_string();
    let e = err(Job { out: i, ..ok }, 0);
    assert!(e.contains(&format!("[{h}] → [{h}] here")) && e.contains(&format!("the job says [{h}] → [{i}]")), "{e}");
    let e = err(Job { id: l.len(), ..ok }, 0);
    assert!(e.contains(&format!("no linear {}", l.len())), "{e}");
    let e = err(Job { rows: 4, ..ok }, 0);
    assert!(e.contains(&format!("needs {} inputs, not {}", 4 * h, 3 * h)), "{e}");
    let e = err(ok, ok.chunks());
    assert!(e.contains(&format!("has {} chunks", ok.chunks())), "{e}");
    for width in [0, 8, 24] {
        let e = err(Job { width, ..ok }, 0);
        assert!(e.contains(&format!("a multiple of 16 columns, not {width}")), "{e}");
    }

    // An attention: query, key and value are linears 1, 2 and 3 (after the mapping in).
    let (cfg, w) = load("groups");
    let l = Linears::load(&cfg, &w).unwrap();
    let (h, heads, d) = (cfg.hidden_size, cfg.num_attention_heads, cfg.head_dim());
    let (x, mask) = (vec![0.25f32; 5 * h], vec![1u32; 5]);
    let ok = AttentionJob { id: 1, x: &x, mask: &mask, batch: 1, seq: 5, heads, d, maps: true };
    let (ctx, probs) = l.attention_head(&ok, heads - 1).unwrap();
    assert_eq!((ctx.len(), probs.len()), (5 * d, 25));
    let (same, none) = l.attention_head(&AttentionJob { maps: false, ..ok }, heads - 1).unwrap();
    assert_eq!((same, none.len()), (ctx, 0), "without maps: the same context, no maps");
    let err = |job: AttentionJob, c: usize| l.attention_head(&job, c).unwrap_err().to_string();
    let e = err(ok, heads);
    assert!(e.contains(&format!("has {heads} heads, not {}", heads + 1)), "{e}");
    // From linear 3: value, the attention's dense, then the FFN's [h] → [intermediate].
    let e = err(AttentionJob { id: 3, ..ok }, 0);
    assert!(e.contains(&format!("linear 5 is [{h}] → [{}] here, the attention job says [{h}] → [{h}]", cfg.intermediate_size)), "{e}");
    let e = err(AttentionJob { id: l.len(), ..ok }, 0);
    assert!(e.contains(&format!("no linear {}", l.len())), "{e}");
    let e = err(AttentionJob { mask: &mask[..4], ..ok }, 0);
    assert!(e.contains("5 mask values, not") && e.contains("and 4"), "{e}");
    let e = err(AttentionJob { heads: heads * 2, d: d / 2, ..ok }, 0);
    assert!(e.contains(&format!("a head of {} columns is not whole tiles of 16", d / 2)), "{e}");
}

#[test]
fn helpers_keep_what_helper_bytes_says_and_large_models_get_fewer() {
    for name in ["groups", "tiny", "relu"] {
        let (cfg, w) = load(name);
        for kernel in [cpu::Kernel::Gemm, cpu::Kernel::Panels] {
            let kept = Linears::load_with(&cfg, &w, kernel).unwrap().floats() * 4;
            let said = team::helper_bytes(&cfg);
            eprintln!("{name} on {kernel:?}: a helper keeps {kept} bytes, helper_bytes says {said}");
            // An upper bound (LayerNorms are counted, the SOP head may be absent), but a close one.
            assert!(kept <= said && said * 4 <= kept * 5, "{name} on {kernel:?}: {kept} kept, {said} said");
        }
    }
    let config = |h: usize, i: usize, heads: usize| {
        albert::Config::from_json(&format!(r#"{{"vocab_size": 30000, "embedding_size": 128, "hidden_size": {h}, "intermediate_size": {i}, "num_attention_heads": {heads}}}"#)).unwrap()
    };
    let (base, xxlarge) = (config(768, 3072, 12), config(4096, 16384, 64));
    let gib = 1 << 30;
    assert_eq!(team::helpers(4, &base, gib), 3);
    assert_eq!(team::helpers(1, &base, gib), 0);
    assert_eq!(team::helpers(0, &base, gib), 0);
    assert_eq!(team::helpers(4, &xxlarge, gib), 1, "xxlarge keeps {} bytes a helper", team::helper_bytes(&xxlarge));
    assert_eq!(team::helpers(4, &xxlarge, gib / 2), 0);
}
