//! The shared buffer a CPU worker and its helpers (`cpu::team`) pass products through: its
//! layout, written once for the page that sizes it and the workers that read it. A header of
//! 32-bit words (counters the workers wait on with `Atomics.wait`, and the job's shape), then
//! the job's input, then the output's chunks (`Job::chunk`) that the helpers took, each where
//! it lies in the chunk order, `[rows, its columns]` after `[rows, the columns before it]`. An
//! attention (`AttentionJob`) puts its mask (as floats) after its input, and each head's context
//! `[rows, d]` in head order, then each head's maps `[batch, seq, seq]`.

use crate::config::Config;
use crate::cpu::team::{AttentionJob, Job};

/// The header's words, by index into an `Int32Array` over the buffer.
pub mod word {
    /// Bumped by the leader for each job; helpers wait on it.
    pub const JOB: u32 = 0;
    /// Helpers done with the current job; the leader waits on it.
    pub const DONE: u32 = 1;
    /// Helpers that loaded the model.
    pub const READY: u32 = 2;
    /// Helpers that could not load it, or stopped (the page counts those).
    pub const FAILED: u32 = 3;
    /// Helpers that refused the current job (it named a linear they do not hold).
    pub const REFUSED: u32 = 4;
    /// The current job: `Job::id`, `rows`, `inp`, `out`, the activation's code (and `WIDTH`).
    pub const ID: u32 = 5;
    pub const ROWS: u32 = 6;
    pub const INP: u32 = 7;
    pub const OUT: u32 = 8;
    pub const ACT: u32 = 9;
    /// The current job's chunk width (`Job::width`).
    pub const WIDTH: u32 = 10;
    /// The current job's next chunk nobody has taken: each thread takes one with an atomic add.
    pub const NEXT: u32 = 11;
    /// What the current job is: `kind::PRODUCT` or `kind::ATTENTION` (whose `ROWS` are
    /// `BATCH × SEQ`, `INP` the hidden size, `OUT` the heads and `WIDTH` a head's size).
    pub const KIND: u32 = 12;
    pub const BATCH: u32 = 13;
    pub const SEQ: u32 = 14;
    /// Whether the current attention's maps come back (1) or not (0).
    pub const MAPS: u32 = 15;
}

/// `word::KIND`'s values.
pub mod kind {
    pub const PRODUCT: i32 = 0;
    pub const ATTENTION: i32 = 1;
}

/// Header size in bytes: `word`'s words, rounded up to 64 bytes.
pub const HEADER_BYTES: usize = 64;

/// Where the input and the helpers' chunks lie in a buffer of a given size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// Floats of the input region (and as many of the output region).
    pub floats: usize,
}

impl Layout {
    /// Room for a product as wide as the model's widest linear at its longest sequence, one
    /// sentence: longer batches run on one thread.
    pub fn for_config(cfg: &Config) -> Self {
        let width = cfg.hidden_size.max(cfg.intermediate_size).max(cfg.embedding_size);
        Layout { floats: cfg.max_position_embeddings.max(1) * width }
    }

    /// The layout of a buffer of `bytes` bytes (as the workers receive it).
    pub fn of_bytes(bytes: usize) -> Self {
        Layout { floats: bytes.saturating_sub(HEADER_BYTES) / 8 }
    }

    /// The buffer's size.
    pub fn bytes(&self) -> usize {
        HEADER_BYTES + self.floats * 8
    }

    /// Byte offset of the input, `[rows, inp]`.
    pub fn input(&self) -> usize {
        HEADER_BYTES
    }

    /// Whether `job` fits: its input, and every chunk of its output.
    pub fn fits(&self, job: &Job) -> bool {
        job.rows * job.inp <= self.floats && job.rows * job.out <= self.floats
    }

    /// Whether an attention fits: its input and mask, and every head's context and (when it
    /// asks for them) maps.
    pub fn fits_attention(&self, job: &AttentionJob) -> bool {
        let (rows, h) = (job.rows(), job.hidden());
        let maps = if job.maps { job.heads * job.map_floats() } else { 0 };
        rows * h + rows <= self.floats && rows * h + maps <= self.floats
    }

