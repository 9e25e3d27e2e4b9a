"""Golden values for the "inside ALBERT" features: depth, logit lens, drift, head switches, the
neuron view's q/k, and sentence order, computed with transformers' own modules.

Run:  tools/golden/.venv/bin/python tools/golden/make_inside.py   (after make_fixtures.py)
Writes crates/albert/tests/fixtures/inside/<fixture>.safetensors and .json for the fixtures
`tiny` (all-shared, 3 layers), `groups` (2 groups × 2 inner layers, 4 layers) and `pretraining`
(AlbertForPreTraining: SOP). Deterministic: rerunning gives byte-identical files.

Definitions (the same in the engine, the CLI, the app and these goldens):
- A layer is one of the `num_hidden_layers` applications of a layer group, numbered 1..L in the
  order of HF's `AlbertTransformer` loop; application i (0-based) runs group
  floor(i / (L / num_hidden_groups)) (for an all-shared model run deeper than L: group 0).
  With inner_group_num > 1 an application has inner layers l.j, j = 0..inner-1.
- h_0 is the output of `embedding_hidden_mapping_in`, h_l the output of application l.
- Depth K: K applications, then the MLM head. Logit lens: the MLM head on every h_l, l = 0..K.
- Drift, per layer l = 1..K: the mean over the sequence's tokens of ||h_l − h_{l−1}||₂ and of
  cos(h_l, h_{l−1}).
- Head switch l.j:h: head h's context vector is zero in inner layer j of application l only
  (before attention.dense), i.e. its attention probabilities are multiplied by 0 in that call.
- Neuron view for l.j:h: the query and key vectors of head h (after their biases, before the
  1/sqrt(d) scaling) in that call, the scores q·k/sqrt(d) plus the padding mask, and the softmax.
- Sentence order: AlbertForPreTraining's sop_logits for (A, B) and for (B, A); label 0 = in order.

The loop below calls transformers' modules (`AlbertLayerGroup`, `predictions`, `sop_classifier`,
`pooler`) and is checked against the plain forward at depth L (logits and hidden states) before
anything is written, so it is HF's computation, not a re-implementation of it.
"""

from __future__ import annotations

import json
import os

import torch
import transformers
from safetensors.torch import save_file
from transformers import AlbertForMaskedLM, AlbertForPreTraining

import make_fixtures as mf  # also makes torch deterministic and single-threaded, as for the fixtures
from common import FIX, write_json
from hf_checkpoint import load_checkpoint_f32
from tokenizer_fixtures import load_tiny_tokenizers

OUT = os.path.join(FIX, "inside")
TEXT = "The [MASK] chased the [MASK] across the garden."
SOP_A = "The capital of France is Paris."
SOP_B = "It is a very big city."

# fixture → (class, head switches "l.j:h" (1-based layer, 0-based inner and head), neuron view "l.j:h")
CASES = {
    "tiny": (AlbertForMaskedLM, ["2.0:1", "1.0:0", "3.0:3"], "2.0:1"),
    "groups": (AlbertForMaskedLM, ["3.1:2", "1.0:0"], "3.1:2"),
    "pretraining": (AlbertForPreTraining, ["1.0:2"], "1.0:2"),
}


def parse_switch(s: str):
    layer, rest = s.split(".")
    inner, head = rest.split(":")
    return int(layer), int(inner), int(head)


def group_of(i: int, cfg) -> int:
    """HF's `int(i / (num_hidden_layers / num_hidden_groups))`; group 0 past L (all-shared only)."""
    L, G = cfg.num_hidden_layers, cfg.num_hidden_groups
    return int(i / (L / G)) if i < L else 0


@torch.no_grad()
def inside(model, inputs, depth: int, switches=(), neuron=None):
    """Runs `depth` applications with transformers' modules; returns hidden states h_0..h_K, the
    attention probabilities of every inner layer, and the neuron view's q/k when asked."""
    cfg = model.config
    albert = model.albert
    ids, tt, am = inputs["input_ids"], inputs["token_type_ids"], inputs["attention_mask"]
    emb = albert.embeddings(input_ids=ids, token_type_ids=tt)
    ext = albert.get_extended_attention_mask(am, ids.shape)
    h = albert.encoder.embedding_hidden_mapping_in(emb)
    hs, attns, nv = [h], [], {}
    heads = cfg.num_attention_heads
    for i in range(depth):
        group = albert.encoder.albert_layer_groups[group_of(i, cfg)]
        masks = []
        for j in range(cfg.inner_group_num):
            m = torch.ones(1, heads, 1, 1)
            for (l, jj, hh) in switches:
                if l == i + 1 and jj == j:
                    m[0, hh] = 0.0
            masks.append(m)
        hooks = []
        if neuron and neuron[0] == i + 1:
            layer = group.albert_layers[neuron[1]]
            d = cfg.hidden_size // heads
            sl = slice(neuron[2] * d, (neuron[2] + 1) * d)
            hooks.append(layer.attention.query.register_forward_hook(lambda _m, _i, o: nv.__setitem__("q", o[0, :, sl].clone())))
            hooks.append(layer.attention.key.register_forward_hook(lambda _m, _i, o: nv.__setitem__("k", o[0, :, sl].clone())))
        out = group(h, ext, masks, output_attentions=True)
        for hk in hooks:
            hk.remove()
        h = out[0]
        attns.extend(out[-1])
        hs.append(h)
    return hs, attns, nv


