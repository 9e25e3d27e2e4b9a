"""Gives a trained ALBERT more parameters at the same compute: a train.py checkpoint of G shared
blocks becomes one of G' (HF `num_hidden_groups`, G' a multiple of G), every new block a copy of
the block its layers ran before, with that block's Adam moments. The copy computes the same
function (checked here: the logits and the loss are unchanged), so training goes on from where
it was, and each block is then free to specialize to its own layers.

Why: the main run's held-out curve has flattened (train/README.md), and on these CPUs compute,
not the download, is what is scarce. Groups add encoder parameters without adding a multiply per
token: 2 groups take the exported model from 3.0 M to 4.8 M parameters (9.5 MB in f16, within the
issue's 12 MB). Tried in session 29 (train/README.md, "Two groups at the same compute"): after
12 M tokens on the main run's own batches, 0.67 points worse on held-out books; not adopted.

    python regroup.py --ckpt runs/default/ckpt.pt --groups 2 --out runs/groups2/ckpt.pt
"""

from __future__ import annotations

import argparse
import copy
import os
import re
import sys

import torch
from transformers import AlbertConfig

from model import new_model, param_counts, weight_decay_split

GROUP = re.compile(r"^(albert\.encoder\.albert_layer_groups\.)(\d+)(\..*)$")


def source_name(name: str, ratio: int) -> str:
    """The old checkpoint's name of a new parameter: block g copies old block g // ratio."""
    m = GROUP.match(name)
    return f"{m[1]}{int(m[2]) // ratio}{m[3]}" if m else name


def regroup(ck: dict, groups: int) -> dict:
    """The checkpoint with `groups` blocks (weights, Adam moments and counters; the rest kept)."""
    cfg = AlbertConfig.from_dict(ck["config"])
    old_groups, layers = cfg.num_hidden_groups, cfg.num_hidden_layers
    if groups <= old_groups or groups % old_groups:
        raise ValueError(f"--groups {groups}: expected a multiple of the checkpoint's {old_groups} groups, larger than it")
    if layers % groups:
        raise ValueError(f"--groups {groups}: the model runs {layers} layers, not a multiple of {groups}")
    if cfg.to_dict().get("albert_lens_share"):
        raise ValueError("a checkpoint with sublayer tying (--share attention/ffn) has a group per layer already")
    ratio = groups // old_groups
    old = new_model(cfg)
    old.load_state_dict(ck["model"])
    new_cfg = AlbertConfig.from_dict({**cfg.to_dict(), "num_hidden_groups": groups})
    new = new_model(new_cfg)
    src = old.state_dict()
    new.load_state_dict({n: src[source_name(n, ratio)].clone() for n in new.state_dict()}, strict=True)

    # Adam's moments, parameter by parameter: train.py numbers the parameters as weight_decay_split
    # orders them, decayed first.
    old_index = {n: i for i, (n, _) in enumerate(sum(weight_decay_split(old), []))}
    new_parts = weight_decay_split(new)
    opt = ck["optimizer"]
    if len(opt["param_groups"]) != 2 or len(old_index) != sum(len(g["params"]) for g in opt["param_groups"]):
        raise ValueError("the checkpoint's optimizer does not hold train.py's two groups of every parameter")
    state, groups_out, i = {}, [], 0
    for pg, part in zip(opt["param_groups"], new_parts):
        ids = []
        for n, _ in part:
            j = old_index[source_name(n, ratio)]
            if j in opt["state"]:
                state[i] = {k: v.clone() if torch.is_tensor(v) else v for k, v in opt["state"][j].items()}
            ids.append(i)
            i += 1
        groups_out.append({**pg, "params": ids})

    out = dict(ck)
    out["config"] = new_cfg.to_dict()
    out["model"] = new.state_dict()
    out["optimizer"] = {"state": state, "param_groups": groups_out}
    out["state"] = copy.deepcopy(ck["state"])
    out["state"].setdefault("regrouped", []).append({"step": ck["state"]["step"], "tokens": ck["state"]["tokens"],
                                                     "from": old_groups, "to": groups})
    out["args"] = {**ck.get("args", {}), "groups": groups}
    check_same_function(old, new, cfg.vocab_size)
    return out


def check_same_function(old, new, vocab: int, seed: int = 0) -> None:
    """The regrouped model's MLM and SOP outputs equal the original's (f32, a random batch)."""
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(5, vocab, (4, 48), generator=g)
    types = (torch.arange(48) >= 24).long().expand(4, -1)
    mask = torch.ones_like(ids)
    old.eval(), new.eval()
    with torch.no_grad():
        a = old(input_ids=ids, token_type_ids=types, attention_mask=mask)
        b = new(input_ids=ids, token_type_ids=types, attention_mask=mask)
    for what in ("prediction_logits", "sop_logits"):
        d = (a[what] - b[what]).abs().max().item()
        if d != 0.0:
            raise AssertionError(f"regrouped {what} differ from the original's by {d:.3g} (expected identical)")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ckpt", required=True, help="train.py's ckpt.pt")
    ap.add_argument("--groups", type=int, required=True, help="num_hidden_groups of the result")
    ap.add_argument("--out", required=True, help="the new ckpt.pt (its folder is train.py's --out)")
    a = ap.parse_args(argv)
    if os.path.abspath(a.ckpt) == os.path.abspath(a.out):
        sys.exit("regroup.py: --out must differ from --ckpt (the original is the control)")
    ck = torch.load(a.ckpt, map_location="cpu", weights_only=False)
    try:
        out = regroup(ck, a.groups)
    except ValueError as e:
        sys.exit(f"regroup.py: {e}")
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    tmp = a.out + ".tmp"
    torch.save(out, tmp)
    os.replace(tmp, a.out)
    before, after = new_model(AlbertConfig.from_dict(ck["config"])), new_model(AlbertConfig.from_dict(out["config"]))
    print(f"[regroup] step {ck['state']['step']}, {ck['state']['tokens'] / 1e6:.2f} M tokens: "
          f"{ck['config']['num_hidden_groups']} → {a.groups} groups, unique parameters "
          f"{param_counts(before)['total'] / 1e6:.3f} M → {param_counts(after)['total'] / 1e6:.3f} M; "
          f"logits unchanged; wrote {a.out}")


if __name__ == "__main__":
    main()
