"""Where the held-out curve is heading (issue 11: "if the curve shows the bar cannot be reached
at this size, say so with the numbers and the extrapolation").

Reads evaluate.py's `eval` events from a training log (train/resume/log.jsonl), keeps those of
the main run at one depth from `--min-tokens` on whose checkpoint was training at the peak
learning rate (a fit across the warmup would say nothing about what more tokens buy now, and one
across a decay would take the decay's gain for the tokens'), and fits single-token top-1 against
tokens two ways: linear in tokens (optimistic: no diminishing returns) and linear in log tokens
(what such curves usually do). For each it prints the tokens at which the fit reaches `--bar`,
and the sessions that takes at the tokens per session the log shows.

    python3 train/extrapolate.py train/resume/log.jsonl
"""

import argparse
import json
import math


def fit(xs, ys):
    """Least squares y = a + b·x: (a, b)."""
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    b = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx
    return my - b * mx, b


def read(path, depth, min_tokens):
    """(evaluations to fit, evaluations at a decayed rate, the peak rate).

    Each evaluation carries `rate`, the learning rate of the last training line before it in the
    log: the rate its checkpoint was training at (evaluate.py appends at a session's end). It is
    fitted when that is the peak: the flat phase, and the flat phase again after a budget raised
    past a decay (train.py re-warms there). A re-warm after a resume comes after the evaluation of
    the checkpoint it resumes, so it does not set that evaluation apart."""
    evals, rate, peak = [], 0.0, 0.0
    with open(path) as f:
        for line in f:
            r = json.loads(line)
            if r.get("split") == "train" and "lr" in r:
                rate = r["lr"]
                if r["tokens"] >= min_tokens:
                    peak = max(peak, rate)
            elif r.get("event") == "eval" and r.get("depth") == depth and r.get("tokens", 0) >= min_tokens:
                evals.append({**r, "rate": rate})
    # One point per checkpoint (a checkpoint evaluated twice keeps its last score).
    by_step = {r["step"]: r for r in evals}
    pts = sorted(by_step.values(), key=lambda r: r["tokens"])
    at_peak = [r["rate"] >= peak * (1 - 1e-9) for r in pts]
    return [r for r, p in zip(pts, at_peak) if p], [r for r, p in zip(pts, at_peak) if not p], peak


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("log", help="a training log (JSON lines) with evaluate.py's eval events")
    ap.add_argument("--depth", type=int, default=4, help="the depth whose scores to fit")
    ap.add_argument("--min-tokens", type=float, default=80e6, help="fit from here on (the flat learning-rate phase)")
    ap.add_argument("--bar", type=float, default=0.40, help="the single-token top-1 to reach")
    args = ap.parse_args()

    pts, decay, peak = read(args.log, args.depth, args.min_tokens)
    if decay:
        print(f"{len(decay)} evaluations at a decayed rate are not fitted: "
              + ", ".join(f"{r['single_token_mlm_top1']:.1%} at {r['tokens'] / 1e6:.1f} M ({r['rate'] / peak:.2f} of the peak)"
                          for r in decay))
    if len(pts) < 3:
        raise SystemExit(f"{len(pts)} eval events at depth {args.depth} from {args.min_tokens:.3g} tokens: too few to fit")
    toks = [r["tokens"] for r in pts]
    top1 = [r["single_token_mlm_top1"] for r in pts]
    per_session = (toks[-1] - toks[0]) / (len(pts) - 1)
    print(f"{len(pts)} evaluations at depth {args.depth}, {toks[0] / 1e6:.1f} M → {toks[-1] / 1e6:.1f} M tokens: "
          f"top-1 {top1[0]:.1%} → {top1[-1]:.1%}; {per_session / 1e6:.1f} M tokens between evaluations (one a session)")
    for name, xf, inv in (
        ("linear in tokens", lambda t: t, lambda x: x),
        ("linear in log tokens", math.log, math.exp),
    ):
        a, b = fit([xf(t) for t in toks], top1)
        if b <= 0:
            print(f"{name}: slope {b:.3g} ≤ 0: the fit never reaches {args.bar:.0%}")
            continue
        need = inv((args.bar - a) / b)
        slope = f"{b * 1e8 * 100:.2f} points per 100 M tokens" if name.startswith("linear in tokens") else f"{b * math.log(2) * 100:.2f} points per doubling"
        print(f"{name}: {slope}; {args.bar:.0%} at {need / 1e9:.3g} G tokens, "
              f"{(need - toks[-1]) / per_session:,.0f} more sessions at {per_session / 1e6:.1f} M tokens each")


if __name__ == "__main__":
    main()
