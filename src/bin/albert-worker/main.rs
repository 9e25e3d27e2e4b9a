//! albert-worker: the CPU path in a Web Worker, so a forward (about 150 ms for albert-base at 128
//! tokens in wasm) never runs on the page's thread. A shell around `albert::remote::Server`: each
//! message is one call's bytes (an ArrayBuffer), each answer one reply's, transferred back as
//! `{reply, wasmMemoryBytes, threads, sharedProducts, kernel}` (the worker's memory, for the page's
//! long-session checks, the threads its forwards use, how many products its helpers shared, and
//! which build this is: `simd128`, or `relaxed-simd` when Trunk built it as `albert-worker-relaxed`
//! with the fused multiply-add kernel, see src/cpu_module.rs; that build's root,
//! src/bin/albert-worker-relaxed.rs, includes this file as a module). Where the page is cross-origin
//! isolated, the page starts helpers too, from this same script: a `{team: {buffer, part, parts}}`
//! message makes part 0 the worker that answers and every other part a helper (`team`). Trunk
//! builds it (`data-type="worker"` in index.html) next to the app; natively it does nothing.

#[cfg(target_arch = "wasm32")]
mod team;

/// The products' kernel this build runs (the page's stats and bench report say it).
#[cfg(target_arch = "wasm32")]
const KERNEL: &str = if cfg!(feature = "relaxed-simd") { "relaxed-simd" } else { "simd128" };

#[cfg(target_arch = "wasm32")]
pub fn main() {
    use std::cell::RefCell;
    use std::rc::Rc;

    use albert::remote::{wire, Server};
    use wasm_bindgen::prelude::*;
    use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

    console_error_panic_hook::set_once();
    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    let server = RefCell::new(Server::default());
    // Set by a team message with a part other than 0: this worker is a helper.
    let helper: RefCell<Option<team::Setup>> = RefCell::new(None);
    let post = {
        let scope = scope.clone();
        move |reply: Vec<u8>| {
            let bytes = js_sys::Uint8Array::from(&reply[..]);
            drop(reply);
            let buffer = bytes.buffer();
            // With the reply, this worker's wasm memory: the page's long-session checks
            // (albertLensStats, tests/e2e/soak.test.mjs) watch the memory the forward runs in.
            let message = js_sys::Object::new();
            let memory = wasm_bindgen::memory().unchecked_into::<js_sys::WebAssembly::Memory>().buffer().unchecked_into::<js_sys::ArrayBuffer>().byte_length();
            let _ = js_sys::Reflect::set(&message, &"reply".into(), &buffer);
            let _ = js_sys::Reflect::set(&message, &"wasmMemoryBytes".into(), &f64::from(memory).into());
            let _ = js_sys::Reflect::set(&message, &"threads".into(), &(albert::cpu::team::threads() as f64).into());
            let _ = js_sys::Reflect::set(&message, &"sharedProducts".into(), &team::shared_products().into());
            let _ = js_sys::Reflect::set(&message, &"kernel".into(), &KERNEL.into());
            // Transferred, not copied: the page receives the buffer itself.
            if let Err(e) = scope.post_message_with_transfer(&message, &js_sys::Array::of1(&buffer)) {
                web_sys::console::error_2(&"albert-worker: could not post a reply".into(), &e);
            }
        }
    };
    let on_message = Closure::<dyn Fn(MessageEvent)>::new({
        let post = post.clone();
        move |e: MessageEvent| {
            let data = e.data();
            if !data.is_instance_of::<js_sys::ArrayBuffer>() {
                match team::Setup::from_js(&js_sys::Reflect::get(&data, &"team".into()).unwrap_or(JsValue::UNDEFINED)) {
                    Ok(setup) if setup.part() == 0 => albert::cpu::team::install(Some(Rc::new(team::Leader::new(setup)))),
                    Ok(setup) => *helper.borrow_mut() = Some(setup),
                    Err(why) => web_sys::console::error_1(&format!("albert-worker: {why}").into()),
                }
                return;
            }
            let call = js_sys::Uint8Array::new(&data).to_vec();
            if let Some(setup) = helper.borrow().as_ref() {
                // A helper answers the page nothing: the worker it helps reads the buffer. It
                // returns only when it could not load.
                if let Err(e) = team::serve(setup, call) {
                    web_sys::console::error_1(&format!("albert-worker helper {}: {e}", setup.part()).into());
                }
                return;
            }
            let reply = server.borrow_mut().handle(&call);
            drop(call);
            post(reply);
        }
    });
    scope.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    // The worker lives as long as the page keeps it; so does its handler.
    on_message.forget();
    post(wire::encode_ready());
}

#[cfg(not(target_arch = "wasm32"))]
pub fn main() {}
