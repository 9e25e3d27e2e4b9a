"""Draws training curves from one or more log.jsonl files into a self-contained SVG (no plotting
library needed): MLM loss, MLM top-1, SOP accuracy (train: smoothed lines; valid: dots) and the
learning rate, against training tokens. The x axis can be tokens or training seconds.

    python plot.py runs/base/log.jsonl --out ../assets/model/curves.svg
    python plot.py runs/probe_a/log.jsonl runs/probe_b/log.jsonl --labels "lr 1e-3" "lr 2e-3" --out runs/probes.svg
    python plot.py resume/log.jsonl --until-tokens 500.01e6 --out ../assets/model/curves.svg

--until-tokens ends the curves at a checkpoint (the shipped one) while its run's log goes on.
"""

from __future__ import annotations

import argparse
import json
import math
from html import escape

COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"]
PANELS = [("mlm_loss", "MLM loss"), ("mlm_acc", "MLM top-1 accuracy"), ("sop_acc", "SOP accuracy"), ("lr", "learning rate")]


def read(path, until_tokens=None):
    train, valid, phases = [], [], []
    with open(path) as f:
        for line in f:
            r = json.loads(line)
            if "split" in r:  # session_start / session_end lines carry no metrics
                (valid if r["split"] == "valid" else train).append(r)
            elif r.get("event") == "session_start":
                # A session resumes from the last checkpoint; lines logged past it by a session
                # that was cut off before its next checkpoint belong to steps done again now.
                train[:] = [x for x in train if x["step"] <= r["step"]]
                valid[:] = [x for x in valid if x["step"] <= r["step"]]
    if until_tokens is not None:
        train = [r for r in train if r["tokens"] <= until_tokens]
        valid = [r for r in valid if r["tokens"] <= until_tokens]
    for r in train:  # phase changes (depth, sequence length)
        key = (r.get("layers"), r.get("seq"))
        if not phases or phases[-1][1] != key:
            phases.append((r, key))
    return train, valid, phases


def smooth(ys, k=5):
    out = []
    for i in range(len(ys)):
        w = ys[max(0, i - k + 1) : i + 1]
        out.append(sum(w) / len(w))
    return out


def nice_ticks(lo, hi, n=5):
    if hi <= lo:
        hi = lo + 1
    raw = (hi - lo) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = min((m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw), default=raw)
    t = math.ceil(lo / step) * step
    ticks = []
    while t <= hi + 1e-12:
        ticks.append(t)
        t += step
    return ticks


def fmt(v):
    if v == 0:
        return "0"
    if abs(v) >= 1e6:
        return f"{v / 1e6:g}M"
    if abs(v) >= 1e3:
        return f"{v / 1e3:g}k"
    if abs(v) < 1e-2:
        return f"{v:.0e}"
    return f"{v:g}"


