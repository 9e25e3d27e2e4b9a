//! Self-attention over a team, head by head: a chunk is one head, whose query, key and value
//! columns (`head · d ..`) go through the same kernels as the whole projections and whose maps
//! and context are one thread's, bit for bit. So one hand-off per layer carries the three
//! projections and the attention, where with products alone the worker handed off q, k and v
//! one by one and then computed every head by itself (a tenth of a two-thread forward at
//! albert-base's shape, n = 128).

use super::{Linears, Team, TEAM, TILE_COLUMNS};
use crate::activation::Activation;
use crate::cpu::{ops, Linear, Weight};
use crate::error::{Error, Result};
use crate::output::Batch;

/// One self-attention for the helpers: the linears `id`, `id + 1`, `id + 2` (query, key, value,
/// each `[heads·d] → [heads·d]`) on `x`, `batch` sequences of `seq` rows, then each head's
/// attention under `mask` (`[batch·seq]`, 1 for a real token), and its maps when `maps` asks for
/// them. Chunk `c` is head `c`.
#[derive(Debug, Clone, Copy)]
pub struct AttentionJob<'a> {
    pub id: usize,
    pub x: &'a [f32],
    pub mask: &'a [u32],
    pub batch: usize,
    pub seq: usize,
    pub heads: usize,
    pub d: usize,
    pub maps: bool,
}

impl AttentionJob<'_> {
    pub fn rows(&self) -> usize {
        self.batch * self.seq
    }

    pub fn hidden(&self) -> usize {
        self.heads * self.d
    }

    /// Floats of one head's maps, `[batch, seq, seq]`.
    pub fn map_floats(&self) -> usize {
        self.batch * self.seq * self.seq
    }
}

/// Head `c` of `job` with the query, key and value weights `qkv`: its context `[rows, d]` and
/// its maps `[batch, seq, seq]` (empty unless the job asks for them).
fn head(qkv: [(&Weight, &[f32]); 3], job: &AttentionJob, c: usize) -> (Vec<f32>, Vec<f32>) {
    let (rows, h, d) = (job.rows(), job.hidden(), job.d);
    let [q, k, v] = qkv.map(|(w, b)| w.linear_columns(job.x, rows, h, b, h, c * d..(c + 1) * d, Activation::Linear));
    let probs = ops::attention_probs(&q, &k, job.mask, job.batch, job.seq, 1, d);
    let ctx = ops::attention_context(&probs, &v, job.batch, job.seq, 1, d);
    (ctx, if job.maps { probs } else { Vec::new() })
}

/// Writes head `c`'s context and maps into the whole layer's (`[rows, heads·d]`, `[batch,
/// heads, seq, seq]`; no maps when the job asks for none).
fn place(job: &AttentionJob, c: usize, ctx: &mut [f32], probs: &mut [f32], head_ctx: &[f32], head_probs: &[f32]) {
    let (h, d, tt) = (job.hidden(), job.d, job.seq * job.seq);
    for (row, s) in ctx.chunks_exact_mut(h).zip(head_ctx.chunks_exact(d)) {
        row[c * d..(c + 1) * d].copy_from_slice(s);
    }
    if job.maps {
        for b in 0..job.batch {
            probs[(b * job.heads + c) * tt..][..tt].copy_from_slice(&head_probs[b * tt..][..tt]);
        }
    }
}

/// The attention's context `[rows, heads·d]` and, when `maps` asks for them, its maps `[batch,
/// heads, seq, seq]`, from the projections `qkv` of `x`: head by head over this thread's team
/// where it has one and the projections are large enough, else the projections (each over the
/// team, where it takes them) and every head here. The result is the same either way.
pub(crate) fn attention(qkv: &[Linear; 3], x: &[f32], batch: &Batch, heads: usize, d: usize, maps: bool) -> (Vec<f32>, Option<Vec<f32>>) {
    let team = TEAM.with(|t| t.borrow().clone());
    let h = heads * d;
    let job = AttentionJob { id: qkv[0].id, x, mask: &batch.attention_mask, batch: batch.batch, seq: batch.seq_len, heads, d, maps };
    let rows = job.rows();
    // Ids in order: a helper finds the three by the first. A head's columns must be whole tiles
    // to go through the kernels as the whole projection's do (matrixmultiply's few-rows loops
    // finish a narrower range differently); ALBERT's heads are 64 wide.
    let numbered = qkv[1].id == qkv[0].id + 1 && qkv[2].id == qkv[0].id + 2;
    if let Some(team) = team.filter(|t| t.parts() > 1 && rows > 0 && numbered && d.is_multiple_of(TILE_COLUMNS) && rows * h * 3 * h >= t.min_macs()) {
        if team.start_attention(&job) {
            return shared(&*team, &job, qkv);
        }
    }
    let [q, k, v] = qkv.each_ref().map(|l| l.forward(x, rows, Activation::Linear));
    let probs = ops::attention_probs(&q, &k, job.mask, job.batch, job.seq, heads, d);
    (ops::attention_context(&probs, &v, job.batch, job.seq, heads, d), maps.then_some(probs))
}

