//! How the CPU path spreads its work over threads: rayon's pool natively (`cpu::with_threads`,
//! else RAYON_NUM_THREADS or every core), in order on one thread in the browser.

/// Threads the CPU path uses: the current rayon pool natively (`cpu::with_threads`, else
/// RAYON_NUM_THREADS or every core); one in the browser.
pub fn threads() -> usize {
    #[cfg(not(target_arch = "wasm32"))]
    return rayon::current_num_threads();
    #[cfg(target_arch = "wasm32")]
    1
}

/// `f(i)` for every `i < n`: on the rayon pool natively, in order in the browser.
pub(super) fn par_for(n: usize, f: impl Fn(usize) + Sync + Send) {
    #[cfg(not(target_arch = "wasm32"))]
    if n > 1 {
        use rayon::prelude::*;
        return (0..n).into_par_iter().for_each(f);
    }
    (0..n).for_each(f)
}

/// `f(i, chunk)` for every `size`-element chunk of `v`, in parallel natively.
pub(super) fn par_chunks_mut(v: &mut [f32], size: usize, f: impl Fn(usize, &mut [f32]) + Sync + Send) {
    #[cfg(not(target_arch = "wasm32"))]
    if v.len() > size {
        use rayon::prelude::*;
        return v.par_chunks_mut(size.max(1)).enumerate().for_each(|(i, c)| f(i, c));
    }
    v.chunks_mut(size.max(1)).enumerate().for_each(|(i, c)| f(i, c))
}

/// A pointer parallel blocks write disjoint parts of one output through.
#[derive(Clone, Copy)]
pub(super) struct SyncPtr(pub(super) *mut f32);
// SAFETY: every user writes disjoint elements from each thread and joins before reading.
unsafe impl Send for SyncPtr {}
unsafe impl Sync for SyncPtr {}
impl SyncPtr {
    /// A method, not `.0`: closures then capture the whole (Sync) wrapper, not the raw field.
    pub(super) fn get(self) -> *mut f32 {
        self.0
    }
}
