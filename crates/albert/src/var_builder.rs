//! `VarBuilder`, after candle's: a cursor into a checkpoint at a key prefix. Each module of
//! `model.rs` loads its own tensors through `vb.pp("attention").linear(..)`, so a tensor's
//! Hugging Face key is the path of `pp` calls and is written in exactly one place; shapes are
//! checked here, against what the module asks for, and a missing key names a near miss.
//!
//! What a loaded parameter becomes is the backend's business (`Params`): nothing while a
//! checkpoint is validated, transposed f32 on the CPU, a storage buffer on the GPU.

use crate::error::{Error, Result};
use crate::weights::{DType, Tensor, TensorData};
use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};

/// How a backend stores each kind of parameter. `model.rs` is generic over it, so the CPU and
/// GPU modules are the same structs, field for field.
pub trait Params {
    /// A tensor used as stored: embedding tables, the decoder matrix and its bias.
    type Table;
    /// torch's nn.Linear: weight `[out, in]` and bias `[out]`.
    type Linear;
    /// LayerNorm weight and bias.
    type Norm;
    /// An attention's query, key and value projections (the GPU stacks them into one).
    type Qkv;
    fn table(&self, t: &Tensor) -> Result<Self::Table>;
    fn linear(&self, weight: &Tensor, bias: &Tensor) -> Result<Self::Linear>;
    fn norm(&self, weight: &Tensor, bias: &Tensor) -> Result<Self::Norm>;
    fn qkv(&self, q: [&Tensor; 2], k: [&Tensor; 2], v: [&Tensor; 2]) -> Result<Self::Qkv>;
}

/// Loading for its checks alone (shapes, presence): `AlbertWeights::from_checkpoint`.
impl Params for () {
    type Table = ();
    type Linear = ();
    type Norm = ();
    type Qkv = ();
    fn table(&self, _: &Tensor) -> Result<()> {
        Ok(())
    }
    fn linear(&self, _: &Tensor, _: &Tensor) -> Result<()> {
        Ok(())
    }
    fn norm(&self, _: &Tensor, _: &Tensor) -> Result<()> {
        Ok(())
    }
    fn qkv(&self, _: [&Tensor; 2], _: [&Tensor; 2], _: [&Tensor; 2]) -> Result<()> {
        Ok(())
    }
}

/// How a random tensor is filled (`Store::random`): transformers' init closely enough for
/// benchmarks.
#[derive(Clone, Copy)]
enum Init {
    Uniform,
    Zeros,
    Ones,
}

/// The tensors a `VarBuilder` reads, and which of them were read.
pub struct Store<'w> {
    /// Borrowed when the CPU or GPU model loads from `AlbertWeights`; owned while a checkpoint
    /// is validated or random weights are made.
    tensors: Cow<'w, HashMap<String, Tensor>>,
    used: BTreeSet<String>,
    /// `Some((xorshift state, dtype))`: invent every requested tensor (random weights of a
    /// config's shapes), leaving optional ones out.
    random: Option<(u64, DType)>,
}

impl<'w> Store<'w> {
    pub fn new(tensors: Cow<'w, HashMap<String, Tensor>>) -> RefCell<Store<'w>> {
        RefCell::new(Store { tensors, used: BTreeSet::new(), random: None })
    }

    pub fn random(seed: u64, dtype: DType) -> RefCell<Store<'w>> {
        RefCell::new(Store { tensors: Cow::Owned(HashMap::new()), used: BTreeSet::new(), random: Some((seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1, dtype)) })
    }

    /// The tensors, keeping only those a load read.
    pub fn into_used(self) -> HashMap<String, Tensor> {
        let used = self.used;
        self.tensors.into_owned().into_iter().filter(|(k, _)| used.contains(k)).collect()
    }

