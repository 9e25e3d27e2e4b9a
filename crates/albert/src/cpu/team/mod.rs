//! The CPU path on several cores where it cannot have threads that share its memory: the
//! browser. Rust's wasm std is built without atomics (wasm threads need a nightly toolchain
//! that rebuilds std), so the app's CPU worker cannot run rayon. Instead it has helpers: other
//! workers, each its own wasm instance holding its own copy of every linear ([`Linears`]). A
//! forward hands each large product to them through a [`Team`] and the product's output
//! columns are cut into chunks that every thread, this one included, takes one at a time until
//! none is left: tensor parallelism with work sharing, one product at a time, where the
//! products are nine tenths of the forward.
//!
//! Chunks, not fixed shares: with a fixed half each, the worker waited for its helper 6–17 % of
//! a forward in the browser (base shape, n = 128, two threads), by amounts that changed from run
//! to run: a thread that the system slows, or that copies more, makes the other wait. Taking
//! chunks, the faster thread simply takes more of them. The price is memory: every helper holds
//! the whole model's linears, not a share of them.
//!
//! The engine knows no workers: [`Team`] is what the forward needs of them (start a product,
//! take chunks, collect the helpers' chunks); the app's worker implements it over a
//! SharedArrayBuffer and Atomics. A linear is named by the order `Cpu::linear` met it while the
//! model loaded, which the helpers' [`Linears::load`] repeats on the same files, and every job
//! also carries its shape, so a helper holding other weights refuses it instead of computing
//! garbage.

mod attention;

use std::cell::RefCell;
use std::ops::Range;
use std::rc::Rc;

pub use attention::AttentionJob;
pub(crate) use attention::attention;

use super::{Kernel, Weight};
use crate::activation::Activation;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::var_builder::Params;
use crate::weights::{AlbertWeights, Tensor};

/// Products under this many multiply-adds stay on this thread: handing one to the helpers
/// (copies through shared memory, a wake-up each way) costs tens of microseconds, about what a
/// product of 2^20 multiply-adds takes on a core (the SOP pooler at one row is 0.6 M).
pub const MIN_TEAM_MACS: usize = 1 << 20;

/// The matmul kernels' widest tile: a chunk holds whole tiles, so none but the last ends in a
/// partial tile.
pub const TILE_COLUMNS: usize = 16;
// A chunk starts at a panel's first column (`Panels::linear_columns` requires it).
const _: () = assert!(TILE_COLUMNS.is_multiple_of(super::panels::PANEL));

/// A chunk's fewest output columns by default: two tiles.
const CHUNK_COLUMNS: usize = 2 * TILE_COLUMNS;

/// A chunk's fewest multiply-adds: taking one costs a few microseconds (an atomic add, and a
/// helper's copy of its output), so at a few rows chunks are wider than `CHUNK_COLUMNS`.
const CHUNK_MACS: usize = 1 << 18;

/// Output columns a chunk of a product on `rows` rows of `inp` holds by default: at least
/// `CHUNK_COLUMNS` and `CHUNK_MACS`, in whole tiles.
pub fn chunk_width(rows: usize, inp: usize) -> usize {
    CHUNK_MACS.div_ceil((rows * inp).max(1)).next_multiple_of(TILE_COLUMNS).max(CHUNK_COLUMNS)
}

/// One product for the helpers: linear `id` (`[inp] → [out]`) on `rows` rows of `x`, then `act`,
/// its output columns cut into chunks of `width` (whole tiles; the last chunk may hold fewer).
#[derive(Debug, Clone, Copy)]
pub struct Job<'a> {
    pub id: usize,
    pub x: &'a [f32],
    pub rows: usize,
    pub inp: usize,
    pub out: usize,
    pub act: Activation,
    pub width: usize,
}

impl Job<'_> {
    /// How many chunks the product's columns are cut into.
    pub fn chunks(&self) -> usize {
        self.out.div_ceil(self.width.max(1))
    }

    /// The output columns of chunk `c`.
    pub fn chunk(&self, c: usize) -> Range<usize> {
        let w = self.width;
        (c * w).min(self.out)..((c + 1) * w).min(self.out)
    }
}

