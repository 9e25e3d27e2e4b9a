//! A loopback Hugging Face Hub for the download tests: the hub origin answers `resolve/main`
//! (302 to its CDN origin for LFS files) and the Hub's errors; the CDN origin serves byte ranges
//! and misbehaves on cue (`Fault`); both log what they were asked (`Seen`).

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::{finish, write_head};

/// Files the Hub stores in LFS and redirects to its CDN (as `hub-server.mjs`).
fn is_lfs(name: &str) -> bool {
    name.ends_with(".safetensors") || name.ends_with(".bin") || name == "spiece.model"
}

/// A misbehaviour for the next CDN answer of one file.
#[derive(Clone, Debug)]
pub enum Fault {
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
pub struct Seen {
    pub origin: &'static str,
    pub path: String,
    pub range: Option<String>,
    pub status: u16,
}

struct Shared {
    repos: HashMap<String, PathBuf>,
    gated: Vec<String>,
    faults: Mutex<HashMap<String, VecDeque<Fault>>>,
    log: Mutex<Vec<Seen>>,
    stop: AtomicBool,
    cdn: Mutex<String>,
}

pub struct Hub {
    shared: Arc<Shared>,
    addrs: Vec<SocketAddr>,
    pub url: String,
}

impl Hub {
    pub fn start(repos: &[(&str, &Path)], gated: &[&str]) -> Hub {
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
    pub fn base(&self, id: &str) -> String {
        format!("{}/{id}/resolve/main", self.url)
    }

    pub fn fault(&self, file: &str, faults: &[Fault]) {
        self.shared.faults.lock().unwrap().entry(file.to_string()).or_default().extend(faults.iter().cloned());
    }

    pub fn log(&self) -> Vec<Seen> {
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
            write_head(out, status, reason, body.len(), &headers)?;
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
    write_head(out, status, reason, body.len(), headers)?;
    if !is_head {
        out.write_all(body)?;
    }
    finish(out)
}
