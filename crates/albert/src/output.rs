//! What a forward pass takes and gives, shared by the CPU and GPU paths so their results
//! compare field by field: a padded `Batch`, a `Request` saying what to read back, an `Output`.

use crate::config::Config;
use crate::error::{Error, Result};

/// Token ids for `batch` sequences padded to `seq_len`, row-major `[batch, seq_len]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    pub batch: usize,
    pub seq_len: usize,
    pub input_ids: Vec<u32>,
    pub token_type_ids: Vec<u32>,
    /// 1 for real tokens, 0 for padding.
    pub attention_mask: Vec<u32>,
}

impl Batch {
    /// One unpadded sequence.
    pub fn single(input_ids: Vec<u32>, token_type_ids: Vec<u32>) -> Self {
        let n = input_ids.len();
        Batch { batch: 1, seq_len: n, input_ids, token_type_ids, attention_mask: vec![1; n] }
    }

    /// Pads sequences (ids, type ids) to the longest with `pad_id`, masking the padding.
    pub fn padded(seqs: &[(Vec<u32>, Vec<u32>)], pad_id: u32) -> Self {
        let t = seqs.iter().map(|s| s.0.len()).max().unwrap_or(0);
        let mut b = Batch { batch: seqs.len(), seq_len: t, input_ids: vec![], token_type_ids: vec![], attention_mask: vec![] };
        for (ids, types) in seqs {
            for j in 0..t {
                b.input_ids.push(ids.get(j).copied().unwrap_or(pad_id));
                b.token_type_ids.push(types.get(j).copied().unwrap_or(0));
                b.attention_mask.push(u32::from(j < ids.len()));
            }
        }
        b
    }

    pub fn rows(&self) -> usize {
        self.batch * self.seq_len
    }

    /// Checks the batch against the model before any kernel sees it.
    pub fn validate(&self, cfg: &Config) -> Result<()> {
        let n = self.rows();
        if self.batch == 0 || self.seq_len == 0 {
            return Err(Error::Input("the input has no tokens".into()));
        }
        if self.input_ids.len() != n || self.token_type_ids.len() != n || self.attention_mask.len() != n {
            return Err(Error::Input(format!(
                "batch {}×{} needs {n} ids, type ids and mask values; found {}, {} and {}",
                self.batch,
                self.seq_len,
                self.input_ids.len(),
                self.token_type_ids.len(),
                self.attention_mask.len()
            )));
        }
        if self.seq_len > cfg.max_position_embeddings {
            return Err(Error::Input(format!(
                "the input is {} tokens long, but this model reads at most {} (max_position_embeddings); shorten it",
                self.seq_len, cfg.max_position_embeddings
            )));
        }
        // Memory a forward allocates from the input's length and the config's sizes alone (a
        // hostile config with 256 heads and 8192 positions, and a long ?text=, would ask for
        // 64 GiB of attention maps): refused before any allocation.
        // (The logits are left out: fill asks for the [MASK] rows only.)
        let (b, t) = (self.batch as u64, self.seq_len as u64);
        let m = |xs: &[u64]| xs.iter().fold(1u64, |a, &x| a.saturating_mul(x));
        for (what, bytes) in [
            ("one layer's attention maps (batch × heads × T × T)", m(&[b, cfg.num_attention_heads as u64, t, t, 4])),
            ("the FFN's activations (batch × T × intermediate_size)", m(&[b, t, cfg.intermediate_size as u64, 4])),
        ] {
            if bytes > MAX_ACTIVATION_BYTES {
                return Err(Error::Input(format!(
                    "the input is {} tokens long, and for this model {what} would take {bytes} bytes, over this engine's limit of {MAX_ACTIVATION_BYTES} (1 GiB); shorten it",
                    self.seq_len
                )));
            }
        }
        if let Some((i, id)) = self.input_ids.iter().enumerate().find(|(_, &id)| id as usize >= cfg.vocab_size) {
            return Err(Error::Input(format!(
                "token id {id} at position {i} is outside the vocabulary (vocab_size = {}): does the tokenizer belong to this model?",
                cfg.vocab_size
            )));
        }
        if let Some(t) = self.token_type_ids.iter().find(|&&t| t as usize >= cfg.type_vocab_size) {
            return Err(Error::Input(format!(
                "token type {t} is outside type_vocab_size = {}",
                cfg.type_vocab_size
            )));
        }
        if self.attention_mask.iter().any(|&m| m > 1) {
            return Err(Error::Input("attention_mask values must be 0 or 1".into()));
        }
        Ok(())
    }
}

/// The most bytes one activation buffer of a forward may take: 1 GiB. albert-xxlarge at 512
/// tokens needs 64 MiB for one layer's attention maps and 32 MiB for its FFN activations.
pub const MAX_ACTIVATION_BYTES: u64 = 1 << 30;

