//! Fill-mask end to end: text → tokens → forward (CPU or GPU) → top-k per [MASK], plus the
//! attentions of the same forward. The CLI and the app both stand on this, so a sentence gives
//! the same predictions everywhere.

use crate::config::{Config, ParameterCounts};
use crate::error::{Error, Result};
use crate::files::ModelFiles;
use crate::output::{mask_positions, AttentionMap, Batch, LogitsRequest, Output, Prediction, Request};
use crate::rank::{top_ids, top_k, Softmax};
use crate::tokenizer::Tokenizer;
use crate::weights::{AlbertWeights, DType};
use crate::remote::{RemoteForward, WeightFacts};
use crate::{cpu, gpu};

/// Where the forward runs. One per loaded model, built once and never moved in a hot path, so
/// the variants' different sizes cost nothing worth a box.
#[allow(clippy::large_enum_variant)]
pub enum Backend {
    Cpu(cpu::AlbertForMaskedLM),
    Gpu(gpu::AlbertForMaskedLM),
    /// Elsewhere (the app's CPU path in a Web Worker), on weights loaded there.
    Remote(Box<dyn RemoteForward>),
}

impl Backend {
    pub fn name(&self) -> &'static str {
        match self {
            Backend::Cpu(_) => "cpu",
            Backend::Gpu(_) => "gpu",
            Backend::Remote(r) => r.name(),
        }
    }

    /// One forward on whichever path this is: the one place that matches on the backend.
    pub async fn forward(&mut self, batch: &Batch, req: &Request) -> Result<Output> {
        match self {
            Backend::Cpu(m) => m.forward(batch, req),
            Backend::Gpu(m) => m.forward(batch, req).await,
            Backend::Remote(r) => r.forward(batch, req).await,
        }
    }

    pub fn has_mlm_head(&self) -> bool {
        match self {
            Backend::Cpu(m) => m.has_mlm_head(),
            Backend::Gpu(m) => m.has_mlm_head(),
            Backend::Remote(r) => r.facts().mlm_head,
        }
    }

    /// Whether the checkpoint has the pooler and `sop_classifier` (AlbertForPreTraining); `Err`
    /// names what is missing.
    pub fn check_sop_head(&self) -> Result<()> {
        let (pooler, sop) = match self {
            Backend::Cpu(m) => (m.albert.pooler.is_some(), m.sop_classifier.is_some()),
            Backend::Gpu(m) => m.sop_parts(),
            Backend::Remote(r) => (r.facts().pooler, r.facts().sop_classifier),
        };
        let missing: Vec<&str> = [(!pooler).then_some("the pooler (`albert.pooler.*`)"), (!sop).then_some("`sop_classifier.classifier.*`")].into_iter().flatten().collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(Error::NoSopHead(missing.join(" and ")))
        }
    }

    /// GPU time of the last forward (timestamp queries) and its dispatch count; `None` on the
    /// CPU path or without timestamps.
    pub fn last_gpu_ms(&self) -> Option<f64> {
        match self {
            Backend::Cpu(_) | Backend::Remote(_) => None,
            Backend::Gpu(m) => m.last_gpu_ms,
        }
    }

    pub fn last_dispatches(&self) -> Option<usize> {
        match self {
            Backend::Cpu(_) | Backend::Remote(_) => None,
            Backend::Gpu(m) => Some(m.last_dispatches),
        }
    }

    /// Why the GPU this model runs on was lost (`None`: not lost, or the CPU path).
    pub fn gpu_lost(&self) -> Option<String> {
        match self {
            Backend::Cpu(_) | Backend::Remote(_) => None,
            Backend::Gpu(m) => m.gpu.lost_reason(),
        }
    }

    /// Bytes of weights held on the GPU (`None` on the CPU path).
    pub fn gpu_weight_bytes(&self) -> Option<usize> {
        match self {
            Backend::Cpu(_) | Backend::Remote(_) => None,
            Backend::Gpu(m) => Some(m.weight_bytes()),
        }
    }
}

/// Facts about a loaded model for people: sizes by part and ALBERT's savings.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ModelInfo {
    pub architecture: String,
    pub dtype: DType,
    pub config: Config,
    pub parameters: ParameterCounts,
    /// Parameters actually present in the checkpoint (tied decoder counted once).
    pub checkpoint_parameters: usize,
    pub weight_bytes: usize,
    pub file_bytes: usize,
    /// What BERT-style shapes would need: V×H embeddings (no factorization) and one block per layer.
    pub bert_equivalent_parameters: usize,
    pub tokenizer: String,
}

