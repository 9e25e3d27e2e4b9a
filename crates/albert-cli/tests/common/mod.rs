//! Helpers for the `albert` CLI tests: running the binary, fixture folders and scratch copies of
//! them, a loopback HTTP/1.1 file server (server.rs), and golden tensors written by tools/golden.
//! Std only.
#![allow(dead_code)]

use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

mod server;
#[allow(unused_imports)] // not every test binary serves files (boundary.rs, soak.rs do not)
pub use server::*;

// ---------------------------------------------------------------------------------------------
// Running the binary

/// What one run of `albert` gave.
pub struct Out {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub args: Vec<String>,
}

impl Out {
    /// Asserts success and that nothing panicked; returns stdout.
    pub fn ok(&self) -> &str {
        assert!(
            self.code == Some(0) && !self.stderr.contains("panicked"),
            "albert {:?} failed with {:?}\nstderr:\n{}\nstdout:\n{}",
            self.args,
            self.code,
            self.stderr,
            truncate(&self.stdout)
        );
        &self.stdout
    }

    /// Asserts success and parses stdout as JSON.
    pub fn json(&self) -> Value {
        let s = self.ok();
        serde_json::from_str(s).unwrap_or_else(|e| panic!("albert {:?}: stdout is not JSON ({e}):\n{}", self.args, truncate(s)))
    }

    /// Asserts a failure with `code`, no panic, one `albert: error:` line on stderr that holds
    /// every word of `needles` (case-insensitive), and nothing on stdout.
    pub fn fails(&self, code: i32, needles: &[&str]) -> &Self {
        let ctx = || format!("albert {:?}\nexit {:?}\nstderr:\n{}\nstdout:\n{}", self.args, self.code, self.stderr, truncate(&self.stdout));
        assert!(!self.stderr.contains("panicked"), "a panic instead of an error message: {}", ctx());
        assert_eq!(self.code, Some(code), "wrong exit code: {}", ctx());
        if code != 2 {
            // clap's usage errors have their own format; ours have one prefix.
            assert!(self.stderr.contains("albert: error: "), "no `albert: error:` message: {}", ctx());
        }
        let lower = self.stderr.to_lowercase();
        for n in needles {
            assert!(lower.contains(&n.to_lowercase()), "stderr lacks {n:?}: {}", ctx());
        }
        assert!(self.stdout.trim().is_empty(), "a failure printed to stdout: {}", ctx());
        self
    }
}

fn truncate(s: &str) -> String {
    if s.len() <= 2000 {
        return s.to_string();
    }
    let mut end = 2000;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes)", &s[..end], s.len())
}

/// Runs `albert` with `args`. Proxy variables are cleared so loopback URLs are fetched directly,
/// and XDG_RUNTIME_DIR is set so lavapipe does not warn on stderr.
pub fn albert<S: AsRef<str>>(args: &[S]) -> Out {
    albert_env(args, &[])
}

pub fn albert_env<S: AsRef<str>>(args: &[S], env: &[(&str, &str)]) -> Out {
    let o = albert_command(args, env).output().expect("run the albert binary");
    Out {
        code: o.status.code(),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        args: args.iter().map(|a| a.as_ref().to_string()).collect(),
    }
}

/// The `albert` binary with `args` and `env`, as every test runs it: no proxy from the caller's
/// environment (the servers are loopback), and a runtime folder for Mesa's Vulkan loader.
pub fn albert_command<S: AsRef<str>>(args: &[S], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_albert"));
    cmd.args(args.iter().map(|a| a.as_ref()));
    if std::env::var_os("XDG_RUNTIME_DIR").is_none() {
        cmd.env("XDG_RUNTIME_DIR", std::env::temp_dir());
    }
    for v in ["http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"] {
        cmd.env_remove(v);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

/// Whether GPU runs are skipped knowingly (ALBERT_SKIP_GPU=1, as for the engine's tests).
/// Without it the GPU path must work: CI has lavapipe.
pub fn skip_gpu() -> bool {
    let skip = std::env::var("ALBERT_SKIP_GPU").is_ok_and(|v| v == "1");
    if skip {
        // libtest names each test's thread after the test, so the line says which one.
        let test = std::thread::current().name().unwrap_or("a test").to_string();
        eprintln!("SKIPPED {test} (its GPU half): ALBERT_SKIP_GPU=1");
    }
    skip
}

/// The devices to test: cpu, and gpu unless skipped.
pub fn devices() -> Vec<&'static str> {
    if skip_gpu() {
        vec!["cpu"]
    } else {
        vec!["cpu", "gpu"]
    }
}

// ---------------------------------------------------------------------------------------------
// Fixtures and scratch folders

pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../albert/tests/fixtures").join(name)
}

