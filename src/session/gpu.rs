//! The WebGPU side of a load: the device (once), this dtype's pipelines (compiled asynchronously,
//! error-scoped), then the weights parsed and uploaded. Each step is told to the caller, whose
//! status line says it (and, while the CPU bridge answers, that the CPU answers meanwhile).

use albert::gpu::kernels::Kernel;
use albert::{DType, FillMask, ModelFiles};
use leptos::prelude::*;

use crate::engine;
use crate::state::{AppState, GpuView};
use crate::view_model::bridge::GpuStep;
use crate::web;

/// What WebGPU made of a load.
pub enum OnGpu {
    /// The model on the GPU, its pipelines' compilation and its parse + upload (ms).
    Ready { fm: Box<FillMask>, compile_ms: f64, init_ms: f64 },
    /// The GPU failed (no device, a pipeline, a limit, a lost device): the CPU can still run it.
    Failed(String),
    /// The model itself is at fault: no backend will run it.
    Model(albert::Error),
}

/// Opens the device, compiles the pipelines and uploads the weights, telling `say` each step.
pub async fn open(state: AppState, files: &ModelFiles, say: &dyn Fn(GpuStep)) -> OnGpu {
    say(GpuStep::Device);
    let g = match engine::gpu().await {
        Ok(g) => g,
        Err(e) => {
            engine::drop_gpu();
            return OnGpu::Failed(e.to_string());
        }
    };
    let dtype = albert::weights::header_dtype(files.weights.iter().map(|(_, b)| b.as_slice())).unwrap_or(DType::F32);
    say(GpuStep::Compile { pipelines: Kernel::ALL.iter().filter(|k| k.used_by(g.tuning)).count(), f16: dtype == DType::F16 });
    let t = web::now_ms();
    if let Err(e) = g.pipelines(dtype).await {
        engine::drop_gpu();
        return OnGpu::Failed(e.to_string());
    }
    let compile_ms = web::now_ms() - t;
    state.gpu.update(|v| {
        let v = v.get_or_insert_with(GpuView::default);
        v.device = if g.info.name.trim().is_empty() {
            format!("wgpu {:?} backend, {:?} device, {:?} kernels", g.info.backend, g.info.device_type, g.tuning)
        } else {
            g.describe()
        };
        v.limits = limits(&g);
    });

    say(GpuStep::Upload);
    web::yield_now().await;
    let t = web::now_ms();
    match FillMask::new(files, Some(&g)).await {
        Ok(fm) => OnGpu::Ready { fm: Box::new(fm), compile_ms, init_ms: web::now_ms() - t },
        // Not a model problem but a GPU one (limits, device lost).
        Err(e @ albert::Error::Gpu(_)) => OnGpu::Failed(e.to_string()),
        Err(e) => OnGpu::Model(e),
    }
}

fn limits(g: &albert::gpu::Gpu) -> Vec<(&'static str, String)> {
    let l = &g.limits;
    vec![
        ("maxStorageBufferBindingSize", crate::view_model::format::bytes(l.max_storage_buffer_binding_size)),
        ("maxBufferSize", crate::view_model::format::bytes(l.max_buffer_size)),
        ("maxStorageBuffersPerShaderStage", l.max_storage_buffers_per_shader_stage.to_string()),
        ("maxComputeWorkgroupStorageSize", crate::view_model::format::bytes(l.max_compute_workgroup_storage_size as u64)),
        ("maxComputeInvocationsPerWorkgroup", l.max_compute_invocations_per_workgroup.to_string()),
        ("maxComputeWorkgroupSizeX", l.max_compute_workgroup_size_x.to_string()),
        ("maxComputeWorkgroupsPerDimension", l.max_compute_workgroups_per_dimension.to_string()),
    ]
}