/// Which logits rows to compute. The MLM head's decoder (E×V per row) dominates small inputs,
/// so fill-mask asks only for the [MASK] rows.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum LogitsRequest {
    #[default]
    None,
    All,
    /// Flat row indices `b * seq_len + t`.
    Rows(Vec<usize>),
}

/// Flat positions of every [MASK] (`mask_id`) in a sequence or batch of ids: the rows whose
/// logits fill-mask asks for.
pub fn mask_positions(ids: &[u32], mask_id: u32) -> Vec<usize> {
    ids.iter().enumerate().filter(|(_, &id)| id == mask_id).map(|(i, _)| i).collect()
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Request {
    pub logits: LogitsRequest,
    pub attentions: bool,
    pub hidden_states: bool,
    /// Sentence-order logits `[batch, 2]` (AlbertForPreTraining checkpoints only).
    pub sop: bool,
    /// Run this many layer applications instead of `num_hidden_layers` (1..=L, up to 2L for an
    /// all-shared model; see `Config::max_depth`), then the heads. `None`: L.
    pub depth: Option<usize>,
    /// Logit lens: the MLM head on the logits rows of every h_l, l = 0..depth (`Output::lens`).
    pub lens: bool,
    /// Per layer l = 1..depth, the mean over real tokens of ‖h_l − h_{l−1}‖₂ and cos(h_l, h_{l−1})
    /// (`Output::drift`).
    pub drift: bool,
    /// Heads switched off, each in one inner layer of one layer application only.
    pub switches: Vec<HeadSwitch>,
    /// Neuron view: the query and key vectors of this head in this call (`Output::neuron`).
    pub neuron: Option<HeadSwitch>,
    /// What attention views read of the maps when not all of them are asked for whole
    /// (`attentions`): reduced where the maps are, so only that is read back.
    pub maps: MapViews,
}

/// What the app's attention views read of the maps (issue 13 item 3, "pay for what is shown"):
/// the few maps a view shows whole, every map's mean over heads (the rollout, the heatmap's
/// mean) and every head max-pooled to a thumbnail (the model view). On the GPU the reductions
/// run where the maps are and only they are read back: at albert-base's 12 × 12 heads and 128
/// tokens, one map whole, the means and 64-cell thumbnails are 3.9 MB instead of the 9.4 MB of
/// every map, and at 512 tokens 28 MB instead of 151 MB.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct MapViews {
    /// Maps (execution index, `0..depth · inner_group_num`) returned whole in `Output::attentions`.
    pub whole: Vec<usize>,
    /// Every map's mean over heads (`Output::head_means`).
    pub head_means: bool,
    /// Every head of every map max-pooled to at most this many cells a side
    /// (`Output::thumbnails`, `max_pool`).
    pub thumbnails: Option<usize>,
}

/// The largest thumbnail side a request may ask for (a thumbnail is a few dozen pixels wide).
pub const MAX_THUMBNAIL: usize = 256;

impl MapViews {
    /// Asks for anything.
    pub fn any(&self) -> bool {
        !self.whole.is_empty() || self.head_means || self.thumbnails.is_some()
    }

    /// Checked against the forward's `calls` maps; the whole maps' indices sorted, once each.
    pub fn checked(&self, calls: usize) -> Result<MapViews> {
        if let Some(&i) = self.whole.iter().find(|&&i| i >= calls) {
            return Err(Error::Input(format!("attention map {i}: this forward has maps 0..{}", calls.saturating_sub(1))));
        }
        if let Some(s) = self.thumbnails.filter(|s| !(1..=MAX_THUMBNAIL).contains(s)) {
            return Err(Error::Input(format!("thumbnails of {s} cells a side: expected 1 to {MAX_THUMBNAIL}")));
        }
        let mut whole = self.whole.clone();
        whole.sort_unstable();
        whole.dedup();
        Ok(MapViews { whole, ..self.clone() })
    }
}

/// The side of a `t × t` map max-pooled to at most `max` cells a side (`max_pool`): blocks of
/// `ceil(t / max)` cells, the last ones cut short.
pub fn pooled_side(t: usize, max: usize) -> (usize, usize) {
    let f = t.div_ceil(max.max(1)).max(1);
    (f, t.div_ceil(f))
}

/// The neuron view of one head in one call: its query and key vectors (after their biases,
/// before the 1/√d scaling), `[batch · seq, head_dim]` each.
#[derive(Debug, Clone, PartialEq)]
pub struct Neuron {
    pub head: HeadSwitch,
    pub q: Vec<f32>,
    pub k: Vec<f32>,
}

/// Head `head` of inner layer `inner` (0-based) of layer application `layer` (1-based, as
/// `l.j:h` in the CLI): its context vector is zero in that call only, before attention.dense.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HeadSwitch {
    pub layer: usize,
    pub inner: usize,
    pub head: usize,
}

