//! The ALBERT tokenizer, built from either file a Hugging Face checkpoint ships.
//!
//! Why two routes: most ALBERT checkpoints ship `tokenizer.json` (the `tokenizers` library's own
//! format), but many older or community checkpoints ship only the SentencePiece `spiece.model`,
//! which transformers turns into a fast tokenizer at load time with `AlbertConverter`
//! (`convert_slow_tokenizer.py`). The engine runs in the browser too, where there is no Python, so
//! this module does that conversion itself: it reads the SentencePiece protobuf
//! ([`crate::spm`]) and assembles exactly the pipeline `AlbertConverter` builds (normalizer
//! sequence, Metaspace pre-tokenizer, Unigram model with the converter's score tweak, `[CLS]`/`[SEP]`
//! template, special tokens). Both routes end in the same `tokenizers::Tokenizer` machinery and
//! must give the same ids as transformers' `AlbertTokenizerFast` — that parity is what the tests in
//! `tests/tokenizer.rs` check, case by case, against fixtures made with transformers.
//!
//! One deliberate difference from transformers' current converter: SentencePiece *user-defined*
//! pieces (in albert-base-v2: `( ) " - . – £ €`) are **not** added as added tokens. The
//! `tokenizer.json` files ALBERT checkpoints ship were converted before transformers started doing
//! that, and adding them changes the ids of ~80 of the ~370 parity strings (e.g. `"well-known"`
//! becomes `▁well - ▁known` instead of `▁well - known`), away from both that `tokenizer.json` and
//! SentencePiece itself. Control pieces and ALBERT's five special tokens are added as transformers
//! does.

use std::collections::HashSet;

use serde_json::{json, Value};

mod checks;
mod convert;

use checks::{check_precompiled_in_json, check_template_in_json};

use crate::config::json_kind;
use crate::error::{Error, Result};

/// The separator token; a literal `[SEP]` in the text passed to [`Tokenizer::encode`] splits it
/// into a sentence pair.
const SEP: &str = "[SEP]";
const CLS: &str = "[CLS]";
const MASK: &str = "[MASK]";
const PAD: &str = "<pad>";
const UNK: &str = "<unk>";
/// ALBERT's special tokens, in the order `AlbertTokenizer` declares them.
const ALBERT_SPECIALS: [&str; 5] = [PAD, UNK, CLS, SEP, MASK];
/// SentencePiece's word-boundary marker (U+2581 LOWER ONE EIGHTH BLOCK).
const METASPACE: char = '\u{2581}';

/// How `spiece.model` text is normalized before SentencePiece segmentation; the two switches of
/// ALBERT's `tokenizer_config.json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpmOptions {
    /// Lowercase the text (`do_lower_case`, default `true` for every released ALBERT).
    pub do_lower_case: bool,
    /// Keep accents; when `false` the text is NFKD-decomposed and combining marks are removed
    /// (`keep_accents`, default `false`).
    pub keep_accents: bool,
}

impl Default for SpmOptions {
    /// `do_lower_case = true`, `keep_accents = false`, as ALBERT's `tokenizer_config.json`.
    fn default() -> Self {
        SpmOptions { do_lower_case: true, keep_accents: false }
    }
}

/// Which file a [`Tokenizer`] was built from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenizerSource {
    /// `tokenizer.json`, loaded as is.
    TokenizerJson,
    /// `spiece.model`, converted as transformers' `AlbertConverter` does.
    SpieceModel,
}

/// The result of encoding one text (or sentence pair): parallel vectors, one entry per token,
/// including the `[CLS]` and `[SEP]` tokens the template adds.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Encoding {
    /// Vocabulary ids, the model's `input_ids`.
    pub ids: Vec<u32>,
    /// Segment ids, the model's `token_type_ids`: 0 for `[CLS]`, sentence A and its `[SEP]`;
    /// 1 for sentence B and the final `[SEP]`.
    pub type_ids: Vec<u32>,
    /// The token strings: the vocabulary entry of each id (SentencePiece pieces such as
    /// `▁capital`, special tokens, `<unk>` for text the vocabulary cannot spell), as transformers'
    /// `convert_ids_to_tokens` gives them. What a token covers in the text is in `offsets`.
    pub tokens: Vec<String>,
    /// Byte offsets `(start, end)` of each token in the text it came from, as the `tokenizers`
    /// library reports them (so they match transformers' `offset_mapping`, in bytes). Tokens the
    /// template adds (`[CLS]`, `[SEP]`) have `(0, 0)`. A `[MASK]` typed in the text covers the
    /// whitespace before it too, because that token strips whitespace on its left
    /// (`lstrip=True`, as in ALBERT's tokenizer). For [`Tokenizer::encode`] every offset points
    /// into the text passed to it, also for the part after a literal `[SEP]`; for
    /// [`Tokenizer::encode_pair`], sentence-B offsets point into `b`.
    pub offsets: Vec<(usize, usize)>,
    /// `true` for special tokens: those the template adds and special tokens typed in the text
    /// (`[MASK]`, `[SEP]`, `[CLS]`, `<pad>`). `<unk>` is not flagged: it stands for real text.
    pub special: Vec<bool>,
}

