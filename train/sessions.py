"""What each stretch of training in a log did: tokens, training time and tokens/s (issue 11: "keep a
log of every session's run (tokens, time, loss, held-out scores)"; the Sessions table in
train/README.md takes its numbers from here).

train.py writes a `session_start` event when it starts or resumes and a `session_end` when it is
stopped; between them come its `train` lines (one per --log-every steps, each with the tokens/s
since the one before). A run killed without its `session_end` ends at its last train line.

    python3 train/sessions.py train/resume/log.jsonl                  # the latest run
    python3 train/sessions.py train/resume/log.jsonl --since 2026-12-06T10:00:00Z
    python3 train/sessions.py train/resume/log.jsonl --all            # one line per run

No dependencies beyond Python's standard library.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys


def runs(events: list[dict]) -> list[dict]:
    """The log cut at each `session_start`: every run with its start and end events (the end is its
    `session_end`, else its last train line) and its train lines."""
    out: list[dict] = []
    for e in events:
        if e.get("event") == "session_start":
            out.append({"start": e, "end": None, "train": []})
        elif not out:
            continue  # lines before the first start (none in a log train.py wrote)
        elif e.get("event") == "session_end":
            out[-1]["end"] = e
        elif e.get("split") == "train":
            out[-1]["train"].append(e)
    for r in out:
        if r["end"] is None:
            r["end"] = r["train"][-1] if r["train"] else r["start"]
            r["stopped"] = False
        else:
            r["stopped"] = True
    return out


def summary(selected: list[dict]) -> dict:
    """Tokens, training seconds and tokens/s over some runs: each run's own difference, summed, so a
    run that resumed from an older checkpoint counts what it trained again (the work done)."""
    tokens = sum(r["end"]["tokens"] - r["start"]["tokens"] for r in selected)
    seconds = sum(r["end"]["train_seconds"] - r["start"]["train_seconds"] for r in selected)
    rates = [t["tokens_per_s"] for r in selected for t in r["train"] if "tokens_per_s" in t]
    return {
        "runs": len(selected),
        "first_start": selected[0]["start"].get("time"),
        "last_end": selected[-1]["end"].get("time"),
        "step": [selected[0]["start"]["step"], selected[-1]["end"]["step"]],
        "tokens_from": selected[0]["start"]["tokens"],
        "tokens_to": selected[-1]["end"]["tokens"],
        "tokens": tokens,
        "train_seconds": round(seconds, 1),
        "tokens_per_s": round(tokens / seconds) if seconds > 0 else None,
        "log_lines": len(rates),
        "tokens_per_s_lines": {"min": min(rates), "median": round(statistics.median(rates)), "max": max(rates)} if rates else None,
        "amp": sorted({r["start"].get("amp") for r in selected if r["start"].get("amp")}),
        "all_stopped": all(r["stopped"] for r in selected),
    }


def line(s: dict) -> str:
    rates = s["tokens_per_s_lines"]
    spread = f"; log lines {rates['min']}–{rates['max']}, median {rates['median']}" if rates else ""
    open_end = "" if s["all_stopped"] else " (a run without its session_end: ends at its last train line)"
    return (
        f"{s['runs']} run(s) from {s['first_start']}: steps {s['step'][0]} → {s['step'][1]}, "
        f"{s['tokens_from'] / 1e6:.2f} M → {s['tokens_to'] / 1e6:.2f} M tokens, {s['tokens'] / 1e6:.2f} M in "
        f"{s['train_seconds'] / 3600:.2f} h of training time = {s['tokens_per_s']} tokens/s{spread}; "
        f"amp {', '.join(s['amp']) or '?'}{open_end}"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("log", help="a training log (JSON lines): train/resume/log.jsonl")
    ap.add_argument("--since", help="every run that started at or after this time (ISO 8601, UTC, as the log's)")
    ap.add_argument("--all", action="store_true", help="one line per run")
    ap.add_argument("--json", action="store_true", help="the summary as JSON")
    a = ap.parse_args(argv)
    events = []
    with open(a.log) as f:
        for n, text in enumerate(f, 1):
            if text.strip():
                try:
                    events.append(json.loads(text))
                except json.JSONDecodeError as e:
                    print(f"{a.log}:{n}: not a JSON line ({e})", file=sys.stderr)
                    return 2
    all_runs = runs(events)
    if not all_runs:
        print(f"{a.log}: no session_start events: not a log train.py wrote", file=sys.stderr)
        return 1
    if a.all:
        for r in all_runs:
            print(line(summary([r])))
        return 0
    if a.since:
        # ISO 8601 in one zone (the log's Z) orders as text.
        selected = [r for r in all_runs if r["start"].get("time", "") >= a.since]
        if not selected:
            print(f"no run started at or after {a.since} (the latest started {all_runs[-1]['start'].get('time')})", file=sys.stderr)
            return 1
    else:
        selected = all_runs[-1:]
    s = summary(selected)
    print(json.dumps(s) if a.json else line(s))
    return 0


if __name__ == "__main__":
    sys.exit(main())
