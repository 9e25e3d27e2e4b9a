//! Pure, target-independent logic behind the page, kept free of browser types so it is
//! unit-tested natively by `cargo test --workspace`: the status line and backend choice, URL
//! parameters and model addresses, the CPU bridge while WebGPU compiles, editing the sentence,
//! number formatting, ALBERT's savings, inference scheduling, the benchmark's statistics, the cache records, and
//! everything the attention views compute.

pub mod attention;
pub mod bench;
pub mod bridge;
pub mod calc;
pub mod compare;
pub mod crosscheck;
pub mod export;
pub mod format;
pub mod hub;
pub mod inside;
pub mod model_url;
pub mod params;
pub mod savings;
pub mod schedule;
pub mod store;
pub mod text;
pub mod window;

use params::BackendChoice;

/// The sentence the text box starts with.
pub const DEFAULT_SENTENCE: &str = "The capital of France is [MASK].";

/// The side-by-side card's starting pair: one word apart, the same number of tokens.
pub const COMPARE_EXAMPLE: (&str, &str) = ("The doctor said [MASK] was late.", "The nurse said [MASK] was late.");

/// The sentence-order card's starting pair, in its original order: the pair of the default
/// model's card and golden file (train/export.py `SOP_A`/`SOP_B`), whose "Then" makes the order
/// plain to a reader.
pub const ORDER_EXAMPLE: (&str, &str) = ("She opened the door and looked out into the rain.", "Then she closed it again and sat down by the fire.");

/// Example sentences to click: one mask, several masks, a sentence pair, a long text.
pub const EXAMPLES: [(&str, &str); 5] = [
    ("Capital", "The capital of France is [MASK]."),
    ("Two masks", "The [MASK] chased the [MASK] across the garden."),
    ("Sentence pair", "I forgot my umbrella this morning. [SEP] I got completely [MASK] on the way to work."),
    ("Coffee", "She poured a cup of [MASK] and sat down to read the newspaper."),
    (
        "Long text",
        "The history of the city goes back more than two thousand years. It was founded on an island in the \
         river, where a small tribe of fishermen built their first houses. Over the centuries it grew into one of \
         the largest and most [MASK] cities in Europe, famous for its art, its food and its many bridges. Today \
         millions of visitors come every year to walk along its streets, to visit its museums and to sit in its \
         cafes, watching the [MASK] go by.",
    ),
];
/// What the browser told us about its WebGPU adapter (`GPUAdapter.info`).
/// Browsers may blank any field for privacy, so every field can be empty.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AdapterInfo {
    pub vendor: String,
    pub architecture: String,
    pub device: String,
    pub description: String,
}

impl AdapterInfo {
    /// One human-readable line, e.g. `google · swiftshader · Google SwiftShader`.
    pub fn summary(&self) -> String {
        let mut parts: Vec<&str> = Vec::new();
        for field in [&self.vendor, &self.architecture, &self.device, &self.description] {
            let field = field.trim();
            if !field.is_empty() && !parts.iter().any(|p| p.eq_ignore_ascii_case(field)) {
                parts.push(field);
            }
        }
        if parts.is_empty() {
            "details hidden by the browser".to_string()
        } else {
            parts.join(" · ")
        }
    }
}

/// Outcome of probing `navigator.gpu.requestAdapter()`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Probe {
    /// `navigator.gpu` does not exist: the browser has no WebGPU.
    NoWebGpuApi,
    /// `navigator.gpu` exists but `requestAdapter()` resolved to `null`.
    NoAdapter,
    /// An adapter was granted.
    Adapter(AdapterInfo),
    /// The probe itself failed (the promise rejected, or the API misbehaved).
    Failed(String),
}

/// Where the model will run (`data-backend`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    WebGpu,
    Cpu,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::WebGpu => "webgpu",
            Backend::Cpu => "cpu",
        }
    }
}

/// Page life cycle (`data-state`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoadState {
    Loading,
    Ready,
    Error,
}

impl LoadState {
    pub fn as_str(self) -> &'static str {
        match self {
            LoadState::Loading => "loading",
            LoadState::Ready => "ready",
            LoadState::Error => "error",
        }
    }
}

/// Everything the status element shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    /// `None` until the backend is chosen (the attribute is then absent).
    pub backend: Option<Backend>,
    pub state: LoadState,
    /// The line shown to the reader.
    pub detail: String,
}