/// This thread's helpers, as the forward sees them.
pub trait Team {
    /// This thread and its helpers: the threads a product's chunks are shared by.
    fn parts(&self) -> usize;
    /// Products under this many multiply-adds stay on this thread (the hand-off's cost).
    fn min_macs(&self) -> usize {
        MIN_TEAM_MACS
    }
    /// The chunk width of a product on `rows` rows of `inp` (a multiple of `TILE_COLUMNS`).
    fn chunk_width(&self, rows: usize, inp: usize) -> usize {
        chunk_width(rows, inp)
    }
    /// Hands `job` to the helpers, who start taking its chunks. False when they cannot take it
    /// (larger than their shared buffer, or they are gone): this thread then computes it all.
    fn start(&self, job: &Job) -> bool;
    /// The next chunk of the started job nobody has taken, now this thread's; `None` once every
    /// chunk is taken.
    fn claim(&self) -> Option<usize>;
    /// Waits for the helpers to finish the started `job` and returns the chunks they took,
    /// `theirs` (every chunk this thread did not claim), in that order: chunk `c` is `[rows,
    /// job.chunk(c).len()]`. `None` when one of them failed or did not answer in time; this
    /// thread then computes those chunks itself.
    fn join(&self, job: &Job, theirs: &[usize]) -> Option<Vec<Vec<f32>>>;
    /// Hands a self-attention to the helpers, who start taking its heads (`claim` takes them
    /// here). False when they cannot take it (by default: attention stays on this thread).
    fn start_attention(&self, _job: &AttentionJob) -> bool {
        false
    }
    /// Waits for the helpers to finish the started attention and returns the heads they took,
    /// `theirs`, in that order: each head's context `[rows, d]` and maps `[batch, seq, seq]`
    /// (empty unless the job asks for them).
    /// `None` when one of them failed; this thread then computes those heads itself.
    fn join_attention(&self, _job: &AttentionJob, _theirs: &[usize]) -> Option<Vec<(Vec<f32>, Vec<f32>)>> {
        None
    }
}

thread_local! {
    static TEAM: RefCell<Option<Rc<dyn Team>>> = const { RefCell::new(None) };
}

/// Makes `team` this thread's helpers for every CPU forward run on it (`None`: none).
pub fn install(team: Option<Rc<dyn Team>>) {
    TEAM.with(|t| *t.borrow_mut() = team);
}

/// How many threads a CPU forward on this thread uses: its team's parts, else `cpu::threads()`.
pub fn threads() -> usize {
    TEAM.with(|t| t.borrow().as_ref().map(|t| t.parts())).unwrap_or_else(super::threads)
}

/// `y = act(x · Wᵀ + b)`, split over this thread's team when it has one and the product is
/// large enough; the result is the same either way.
pub(super) fn linear(l: &super::Linear, x: &[f32], rows: usize, act: Activation) -> Vec<f32> {
    let team = TEAM.with(|t| t.borrow().clone());
    let (inp, out) = (l.inp, l.out);
    match team {
        Some(team) if team.parts() > 1 && rows > 0 && rows * inp * out >= team.min_macs() => {
            let width = team.chunk_width(rows, inp);
            shared(&*team, &Job { id: l.id, x, rows, inp, out, act, width }, &l.weight, &l.b)
        }
        _ => l.weight.linear_columns(x, rows, inp, &l.b, out, 0..out, act),
    }
}

/// One product over a team: the chunks this thread claims here, the rest from the helpers, any
/// chunk they could not give computed here.
fn shared(team: &dyn Team, job: &Job, w: &Weight, b: &[f32]) -> Vec<f32> {
    let (rows, inp, out) = (job.rows, job.inp, job.out);
    if !team.start(job) {
        return w.linear_columns(job.x, rows, inp, b, out, 0..out, job.act);
    }
    let chunks = job.chunks();
    let mut y = vec![0.0f32; rows * out];
    let mut mine = vec![false; chunks];
    // Straight into y's columns (the panels write in place).
    let compute = |y: &mut [f32], c: usize| {
        let cols = job.chunk(c);
        w.linear_columns_into(job.x, rows, inp, b, out, cols.clone(), job.act, &mut y[cols.start..], out);
    };
    while let Some(c) = team.claim().filter(|&c| c < chunks) {
        mine[c] = true;
        compute(&mut y, c);
    }
    let theirs: Vec<usize> = (0..chunks).filter(|&c| !mine[c]).collect();
    let given = team.join(job, &theirs).filter(|s| s.len() == theirs.len() && s.iter().zip(&theirs).all(|(s, &c)| s.len() == rows * job.chunk(c).len()));
    match given {
        Some(shares) => {
            for (s, &c) in shares.iter().zip(&theirs) {
                place(&mut y, out, job.chunk(c), s);
            }
        }
        None => {
            for &c in &theirs {
                compute(&mut y, c);
            }
        }
    }
    y
}

/// Writes a `[rows, cols.len()]` block into its columns of `y` (`[rows, width]`).
fn place(y: &mut [f32], width: usize, cols: Range<usize>, block: &[f32]) {
    if cols.is_empty() {
        return;
    }
    for (row, s) in y.chunks_exact_mut(width).zip(block.chunks_exact(cols.len())) {
        row[cols.clone()].copy_from_slice(s);
    }
}

/// Bytes a helper keeps of a model (`Linears`: every linear in f32, at most): the mapping in,
/// every group's block, the MLM head's dense, the pooler and the SOP classifier.
pub fn helper_bytes(cfg: &Config) -> usize {
    let c = cfg.parameter_counts();
    let (h, e) = (cfg.hidden_size, cfg.embedding_size);
    let (add, mul) = (usize::saturating_add, usize::saturating_mul);
    let heads = [mul(h, e), e, mul(h, h), h, mul(2, h), 2].into_iter().fold(0, add);
    mul(4, add(add(c.projection, mul(c.per_group, c.groups)), heads))
}

