//! The CPU path on several cores where it cannot have threads that share its memory: the
//! browser. Rust's wasm std is built without atomics (wasm threads need a nightly toolchain
//! that rebuilds std), so the app's CPU worker cannot run rayon. Instead it has helpers: other
//! workers, each its own wasm instance holding its own share of every linear's output columns
//! ([`Shards`]). A forward hands each large product to them through a [`Team`] and computes
//! share 0 itself meanwhile: tensor parallelism, one product at a time, where the products are
//! nine tenths of the forward.
//!
//! The engine knows no workers: [`Team`] is what the forward needs of them (start a product,
//! collect the shares); the app's worker implements it over a SharedArrayBuffer and Atomics. A
//! linear is named by the order `Cpu::linear` met it while the model loaded, which the helpers'
//! [`Shards::load`] repeats on the same files, and every job also carries its shape, so a helper
//! holding other weights refuses it instead of computing garbage.

use std::cell::RefCell;
use std::ops::Range;
use std::rc::Rc;

use super::{ops, Kernel, Weight};
use crate::activation::Activation;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::var_builder::Params;
use crate::weights::{AlbertWeights, Tensor};

/// Products under this many multiply-adds stay on this thread: handing one to the helpers
/// (copies through shared memory, a wake-up each way) costs tens of microseconds, about what a
/// product of 2^20 multiply-adds takes on a core (the SOP pooler at one row is 0.6 M).
pub const MIN_TEAM_MACS: usize = 1 << 20;

/// The matmul kernels' widest tile: shares are multiples of it, so none ends in a partial tile
/// except the last.
const SHARE_COLUMNS: usize = 16;
// A share starts at a panel's first column (`Panels::linear_columns` requires it).
const _: () = assert!(SHARE_COLUMNS.is_multiple_of(super::panels::PANEL));

/// The output columns share `part` of `parts` computes of a linear with `n` outputs: equal
/// shares, multiples of 16 columns, the last one shorter (or empty when `n` is small).
pub fn columns(n: usize, parts: usize, part: usize) -> Range<usize> {
    let per = n.div_ceil(parts.max(1)).div_ceil(SHARE_COLUMNS) * SHARE_COLUMNS;
    (part * per).min(n)..((part + 1) * per).min(n)
}

/// One product for the helpers: linear `id` (`[inp] → [out]`) on `rows` rows of `x`, then `act`.
#[derive(Debug, Clone, Copy)]
pub struct Job<'a> {
    pub id: usize,
    pub x: &'a [f32],
    pub rows: usize,
    pub inp: usize,
    pub out: usize,
    pub act: Activation,
}

/// This thread's helpers, as the forward sees them.
pub trait Team {
    /// This thread and its helpers: the shares every linear's columns are split into.
    fn parts(&self) -> usize;
    /// Products under this many multiply-adds stay on this thread (the hand-off's cost).
    fn min_macs(&self) -> usize {
        MIN_TEAM_MACS
    }
    /// Hands `job` to the helpers, who compute shares 1.. while this thread computes share 0.
    /// False when they cannot take it (larger than their shared buffer, or they are gone):
    /// this thread then computes every column.
    fn start(&self, job: &Job) -> bool;
    /// The helpers' shares of the started `job`, in order: share `p` is `[rows,
    /// columns(out, parts, p).len()]`. `None` when one of them failed or did not answer in
    /// time; this thread then computes their columns itself.
    fn join(&self, job: &Job) -> Option<Vec<Vec<f32>>>;
}

thread_local! {
    static TEAM: RefCell<Option<Rc<dyn Team>>> = const { RefCell::new(None) };
}

/// Makes `team` this thread's helpers for every CPU forward run on it (`None`: none).
pub fn install(team: Option<Rc<dyn Team>>) {
    TEAM.with(|t| *t.borrow_mut() = team);
}

/// How many threads a CPU forward on this thread uses: its team's parts, else `ops::threads()`.
pub fn threads() -> usize {
    TEAM.with(|t| t.borrow().as_ref().map(|t| t.parts())).unwrap_or_else(ops::threads)
}

/// `y = act(x · Wᵀ + b)`, split over this thread's team when it has one and the product is
/// large enough; the result is the same either way.
pub(super) fn linear(l: &super::Linear, x: &[f32], rows: usize, act: Activation) -> Vec<f32> {
    let team = TEAM.with(|t| t.borrow().clone());
    let (inp, out) = (l.inp, l.out);
    match team {
        Some(team) if team.parts() > 1 && rows * inp * out >= team.min_macs() => {
            shared(&*team, &Job { id: l.id, x, rows, inp, out, act }, &l.weight, &l.b)
        }
        _ => l.weight.linear_columns(x, rows, inp, &l.b, out, 0..out, act),
    }
}

/// One product over a team: share 0 here, the rest from the helpers, any share they could not
/// give computed here.
fn shared(team: &dyn Team, job: &Job, w: &Weight, b: &[f32]) -> Vec<f32> {
    let (rows, inp, out, parts) = (job.rows, job.inp, job.out, team.parts());
    if !team.start(job) {
        return w.linear_columns(job.x, rows, inp, b, out, 0..out, job.act);
    }
    let own = w.linear_columns(job.x, rows, inp, b, out, columns(out, parts, 0), job.act);
    let theirs = team.join(job).filter(|s| s.len() == parts - 1 && s.iter().enumerate().all(|(i, s)| s.len() == rows * columns(out, parts, i + 1).len()));
    let mut y = vec![0.0f32; rows * out];
    place(&mut y, out, columns(out, parts, 0), &own);
    for p in 1..parts {
        let cols = columns(out, parts, p);
        match &theirs {
            Some(s) => place(&mut y, out, cols, &s[p - 1]),
            None => {
                let mine = w.linear_columns(job.x, rows, inp, b, out, cols.clone(), job.act);
                place(&mut y, out, cols, &mine);
            }
        }
    }
    y
}

