//! The byte form of calls to a remote forward and of its replies. One message is one buffer:
//! a kind byte, a u32 call id, then the fields in order, little-endian; f32 arrays are a u32
//! length and the raw floats, copied whole (the attention maps of albert-base at 128 tokens are
//! 9 MB: a memcpy each way, never a parse). Decoding checks every length against what is left,
//! so a truncated or foreign message is an error naming what was expected, not a panic.

use crate::error::Result;
use crate::files::ModelFiles;
use crate::output::{AttentionMap, Batch, LogitsRequest, MapViews, Neuron, Output, Request, Thumbnails};
use crate::weights::DType;

use super::WeightFacts;

mod codec;
use codec::{Reader, Writer};

/// What the caller asks.
#[derive(Debug, Clone, PartialEq)]
pub enum Call {
    /// Load these files (replaces any model loaded before).
    Load(ModelFiles),
    /// One forward on the loaded model.
    Forward(Batch, Request),
}

/// What the remote side answers, with the id of the call it answers.
#[derive(Debug, Clone)]
pub enum Reply {
    /// Started and listening (id 0): calls sent before this could be lost.
    Ready,
    Loaded(WeightFacts),
    /// Boxed: an output is large next to the other replies.
    Output(Box<Output>),
    /// The call failed; the message is the error's text, as the user should read it.
    Error(String),
}

const LOAD: u8 = 1;
const FORWARD: u8 = 2;
const READY: u8 = 101;
const LOADED: u8 = 102;
const OUTPUT: u8 = 103;
const ERROR: u8 = 104;

pub fn encode_load(id: u32, files: &ModelFiles) -> Vec<u8> {
    let mut w = Writer::new(LOAD, id, files.weights_bytes() + 4096);
    w.str(&files.config_json);
    w.u32(files.weights.len() as u32);
    for (name, bytes) in &files.weights {
        w.str(name);
        w.bytes(bytes);
    }
    for blob in [&files.tokenizer_json, &files.spiece_model, &files.tokenizer_config] {
        w.opt(blob.as_deref(), Writer::bytes);
    }
    w.buf
}

pub fn encode_forward(id: u32, batch: &Batch, req: &Request) -> Vec<u8> {
    let mut w = Writer::new(FORWARD, id, 64 + 12 * batch.input_ids.len());
    w.u32(batch.batch as u32);
    w.u32(batch.seq_len as u32);
    for ids in [&batch.input_ids, &batch.token_type_ids, &batch.attention_mask] {
        w.u32s(ids);
    }
    match &req.logits {
        LogitsRequest::None => w.u8(0),
        LogitsRequest::All => w.u8(1),
        LogitsRequest::Rows(rows) => {
            w.u8(2);
            w.usizes(rows);
        }
    }
    for flag in [req.attentions, req.hidden_states, req.sop, req.lens, req.drift] {
        w.u8(flag as u8);
    }
    w.opt(req.depth, |w, d| w.u32(d as u32));
    w.u32(req.switches.len() as u32);
    for s in &req.switches {
        w.switch(*s);
    }
    w.opt(req.neuron, Writer::switch);
    w.usizes(&req.maps.whole);
    w.u8(req.maps.head_means as u8);
    w.opt(req.maps.thumbnails, |w, s| w.u32(s as u32));
    w.buf
}

