//! Profiling: a forward with a timestamp query around every dispatch (one compute pass each),
//! and the per-dispatch times summed by stage (HF module names) and kernel, for
//! `albert bench --profile` and the app's `?profile=1`.

use super::device::Gpu;
use super::kernels::Pipelines;
use super::plan::AlbertForMaskedLM;
use super::record::{Op, Step};
use crate::error::{Error, Result};
use crate::output::{Batch, Output, Request};

impl Gpu {
    /// Like `submit`, but every dispatch gets a compute pass of its own with a timestamp at its
    /// start and end (queries 2i and 2i + 1), resolved and copied to `staging` at offset 0.
    /// Separate passes stop the GPU from overlapping dispatches, so a profiled forward is a
    /// little slower than a plain one; what it shows is where the time goes.
    pub(crate) fn submit_profiled(&self, pipes: &Pipelines, program: &[Op], queries: &wgpu::QuerySet, resolve: &wgpu::Buffer, staging: &wgpu::Buffer) {
        let mut enc = self.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("albert profiled forward") });
        let mut k = 0u32;
        for op in program {
            match op {
                Op::Dispatch(s) => {
                    let timestamp_writes = Some(wgpu::ComputePassTimestampWrites {
                        query_set: queries,
                        beginning_of_pass_write_index: Some(2 * k),
                        end_of_pass_write_index: Some(2 * k + 1),
                    });
                    s.record(&mut enc.begin_compute_pass(&wgpu::ComputePassDescriptor { label: Some(s.stage), timestamp_writes }), pipes);
                    k += 1;
                }
                Op::Copy { src, dst, dst_offset, bytes } => enc.copy_buffer_to_buffer(src, 0, dst, *dst_offset, *bytes),
            }
        }
        if k > 0 {
            enc.resolve_query_set(queries, 0..2 * k, resolve, 0);
            enc.copy_buffer_to_buffer(resolve, 0, staging, 0, 16 * k as u64);
        }
        self.queue.submit([enc.finish()]);
    }
}

/// GPU time of one dispatch of a profiled forward (`AlbertForMaskedLM::profile`).
#[derive(Debug, Clone, serde::Serialize)]
pub struct DispatchTime {
    /// What it computes, in HF's names: `attention.query_key_value`, `ffn`, `predictions.decoder`…
    pub stage: &'static str,
    /// The WGSL kernel (`kernels::Kernel::name`).
    pub kernel: &'static str,
    pub ms: f64,
}

/// Dispatch times summed by stage and kernel (in order of first appearance): calls and ms.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct StageTime {
    pub stage: &'static str,
    pub kernel: &'static str,
    pub calls: usize,
    pub ms: f64,
}

/// Sums `times` by (stage, kernel); the layers of a shared block add up into one row each.
pub fn by_stage(times: &[DispatchTime]) -> Vec<StageTime> {
    let mut out: Vec<StageTime> = Vec::new();
    for t in times {
        match out.iter_mut().find(|s| s.stage == t.stage && s.kernel == t.kernel) {
            Some(s) => {
                s.calls += 1;
                s.ms += t.ms;
            }
            None => out.push(StageTime { stage: t.stage, kernel: t.kernel, calls: 1, ms: t.ms }),
        }
    }
    out
}

/// Each dispatch's median time over several profiles of the same plan (same program, so entry
/// i is the same dispatch in every run); nearest-rank median as `bench::stats`.
pub fn median_per_dispatch(runs: &[Vec<DispatchTime>]) -> Vec<DispatchTime> {
    let Some(first) = runs.first() else { return vec![] };
    first
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let ms: Vec<f64> = runs.iter().filter_map(|r| r.get(i)).map(|r| r.ms).collect();
            DispatchTime { ms: crate::bench::stats(&ms).0, ..d.clone() }
        })
        .collect()
}