/// Writes a `[rows, cols.len()]` share into its columns of `y` (`[rows, width]`).
fn place(y: &mut [f32], width: usize, cols: Range<usize>, share: &[f32]) {
    if cols.is_empty() {
        return;
    }
    for (row, s) in y.chunks_exact_mut(width).zip(share.chunks_exact(cols.len())) {
        row[cols.clone()].copy_from_slice(s);
    }
}

/// One linear's share of output columns, as a helper holds it.
struct Shard {
    /// Outputs `cols` of the weight, `[cols.len(), inp]` in the kernel's layout.
    weight: Weight,
    b: Vec<f32>,
    inp: usize,
    out: usize,
    cols: Range<usize>,
}

/// A helper's share of every linear of a model: what it needs to answer [`Job`]s.
pub struct Shards {
    part: usize,
    parts: usize,
    linears: Vec<Shard>,
}

impl Shards {
    /// Share `part` of `parts` of every linear of the model in `w`, numbered as the CPU model
    /// numbers them when it loads the same files, on this target's default kernel.
    pub fn load(config: &Config, w: &AlbertWeights, part: usize, parts: usize) -> Result<Self> {
        Self::load_with(config, w, part, parts, Kernel::default())
    }

    /// `load` for a model on `kernel` (each share must run the model's kernel to give its numbers).
    pub fn load_with(config: &Config, w: &AlbertWeights, part: usize, parts: usize, kernel: Kernel) -> Result<Self> {
        if part == 0 || part >= parts {
            return Err(Error::Input(format!("a helper's share is 1 to {}, not {part}", parts.saturating_sub(1))));
        }
        let collect = Collect { part, parts, kernel, linears: RefCell::new(Vec::new()) };
        w.load(config, &collect)?;
        Ok(Shards { part, parts, linears: collect.linears.into_inner() })
    }

    /// How many linears the model has.
    pub fn len(&self) -> usize {
        self.linears.len()
    }

    pub fn is_empty(&self) -> bool {
        self.linears.is_empty()
    }

    /// This helper's share of `job`: `[rows, columns(out, parts, part).len()]`.
    pub fn forward(&self, job: &Job) -> Result<Vec<f32>> {
        let s = self.linears.get(job.id).ok_or_else(|| Error::Input(format!("no linear {} among this helper's {}", job.id, self.linears.len())))?;
        if (s.inp, s.out) != (job.inp, job.out) || s.cols != columns(job.out, self.parts, self.part) {
            return Err(Error::Input(format!(
                "linear {} is [{}] → [{}] here (share {} of {}), the job says [{}] → [{}]",
                job.id, s.inp, s.out, self.part, self.parts, job.inp, job.out
            )));
        }
        if job.x.len() != job.rows * job.inp {
            return Err(Error::Input(format!("a job of {} rows × {} needs {} inputs, not {}", job.rows, job.inp, job.rows * job.inp, job.x.len())));
        }
        let n = s.cols.len();
        Ok(s.weight.linear_columns(job.x, job.rows, s.inp, &s.b, n, 0..n, job.act))
    }
}

/// Loads nothing but every linear's share, in the order the model meets them (`Cpu::linear`'s).
struct Collect {
    part: usize,
    parts: usize,
    kernel: Kernel,
    linears: RefCell<Vec<Shard>>,
}

impl Params for Collect {
    type Table = ();
    type Linear = ();
    type Norm = ();
    type Qkv = ();
    fn table(&self, _: &Tensor) -> Result<()> {
        Ok(())
    }
    fn linear(&self, w: &Tensor, b: &Tensor) -> Result<()> {
        let (out, inp) = (w.shape[0], w.shape[1]);
        let cols = columns(out, self.parts, self.part);
        // Outputs `cols` are rows `cols` of torch's [out, in] weight.
        let rows = w.to_f32();
        let weight = Weight::new(&rows[cols.start * inp..cols.end * inp], cols.len(), inp, self.kernel);
        let b = b.to_f32()[cols.clone()].to_vec();
        self.linears.borrow_mut().push(Shard { weight, b, inp, out, cols });
        Ok(())
    }
    fn norm(&self, _: &Tensor, _: &Tensor) -> Result<()> {
        Ok(())
    }
    /// Query, key and value in that order, as `Cpu::qkv` numbers them.
    fn qkv(&self, q: [&Tensor; 2], k: [&Tensor; 2], v: [&Tensor; 2]) -> Result<()> {
        self.linear(q[0], q[1])?;
        self.linear(k[0], k[1])?;
        self.linear(v[0], v[1])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_cover_every_column_once() {
        for n in [0, 1, 2, 15, 16, 17, 100, 768, 3072, 30000] {
            for parts in 1..=5 {
                let all: Vec<usize> = (0..parts).flat_map(|p| columns(n, parts, p)).collect();
                assert_eq!(all, (0..n).collect::<Vec<_>>(), "n {n}, parts {parts}");
                // Only a share that ends at n may end in a partial tile.
                for c in (0..parts).map(|p| columns(n, parts, p)).filter(|c| c.end < n) {
                    assert_eq!(c.len() % SHARE_COLUMNS, 0, "n {n}, parts {parts}, share {c:?}");
                }
            }
        }
    }
}
