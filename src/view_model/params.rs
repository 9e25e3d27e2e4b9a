//! The page's URL parameters (model addresses: `model_url`).
//!
//! | parameter | meaning |
//! |---|---|
//! | `model=<base URL>` | load this Hugging Face-layout model instead of the embedded one |
//! | `text=<sentence>` | the sentence to start with |
//! | `backend=cpu` | skip WebGPU and run on the CPU (wasm); `webgpu`/`auto` = default |
//! | `k=<1..20>` | predictions per `[MASK]` (default 5) |
//! | `bench=1` | benchmark mode: time forwards instead of filling masks |
//! | `n=8,32,128` | benchmark sequence lengths |
//! | `runs=<N>` / `warmup=<N>` | benchmark timed runs (default 10) and warm-up runs (default 2) |
//! | `profile=1` | benchmark on WebGPU: also time every dispatch (timestamp queries), by stage |
//! | `hub=<URL>` | the Hugging Face Hub's address (a mirror, or a test server); default `view_model::hub::DEFAULT_HUB` |
//! | `depth=<K>` | run K layer applications instead of L (clamped to the model's `max_depth`) |
//! | `off=3.0:5,1.0:0` | heads switched off (`layer.inner:head`, as `albert fill --ablate`) |
//! | `ca=` / `cb=` | the side-by-side card's sentences A and B (either opens the card) |
//! | `layer=3` / `layer=3.1` and `head=2` / `head=mean` | the attention heatmap's layer (from 1; `.inner` with inner groups) and head |
//! | `view=<section>` | scroll to this view once the first prediction is in (`SHARE_VIEWS`) |
//! | `kernels=gpu` / `kernels=emulated` | WebGPU: run real GPUs' kernels or the CPU emulators' whatever the adapter (`albert::gpu::Tuning`; by default SwiftShader gets the emulators'): lets the browser tests run real GPUs' WGSL through Chromium's compiler |
//! | `bridge=0` | WebGPU: wait for the GPU's pipelines before the first prediction instead of answering from the CPU meanwhile (`view_model::bridge`) |
//! | `simd=128` | the CPU path: the worker built for WebAssembly SIMD only, even where the browser has relaxed SIMD (whose fused multiply-add the default takes there: `cpu_module`) |
//! | `threads=<1..16>` | the CPU path's threads (the worker and its helpers); default: the device's cores, at most 4, where the page is cross-origin isolated, else 1 |

/// Which backend the user asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum BackendChoice {
    /// WebGPU when an adapter is granted, else the CPU.
    #[default]
    Auto,
    /// Never touch WebGPU.
    Cpu,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Params {
    pub model: Option<String>,
    /// `?hub=`: the Hub's address as given (checked by `hub::hub_base`).
    pub hub: Option<String>,
    pub text: Option<String>,
    pub backend: BackendChoice,
    pub top_k: usize,
    pub bench: bool,
    pub bench_lengths: Vec<usize>,
    pub bench_runs: usize,
    pub bench_warmup: usize,
    pub bench_profile: bool,
    /// `?depth=`: layer applications (≥ 1; the model clamps it).
    pub depth: Option<usize>,
    /// `?off=`: heads switched off, in the order given, without duplicates.
    pub off: Vec<albert::HeadSwitch>,
    /// `?ca=` / `?cb=`: the side-by-side sentences.
    pub compare_a: Option<String>,
    pub compare_b: Option<String>,
    /// `?layer=`: (layer from 1, inner layer from 0).
    pub layer: Option<(usize, usize)>,
    /// `?head=`.
    pub head: Option<crate::view_model::attention::layer::HeadSel>,
    /// `?view=`: one of `SHARE_VIEWS`' ids.
    pub view: Option<String>,
    /// `?threads=`: the CPU path's threads, 1 to `MAX_THREADS`.
    pub threads: Option<usize>,
    /// `?simd=128`: the CPU worker without relaxed SIMD.
    pub plain_simd: bool,
    /// `?bridge=0` turns it off: the CPU answers while WebGPU compiles (`view_model::bridge`).
    pub bridge: bool,
}

