//! The loaded model and the WebGPU device, kept outside the reactive graph (they are not `Send`).
//!
//! `FillMask::fill` takes `&mut self` and awaits, so the model lives behind an async mutex:
//! a task that wants it awaits the lock and is woken when the holder releases it (no polling).
//! Each installed model has an id; a task that waited through a model change gets `None`
//! instead of running on the new model, and a model cleared while a forward runs is dropped as
//! soon as that forward releases it. A lost WebGPU device is replaced in place ([`recover`]):
//! the same id, the model rebuilt from the files kept in memory.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use albert::gpu::Gpu;
use albert::{FillMask, ModelFiles};
use futures::lock::Mutex;

/// The installed model and its id (0 = none).
#[derive(Default)]
struct Slot {
    id: u64,
    model: Option<FillMask>,
    /// The files it was built from, kept for the CPU–GPU cross-check (which builds a CPU twin)
    /// when they are small enough to hold twice (`KEEP_FILES_BYTES`).
    files: Option<Rc<ModelFiles>>,
}

/// Weights up to this size stay in memory after a load, for the cross-check: albert-base in
/// f32 is 47 MB; xxlarge (0.9 GB) would crowd wasm32's 4 GiB.
pub const KEEP_FILES_BYTES: usize = 256 << 20;

thread_local! {
    static GPU: RefCell<Option<Gpu>> = const { RefCell::new(None) };
    static SLOT: Rc<Mutex<Slot>> = Rc::new(Mutex::new(Slot::default()));
    /// Id of the model the page wants (the installed one, or 0 after [`clear`]); read without
    /// the lock so callers can tell at once whether their model is still current.
    static CURRENT: Cell<u64> = const { Cell::new(0) };
    static NEXT_ID: Cell<u64> = const { Cell::new(1) };
}

fn slot() -> Rc<Mutex<Slot>> {
    SLOT.with(Rc::clone)
}

/// The WebGPU device, created on first use and shared by every model (its pipelines too).
pub async fn gpu() -> albert::Result<Gpu> {
    if let Some(g) = GPU.with(|g| g.borrow().clone()) {
        return Ok(g);
    }
    let g = Gpu::new().await?;
    // `?kernels=`: the browser tests run real GPUs' kernels on SwiftShader this way.
    let g = match crate::view_model::params::kernels_choice(&crate::web::location_search()) {
        Some(t) => g.with_tuning(t),
        None => g,
    };
    GPU.with(|slot| *slot.borrow_mut() = Some(g.clone()));
    Ok(g)
}

/// Forgets the device (after it failed), so the next load asks again.
pub fn drop_gpu() {
    GPU.with(|g| *g.borrow_mut() = None);
}

/// Removes the installed model (freeing its GPU buffers) before another one loads: now when no
/// forward holds it, else as soon as that forward ends.
pub fn clear() {
    CURRENT.with(|c| c.set(0));
    if let Some(mut s) = slot().try_lock() {
        *s = Slot::default();
    }
}

/// Installs a model (and, when given, the files it came from), once any forward on a cleared
/// one has let go of it. `false` (and the model is dropped) when [`clear`] was called
/// meanwhile: a newer load owns the slot.
pub async fn install(model: FillMask, files: Option<ModelFiles>) -> bool {
    let id = NEXT_ID.with(|n| {
        let id = n.get();
        n.set(id + 1);
        id
    });
    CURRENT.with(|c| c.set(id));
    let slot = slot();
    let mut s = slot.lock().await;
    if current_id() != id {
        return false;
    }
    *s = Slot { id, model: Some(model), files: files.map(Rc::new) };
    true
}


fn current_id() -> u64 {
    CURRENT.with(Cell::get)
}

/// Runs `f` with exclusive use of the installed model. `None` when no model is installed (or it
/// was replaced while waiting).
pub async fn with_model<R>(f: impl AsyncFnOnce(&mut FillMask) -> R) -> Option<R> {
    with_model_files(async move |m, _| f(m).await).await
}

/// `with_model`, also handing over the model's files when they were kept (`KEEP_FILES_BYTES`).
pub async fn with_model_files<R>(f: impl AsyncFnOnce(&mut FillMask, Option<Rc<ModelFiles>>) -> R) -> Option<R> {
    with_slot(async move |s: &mut Slot| {
        let files = s.files.clone();
        Some(f(s.model.as_mut()?, files).await)
    })
    .await
    .flatten()
}

/// Runs `f` with the slot locked, when the model the page wants is the one installed: `None`
/// when there is none (or it was replaced while waiting for the lock).
async fn with_slot<R>(f: impl AsyncFnOnce(&mut Slot) -> R) -> Option<R> {
    let id = current_id();
    if id == 0 {
        return None;
    }
    let slot = slot();
    let mut s = slot.lock().await;
    if s.id != id || current_id() != id {
        return None;
    }
    let out = f(&mut s).await;
    if current_id() != id {
        // Cleared or replaced while it ran: free it now rather than with the next install.
        *s = Slot::default();
    }
    Some(out)
}

/// Why the installed model's GPU was lost, or `None` (not lost, on the CPU, or no model).
pub async fn lost_reason() -> Option<String> {
    with_model(async |fm: &mut FillMask| fm.backend.gpu_lost()).await.flatten()
}

/// What [`recover`] did.
#[derive(Clone, Debug, PartialEq)]
pub enum Recovered {
    /// A new device, its pipelines and the weights uploaded again, in `ms`.
    Gpu { ms: f64 },
    /// The GPU failed again (`why`): the model now runs on the CPU.
    Cpu { why: String },
}

/// Rebuilds the installed model after its device was lost: a new device and the weights from
/// the files kept at load, or the CPU path when the GPU fails again. `None` when no model is
/// installed (or it changed meanwhile); `Err` when the files were not kept (over
/// [`KEEP_FILES_BYTES`]) or nothing could run them.
pub async fn recover() -> Option<Result<Recovered, String>> {
    with_slot(async |s: &mut Slot| {
        let Some(files) = s.files.clone() else {
            return Err(format!(
                "its weights are over the {} this page keeps in memory, so they must be read again: load the model again (from this browser's cache)",
                crate::view_model::format::bytes(KEEP_FILES_BYTES as u64)
            ));
        };
        // The old buffers belong to the dead device: free them before uploading again.
        s.model = None;
        drop_gpu();
        let t = crate::web::now_ms();
        let on_gpu = match gpu().await {
            Ok(g) => FillMask::new(&files, Some(&g)).await.map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        let out = match on_gpu {
            Ok(fm) => {
                s.model = Some(fm);
                Ok(Recovered::Gpu { ms: crate::web::now_ms() - t })
            }
            Err(why) => {
                drop_gpu();
                match crate::worker::cpu_model(&files).await.0 {
                    Ok(fm) => {
                        s.model = Some(fm);
                        Ok(Recovered::Cpu { why })
                    }
                    Err(e) => Err(format!("the GPU failed again ({why}) and the CPU could not load the model ({e})")),
                }
            }
        };
        if out.is_err() {
            *s = Slot::default();
        }
        out
    })
    .await
}

/// Test hook: destroys the WebGPU device as a driver reset or a lost GPU would
/// (`window.albertLensLoseDevice()`). `false` when there is none.
pub fn lose_device() -> bool {
    GPU.with(|g| g.borrow().as_ref().map(|g| g.device.destroy()).is_some())
}
