//! Where `--model` points: a folder in Hugging Face's layout, or a base URL under which the
//! same files live (e.g. https://huggingface.co/albert/albert-base-v2/resolve/main).
//!
//! Downloads are guarded the way the app's are (`src/web.rs`): one file is at most
//! [`MAX_FILE_BYTES`], and memory is reserved as bytes arrive, never from what a server announces;
//! no byte for [`STALL`] (or `ALBERT_STALL_SECONDS`) is an error naming the file and the URL; a
//! connection that breaks after some bytes resumes with `Range: bytes=N-` (a 206 whose
//! `Content-Range` starts at N is appended, a 200 starts the file again); the Hub's 401/404
//! answers are told apart by their `X-Error-Code`.

use albert::{Error, ModelFiles};
use std::io::Read;
use std::time::{Duration, Instant};

/// The largest single file a download may be: 2 GiB − 1, the app's limit too (a wasm32 `Vec`
/// stops at `isize::MAX`), so a model that loads in one loads in the other. The largest released
/// ALBERT checkpoint, albert-xxlarge in f32, is about 0.9 GB; larger models come sharded.
pub const MAX_FILE_BYTES: u64 = (1 << 31) - 1;

/// A download that receives nothing for this long has stalled (a server that sends one byte a
/// minute would otherwise hold the command forever). `ALBERT_STALL_SECONDS` overrides it.
pub const STALL: Duration = Duration::from_secs(30);

/// Tries per file, the first included. Only a try that received bytes earns another, which
/// asks for the rest with a Range request.
const ATTEMPTS: usize = 3;

/// Memory reserved ahead of the bytes received: a `Content-Length` is only a claim, so it never
/// sizes an allocation by itself.
const RESERVE_AHEAD: u64 = 8 << 20;

pub fn is_url(model: &str) -> bool {
    model.starts_with("http://") || model.starts_with("https://")
}

/// The stall limit: `ALBERT_STALL_SECONDS` (seconds, fractions allowed) or [`STALL`].
pub fn stall_limit() -> Duration {
    std::env::var("ALBERT_STALL_SECONDS")
        .ok()
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s > 0.0 && *s < 1e6)
        .map(Duration::from_secs_f64)
        .unwrap_or(STALL)
}

pub fn load(model: &str, quiet: bool) -> albert::Result<ModelFiles> {
    if !is_url(model) {
        return ModelFiles::from_dir(model);
    }
    let base = model.trim_end_matches('/').to_string();
    let stall = stall_limit();
    // A per-read limit covers the headers and every body read; connecting has its own.
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_connect(Some(stall))
        .timeout_per_read(Some(stall))
        .build()
        .into();
    let result = pollster::block_on(ModelFiles::fetch(|name: String| {
        let url = format!("{base}/{name}");
        let agent = agent.clone();
        async move { fetch(&agent, &url, &name, stall, quiet) }
    }));
    // The engine's message does not know where it looked: say it.
    result.map_err(|e| match e {
        Error::Io(m) if m.starts_with("config.json not found") => {
            Error::Io(format!("{base}/config.json answered 404: {m}; is the URL the folder of the files (…/resolve/main)?"))
        }
        e => e,
    })
}

/// Why one try at a file ended early.
enum Broke {
    /// Nothing arrived for the stall limit.
    Stalled,
    /// The connection failed or closed early.
    Failed(String),
}

/// What one HTTP try gave.
enum Try {
    Done,
    /// 404 on the first try: the file does not exist.
    Absent,
    /// Ended early: keep the bytes and resume.
    Broke(Broke),
    /// The server cannot resume as asked: start the file again without Range.
    Restart,
}

fn fetch(agent: &ureq::Agent, url: &str, name: &str, stall: Duration, quiet: bool) -> albert::Result<Option<Vec<u8>>> {
    let mut out: Vec<u8> = Vec::new();
    let mut total: Option<u64> = None;
    let mut tries = 0;
    loop {
        tries += 1;
        let before = out.len();
        let outcome = one_try(agent, url, name, stall, quiet, &mut out, &mut total)?;
        let broke = match outcome {
            Try::Done => return Ok(Some(out)),
            Try::Absent => return Ok(None),
            Try::Restart => {
                out.clear();
                if tries < ATTEMPTS {
                    continue;
                }
                Broke::Failed("the server did not resume it".into())
            }
            Try::Broke(b) => b,
        };
        let got = match total {
            Some(t) => format!("{} of {t} bytes", out.len()),
            None => format!("{} bytes", out.len()),
        };
        // Another try only for progress: a server that stalls at once would stall again.
        if out.len() > before && tries < ATTEMPTS {
            if !quiet {
                eprintln!("{url}: interrupted after {got}; resuming");
            }
            continue;
        }
        return Err(Error::Io(match broke {
            Broke::Stalled => format!(
                "download of {name} from {url} stalled: no data for {} s ({got} received; ALBERT_STALL_SECONDS sets the limit)",
                secs(stall)
            ),
            Broke::Failed(why) => format!("download of {name} from {url} broke off after {got}: {why}"),
        }));
    }
}