    /// Byte offset of an attention's mask, `[rows]` as floats (after its input).
    pub fn mask(&self, job: &AttentionJob) -> usize {
        HEADER_BYTES + job.rows() * job.hidden() * 4
    }

    /// Byte offset of head `c`'s context, `[rows, d]`.
    pub fn head_context(&self, job: &AttentionJob, c: usize) -> usize {
        HEADER_BYTES + self.floats * 4 + job.rows() * c * job.d * 4
    }

    /// Byte offset of head `c`'s maps, `[batch, seq, seq]` (after every head's context).
    pub fn head_maps(&self, job: &AttentionJob, c: usize) -> usize {
        HEADER_BYTES + self.floats * 4 + (job.rows() * job.hidden() + c * job.map_floats()) * 4
    }

    /// Byte offset of chunk `c`'s output, `[rows, job.chunk(c).len()]`: the chunks lie one after
    /// the other, whoever took them.
    pub fn chunk(&self, job: &Job, c: usize) -> usize {
        HEADER_BYTES + self.floats * 4 + job.rows * job.chunk(c).start * 4
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::team::chunk_width;
    use crate::Activation;

    #[test]
    fn chunks_lie_inside_the_buffer_one_after_another() {
        let cfg = Config::from_json(r#"{"vocab_size": 100, "hidden_size": 768, "intermediate_size": 3072, "num_attention_heads": 12, "max_position_embeddings": 512}"#).unwrap();
        let l = Layout::for_config(&cfg);
        assert_eq!(l.floats, 512 * 3072);
        assert_eq!(Layout::of_bytes(l.bytes()), l);
        assert!(word::NEXT as usize * 4 < HEADER_BYTES);
        let x = vec![0.0; 512 * 768];
        for (rows, out) in [(512, 3072), (512, 768), (3, 768), (7, 50)] {
            let job = Job { id: 0, x: &x[..rows * 768], rows, inp: 768, out, act: Activation::Linear, width: chunk_width(rows, 768) };
            assert!(l.fits(&job));
            let mut end = HEADER_BYTES + l.floats * 4;
            for c in 0..job.chunks() {
                assert_eq!(l.chunk(&job, c), end, "rows {rows}, out {out}, chunk {c}");
                end += job.rows * job.chunk(c).len() * 4;
            }
            assert!(end <= l.bytes());
        }
        let job = Job { id: 0, x: &x, rows: 513, inp: 768, out: 3072, act: Activation::Linear, width: 32 };
        assert!(!l.fits(&job));
        assert!(word::MAPS as usize * 4 < HEADER_BYTES);

        // An attention at 128 tokens: input, then mask; contexts, then maps, all inside.
        let mask = vec![1u32; 128];
        let job = AttentionJob { id: 1, x: &x[..128 * 768], mask: &mask, batch: 1, seq: 128, heads: 12, d: 64, maps: true };
        assert!(l.fits_attention(&job));
        assert_eq!(l.mask(&job), l.input() + 128 * 768 * 4);
        let out = HEADER_BYTES + l.floats * 4;
        for c in 0..12 {
            assert_eq!(l.head_context(&job, c), out + c * 128 * 64 * 4);
            assert_eq!(l.head_maps(&job, c), out + (128 * 768 + c * 128 * 128) * 4);
        }
        assert!(l.head_maps(&job, 11) + 128 * 128 * 4 <= l.bytes());
        // At 512 tokens the maps (12 × 512²) are more than the buffer holds: such an attention
        // stays home, unless nobody reads its maps.
        let mask = vec![1u32; 512];
        let long = AttentionJob { x: &x, mask: &mask, seq: 512, ..job };
        assert!(!l.fits_attention(&long));
        assert!(l.fits_attention(&AttentionJob { maps: false, ..long }));
    }
}