def drift(hs, am):
    rows = am[0].bool()
    out = []
    for l in range(1, len(hs)):
        a, b = hs[l][0][rows], hs[l - 1][0][rows]
        l2 = (a - b).norm(dim=-1).mean()
        cos = torch.nn.functional.cosine_similarity(a, b, dim=-1).mean()
        out.append([float(l2), float(cos)])
    return torch.tensor(out, dtype=torch.float32)


def make(name, slow, fast):
    cls, switch_specs, neuron_spec = CASES[name]
    model, _ = load_checkpoint_f32(cls, os.path.join(FIX, name))
    cfg = model.config
    L = cfg.num_hidden_layers
    inputs = mf.encode_batch(fast, slow, [(TEXT, None)])
    ids = inputs["input_ids"][0]
    masks = [i for i, x in enumerate(ids.tolist()) if x == 4]
    g = {"input_ids": inputs["input_ids"], "token_type_ids": inputs["token_type_ids"],
         "mask_positions": torch.tensor(masks, dtype=torch.int64)}

    # The loop is HF's forward: same logits and hidden states at depth L.
    ref = model(**inputs, output_hidden_states=True, output_attentions=True, return_dict=True)
    ref_logits = ref.logits if hasattr(ref, "logits") else ref.prediction_logits
    hs, attns, _ = inside(model, inputs, L)
    assert len(hs) == len(ref.hidden_states) and all(torch.allclose(a, b, atol=1e-6) for a, b in zip(hs, ref.hidden_states))
    assert len(attns) == len(ref.attentions) and all(torch.allclose(a, b, atol=1e-6) for a, b in zip(attns, ref.attentions))
    assert torch.allclose(model.predictions(hs[-1]), ref_logits, atol=1e-5)

    depths = list(range(1, L + 1)) + (list(range(L + 1, 2 * L + 1)) if cfg.num_hidden_groups == 1 else [])
    for k in depths:
        hs, _, _ = inside(model, inputs, k)
        g[f"depth.{k}.mask_logits"] = model.predictions(hs[-1])[0, masks]
        g[f"depth.{k}.lens"] = torch.stack([model.predictions(h)[0, masks] for h in hs])  # [K+1, M, V]
        g[f"depth.{k}.drift"] = drift(hs, inputs["attention_mask"])  # [K, 2]: l2, cosine
    switches = [parse_switch(s) for s in switch_specs]
    for n in range(1, len(switches) + 1):  # the first switch alone, then the first two, ...
        hs, _, _ = inside(model, inputs, L, switches[:n])
        g[f"ablate.{n}.mask_logits"] = model.predictions(hs[-1])[0, masks]
    # A switch changes only its own application: the hidden states before it are untouched.
    hs_off, _, _ = inside(model, inputs, L, switches[:1])
    hs_on, _, _ = inside(model, inputs, L)
    first = switches[0][0]
    assert torch.equal(hs_off[first - 1], hs_on[first - 1]) and not torch.allclose(hs_off[first], hs_on[first])
    nl, nj, nh = parse_switch(neuron_spec)
    hs, attns, nv = inside(model, inputs, L, neuron=(nl, nj, nh))
    d = cfg.hidden_size // cfg.num_attention_heads
    scores = nv["q"] @ nv["k"].T / d**0.5
    probs = torch.softmax(scores, -1)
    call = (nl - 1) * cfg.inner_group_num + nj
    assert torch.allclose(probs, attns[call][0, nh], atol=1e-6), "the neuron view's softmax is the layer's attention"
    g.update({"neuron.q": nv["q"], "neuron.k": nv["k"], "neuron.scores": scores, "neuron.probs": probs})
    meta = {"fixture": name, "text": TEXT, "tokens": fast.convert_ids_to_tokens(ids.tolist()), "mask_positions": masks,
            "depths": depths, "switches": switch_specs, "neuron": neuron_spec, "layers": L,
            "groups": cfg.num_hidden_groups, "inner": cfg.inner_group_num}
    if cls is AlbertForPreTraining:
        for tag, (a, b) in {"ab": (SOP_A, SOP_B), "ba": (SOP_B, SOP_A)}.items():
            enc = mf.encode_batch(fast, slow, [(a, b)])
            out = model(**enc, return_dict=True)
            g[f"sop.{tag}.input_ids"] = enc["input_ids"]
            g[f"sop.{tag}.token_type_ids"] = enc["token_type_ids"]
            g[f"sop.{tag}.logits"] = out.sop_logits[0]
        meta["sop"] = {"a": SOP_A, "b": SOP_B, "label_0": "in order (A then B)"}
    g = {k: v.detach().to(torch.float32 if v.is_floating_point() else torch.int64).contiguous() for k, v in g.items()}
    meta["tensors"] = {k: [str(v.dtype).replace("torch.", ""), list(v.shape)] for k, v in sorted(g.items())}
    meta["transformers"], meta["torch"] = transformers.__version__, torch.__version__
    save_file(g, os.path.join(OUT, f"{name}.safetensors"), metadata={"format": "pt"})
    write_json(os.path.join(OUT, f"{name}.json"), meta)
    print(f"{name:12s} {len(g)} tensors, depths {depths}, switches {switch_specs}, neuron {neuron_spec}")


def main():
    torch.manual_seed(0)
    torch.set_num_threads(1)
    os.makedirs(OUT, exist_ok=True)
    slow, fast = load_tiny_tokenizers()
    for name in CASES:
        make(name, slow, fast)


if __name__ == "__main__":
    main()