def draw(runs, labels, xkey, title, width=1000, height=720):
    pw, ph = (width - 140) / 2, (height - 180) / 2
    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
           'font-family="sans-serif" font-size="12">', f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="{width / 2}" y="22" text-anchor="middle" font-size="16">{escape(title)}</text>']
    xmax = max((r[xkey] for tr, va, _ in runs for r in tr + va), default=1)
    for pi, (key, name) in enumerate(PANELS):
        ox = 60 + (pi % 2) * (pw + 60)
        oy = 50 + (pi // 2) * (ph + 60)
        ys = [r[key] for tr, va, _ in runs for r in tr + va if key in r]
        if not ys:
            continue
        if key == "mlm_loss":
            lo, hi = max(0, min(ys) - 0.2), min(max(ys), 10)
        elif key == "lr":
            lo, hi = 0, max(ys) * 1.05
        else:
            lo, hi = 0, min(1, max(ys) + 0.05)
        X = lambda x: ox + x / xmax * pw
        Y = lambda y: oy + ph - (min(max(y, lo), hi) - lo) / (hi - lo) * ph
        svg.append(f'<rect x="{ox}" y="{oy}" width="{pw}" height="{ph}" fill="none" stroke="#999"/>')
        svg.append(f'<text x="{ox + pw / 2}" y="{oy - 6}" text-anchor="middle" font-size="13">{escape(name)}</text>')
        for t in nice_ticks(lo, hi):
            svg.append(f'<line x1="{ox}" x2="{ox + pw}" y1="{Y(t):.1f}" y2="{Y(t):.1f}" stroke="#eee"/>')
            svg.append(f'<text x="{ox - 4}" y="{Y(t) + 4:.1f}" text-anchor="end">{fmt(t)}</text>')
        for t in nice_ticks(0, xmax):
            svg.append(f'<text x="{X(t):.1f}" y="{oy + ph + 14}" text-anchor="middle">{fmt(t)}</text>')
        if key == "sop_acc":
            svg.append(f'<line x1="{ox}" x2="{ox + pw}" y1="{Y(0.5):.1f}" y2="{Y(0.5):.1f}" stroke="#bbb" stroke-dasharray="4 3"/>')
        for ri, (tr, va, phases) in enumerate(runs):
            c = COLORS[ri % len(COLORS)]
            pts = [(r[xkey], r[key]) for r in tr if key in r]
            if pts:
                sm = smooth([p[1] for p in pts]) if key != "lr" else [p[1] for p in pts]
                d = " ".join(f"{X(x):.1f},{Y(y):.1f}" for (x, _), y in zip(pts, sm))
                svg.append(f'<polyline points="{d}" fill="none" stroke="{c}" stroke-width="1.5"/>')
            for r in va:
                if key in r:
                    svg.append(f'<circle cx="{X(r[xkey]):.1f}" cy="{Y(r[key]):.1f}" r="3" fill="white" stroke="{c}" stroke-width="1.5"/>')
                if key == "sop_acc" and "sop_symmetric" in r:  # pairs whose lengths do not tell the order
                    svg.append(f'<circle cx="{X(r[xkey]):.1f}" cy="{Y(r["sop_symmetric"]):.1f}" r="3" fill="{c}"/>')
            if key == "lr":
                row, last = 0, -1e9  # phases a few pixels apart (the curriculum's first ones) stack
                for r, (layers, seq) in phases:
                    x = X(r[xkey])
                    row, last = (row + 1 if x - last < 50 else 0), x
                    svg.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{oy}" y2="{oy + ph}" stroke="{c}" stroke-dasharray="2 3"/>')
                    svg.append(f'<text x="{x + 3:.1f}" y="{oy + 14 + 13 * (ri + row)}" fill="{c}" font-size="11">L{layers} T{seq}</text>')
    xl = "training tokens" if xkey == "tokens" else "training seconds"
    svg.append(f'<text x="{width / 2}" y="{height - 34}" text-anchor="middle">{xl}; lines: training batches (smoothed), circles: gutenberg-valid (SOP filled: symmetric pairs)</text>')
    for ri, lab in enumerate(labels):
        svg.append(f'<rect x="{60 + ri * 200}" y="{height - 18}" width="12" height="3" fill="{COLORS[ri % len(COLORS)]}"/>'
                   f'<text x="{76 + ri * 200}" y="{height - 12}">{escape(lab)}</text>')
    svg.append("</svg>")
    return "\n".join(svg)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("logs", nargs="+")
    ap.add_argument("--labels", nargs="*", default=None)
    ap.add_argument("--x", choices=["tokens", "train_seconds"], default="tokens")
    ap.add_argument("--title", default="ALBERT pretraining curves")
    ap.add_argument("--until-tokens", type=float, default=None, help="leave out lines past this many training tokens")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    runs = [read(p, a.until_tokens) for p in a.logs]
    labels = a.labels or a.logs
    with open(a.out, "w") as f:
        f.write(draw(runs, labels, a.x, a.title))
    print(f"[plot] {a.out}")


if __name__ == "__main__":
    main()
