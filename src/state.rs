//! The page's reactive state: one `Copy` struct of signals shared through context.

use std::sync::Arc;

use leptos::prelude::*;

use crate::view_model::attention::{data::AttentionData, layer::HeadSel};
use crate::view_model::bench::BenchReport;
use crate::view_model::inside::lens::LensView;
use crate::view_model::inside::neuron::NeuronData;
use crate::view_model::params::Params;
use crate::view_model::schedule::{Debounce, Scheduler};
use crate::view_model::store::ModelRecord;
use crate::view_model::{BackendDecision, Status};

/// One file's line in the download list.
#[derive(Clone, Debug, PartialEq)]
pub struct FileProgress {
    pub name: String,
    pub loaded: u64,
    pub total: Option<u64>,
    pub state: FileState,
}

#[derive(Clone, Debug, PartialEq)]
pub enum FileState {
    Downloading,
    /// Fetched from the network (and stored in the cache).
    Downloaded,
    /// Read back from the browser cache and verified.
    Cached,
    /// Read from a local file.
    Local,
    /// Not on the server (optional files such as a sharded index).
    Absent,
    Failed(String),
}

impl FileState {
    pub fn attr(&self) -> &'static str {
        match self {
            FileState::Downloading => "downloading",
            FileState::Downloaded => "downloaded",
            FileState::Cached => "cached",
            FileState::Local => "local",
            FileState::Absent => "absent",
            FileState::Failed(_) => "failed",
        }
    }
}

/// What the adapter and device look like, for the backend panel.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct GpuView {
    /// `GPUAdapter.info` summary.
    pub adapter: String,
    /// wgpu's own description of the device.
    pub device: String,
    /// (limit name, value) requested for the device: the adapter's own limits.
    pub limits: Vec<(&'static str, String)>,
    /// The adapter offers `shader-f16`.
    pub shader_f16: bool,
}

/// Timings of the last model load, in ms.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct LoadTimings {
    pub files_ms: f64,
    pub compile_ms: Option<f64>,
    pub init_ms: f64,
    pub first_forward_ms: Option<f64>,
    /// The CPU bridge's model, answering while WebGPU gets ready (`view_model::bridge`).
    pub bridge: bool,
}

/// The loaded model, as the page describes it.
#[derive(Clone, Debug)]
pub struct ModelView {
    /// Plain words: "Embedded default model: …", a URL, or local file names.
    pub label: String,
    pub source: String,
    pub info: albert::ModelInfo,
    /// Bytes of every file read (weights, tokenizer, config).
    pub download_bytes: u64,
    /// Bytes of weights resident on the GPU (None on the CPU).
    pub gpu_weight_bytes: Option<u64>,
    /// Everything came from the browser cache.
    pub from_cache: bool,
    pub timings: LoadTimings,
    /// Why the CPU–GPU cross-check cannot run for this model (`None`: it can).
    pub crosscheck_off: Option<String>,
    /// Its held-out scores where the build knows them (the embedded model).
    pub heldout: Option<crate::view_model::store::Heldout>,
}

/// One prediction for display.
#[derive(Clone, Debug, PartialEq)]
pub struct PredictionView {
    /// Vocabulary entry (`▁paris`): `data-token`.
    pub token: String,
    /// As shown (`" paris"`): used to put it in the sentence.
    pub display: String,
    pub id: u32,
    pub prob: f32,
}