impl std::str::FromStr for HeadSwitch {
    type Err = Error;
    /// `layer.inner:head`, e.g. `3.0:5`.
    fn from_str(s: &str) -> Result<Self> {
        let bad = || Error::Input(format!("head switch {s:?}: expected layer.inner:head, e.g. 3.0:5 (layer from 1, inner layer and head from 0)"));
        let (layer, rest) = s.trim().split_once('.').ok_or_else(bad)?;
        let (inner, head) = rest.split_once(':').ok_or_else(bad)?;
        let n = |x: &str| x.trim().parse::<usize>().map_err(|_| bad());
        Ok(HeadSwitch { layer: n(layer)?, inner: n(inner)?, head: n(head)? })
    }
}

impl std::fmt::Display for HeadSwitch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}:{}", self.layer, self.inner, self.head)
    }
}

impl Request {
    /// The call index (in `schedule_to(cfg, depth)`) of the neuron view, checked.
    pub fn neuron_call(&self, cfg: &Config, depth: usize) -> Result<Option<usize>> {
        let Some(s) = self.neuron else { return Ok(None) };
        if s.layer == 0 || s.layer > depth || s.inner >= cfg.inner_group_num || s.head >= cfg.num_attention_heads {
            return Err(Error::Input(format!(
                "neuron view {s}: this forward has layers 1..{depth}, inner layers 0..{} and heads 0..{}",
                cfg.inner_group_num - 1,
                cfg.num_attention_heads - 1
            )));
        }
        Ok(Some((s.layer - 1) * cfg.inner_group_num + s.inner))
    }

    /// The heads switched off in each call of `schedule_to(cfg, depth)` (by its index),
    /// checked against the model.
    pub fn heads_off(&self, cfg: &Config, depth: usize) -> Result<Vec<Vec<usize>>> {
        let mut off = vec![Vec::new(); depth * cfg.inner_group_num];
        for s in &self.switches {
            if s.layer == 0 || s.layer > depth || s.inner >= cfg.inner_group_num || s.head >= cfg.num_attention_heads {
                return Err(Error::Input(format!(
                    "head switch {s}: this forward has layers 1..{depth}, inner layers 0..{} and heads 0..{}",
                    cfg.inner_group_num - 1,
                    cfg.num_attention_heads - 1
                )));
            }
            let call = &mut off[(s.layer - 1) * cfg.inner_group_num + s.inner];
            if !call.contains(&s.head) {
                call.push(s.head);
            }
        }
        Ok(off)
    }

    /// The layer applications to run, checked against the model.
    pub fn depth(&self, cfg: &Config) -> Result<usize> {
        let max = cfg.max_depth();
        match self.depth {
            None => Ok(cfg.num_hidden_layers),
            Some(k) if (1..=max).contains(&k) => Ok(k),
            Some(k) => Err(Error::Input(format!(
                "depth {k}: this model runs 1 to {max} layers ({} layers in {} group(s){})",
                cfg.num_hidden_layers,
                cfg.num_hidden_groups,
                if cfg.num_hidden_groups == 1 { "; all-shared, so up to twice as deep" } else { "; only an all-shared model runs deeper than its layers" }
            ))),
        }
    }

    pub fn rows(&self, batch: &Batch) -> Result<Vec<usize>> {
        Ok(match &self.logits {
            LogitsRequest::None => vec![],
            LogitsRequest::All => (0..batch.rows()).collect(),
            LogitsRequest::Rows(r) => {
                if let Some(bad) = r.iter().find(|&&i| i >= batch.rows()) {
                    return Err(Error::Input(format!("logits row {bad} is outside the batch's {} rows", batch.rows())));
                }
                r.clone()
            }
        })
    }
}

/// Attention probabilities of one layer application, `[batch, heads, seq, seq]`.
#[derive(Debug, Clone)]
pub struct AttentionMap {
    /// Index in execution order (0..num_hidden_layers × inner_group_num).
    pub index: usize,
    /// The layer application (0..num_hidden_layers) and the shared group it ran.
    pub layer: usize,
    pub group: usize,
    /// The inner layer inside the group.
    pub inner: usize,
    pub data: Vec<f32>,
}

