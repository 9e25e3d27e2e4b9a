//! albert-worker-relaxed: albert-worker (src/bin/albert-worker/main.rs) built with the
//! `relaxed-simd` feature, the second of the worker's two modules (Cargo.toml says why two). Its own
//! root, so that each source file belongs to one build target: the worker is this crate's module.

#[path = "albert-worker/main.rs"]
mod worker;

fn main() {
    worker::main()
}