#[derive(Clone, Debug, PartialEq)]
pub struct MaskView {
    /// Token position (`data-position`).
    pub position: usize,
    pub predictions: Vec<PredictionView>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct TokenView {
    pub text: String,
    /// Vocabulary entry (`▁paris`) and id, as the CLI prints them (for exports).
    pub piece: String,
    pub id: u32,
    pub type_id: u32,
    pub special: bool,
    pub mask: bool,
}

/// What one forward showed of ALBERT's insides: how deep it ran, with which heads off, the
/// logit lens of each [MASK], the drift per layer and the neuron view's head.
#[derive(Clone, Debug, PartialEq)]
pub struct InsideView {
    /// Layer applications run (K).
    pub depth: usize,
    /// The model's `num_hidden_layers` (L) and the most it may run (`Config::max_depth`).
    pub layers: usize,
    pub max_depth: usize,
    pub inner: usize,
    pub heads: usize,
    /// The switches this forward applied (those of `AppState::switches` it could honour).
    pub switches: Vec<albert::HeadSwitch>,
    /// One per [MASK], in order.
    pub lens: Vec<LensView>,
    pub drift: Vec<albert::Drift>,
    pub neuron: Option<NeuronData>,
}

/// The result of one forward, for the text it was computed on.
#[derive(Clone, Debug, PartialEq)]
pub struct FillView {
    pub text: String,
    pub tokens: Vec<TokenView>,
    pub masks: Vec<MaskView>,
    /// Shared, not copied, by the views that are fed it one task apart (`ui::later`).
    pub attention: Option<Arc<AttentionData>>,
    pub inside: InsideView,
    pub elapsed_ms: f64,
    /// Bytes the forward returned (GPU readback or the CPU worker's reply).
    pub output_bytes: usize,
}

/// The sentence-order card's state.
#[derive(Clone, Debug, PartialEq, Default)]
pub enum OrderView {
    /// No model yet, or a forward is running.
    #[default]
    Waiting,
    /// The checkpoint has no SOP head: the engine's words for what is missing.
    NoHead(String),
    Failed(String),
    Done {
        /// The sentences the probabilities belong to.
        a: String,
        b: String,
        /// P(original order) for A→B and for B→A.
        in_order: f32,
        swapped: f32,
    },
}

#[derive(Clone, Debug, PartialEq, Default)]
pub enum BenchState {
    #[default]
    Off,
    Waiting,
    Running(String),
    Done(BenchReport),
    Failed(String),
}

#[derive(Clone, Copy)]
pub struct AppState {
    pub params: StoredValue<Params>,
    pub status: RwSignal<Status>,
    pub decision: RwSignal<Option<BackendDecision>>,
    pub gpu: RwSignal<Option<GpuView>>,
    pub files: RwSignal<Vec<FileProgress>>,
    pub model: RwSignal<Option<ModelView>>,
    /// Set while a model loads (the source form is still usable).
    pub loading: RwSignal<bool>,
    pub load_error: RwSignal<Option<String>>,
    pub sentence: RwSignal<String>,
    pub top_k: RwSignal<usize>,
    pub result: RwSignal<Option<FillView>>,
    pub fill_error: RwSignal<Option<(String, String)>>,
    pub cached: RwSignal<Vec<ModelRecord>>,
    pub estimate: RwSignal<Option<(f64, f64)>>,
    pub bench: RwSignal<BenchState>,
    pub scheduler: StoredValue<Scheduler>,
    pub debounce: StoredValue<Debounce>,
    /// Bumped by every model load; a load that is no longer the newest drops its result.
    pub load_generation: StoredValue<u64>,
    /// Bumped by every re-read of the storage panel; an older re-read that finishes later (it
    /// listed the cache before a delete) drops its list instead of bringing the model back.
    pub storage_generation: StoredValue<u64>,
    /// Layer applications asked for (`?depth=`); `None`: the model's L.
    pub depth: RwSignal<Option<usize>>,
    /// Heads switched off (`?off=`), including any the current forward cannot honour.
    pub switches: RwSignal<Vec<albert::HeadSwitch>>,
    /// The neuron view's layer, inner layer and head (clamped to each forward's shape).
    pub neuron_head: RwSignal<albert::HeadSwitch>,
    /// The sentence-order card: its two sentences and their result.
    pub order_a: RwSignal<String>,
    pub order_b: RwSignal<String>,
    pub order: RwSignal<OrderView>,
    /// The side-by-side card: open (its forwards run only then) and its two sentences
    /// (`?ca=`, `?cb=`; a link with either opens it).
    pub compare_open: RwSignal<bool>,
    pub compare_a: RwSignal<String>,
    pub compare_b: RwSignal<String>,
    /// The attention card is open: only then do forwards of the sentence return attention maps
    /// (closed, the GPU runs the fused attention kernel and reads back no maps).
    pub attention_open: RwSignal<bool>,
    /// The head view's map and the heatmap's (map, head): forwards read those maps back whole
    /// (`view_model::attention::request`), and picking another runs the sentence again.
    pub head_view_layer: RwSignal<usize>,
    pub heat_sel: RwSignal<(usize, HeadSel)>,
}

impl AppState {
    pub fn new(params: Params) -> Self {
        let sentence = params.text.clone().unwrap_or_else(|| crate::view_model::DEFAULT_SENTENCE.to_string());
        let top_k = params.top_k;
        let bench = if params.bench { BenchState::Waiting } else { BenchState::Off };
        let (depth, switches) = (params.depth, params.off.clone());
        let head = params.head.unwrap_or(HeadSel::Mean);
        let compare_open = params.compare_a.is_some() || params.compare_b.is_some();
        let compare_a = params.compare_a.clone().unwrap_or_else(|| crate::view_model::COMPARE_EXAMPLE.0.to_string());
        let compare_b = params.compare_b.clone().unwrap_or_else(|| crate::view_model::COMPARE_EXAMPLE.1.to_string());
        AppState {
            params: StoredValue::new(params),
            status: RwSignal::new(Status::loading()),
            decision: RwSignal::new(None),
            gpu: RwSignal::new(None),
            files: RwSignal::new(Vec::new()),
            model: RwSignal::new(None),
            loading: RwSignal::new(false),
            load_error: RwSignal::new(None),
            sentence: RwSignal::new(sentence),
            top_k: RwSignal::new(top_k),
            result: RwSignal::new(None),
            fill_error: RwSignal::new(None),
            cached: RwSignal::new(Vec::new()),
            estimate: RwSignal::new(None),
            bench: RwSignal::new(bench),
            scheduler: StoredValue::new(Scheduler::default()),
            debounce: StoredValue::new(Debounce::default()),
            load_generation: StoredValue::new(0),
            storage_generation: StoredValue::new(0),
            depth: RwSignal::new(depth),
            switches: RwSignal::new(switches),
            neuron_head: RwSignal::new(albert::HeadSwitch { layer: 1, inner: 0, head: 0 }),
            order_a: RwSignal::new(crate::view_model::ORDER_EXAMPLE.0.to_string()),
            order_b: RwSignal::new(crate::view_model::ORDER_EXAMPLE.1.to_string()),
            order: RwSignal::new(OrderView::Waiting),
            compare_open: RwSignal::new(compare_open),
            compare_a: RwSignal::new(compare_a),
            compare_b: RwSignal::new(compare_b),
            attention_open: RwSignal::new(true),
            head_view_layer: RwSignal::new(0),
            heat_sel: RwSignal::new((0, head)),
        }
    }

    pub fn backend(&self) -> Option<crate::view_model::Backend> {
        self.decision.with_untracked(|d| d.as_ref().map(|d| d.backend))
    }
}

pub fn use_app() -> AppState {
    expect_context::<AppState>()
}

/// Starts a new generation of `counter` (`load_generation`, `storage_generation`) and returns
/// whether it is still the newest one: a task that a newer one has overtaken drops its result.
pub fn newest_of(counter: StoredValue<u64>) -> impl Fn() -> bool + Copy {
    let mine = counter.try_update_value(|g| {
        *g += 1;
        *g
    });
    move || mine.is_some() && counter.try_get_value() == mine
}
