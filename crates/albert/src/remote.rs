//! The forward run somewhere else: the app's CPU path lives in a Web Worker so a 150 ms forward
//! never blocks the page. [`RemoteForward`] is what such a backend offers [`crate::FillMask`]
//! (tokenizing, top-k and the lens stay with the caller); [`wire`] is the byte form of what
//! crosses: the model files, a forward's batch and request, its output, the weights' facts, an
//! error; [`team`] lays out the buffer a CPU worker shares with its helpers (`cpu::team`). The
//! engine knows no workers, only bytes in and bytes out.

pub mod team;
pub mod wire;

use std::future::Future;
use std::pin::Pin;

use crate::cpu;
use crate::error::Result;
use crate::output::{Batch, Output, Request};
use crate::weights::{AlbertWeights, DType};

/// `Send` where there are threads: natively a `FillMask` may move between them (the tests share
/// one), while in the browser a worker's handle cannot be `Send` (nor are wgpu's types there).
#[cfg(not(target_arch = "wasm32"))]
pub trait MaybeSend: Send {}
#[cfg(not(target_arch = "wasm32"))]
impl<T: Send> MaybeSend for T {}
#[cfg(target_arch = "wasm32")]
pub trait MaybeSend {}
#[cfg(target_arch = "wasm32")]
impl<T> MaybeSend for T {}

/// A forward that runs elsewhere, one call at a time (`&mut self`), on weights it loaded itself.
pub trait RemoteForward: MaybeSend {
    /// What the page and the CLI call the path it runs ("cpu").
    fn name(&self) -> &'static str;
    /// The loaded weights' facts, as [`WeightFacts::of`] found them where they were loaded.
    fn facts(&self) -> &WeightFacts;
    fn forward<'a>(&'a mut self, batch: &'a Batch, req: &'a Request) -> Pin<Box<dyn Future<Output = Result<Output>> + 'a>>;
}

/// What the caller needs to know of weights it does not hold: the model card's numbers and
/// which heads the checkpoint carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeightFacts {
    pub architecture: String,
    pub dtype: DType,
    pub parameters: usize,
    pub bytes: usize,
    pub mlm_head: bool,
    pub pooler: bool,
    pub sop_classifier: bool,
}

impl WeightFacts {
    /// The facts of weights and of the CPU model loaded from them.
    pub fn of(w: &AlbertWeights, m: &cpu::AlbertForMaskedLM) -> Self {
        WeightFacts {
            architecture: w.architecture.to_string(),
            dtype: w.dtype,
            parameters: w.parameter_count(),
            bytes: w.nbytes(),
            mlm_head: m.has_mlm_head(),
            pooler: m.albert.pooler.is_some(),
            sop_classifier: m.sop_classifier.is_some(),
        }
    }
}

/// The remote side: it holds the CPU model and answers calls, bytes in, bytes out. The app's
/// Web Worker is a thin shell around it; the tests run it in-process.
#[derive(Default)]
pub struct Server {
    model: Option<cpu::AlbertForMaskedLM>,
}

impl Server {
    /// Answers one call ([`wire::decode_call`]'s bytes) with one reply ([`wire::decode_reply`]'s).
    pub fn handle(&mut self, call: &[u8]) -> Vec<u8> {
        let (id, call) = match wire::decode_call(call) {
            Ok(c) => c,
            Err(e) => return wire::encode_error(0, &e.to_string()),
        };
        match call {
            wire::Call::Load(files) => {
                // The old model's memory goes before the new one's arrives.
                self.model = None;
                let loaded = files.load().and_then(|(config, w)| Ok((cpu::AlbertForMaskedLM::new(&config, &w)?, w)));
                match loaded {
                    Ok((m, w)) => {
                        let facts = WeightFacts::of(&w, &m);
                        self.model = Some(m);
                        wire::encode_loaded(id, &facts)
                    }
                    Err(e) => wire::encode_error(id, &e.to_string()),
                }
            }
            wire::Call::Forward(batch, req) => match &self.model {
                None => wire::encode_error(id, "no model is loaded in the CPU worker"),
                Some(m) => match m.forward(&batch, &req) {
                    Ok(out) => wire::encode_output(id, &out),
                    Err(e) => wire::encode_error(id, &e.to_string()),
                },
            },
        }
    }
}