    fn invent(&mut self, name: &str, shape: &[usize], init: Init) {
        let Some((state, dtype)) = &mut self.random else { return };
        let n: usize = shape.iter().product();
        let data: Vec<f32> = match init {
            Init::Zeros => vec![0.0; n],
            Init::Ones => vec![1.0; n],
            // Uniform with std ≈ 0.02, like transformers' normal(0, 0.02) init.
            Init::Uniform => (0..n)
                .map(|_| {
                    *state ^= *state << 13;
                    *state ^= *state >> 7;
                    *state ^= *state << 17;
                    ((*state >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * 0.0346
                })
                .collect(),
        };
        let mut t = Tensor { name: name.to_string(), shape: shape.to_vec(), data: TensorData::F32(data) };
        t.cast(*dtype);
        self.tensors.to_mut().insert(name.to_string(), t);
    }

    fn missing(&self, name: &str, expected: &[usize]) -> Error {
        // Point at a near miss (same last two name parts) so prefix mistakes are obvious.
        let tail: Vec<&str> = name.rsplit('.').take(2).collect();
        let mut near: Vec<&String> = self.tensors.keys().filter(|k| k.rsplit('.').take(2).collect::<Vec<_>>() == tail).collect();
        near.sort();
        let hint = match near.first() {
            Some(k) => format!("; a tensor named `{k}` exists: was the checkpoint saved with another prefix?"),
            None => {
                let mut some: Vec<&String> = self.tensors.keys().collect();
                some.sort();
                let some: Vec<String> = some.iter().take(3).map(|s| format!("`{s}`")).collect();
                if some.is_empty() { String::new() } else { format!(", e.g. {}", some.join(", ")) }
            }
        };
        Error::MissingTensor { name: name.into(), expected: expected.to_vec(), found_count: self.tensors.len(), hint }
    }
}

/// A position in a checkpoint's key tree; `pp` descends, the getters read at that position.
#[derive(Clone)]
pub struct VarBuilder<'a, 'w> {
    store: &'a RefCell<Store<'w>>,
    prefix: String,
}

impl<'a, 'w> VarBuilder<'a, 'w> {
    pub fn root(store: &'a RefCell<Store<'w>>) -> Self {
        VarBuilder { store, prefix: String::new() }
    }

    /// The builder for the sub-module `name` (`""` stays here).
    pub fn pp(&self, name: impl std::fmt::Display) -> Self {
        let name = name.to_string();
        let prefix = match (self.prefix.is_empty(), name.is_empty()) {
            (_, true) => self.prefix.clone(),
            (true, false) => name,
            (false, false) => format!("{}.{name}", self.prefix),
        };
        VarBuilder { store: self.store, prefix }
    }

    fn key(&self, name: &str) -> String {
        self.pp(name).prefix
    }

    /// Whether the checkpoint has any tensor below this position (always, for random weights).
    pub fn exists(&self) -> bool {
        let s = self.store.borrow();
        let p = format!("{}.", self.prefix);
        s.random.is_some() || s.tensors.keys().any(|k| k.starts_with(&p))
    }

    /// Whether the checkpoint has the tensor `name` here (never, for random weights: optional
    /// parts are left out of them).
    pub fn contains(&self, name: &str) -> bool {
        self.store.borrow().tensors.contains_key(&self.key(name))
    }

    /// Checks that `name` is present with `shape` (inventing it for random weights) and marks it
    /// read; returns its key.
    fn require(&self, name: &str, shape: &[usize], init: Init) -> Result<String> {
        let key = self.key(name);
        let mut s = self.store.borrow_mut();
        if !s.tensors.contains_key(&key) {
            s.invent(&key, shape, init);
        }
        let t = s.tensors.get(&key).ok_or_else(|| s.missing(&key, shape))?;
        if t.shape != shape {
            return Err(Error::TensorShape { name: key, expected: shape.to_vec(), found: t.shape.clone() });
        }
        s.used.insert(key.clone());
        Ok(key)
    }

    /// Calls `f` on the tensors `names` (each checked against its shape).
    fn with<const N: usize, R>(&self, names: [(&str, &[usize], Init); N], f: impl FnOnce([&Tensor; N]) -> Result<R>) -> Result<R> {
        let mut keys = Vec::with_capacity(N);
        for (name, shape, init) in names {
            keys.push(self.require(name, shape, init)?);
        }
        let s = self.store.borrow();
        // `require` just checked every key.
        let ts: [&Tensor; N] = std::array::from_fn(|i| &s.tensors[&keys[i]]);
        f(ts)
    }

    /// The tensor `name` of `shape`, as the backend stores a table.
    pub fn table<P: Params>(&self, p: &P, name: &str, shape: &[usize]) -> Result<P::Table> {
        let init = if name.ends_with("bias") { Init::Zeros } else { Init::Uniform };
        self.with([(name, shape, init)], |[t]| p.table(t))
    }

    /// `table`, or `None` when the checkpoint does not have it.
    pub fn table_opt<P: Params>(&self, p: &P, name: &str, shape: &[usize]) -> Result<Option<P::Table>> {
        if self.contains(name) { self.table(p, name, shape).map(Some) } else { Ok(None) }
    }

    /// nn.Linear(inp, out) here: `weight` `[out, inp]` and `bias` `[out]`.
    pub fn linear<P: Params>(&self, p: &P, out: usize, inp: usize) -> Result<P::Linear> {
        self.with([("weight", &[out, inp][..], Init::Uniform), ("bias", &[out][..], Init::Zeros)], |[w, b]| p.linear(w, b))
    }

    /// `linear`, or `None` when the checkpoint has no `weight` here.
    pub fn linear_opt<P: Params>(&self, p: &P, out: usize, inp: usize) -> Result<Option<P::Linear>> {
        if self.contains("weight") { self.linear(p, out, inp).map(Some) } else { Ok(None) }
    }

    /// LayerNorm(n) here, under HF's names or TF-era `gamma`/`beta`.
    pub fn layer_norm<P: Params>(&self, p: &P, n: usize) -> Result<P::Norm> {
        let (w, b) = if !self.contains("weight") && self.contains("gamma") { ("gamma", "beta") } else { ("weight", "bias") };
        self.with([(w, &[n][..], Init::Ones), (b, &[n][..], Init::Zeros)], |[w, b]| p.norm(w, b))
    }

    /// Three nn.Linear(h, h) named `names`, for a backend that may fuse them.
    pub fn qkv<P: Params>(&self, p: &P, names: [&str; 3], h: usize) -> Result<P::Qkv> {
        let rel: Vec<String> = names.iter().flat_map(|n| [format!("{n}.weight"), format!("{n}.bias")]).collect();
        let (hh, h1) = ([h, h], [h]);
        self.with(
            std::array::from_fn::<_, 6, _>(|i| if i % 2 == 0 { (rel[i].as_str(), &hh[..], Init::Uniform) } else { (rel[i].as_str(), &h1[..], Init::Zeros) }),
            |[qw, qb, kw, kb, vw, vb]| p.qkv([qw, qb], [kw, kb], [vw, vb]),
        )
    }
}
