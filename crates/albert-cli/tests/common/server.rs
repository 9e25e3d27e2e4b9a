//! A loopback HTTP/1.1 file server for the CLI's download tests: one folder's files on
//! 127.0.0.1, canned answers for chosen paths (a status, or a body shorter than announced), a log
//! of what was asked, and the pieces a test's own server answers with. Std only.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// A canned answer for one path, instead of the file.
#[derive(Clone)]
pub enum Reply {
    /// This status and body.
    Status(u16, Vec<u8>),
    /// 200 with a Content-Length larger than the body, then the connection closes.
    ShortBody { declared: usize, body: Vec<u8> },
}

/// Serves the files of one folder on 127.0.0.1 (GET and HEAD; 404 for anything missing), one
/// thread per connection, `Connection: close`. Stops when dropped.
pub struct Server {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
    log: Arc<Mutex<Vec<String>>>,
}

impl Server {
    pub fn serve(root: impl Into<PathBuf>) -> Server {
        Server::with_replies(root, HashMap::new())
    }

    /// `replies` maps a file name (path without the leading slash) to a canned answer.
    pub fn with_replies(root: impl Into<PathBuf>, replies: HashMap<String, Reply>) -> Server {
        let root: PathBuf = root.into();
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let log = Arc::new(Mutex::new(Vec::new()));
        let (stop2, log2) = (stop.clone(), log.clone());
        let replies = Arc::new(replies);
        let handle = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = conn else { continue };
                let (root, log, replies) = (root.clone(), log2.clone(), replies.clone());
                std::thread::spawn(move || {
                    let _ = handle_conn(stream, &root, &log, &replies);
                });
            }
        });
        Server { addr, stop, handle: Some(handle), log }
    }

    /// `http://127.0.0.1:PORT` (no trailing slash).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Request targets seen so far ("GET /config.json").
    pub fn requests(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

fn handle_conn(stream: TcpStream, root: &Path, log: &Mutex<Vec<String>>, replies: &HashMap<String, Reply>) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    stream.set_write_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Ok(()); // the wake-up connection from Drop, or a client that gave up
    }
    // Skip the headers (no request bodies are expected: GET/HEAD only).
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h == "\r\n" || h == "\n" {
            break;
        }
    }
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or("/"));
    log.lock().unwrap().push(format!("{method} {target}"));
    let mut out = stream;
    let name = target.split(['?', '#']).next().unwrap_or("").trim_start_matches('/');
    if method != "GET" && method != "HEAD" {
        return respond(&mut out, 405, b"method not allowed", None, false);
    }
    let head = method == "HEAD";
    if let Some(r) = replies.get(name) {
        return match r {
            Reply::Status(code, body) => respond(&mut out, *code, body, None, head),
            Reply::ShortBody { declared, body } => respond(&mut out, 200, body, Some(*declared), head),
        };
    }
    let safe = !name.is_empty() && !name.split('/').any(|c| c == ".." || c.is_empty()) && !name.contains('\\');
    let path = root.join(name);
    match std::fs::read(&path) {
        Ok(bytes) if safe && path.is_file() => respond(&mut out, 200, &bytes, None, head),
        _ => respond(&mut out, 404, format!("404: /{name} not found").as_bytes(), None, head),
    }
}

fn respond(out: &mut TcpStream, code: u16, body: &[u8], declared: Option<usize>, head: bool) -> std::io::Result<()> {
    let reason = match code {
        200 => "OK",
        404 => "Not Found",
        405 => "Method Not Allowed",
        500 => "Internal Server Error",
        _ => "Status",
    };
    let len = declared.unwrap_or(body.len());
    write_head(out, code, reason, len, &[("Content-Type", "application/octet-stream")])?;
    if !head {
        out.write_all(body)?;
    }
    finish(out)
}

/// An HTTP/1.1 answer's status line and headers, for a connection closed after it:
/// `Content-Length: len` (a test may announce more than it sends), then `headers`.
pub fn write_head(out: &mut TcpStream, status: u16, reason: &str, len: usize, headers: &[(&str, &str)]) -> std::io::Result<()> {
    let mut h = format!("HTTP/1.1 {status} {reason}\r\nContent-Length: {len}\r\nConnection: close\r\n");
    for (k, v) in headers {
        h.push_str(&format!("{k}: {v}\r\n"));
    }
    h.push_str("\r\n");
    out.write_all(h.as_bytes())
}

/// Ends an answer: flushes, closes the writing half, and drains what the client may still send,
/// so closing does not reset the connection under it.
pub fn finish(out: &mut TcpStream) -> std::io::Result<()> {
    out.flush()?;
    let _ = out.shutdown(std::net::Shutdown::Write);
    let mut sink = [0u8; 256];
    let _ = out.set_read_timeout(Some(Duration::from_millis(200)));
    while matches!(out.read(&mut sink), Ok(n) if n > 0) {}
    Ok(())
}

/// A loopback port that nothing listens on (bound, then released).
pub fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let p = l.local_addr().unwrap().port();
    drop(l);
    p
}
