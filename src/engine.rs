//! The loaded model and the WebGPU device, kept outside the reactive graph (they are not `Send`).
//!
//! `FillMask::fill` takes `&mut self` and awaits, so the model lives behind an async mutex:
//! a task that wants it awaits the lock and is woken when the holder releases it (no polling).
//! Each installed model has an id; a task that waited through a model change gets `None`
//! instead of running on the new model, and a model cleared while a forward runs is dropped as
//! soon as that forward releases it.

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
    let id = current_id();
    if id == 0 {
        return None;
    }
    let slot = slot();
    let mut s = slot.lock().await;
    if s.id != id || current_id() != id {
        return None;
    }
    let files = s.files.clone();
    let out = f(s.model.as_mut()?, files).await;
    if current_id() != id {
        // Cleared or replaced while it ran: free it now rather than with the next install.
        *s = Slot::default();
    }
    Some(out)
}
