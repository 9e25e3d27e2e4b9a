//! `albert` against a loopback Hugging Face Hub and against servers that misbehave mid-download
//! (issue #13, items 6 and 7): albert-base-v2's layout (tokenizer.json, or only spiece.model)
//! through `resolve/main` with the 302 to a second origin for large files; 401 GatedRepo,
//! 401 RepoNotFound and 404 EntryNotFound in words; a stall becomes an error naming the file and
//! the URL; a broken connection resumes with `Range: bytes=N-` (206 appended, 200 restarted); a
//! Content-Length past the 2 GiB cap is refused before anything is allocated.
//!
//! The Hub here is Rust (std only) so these tests need no node; it answers as
//! `tests/e2e/hub-server.mjs` does for the browser tests.

#[path = "../common/mod.rs"]
mod common;
mod hub;

use common::*;
use hub::{Fault, Hub};
use serde_json::Value;
use std::io::Read;
use std::process::Stdio;
use std::time::{Duration, Instant};

const SINGLE: &str = "The capital of France is [MASK].";
const BASE: &str = "albert/albert-base-v2";

// ---------------------------------------------------------------------------------------------
// Running albert with a deadline (a hang is a failure, not a stuck test run)

fn albert_within(args: &[&str], env: &[(&str, &str)], limit: Duration) -> (Out, Duration) {
    let mut cmd = albert_command(args, env);
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let t = Instant::now();
    let mut child = cmd.spawn().expect("run the albert binary");
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out_t = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err_t = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let code = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st.code();
        }
        if t.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("albert {args:?} still running after {limit:?}: it hangs");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let elapsed = t.elapsed();
    let out = Out { code, stdout: out_t.join().unwrap(), stderr: err_t.join().unwrap(), args: args.iter().map(|s| s.to_string()).collect() };
    (out, elapsed)
}

fn fill_json_from(model: &str, env: &[(&str, &str)]) -> Value {
    let (out, _) = albert_within(&["fill", "--model", model, "--text", SINGLE, "--device", "cpu", "--json", "--logits"], env, Duration::from_secs(120));
    out.json()
}

/// albert-base-v2's files on the Hub, with tiny weights: config.json, model.safetensors,
/// tokenizer.json and spiece.model, and the files albert never reads (pytorch_model.bin,
/// README.md); no tokenizer_config.json and no sharded index (both 404 EntryNotFound).
fn base_v2_layout(spiece_only: bool) -> TempDir {
    let src = if spiece_only { "spiece_only" } else { "tiny" };
    let dir = TempDir::new(if spiece_only { "hub-spiece" } else { "hub-base" });
    for f in ["config.json", "model.safetensors", "tokenizer.json", "spiece.model"] {
        if fixture(src).join(f).exists() {
            std::fs::copy(fixture(src).join(f), dir.file(f)).unwrap();
        }
    }
    dir.write("pytorch_model.bin", vec![0u8; 4096]);
    dir.write("README.md", "---\nlicense: apache-2.0\n---\n# ALBERT Base v2\n");
    dir
}

fn assert_same_fill(a: &Value, b: &Value, what: &str) {
    for key in ["tokens", "ids", "token_type_ids", "masks"] {
        assert_eq!(a[key], b[key], "{what}: {key} differs from the folder's");
    }
}

// ---------------------------------------------------------------------------------------------
// Item 7: the Hub as it answers

#[test]
fn hub_albert_base_v2_layout_with_tokenizer_json() {
    let dir = base_v2_layout(false);
    let hub = Hub::start(&[(BASE, dir.path())], &[]);
    let a = fill_json_from(&dir.str(), &[]);
    let b = fill_json_from(&hub.base(BASE), &[]);
    assert_same_fill(&a, &b, "albert-base-v2 layout over the Hub");
    let log = hub.log();
    let seen = |origin: &str, path: &str, status: u16| log.iter().any(|r| r.origin == origin && r.path.ends_with(path) && r.status == status);
    assert!(seen("hub", "/resolve/main/model.safetensors", 302), "weights redirect to the CDN: {log:?}");
    assert!(seen("cdn", "/model.safetensors", 200), "weights come from the CDN origin: {log:?}");
    assert!(seen("hub", "/resolve/main/config.json", 200), "{log:?}");
    assert!(seen("hub", "/resolve/main/tokenizer_config.json", 404), "an absent optional file is fine: {log:?}");
    assert!(!log.iter().any(|r| r.path.ends_with("spiece.model")), "tokenizer.json wins: {log:?}");
}

#[test]
fn hub_albert_base_v2_layout_with_only_spiece_model() {
    let dir = base_v2_layout(true);
    assert!(!dir.file("tokenizer.json").exists());
    let hub = Hub::start(&[(BASE, dir.path())], &[]);
    let a = fill_json_from(&dir.str(), &[]);
    let b = fill_json_from(&hub.base(BASE), &[]);
    assert_same_fill(&a, &b, "spiece.model-only layout over the Hub");
    let log = hub.log();
    assert!(log.iter().any(|r| r.origin == "hub" && r.path.ends_with("/tokenizer.json") && r.status == 404), "{log:?}");
    assert!(log.iter().any(|r| r.origin == "cdn" && r.path.ends_with("/spiece.model") && r.status == 200), "{log:?}");
}

