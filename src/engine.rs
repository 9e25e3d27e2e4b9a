//! The loaded model and the WebGPU device, kept outside the reactive graph (they are not `Send`).
//!
//! `FillMask::fill` takes `&mut self` and awaits, so no `RefCell` borrow may live across it:
//! a task takes the model out of the slot, runs, and puts it back, unless another model was
//! installed meanwhile (then the old one is dropped). Tasks that find the slot empty wait.

use std::cell::{Cell, RefCell};

use albert::gpu::Gpu;
use albert::FillMask;

thread_local! {
    static GPU: RefCell<Option<Gpu>> = const { RefCell::new(None) };
    static SLOT: RefCell<Option<FillMask>> = const { RefCell::new(None) };
    /// Id of the installed model; 0 = none.
    static CURRENT: Cell<u64> = const { Cell::new(0) };
    static NEXT_ID: Cell<u64> = const { Cell::new(1) };
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

/// Removes the installed model (freeing its GPU buffers) before another one loads.
pub fn clear() {
    CURRENT.with(|c| c.set(0));
    SLOT.with(|s| *s.borrow_mut() = None);
}

/// Installs a model; returns its id.
pub fn install(model: FillMask) -> u64 {
    let id = NEXT_ID.with(|n| {
        let id = n.get();
        n.set(id + 1);
        id
    });
    SLOT.with(|s| *s.borrow_mut() = Some(model));
    CURRENT.with(|c| c.set(id));
    id
}

pub fn current_id() -> u64 {
    CURRENT.with(Cell::get)
}

/// Runs `f` with exclusive use of the installed model. `None` when no model is installed (or it
/// was replaced while waiting).
pub async fn with_model<R>(f: impl AsyncFnOnce(&mut FillMask) -> R) -> Option<R> {
    let id = current_id();
    if id == 0 {
        return None;
    }
    let mut model = loop {
        if current_id() != id {
            return None;
        }
        if let Some(m) = SLOT.with(|s| s.borrow_mut().take()) {
            break m;
        }
        crate::web::sleep(15).await;
    };
    let out = f(&mut model).await;
    if current_id() == id {
        SLOT.with(|s| *s.borrow_mut() = Some(model));
    }
    Some(out)
}
