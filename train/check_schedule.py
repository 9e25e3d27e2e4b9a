"""Unit check of the training schedule (run by smoke.sh, from train/: `python -m check_schedule`).

The learning rate is what a resumed run or a decay branch depends on: warmup-stable-decay must
hold the peak until the last --decay-fraction of the budget, then fall linearly to the final
ratio; a compact resume re-warms over --rewarm-steps; the curriculum phase switches at its
`@until` (exclusive). Exits non-zero on any mismatch.
"""

from __future__ import annotations

import math
import sys
from types import SimpleNamespace

from schedule import lr_at, parse_phases, phase_at, progress_of, raised


def args(**kw):
    a = dict(lr=1e-3, warmup_steps=10, rewarm_steps=5, decay="wsd", decay_fraction=0.2, final_lr_ratio=0.0)
    a.update(kw)
    return SimpleNamespace(**a)


def main() -> int:
    fails = []

    def near(what, got, want):
        if not math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-15):
            fails.append(f"{what}: {got!r}, expected {want!r}")

    a = args()
    near("warmup, first step", lr_at(a, 0, 0.0), 1e-4)
    near("warmup, last step", lr_at(a, 9, 0.0), 1e-3)
    near("flat", lr_at(a, 500, 0.5), 1e-3)
    near("decay start", lr_at(a, 500, 0.8), 1e-3)
    near("half-way through the decay", lr_at(a, 500, 0.9), 5e-4)
    near("end", lr_at(a, 500, 1.0), 0.0)
    near("past the end (clamped)", lr_at(a, 500, 1.3), 0.0)
    # (1 − 0.85) / 0.15 rounds above 1: the main run's rate at 500 M was logged as −2.22e-19.
    for frac in (0.15, 0.1, 0.3, 0.0586889):
        end = lr_at(args(decay_fraction=frac), 500, 1.0)
        if end < 0:
            fails.append(f"end of a decay over {frac} of the budget: {end!r}, expected no rate below 0")
    near("final ratio", lr_at(args(final_lr_ratio=0.1), 500, 1.0), 1e-4)
    near("re-warm, first step", lr_at(a, 100, 0.5, rewarm_from=100), 2e-4)
    near("re-warm, done", lr_at(a, 104, 0.5, rewarm_from=100), 1e-3)
    near("linear, half-way", lr_at(args(decay="linear"), 500, 0.5), 5e-4)
    near("cosine, half-way", lr_at(args(decay="cosine"), 500, 0.5), 5e-4)
    near("cosine, end", lr_at(args(decay="cosine", final_lr_ratio=0.1), 500, 1.0), 1e-4)
    near("constant", lr_at(args(decay="none"), 500, 0.9), 1e-3)
    # A decay branch as train/README.md runs them: from S tokens to a budget of B, with
    # --decay-fraction 1 − S/B, the rate is the peak at S and (B − T)/(B − S) of it at T.
    S, B, T = 267.56e6, 285e6, 270.61e6
    branch = args(decay_fraction=1 - S / B)
    near("branch at its start", lr_at(branch, 40_000, S / B), 1e-3)
    near("branch part-way", lr_at(branch, 40_000, T / B), 1e-3 * (B - T) / (B - S))

    # Progress is the furthest of the budgets given; a resume re-warms only when its schedule asks
    # for more than RISE times the rate the checkpoint last trained at.
    st = {"step": 300, "tokens": 600.0, "train_seconds": 30.0}
    near("progress, tokens", progress_of(args(budget_tokens=1000.0), st), 0.6)
    near("progress, furthest budget", progress_of(args(budget_tokens=1000.0, budget_seconds=40.0, max_steps=1000), st), 0.75)
    near("progress, no budget", progress_of(args(), st), 0.0)
    for what, before, after, want in [
        ("same budget, flat phase", 1000.0, 1000.0, False),
        ("budget raised in the flat phase", 1000.0, 2000.0, False),
        ("same budget, mid-decay", 650.0, 650.0, False),
        ("budget raised mid-decay (0.38 of the peak → 1)", 650.0, 2000.0, True),
        ("budget raised early in the decay (0.83 → 1: below RISE)", 720.0, 2000.0, False),
        ("same budget, spent (0 → 0)", 600.0, 600.0, False),
        ("budget raised once spent (0 → 1)", 600.0, 2000.0, True),
        ("budget lowered", 2000.0, 700.0, False),
    ]:
        got = raised(args(budget_tokens=before), args(budget_tokens=after), st) is not None
        if got != want:
            fails.append(f"raised, {what}: {got}, expected {want}")
    rates = raised(args(budget_tokens=1000.0), args(budget_tokens=1000.0, lr=2e-3), st)
    if rates != (1e-3, 2e-3):
        fails.append(f"raised: a doubled --lr in the flat phase should re-warm from 1e-3 to 2e-3, got {rates}")

    ph = parse_phases("1x64x64t@0.02,2x128x64t@0.06,4x128x64@0.9")
    want = [(1, 64, 64, False, 0.02), (2, 128, 64, False, 0.06), (4, 128, 64, True, 1.0)]
    got = [(p["layers"], p["seq"], p["batch"], p["ngram"], p["until"]) for p in ph]
    if got != want:
        fails.append(f"parse_phases: {got}, expected {want} (the last phase runs to the end)")
    for progress, layers in [(0.0, 1), (0.0199, 1), (0.02, 2), (0.5, 4), (1.0, 4), (1.5, 4)]:
        if phase_at(ph, progress)["layers"] != layers:
            fails.append(f"phase_at({progress}): {phase_at(ph, progress)['layers']} layers, expected {layers}")

    for f in fails:
        print(f"check_schedule: {f}", file=sys.stderr)
    print(f"check_schedule: {'FAILED' if fails else 'ok'} ({len(fails)} mismatches)")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
