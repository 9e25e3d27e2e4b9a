//! The CPU forward split over helpers that share no memory (`cpu::team`: the browser's CPU
//! worker and its helper workers, issue 15 item 3). Helpers holding `Shards` of the same files
//! give the same logits, hidden states and attention maps as one thread, bit for bit: each
//! output column goes through the same kernel whichever share computes it. A helper that
//! fails, or a team that cannot take a job, costs speed, never the answer; a helper holding
//! other weights refuses the job and says why.

mod common;
use std::cell::{Cell, RefCell};
use std::rc::Rc;

use albert::cpu::team::{self, columns, Job, Shards, Team};
use albert::{cpu, Activation, Batch, LogitsRequest, ModelFiles, Output, Request};
use common::*;

fn load(name: &str) -> (albert::Config, albert::AlbertWeights) {
    ModelFiles::from_dir(fixture(name)).unwrap().load().unwrap()
}

/// Helpers in this process: each job runs on every share as `start` receives it.
struct Local {
    shards: Vec<Shards>,
    /// Take no job (a shared buffer too small, say).
    refuse: bool,
    /// Every helper's answer is lost (a helper crashed).
    lose: bool,
    jobs: Cell<usize>,
    answer: RefCell<Option<Vec<Vec<f32>>>>,
}

impl Local {
    fn new(name: &str, parts: usize, kernel: cpu::Kernel) -> Self {
        let (cfg, w) = load(name);
        let shards = (1..parts).map(|p| Shards::load_with(&cfg, &w, p, parts, kernel).unwrap()).collect();
        Local { shards, refuse: false, lose: false, jobs: Cell::new(0), answer: RefCell::new(None) }
    }
}

impl Team for Local {
    fn parts(&self) -> usize {
        self.shards.len() + 1
    }
    /// Every product goes to the helpers, however small: the fixtures are.
    fn min_macs(&self) -> usize {
        0
    }
    fn start(&self, job: &Job) -> bool {
        if self.refuse {
            return false;
        }
        self.jobs.set(self.jobs.get() + 1);
        *self.answer.borrow_mut() = self.shards.iter().map(|s| s.forward(job)).collect::<albert::Result<Vec<_>>>().ok();
        true
    }
    fn join(&self, _: &Job) -> Option<Vec<Vec<f32>>> {
        let answer = self.answer.borrow_mut().take();
        answer.filter(|_| !self.lose)
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
            for parts in [2, 3, 4] {
                let local = Rc::new(Local::new(name, parts, kernel));
                let shared = forward_with(&m, &batch, Some(local.clone()));
                // Per layer: q, k, v, dense, ffn, ffn_output; and the mapping in, the head's dense,
                // the pooler and the SOP classifier.
                let sop = usize::from(m.albert.pooler.is_some()) + usize::from(m.sop_classifier.is_some());
                let expected = cfg.num_hidden_layers * cfg.inner_group_num * 6 + 2 + sop;
                assert_eq!(local.jobs.get(), expected, "{name}: every linear went to the helpers");
                let d = worst(&alone, &shared);
                eprintln!("{name} on {kernel:?}, {t} tokens, {parts} parts: max |Δ| {d:.2e} from one thread ({} jobs)", local.jobs.get());
                assert_eq!(d, 0.0, "{name} on {kernel:?}, {t} tokens, {parts} parts");
                assert_eq!(alone.sop_logits.is_some(), shared.sop_logits.is_some());
            }
        }
    }
}

#[test]
fn a_team_that_fails_costs_speed_not_the_answer() {
    let (cfg, w) = load("groups");
    let m = cpu::AlbertForMaskedLM::new(&cfg, &w).unwrap();
    let batch = Batch::single(albert::bench::synthetic_ids(cfg.vocab_size, 23), vec![0; 23]);
    let alone = forward_with(&m, &batch, None);
    for (refuse, lose) in [(true, false), (false, true)] {
        let mut local = Local::new("groups", 3, cpu::Kernel::default());
        (local.refuse, local.lose) = (refuse, lose);
        let out = forward_with(&m, &batch, Some(Rc::new(local)));
        assert_eq!(worst(&alone, &out), 0.0, "refuse {refuse}, lose {lose}");
    }
}

#[test]
fn a_helper_refuses_a_job_it_does_not_hold() {
    let (cfg, w) = load("tiny");
    let s = Shards::load(&cfg, &w, 1, 2).unwrap();
    let (h, i) = (cfg.hidden_size, cfg.intermediate_size);
    let x = vec![0.5f32; 3 * h];
    let ok = Job { id: 1, x: &x, rows: 3, inp: h, out: h, act: Activation::Linear };
    assert_eq!(s.forward(&ok).unwrap().len(), 3 * columns(h, 2, 1).len());
    let err = |job: Job| s.forward(&job).unwrap_err().to_string();
    let e = err(Job { out: i, ..ok });
    assert!(e.contains(&format!("[{h}] → [{h}] here")) && e.contains(&format!("the job says [{h}] → [{i}]")), "{e}");
    let e = err(Job { id: s.len(), ..ok });
    assert!(e.contains(&format!("no linear {}", s.len())), "{e}");
    let e = err(Job { rows: 4, ..ok });
    assert!(e.contains(&format!("needs {} inputs, not {}", 4 * h, 3 * h)), "{e}");
    let e = Shards::load(&cfg, &w, 0, 2).err().unwrap().to_string();
    assert!(e.contains("share is 1 to 1, not 0"), "{e}");
}
