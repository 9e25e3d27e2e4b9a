"""Unit check of the sharing modes (run by smoke.sh, from train/: `python -m check_sharing`).

For a tiny 3-layer model in each mode it checks, and exits non-zero otherwise, that:
  * attention-only sharing makes every layer's attention parameters (query/key/value, output dense,
    attention LayerNorm) the same tensors as layer 0's, and leaves the FFN parameters (ffn,
    ffn_output, full_layer_layer_norm) separate per layer; FFN-only sharing the other way round;
    not-shared ties nothing; all-shared has one layer;
  * the unique-parameter counts (param_counts) equal the expected formula;
  * after an optimizer step the tied tensors are still equal and the untied ones have diverged
    (the tie is real in training, not only at initialization);
  * a checkpoint (config dict + state_dict) reloads tied (new_model re-applies the mode);
  * the untied export (export.py's config and tensors, loaded into transformers' AlbertForMaskedLM
    with groups = layers) has no tie left and gives the same logits.
"""

from __future__ import annotations

import sys

import numpy as np
import torch
from transformers import AlbertConfig, AlbertForMaskedLM

import corpus
import data
from export import hf_config, pretraining_state_dict
from model import SHARE_KEY, Pretrain, build_config, new_model, param_counts, share_config

L, H, E, FFN, V = 3, 32, 16, 64, 97
ATT = ("attention.",)
FF = ("ffn.", "ffn_output.", "full_layer_layer_norm.")


def layer_params(model, i):
    """name (relative to the AlbertLayer) → parameter of layer group i."""
    return dict(model.albert.encoder.albert_layer_groups[i].albert_layers[0].named_parameters())


def make(share):
    groups, tie = share_config(share, 1, L)
    cfg = build_config(V, E, H, 2, FFN, L, groups)
    if tie:
        setattr(cfg, SHARE_KEY, tie)
    torch.manual_seed(0)
    return new_model(cfg)


def expected_layer():
    att = 3 * (H * H + H) + (H * H + H) + 2 * H
    ff = (H * FFN + FFN) + (FFN * H + H) + 2 * H
    return att, ff


def check(share, fails):
    model = make(share)
    groups = model.config.num_hidden_groups
    att, ff = expected_layer()
    n_layers = {"all": (1, 1), "none": (L, L), "attention": (1, L), "ffn": (L, 1)}[share]  # (attention copies, FFN copies)
    want_encoder = E * H + H + n_layers[0] * att + n_layers[1] * ff
    got = param_counts(model)["encoder"]
    if got != want_encoder:
        fails.append(f"{share}: encoder unique parameters {got}, expected {want_encoder}")
    if share == "all":
        if groups != 1:
            fails.append(f"all: {groups} groups")
        return
    shared_prefixes = {"none": (), "attention": ATT, "ffn": FF}[share]
    # 1. identity at construction.
    p0 = layer_params(model, 0)
    for i in range(1, L):
        for n, p in layer_params(model, i).items():
            same = p is p0[n]
            if n.startswith(shared_prefixes) != same:
                fails.append(f"{share}: layer {i} {n} is {'tied to' if same else 'separate from'} layer 0")
    # 2. still tied (and the others diverged) after training steps.
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    rng = np.random.default_rng(0)  # a random 400-token "corpus": 40 sentences of 10, 2 documents
    sampler_cache = corpus.TokenCache(ids=rng.integers(5, V, 400).astype(np.int32), sent_starts=np.arange(0, 401, 10),
                                    doc_starts=np.array([0, 20, 40]), is_word_start=np.ones(V, dtype=bool))
    sampler = data.ExampleSampler(sampler_cache, V, seed=0)
    for _ in range(2):
        loss, _ = Pretrain(model)(**sampler.batch(4, 32, False))
        loss.backward()
        opt.step()
        opt.zero_grad()
    p0 = {n: p.detach().clone() for n, p in layer_params(model, 0).items()}
    for i in range(1, L):
        for n, p in layer_params(model, i).items():
            equal = torch.equal(p, p0[n])
            if n.startswith(shared_prefixes) != equal and "LayerNorm" not in n and "layer_norm" not in n:
                fails.append(f"{share}: after 2 steps layer {i} {n} {'equals' if equal else 'differs from'} layer 0")
    # 3. reload from a checkpoint's config dict + state_dict keeps the tie.
    cfg2 = AlbertConfig.from_dict(model.config.to_dict())
    m2 = new_model(cfg2)
    m2.load_state_dict(model.state_dict())
    if param_counts(m2) != param_counts(model):
        fails.append(f"{share}: reloaded model has {param_counts(m2)} unique parameters, not {param_counts(model)}")
    a, b = layer_params(m2, 0), layer_params(m2, L - 1)
    for n in a:
        if n.startswith(shared_prefixes) != (a[n] is b[n]):
            fails.append(f"{share}: reloaded layer {L - 1} {n} tie is wrong")
    # 4. untied export: plain HF model, no shared tensors, same logits (f16-rounded weights).
    cfg3, tied = hf_config(model)
    if tied != model.config.to_dict().get(SHARE_KEY) or hasattr(cfg3, SHARE_KEY) or cfg3.num_hidden_groups != L:
        fails.append(f"{share}: export config {tied=} groups {cfg3.num_hidden_groups}")
    hf = AlbertForMaskedLM(cfg3).eval()
    missing, _ = hf.load_state_dict({k: v.float() for k, v in pretraining_state_dict(model).items()}, strict=False)
    hf.tie_weights()
    if set(missing) - {"predictions.decoder.weight"}:
        fails.append(f"{share}: export misses {sorted(missing)}")
    ref = new_model(AlbertConfig.from_dict(model.config.to_dict())).eval()
    ref.load_state_dict({k: v.half().float() for k, v in model.state_dict().items()})
    b = sampler.batch(2, 32, False)
    with torch.no_grad():
        want = ref(input_ids=b["input_ids"], token_type_ids=b["token_type_ids"], attention_mask=b["attention_mask"]).prediction_logits
        got = hf(input_ids=b["input_ids"], token_type_ids=b["token_type_ids"], attention_mask=b["attention_mask"]).logits
    d = float((want - got).abs().max())
    n_hf = sum(p.numel() for n, p in hf.named_parameters() if n.startswith("albert.encoder."))
    if d > 1e-4 or n_hf != E * H + H + L * sum(expected_layer()):
        fails.append(f"{share}: untied export max |Δ| logits {d:.2e}, encoder {n_hf} parameters")


def main():
    torch.set_num_threads(1)
    fails = []
    for share in ("all", "none", "attention", "ffn"):
        check(share, fails)
    if fails:
        print("check_sharing: FAIL\n  " + "\n  ".join(fails))
        sys.exit(1)
    print("check_sharing: ok (all / none / attention-only / FFN-only: ties, unique counts, ties after training, reload, untied export)")


if __name__ == "__main__":
    main()
