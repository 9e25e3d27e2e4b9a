//! `albert` against a loopback Hugging Face Hub and against servers that misbehave mid-download
//! (issue #13, items 6 and 7): albert-base-v2's layout (tokenizer.json, or only spiece.model)
//! through `resolve/main` with the 302 to a second origin for large files; 401 GatedRepo,
//! 401 RepoNotFound and 404 EntryNotFound in words; a stall becomes an error naming the file and
//! the URL; a broken connection resumes with `Range: bytes=N-` (206 appended, 200 restarted); a
//! Content-Length past the 2 GiB cap is refused before anything is allocated.
//!
//! The Hub here is Rust (std only) so these tests need no node; it answers as
//! `tests/e2e/hub-server.mjs` does for the browser tests.

mod common;

use common::*;
use serde_json::Value;
use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const SINGLE: &str = "The capital of France is [MASK].";
const BASE: &str = "albert/albert-base-v2";

// ---------------------------------------------------------------------------------------------
// A loopback Hub: the hub origin and its CDN origin

/// Files the Hub stores in LFS and redirects to its CDN (as `hub-server.mjs`).
fn is_lfs(name: &str) -> bool {
    name.ends_with(".safetensors") || name.ends_with(".bin") || name == "spiece.model"
}

/// A misbehaviour for the next CDN answer of one file.
#[derive(Clone, Debug)]
enum Fault {
    /// Send this many body bytes, then close the connection.
    Cut(usize),
    /// Send this many body bytes, then nothing (the socket stays open) until the test ends.
    Stall(usize),
    /// Answer 200 with the whole file even when a Range was asked.
    IgnoreRange,
    /// Announce this Content-Length, send a few bytes, close.
    Announce(u64),
}

#[derive(Clone, Debug)]
struct Seen {
    origin: &'static str,
    path: String,
    range: Option<String>,
    status: u16,
}

struct Shared {
    repos: HashMap<String, PathBuf>,
    gated: Vec<String>,
    faults: Mutex<HashMap<String, VecDeque<Fault>>>,
    log: Mutex<Vec<Seen>>,
    stop: AtomicBool,
    cdn: Mutex<String>,
}

struct Hub {
    shared: Arc<Shared>,
    addrs: Vec<SocketAddr>,
    url: String,
}

impl Hub {
    fn start(repos: &[(&str, &Path)], gated: &[&str]) -> Hub {
        let shared = Arc::new(Shared {
            repos: repos.iter().map(|(id, p)| (id.to_string(), p.to_path_buf())).collect(),
            gated: gated.iter().map(|s| s.to_string()).collect(),
            faults: Mutex::new(HashMap::new()),
            log: Mutex::new(Vec::new()),
            stop: AtomicBool::new(false),
            cdn: Mutex::new(String::new()),
        });
        let mut addrs = Vec::new();
        for origin in ["hub", "cdn"] {
            let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
            let addr = listener.local_addr().unwrap();
            addrs.push(addr);
            if origin == "cdn" {
                *shared.cdn.lock().unwrap() = format!("http://{addr}");
            }
            let shared = shared.clone();
            std::thread::spawn(move || {
                for conn in listener.incoming() {
                    if shared.stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = conn else { continue };
                    let shared = shared.clone();
                    std::thread::spawn(move || {
                        let _ = serve(origin, stream, &shared);
                    });
                }
            });
        }
        Hub { url: format!("http://{}", addrs[0]), addrs, shared }
    }

    /// `resolve/main` base URL of a repo.
    fn base(&self, id: &str) -> String {
        format!("{}/{id}/resolve/main", self.url)
    }

    fn fault(&self, file: &str, faults: &[Fault]) {
        self.shared.faults.lock().unwrap().entry(file.to_string()).or_default().extend(faults.iter().cloned());
    }

    fn log(&self) -> Vec<Seen> {
        self.shared.log.lock().unwrap().clone()
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        for a in &self.addrs {
            let _ = TcpStream::connect_timeout(a, Duration::from_secs(1));
        }
    }
}

fn serve(origin: &'static str, stream: TcpStream, s: &Shared) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Ok(());
    }
    let mut range = None;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h == "\r\n" || h == "\n" {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            if k.trim().eq_ignore_ascii_case("range") {
                range = Some(v.trim().to_string());
            }
        }
    }
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or("").to_string(), parts.next().unwrap_or("/").to_string());
    let path = target.split('?').next().unwrap_or("").to_string();
    let mut out = stream;
    let mut log = |status: u16| s.log.lock().unwrap().push(Seen { origin, path: path.clone(), range: range.clone(), status });
    if origin == "cdn" {
        // /<owner>--<name>/<file>
        let mut it = path.trim_start_matches('/').splitn(2, '/');
        let (repo, file) = (it.next().unwrap_or("").replacen("--", "/", 1), it.next().unwrap_or("").to_string());
        let Some(bytes) = s.repos.get(&repo).and_then(|d| std::fs::read(d.join(&file)).ok()) else {
            log(404);
            return head(&mut out, 404, "Not Found", &[], b"no such blob\n", false);
        };
        let fault = s.faults.lock().unwrap().get_mut(&file).and_then(|q| q.pop_front());
        return cdn_answer(&mut out, &bytes, range.as_deref(), fault, s, &mut log, method == "HEAD");
    }
    // The hub: /<owner>/<name>/resolve/main/<file>
    let segs: Vec<&str> = path.trim_start_matches('/').splitn(5, '/').collect();
    if segs.len() != 5 || segs[2] != "resolve" || segs[3] != "main" {
        log(404);
        return error_json(&mut out, 404, "RepoNotFound", "Not found");
    }
    let (id, file) = (format!("{}/{}", segs[0], segs[1]), segs[4].to_string());
    if s.gated.contains(&id) {
        log(401);
        let msg = format!("Access to model {id} is restricted. You must have access to it and be authenticated to access it. Please log in.");
        return error_json(&mut out, 401, "GatedRepo", &msg);
    }
    let Some(dir) = s.repos.get(&id) else {
        log(401);
        return error_json(&mut out, 401, "RepoNotFound", &format!("Repository Not Found for url: {path}."));
    };
    let Ok(bytes) = std::fs::read(dir.join(&file)) else {
        log(404);
        return error_json(&mut out, 404, "EntryNotFound", &format!("{file} does not exist on \"main\""));
    };
    if is_lfs(&file) {
        log(302);
        let location = format!("{}/{}/{file}", s.cdn.lock().unwrap(), id.replace('/', "--"));
        let size = bytes.len().to_string();
        return head(&mut out, 302, "Found", &[("Location", &location), ("X-Linked-Size", &size)], b"", false);
    }
    log(200);
    let etag = format!("\"{:016x}\"", fnv(&bytes));
    head(&mut out, 200, "OK", &[("ETag", &etag)], &bytes, method == "HEAD")
}

