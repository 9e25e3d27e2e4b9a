"""The training schedule as a function of progress in [0, 1] (train.py's docstring says how
progress is measured): the curriculum phase (depth, length, batch, masking) and the learning
rate (warmup, then linear, cosine or warmup-stable-decay). Pure functions, checked by
`python -m check_schedule` in the smoke run.
"""

from __future__ import annotations

import math


def parse_phases(s: str):
    phases = []
    for part in s.split(","):
        shape, until = part.split("@")
        ngram = not shape.endswith("t")
        layers, seq, batch = (int(x) for x in shape.rstrip("t").split("x"))
        phases.append({"layers": layers, "seq": seq, "batch": batch, "ngram": ngram, "until": float(until)})
    if phases[-1]["until"] < 1:
        phases[-1]["until"] = 1.0
    return phases


def phase_at(phases, progress: float):
    for p in phases:
        if progress < p["until"]:
            return p
    return phases[-1]


def lr_at(a, step: int, progress: float, rewarm_from: int | None = None) -> float:
    """Warmup, then the decay shape over progress in [0, 1]. `wsd` (warmup-stable-decay) holds the
    peak until the last --decay-fraction of the budget and decays linearly there, so a run can be
    resumed and its budget raised any time before the decay starts. After a resume without the
    optimizer's moments (a compact checkpoint), `rewarm_from` warms the rate up again over
    --rewarm-steps while Adam's moments refill."""
    warm = min(1.0, (step + 1) / max(1, a.warmup_steps))
    if rewarm_from is not None:
        warm *= min(1.0, (step - rewarm_from + 1) / max(1, a.rewarm_steps))
    p = min(1.0, progress)
    if a.decay == "linear":
        f = 1.0 - (1.0 - a.final_lr_ratio) * p
    elif a.decay == "cosine":
        f = a.final_lr_ratio + (1 - a.final_lr_ratio) * 0.5 * (1 + math.cos(math.pi * p))
    elif a.decay == "wsd":
        start = 1.0 - a.decay_fraction
        # The fraction through the decay is clamped: (1 − start) / decay_fraction can round above 1.
        f = 1.0 if p <= start else 1.0 - (1.0 - a.final_lr_ratio) * min(1.0, (p - start) / max(1e-9, a.decay_fraction))
    else:
        f = 1.0
    return a.lr * warm * f


def progress_of(a, state: dict) -> float:
    """Progress through the budget: the largest of training seconds / --budget-seconds, tokens /
    --budget-tokens and steps / --max-steps (those given); 1 or more when it is spent."""
    p = 0.0
    if getattr(a, "budget_seconds", None):
        p = max(p, state["train_seconds"] / a.budget_seconds)
    if getattr(a, "budget_tokens", None):
        p = max(p, state["tokens"] / a.budget_tokens)
    if getattr(a, "max_steps", None):
        p = max(p, state["step"] / a.max_steps)
    return p


# How much higher than the checkpoint's last rate a resumed schedule may start before it re-warms.
RISE = 1.5


def raised(before, after, state: dict) -> tuple[float, float] | None:
    """(the rate then, the rate now) when resuming at `state` under the arguments `after` asks for
    more than RISE times the rate the checkpoint last trained at under `before`, else None: a
    budget raised once the decay had lowered the rate (a budget raised in the flat phase changes
    nothing). At a small rate training settles where the loss is sharper than the peak rate
    tolerates, so a jump back can spike the loss; the rate re-warms instead (checkpoint.resume
    sets `rewarm_from`), as after a compact resume. Session 32's raise at the end of the 500 M
    decay re-warmed this way and the loss rose to the flat phase's level, no higher."""
    then = lr_at(before, state["step"], progress_of(before, state))
    now = lr_at(after, state["step"], progress_of(after, state))
    return (then, now) if now > RISE * then else None
