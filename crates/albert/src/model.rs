//! ALBERT's modules as transformers' modeling_albert.py names them, each loading its own
//! tensors (`load`) through a `VarBuilder`: a Hugging Face key is written once, here. The structs
//! are generic over how a backend stores parameters (`Params`), so the CPU reference
//! (`cpu::`, `forward`) and the GPU path (`gpu::`, `record`) are the same modules, name for
//! name; each backend adds its computation in an `impl` block of its own.
//!
//! To add a tensor: a field and a line in its module's `load` below, then use it in the
//! module's `forward` (cpu/model.rs) and `record` (gpu/model.rs).

use crate::activation::Activation;
use crate::config::Config;
use crate::error::Result;
use crate::var_builder::{Params, VarBuilder};

/// transformers `AlbertEmbeddings` (modeling_albert.py): word + position + token-type
/// embeddings, then LayerNorm (dropout is inference's identity).
pub struct AlbertEmbeddings<P: Params> {
    pub word_embeddings: P::Table,
    pub position_embeddings: P::Table,
    pub token_type_embeddings: P::Table,
    pub layer_norm: P::Norm,
}

impl<P: Params> AlbertEmbeddings<P> {
    pub fn load(vb: VarBuilder, p: &P, cfg: &Config) -> Result<Self> {
        let e = cfg.embedding_size;
        Ok(AlbertEmbeddings {
            word_embeddings: vb.pp("word_embeddings").table(p, "weight", &[cfg.vocab_size, e])?,
            position_embeddings: vb.pp("position_embeddings").table(p, "weight", &[cfg.max_position_embeddings, e])?,
            token_type_embeddings: vb.pp("token_type_embeddings").table(p, "weight", &[cfg.type_vocab_size, e])?,
            layer_norm: vb.pp("LayerNorm").layer_norm(p, e)?,
        })
    }
}

/// transformers `AlbertAttention` (modeling_albert.py, also `AlbertSdpaAttention`): query, key
/// and value projections, scaled dot-product attention, output `dense` and a residual
/// LayerNorm.
pub struct AlbertAttention<P: Params> {
    pub query_key_value: P::Qkv,
    pub dense: P::Linear,
    pub layer_norm: P::Norm,
}

impl<P: Params> AlbertAttention<P> {
    pub fn load(vb: VarBuilder, p: &P, cfg: &Config) -> Result<Self> {
        let h = cfg.hidden_size;
        Ok(AlbertAttention {
            query_key_value: vb.qkv(p, ["query", "key", "value"], h)?,
            dense: vb.pp("dense").linear(p, h, h)?,
            layer_norm: vb.pp("LayerNorm").layer_norm(p, h)?,
        })
    }
}

/// transformers `AlbertLayer`: attention, then the FFN (`ffn`, activation, `ffn_output`) with
/// a residual LayerNorm.
pub struct AlbertLayer<P: Params> {
    pub attention: AlbertAttention<P>,
    pub ffn: P::Linear,
    pub ffn_output: P::Linear,
    pub full_layer_layer_norm: P::Norm,
}

impl<P: Params> AlbertLayer<P> {
    pub fn load(vb: VarBuilder, p: &P, cfg: &Config) -> Result<Self> {
        let (h, i) = (cfg.hidden_size, cfg.intermediate_size);
        Ok(AlbertLayer {
            attention: AlbertAttention::load(vb.pp("attention"), p, cfg)?,
            ffn: vb.pp("ffn").linear(p, i, h)?,
            ffn_output: vb.pp("ffn_output").linear(p, h, i)?,
            full_layer_layer_norm: vb.pp("full_layer_layer_norm").layer_norm(p, h)?,
        })
    }
}

/// transformers `AlbertLayerGroup`: `inner_group_num` layers, the block every layer
/// application assigned to this group runs (stored once, however many layers share it).
pub struct AlbertLayerGroup<P: Params> {
    pub albert_layers: Vec<AlbertLayer<P>>,
}

impl<P: Params> AlbertLayerGroup<P> {
    pub fn load(vb: VarBuilder, p: &P, cfg: &Config) -> Result<Self> {
        let vb = vb.pp("albert_layers");
        let albert_layers = (0..cfg.inner_group_num).map(|j| AlbertLayer::load(vb.pp(j), p, cfg)).collect::<Result<_>>()?;
        Ok(AlbertLayerGroup { albert_layers })
    }
}

/// transformers `AlbertTransformer`: the E → H projection, then `num_hidden_layers` layer
/// applications over `num_hidden_groups` shared groups (`output::schedule` gives the order).
pub struct AlbertTransformer<P: Params> {
    pub embedding_hidden_mapping_in: P::Linear,
    pub albert_layer_groups: Vec<AlbertLayerGroup<P>>,
}

impl<P: Params> AlbertTransformer<P> {
    pub fn load(vb: VarBuilder, p: &P, cfg: &Config) -> Result<Self> {
        let embedding_hidden_mapping_in = vb.pp("embedding_hidden_mapping_in").linear(p, cfg.hidden_size, cfg.embedding_size)?;
        let groups = vb.pp("albert_layer_groups");
        let albert_layer_groups = (0..cfg.num_hidden_groups).map(|g| AlbertLayerGroup::load(groups.pp(g), p, cfg)).collect::<Result<_>>()?;
        Ok(AlbertTransformer { embedding_hidden_mapping_in, albert_layer_groups })
    }