impl Encoding {
    /// Number of tokens.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// `true` when there are no tokens (never the case for an [`Encoding`] made by
    /// [`Tokenizer`], which always adds `[CLS]` and `[SEP]`).
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

/// ALBERT's tokenizer: a `tokenizers::Tokenizer` plus the ids of the special tokens the engine
/// needs. Build it with [`Tokenizer::from_files`] (what a checkpoint folder provides),
/// [`Tokenizer::from_tokenizer_json`] or [`Tokenizer::from_spiece_model`].
#[derive(Clone)]
pub struct Tokenizer {
    inner: tokenizers::Tokenizer,
    source: TokenizerSource,
    pad_id: u32,
    cls_id: u32,
    sep_id: u32,
    mask_id: u32,
    /// Special added tokens other than `<unk>`.
    special_ids: HashSet<u32>,
}

impl std::fmt::Debug for Tokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokenizer")
            .field("source", &self.source)
            .field("vocab_size", &self.vocab_size())
            .field("pad_id", &self.pad_id)
            .field("cls_id", &self.cls_id)
            .field("sep_id", &self.sep_id)
            .field("mask_id", &self.mask_id)
            .finish()
    }
}

fn tok_err(msg: impl Into<String>) -> Error {
    Error::Tokenizer(msg.into())
}

impl Tokenizer {
    /// Loads a `tokenizer.json` (the `tokenizers` library's serialization, as `AlbertTokenizerFast`
    /// saves it). Truncation and padding settings in the file are dropped: the engine decides
    /// lengths itself and reports inputs that are too long instead of cutting them silently.
    ///
    /// Errors: not JSON, not a tokenizer the `tokenizers` library reads, a corrupt
    /// `precompiled_charsmap`, or missing ALBERT special tokens (`[CLS]`, `[SEP]`, `[MASK]`, `<pad>`).
    pub fn from_tokenizer_json(bytes: &[u8]) -> Result<Tokenizer> {
        let value: Value = serde_json::from_slice(bytes).map_err(|e| {
            tok_err(format!("tokenizer.json is not valid JSON: {e} (expected the JSON file `tokenizers` writes)"))
        })?;
        if !value.is_object() {
            return Err(tok_err(format!(
                "tokenizer.json: expected a JSON object with `model`, `normalizer`, ... keys, found {}",
                json_kind(&value)
            )));
        }
        if value.get("model").is_none() {
            return Err(tok_err(
                "tokenizer.json has no `model` key; expected a `tokenizers` tokenizer file (is this tokenizer_config.json?)",
            ));
        }
        if let Some(normalizer) = value.get("normalizer") {
            check_precompiled_in_json(normalizer)?;
        }
        if let Some(post) = value.get("post_processor") {
            check_template_in_json(post)?;
        }
        let inner = tokenizers::Tokenizer::from_bytes(bytes)
            .map_err(|e| tok_err(format!("tokenizer.json could not be loaded: {e}")))?;
        Self::finish(inner, TokenizerSource::TokenizerJson, "tokenizer.json")
    }


    /// Builds the tokenizer from the files of a checkpoint folder, given as bytes (`None` for a
    /// file the checkpoint does not have): `tokenizer.json` is preferred; without it (or if it
    /// cannot be loaded) `spiece.model` is converted, with `do_lower_case` and `keep_accents` read
    /// from `tokenizer_config.json` when given (defaults `true` / `false`).
    ///
    /// Errors: neither `tokenizer.json` nor `spiece.model` given; an unreadable
    /// `tokenizer_config.json`; or the file(s) given cannot be loaded (both reasons are reported
    /// when both files fail).
    pub fn from_files(
        tokenizer_json: Option<&[u8]>,
        spiece_model: Option<&[u8]>,
        tokenizer_config_json: Option<&[u8]>,
    ) -> Result<Tokenizer> {
        let json_err = match tokenizer_json {
            Some(bytes) => match Self::from_tokenizer_json(bytes) {
                Ok(t) => return Ok(t),
                Err(e) => Some(e),
            },
            None => None,
        };
        let Some(spiece) = spiece_model else {
            return Err(json_err.unwrap_or_else(|| {
                tok_err("no tokenizer files: expected tokenizer.json or spiece.model in the checkpoint, found neither")
            }));
        };
        let opts = match tokenizer_config_json {
            Some(cfg) => convert::spm_options_from_config(cfg)?,
            None => SpmOptions::default(),
        };
        match (Self::from_spiece_model(spiece, opts), json_err) {
            (Ok(t), _) => Ok(t),
            (Err(e), None) => Err(e),
            (Err(spm_e), Some(json_e)) => Err(tok_err(format!(
                "neither tokenizer file could be loaded. {}; {}",
                strip_prefix(&json_e),
                strip_prefix(&spm_e)
            ))),
        }
    }