pub fn decode_call(buf: &[u8]) -> Result<(u32, Call)> {
    let mut r = Reader::new(buf, "a call to the CPU worker");
    let (kind, id) = (r.u8()?, r.u32()?);
    let call = match kind {
        LOAD => {
            let config_json = r.string()?;
            let n = r.u32()? as usize;
            let mut weights = Vec::with_capacity(n.min(1024));
            for _ in 0..n {
                weights.push((r.string()?, r.bytes()?.to_vec()));
            }
            let mut blob = || r.opt(|r| Ok(r.bytes()?.to_vec()));
            let (tokenizer_json, spiece_model, tokenizer_config) = (blob()?, blob()?, blob()?);
            Call::Load(ModelFiles { config_json, weights, tokenizer_json, spiece_model, tokenizer_config })
        }
        FORWARD => {
            let (batch, seq_len) = (r.u32()? as usize, r.u32()? as usize);
            let (input_ids, token_type_ids, attention_mask) = (r.u32s()?, r.u32s()?, r.u32s()?);
            let logits = match r.u8()? {
                0 => LogitsRequest::None,
                1 => LogitsRequest::All,
                2 => LogitsRequest::Rows(r.usizes()?),
                k => return Err(r.bad(format!("a logits request kind 0, 1 or 2, found {k}"))),
            };
            let mut flag = || r.u8().map(|b| b != 0);
            let (attentions, hidden_states, sop, lens, drift) = (flag()?, flag()?, flag()?, flag()?, flag()?);
            let depth = r.opt(|r| Ok(r.u32()? as usize))?;
            let n = r.u32()? as usize;
            let switches = (0..n).map(|_| r.switch()).collect::<Result<Vec<_>>>()?;
            let neuron = r.opt(Reader::switch)?;
            let maps = MapViews { whole: r.usizes()?, head_means: r.u8()? != 0, thumbnails: r.opt(|r| Ok(r.u32()? as usize))? };
            Call::Forward(
                Batch { batch, seq_len, input_ids, token_type_ids, attention_mask },
                Request { logits, attentions, hidden_states, sop, depth, lens, drift, switches, neuron, maps },
            )
        }
        k => return Err(r.bad(format!("a call kind ({LOAD} load or {FORWARD} forward), found {k}"))),
    };
    r.end()?;
    Ok((id, call))
}

pub fn encode_ready() -> Vec<u8> {
    Writer::new(READY, 0, 0).buf
}

pub fn encode_loaded(id: u32, f: &WeightFacts) -> Vec<u8> {
    let mut w = Writer::new(LOADED, id, 64);
    w.str(&f.architecture);
    w.u8(match f.dtype {
        DType::F32 => 0,
        DType::F16 => 1,
    });
    w.u64(f.parameters as u64);
    w.u64(f.bytes as u64);
    for flag in [f.mlm_head, f.pooler, f.sop_classifier] {
        w.u8(flag as u8);
    }
    w.buf
}

pub fn encode_output(id: u32, o: &Output) -> Vec<u8> {
    let floats = o.logits.as_ref().map_or(0, Vec::len)
        + o.attentions.iter().map(|a| a.data.len()).sum::<usize>()
        + o.hidden_states.iter().map(Vec::len).sum::<usize>()
        + o.lens.as_ref().map_or(0, Vec::len)
        + o.neuron.as_ref().map_or(0, |n| n.q.len() + n.k.len())
        + o.head_means.iter().map(Vec::len).sum::<usize>()
        + o.thumbnails.as_ref().map_or(0, |t| t.maps.iter().map(Vec::len).sum());
    let mut w = Writer::new(OUTPUT, id, 4 * floats + 1024);
    w.opt(o.logits.as_deref(), Writer::f32s);
    w.usizes(&o.logit_rows);
    w.u32(o.attentions.len() as u32);
    for a in &o.attentions {
        for x in [a.index, a.layer, a.group, a.inner] {
            w.u32(x as u32);
        }
        w.f32s(&a.data);
    }
    w.u32(o.hidden_states.len() as u32);
    for h in &o.hidden_states {
        w.f32s(h);
    }
    w.opt(o.sop_logits.as_deref(), Writer::f32s);
    w.opt(o.lens.as_deref(), Writer::f32s);
    w.opt(o.neuron.as_ref(), |w, n| {
        w.switch(n.head);
        w.f32s(&n.q);
        w.f32s(&n.k);
    });
    w.opt(o.drift.as_deref(), Writer::f32s);
    w.u32(o.head_means.len() as u32);
    for m in &o.head_means {
        w.f32s(m);
    }
    w.opt(o.thumbnails.as_ref(), |w, t| {
        w.u32(t.side as u32);
        w.u32(t.maps.len() as u32);
        for m in &t.maps {
            w.f32s(m);
        }
    });
    w.buf
}

pub fn encode_error(id: u32, message: &str) -> Vec<u8> {
    let mut w = Writer::new(ERROR, id, message.len() + 16);
    w.str(message);
    w.buf
}

