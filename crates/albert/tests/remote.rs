//! The CPU path behind the byte protocol the app's Web Worker speaks: a `FillMask` whose forward
//! crosses `remote::wire` to a `remote::Server` (in-process here, in a worker in the browser)
//! gives the same predictions, lens, drift, neuron vectors and attentions as the CPU path itself,
//! bit for bit, and the server's errors arrive as the same text.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;

use albert::remote::{wire, RemoteForward, Server, WeightFacts};
use albert::{Batch, FillMask, FillOptions, HeadSwitch, Inside, ModelFiles, Output, Request};

/// A `RemoteForward` that encodes every call, hands the bytes to a `Server` and decodes its
/// reply: what the app's worker client does, without the worker.
struct Loopback {
    server: Server,
    facts: WeightFacts,
    next_id: u32,
}

impl Loopback {
    fn load(files: &ModelFiles) -> Result<Self, String> {
        let mut server = Server::default();
        match wire::decode_reply(&server.handle(&wire::encode_load(1, files))).map_err(|e| e.to_string())? {
            (1, wire::Reply::Loaded(facts)) => Ok(Loopback { server, facts, next_id: 2 }),
            (_, wire::Reply::Error(e)) => Err(e),
            (id, r) => panic!("unexpected reply {id}: {r:?}"),
        }
    }
}

impl RemoteForward for Loopback {
    fn name(&self) -> &'static str {
        "cpu"
    }
    fn facts(&self) -> &WeightFacts {
        &self.facts
    }
    fn forward<'a>(&'a mut self, batch: &'a Batch, req: &'a Request) -> Pin<Box<dyn Future<Output = albert::Result<Output>> + 'a>> {
        let id = self.next_id;
        self.next_id += 1;
        let reply = self.server.handle(&wire::encode_forward(id, batch, req));
        Box::pin(async move {
            match wire::decode_reply(&reply)? {
                (got, wire::Reply::Output(o)) if got == id => Ok(*o),
                (_, wire::Reply::Error(e)) => Err(albert::Error::Io(e)),
                (got, r) => panic!("reply {got} to call {id}: {r:?}"),
            }
        })
    }
}

fn fixture(name: &str) -> ModelFiles {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name);
    ModelFiles::from_dir(&dir).expect("fixture")
}

#[test]
fn the_remote_cpu_path_answers_exactly_as_the_cpu_path() {
    for name in ["tiny", "groups", "pretraining"] {
        let files = fixture(name);
        let mut local = pollster::block_on(FillMask::new(&files, None)).unwrap();
        let mut remote = FillMask::remote(&files, Box::new(Loopback::load(&files).unwrap())).unwrap();
        assert_eq!(serde_json::to_value(&local.info).unwrap(), serde_json::to_value(&remote.info).unwrap(), "{name}: model card");
        let opts = FillOptions { top_k: 5, logits: true, attentions: true, ..Default::default() };
        let inside = Inside {
            depth: Some(2),
            lens: true,
            drift: true,
            switches: vec![HeadSwitch { layer: 1, inner: 0, head: 1 }],
            neuron: Some(HeadSwitch { layer: 2, inner: 0, head: 0 }),
        };
        for text in ["The [MASK] sat on the mat.", "[MASK] and [MASK] [SEP] a second sentence."] {
            let a = pollster::block_on(local.fill_inside(text, &opts, &inside)).unwrap();
            let b = pollster::block_on(remote.fill_inside(text, &opts, &inside)).unwrap();
            assert_eq!(serde_json::to_value(&a.masks).unwrap(), serde_json::to_value(&b.masks).unwrap(), "{name}: {text}");
            assert_eq!(a.drift, b.drift);
            assert_eq!(a.neuron, b.neuron);
            assert_eq!(a.attentions.len(), b.attentions.len());
            for (x, y) in a.attentions.iter().zip(&b.attentions) {
                assert_eq!((x.index, x.layer, x.group, x.inner), (y.index, y.layer, y.group, y.inner));
                assert!(x.data.iter().zip(&y.data).all(|(p, q)| p.to_bits() == q.to_bits()), "{name}: attention {}", x.index);
            }
        }
        if name == "pretraining" {
            let a = pollster::block_on(local.order("It rained.", "The street was wet.")).unwrap();
            let b = pollster::block_on(remote.order("It rained.", "The street was wet.")).unwrap();
            assert_eq!(a.sop_logits, b.sop_logits);
        } else {
            let e = pollster::block_on(remote.order("It rained.", "The street was wet.")).unwrap_err().to_string();
            assert!(e.contains("no sentence-order head"), "{e}");
        }
    }
}

#[test]
fn the_servers_errors_arrive_as_their_text() {
    // A broken config: the load fails with the engine's own message.
    let mut files = fixture("tiny");
    files.config_json = files.config_json.replace("\"num_attention_heads\": 4", "\"num_attention_heads\": 5");
    let e = Loopback::load(&files).err().expect("a load error");
    assert!(e.starts_with("config.json:") && e.contains("num_attention_heads"), "{e}");
    // Too long for the model: the forward's error crosses back.
    let files = fixture("tiny");
    let mut remote = FillMask::remote(&files, Box::new(Loopback::load(&files).unwrap())).unwrap();
    let long = format!("{} [MASK].", "word ".repeat(200));
    let e = pollster::block_on(remote.fill(&long, &FillOptions::default())).unwrap_err().to_string();
    assert!(e.contains("max_position_embeddings"), "{e}");
    // A forward before any load.
    let reply = Server::default().handle(&wire::encode_forward(9, &Batch::single(vec![2, 4, 3], vec![0; 3]), &Request::default()));
    assert!(matches!(wire::decode_reply(&reply).unwrap(), (9, wire::Reply::Error(m)) if m.contains("no model is loaded")));
    // Bytes that are no call at all.
    assert!(matches!(wire::decode_reply(&Server::default().handle(b"hello")).unwrap(), (0, wire::Reply::Error(m)) if m.contains("malformed")));
}
