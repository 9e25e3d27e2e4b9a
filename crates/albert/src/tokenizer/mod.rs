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

use crate::error::{Error, Result};
use crate::spm::{self, PieceType};

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
        let inner = tokenizers::Tokenizer::from_bytes(bytes)
            .map_err(|e| tok_err(format!("tokenizer.json could not be loaded: {e}")))?;
        Self::finish(inner, TokenizerSource::TokenizerJson, "tokenizer.json")
    }

    /// Converts a SentencePiece `spiece.model` into the tokenizer transformers' `AlbertConverter`
    /// builds from it, with `opts` taking the place of `tokenizer_config.json`'s `do_lower_case`
    /// and `keep_accents`:
    ///
    /// - normalizer: `Replace("``", "\"")`, `Replace("''", "\"")`, then unless `keep_accents`
    ///   `NFKD` and `StripAccents`, then if `do_lower_case` `Lowercase`, then the model's
    ///   `Precompiled` charsmap (if any), then `Replace(/ {2,}/, " ")`;
    /// - pre-tokenizer: `Metaspace("▁", prepend_scheme = always, split = true)`;
    /// - model: `Unigram` over the model's pieces and scores, where a piece that ends in a digit
    ///   followed by `,` gets its score lowered by 100 (transformers' `check_number_comma`), with
    ///   the model's `unk_id`;
    /// - post-processor: `[CLS] $A [SEP]` / `[CLS] $A [SEP] $B:1 [SEP]:1`; decoder: `Metaspace`;
    /// - added tokens: the model's control pieces and `<pad>`, `<unk>`, `[CLS]`, `[SEP]`,
    ///   `[MASK]`, all special and matched in the raw text; `[MASK]` strips whitespace on its left.
    ///
    /// Errors: a truncated or malformed file, a non-Unigram model, an `unk_id` outside the
    /// vocabulary, non-finite scores, or a corrupt `precompiled_charsmap`.
    pub fn from_spiece_model(bytes: &[u8], opts: SpmOptions) -> Result<Tokenizer> {
        let model = spm::parse_model(bytes)
            .map_err(|e| tok_err(format!("spiece.model is not a readable SentencePiece model: {e}")))?;
        if model.model_type != 1 {
            let name = match model.model_type {
                2 => "BPE",
                3 => "WORD",
                4 => "CHAR",
                _ => "unknown",
            };
            return Err(tok_err(format!(
                "spiece.model: expected a Unigram SentencePiece model (model_type 1), found model_type {} ({name}); ALBERT uses Unigram",
                model.model_type
            )));
        }
        let n = model.pieces.len();
        let unk_id = usize::try_from(model.unk_id).ok().filter(|&u| u < n).ok_or_else(|| {
            tok_err(format!(
                "spiece.model: unk_id is {}, but the vocabulary has {n} pieces (expected 0..{n})",
                model.unk_id
            ))
        })?;
        if !model.precompiled_charsmap.is_empty() {
            spm::validate_precompiled_charsmap(&model.precompiled_charsmap)
                .map_err(|e| tok_err(format!("spiece.model: {e}")))?;
        }

        // Model: vocabulary with AlbertConverter's score tweak.
        let mut vocab = Vec::with_capacity(n);
        for (i, p) in model.pieces.iter().enumerate() {
            if !p.score.is_finite() {
                return Err(tok_err(format!(
                    "spiece.model: piece #{i} ({:?}) has score {}; expected a finite number",
                    p.piece, p.score
                )));
            }
            let mut score = f64::from(p.score);
            if !check_number_comma(&p.piece) {
                score -= 100.0;
            }
            vocab.push(json!([p.piece, score]));
        }

        // Normalizer, exactly AlbertConverter.normalizer.
        let mut normalizers = vec![
            json!({"type": "Replace", "pattern": {"String": "``"}, "content": "\""}),
            json!({"type": "Replace", "pattern": {"String": "''"}, "content": "\""}),
        ];
        if !opts.keep_accents {
            normalizers.push(json!({"type": "NFKD"}));
            normalizers.push(json!({"type": "StripAccents"}));
        }
        if opts.do_lower_case {
            normalizers.push(json!({"type": "Lowercase"}));
        }
        if !model.precompiled_charsmap.is_empty() {
            normalizers.push(json!({
                "type": "Precompiled",
                "precompiled_charsmap": spm::base64_encode(&model.precompiled_charsmap),
            }));
        }
        normalizers.push(json!({"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "}));

        // Added tokens: control pieces and ALBERT's specials (special, not normalized). User-defined
        // pieces are left to the Unigram model; see the module documentation.
        let mut added = Vec::new();
        let mut present: HashSet<&str> = HashSet::new();
        for (id, p) in model.pieces.iter().enumerate() {
            let albert_special = ALBERT_SPECIALS.contains(&p.piece.as_str());
            if (p.kind == PieceType::Control || albert_special) && present.insert(p.piece.as_str()) {
                added.push(added_token_json(id, &p.piece));
            }
        }
        let mut next_id = n;
        for s in ALBERT_SPECIALS {
            if !present.contains(s) {
                added.push(added_token_json(next_id, s));
                next_id += 1;
            }
        }

        let tokenizer_json = json!({
            "version": "1.0",
            "truncation": null,
            "padding": null,
            "added_tokens": added,
            "normalizer": {"type": "Sequence", "normalizers": normalizers},
            "pre_tokenizer": {"type": "Metaspace", "replacement": "\u{2581}", "prepend_scheme": "always", "split": true},
            "post_processor": null,
            "decoder": {"type": "Metaspace", "replacement": "\u{2581}", "prepend_scheme": "always", "split": true},
            "model": {"type": "Unigram", "unk_id": unk_id, "vocab": vocab, "byte_fallback": false},
        });
        let bytes = serde_json::to_vec(&tokenizer_json)
            .map_err(|e| tok_err(format!("spiece.model: could not assemble the tokenizer: {e}")))?;
        let inner = tokenizers::Tokenizer::from_bytes(&bytes)
            .map_err(|e| tok_err(format!("spiece.model: could not build the tokenizer: {e}")))?;
        // The post-processor needs the final ids of [CLS] and [SEP]; `finish` installs it.
        Self::finish(inner, TokenizerSource::SpieceModel, "spiece.model")
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
            Some(cfg) => spm_options_from_config(cfg)?,
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
        enc.ids.iter().enumerate().filter(|(_, &id)| id == self.mask_id).map(|(i, _)| i).collect()
    }

    /// Which file this tokenizer was built from.
    pub fn source(&self) -> TokenizerSource {
        self.source
    }

    /// The underlying `tokenizers` tokenizer (e.g. to serialize it as `tokenizer.json`).
    pub fn inner(&self) -> &tokenizers::Tokenizer {
        &self.inner
    }
}