pub fn decode_reply(buf: &[u8]) -> Result<(u32, Reply)> {
    let mut r = Reader::new(buf, "a reply from the CPU worker");
    let (kind, id) = (r.u8()?, r.u32()?);
    let reply = match kind {
        READY => Reply::Ready,
        LOADED => {
            let architecture = r.string()?;
            let dtype = match r.u8()? {
                0 => DType::F32,
                1 => DType::F16,
                k => return Err(r.bad(format!("a dtype 0 (f32) or 1 (f16), found {k}"))),
            };
            let (parameters, bytes) = (r.u64()? as usize, r.u64()? as usize);
            let mut flag = || r.u8().map(|b| b != 0);
            let (mlm_head, pooler, sop_classifier) = (flag()?, flag()?, flag()?);
            Reply::Loaded(WeightFacts { architecture, dtype, parameters, bytes, mlm_head, pooler, sop_classifier })
        }
        OUTPUT => {
            let logits = r.opt(Reader::f32s)?;
            let logit_rows = r.usizes()?;
            let n = r.u32()? as usize;
            let mut attentions = Vec::with_capacity(n.min(1024));
            for _ in 0..n {
                let (index, layer, group, inner) = (r.u32()? as usize, r.u32()? as usize, r.u32()? as usize, r.u32()? as usize);
                attentions.push(AttentionMap { index, layer, group, inner, data: r.f32s()? });
            }
            let n = r.u32()? as usize;
            let hidden_states = (0..n).map(|_| r.f32s()).collect::<Result<Vec<_>>>()?;
            let sop_logits = r.opt(Reader::f32s)?;
            let lens = r.opt(Reader::f32s)?;
            let neuron = r.opt(|r| Ok(Neuron { head: r.switch()?, q: r.f32s()?, k: r.f32s()? }))?;
            let drift = r.opt(Reader::f32s)?;
            let n = r.u32()? as usize;
            let head_means = (0..n).map(|_| r.f32s()).collect::<Result<Vec<_>>>()?;
            let thumbnails = r.opt(|r| {
                let side = r.u32()? as usize;
                let n = r.u32()? as usize;
                Ok(Thumbnails { side, maps: (0..n).map(|_| r.f32s()).collect::<Result<Vec<_>>>()? })
            })?;
            Reply::Output(Box::new(Output { logits, logit_rows, attentions, hidden_states, sop_logits, lens, neuron, drift, head_means, thumbnails }))
        }
        ERROR => Reply::Error(r.string()?),
        k => return Err(r.bad(format!("a reply kind ({READY}..={ERROR}), found {k}"))),
    };
    r.end()?;
    Ok((id, reply))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::HeadSwitch;

    fn output() -> Output {
        Output {
            logits: Some(vec![1.5, -2.25, f32::MIN_POSITIVE]),
            logit_rows: vec![3],
            attentions: (0..3).map(|i| AttentionMap { index: i, layer: i, group: 0, inner: 0, data: vec![i as f32 / 7.0; 2 * 4 * 4] }).collect(),
            hidden_states: vec![vec![0.125; 8], vec![-1.0; 8]],
            sop_logits: None,
            lens: Some(vec![0.5; 6]),
            neuron: Some(Neuron { head: HeadSwitch { layer: 2, inner: 0, head: 1 }, q: vec![0.25; 8], k: vec![-0.5; 8] }),
            drift: Some(vec![1.0, 0.9, 2.0, 0.8]),
            head_means: vec![vec![0.5; 4], vec![0.25; 4], vec![1.0; 4]],
            thumbnails: Some(Thumbnails { side: 1, maps: vec![vec![0.75; 2]; 3] }),
        }
    }

    fn request() -> (Batch, Request) {
        let batch = Batch::single(vec![2, 17, 4, 3], vec![0, 0, 0, 0]);
        let req = Request {
            logits: LogitsRequest::Rows(vec![2]),
            attentions: true,
            depth: Some(5),
            lens: true,
            drift: true,
            switches: vec![HeadSwitch { layer: 3, inner: 0, head: 5 }],
            neuron: Some(HeadSwitch { layer: 1, inner: 0, head: 0 }),
            maps: MapViews { whole: vec![0, 4], head_means: true, thumbnails: Some(64) },
            ..Default::default()
        };
        (batch, req)
    }

    #[test]
    fn every_message_round_trips() {
        let (batch, req) = request();
        assert_eq!(decode_call(&encode_forward(7, &batch, &req)).unwrap(), (7, Call::Forward(batch, req)));
        let files = ModelFiles {
            config_json: "{\"vocab_size\": 3}".into(),
            weights: vec![("model-00001-of-00002.safetensors".into(), vec![1, 2, 3]), ("model-00002-of-00002.safetensors".into(), vec![])],
            tokenizer_json: None,
            spiece_model: Some(vec![9; 5]),
            tokenizer_config: Some(vec![]),
        };
        assert_eq!(decode_call(&encode_load(1, &files)).unwrap(), (1, Call::Load(files)));
        let o = output();
        let (id, Reply::Output(back)) = decode_reply(&encode_output(u32::MAX, &o)).unwrap() else { panic!("not an output") };
        assert_eq!(id, u32::MAX);
        // Output has no PartialEq (its maps are large); compare the parts.
        assert_eq!((back.logits, back.logit_rows, back.hidden_states, back.sop_logits, back.lens, back.neuron, back.drift), (o.logits, o.logit_rows, o.hidden_states, o.sop_logits, o.lens, o.neuron, o.drift));
        assert_eq!((back.head_means, back.thumbnails), (o.head_means, o.thumbnails));
        assert_eq!(back.attentions.len(), 3);
        for (a, b) in back.attentions.iter().zip(&o.attentions) {
            assert_eq!((a.index, a.layer, a.group, a.inner, &a.data), (b.index, b.layer, b.group, b.inner, &b.data));
        }
        let facts = WeightFacts { architecture: "AlbertForPreTraining".into(), dtype: DType::F16, parameters: 11_683_584, bytes: 23_367_168, mlm_head: true, pooler: true, sop_classifier: true };
        assert!(matches!(decode_reply(&encode_loaded(4, &facts)).unwrap(), (4, Reply::Loaded(f)) if f == facts));
        assert!(matches!(decode_reply(&encode_error(5, "no [MASK] in the text")).unwrap(), (5, Reply::Error(m)) if m == "no [MASK] in the text"));
        assert!(matches!(decode_reply(&encode_ready()).unwrap(), (0, Reply::Ready)));
    }

    #[test]
    fn nan_and_infinity_cross_as_they_are() {
        // The caller's finiteness check must see what the forward produced.
        let o = Output { logits: Some(vec![f32::NAN, f32::INFINITY, -0.0]), ..Default::default() };
        let (_, Reply::Output(back)) = decode_reply(&encode_output(1, &o)).unwrap() else { panic!() };
        let l = back.logits.unwrap();
        assert!(l[0].is_nan() && l[1] == f32::INFINITY && l[2].to_bits() == (-0.0f32).to_bits());
    }

    #[test]
    fn truncated_or_foreign_messages_are_errors_not_panics() {
        let buf = encode_output(3, &output());
        for cut in [0, 1, 5, 6, 17, buf.len() / 2, buf.len() - 1] {
            let e = decode_reply(&buf[..cut]).unwrap_err().to_string();
            assert!(e.contains("a reply from the CPU worker is malformed"), "{cut}: {e}");
        }
        let mut long = buf.clone();
        long.push(0);
        assert!(decode_reply(&long).unwrap_err().to_string().contains("the end of the message, but 1 bytes follow"));
        // A call where a reply belongs, and a length past the end.
        let (batch, req) = request();
        assert!(decode_reply(&encode_forward(1, &batch, &req)).unwrap_err().to_string().contains("a reply kind"));
        let mut huge = encode_error(1, "x");
        huge[5..13].copy_from_slice(&u64::MAX.to_le_bytes());
        let e = decode_reply(&huge).unwrap_err().to_string();
        assert!(e.contains("18446744073709551615 bytes, but room for 1 is left"), "{e}");
    }
}
