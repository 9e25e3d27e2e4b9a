//! Bad input text, usage errors, no GPU adapter, and a reader that closes the pipe.

use super::*;

#[test]
fn bad_texts() {
    let model = fixture_str("tiny");
    for dev in devices() {
        fill(&model, "", dev, &[]).fails(4, &["input", "empty", "[MASK]"]);
        fill(&model, " \t\n  \u{3000}", dev, &["--json"]).fails(4, &["input", "empty"]);
        fill(&model, "The cat sat on the mat.", dev, &[]).fails(4, &["no [MASK]", "\"▁the\""]);
        fill(&model, "The cat sat on the [mask].", dev, &[]).fails(4, &["no [MASK]", "upper case"]);
        let long = format!("{} [MASK]", "word ".repeat(80));
        fill(&model, &long, dev, &["--json"]).fails(4, &["tokens long", "at most 64", "max_position_embeddings"]);
    }
}

#[test]
fn usage_errors() {
    let model = fixture_str("tiny");
    albert(&["fill", "--model", &model]).fails(2, &["--text"]);
    // Without --model, fill and info use the shipped default model (assets/model).
    let v = albert(&["fill", "--text", "a [MASK].", "--device", "cpu", "--json"]).json();
    assert!(v["model"]["source"].as_str().unwrap().ends_with("assets/model"), "{}", v["model"]["source"]);
    // The shipped model carries the SOP head (AlbertForPreTraining), so `albert order` works out of the box.
    assert!(albert(&["info"]).ok().contains("AlbertForPreTraining"));
    let o = albert(&["order", "--a", "She opened the door.", "--b", "Then she sat down.", "--device", "cpu", "--json"]).json();
    let p = o["in_order_prob"].as_f64().unwrap_or(f64::NAN);
    assert!(p > 0.0 && p < 1.0, "order on the default model: {o}");
    fill(&model, SINGLE, "tpu", &[]).fails(2, &["tpu", "gpu", "cpu"]);
    fill(&model, SINGLE, "cpu", &["--top-k", "-1"]).fails(2, &["-1"]);
    fill(&model, SINGLE, "cpu", &["--top-k", "many"]).fails(2, &["--top-k"]);
    albert(&["frobnicate"]).fails(2, &["frobnicate"]);
    albert(&["bench", "--model", &model, "--seq", "4", "--device", "tpu"]).fails(2, &["--device tpu", "gpu or cpu"]);
    albert(&["bench", "--model", &model, "--seq", "4", "--device", "cpu", "--dtype", "int8"]).fails(2, &["--dtype int8", "f32 or f16"]);
    albert(&["bench", "--model", &model, "--seq", "0", "--device", "cpu"]).fails(2, &["--seq 0"]);
    albert(&["bench", "--seq", "x"]).fails(2, &["--seq"]);
}

#[cfg(target_os = "linux")]
#[test]
fn no_gpu_adapter_exits_5_with_the_cpu_way_out() {
    // DX12 is not compiled in on Linux: asking for it leaves no adapter.
    let model = fixture_str("tiny");
    let env = [("WGPU_BACKEND", "dx12")];
    let args = ["fill", "--model", model.as_str(), "--text", SINGLE, "--device", "gpu"];
    albert_env(&args, &env).fails(5, &["GPU", "no GPU adapter", "--device cpu"]);
    let args = ["bench", "--model", model.as_str(), "--seq", "4", "--device", "gpu", "--runs", "1"];
    albert_env(&args, &env).fails(5, &["no GPU adapter"]);
    // The CPU path does not need one.
    let args = ["fill", "--model", model.as_str(), "--text", SINGLE, "--device", "cpu"];
    albert_env(&args, &env).ok();
}

/// `albert … | head -1`: a reader that closes the pipe early ends the command quietly (SIGPIPE,
/// as for any Unix filter), without a panic on stderr.
#[cfg(unix)]
#[test]
fn a_closed_stdout_ends_quietly() {
    use std::os::unix::process::ExitStatusExt;
    use std::process::{Command, Stdio};
    // More output than a pipe holds (every attention map of 54 tokens as JSON, 0.8 MB): the
    // command is still writing, or blocked on the full pipe, when the reader goes away, however
    // the two processes are scheduled. (`albert info` printed its few lines before a loaded
    // machine ran the test's next line, and exited 0.)
    let text = format!("{} [MASK].", vec!["the"; 50].join(" "));
    let mut child = Command::new(env!("CARGO_BIN_EXE_albert"))
        .args(["fill", "--model", &fixture_str("tiny"), "--text", &text, "--json", "--attentions", "--device", "cpu"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the albert binary");
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("wait for albert");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.signal(), Some(13), "ended by SIGPIPE: {:?}, stderr: {stderr}", out.status);
}