/// The views a shared link can open at: (`data-testid` of the section, its name).
pub const SHARE_VIEWS: [(&str, &str); 10] = [
    ("heatmap", "Attention heatmap"),
    ("head-view", "Head view"),
    ("model-view", "Model view"),
    ("rollout", "Attention rollout"),
    ("lens", "Logit lens"),
    ("drift", "Drift"),
    ("head-switches", "Head switches"),
    ("neuron-view", "Neuron view"),
    ("compare", "Compare two sentences"),
    ("order", "Sentence order"),
];

/// `3` → (3, 0), `3.1` → (3, 1); layers count from 1.
pub fn parse_layer(s: &str) -> Option<(usize, usize)> {
    let (l, j) = match s.trim().split_once('.') {
        Some((l, j)) => (l.parse().ok()?, j.parse().ok()?),
        None => (s.trim().parse().ok()?, 0),
    };
    (l >= 1).then_some((l, j))
}

/// The `?layer=` value of (layer from 1, inner): `3`, or `3.1` when the model has inner groups.
pub fn format_layer(layer: usize, inner: usize, inner_groups: bool) -> String {
    if inner_groups {
        format!("{layer}.{inner}")
    } else {
        layer.to_string()
    }
}

pub const DEFAULT_TOP_K: usize = 5;
pub const MAX_TOP_K: usize = 20;
pub const DEFAULT_BENCH_LENGTHS: [usize; 3] = [8, 32, 128];
/// The most threads `?threads=` may ask of the CPU path.
pub const MAX_THREADS: usize = 16;

impl Default for Params {
    fn default() -> Self {
        Params {
            model: None,
            hub: None,
            text: None,
            backend: BackendChoice::Auto,
            top_k: DEFAULT_TOP_K,
            bench: false,
            bench_lengths: DEFAULT_BENCH_LENGTHS.to_vec(),
            bench_runs: 10,
            bench_warmup: 2,
            bench_profile: false,
            depth: None,
            off: Vec::new(),
            compare_a: None,
            compare_b: None,
            layer: None,
            head: None,
            view: None,
            threads: None,
            plain_simd: false,
            bridge: true,
        }
    }
}

/// Decodes `application/x-www-form-urlencoded` text: `+` is a space, `%XX` a byte.
pub fn decode_component(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() && bytes[i + 1].is_ascii_hexdigit() && bytes[i + 2].is_ascii_hexdigit() => {
                let hex = |c: u8| (c as char).to_digit(16).unwrap_or(0) as u8;
                out.push(hex(bytes[i + 1]) * 16 + hex(bytes[i + 2]));
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Percent-encodes a query value (spaces as `%20`; brackets kept readable).
pub fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'[' | b']' | b'/' | b':' | b',' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// `(key, value)` pairs of a query string (with or without the leading `?`).
pub fn query_pairs(query: &str) -> Vec<(String, String)> {
    query
        .trim_start_matches('?')
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (decode_component(k), decode_component(v)),
            None => (decode_component(p), String::new()),
        })
        .collect()
}

/// `?kernels=`: the kernel set to force on WebGPU (`None`: the adapter's own, the default).
pub fn kernels_choice(query: &str) -> Option<albert::gpu::Tuning> {
    query_pairs(query).into_iter().find(|(k, _)| k == "kernels").and_then(|(_, v)| match v.trim() {
        "gpu" => Some(albert::gpu::Tuning::Gpu),
        "emulated" => Some(albert::gpu::Tuning::Emulated),
        _ => None,
    })
}