fn secs(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{s:.0}")
    } else {
        format!("{s}")
    }
}

fn header(resp: &ureq::http::Response<ureq::Body>, name: &str) -> Option<String> {
    resp.headers().get(name).and_then(|v| v.to_str().ok()).map(|s| s.trim().to_string())
}

fn is_timeout(e: &ureq::Error) -> bool {
    match e {
        ureq::Error::Timeout(_) => true,
        ureq::Error::Io(io) => io.kind() == std::io::ErrorKind::TimedOut || io.kind() == std::io::ErrorKind::WouldBlock,
        _ => false,
    }
}

/// `bytes START-END/TOTAL` → (START, TOTAL); TOTAL may be `*` (unknown).
fn content_range(v: &str) -> Option<(u64, Option<u64>)> {
    let (range, total) = v.strip_prefix("bytes ")?.split_once('/')?;
    let start = range.split_once('-')?.0.trim().parse().ok()?;
    Some((start, total.trim().parse().ok()))
}

fn too_big(url: &str, bytes: u64) -> Error {
    Error::Io(format!(
        "{url} is {bytes} bytes, over the {MAX_FILE_BYTES}-byte limit for one model file (2 GiB; the largest ALBERT \
         checkpoint is about 0.9 GB, bigger models come sharded)"
    ))
}

/// One GET of `url`, appending to `out` (asking for the rest with Range when `out` has bytes).
fn one_try(
    agent: &ureq::Agent,
    url: &str,
    name: &str,
    stall: Duration,
    quiet: bool,
    out: &mut Vec<u8>,
    total: &mut Option<u64>,
) -> albert::Result<Try> {
    let resume = !out.is_empty();
    let mut req = agent.get(url);
    if resume {
        req = req.header("Range", &format!("bytes={}-", out.len()));
    }
    let mut resp = match req.call() {
        Ok(r) => r,
        Err(e) if is_timeout(&e) => return Ok(Try::Broke(Broke::Stalled)),
        Err(e) if resume => return Ok(Try::Broke(Broke::Failed(e.to_string()))),
        Err(e) => return Err(Error::Io(format!("cannot fetch {url}: {e}"))),
    };
    let status = resp.status().as_u16();
    let code = header(&resp, "x-error-code");
    let length: Option<u64> = header(&resp, "content-length").and_then(|v| v.parse().ok());
    match status {
        200 if resume => {
            // The server ignored Range: the whole file comes again.
            out.clear();
            *total = length;
        }
        200 => *total = length,
        206 if resume => {
            let range = header(&resp, "content-range").and_then(|v| content_range(&v));
            match range {
                Some((start, t)) if start == out.len() as u64 && (total.is_none() || t.is_none() || t == *total) => {
                    *total = t.or(*total);
                }
                // Another part, or another file: trust none of it.
                _ => return Ok(Try::Restart),
            }
        }
        416 if resume => return Ok(Try::Restart),
        404 if !resume && code.as_deref() != Some("RepoNotFound") => return Ok(Try::Absent),
        _ => return Err(http_error(url, name, status, code.as_deref(), header(&resp, "x-error-message").as_deref())),
    }
    if let Some(t) = *total {
        if t > MAX_FILE_BYTES {
            return Err(too_big(url, t));
        }
    }
    let mut reader = resp.body_mut().with_config().limit(u64::MAX).reader();
    if out.capacity() == 0 {
        out.reserve(total.unwrap_or(0).min(RESERVE_AHEAD) as usize);
    }
    let mut buf = vec![0u8; 1 << 16];
    let mut last = out.len();
    let mut last_byte = Instant::now();
    loop {
        let n = match reader.read(&mut buf) {
            Ok(n) => n,
            Err(e) => {
                let stalled = matches!(e.kind(), std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock)
                    || last_byte.elapsed() >= stall;
                if !quiet && last > 0 {
                    eprintln!();
                }
                return Ok(Try::Broke(if stalled { Broke::Stalled } else { Broke::Failed(e.to_string()) }));
            }
        };
        if n == 0 {
            break;
        }
        last_byte = Instant::now();
        if out.len() as u64 + n as u64 > total.unwrap_or(MAX_FILE_BYTES).min(MAX_FILE_BYTES) {
            return Err(match *total {
                Some(t) if t <= MAX_FILE_BYTES => {
                    Error::Io(format!("{url} sent more than the {t} bytes its Content-Length announced"))
                }
                _ => too_big(url, out.len() as u64 + n as u64),
            });
        }
        out.extend_from_slice(&buf[..n]);
        if !quiet && out.len() - last > (4 << 20) {
            last = out.len();
            match *total {
                Some(t) => eprint!("\r{url}: {} / {} MB", out.len() >> 20, t >> 20),
                None => eprint!("\r{url}: {} MB", out.len() >> 20),
            }
        }
    }
    if !quiet && last > 0 {
        eprintln!();
    }
    match *total {
        Some(t) if out.len() as u64 != t => Ok(Try::Broke(Broke::Failed(format!("the connection closed early (expected {t} bytes)")))),
        _ => Ok(Try::Done),
    }
}

