//! Pure, target-independent logic behind the page: what the status element says
//! for each outcome of the WebGPU probe. Kept free of browser types so it is
//! unit-tested natively by `cargo test --workspace`.

/// The sentence the text box starts with.
pub const DEFAULT_SENTENCE: &str = "The capital of France is [MASK].";

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
    /// `None` while the probe is still running (the attribute is then absent).
    pub backend: Option<Backend>,
    pub state: LoadState,
    /// The line shown to the reader.
    pub detail: String,
}

impl Status {
    pub fn loading() -> Self {
        Status {
            backend: None,
            state: LoadState::Loading,
            detail: "Looking for a WebGPU adapter…".to_string(),
        }
    }

    pub fn from_probe(probe: &Probe) -> Self {
        match probe {
            Probe::Adapter(info) => Status {
                backend: Some(Backend::WebGpu),
                state: LoadState::Ready,
                detail: format!("WebGPU adapter: {}", info.summary()),
            },
            Probe::NoAdapter => Status {
                backend: Some(Backend::Cpu),
                state: LoadState::Ready,
                detail: "WebGPU is available but no adapter was granted; the model will run on the CPU."
                    .to_string(),
            },
            Probe::NoWebGpuApi => Status {
                backend: Some(Backend::Cpu),
                state: LoadState::Ready,
                detail: "This browser has no WebGPU (navigator.gpu is missing); the model will run on the CPU."
                    .to_string(),
            },
            Probe::Failed(reason) => Status {
                backend: Some(Backend::Cpu),
                state: LoadState::Error,
                detail: format!("WebGPU probe failed: {reason}"),
            },
        }
    }

    pub fn backend_attr(&self) -> Option<&'static str> {
        self.backend.map(Backend::as_str)
    }

    pub fn state_attr(&self) -> &'static str {
        self.state.as_str()
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
    fn adapter_means_webgpu_ready() {
        let s = Status::from_probe(&Probe::Adapter(swiftshader()));
        assert_eq!(s.backend_attr(), Some("webgpu"));
        assert_eq!(s.state_attr(), "ready");
        assert_eq!(s.detail, "WebGPU adapter: google · swiftshader · Google SwiftShader");
    }

    #[test]
    fn no_api_or_no_adapter_means_cpu_ready() {
        for probe in [Probe::NoWebGpuApi, Probe::NoAdapter] {
            let s = Status::from_probe(&probe);
            assert_eq!(s.backend_attr(), Some("cpu"), "{probe:?}");
            assert_eq!(s.state_attr(), "ready", "{probe:?}");
        }
    }

    #[test]
    fn failed_probe_is_an_error_on_cpu() {
        let s = Status::from_probe(&Probe::Failed("boom".into()));
        assert_eq!(s.backend_attr(), Some("cpu"));
        assert_eq!(s.state_attr(), "error");
        assert!(s.detail.contains("boom"));
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
}