impl Status {
    pub fn loading() -> Self {
        Status { backend: None, state: LoadState::Loading, detail: "Looking for a WebGPU adapter…".to_string() }
    }

    pub fn new(backend: Option<Backend>, state: LoadState, detail: impl Into<String>) -> Self {
        Status { backend, state, detail: detail.into() }
    }

    pub fn backend_attr(&self) -> Option<&'static str> {
        self.backend.map(Backend::as_str)
    }

    pub fn state_attr(&self) -> &'static str {
        self.state.as_str()
    }
}

/// Where the model will run, and the notice to show when it is not WebGPU.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackendDecision {
    pub backend: Backend,
    /// The adapter line (WebGPU) or why the CPU is used.
    pub detail: String,
    /// A visible notice for CPU mode.
    pub notice: Option<String>,
}

const CPU_SLOWER: &str = "The model runs on the CPU (WebAssembly, one thread): the same numbers, only slower.";

/// Chooses the backend from the user's choice and the adapter probe.
pub fn decide_backend(choice: BackendChoice, probe: &Probe) -> BackendDecision {
    let cpu = |why: String| BackendDecision {
        backend: Backend::Cpu,
        detail: why.clone(),
        notice: Some(format!("{why} {CPU_SLOWER}")),
    };
    if choice == BackendChoice::Cpu {
        return cpu("CPU requested (?backend=cpu).".into());
    }
    match probe {
        Probe::Adapter(info) => BackendDecision {
            backend: Backend::WebGpu,
            detail: format!("WebGPU adapter: {}", info.summary()),
            notice: None,
        },
        Probe::NoAdapter => cpu("WebGPU is available but no adapter was granted.".into()),
        Probe::NoWebGpuApi => cpu("This browser has no WebGPU (navigator.gpu is missing).".into()),
        Probe::Failed(reason) => cpu(format!("WebGPU failed: {reason}.")),
    }
}

/// A WebGPU device that failed after a good probe (device refused, pipelines failed) falls back too.
pub fn gpu_failed(reason: &str) -> BackendDecision {
    BackendDecision {
        backend: Backend::Cpu,
        detail: format!("WebGPU failed: {reason}"),
        notice: Some(format!("WebGPU failed ({reason}); falling back. {CPU_SLOWER}")),
    }
}

/// After a lost device was replaced: the same backend, and a notice of what happened.
pub fn device_recreated(previous: Option<&BackendDecision>, reason: &str, ms: f64) -> BackendDecision {
    let mut d = previous.cloned().unwrap_or(BackendDecision { backend: Backend::WebGpu, detail: "WebGPU".into(), notice: None });
    d.notice = Some(format!(
        "The GPU device was lost ({reason}). A new device, its pipelines and the weights (from memory) were set up again in {}; nothing you typed was lost.",
        format::millis(ms)
    ));
    d
}

