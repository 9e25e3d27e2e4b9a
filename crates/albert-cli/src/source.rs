//! Where `--model` points: a folder in Hugging Face's layout, or a base URL under which the
//! same files live (e.g. https://huggingface.co/albert/albert-base-v2/resolve/main).

use albert::{Error, ModelFiles};
use std::io::Read;

pub fn is_url(model: &str) -> bool {
    model.starts_with("http://") || model.starts_with("https://")
}

pub fn load(model: &str, quiet: bool) -> albert::Result<ModelFiles> {
    if !is_url(model) {
        return ModelFiles::from_dir(model);
    }
    let base = model.trim_end_matches('/').to_string();
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    pollster::block_on(ModelFiles::fetch(|name: String| {
        let url = format!("{base}/{name}");
        let agent = agent.clone();
        async move { fetch(&agent, &url, quiet) }
    }))
}

fn fetch(agent: &ureq::Agent, url: &str, quiet: bool) -> albert::Result<Option<Vec<u8>>> {
    let mut resp = agent.get(url).call().map_err(|e| Error::Io(format!("cannot fetch {url}: {e}")))?;
    let status = resp.status().as_u16();
    if status == 404 {
        return Ok(None);
    }
    if status != 200 {
        return Err(Error::Io(format!("{url} answered HTTP {status}; expected 200 (or 404 for an absent optional file)")));
    }
    let total: Option<u64> = resp.headers().get("content-length").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok());
    let mut reader = resp.body_mut().with_config().limit(u64::MAX).reader();
    let mut out = Vec::with_capacity(total.unwrap_or(0) as usize);
    let mut buf = vec![0u8; 1 << 16];
    let mut last = 0usize;
    loop {
        let n = reader.read(&mut buf).map_err(|e| Error::Io(format!("download of {url} broke off: {e}")))?;
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
        if !quiet && out.len() - last > (4 << 20) {
            last = out.len();
            match total {
                Some(t) => eprint!("\r{url}: {} / {} MB", out.len() >> 20, t >> 20),
                None => eprint!("\r{url}: {} MB", out.len() >> 20),
            }
        }
    }
    if !quiet && last > 0 {
        eprintln!();
    }
    if let Some(t) = total {
        if out.len() as u64 != t {
            return Err(Error::Io(format!("{url}: got {} bytes, expected {t}", out.len())));
        }
    }
    Ok(Some(out))
}
