//! The shared buffer a CPU worker and its helpers (`cpu::team`) pass products through: its
//! layout, written once for the page that sizes it and the workers that read it. A header of
//! 32-bit words (counters the workers wait on with `Atomics.wait`, and the job's shape), then
//! the job's input, then every helper's share of the output, share after share.

use crate::config::Config;
use crate::cpu::team::{columns, Job};

/// The header's words, by index into an `Int32Array` over the buffer.
pub mod word {
    /// Bumped by the leader for each job; helpers wait on it.
    pub const JOB: u32 = 0;
    /// Helpers done with the current job; the leader waits on it.
    pub const DONE: u32 = 1;
    /// Helpers that loaded their shares.
    pub const READY: u32 = 2;
    /// Helpers that could not load theirs, or stopped (the page counts those).
    pub const FAILED: u32 = 3;
    /// Helpers that refused the current job (it named a linear they do not hold).
    pub const REFUSED: u32 = 4;
    /// The current job: `Job::id`, `rows`, `inp`, `out`, and the activation's code.
    pub const ID: u32 = 5;
    pub const ROWS: u32 = 6;
    pub const INP: u32 = 7;
    pub const OUT: u32 = 8;
    pub const ACT: u32 = 9;
}

/// Header size in bytes: `word`'s words, rounded up to 64 bytes.
pub const HEADER_BYTES: usize = 64;

/// Where the input and the helpers' shares lie in a buffer of a given size.
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

    /// Whether `job` fits: its input, and every share but the leader's.
    pub fn fits(&self, job: &Job) -> bool {
        job.rows * job.inp <= self.floats && job.rows * job.out <= self.floats
    }

    /// Byte offset of share `part`'s output, `[rows, columns(out, parts, part).len()]`: the shares
    /// of helpers 1.. lie one after the other.
    pub fn share(&self, job: &Job, parts: usize, part: usize) -> usize {
        let before = columns(job.out, parts, part).start - columns(job.out, parts, 1).start;
        HEADER_BYTES + self.floats * 4 + job.rows * before * 4
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Activation;

    #[test]
    fn shares_lie_inside_the_buffer_one_after_another() {
        let cfg = Config::from_json(r#"{"vocab_size": 100, "hidden_size": 768, "intermediate_size": 3072, "num_attention_heads": 12, "max_position_embeddings": 512}"#).unwrap();
        let l = Layout::for_config(&cfg);
        assert_eq!(l.floats, 512 * 3072);
        assert_eq!(Layout::of_bytes(l.bytes()), l);
        assert!(word::ACT as usize * 4 < HEADER_BYTES);
        let x = vec![0.0; 512 * 768];
        for parts in 2..=4 {
            let job = Job { id: 0, x: &x, rows: 512, inp: 768, out: 3072, act: Activation::Linear };
            assert!(l.fits(&job));
            let mut end = HEADER_BYTES + l.floats * 4;
            for p in 1..parts {
                assert_eq!(l.share(&job, parts, p), end, "parts {parts}, share {p}");
                end += job.rows * columns(job.out, parts, p).len() * 4;
            }
            assert!(end <= l.bytes());
            assert!(!l.fits(&Job { rows: 513, ..job }));
        }
    }
}
