//! The device: adapter and device creation, loss detection, the per-dtype pipeline cache,
//! buffer creation and upload, and mapping a staging buffer back.

use super::kernels::Pipelines;
use crate::error::{Error, Result};
use crate::weights::{DType, Tensor, TensorData};
use std::sync::{Arc, Mutex};
use wgpu::util::DeviceExt;

/// A GPU device with its queue and compiled pipelines, shared by every model on it.
#[derive(Clone)]
pub struct Gpu {
    /// Natively, the instance the adapter came from: its report counts live buffers (`live_buffers`).
    instance: Option<wgpu::Instance>,
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub info: wgpu::AdapterInfo,
    pub limits: wgpu::Limits,
    /// Whether the device records timestamp queries (GPU time per forward).
    pub timestamps: bool,
    /// Which kernel variants the plans pick (`Tuning::for_adapter`); tests and benchmarks
    /// may set it to run the other set on the same device.
    pub tuning: Tuning,
    lost: Arc<Mutex<Option<String>>>,
    pipelines: PipelineCache,
}

/// The kernel variants that suit an adapter. CPU-emulated adapters (lavapipe natively,
/// SwiftShader in browsers, which report themselves as fallback adapters and so as
/// `DeviceType::Cpu`) pay per invocation and per barrier, and their kernels keep both few.
/// Real GPUs need many threads in flight: on an NVIDIA H200 the emulators' gemv left each
/// thread a serial walk over K (bench/README.md, "On an NVIDIA H200").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tuning {
    Emulated,
    Gpu,
}

impl Tuning {
    /// From the adapter's type; natively `ALBERT_GPU_TUNING=emulated|gpu` overrides it, so one
    /// benchmark run can time both sets on the same GPU (bench/on-nvidia).
    pub fn for_adapter(info: &wgpu::AdapterInfo) -> Tuning {
        match std::env::var("ALBERT_GPU_TUNING").ok().as_deref().map(str::trim) {
            Some("emulated") => Tuning::Emulated,
            Some("gpu") => Tuning::Gpu,
            _ if info.device_type == wgpu::DeviceType::Cpu => Tuning::Emulated,
            _ => Tuning::Gpu,
        }
    }

    /// Real GPUs' kernels (many threads in flight), as opposed to the emulators'.
    pub fn real_gpu(self) -> bool {
        self != Tuning::Emulated
    }
}

/// Compiled pipelines per weight dtype and kernel set, shared by every clone of a `Gpu`.
type PipelineCache = Arc<Mutex<Vec<((DType, Tuning), Arc<Pipelines>)>>>;

/// Buffers this process has created on any GPU (weights, plans' activations and uniforms,
/// readback and timestamp buffers). Plans are built once per input shape and cached, so after
/// warm-up a forward creates none: growth here in a long session is a leak (`albert soak`, the
/// app's `?soak` hook). Counted in browsers too, where wgpu offers no registry report.
static BUFFERS_CREATED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

pub(crate) fn count_buffer() {
    BUFFERS_CREATED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
}

/// See [`BUFFERS_CREATED`].
pub fn buffers_created() -> u64 {
    BUFFERS_CREATED.load(std::sync::atomic::Ordering::Relaxed)
}

impl Gpu {
    /// Picks the high-performance adapter and opens a device with the adapter's own limits
    /// (large models need storage bindings beyond WebGPU's 128 MiB default).
    pub async fn new() -> Result<Gpu> {
        let instance = wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
        let adapter = instance
            .request_adapter(&wgpu::RequestAdapterOptions {
                power_preference: wgpu::PowerPreference::HighPerformance,
                force_fallback_adapter: false,
                ..Default::default()
            })
            .await
            .map_err(|e| {
                Error::Gpu(format!(
                    "no GPU adapter is available ({e}). Natively this needs a Vulkan, Metal or DX12 driver \
                     (on Debian: apt install mesa-vulkan-drivers); in a browser it needs WebGPU. \
                     The CPU path (--device cpu) works without one."
                ))
            })?;
        let mut g = Self::from_adapter(&adapter).await?;
        g.instance = Some(instance);
        Ok(g)
    }