pub fn fixture_str(name: &str) -> String {
    fixture(name).to_str().expect("UTF-8 path").to_string()
}

pub fn config(name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixture(name).join("config.json")).unwrap()).unwrap()
}

/// A scratch folder under the target directory, removed on drop.
pub struct TempDir(PathBuf);

static COUNTER: AtomicUsize = AtomicUsize::new(0);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let p = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("albert-cli-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }

    /// A copy of a fixture folder (golden files left out), to break on purpose.
    pub fn copy_of(name: &str) -> TempDir {
        let t = TempDir::new(name);
        for e in std::fs::read_dir(fixture(name)).unwrap() {
            let e = e.unwrap();
            let f = e.file_name().into_string().unwrap();
            if !f.starts_with("golden") {
                std::fs::copy(e.path(), t.0.join(&f)).unwrap();
            }
        }
        t
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn str(&self) -> String {
        self.0.to_str().expect("UTF-8 path").to_string()
    }

    pub fn file(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    pub fn write(&self, name: &str, bytes: impl AsRef<[u8]>) {
        std::fs::write(self.0.join(name), bytes).unwrap();
    }

    pub fn remove(&self, name: &str) {
        std::fs::remove_file(self.0.join(name)).unwrap();
    }

    /// Edits config.json as JSON.
    pub fn edit_config(&self, f: impl FnOnce(&mut serde_json::Map<String, Value>)) {
        let p = self.0.join("config.json");
        let mut v: Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
        f(v.as_object_mut().unwrap());
        std::fs::write(p, serde_json::to_string_pretty(&v).unwrap()).unwrap();
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

// ---------------------------------------------------------------------------------------------
// Golden tensors (tools/golden: transformers 4.46.3) read without the safetensors crate

pub struct Golden {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

/// Every tensor of `<fixture>/golden.safetensors` as f32 (I64 converted).
pub fn golden(name: &str) -> HashMap<String, Golden> {
    golden_at(&fixture(name).join("golden.safetensors"))
}

/// The "inside ALBERT" goldens of a fixture (`fixtures/inside/<name>.safetensors`).
pub fn inside_golden(name: &str) -> HashMap<String, Golden> {
    golden_at(&fixture("inside").join(format!("{name}.safetensors")))
}

/// Every tensor of a golden safetensors file as f32 (I64 converted).
pub fn golden_at(path: &Path) -> HashMap<String, Golden> {
    let bytes = std::fs::read(path).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    let data = &bytes[8 + n..];
    let mut out = HashMap::new();
    for (k, v) in header.as_object().unwrap() {
        if k == "__metadata__" {
            continue;
        }
        let shape: Vec<usize> = v["shape"].as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as usize).collect();
        let off: Vec<usize> = v["data_offsets"].as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as usize).collect();
        let raw = &data[off[0]..off[1]];
        let vals: Vec<f32> = match v["dtype"].as_str().unwrap() {
            "F32" => raw.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect(),
            "I64" => raw.chunks_exact(8).map(|c| i64::from_le_bytes(c.try_into().unwrap()) as f32).collect(),
            d => panic!("unexpected golden dtype {d}"),
        };
        out.insert(k.clone(), Golden { shape, data: vals });
    }
    out
}

pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "length mismatch");
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

// ---------------------------------------------------------------------------------------------
// JSON access

pub fn f32s(v: &Value) -> Vec<f32> {
    v.as_array().expect("an array of numbers").iter().map(|x| x.as_f64().expect("a number") as f32).collect()
}

pub fn u64s(v: &Value) -> Vec<u64> {
    v.as_array().expect("an array of integers").iter().map(|x| x.as_u64().expect("an integer")).collect()
}

/// Softmax of a logits row, in f64.
pub fn softmax(row: &[f32]) -> Vec<f64> {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
    let e: Vec<f64> = row.iter().map(|&x| (x as f64 - max).exp()).collect();
    let s: f64 = e.iter().sum();
    e.into_iter().map(|x| x / s).collect()
}
