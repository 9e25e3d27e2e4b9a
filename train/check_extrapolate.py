"""Unit check of extrapolate.py's selection (in the smoke run): the fit takes one evaluation per
checkpoint from --min-tokens on whose checkpoint was training at the peak rate; a re-warm after a
resume does not set the evaluation before it apart, the decay does, and the flat phase after a
budget raised past the decay is fitted again.

    python -m check_extrapolate
"""

from __future__ import annotations

import json
import os
import tempfile

import extrapolate

PEAK = 1e-3


def tr(step, lr, tokens_m=None):
    return {"split": "train", "step": step, "tokens": (step if tokens_m is None else tokens_m) * 1e6, "lr": lr}


def ev(tokens_m, top1, depth=4):
    return {"event": "eval", "depth": depth, "step": tokens_m, "tokens": tokens_m * 1e6, "single_token_mlm_top1": top1}


def selected(log):
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "log.jsonl")
        with open(path, "w") as f:
            f.write("".join(json.dumps(r) + "\n" for r in log))
        fit, decay, peak = extrapolate.read(path, 4, 80e6)
    return [(r["tokens"] / 1e6, r["single_token_mlm_top1"]) for r in fit], decay, peak


def main():
    # Sessions in log order: training lines, then evaluate.py's line at the session's end.
    log = [tr(t, PEAK) for t in range(50, 301, 25)] + [ev(60, 0.2), ev(100, 0.25), ev(200, 0.26), ev(300, 0.27)]
    log += [ev(200, 0.261)]  # a checkpoint evaluated twice keeps its last score
    # The next session re-warms after its resume (the rate climbs back to the peak), then trains flat.
    log += [tr(301, PEAK * 0.1), tr(302, PEAK * 0.6)] + [tr(t, PEAK) for t in range(325, 426, 25)]
    log += [ev(420, 0.279), ev(425, 0.28)]
    # The decay from 425 M; a session ends inside it.
    log += [tr(426 + i, PEAK * (0.99 - 0.1 * i)) for i in range(4)] + [ev(429, 0.29), ev(429, 0.30, depth=2)]
    # A resume inside the decay re-warms to the decayed rate; the run ends at its budget.
    log += [tr(430, PEAK * 0.05), tr(499, PEAK * 0.01)] + [ev(499, 0.30)]
    flat_then, _, _ = selected(log)
    # The budget raised past the decay: the run re-warms to the peak and trains flat again.
    log += [tr(500, PEAK * 0.3), tr(501, PEAK)] + [tr(t, PEAK) for t in range(525, 601, 25)] + [ev(600, 0.31)]
    fit, decay, peak = selected(log)

    assert peak == PEAK, peak
    want = [(100, 0.25), (200, 0.261), (300, 0.27), (420, 0.279), (425, 0.28)]
    assert flat_then == want, flat_then
    assert fit == want + [(600, 0.31)], fit
    assert [(r["single_token_mlm_top1"], round(r["rate"] / PEAK, 2)) for r in decay] == [(0.29, 0.69), (0.30, 0.01)], decay
    # A log still in its flat phase sets nothing apart.
    fit, decay, _ = selected([r for r in log if r.get("tokens", 0) <= 425e6])
    assert len(fit) == 5 and not decay, (fit, decay)
    print("check_extrapolate: ok (evaluations at the peak rate fitted, also after a raised budget; re-warms do not set "
          "apart the evaluation before them; decay evaluations set apart)")


if __name__ == "__main__":
    main()