#[derive(Debug, Clone, Default)]
pub struct Output {
    /// The requested logits rows, `[rows.len(), vocab]`.
    pub logits: Option<Vec<f32>>,
    pub logit_rows: Vec<usize>,
    pub attentions: Vec<AttentionMap>,
    /// `depth + 1` (by default `num_hidden_layers + 1`) entries of `[batch, seq, hidden]`, as transformers'
    /// `output_hidden_states` (after the E→H projection, then after each layer application).
    pub hidden_states: Vec<Vec<f32>>,
    /// `[batch, 2]` when requested and the checkpoint has a SOP head.
    pub sop_logits: Option<Vec<f32>>,
    /// Logit lens, `[depth + 1, rows.len(), vocab]`: the MLM head on h_0 (after the E→H
    /// projection) .. h_depth at the requested rows; the last block equals `logits`.
    pub lens: Option<Vec<f32>>,
    /// Neuron view, when asked (`Request::neuron`).
    pub neuron: Option<Neuron>,
    /// Drift `[depth, 2]`: (mean ‖h_l − h_{l−1}‖₂, mean cos(h_l, h_{l−1})) for l = 1..depth.
    pub drift: Option<Vec<f32>>,
    /// Every map's mean over heads, `[batch, T, T]` each, in execution order (`MapViews::head_means`).
    pub head_means: Vec<Vec<f32>>,
    /// Every map's heads max-pooled (`MapViews::thumbnails`), `[batch, heads, side, side]` each.
    pub thumbnails: Option<Thumbnails>,
}

/// Every head of every map max-pooled to `side × side` (`max_pool`).
#[derive(Debug, Clone, PartialEq)]
pub struct Thumbnails {
    pub side: usize,
    /// One per map in execution order, `[batch, heads, side, side]`.
    pub maps: Vec<Vec<f32>>,
}

impl Output {
    /// Bytes of every number the forward returned: what the GPU path copied back to the CPU
    /// (its staging buffer, less the timestamps) and what the CPU worker sent to the page.
    /// Issue 13 item 3 ("pay for what is shown") is measured with it.
    pub fn nbytes(&self) -> usize {
        let f = std::mem::size_of::<f32>();
        let opt = |v: &Option<Vec<f32>>| v.as_ref().map_or(0, Vec::len);
        let maps: usize = self.attentions.iter().map(|a| a.data.len()).sum();
        let hidden: usize = self.hidden_states.iter().map(Vec::len).sum();
        let neuron = self.neuron.as_ref().map_or(0, |n| n.q.len() + n.k.len());
        let means: usize = self.head_means.iter().map(Vec::len).sum();
        let thumbs: usize = self.thumbnails.as_ref().map_or(0, |t| t.maps.iter().map(Vec::len).sum());
        f * (opt(&self.logits) + maps + hidden + opt(&self.sop_logits) + opt(&self.lens) + neuron + opt(&self.drift) + means + thumbs)
    }
}

/// The execution order of inner layers: (layer application, group, inner layer).
pub fn schedule(cfg: &Config) -> Vec<(usize, usize, usize)> {
    schedule_to(cfg, cfg.num_hidden_layers)
}

/// The execution order of `depth` layer applications (`Request::depth`).
pub fn schedule_to(cfg: &Config, depth: usize) -> Vec<(usize, usize, usize)> {
    let mut s = Vec::new();
    for layer in 0..depth {
        let group = cfg.group_of_layer(layer);
        for inner in 0..cfg.inner_group_num {
            s.push((layer, group, inner));
        }
    }
    s
}

/// One prediction for a [MASK].
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Prediction {
    pub token: String,
    pub id: u32,
    pub prob: f32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_whose_activations_pass_1_gib_are_refused_before_allocating() {
        // A hostile config within every limit (256 heads of one dimension, 8192 positions) and a
        // long text: one layer's attention maps would take 64 GiB.
        let cfg = Config::from_json(
            r#"{"vocab_size": 100, "embedding_size": 8, "hidden_size": 256, "num_attention_heads": 256,
                "intermediate_size": 16, "num_hidden_layers": 1, "max_position_embeddings": 8192}"#,
        )
        .unwrap();
        let long = Batch::single(vec![5; 8192], vec![0; 8192]);
        let err = long.validate(&cfg).unwrap_err().to_string();
        assert!(err.contains("the input is 8192 tokens long, and for this model one layer's attention maps (batch × heads × T × T) would take 68719476736 bytes, over this engine's limit of 1073741824 (1 GiB); shorten it"), "{err}");
        Batch::single(vec![5; 512], vec![0; 512]).validate(&cfg).unwrap();
        // albert-xxlarge at its 512 positions passes.
        let xxl = Config::from_json(r#"{}"#).unwrap();
        Batch::single(vec![5; 512], vec![0; 512]).validate(&xxl).unwrap();
    }

    #[test]
    fn padded_batch_masks_padding() {
        let b = Batch::padded(&[(vec![2, 7, 3], vec![0, 0, 0]), (vec![2, 3], vec![0, 0])], 0);
        assert_eq!(b.input_ids, [2, 7, 3, 2, 3, 0]);
        assert_eq!(b.attention_mask, [1, 1, 1, 1, 1, 0]);
    }
}