/// A started attention: the heads this thread claims here, the rest from the helpers, any head
/// they could not give computed here.
fn shared(team: &dyn Team, job: &AttentionJob, qkv: &[Linear; 3]) -> (Vec<f32>, Option<Vec<f32>>) {
    let (rows, heads) = (job.rows(), job.heads);
    let ws = [0, 1, 2].map(|i| (&qkv[i].weight, qkv[i].b.as_slice()));
    let map_floats = if job.maps { job.map_floats() } else { 0 };
    let mut ctx = vec![0.0f32; rows * job.hidden()];
    let mut probs = vec![0.0f32; heads * map_floats];
    let mut mine = vec![false; heads];
    while let Some(c) = team.claim().filter(|&c| c < heads) {
        mine[c] = true;
        let (hc, hp) = head(ws, job, c);
        place(job, c, &mut ctx, &mut probs, &hc, &hp);
    }
    let theirs: Vec<usize> = (0..heads).filter(|&c| !mine[c]).collect();
    let given = team
        .join_attention(job, &theirs)
        .filter(|s| s.len() == theirs.len() && s.iter().all(|(hc, hp)| hc.len() == rows * job.d && hp.len() == map_floats));
    match given {
        Some(given) => {
            for ((hc, hp), &c) in given.iter().zip(&theirs) {
                place(job, c, &mut ctx, &mut probs, hc, hp);
            }
        }
        None => {
            for &c in &theirs {
                let (hc, hp) = head(ws, job, c);
                place(job, c, &mut ctx, &mut probs, &hc, &hp);
            }
        }
    }
    (ctx, job.maps.then_some(probs))
}

impl Linears {
    /// Head `c` of `job`: its context `[rows, d]` and maps `[batch, seq, seq]` (empty unless the
    /// job asks for them). An error when
    /// this helper's linears `id ..= id + 2` are not `[heads·d] → [heads·d]`, or the job's input,
    /// mask or head does not fit them.
    pub fn attention_head(&self, job: &AttentionJob, c: usize) -> Result<(Vec<f32>, Vec<f32>)> {
        let h = job.hidden();
        let mut ws = Vec::with_capacity(3);
        for id in job.id..job.id + 3 {
            let l = self.linears.get(id).ok_or_else(|| Error::Input(format!("no linear {id} among this helper's {}", self.linears.len())))?;
            if (l.inp, l.out) != (h, h) {
                return Err(Error::Input(format!("linear {id} is [{}] → [{}] here, the attention job says [{h}] → [{h}]", l.inp, l.out)));
            }
            ws.push((&l.weight, l.b.as_slice()));
        }
        if job.x.len() != job.rows() * h || job.mask.len() != job.rows() {
            return Err(Error::Input(format!("an attention job of {} rows × {h} needs {} inputs and {} mask values, not {} and {}", job.rows(), job.rows() * h, job.rows(), job.x.len(), job.mask.len())));
        }
        if job.d == 0 || !job.d.is_multiple_of(TILE_COLUMNS) {
            return Err(Error::Input(format!("a head of {} columns is not whole tiles of {TILE_COLUMNS}", job.d)));
        }
        if c >= job.heads {
            return Err(Error::Input(format!("an attention job has {} heads, not {}", job.heads, c + 1)));
        }
        Ok(head([ws[0], ws[1], ws[2]], job, c))
    }
}
