"""Unit check of the training loss (run by smoke.sh, from train/: `python -m check_loss`).

`Pretrain` computes the MLM head on the masked rows only (for speed), so its loss must be checked
against transformers' own `AlbertForPreTraining(labels=…, sentence_order_label=…).loss`, the sum
of the MLM and SOP cross-entropies over the same batch. And `--sop-weight w` must scale the SOP
term only: loss(w) = MLM + w · SOP, with the stats still reporting both losses unweighted.
Exits non-zero on any mismatch.
"""

from __future__ import annotations

import sys

import numpy as np
import torch

import corpus
import data
from model import Pretrain, build_config, new_model

V = 97
TOL = 1e-5  # f32 on the CPU: the same math in another order (masked rows first), not another formula


def main() -> int:
    torch.manual_seed(0)
    cfg = build_config(V, embedding=16, hidden=32, heads=2, ffn=64, layers=2, max_pos=64)
    model = new_model(cfg).eval()
    rng = np.random.default_rng(0)  # a random 400-token "corpus": 40 sentences of 10, 2 documents
    cache = corpus.TokenCache(ids=rng.integers(5, V, 400).astype(np.int32), sent_starts=np.arange(0, 401, 10),
                            doc_starts=np.array([0, 20, 40]), is_word_start=np.ones(V, dtype=bool))
    batch = data.ExampleSampler(cache, V, seed=0).batch(4, 32, False)
    fails = []
    with torch.no_grad():
        hf = model(**batch).loss.item()
        losses, stats = {}, None
        for w in (0.0, 1.0, 2.5):
            loss, stats = Pretrain(model, w)(**batch)
            losses[w] = loss.item()
    mlm = (stats[0] / stats[2]).item()
    sop = (stats[3] / stats[5]).item()
    checks = [
        ("weight 1 against AlbertForPreTraining's loss", losses[1.0], hf),
        ("weight 0 against the MLM loss alone", losses[0.0], mlm),
        ("weight 2.5 against MLM + 2.5 · SOP", losses[2.5], mlm + 2.5 * sop),
        ("stats' MLM + SOP against AlbertForPreTraining's loss", mlm + sop, hf),
    ]
    for name, got, want in checks:
        diff = abs(got - want)
        print(f"check_loss: {name}: {got:.6f} vs {want:.6f} (max diff {diff:.2e}, tolerance {TOL:.0e})")
        if not diff <= TOL:
            fails.append(name)
    if sop <= 1e-3:
        fails.append(f"the SOP loss is {sop}: the weight checks would not see a wrong weight")
    for f in fails:
        print(f"check_loss: FAIL {f}", file=sys.stderr)
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