fn fnv(b: &[u8]) -> u64 {
    b.iter().fold(0xcbf29ce484222325u64, |h, &x| (h ^ x as u64).wrapping_mul(0x100000001b3))
}

fn cdn_answer(
    out: &mut TcpStream,
    bytes: &[u8],
    range: Option<&str>,
    fault: Option<Fault>,
    s: &Shared,
    log: &mut dyn FnMut(u16),
    is_head: bool,
) -> std::io::Result<()> {
    let n = bytes.len();
    if let Some(Fault::Announce(len)) = fault {
        log(200);
        let header = format!("HTTP/1.1 200 OK\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n");
        out.write_all(header.as_bytes())?;
        out.write_all(&bytes[..n.min(1000)])?;
        return Ok(());
    }
    let start = match (range.and_then(|r| r.strip_prefix("bytes=")), &fault) {
        (Some(_), Some(Fault::IgnoreRange)) | (None, _) => None,
        (Some(r), _) => r.split('-').next().and_then(|x| x.parse::<usize>().ok()),
    };
    let (status, body, extra) = match start {
        Some(st) if st >= n => {
            log(416);
            return head(out, 416, "Range Not Satisfiable", &[("Content-Range", &format!("bytes */{n}"))], b"", false);
        }
        Some(st) => (206, &bytes[st..], Some(format!("bytes {st}-{}/{n}", n - 1))),
        None => (200, bytes, None),
    };
    log(status);
    let mut headers = vec![("Accept-Ranges", "bytes".to_string())];
    if let Some(cr) = extra {
        headers.push(("Content-Range", cr));
    }
    let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let reason = if status == 206 { "Partial Content" } else { "OK" };
    match fault {
        Some(Fault::Cut(k)) | Some(Fault::Stall(k)) => {
            let mut h = format!("HTTP/1.1 {status} {reason}\r\nContent-Length: {}\r\nConnection: close\r\n", body.len());
            for (k, v) in &headers {
                h.push_str(&format!("{k}: {v}\r\n"));
            }
            h.push_str("\r\n");
            out.write_all(h.as_bytes())?;
            out.write_all(&body[..k.min(body.len())])?;
            out.flush()?;
            if matches!(fault, Some(Fault::Stall(_))) {
                // Hold the connection open, sending nothing, until the client gives up or the test ends.
                let t = Instant::now();
                while !s.stop.load(Ordering::SeqCst) && t.elapsed() < Duration::from_secs(120) {
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
            Ok(())
        }
        _ => head(out, status, reason, &headers, body, is_head),
    }
}

fn error_json(out: &mut TcpStream, status: u16, code: &str, message: &str) -> std::io::Result<()> {
    let body = serde_json::json!({ "error": message }).to_string();
    let reason = if status == 401 { "Unauthorized" } else { "Not Found" };
    head(out, status, reason, &[("Content-Type", "application/json"), ("X-Error-Code", code), ("X-Error-Message", message)], body.as_bytes(), false)
}

fn head(out: &mut TcpStream, status: u16, reason: &str, headers: &[(&str, &str)], body: &[u8], is_head: bool) -> std::io::Result<()> {
    let mut h = format!("HTTP/1.1 {status} {reason}\r\nContent-Length: {}\r\nConnection: close\r\n", body.len());
    for (k, v) in headers {
        h.push_str(&format!("{k}: {v}\r\n"));
    }
    h.push_str("\r\n");
    out.write_all(h.as_bytes())?;
    if !is_head {
        out.write_all(body)?;
    }
    out.flush()?;
    let _ = out.shutdown(std::net::Shutdown::Write);
    let mut sink = [0u8; 256];
    let _ = out.set_read_timeout(Some(Duration::from_millis(200)));
    while matches!(out.read(&mut sink), Ok(n) if n > 0) {}
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Running albert with a deadline (a hang is a failure, not a stuck test run)

fn albert_within(args: &[&str], env: &[(&str, &str)], limit: Duration) -> (Out, Duration) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_albert"));
    cmd.args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
    if std::env::var_os("XDG_RUNTIME_DIR").is_none() {
        cmd.env("XDG_RUNTIME_DIR", std::env::temp_dir());
    }
    for v in ["http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"] {
        cmd.env_remove(v);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
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