    pub async fn from_adapter(adapter: &wgpu::Adapter) -> Result<Gpu> {
        let info = adapter.get_info();
        let limits = adapter.limits();
        // Timestamps give GPU-side forward times for `albert bench`; optional everywhere.
        let required_features = adapter.features() & wgpu::Features::TIMESTAMP_QUERY;
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("albert"),
                required_features,
                required_limits: limits.clone(),
                ..Default::default()
            })
            .await
            .map_err(|e| Error::Gpu(format!("the adapter `{}` refused a device: {e}", info.name)))?;
        let lost = Arc::new(Mutex::new(None));
        let l2 = lost.clone();
        device.set_device_lost_callback(move |reason, msg| {
            if let Ok(mut g) = l2.lock() {
                *g = Some(if msg.trim().is_empty() { format!("{reason:?}") } else { format!("{reason:?}: {msg}") });
            }
        });
        // Errors outside an error scope must not abort the process (wgpu's default handler
        // panics); forwards detect them through the lost flag or failed mapping.
        device.on_uncaptured_error(Arc::new(|e| {
            eprintln!("albert: uncaptured GPU error: {e}");
        }));
        let timestamps = required_features.contains(wgpu::Features::TIMESTAMP_QUERY);
        let tuning = Tuning::for_adapter(&info);
        Ok(Gpu { instance: None, device, queue, info, limits, timestamps, tuning, lost, pipelines: Arc::new(Mutex::new(Vec::new())) })
    }

    /// GPU buffers alive now (wgpu-core's registry), natively; `None` in a browser. With
    /// [`buffers_created`], what a soak (`albert soak`) watches: after warm-up neither grows.
    pub fn live_buffers(&self) -> Option<usize> {
        #[cfg(not(target_arch = "wasm32"))]
        {
            let report = self.instance.as_ref()?.generate_report()?;
            Some(report.hub.buffers.num_kept_from_user)
        }
        // Browsers' WebGPU has no registry report (wgpu-core is not in the wasm build).
        #[cfg(target_arch = "wasm32")]
        {
            let _ = &self.instance;
            None
        }
    }

    /// The same device (queue, pipelines, loss detection) picking `tuning`'s kernels.
    pub fn with_tuning(&self, tuning: Tuning) -> Gpu {
        Gpu { tuning, ..self.clone() }
    }

    /// "name (backend, device type, kernel set)" for people.
    pub fn describe(&self) -> String {
        format!("{} ({:?}, {:?}, {:?} kernels)", self.info.name, self.info.backend, self.info.device_type, self.tuning)
    }

    /// Why the device was lost (wgpu's reason and message), or `None` while it is usable. A
    /// lost device never comes back: the caller makes a new `Gpu` and uploads the weights again.
    pub fn lost_reason(&self) -> Option<String> {
        self.lost.lock().ok().and_then(|g| g.clone())
    }

    pub(crate) fn check_lost(&self) -> Result<()> {
        match self.lost.lock().ok().and_then(|g| g.clone()) {
            Some(m) => Err(Error::Gpu(format!("the GPU device was lost ({m}); reload the model to continue"))),
            None => Ok(()),
        }
    }

    /// Pipelines for a weight dtype and this device's `tuning`, compiled on first use: only the
    /// kernels that tuning's plans pick (`Kernel::used_by`).
    pub async fn pipelines(&self, dtype: DType) -> Result<Arc<Pipelines>> {
        let key = (dtype, self.tuning);
        if let Some(p) = self.pipelines.lock().ok().and_then(|v| v.iter().find(|(k, _)| *k == key).map(|(_, p)| p.clone())) {
            return Ok(p);
        }
        let p = Arc::new(Pipelines::new(&self.device, dtype, self.tuning).await?);
        if let Ok(mut v) = self.pipelines.lock() {
            v.push((key, p.clone()));
        }
        Ok(p)
    }

    /// Any other buffer, counted.
    pub(crate) fn buffer(&self, desc: &wgpu::BufferDescriptor) -> wgpu::Buffer {
        count_buffer();
        self.device.create_buffer(desc)
    }

    pub(crate) fn storage(&self, label: &str, bytes: usize) -> wgpu::Buffer {
        count_buffer();
        self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: (bytes.max(4) as u64).next_multiple_of(4),
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        })
    }

    pub(crate) fn storage_init(&self, label: &str, bytes: &[u8]) -> wgpu::Buffer {
        count_buffer();
        let mut data = bytes.to_vec();
        data.resize(data.len().max(4).next_multiple_of(4), 0);
        self.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some(label),
            contents: &data,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST,
        })
    }

    /// Uploads a weight tensor as stored: f32 words, or f16 pairs packed into u32 words.
    /// Refuses a tensor larger than one storage binding may be on this device.
    pub fn upload(&self, t: &Tensor) -> Result<wgpu::Buffer> {
        let max = self.limits.max_storage_buffer_binding_size;
        if t.nbytes() as u64 > max {
            return Err(Error::Gpu(format!("tensor `{}` needs {} bytes in one storage binding, but this GPU allows at most {max}", t.name, t.nbytes())));
        }
        Ok(match &t.data {
            TensorData::F32(v) => self.storage_init(&t.name, bytemuck::cast_slice(v)),
            TensorData::F16(v) => self.storage_init(&t.name, bytemuck::cast_slice(v)),
        })
    }

    pub(crate) fn staging(&self, bytes: usize) -> wgpu::Buffer {
        count_buffer();
        self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("readback"),
            size: (bytes.max(4) as u64).next_multiple_of(4),
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        })
    }

    /// Maps `bytes` of a staging buffer and copies them out once, as `T`s (f32 outputs, u64
    /// timestamps; unaligned-safe).
    pub(crate) async fn read_as<T: bytemuck::Pod>(&self, buf: &wgpu::Buffer, bytes: u64) -> Result<Vec<T>> {
        let (tx, rx) = futures_channel::oneshot::channel();
        let slice = buf.slice(..bytes);
        slice.map_async(wgpu::MapMode::Read, move |r| {
            let _ = tx.send(r);
        });
        #[cfg(not(target_arch = "wasm32"))]
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| Error::Gpu(format!("waiting for the GPU failed: {e}")))?;
        let mapped = rx.await.map_err(|_| Error::Gpu("the GPU dropped a readback request".into()))?;
        if let Err(e) = mapped {
            self.check_lost()?;
            return Err(Error::Gpu(format!("reading results back from the GPU failed: {e}")));
        }
        let out = {
            let view = slice.get_mapped_range().map_err(|e| Error::Gpu(format!("mapping the readback buffer failed: {e}")))?;
            bytemuck::pod_collect_to_vec::<u8, T>(&view)
        };
        buf.unmap();
        Ok(out)
    }
}