impl ModelInfo {
    pub fn new(config: &Config, w: &AlbertWeights, files: &ModelFiles, tokenizer: &str) -> Self {
        Self::build(config, w.architecture.to_string(), w.dtype, w.parameter_count(), w.nbytes(), files, tokenizer)
    }

    /// The same from weights loaded elsewhere ([`RemoteForward::facts`]).
    pub fn from_facts(config: &Config, w: &WeightFacts, files: &ModelFiles, tokenizer: &str) -> Self {
        Self::build(config, w.architecture.clone(), w.dtype, w.parameters, w.bytes, files, tokenizer)
    }

    fn build(config: &Config, architecture: String, dtype: DType, checkpoint_parameters: usize, weight_bytes: usize, files: &ModelFiles, tokenizer: &str) -> Self {
        let parameters = config.parameter_counts();
        ModelInfo {
            architecture,
            dtype,
            config: config.clone(),
            parameters,
            checkpoint_parameters,
            weight_bytes,
            file_bytes: files.weights_bytes(),
            bert_equivalent_parameters: parameters.bert_equivalent_total(config),
            tokenizer: tokenizer.to_string(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct FillOptions {
    pub top_k: usize,
    /// Return each [MASK]'s full logits row.
    pub logits: bool,
    /// Every attention map, whole.
    pub attentions: bool,
    /// What attention views read of the maps otherwise (`Request::maps`).
    pub maps: crate::output::MapViews,
}

/// What a fill computes besides the predictions ("inside ALBERT"); the default is a plain
/// forward (nothing extra computed).
#[derive(Debug, Clone, Default)]
pub struct Inside {
    /// Layer applications to run (`Request::depth`); `None`: all.
    pub depth: Option<usize>,
    /// Logit lens at each [MASK] (`MaskResult::lens`).
    pub lens: bool,
    /// Drift per layer (`FillResult::drift`).
    pub drift: bool,
    /// Heads switched off (`Request::switches`).
    pub switches: Vec<crate::output::HeadSwitch>,
    /// Neuron view of this head in this call (`FillResult::neuron`).
    pub neuron: Option<crate::output::HeadSwitch>,
}

/// How far one layer application moved the hidden states, averaged over the tokens.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Drift {
    /// 1..K.
    pub layer: usize,
    /// Mean ‖h_l − h_{l−1}‖₂.
    pub l2: f32,
    /// Mean cos(h_l, h_{l−1}).
    pub cosine: f32,
}

/// The logit lens at one layer for one [MASK]: the MLM head on h_layer.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LensLayer {
    /// 0 = h_0 (after the E→H projection), l = after layer application l.
    pub layer: usize,
    pub top_k: Vec<Prediction>,
    /// Rank (1 = top) and probability at this layer of the final answer (the top prediction
    /// after the last layer).
    pub answer_rank: usize,
    pub answer_prob: f32,
}

/// `LensLayer`s of one [MASK] from its `[layers, V]` logits (the last row is the final answer's).
pub fn lens_layers(rows: &[&[f32]], k: usize, token: impl Fn(u32) -> String) -> Vec<LensLayer> {
    let answer = rows.last().and_then(|r| top_ids(r, 1).first().copied()).unwrap_or(0) as usize;
    rows.iter()
        .enumerate()
        .map(|(layer, row)| {
            let x = row[answer];
            let answer_rank = 1 + row.iter().enumerate().filter(|&(i, &y)| y > x || (y == x && i < answer)).count();
            // One softmax per row serves the answer's probability and the top k.
            let softmax = Softmax::of(row);
            let top_k = top_ids(row, k).into_iter().map(|id| Prediction { token: token(id), id, prob: softmax.prob(row[id as usize]) }).collect();
            LensLayer { layer, top_k, answer_rank, answer_prob: softmax.prob(x) }
        })
        .collect()
}

/// `Err(NonFiniteOutput)` naming the first NaN or infinity in `scores` and where (`at`).
pub fn check_finite_scores(scores: &[f32], at: &str) -> Result<()> {
    match scores.iter().find(|x| !x.is_finite()) {
        None => Ok(()),
        Some(x) => Err(Error::NonFiniteOutput(format!("{x} {at}"))),
    }
}

impl Default for FillOptions {
    fn default() -> Self {
        FillOptions { top_k: 5, logits: false, attentions: false, maps: Default::default() }
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct MaskResult {
    /// Token position of the [MASK].
    pub position: usize,
    pub top_k: Vec<Prediction>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logits: Option<Vec<f32>>,
    /// Logit lens, one entry per h_0..h_K, when asked (`Inside::lens`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lens: Option<Vec<LensLayer>>,
}

#[derive(Debug, Clone)]
pub struct FillResult {
    pub tokens: Vec<String>,
    pub ids: Vec<u32>,
    pub type_ids: Vec<u32>,
    /// Byte offsets of each token in the text ((0, 0) for [CLS]/[SEP]).
    pub offsets: Vec<(usize, usize)>,
    pub masks: Vec<MaskResult>,
    /// `[heads, T, T]` per layer application (batch of one), when asked: every one
    /// (`FillOptions::attentions`) or those of `MapViews::whole`.
    pub attentions: Vec<AttentionMap>,
    /// Every map's mean over heads `[T, T]`, when asked (`MapViews::head_means`).
    pub head_means: Vec<Vec<f32>>,
    /// Every head of every map max-pooled, when asked (`MapViews::thumbnails`).
    pub thumbnails: Option<crate::output::Thumbnails>,
    /// Per layer, when asked (`Inside::drift`).
    pub drift: Option<Vec<Drift>>,
    /// q and k `[T, head_dim]` of the asked head, when asked (`Inside::neuron`).
    pub neuron: Option<crate::output::Neuron>,
    /// Bytes the forward returned (`Output::nbytes`): read back from the GPU, or sent by the
    /// CPU worker.
    pub output_bytes: usize,
}

/// Sentence order of a pair (AlbertForPreTraining's SOP head): label 0 = A then B is the
/// original order, as transformers.
#[derive(Debug, Clone, serde::Serialize)]
pub struct OrderResult {
    pub tokens: Vec<String>,
    pub ids: Vec<u32>,
    pub token_type_ids: Vec<u32>,
    /// `[in order, swapped]`.
    pub sop_logits: [f32; 2],
    /// softmax(sop_logits)[0].
    pub in_order_prob: f32,
}

/// A model with its tokenizer, ready to fill masks.
pub struct FillMask {
    pub config: Config,
    pub tokenizer: Tokenizer,
    pub backend: Backend,
    pub info: ModelInfo,
}

impl FillMask {
    /// Loads a model on the GPU (`Some(gpu)`) or the CPU (`None`).
    pub async fn new(files: &ModelFiles, gpu: Option<&gpu::Gpu>) -> Result<Self> {
        let (config, w) = files.load()?;
        let tokenizer = Self::tokenizer(files, &config)?;
        let info = ModelInfo::new(&config, &w, files, Self::tokenizer_name(files));
        let backend = match gpu {
            Some(g) => Backend::Gpu(gpu::AlbertForMaskedLM::new(g, &config, &w).await?),
            None => Backend::Cpu(cpu::AlbertForMaskedLM::new(&config, &w)?),
        };
        Ok(FillMask { config, tokenizer, backend, info })
    }

    /// A model whose weights `remote` loaded from the same `files` (which it validated: the
    /// config and tokenizer are read here again, for tokenizing and the model card).
    pub fn remote(files: &ModelFiles, remote: Box<dyn RemoteForward>) -> Result<Self> {
        let config = Config::from_json(&files.config_json)?;
        let tokenizer = Self::tokenizer(files, &config)?;
        let info = ModelInfo::from_facts(&config, remote.facts(), files, Self::tokenizer_name(files));
        Ok(FillMask { config, tokenizer, backend: Backend::Remote(remote), info })
    }

    fn tokenizer(files: &ModelFiles, config: &Config) -> Result<Tokenizer> {
        let tokenizer = Tokenizer::from_files(files.tokenizer_json.as_deref(), files.spiece_model.as_deref(), files.tokenizer_config.as_deref())?;
        if tokenizer.vocab_size() > config.vocab_size {
            return Err(Error::Tokenizer(format!(
                "the tokenizer has {} tokens but the model's vocab_size is {}: they do not belong together",
                tokenizer.vocab_size(),
                config.vocab_size
            )));
        }
        Ok(tokenizer)
    }

    fn tokenizer_name(files: &ModelFiles) -> &'static str {
        if files.tokenizer_json.is_some() { "tokenizer.json" } else { "spiece.model" }
    }

    /// How likely `a` then `b` is the original order (the SOP head on `[CLS] a [SEP] b [SEP]`).
    pub async fn order(&mut self, a: &str, b: &str) -> Result<OrderResult> {
        self.backend.check_sop_head()?;
        for (name, s) in [("A", a), ("B", b)] {
            if s.trim().is_empty() {
                return Err(Error::Input(format!("sentence {name} is empty: sentence order needs two sentences")));
            }
        }
        let enc = self.tokenizer.encode_pair(a, Some(b))?;
        let batch = Batch::single(enc.ids.clone(), enc.type_ids.clone());
        let out = self.backend.forward(&batch, &Request { sop: true, ..Default::default() }).await?;
        let l = out.sop_logits.ok_or_else(|| Error::NoSopHead("the SOP head's output".into()))?;
        let (x, y) = (l[0], l[1]);
        check_finite_scores(&l, "in the sentence-order head")?;
        let m = x.max(y);
        let in_order_prob = (((x - m) as f64).exp() / (((x - m) as f64).exp() + ((y - m) as f64).exp())) as f32;
        Ok(OrderResult { tokens: enc.tokens, ids: enc.ids, token_type_ids: enc.type_ids, sop_logits: [x, y], in_order_prob })
    }

    /// Tokenizes a fill-mask input: its encoding and the positions of its `[MASK]`s (at least one),
    /// or a message that says what is wrong with the text.
    pub fn encode_masked(&self, text: &str) -> Result<(crate::Encoding, Vec<usize>)> {
        if text.trim().is_empty() {
            return Err(Error::Input("the text is empty: type a sentence with [MASK] where a word should be guessed".into()));
        }
        if !self.backend.has_mlm_head() {
            return Err(Error::NoMlmHead);
        }
        let enc = self.tokenizer.encode(text)?;
        let positions = mask_positions(&enc.ids, self.tokenizer.mask_token_id());
        if positions.is_empty() {
            return Err(Error::Input(format!(
                "no [MASK] in the text: write [MASK] (upper case, with brackets) where the model should guess a word; found the tokens {:?}",
                enc.tokens
            )));
        }
        Ok((enc, positions))
    }

    pub async fn fill(&mut self, text: &str, opts: &FillOptions) -> Result<FillResult> {
        self.fill_inside(text, opts, &Inside::default()).await
    }

    /// `fill`, plus what `inside` asks for (depth, …).
    pub async fn fill_inside(&mut self, text: &str, opts: &FillOptions, inside: &Inside) -> Result<FillResult> {
        let (enc, positions) = self.encode_masked(text)?;
        // Too long for the model: `Batch::validate` says so in the forward.
        let batch = Batch::single(enc.ids.clone(), enc.type_ids.clone());
        let req = Request { logits: LogitsRequest::Rows(positions.clone()), attentions: opts.attentions, depth: inside.depth, lens: inside.lens, drift: inside.drift, switches: inside.switches.clone(), neuron: inside.neuron, maps: opts.maps.clone(), ..Default::default() };
        let out = self.backend.forward(&batch, &req).await?;
        let output_bytes = out.nbytes();
        let logits = out.logits.unwrap_or_default();
        let v = self.config.vocab_size;
        let m = positions.len();
        let lens = out.lens.unwrap_or_default();
        let drift = out.drift.map(|d| d.chunks_exact(2).enumerate().map(|(i, x)| Drift { layer: i + 1, l2: x[0], cosine: x[1] }).collect());
        // A NaN or an infinity would rank arbitrarily and show as `NaN%`: say so instead.
        for (i, &position) in positions.iter().enumerate() {
            check_finite_scores(logits.get(i * v..(i + 1) * v).unwrap_or_default(), &format!("at the [MASK] at token {position}"))?;
            for (layer, rows) in lens.chunks_exact(m * v).enumerate() {
                check_finite_scores(&rows[i * v..(i + 1) * v], &format!("in the logit lens at layer {layer}, at the [MASK] at token {position}"))?;
            }
        }
        let token = |id: u32| self.tokenizer.id_to_token(id).unwrap_or_else(|| format!("<{id}>"));
        let masks = positions
            .iter()
            .enumerate()
            .map(|(i, &position)| {
                let row = &logits[i * v..(i + 1) * v];
                let top_k = top_k(row, opts.top_k.max(1))
                    .into_iter()
                    .map(|(id, prob)| Prediction { token: self.tokenizer.id_to_token(id).unwrap_or_else(|| format!("<{id}>")), id, prob })
                    .collect();
                let lens = (!lens.is_empty()).then(|| {
                    let rows: Vec<&[f32]> = lens.chunks_exact(m * v).map(|layer| &layer[i * v..(i + 1) * v]).collect();
                    lens_layers(&rows, opts.top_k.max(1), token)
                });
                MaskResult { position, top_k, logits: opts.logits.then(|| row.to_vec()), lens }
            })
            .collect();
        Ok(FillResult { tokens: enc.tokens, ids: enc.ids, type_ids: enc.type_ids, offsets: enc.offsets, masks, attentions: out.attentions, head_means: out.head_means, thumbnails: out.thumbnails, drift, neuron: out.neuron, output_bytes })
    }
}
