//! Which build of the CPU worker this browser runs: `albert-worker` (WebAssembly SIMD, every
//! browser with WebGPU has it) or `albert-worker-relaxed` (the same worker with relaxed SIMD's
//! fused multiply-add in the products' kernel, `albert::cpu::panels`). A module that holds one
//! relaxed instruction does not load where relaxed SIMD is missing, so the page asks first:
//! `WebAssembly.validate` on a 59-byte module that uses `f32x4.relaxed_madd`. `?simd=128` keeps
//! the plain build (tests compare the two; anyone can rule the kernel out). The worker and its
//! helpers start from the one script chosen here, so a team's threads run the same arithmetic.

use std::cell::Cell;

/// The worker builds' loaders, written by Trunk next to index.html (`data-loader-shim`).
const PLAIN: &str = "albert-worker_loader.js";
const RELAXED: &str = "albert-worker-relaxed_loader.js";

thread_local! {
    /// `?simd=128`: the plain build whatever the browser has.
    static PLAIN_ASKED: Cell<bool> = const { Cell::new(false) };
    /// The browser's answer, asked once.
    static HAS_RELAXED: Cell<Option<bool>> = const { Cell::new(None) };
}

/// `?simd=128` asks for the plain build.
pub fn ask_plain(plain: bool) {
    PLAIN_ASKED.with(|p| p.set(plain));
}

/// The worker's loader to start (relative to the page).
pub fn script() -> &'static str {
    if relaxed() {
        RELAXED
    } else {
        PLAIN
    }
}

fn relaxed() -> bool {
    !PLAIN_ASKED.with(Cell::get) && HAS_RELAXED.with(|h| {
        let has = h.get().unwrap_or_else(|| js_sys::WebAssembly::validate(&js_sys::Uint8Array::from(&probe()[..]).into()).unwrap_or(false));
        h.set(Some(has));
        has
    })
}

/// `() -> v128 { f32x4.relaxed_madd(v128.const 0, v128.const 0, v128.const 0) }` as a module.
fn probe() -> Vec<u8> {
    let mut body = vec![0x00]; // no locals
    for _ in 0..3 {
        body.extend([0xfd, 0x0c]); // v128.const
        body.extend([0u8; 16]);
    }
    body.extend([0xfd, 0x85, 0x02, 0x0b]); // f32x4.relaxed_madd (0x105, LEB128), end
    let mut m = vec![0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0]; // \0asm, version 1
    m.extend([1, 5, 1, 0x60, 0, 1, 0x7b]); // types: () -> v128
    m.extend([3, 2, 1, 0]); // functions: one, of type 0
    m.extend([10, body.len() as u8 + 2, 1, body.len() as u8]); // code: one body
    m.extend(body);
    m
}