#[test]
fn hub_gated_missing_repo_and_missing_file_are_said_plainly() {
    let dir = base_v2_layout(false);
    let empty = TempDir::new("hub-empty");
    empty.write("README.md", "nothing here");
    let hub = Hub::start(&[(BASE, dir.path()), ("someone/empty", empty.path())], &["albert/albert-xlarge-v2"]);
    let limit = Duration::from_secs(60);
    let gated = hub.base("albert/albert-xlarge-v2");
    let (out, _) = albert_within(&["fill", "--model", &gated, "--text", SINGLE, "--device", "cpu"], &[], limit);
    out.fails(3, &["gated", "GatedRepo", "HTTP 401", "sends no token", &format!("{gated}/config.json")]);
    let (out, _) = albert_within(&["info", "--model", &hub.base("nobody/nothing")], &[], limit);
    out.fails(3, &["no such repository", "RepoNotFound", "does not exist or is private"]);
    let (out, _) = albert_within(&["info", "--model", &hub.base("someone/empty")], &[], limit);
    out.fails(3, &["config.json not found", "answered 404", &hub.base("someone/empty")]);
}

// ---------------------------------------------------------------------------------------------
// Item 6: downloads that stall, break, resume, or announce too much

#[test]
fn a_stalled_download_is_an_error_naming_file_and_url() {
    let dir = base_v2_layout(false);
    let hub = Hub::start(&[(BASE, dir.path())], &[]);
    // Every answer for the weights stops after 1000 bytes and holds the connection open.
    hub.fault("model.safetensors", &[Fault::Stall(1000), Fault::Stall(0), Fault::Stall(0)]);
    let (out, took) = albert_within(
        &["fill", "--model", &hub.base(BASE), "--text", SINGLE, "--device", "cpu"],
        &[("ALBERT_STALL_SECONDS", "0.5")],
        Duration::from_secs(60),
    );
    let url = format!("{}/model.safetensors", hub.base(BASE));
    out.fails(3, &["download of model.safetensors", &format!("from {url} stalled"), "no data for 0.5 s", "1000 of"]);
    assert!(took < Duration::from_secs(20), "gave up after {took:?}");
    // One resume was tried (progress had been made), with the bytes already received kept.
    let ranges: Vec<_> = hub.log().into_iter().filter(|r| r.origin == "cdn").map(|r| r.range).collect();
    assert_eq!(ranges, [None, Some("bytes=1000-".to_string())], "{ranges:?}");
}

#[test]
fn the_stall_limit_is_read_from_albert_stall_seconds() {
    let dir = base_v2_layout(false);
    let hub = Hub::start(&[(BASE, dir.path())], &[]);
    hub.fault("model.safetensors", &[Fault::Stall(10), Fault::Stall(0)]);
    let (out, took) = albert_within(
        &["info", "--model", &hub.base(BASE)],
        &[("ALBERT_STALL_SECONDS", "1")],
        Duration::from_secs(60),
    );
    out.fails(3, &["no data for 1 s"]);
    assert!(took >= Duration::from_millis(900), "{took:?}");
}

#[test]
fn a_broken_download_resumes_with_a_range_request() {
    let dir = base_v2_layout(false);
    let size = std::fs::metadata(dir.file("model.safetensors")).unwrap().len() as usize;
    let half = size / 2;
    let hub = Hub::start(&[(BASE, dir.path())], &[]);
    hub.fault("model.safetensors", &[Fault::Cut(half)]);
    let a = fill_json_from(&dir.str(), &[]);
    let b = fill_json_from(&hub.base(BASE), &[]);
    assert_same_fill(&a, &b, "resumed download");
    let cdn: Vec<_> = hub.log().into_iter().filter(|r| r.origin == "cdn").map(|r| (r.range, r.status)).collect();
    assert_eq!(cdn, [(None, 200), (Some(format!("bytes={half}-")), 206)], "{cdn:?}");
}

#[test]
fn a_server_that_ignores_range_gets_the_whole_file_again() {
    let dir = base_v2_layout(false);
    let half = std::fs::metadata(dir.file("model.safetensors")).unwrap().len() as usize / 2;
    let hub = Hub::start(&[(BASE, dir.path())], &[]);
    hub.fault("model.safetensors", &[Fault::Cut(half), Fault::IgnoreRange]);
    let a = fill_json_from(&dir.str(), &[]);
    let b = fill_json_from(&hub.base(BASE), &[]);
    assert_same_fill(&a, &b, "restarted download");
    let cdn: Vec<_> = hub.log().into_iter().filter(|r| r.origin == "cdn").map(|r| (r.range, r.status)).collect();
    assert_eq!(cdn, [(None, 200), (Some(format!("bytes={half}-")), 200)], "{cdn:?}");
}

#[test]
fn a_content_length_past_the_cap_is_refused_before_downloading() {
    let dir = base_v2_layout(false);
    let hub = Hub::start(&[(BASE, dir.path())], &[]);
    // 3 GiB announced: refused at the headers, nothing reserved.
    hub.fault("model.safetensors", &[Fault::Announce(3 << 30)]);
    let (out, took) = albert_within(&["info", "--model", &hub.base(BASE)], &[], Duration::from_secs(60));
    out.fails(3, &["3221225472 bytes", "2147483647-byte limit", "model.safetensors"]);
    assert!(took < Duration::from_secs(20), "{took:?}");
    // 1.5 GiB announced (under the cap), 1000 bytes sent: an ordinary broken download, quickly,
    // without reserving the announced size.
    hub.fault("model.safetensors", &[Fault::Announce(3 << 29), Fault::Announce(3 << 29)]);
    let (out, took) = albert_within(&["info", "--model", &hub.base(BASE)], &[], Duration::from_secs(60));
    out.fails(3, &["model.safetensors", "broke off after"]);
    assert!(took < Duration::from_secs(20), "{took:?}");
}