/// Helpers for a CPU path of `threads` threads on `cfg`'s model, when together they may keep
/// `budget` bytes: each keeps every linear (`helper_bytes`), so a large model gets fewer
/// (albert-xxlarge, 0.9 GB of linears, one helper in a GiB; albert-base, 31 MB, any number).
pub fn helpers(threads: usize, cfg: &Config, budget: usize) -> usize {
    threads.saturating_sub(1).min(budget / helper_bytes(cfg).max(1))
}

/// One linear, as a helper holds it.
struct HeldLinear {
    /// `[out, inp]` in the kernel's layout.
    weight: Weight,
    b: Vec<f32>,
    inp: usize,
    out: usize,
}

/// A helper's copy of every linear of a model: what it needs to compute any chunk of any
/// [`Job`] (nothing else of the model: no tables, no norms).
pub struct Linears {
    linears: Vec<HeldLinear>,
}

impl Linears {
    /// Every linear of the model in `w`, numbered as the CPU model numbers them when it loads
    /// the same files, on this target's default kernel.
    pub fn load(config: &Config, w: &AlbertWeights) -> Result<Self> {
        Self::load_with(config, w, Kernel::default())
    }

    /// `load` for a model on `kernel` (a helper must run the model's kernel to give its numbers).
    pub fn load_with(config: &Config, w: &AlbertWeights, kernel: Kernel) -> Result<Self> {
        let collect = Collect { kernel, linears: RefCell::new(Vec::new()) };
        w.load(config, &collect)?;
        Ok(Linears { linears: collect.linears.into_inner() })
    }

    /// How many linears the model has.
    pub fn len(&self) -> usize {
        self.linears.len()
    }

    pub fn is_empty(&self) -> bool {
        self.linears.is_empty()
    }

    /// The floats this helper keeps (weights, with the panels' padding, and biases).
    pub fn floats(&self) -> usize {
        self.linears.iter().map(|l| l.weight.floats() + l.b.len()).sum()
    }

    /// Chunk `c` of `job`: `[rows, job.chunk(c).len()]`. An error when this helper's linear
    /// `job.id` has another shape, or the job's input or chunk does not fit it.
    pub fn chunk(&self, job: &Job, c: usize) -> Result<Vec<f32>> {
        let l = self.linears.get(job.id).ok_or_else(|| Error::Input(format!("no linear {} among this helper's {}", job.id, self.linears.len())))?;
        if (l.inp, l.out) != (job.inp, job.out) {
            return Err(Error::Input(format!("linear {} is [{}] → [{}] here, the job says [{}] → [{}]", job.id, l.inp, l.out, job.inp, job.out)));
        }
        if job.x.len() != job.rows * job.inp {
            return Err(Error::Input(format!("a job of {} rows × {} needs {} inputs, not {}", job.rows, job.inp, job.rows * job.inp, job.x.len())));
        }
        if job.width == 0 || !job.width.is_multiple_of(TILE_COLUMNS) {
            return Err(Error::Input(format!("a chunk holds a multiple of {TILE_COLUMNS} columns, not {}", job.width)));
        }
        if c >= job.chunks() {
            return Err(Error::Input(format!("a job of {} outputs has {} chunks, not {}", job.out, job.chunks(), c + 1)));
        }
        Ok(l.weight.linear_columns(job.x, job.rows, l.inp, &l.b, l.out, job.chunk(c), job.act))
    }
}

/// Loads nothing but every linear, in the order the model meets them (`Cpu::linear`'s).
struct Collect {
    kernel: Kernel,
    linears: RefCell<Vec<HeldLinear>>,
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
        let weight = Weight::new(&w.to_f32(), out, inp, self.kernel);
        self.linears.borrow_mut().push(HeldLinear { weight, b: b.to_f32(), inp, out });
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
    fn chunks_cover_every_column_once_in_whole_tiles() {
        let x = [0.0f32; 0];
        for (rows, inp) in [(1, 1), (1, 64), (8, 768), (32, 768), (128, 768), (128, 3072), (512, 4096)] {
            for out in [0, 1, 2, 15, 16, 17, 100, 768, 3072, 30000] {
                let w = chunk_width(rows, inp);
                let job = Job { id: 0, x: &x, rows, inp, out, act: Activation::Linear, width: w };
                let all: Vec<usize> = (0..job.chunks()).flat_map(|c| job.chunk(c)).collect();
                assert_eq!(all, (0..out).collect::<Vec<_>>(), "rows {rows}, inp {inp}, out {out}");
                assert!(w >= CHUNK_COLUMNS && w.is_multiple_of(TILE_COLUMNS), "width {w}");
                // Wide enough to be worth taking, no wider than it must be.
                assert!(rows * inp * w >= CHUNK_MACS && (w == CHUNK_COLUMNS || rows * inp * (w - 16) < CHUNK_MACS), "rows {rows}, inp {inp}: {w}");
                // Only the last chunk may end in a partial tile.
                for c in (0..job.chunks()).map(|c| job.chunk(c)).filter(|c| c.end < out) {
                    assert_eq!(c.len(), w, "rows {rows}, inp {inp}, out {out}, chunk {c:?}");
                }
            }
        }
    }
}
