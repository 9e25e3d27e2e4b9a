"""Two runs that saw the same batches, compared step by step: a branch resumed from a copy of the
other run's checkpoint (the same sampler state, so the same examples in the same order), e.g.
regroup.py's 2 groups against the main run. At every step both logged, B − A of the training MLM
loss, MLM accuracy and SOP loss (over the same examples, so their noise cancels), in windows of
--window steps and overall with the standard error over lines; and at every held-out evaluation
both made (the same examples each time), B − A of its MLM accuracy and loss and SOP accuracy.

    python3 train/compare_runs.py train/resume/log.jsonl train/runs/groups2/log.jsonl
    python3 train/compare_runs.py A.jsonl B.jsonl --from-step 55387 --window 1000 --json

A log may hold a step twice (a session cut off after it and before its checkpoint logs it again
on resuming); the later line counts, as in plot.py. No dependencies beyond the standard library.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys

TRAIN = ("mlm_loss", "mlm_acc", "sop_loss")
VALID = ("mlm_acc", "mlm_loss", "sop_acc")


def by_step(path: str, from_step: int) -> dict[str, dict[int, dict]]:
    """The log's train and valid lines after `from_step` by step, the later line of a repeated step."""
    out: dict[str, dict[int, dict]] = {"train": {}, "valid": {}}
    with open(path) as f:
        for n, line in enumerate(f, 1):
            try:
                r = json.loads(line)
            except json.JSONDecodeError as e:
                raise ValueError(f"{path}:{n}: not a JSON line ({e})") from None
            if r.get("split") in out and r["step"] > from_step:
                out[r["split"]][r["step"]] = r
    return out


def mean_se(xs: list[float]) -> tuple[float, float]:
    m = statistics.fmean(xs)
    return m, (statistics.stdev(xs) / math.sqrt(len(xs)) if len(xs) > 1 else float("nan"))


def compare(a_path: str, b_path: str, from_step: int = 0, window: int = 1000) -> dict:
    logs = by_step(a_path, from_step), by_step(b_path, from_step)
    a, b = (log["train"] for log in logs)
    steps = sorted(set(a) & set(b))
    if not steps:
        raise ValueError(f"no training step after {from_step} is logged in both {a_path} and {b_path}")
    d = {k: [b[s][k] - a[s][k] for s in steps] for k in TRAIN}
    windows = []
    for lo in range(steps[0] - steps[0] % window, steps[-1] + 1, window):
        idx = [i for i, s in enumerate(steps) if lo <= s < lo + window]
        if idx:
            windows.append({"steps": [steps[idx[0]], steps[idx[-1]]], "lines": len(idx),
                            **{k: statistics.fmean(d[k][i] for i in idx) for k in TRAIN}})
    overall = {k: dict(zip(("mean", "se"), mean_se(d[k]))) for k in TRAIN}
    va, vb = (log["valid"] for log in logs)
    valid = [{"step": s, "examples": vb[s].get("examples"), **{k: vb[s][k] - va[s][k] for k in VALID}, "a_mlm_acc": va[s]["mlm_acc"]}
             for s in sorted(set(va) & set(vb)) if va[s].get("examples") == vb[s].get("examples")]
    return {"a": a_path, "b": b_path, "from_step": from_step, "lines": len(steps), "first_step": steps[0],
            "last_step": steps[-1], "tokens": [a[steps[0]]["tokens"], a[steps[-1]]["tokens"]],
            "overall": overall, "windows": windows, "valid": valid}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("a", help="log.jsonl of run A (the control)")
    ap.add_argument("b", help="log.jsonl of run B")
    ap.add_argument("--from-step", type=int, default=0, help="only steps after this one (where B branched)")
    ap.add_argument("--window", type=int, default=1000, help="steps per window of the table")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    try:
        r = compare(a.a, a.b, a.from_step, a.window)
    except (OSError, ValueError, KeyError) as e:
        sys.exit(f"compare_runs.py: {e}")
    if a.json:
        print(json.dumps(r, indent=1))
        return
    print(f"B − A on the same batches: {r['lines']} training lines, steps {r['first_step']}–{r['last_step']} "
          f"({r['tokens'][0] / 1e6:.2f}–{r['tokens'][1] / 1e6:.2f} M tokens)")
    print(f"{'steps':>15} {'lines':>5} {'Δ mlm loss':>11} {'Δ mlm acc':>10} {'Δ sop loss':>11}")
    for w in r["windows"]:
        print(f"{w['steps'][0]:>7}–{w['steps'][1]:<7} {w['lines']:>5} {w['mlm_loss']:>+11.4f} {w['mlm_acc'] * 100:>+9.2f}% {w['sop_loss']:>+11.4f}")
    o = r["overall"]
    print(f"{'overall':>15} {r['lines']:>5} {o['mlm_loss']['mean']:>+11.4f} {o['mlm_acc']['mean'] * 100:>+9.2f}% "
          f"{o['sop_loss']['mean']:>+11.4f}   (± {o['mlm_loss']['se']:.4f}, {o['mlm_acc']['se'] * 100:.2f}%, {o['sop_loss']['se']:.4f} s.e.)")
    for v in r["valid"]:
        print(f"held-out at step {v['step']} ({v['examples']} examples): Δ mlm acc {v['mlm_acc'] * 100:+.2f}% "
              f"(A {v['a_mlm_acc'] * 100:.2f}%), Δ mlm loss {v['mlm_loss']:+.4f}, Δ sop acc {v['sop_acc'] * 100:+.2f}%")


if __name__ == "__main__":
    main()