/// After a lost device could not be replaced: the CPU, with both reasons.
pub fn device_lost_cpu(reason: &str, why: &str) -> BackendDecision {
    BackendDecision {
        backend: Backend::Cpu,
        detail: format!("WebGPU lost: {reason}"),
        notice: Some(format!("The GPU device was lost ({reason}) and a new one failed ({why}); the model now runs on the CPU. {CPU_SLOWER}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn swiftshader() -> AdapterInfo {
        AdapterInfo {
            vendor: "google".into(),
            architecture: "swiftshader".into(),
            device: "".into(),
            description: "Google SwiftShader".into(),
        }
    }

    #[test]
    fn default_sentence_has_one_mask() {
        assert_eq!(DEFAULT_SENTENCE.matches("[MASK]").count(), 1);
    }

    #[test]
    fn loading_has_no_backend_yet() {
        let s = Status::loading();
        assert_eq!(s.state_attr(), "loading");
        assert_eq!(s.backend_attr(), None);
    }

    #[test]
    fn adapter_means_webgpu() {
        let d = decide_backend(BackendChoice::Auto, &Probe::Adapter(swiftshader()));
        assert_eq!(d.backend, Backend::WebGpu);
        assert_eq!(d.detail, "WebGPU adapter: google · swiftshader · Google SwiftShader");
        assert_eq!(d.notice, None);
    }

    #[test]
    fn no_api_no_adapter_failure_or_choice_mean_cpu_with_a_notice() {
        for (choice, probe, needle) in [
            (BackendChoice::Auto, Probe::NoWebGpuApi, "no WebGPU"),
            (BackendChoice::Auto, Probe::NoAdapter, "no adapter was granted"),
            (BackendChoice::Auto, Probe::Failed("boom".into()), "boom"),
            (BackendChoice::Cpu, Probe::Adapter(swiftshader()), "?backend=cpu"),
        ] {
            let d = decide_backend(choice, &probe);
            assert_eq!(d.backend, Backend::Cpu, "{probe:?}");
            assert!(d.detail.contains(needle), "{probe:?}: {}", d.detail);
            assert!(d.notice.unwrap().contains("slower"));
        }
        assert!(gpu_failed("device lost").notice.unwrap().contains("device lost"));
        let web = BackendDecision { backend: Backend::WebGpu, detail: "SwiftShader".into(), notice: None };
        let again = device_recreated(Some(&web), "Destroyed", 42.0);
        assert_eq!((again.backend, again.detail.as_str()), (Backend::WebGpu, "SwiftShader"), "still WebGPU, same adapter line");
        assert!(again.notice.as_deref().is_some_and(|n| n.contains("lost (Destroyed)") && n.contains(&format::millis(42.0))), "{again:?}");
        let cpu = device_lost_cpu("Destroyed", "no adapter");
        assert_eq!(cpu.backend, Backend::Cpu);
        assert!(cpu.notice.as_deref().is_some_and(|n| n.contains("(Destroyed)") && n.contains("(no adapter)") && n.contains("on the CPU")));
    }

    #[test]
    fn examples_have_masks() {
        for (_, e) in EXAMPLES {
            assert!(text::count_masks(e) >= 1, "{e}");
        }
        assert!(text::is_pair(EXAMPLES[2].1));
        assert!(!EXAMPLES[4].1.contains("  "));
    }

    #[test]
    fn summary_skips_blank_and_duplicate_fields() {
        let info = AdapterInfo {
            vendor: "nvidia".into(),
            architecture: " ".into(),
            device: "NVIDIA".into(),
            description: "NVIDIA H100".into(),
        };
        assert_eq!(info.summary(), "nvidia · NVIDIA H100");
        assert_eq!(AdapterInfo::default().summary(), "details hidden by the browser");
    }

    /// A safetensors file with one `[1]` tensor per dtype (zero bytes), headers as transformers
    /// writes them.
    fn safetensors_of(dtypes: &[&str]) -> Vec<u8> {
        let mut h = serde_json::Map::new();
        h.insert("__metadata__".into(), serde_json::json!({"format": "pt"}));
        let mut offset = 0;
        for (i, d) in dtypes.iter().enumerate() {
            let size = match *d {
                "F16" | "BF16" => 2,
                "F32" => 4,
                _ => 8,
            };
            h.insert(format!("t{i}"), serde_json::json!({"dtype": d, "shape": [1], "data_offsets": [offset, offset + size]}));
            offset += size;
        }
        let header = serde_json::to_vec(&h).unwrap();
        let mut out = (header.len() as u64).to_le_bytes().to_vec();
        out.extend(header);
        out.extend(vec![0u8; offset]);
        out
    }

    /// The dtype the app compiles WGSL pipelines for before the weights are parsed (the
    /// engine's `weights::header_dtype`): f16 only when every float tensor is f16.
    #[test]
    fn pipelines_dtype_from_the_headers() {
        use albert::weights::header_dtype;
        use albert::DType;
        let f16 = safetensors_of(&["F16", "F16", "I64"]);
        let f32 = safetensors_of(&["F32"]);
        let bf16 = safetensors_of(&["BF16"]);
        assert_eq!(header_dtype([f16.as_slice()]), Some(DType::F16));
        assert_eq!(header_dtype([f32.as_slice()]), Some(DType::F32));
        assert_eq!(header_dtype([bf16.as_slice()]), Some(DType::F32));
        assert_eq!(header_dtype([f16.as_slice(), f32.as_slice()]), Some(DType::F32));
        assert_eq!(header_dtype([&b"junk"[..]]), None);
        assert_eq!(header_dtype([safetensors_of(&["I64"]).as_slice()]), None);
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/crates/albert/tests/fixtures");
        let tiny = std::fs::read(format!("{dir}/tiny/model.safetensors")).unwrap();
        let half = std::fs::read(format!("{dir}/f16/model.safetensors")).unwrap();
        assert_eq!(header_dtype([tiny.as_slice()]), Some(DType::F32));
        assert_eq!(header_dtype([half.as_slice()]), Some(DType::F16));
    }
}