    /// Common checks and the special-token ids.
    fn finish(mut inner: tokenizers::Tokenizer, source: TokenizerSource, file: &str) -> Result<Tokenizer> {
        inner.with_truncation(None).map_err(|e| tok_err(format!("{file}: could not disable truncation: {e}")))?;
        inner.with_padding(None);

        let missing: Vec<&str> = [CLS, SEP, MASK, PAD].into_iter().filter(|t| inner.token_to_id(t).is_none()).collect();
        if !missing.is_empty() {
            return Err(tok_err(format!(
                "{file}: expected ALBERT's special tokens [CLS], [SEP], [MASK] and <pad> in the vocabulary; missing {}",
                missing.join(", ")
            )));
        }
        let id = |t: &str| inner.token_to_id(t).unwrap_or_default();
        let (pad_id, cls_id, sep_id, mask_id) = (id(PAD), id(CLS), id(SEP), id(MASK));

        if inner.get_post_processor().is_none() {
            let template: tokenizers::PostProcessorWrapper = serde_json::from_value(json!({
                "type": "TemplateProcessing",
                "single": [
                    {"SpecialToken": {"id": CLS, "type_id": 0}},
                    {"Sequence": {"id": "A", "type_id": 0}},
                    {"SpecialToken": {"id": SEP, "type_id": 0}},
                ],
                "pair": [
                    {"SpecialToken": {"id": CLS, "type_id": 0}},
                    {"Sequence": {"id": "A", "type_id": 0}},
                    {"SpecialToken": {"id": SEP, "type_id": 0}},
                    {"Sequence": {"id": "B", "type_id": 1}},
                    {"SpecialToken": {"id": SEP, "type_id": 1}},
                ],
                "special_tokens": {
                    CLS: {"id": CLS, "ids": [cls_id], "tokens": [CLS]},
                    SEP: {"id": SEP, "ids": [sep_id], "tokens": [SEP]},
                },
            }))
            .map_err(|e| tok_err(format!("{file}: could not build the [CLS]/[SEP] template: {e}")))?;
            inner.with_post_processor(Some(template));
        }

        let unk_id = inner.token_to_id(UNK);
        let special_ids: HashSet<u32> = inner
            .get_added_tokens_decoder()
            .into_iter()
            .filter(|(id, t)| t.special && Some(*id) != unk_id)
            .map(|(id, _)| id)
            .collect();

        let tok = Tokenizer { inner, source, pad_id, cls_id, sep_id, mask_id, special_ids };
        // The engine relies on [CLS] ... [SEP]; a tokenizer.json whose post-processor adds
        // something else is not an ALBERT tokenizer.
        let empty = tok.encode_pair("", None)?;
        if empty.ids != [cls_id, sep_id] {
            return Err(tok_err(format!(
                "{file}: expected the empty text to encode as [CLS] [SEP] (ids [{cls_id}, {sep_id}]), found tokens {:?}; the post_processor is not ALBERT's",
                empty.tokens
            )));
        }
        Ok(tok)
    }

    /// Encodes one text, adding `[CLS]` and `[SEP]`.
    ///
    /// If the text contains a literal `[SEP]` (a user typing `"A [SEP] B"`), it is split at the
    /// first one into a sentence pair, as [`Tokenizer::encode_pair`]`(A, Some(B))` with the
    /// whitespace next to that `[SEP]` trimmed (so no stray `▁` tokens appear around it): token
    /// types are 0 up to and including the first `[SEP]`, then 1. All offsets, also those of
    /// sentence B, point into `text`. An empty B (text ending in `[SEP]`) gives a single sentence.
    /// The empty text gives `[CLS] [SEP]`.
    pub fn encode(&self, text: &str) -> Result<Encoding> {
        match text.find(SEP) {
            None => self.encode_impl(text, None, 0),
            Some(pos) => {
                let a = text[..pos].trim_end();
                let rest = &text[pos + SEP.len()..];
                let b = rest.trim_start();
                let b_start = text.len() - b.len();
                self.encode_impl(a, Some(b), b_start)
            }
        }
    }