/// `AddedToken` JSON as ALBERT's tokenizer.json has it: special, not normalized, `[MASK]` lstrip.
fn added_token_json(id: usize, content: &str) -> Value {
    json!({
        "id": id,
        "content": content,
        "single_word": false,
        "lstrip": content == MASK,
        "rstrip": false,
        "normalized": false,
        "special": true,
    })
}

/// transformers' `check_number_comma`: `false` (score − 100) for pieces of 2+ characters that end
/// in `,` preceded by a digit (Python `str.isdigit`).
fn check_number_comma(piece: &str) -> bool {
    let mut rev = piece.chars().rev();
    match (rev.next(), rev.next()) {
        (Some(','), Some(d)) => !is_python_digit(d),
        _ => true,
    }
}

/// Python's `str.isdigit` for one character (Unicode `Numeric_Type` Decimal or Digit, Unicode 14
/// as in Python 3.11; generated with Python and stored as ranges).
fn is_python_digit(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_digit();
    }
    #[rustfmt::skip]
    const RANGES: &[(u32, u32)] = &[
        (0xB2, 0xB3), (0xB9, 0xB9), (0x660, 0x669), (0x6F0, 0x6F9), (0x7C0, 0x7C9), (0x966, 0x96F),
        (0x9E6, 0x9EF), (0xA66, 0xA6F), (0xAE6, 0xAEF), (0xB66, 0xB6F), (0xBE6, 0xBEF), (0xC66, 0xC6F),
        (0xCE6, 0xCEF), (0xD66, 0xD6F), (0xDE6, 0xDEF), (0xE50, 0xE59), (0xED0, 0xED9), (0xF20, 0xF29),
        (0x1040, 0x1049), (0x1090, 0x1099), (0x1369, 0x1371), (0x17E0, 0x17E9), (0x1810, 0x1819),
        (0x1946, 0x194F), (0x19D0, 0x19DA), (0x1A80, 0x1A89), (0x1A90, 0x1A99), (0x1B50, 0x1B59),
        (0x1BB0, 0x1BB9), (0x1C40, 0x1C49), (0x1C50, 0x1C59), (0x2070, 0x2070), (0x2074, 0x2079),
        (0x2080, 0x2089), (0x2460, 0x2468), (0x2474, 0x247C), (0x2488, 0x2490), (0x24EA, 0x24EA),
        (0x24F5, 0x24FD), (0x24FF, 0x24FF), (0x2776, 0x277E), (0x2780, 0x2788), (0x278A, 0x2792),
        (0xA620, 0xA629), (0xA8D0, 0xA8D9), (0xA900, 0xA909), (0xA9D0, 0xA9D9), (0xA9F0, 0xA9F9),
        (0xAA50, 0xAA59), (0xABF0, 0xABF9), (0xFF10, 0xFF19), (0x104A0, 0x104A9), (0x10A40, 0x10A43),
        (0x10D30, 0x10D39), (0x10E60, 0x10E68), (0x11052, 0x1105A), (0x11066, 0x1106F),
        (0x110F0, 0x110F9), (0x11136, 0x1113F), (0x111D0, 0x111D9), (0x112F0, 0x112F9),
        (0x11450, 0x11459), (0x114D0, 0x114D9), (0x11650, 0x11659), (0x116C0, 0x116C9),
        (0x11730, 0x11739), (0x118E0, 0x118E9), (0x11950, 0x11959), (0x11C50, 0x11C59),
        (0x11D50, 0x11D59), (0x11DA0, 0x11DA9), (0x16A60, 0x16A69), (0x16AC0, 0x16AC9),
        (0x16B50, 0x16B59), (0x1D7CE, 0x1D7FF), (0x1E140, 0x1E149), (0x1E2F0, 0x1E2F9),
        (0x1E950, 0x1E959), (0x1F100, 0x1F10A), (0x1FBF0, 0x1FBF9),
    ];
    let c = c as u32;
    RANGES.iter().any(|&(lo, hi)| (lo..=hi).contains(&c))
}