/// Parses the page's query string. Unknown keys are ignored; bad values fall back to defaults.
pub fn parse_query(query: &str) -> Params {
    let mut p = Params::default();
    for (k, v) in query_pairs(query) {
        match k.as_str() {
            "model" if !v.trim().is_empty() => p.model = Some(v.trim().to_string()),
            "hub" if !v.trim().is_empty() => p.hub = Some(v.trim().to_string()),
            "text" => p.text = Some(v),
            "backend" | "device" => {
                p.backend = if v.eq_ignore_ascii_case("cpu") { BackendChoice::Cpu } else { BackendChoice::Auto }
            }
            "k" | "top_k" => {
                if let Ok(k) = v.trim().parse::<usize>() {
                    p.top_k = k.clamp(1, MAX_TOP_K);
                }
            }
            "bench" => p.bench = !matches!(v.trim(), "0" | "false" | "no"),
            "profile" => p.bench_profile = !matches!(v.trim(), "0" | "false" | "no"),
            "bridge" => p.bridge = !matches!(v.trim(), "0" | "false" | "no"),
            "n" | "seq" => {
                let lens: Vec<usize> =
                    v.split(',').filter_map(|s| s.trim().parse::<usize>().ok()).filter(|&n| n >= 1).collect();
                if !lens.is_empty() {
                    p.bench_lengths = lens;
                }
            }
            "runs" => {
                if let Ok(n) = v.trim().parse::<usize>() {
                    p.bench_runs = n.clamp(1, 1000);
                }
            }
            "ca" => p.compare_a = Some(v),
            "layer" => p.layer = parse_layer(&v),
            "head" => p.head = crate::view_model::attention::layer::HeadSel::parse(v.trim()),
            "view" => p.view = SHARE_VIEWS.iter().find(|(id, _)| *id == v.trim()).map(|(id, _)| id.to_string()),
            "cb" => p.compare_b = Some(v),
            "depth" => p.depth = v.trim().parse::<usize>().ok().filter(|&d| d >= 1),
            "simd" => p.plain_simd = v.trim() == "128",
            "threads" => p.threads = v.trim().parse::<usize>().ok().filter(|&n| n >= 1).map(|n| n.min(MAX_THREADS)),
            "off" => p.off = crate::view_model::inside::switches::parse_list(&v),
            "warmup" => {
                if let Ok(n) = v.trim().parse::<usize>() {
                    p.bench_warmup = n.min(100);
                }
            }
            _ => {}
        }
    }
    p
}