    /// The inner layer `inner` of group `group`.
    pub fn layer(&self, group: usize, inner: usize) -> &AlbertLayer<P> {
        &self.albert_layer_groups[group].albert_layers[inner]
    }
}

/// transformers `AlbertModel`: embeddings, encoder and the optional pooler (dense + tanh over
/// [CLS]; absent when saved with `add_pooling_layer=False`).
pub struct AlbertModel<P: Params> {
    pub embeddings: AlbertEmbeddings<P>,
    pub encoder: AlbertTransformer<P>,
    pub pooler: Option<P::Linear>,
}

impl<P: Params> AlbertModel<P> {
    pub fn load(vb: VarBuilder, p: &P, cfg: &Config) -> Result<Self> {
        Ok(AlbertModel {
            embeddings: AlbertEmbeddings::load(vb.pp("embeddings"), p, cfg)?,
            encoder: AlbertTransformer::load(vb.pp("encoder"), p, cfg)?,
            pooler: vb.pp("pooler").linear_opt(p, cfg.hidden_size, cfg.hidden_size)?,
        })
    }
}

/// transformers `AlbertMLMHead`: dense (H → E) + activation + LayerNorm, then the decoder
/// (E → V).
pub struct AlbertMLMHead<P: Params> {
    pub dense: P::Linear,
    pub layer_norm: P::Norm,
    /// `None` when tied to the word embeddings (transformers drops the tied copy on save).
    pub decoder: Option<P::Table>,
    pub bias: P::Table,
}

impl<P: Params> AlbertMLMHead<P> {
    pub fn load(vb: VarBuilder, p: &P, cfg: &Config) -> Result<Self> {
        let (v, e) = (cfg.vocab_size, cfg.embedding_size);
        let dense = vb.pp("dense").linear(p, e, cfg.hidden_size)?;
        let layer_norm = vb.pp("LayerNorm").layer_norm(p, e)?;
        let decoder = vb.pp("decoder").table_opt(p, "weight", &[v, e])?;
        // transformers ties `predictions.decoder.bias` to `predictions.bias`; either may be saved.
        let bias = match vb.table_opt(p, "bias", &[v])? {
            Some(b) => b,
            None => vb.pp("decoder").table(p, "bias", &[v])?,
        };
        Ok(AlbertMLMHead { dense, layer_norm, decoder, bias })
    }
}

/// transformers `AlbertSOPHead`: the sentence-order classifier over the pooled [CLS], `[2, H]`.
pub struct AlbertSOPHead<P: Params> {
    pub classifier: P::Linear,
}

impl<P: Params> AlbertSOPHead<P> {
    pub fn load(vb: VarBuilder, p: &P, cfg: &Config) -> Result<Option<Self>> {
        Ok(vb.pp("classifier").linear_opt(p, 2, cfg.hidden_size)?.map(|classifier| AlbertSOPHead { classifier }))
    }
}

/// A whole checkpoint: `AlbertForMaskedLM`, `AlbertForPreTraining` (with the SOP head) or a
/// bare `AlbertModel` (no head: hidden states and attentions only).
pub struct AlbertForMaskedLM<P: Params> {
    pub config: Config,
    /// `hidden_act`, for the FFN and the MLM head's transform.
    pub act: Activation,
    pub albert: AlbertModel<P>,
    pub predictions: Option<AlbertMLMHead<P>>,
    pub sop_classifier: Option<AlbertSOPHead<P>>,
}

impl<P: Params> AlbertForMaskedLM<P> {
    /// Loads from the checkpoint's root: the encoder under `albert.` (the head classes) or at
    /// the root (a saved `AlbertModel`), the heads at the root.
    pub fn load(vb: VarBuilder, p: &P, cfg: &Config) -> Result<Self> {
        let albert = if vb.pp("albert").exists() { vb.pp("albert") } else { vb.clone() };
        let albert = AlbertModel::load(albert, p, cfg)?;
        let predictions = if vb.pp("predictions").exists() { Some(AlbertMLMHead::load(vb.pp("predictions"), p, cfg)?) } else { None };
        let sop_classifier = AlbertSOPHead::load(vb.pp("sop_classifier"), p, cfg)?;
        Ok(AlbertForMaskedLM { config: cfg.clone(), act: cfg.activation()?, albert, predictions, sop_classifier })
    }

    pub fn has_mlm_head(&self) -> bool {
        self.predictions.is_some()
    }

    /// The decoder matrix `[V, E]`: the head's own, or the tied word embeddings.
    pub fn decoder<'a>(&'a self, head: &'a AlbertMLMHead<P>) -> &'a P::Table {
        head.decoder.as_ref().unwrap_or(&self.albert.embeddings.word_embeddings)
    }
}

/// A backend's module types under HF's names (`cpu::AlbertLayer`, `gpu::AlbertLayer`, …).
macro_rules! backend_modules {
    ($p:ty) => {
        pub type AlbertEmbeddings = $crate::model::AlbertEmbeddings<$p>;
        pub type AlbertAttention = $crate::model::AlbertAttention<$p>;
        pub type AlbertLayer = $crate::model::AlbertLayer<$p>;
        pub type AlbertLayerGroup = $crate::model::AlbertLayerGroup<$p>;
        pub type AlbertTransformer = $crate::model::AlbertTransformer<$p>;
        pub type AlbertModel = $crate::model::AlbertModel<$p>;
        pub type AlbertMLMHead = $crate::model::AlbertMLMHead<$p>;
        pub type AlbertSOPHead = $crate::model::AlbertSOPHead<$p>;
    };
}
pub(crate) use backend_modules;