/// Reads `do_lower_case` / `keep_accents` from `tokenizer_config.json` (absent keys keep the
/// ALBERT defaults).
fn spm_options_from_config(bytes: &[u8]) -> Result<SpmOptions> {
    let value: Value =
        serde_json::from_slice(bytes).map_err(|e| tok_err(format!("tokenizer_config.json is not valid JSON: {e}")))?;
    let obj = value.as_object().ok_or_else(|| {
        tok_err(format!("tokenizer_config.json: expected a JSON object, found {}", json_kind(&value)))
    })?;
    let mut opts = SpmOptions::default();
    for (key, slot) in [("do_lower_case", &mut opts.do_lower_case), ("keep_accents", &mut opts.keep_accents)] {
        match obj.get(key) {
            None | Some(Value::Null) => {}
            Some(Value::Bool(b)) => *slot = *b,
            Some(other) => {
                return Err(tok_err(format!(
                    "tokenizer_config.json: expected `{key}` to be true or false, found {other}"
                )))
            }
        }
    }
    Ok(opts)
}

/// Checks every `Precompiled` normalizer in a tokenizer.json `normalizer` value (which the
/// `tokenizers` library would otherwise accept and later panic on if corrupt).
fn check_precompiled_in_json(normalizer: &Value) -> Result<()> {
    match normalizer.get("type").and_then(Value::as_str) {
        Some("Sequence") => {
            if let Some(list) = normalizer.get("normalizers").and_then(Value::as_array) {
                for n in list {
                    check_precompiled_in_json(n)?;
                }
            }
            Ok(())
        }
        Some("Precompiled") => {
            let Some(b64) = normalizer.get("precompiled_charsmap").and_then(Value::as_str) else {
                return Ok(()); // the tokenizers library reports this itself
            };
            match spm::base64_decode(b64) {
                // Not decodable here: let the tokenizers library judge it.
                None => Ok(()),
                Some(blob) if blob.is_empty() => Ok(()),
                Some(blob) => spm::validate_precompiled_charsmap(&blob)
                    .map_err(|e| tok_err(format!("tokenizer.json: the Precompiled normalizer's {e}"))),
            }
        }
        _ => Ok(()),
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The message of a tokenizer error without the `tokenizer: ` prefix, for combining two.
fn strip_prefix(e: &Error) -> String {
    match e {
        Error::Tokenizer(m) => m.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_comma() {
        assert!(check_number_comma(","));
        assert!(check_number_comma("a,"));
        assert!(!check_number_comma("1,"));
        assert!(!check_number_comma("▁2010,"));
        assert!(!check_number_comma("²,"));
        assert!(check_number_comma("½,"));
        assert!(check_number_comma("1,2"));
    }

    #[test]
    fn config_options() {
        let o = spm_options_from_config(br#"{"do_lower_case": false, "keep_accents": true}"#).unwrap();
        assert_eq!(o, SpmOptions { do_lower_case: false, keep_accents: true });
        assert_eq!(spm_options_from_config(b"{}").unwrap(), SpmOptions::default());
        assert!(spm_options_from_config(br#"{"do_lower_case": "yes"}"#).is_err());
        assert!(spm_options_from_config(b"[1]").is_err());
        assert!(spm_options_from_config(b"nope").is_err());
    }
}