impl AlbertForMaskedLM {
    /// A forward that also times every dispatch on the GPU (timestamp queries around each one;
    /// see `Gpu::submit_profiled`): the output, and one `DispatchTime` per dispatch in program
    /// order. Needs an adapter with timestamp queries (`Gpu::timestamps`).
    pub async fn profile(&mut self, batch: &Batch, req: &Request) -> Result<(Output, Vec<DispatchTime>)> {
        if !self.gpu.timestamps {
            return Err(Error::Gpu(format!("`{}` has no timestamp queries, so dispatches cannot be timed on it", self.gpu.info.name)));
        }
        let (key, rows) = self.prepare(batch, req)?;
        let (program, staging, staging_bytes) = self.program(&key);
        let steps: Vec<&Step> = program.iter().filter_map(|op| if let Op::Dispatch(s) = op { Some(s) } else { None }).collect();
        let count = 2 * steps.len() as u32;
        if count > wgpu::QUERY_SET_MAX_QUERIES {
            return Err(Error::Gpu(format!("{} dispatches need {count} timestamp queries; a query set holds at most {}", steps.len(), wgpu::QUERY_SET_MAX_QUERIES)));
        }
        let g = &self.gpu;
        let queries = g.device.create_query_set(&wgpu::QuerySetDescriptor { label: Some("profile"), ty: wgpu::QueryType::Timestamp, count: count.max(2) });
        let bytes = 8 * count.max(2) as u64;
        super::device::count_buffer();
        let resolve = g.buffer(&wgpu::BufferDescriptor {
            label: Some("profile timestamps"),
            size: bytes,
            usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        let ts_staging = g.staging(bytes as usize);
        g.submit_profiled(&self.pipes, program, &queries, &resolve, &ts_staging);
        let data: Vec<f32> = g.read_as(staging, staging_bytes).await?;
        let ticks: Vec<u64> = g.read_as(&ts_staging, bytes).await?;
        let period = g.queue.get_timestamp_period() as f64;
        let times = steps
            .iter()
            .enumerate()
            .map(|(i, s)| DispatchTime {
                stage: s.stage,
                kernel: s.kernel.name(),
                // A GPU may write the end stamp from another clock domain tick first; never negative.
                ms: ticks[2 * i + 1].saturating_sub(ticks[2 * i]) as f64 * period / 1e6,
            })
            .collect();
        Ok((self.unpack(&key, rows, &data), times))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(stage: &'static str, kernel: &'static str, ms: f64) -> DispatchTime {
        DispatchTime { stage, kernel, ms }
    }

    #[test]
    fn by_stage_sums_layers_in_first_appearance_order() {
        let times = [t("embeddings", "embeddings", 1.0), t("ffn", "linear", 2.0), t("attention.dense", "linear", 0.5), t("ffn", "linear", 3.0)];
        let s = by_stage(&times);
        let rows: Vec<_> = s.iter().map(|s| (s.stage, s.calls, s.ms)).collect();
        assert_eq!(rows, vec![("embeddings", 1, 1.0), ("ffn", 2, 5.0), ("attention.dense", 1, 0.5)]);
        // The same stage on two kernels (a length switching kernels) stays apart.
        assert_eq!(by_stage(&[t("ffn", "linear", 1.0), t("ffn", "linear_gemv", 1.0)]).len(), 2);
        assert!(by_stage(&[]).is_empty());
    }

    #[test]
    fn median_per_dispatch_takes_each_dispatch_over_runs() {
        let runs = vec![
            vec![t("a", "k", 1.0), t("b", "k", 10.0)],
            vec![t("a", "k", 3.0), t("b", "k", 30.0)],
            vec![t("a", "k", 2.0), t("b", "k", 20.0)],
        ];
        let m = median_per_dispatch(&runs);
        assert_eq!(m.iter().map(|d| (d.stage, d.ms)).collect::<Vec<_>>(), vec![("a", 2.0), ("b", 20.0)]);
        assert!(median_per_dispatch(&[]).is_empty());
    }
}