    /// Encodes a sentence (`b == None`) or a sentence pair as transformers'
    /// `AlbertTokenizerFast(a, b)` does: `[CLS] A [SEP]` or `[CLS] A [SEP] B [SEP]` with token
    /// types 0 for the first part and 1 for B and its `[SEP]`. Like the transformers wrapper, an
    /// empty `b` (`Some("")`) is treated as no pair. Literal `[SEP]`s are not split here.
    /// Sentence-B offsets point into `b`.
    pub fn encode_pair(&self, a: &str, b: Option<&str>) -> Result<Encoding> {
        self.encode_impl(a, b, 0)
    }

    /// `b_shift` is added to the offsets of sentence-B tokens.
    fn encode_impl(&self, a: &str, b: Option<&str>, b_shift: usize) -> Result<Encoding> {
        let b = b.filter(|b| !b.is_empty());
        let enc = match b {
            None => self.inner.encode(a, true),
            Some(b) => self.inner.encode((a, b), true),
        }
        .map_err(|e| tok_err(format!("could not encode the text: {e}")))?;

        let ids = enc.get_ids().to_vec();
        let sequence_ids = enc.get_sequence_ids();
        let template_mask = enc.get_special_tokens_mask();
        let offsets = enc
            .get_offsets()
            .iter()
            .zip(&sequence_ids)
            .map(|(&(s, e), seq)| if *seq == Some(1) { (s + b_shift, e + b_shift) } else { (s, e) })
            .collect();
        // Token strings are vocabulary entries, as transformers reports them: `tokenizers` 0.22
        // returns the matched text for `<unk>` (e.g. "—") and for `[MASK]` with the whitespace it
        // stripped (" [MASK]"); transformers (tokenizers 0.20) gives "<unk>" and "[MASK]".
        let tokens = ids
            .iter()
            .zip(enc.get_tokens())
            .map(|(&id, t)| self.inner.id_to_token(id).unwrap_or_else(|| t.clone()))
            .collect();
        let special = ids.iter().zip(template_mask).map(|(id, &m)| m == 1 || self.special_ids.contains(id)).collect();
        Ok(Encoding { type_ids: enc.get_type_ids().to_vec(), tokens, offsets, special, ids })
    }

    /// Id of `[MASK]`.
    pub fn mask_token_id(&self) -> u32 {
        self.mask_id
    }

    /// Id of `<pad>`.
    pub fn pad_token_id(&self) -> u32 {
        self.pad_id
    }

    /// Id of `[CLS]`.
    pub fn cls_token_id(&self) -> u32 {
        self.cls_id
    }

    /// Id of `[SEP]`.
    pub fn sep_token_id(&self) -> u32 {
        self.sep_id
    }

    /// The token string of `id` (e.g. `▁paris`), or `None` outside the vocabulary.
    pub fn id_to_token(&self, id: u32) -> Option<String> {
        self.inner.id_to_token(id)
    }

    /// The id of a token string, or `None` if it is not in the vocabulary.
    pub fn token_to_id(&self, token: &str) -> Option<u32> {
        self.inner.token_to_id(token)
    }

    /// Number of ids, added tokens included (30000 for albert-base-v2).
    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }

    /// A token as a UI shows it: the word-boundary marker `▁` becomes a space (`▁paris` →
    /// `" paris"`, `ing` → `"ing"`), special tokens stay as they are (`[MASK]`), and an id outside
    /// the vocabulary gives `"<id N?>"`.
    pub fn decode_token_for_display(&self, id: u32) -> String {
        match self.inner.id_to_token(id) {
            Some(t) if self.special_ids.contains(&id) => t,
            Some(t) => t.replace(METASPACE, " "),
            None => format!("<id {id}?>"),
        }
    }

    /// Positions (token indices) of `[MASK]` tokens in `enc`.
    pub fn mask_positions(&self, enc: &Encoding) -> Vec<usize> {
        crate::output::mask_positions(&enc.ids, self.mask_id)
    }

    /// Which file this tokenizer was built from.
    pub fn source(&self) -> TokenizerSource {
        self.source
    }

}

/// The message of a tokenizer error without the `tokenizer: ` prefix, for combining two.
fn strip_prefix(e: &Error) -> String {
    match e {
        Error::Tokenizer(m) => m.clone(),
        other => other.to_string(),
    }
}