/// Returns `query` with `key` set to `value` (or removed when `None`), other keys kept in order.
pub fn with_param(query: &str, key: &str, value: Option<&str>) -> String {
    let mut pairs: Vec<(String, String)> = query_pairs(query).into_iter().filter(|(k, _)| k != key).collect();
    if let Some(v) = value {
        pairs.push((key.to_string(), v.to_string()));
    }
    if pairs.is_empty() {
        return String::new();
    }
    let body: Vec<String> = pairs.iter().map(|(k, v)| format!("{}={}", encode_component(k), encode_component(v))).collect();
    format!("?{}", body.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_parameter() {
        let p = parse_query("?model=https%3A%2F%2Fexample.org%2Fm%2F&text=Paris+is+the+%5BMASK%5D.&backend=cpu&k=3&bench=1&n=8,%2064,x&runs=5&warmup=0&profile=1");
        assert_eq!(p.model.as_deref(), Some("https://example.org/m/"));
        assert_eq!(p.text.as_deref(), Some("Paris is the [MASK]."));
        assert_eq!(p.backend, BackendChoice::Cpu);
        assert_eq!(p.top_k, 3);
        assert!(p.bench);
        assert_eq!(p.bench_lengths, vec![8, 64]);
        assert_eq!((p.bench_runs, p.bench_warmup), (5, 0));
        assert!(p.bench_profile);
    }

    #[test]
    fn kernels_choice_forces_a_set_or_leaves_the_adapters() {
        use albert::gpu::Tuning;
        assert_eq!(kernels_choice("?kernels=gpu&text=x"), Some(Tuning::Gpu));
        assert_eq!(kernels_choice("kernels=emulated"), Some(Tuning::Emulated));
        assert_eq!(kernels_choice("kernels=fast"), None);
        assert_eq!(kernels_choice("text=kernels%3Dgpu"), None);
    }

    #[test]
    fn defaults_and_bad_values() {
        assert_eq!(parse_query(""), Params::default());
        let p = parse_query("k=0&n=&runs=abc&backend=webgpu&bench=0&model=");
        assert_eq!(p.top_k, 1);
        assert_eq!(p.bench_lengths, DEFAULT_BENCH_LENGTHS.to_vec());
        assert_eq!(p.bench_runs, 10);
        assert_eq!(p.backend, BackendChoice::Auto);
        assert!(!p.bench);
        assert!(!p.bench_profile, "off unless asked");
        assert!(!parse_query("bench=1&profile=0").bench_profile);
        assert!(p.bridge, "the bridge is on unless turned off");
        assert!(!parse_query("bridge=0").bridge && !parse_query("bridge=no").bridge && parse_query("bridge=1").bridge);
        assert_eq!(p.model, None);
        assert_eq!(parse_query("k=999").top_k, MAX_TOP_K);
        // A stray % is kept.
        assert_eq!(parse_query("text=100%").text.as_deref(), Some("100%"));
        assert_eq!(parse_query("text=%E2%96%81x%2").text.as_deref(), Some("▁x%2"));
    }

    #[test]
    fn sets_and_removes_params() {
        assert_eq!(with_param("?a=1&text=x", "text", Some("The [MASK] sat.")), "?a=1&text=The%20[MASK]%20sat.");
        assert_eq!(with_param("?text=x", "text", None), "");
        let q = with_param("", "model", Some("https://h.co/a b/"));
        assert_eq!(parse_query(&q).model.as_deref(), Some("https://h.co/a b/"));
        let q = with_param("", "text", Some("50% & more = fine?"));
        assert_eq!(parse_query(&q).text.as_deref(), Some("50% & more = fine?"));
    }

    #[test]
    fn hub_address() {
        assert_eq!(parse_query("?hub=http%3A%2F%2F127.0.0.1%3A5").hub.as_deref(), Some("http://127.0.0.1:5"));
        assert_eq!(parse_query("?hub=").hub, None);
    }

    #[test]
    fn shared_view_layer_head() {
        use crate::view_model::attention::layer::HeadSel;
        let p = parse_query("layer=3.1&head=mean&view=lens");
        assert_eq!((p.layer, p.head, p.view.as_deref()), (Some((3, 1)), Some(HeadSel::Mean), Some("lens")));
        let p = parse_query("layer=2&head=5&view=nowhere");
        assert_eq!((p.layer, p.head, p.view), (Some((2, 0)), Some(HeadSel::Head(5)), None), "unknown views are ignored");
        assert_eq!(parse_query("layer=0").layer, None, "layers count from 1");
        assert_eq!(parse_query("layer=x.1").layer, None);
        assert_eq!((format_layer(3, 1, true), format_layer(3, 0, false)), ("3.1".to_string(), "3".to_string()));
    }

    #[test]
    fn depth_and_switches() {
        let p = parse_query("?depth=3&off=3.0%3A5,1.0:0,junk,3.0:5");
        assert_eq!(p.depth, Some(3));
        let off: Vec<String> = p.off.iter().map(|s| s.to_string()).collect();
        assert_eq!(off, ["3.0:5", "1.0:0"], "bad entries dropped, duplicates once");
        assert_eq!(parse_query("depth=0").depth, None);
        let c = parse_query("ca=The+doctor+said+%5BMASK%5D.&cb=");
        assert_eq!((c.compare_a.as_deref(), c.compare_b.as_deref()), (Some("The doctor said [MASK]."), Some("")));
        assert_eq!(parse_query("depth=x").depth, None);
        let q = with_param("", "off", Some("3.0:5,1.0:0"));
        assert_eq!(q, "?off=3.0:5,1.0:0", "readable in the address bar");
    }

    #[test]
    fn threads() {
        assert_eq!(parse_query("threads=2").threads, Some(2));
        assert_eq!(parse_query("threads=99").threads, Some(MAX_THREADS));
        assert_eq!(parse_query("threads=0").threads, None);
        assert_eq!(parse_query("threads=two").threads, None);
        assert_eq!(parse_query("").threads, None);
    }

    #[test]
    fn simd() {
        assert!(parse_query("simd=128").plain_simd);
        assert!(!parse_query("").plain_simd && !parse_query("simd=relaxed").plain_simd && !parse_query("simd=12").plain_simd);
    }
}
