"""Unit check of regroup.py (in the smoke run): a model of one shared block made into 2 and 4
groups keeps its function, every block starts as the copy of the one its layers ran with that
block's Adam moments, the optimizer state loads into train.py's optimizer, the blocks part after a
step, and impossible regroupings are refused with a message.

    python -m check_regroup
"""

from __future__ import annotations

import torch

import regroup
from model import build_config, new_model, weight_decay_split


def optimizer(model):
    decay, no_decay = ([p for _, p in part] for part in weight_decay_split(model))
    return torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}],
                             lr=1e-3, betas=(0.9, 0.98), eps=1e-6)


def loss(model, seed=1):
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(5, 100, (3, 16), generator=g)
    out = model(input_ids=ids, attention_mask=torch.ones_like(ids), labels=ids,
                sentence_order_label=torch.tensor([0, 1, 0]))
    return out.loss


def trained_checkpoint(groups=1):
    torch.manual_seed(0)
    cfg = build_config(100, embedding=16, hidden=32, heads=2, ffn=64, layers=4, groups=groups, max_pos=64)
    model = new_model(cfg)
    opt = optimizer(model)
    for s in range(2):
        opt.zero_grad()
        loss(model, s).backward()
        opt.step()
    return model, {"config": cfg.to_dict(), "model": model.state_dict(), "optimizer": opt.state_dict(),
                   "state": {"step": 2, "tokens": 96}, "args": {"groups": groups}}


def check_copy(old, ck, groups):
    out = regroup.regroup(ck, groups)
    assert out["config"]["num_hidden_groups"] == groups and out["args"]["groups"] == groups
    before = ck["config"]["num_hidden_groups"]
    assert out["state"]["regrouped"] == [{"step": 2, "tokens": 96, "from": before, "to": groups}], out["state"]
    assert ck["args"]["groups"] == before and "regrouped" not in ck["state"], "the input checkpoint was changed"
    new = new_model(regroup.AlbertConfig.from_dict(out["config"]))
    new.load_state_dict(out["model"])
    src = dict(old.named_parameters())
    moments = {n: old_state for n, old_state in zip([n for part in weight_decay_split(old) for n, _ in part],
                                                    [ck["optimizer"]["state"][i] for i in range(len(src))])}
    opt = optimizer(new)
    opt.load_state_dict(out["optimizer"])  # train.py's resume: the moments land on the right tensors
    seen = set()
    for n, p in new.named_parameters():
        s = regroup.source_name(n, groups // before)
        assert torch.equal(p, src[s]), f"{n} is not a copy of {s}"
        st = opt.state[p]
        assert torch.equal(st["exp_avg"], moments[s]["exp_avg"]) and torch.equal(st["exp_avg_sq"], moments[s]["exp_avg_sq"]), \
            f"{n}'s Adam moments are not {s}'s"
        seen.add(regroup.GROUP.match(n)[2] if regroup.GROUP.match(n) else None)
    assert seen == {None, *map(str, range(groups))}, seen
    with torch.no_grad():
        assert torch.equal(loss(old), loss(new)), "the regrouped model's loss differs"
    return new, opt


def main():
    old, ck = trained_checkpoint()
    new, opt = check_copy(old, ck, 2)
    check_copy(old, ck, 4)

    # One step later the two blocks have parted: each had gradients from its own layers only.
    opt.zero_grad()
    loss(new).backward()
    opt.step()
    q = "albert.encoder.albert_layer_groups.{}.albert_layers.0.attention.query.weight"
    p = dict(new.named_parameters())
    assert not torch.equal(p[q.format(0)], p[q.format(1)]), "the two groups stayed equal after a step"

    # The check itself fails on a model that is not a copy.
    with torch.no_grad():
        p[q.format(1)].add_(1e-3)
    try:
        regroup.check_same_function(old, new, 100)
        raise AssertionError("check_same_function accepted a changed block")
    except AssertionError as e:
        assert "differ" in str(e), e

    for groups, why in ((1, "larger than"), (3, "not a multiple of 3"), (8, "not a multiple of 8")):
        try:
            regroup.regroup(ck, groups)
            raise AssertionError(f"--groups {groups} was accepted")
        except ValueError as e:
            assert why in str(e), e
    # From 2 groups to 4: blocks 0 and 1 copy block 0, blocks 2 and 3 block 1 (which differs).
    old2, ck2 = trained_checkpoint(groups=2)
    check_copy(old2, ck2, 4)
    try:
        regroup.regroup(ck2, 3)
        raise AssertionError("2 → 3 groups was accepted")
    except ValueError as e:
        assert "multiple of the checkpoint's 2 groups" in str(e), e
    print("check_regroup: ok (1 → 2, 1 → 4 and 2 → 4 groups: same loss, copied blocks and moments, parted after a step; "
          "refusals)")


if __name__ == "__main__":
    main()
