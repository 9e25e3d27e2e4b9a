//! The `albert` command at the engine's boundary (issue 13, item 1), as a user meets it: the
//! issue's reproductions (a NaN weight printed `NaN%` with exit 0; 4,000,000,000 layers ran out
//! of memory; 100,000 hung) and non-http(s) URLs. Each must end fast with exit 3 and a message.

mod common;

use common::*;
use std::time::{Duration, Instant};

const TEXT: &str = "The cat sat on the [MASK].";

/// `dir`'s model.safetensors with value `index` of f32 tensor `name` set to `x`, in place (the
/// header says where: 8 bytes of length, JSON with each tensor's `data_offsets`).
fn poison(dir: &TempDir, name: &str, index: usize, x: f32) {
    let mut bytes = std::fs::read(dir.file("model.safetensors")).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    assert_eq!(header[name]["dtype"], "F32");
    let at = 8 + n + header[name]["data_offsets"][0].as_u64().unwrap() as usize + 4 * index;
    bytes[at..at + 4].copy_from_slice(&x.to_le_bytes());
    dir.write("model.safetensors", bytes);
}

#[test]
fn a_nan_weight_is_refused_naming_the_tensor_not_printed_as_nan_percent() {
    let dir = TempDir::copy_of("tiny");
    let name = "albert.embeddings.LayerNorm.weight";
    poison(&dir, name, 2, f32::NAN);
    let out = fill(&dir.str(), &[]);
    out.fails(3, &[&format!("tensor `{name}` holds NaN at index 2 of its 16 values"), "corrupt"]);
    assert!(!out.stdout.contains("NaN"));
    albert(&["info", "--model", &dir.str()]).fails(3, &["holds NaN"]);
}

fn fill(model: &str, extra: &[&str]) -> Out {
    let mut args = vec!["fill", "--model", model, "--text", TEXT, "--device", "cpu"];
    args.extend_from_slice(extra);
    albert(&args)
}

#[test]
fn huge_layer_counts_are_refused_at_once() {
    for layers in [4_000_000_000u64, 100_000] {
        let dir = TempDir::copy_of("tiny");
        dir.edit_config(|c| {
            c.insert("num_hidden_layers".into(), layers.into());
        });
        let t = Instant::now();
        fill(&dir.str(), &[]).fails(3, &[&format!("num_hidden_layers is {layers}, above this engine's limit of 128")]);
        assert!(t.elapsed() < Duration::from_secs(20), "{layers} layers took {:?}", t.elapsed());
    }
}

#[test]
fn only_http_and_https_urls_are_fetched() {
    for (model, scheme) in [
        ("file:///etc/passwd", "file"),
        ("javascript:alert(1)", "javascript"),
        ("data:application/json,{}", "data"),
        ("ftp://example.com/albert", "ftp"),
    ] {
        fill(model, &[]).fails(3, &[&format!("is a `{scheme}:` URL; only http:// and https:// model URLs can be fetched")]);
    }
    fill("HTTPS://example.com/albert", &[]).fails(3, &["write the scheme in lower case"]);
}
