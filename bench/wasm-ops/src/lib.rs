//! The CPU path's ops as the browser runs them (wasm, simd128), timed one by one: each export
//! runs the engine's own functions (`albert::cpu`) on random inputs at a model's shape, and
//! `bench/wasm-ops/run.mjs` calls them in Node, whose V8 is Chromium's. The breakdown says where
//! a CPU-wasm forward's time goes (products, attention, gelu_new, LayerNorm) and what each
//! matmul kernel (`Kernel::Gemm`, `Kernel::Panels`) does at each product shape, which the whole
//! forward in the page (bench/browser) cannot separate. Natively this library is empty.

#[cfg(target_arch = "wasm32")]
mod wasm {
    use albert::cpu::{ops, Kernel, Weight};
    use albert::Activation;

    #[link(wasm_import_module = "env")]
    extern "C" {
        /// `performance.now()`.
        fn now() -> f64;
    }

    /// Milliseconds per op of the last `layer` call (see `OPS` in run.mjs for the order).
    static mut TIMES: [f64; 9] = [0.0; 9];

    #[no_mangle]
    pub extern "C" fn times() -> *const f64 {
        std::ptr::addr_of!(TIMES) as *const f64
    }

    fn kernel(code: u32) -> Kernel {
        if code == 0 {
            Kernel::Gemm
        } else {
            Kernel::Panels
        }
    }

    /// Deterministic values in [−0.5, 0.5) (xorshift).
    fn values(n: usize, seed: u32) -> Vec<f32> {
        let mut x = seed.wrapping_mul(2_654_435_761) | 1;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                (x % 1000) as f32 / 1000.0 - 0.5
            })
            .collect()
    }

    fn linear(out: usize, inp: usize, seed: u32, k: Kernel) -> (Weight, Vec<f32>) {
        (Weight::new(&values(out * inp, seed), out, inp, k), values(out, seed + 1))
    }

    /// One ALBERT layer on `t` tokens at hidden size `h`, `heads` heads and FFN width `ffn`, its
    /// linears on `kernel` (0 Gemm, 1 Panels), `reps` times; `TIMES` gets each op's mean ms.
    #[no_mangle]
    pub extern "C" fn layer(t: usize, h: usize, heads: usize, ffn: usize, code: u32, reps: usize) {
        let k = kernel(code);
        let d = h / heads;
        let x = values(t * h, 1);
        let (qkv, dense) = ([linear(h, h, 2, k), linear(h, h, 4, k), linear(h, h, 6, k)], linear(h, h, 8, k));
        let (up, down) = (linear(ffn, h, 10, k), linear(h, ffn, 12, k));
        let (mask, ones) = (vec![1u32; t], vec![1.0f32; h]);
        let mut sum = [0.0f64; 9];
        for _ in 0..reps {
            // SAFETY: `now` is performance.now, supplied by run.mjs.
            let mut tick = unsafe { now() };
            let mut lap = |i: usize| {
                let n = unsafe { now() };
                sum[i] += n - tick;
                tick = n;
            };
            let [q, kk, v] = qkv.each_ref().map(|(w, b)| w.linear_columns(&x, t, h, b, h, 0..h, Activation::Linear));
            lap(0);
            let probs = ops::attention_probs(&q, &kk, &mask, 1, t, heads, d);
            lap(1);
            let ctx = ops::attention_context(&probs, &v, 1, t, heads, d);
            lap(2);
            let o = dense.0.linear_columns(&ctx, t, h, &dense.1, h, 0..h, Activation::Linear);
            lap(3);
            let a = ops::add_layer_norm(&o, &x, &ones, &dense.1, 1e-12, h);
            lap(4);
            let mut f = up.0.linear_columns(&a, t, h, &up.1, ffn, 0..ffn, Activation::Linear);
            lap(5);
            ops::act_slice(&mut f, Activation::GeluNew);
            lap(6);
            let f2 = down.0.linear_columns(&f, t, ffn, &down.1, h, 0..h, Activation::Linear);
            lap(7);
            std::hint::black_box(ops::add_layer_norm(&f2, &a, &ones, &down.1, 1e-12, h));
            lap(8);
        }
        // SAFETY: one thread (a wasm instance without threads).
        unsafe { TIMES = sum.map(|s| s / reps.max(1) as f64) };
    }

    /// The best of `reps` products `[m, k] · [k, n]` on `kernel`, in G multiply-adds/s.
    #[no_mangle]
    pub extern "C" fn product(m: usize, k: usize, n: usize, code: u32, reps: usize) -> f64 {
        let x = values(m * k, 1);
        let (w, b) = linear(n, k, 2, kernel(code));
        let mut best = f64::MAX;
        for _ in 0..reps.max(1) {
            // SAFETY: as in `layer`.
            let t0 = unsafe { now() };
            std::hint::black_box(w.linear_columns(&x, m, k, &b, n, 0..n, Activation::Linear));
            best = best.min(unsafe { now() } - t0);
        }
        (m * k * n) as f64 / best / 1e6
    }
}
