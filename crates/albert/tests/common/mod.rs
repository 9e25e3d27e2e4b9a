//! Shared test helpers: fixture paths, golden files written by tools/golden (transformers'
//! outputs), the shared GPU, named tolerances and max-difference reporting.
#![allow(dead_code)]

use albert::gpu::Gpu;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::OnceLock;

#[allow(unused_imports)] // each test binary uses its own subset
pub use albert::tolerance::{Tol, GPU, STRICT};
/// Single kernels against their CPU twin, on well-scaled random inputs.
pub const KERNEL: f32 = 1e-4;

pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

pub fn fixture(name: &str) -> PathBuf {
    fixtures().join(name)
}

/// The real albert-base-v2 tokenizer in ../shared/data, when this checkout has it.
pub fn shared_tokenizer_dir() -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/albert-base-v2-tokenizer");
    if p.is_dir() {
        Some(p)
    } else {
        eprintln!("SKIPPED: {} not found (the shared data folder is not beside this checkout)", p.display());
        None
    }
}

/// A golden tensor from golden.safetensors, as f32 (ints converted) with its shape.
pub struct GoldenTensor {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

pub fn golden(name: &str) -> HashMap<String, GoldenTensor> {
    golden_tensors(&std::fs::read(fixture(name).join("golden.safetensors")).expect("golden.safetensors"))
}

/// Every tensor of a golden safetensors file.
pub fn golden_tensors(bytes: &[u8]) -> HashMap<String, GoldenTensor> {
    let st = safetensors::SafeTensors::deserialize(bytes).expect("valid golden file");
    let mut out = HashMap::new();
    for (k, v) in st.tensors() {
        let data: Vec<f32> = match v.dtype() {
            safetensors::Dtype::F32 => v.data().chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect(),
            safetensors::Dtype::I64 => v.data().chunks_exact(8).map(|c| i64::from_le_bytes(c.try_into().unwrap()) as f32).collect(),
            d => panic!("unexpected golden dtype {d:?}"),
        };
        out.insert(k, GoldenTensor { shape: v.shape().to_vec(), data });
    }
    out
}

/// One JSON entry of a golden safetensors file's metadata (train/export.py writes `texts`,
/// `sop` and `torch_f32_vs_f64` there).
pub fn golden_meta(bytes: &[u8], key: &str) -> serde_json::Value {
    let (_, meta) = safetensors::SafeTensors::read_metadata(bytes).expect("golden metadata");
    let json = meta.metadata().as_ref().and_then(|m| m.get(key)).unwrap_or_else(|| panic!("`{key}` in the golden metadata"));
    serde_json::from_str(json).unwrap_or_else(|e| panic!("golden metadata `{key}`: {e}"))
}

/// The golden batch (ids, types, mask) stored under `prefix`.
pub fn batch_from(g: &HashMap<String, GoldenTensor>, prefix: &str) -> albert::Batch {
    let ids = &g[&format!("{prefix}input_ids")];
    let (b, t) = (ids.shape[0], ids.shape[1]);
    let u = |k: &str| g[&format!("{prefix}{k}")].data.iter().map(|&x| x as u32).collect::<Vec<u32>>();
    albert::Batch { batch: b, seq_len: t, input_ids: u("input_ids"), token_type_ids: u("token_type_ids"), attention_mask: u("attention_mask") }
}

pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "length mismatch");
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

/// Shared GPU for all tests of a binary. Without an adapter the tests fail, because CI must
/// exercise the GPU path (lavapipe); set ALBERT_SKIP_GPU=1 to skip GPU tests knowingly. Every
/// skip prints a `SKIPPED` line naming the test (libtest names each test's thread after it),
/// so the test command can count them.
pub fn gpu() -> Option<&'static Gpu> {
    static GPU_CELL: OnceLock<Option<Gpu>> = OnceLock::new();
    let g = GPU_CELL
        .get_or_init(|| {
            if std::env::var("ALBERT_SKIP_GPU").is_ok_and(|v| v == "1") {
                return None;
            }
            match pollster::block_on(Gpu::new()) {
                Ok(g) => {
                    eprintln!("GPU: {}", g.describe());
                    Some(g)
                }
                Err(e) => panic!("{e}\n(set ALBERT_SKIP_GPU=1 to skip GPU tests on a machine without one)"),
            }
        })
        .as_ref();
    if g.is_none() {
        let test = std::thread::current().name().unwrap_or("a test").to_string();
        eprintln!("SKIPPED {test} (its GPU part): ALBERT_SKIP_GPU=1, no GPU adapter used");
    }
    g
}

/// Deterministic pseudo-random values in [-scale, scale].
pub fn rand_vec(n: usize, seed: u64, scale: f32) -> Vec<f32> {
    let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((s >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * scale
        })
        .collect()
}
