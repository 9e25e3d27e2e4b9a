"""Unit check of extrapolate.py's selection (in the smoke run): the fit takes one evaluation per
checkpoint from --min-tokens to the end of the flat learning-rate phase; a re-warm after a resume
does not end that phase, the decay does, and evaluations past it are set apart, not fitted.

    python -m check_extrapolate
"""

from __future__ import annotations

import json
import os
import tempfile

import extrapolate


def main():
    peak = 1e-3
    train = [{"split": "train", "step": t, "tokens": t * 1e6, "lr": peak} for t in range(50, 426, 25)]
    # A resume at 300 M re-warms (the rate climbs back to the peak): still the flat phase.
    train += [{"split": "train", "step": 300, "tokens": 300e6 + 1, "lr": peak * 0.1},
              {"split": "train", "step": 301, "tokens": 300e6 + 2, "lr": peak * 0.6}]
    # The decay from 425 M, and a resume inside it that re-warms to the decayed rate.
    train += [{"split": "train", "step": 426 + i, "tokens": (426 + i) * 1e6, "lr": peak * (0.99 - 0.1 * i)} for i in range(4)]
    train += [{"split": "train", "step": 430, "tokens": 430e6 + 1, "lr": peak * 0.05}]

    def ev(tokens_m, top1, step=None):
        return {"event": "eval", "depth": 4, "step": step or tokens_m, "tokens": tokens_m * 1e6, "single_token_mlm_top1": top1}

    evals = [ev(60, 0.2), ev(100, 0.25), ev(200, 0.26), ev(300, 0.27), ev(420, 0.279), ev(425, 0.28),
             ev(429, 0.29), {**ev(429, 0.30), "depth": 2}, ev(200, 0.261, step=200)]
    assert extrapolate.flat_phase_end(train, 80e6) == 425e6, extrapolate.flat_phase_end(train, 80e6)
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "log.jsonl")
        with open(path, "w") as f:
            f.write("".join(json.dumps(r) + "\n" for r in train + evals))
        fit, decay, end = extrapolate.read(path, 4, 80e6)
    assert end == 425e6, end
    assert [(r["tokens"] / 1e6, r["single_token_mlm_top1"]) for r in fit] == [(100, 0.25), (200, 0.261), (300, 0.27), (420, 0.279), (425, 0.28)], fit
    assert [r["single_token_mlm_top1"] for r in decay] == [0.29], decay
    # A log still in its flat phase sets nothing apart.
    flat = [r for r in train if r["lr"] >= peak or r["tokens"] < 425e6]
    assert extrapolate.flat_phase_end(flat, 80e6) == 425e6
    print("check_extrapolate: ok (the flat phase ends at the decay, not at a re-warm; decay evaluations set apart)")


if __name__ == "__main__":
    main()