/// A refusal in words: the Hub's `X-Error-Code` (GatedRepo, RepoNotFound, EntryNotFound) says
/// which, and its `X-Error-Message` is quoted.
fn http_error(url: &str, name: &str, status: u16, code: Option<&str>, message: Option<&str>) -> Error {
    let said = message.map(|m| format!(" The server says: \"{m}\"")).unwrap_or_default();
    Error::Io(match (status, code) {
        (401 | 403, Some("GatedRepo")) => format!(
            "{url}: the repository is gated (HTTP {status}, GatedRepo): the Hub serves its files only to signed-in users \
             who accepted its terms, and albert sends no token; download them with access and pass the folder.{said}"
        ),
        (401 | 404, Some("RepoNotFound")) => format!(
            "{url}: no such repository (HTTP {status}, RepoNotFound): it does not exist or is private; check the owner/name in the URL.{said}"
        ),
        (401 | 403, _) => format!("{url}: access refused (HTTP {status}): a private or gated model? albert sends no credentials.{said}"),
        (404, _) => format!("{url}: {name} is gone (HTTP 404 while resuming it).{said}"),
        _ => format!("{url} answered HTTP {status}; expected 200 (or 404 for an absent optional file).{said}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_range_is_parsed_or_refused() {
        assert_eq!(content_range("bytes 1000-1999/2000"), Some((1000, Some(2000))));
        assert_eq!(content_range("bytes 0-0/*"), Some((0, None)));
        assert_eq!(content_range("bytes */2000"), None, "an unsatisfied range names no start");
        assert_eq!(content_range("items 1-2/3"), None);
        assert_eq!(content_range(""), None);
    }

    #[test]
    fn the_cap_is_two_gib_minus_one() {
        assert_eq!(MAX_FILE_BYTES, i32::MAX as u64);
        let Error::Io(m) = too_big("http://h/m.safetensors", 3 << 30) else { panic!("an Io error") };
        assert!(m.contains("3221225472 bytes") && m.contains("2147483647-byte limit"), "{m}");
    }

    #[test]
    fn hub_refusals_in_words() {
        let text = |status, code, msg| match http_error("http://h/a/b/resolve/main/config.json", "config.json", status, code, msg) {
            Error::Io(m) => m,
            e => panic!("{e:?}"),
        };
        assert!(text(401, Some("GatedRepo"), Some("log in")).contains("gated (HTTP 401, GatedRepo)"));
        assert!(text(401, Some("GatedRepo"), Some("log in")).ends_with("The server says: \"log in\""));
        assert!(text(401, Some("RepoNotFound"), None).contains("no such repository"));
        assert!(text(404, Some("RepoNotFound"), None).contains("no such repository"));
        assert!(text(403, None, None).contains("access refused (HTTP 403)"));
        assert!(text(500, None, None).contains("answered HTTP 500"));
        assert_eq!(secs(Duration::from_millis(500)), "0.5");
        assert_eq!(secs(STALL), "30");
    }
}
