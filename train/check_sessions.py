"""Unit check of sessions.py (run by smoke.sh, from train/: `python -m check_sessions`).

A made-up log of three runs: a stopped run, a second that resumed from an older checkpoint than
the first ended at, and a third killed without its `session_end`. The summaries must add each run's own tokens and training seconds (not the
difference between the first start and the last end, which misses what a run resumed from an older
checkpoint trained again), pick runs by
`--since`, end a killed run at its last train line, and refuse a line that is not JSON. Exits
non-zero on any mismatch.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import tempfile

import sessions


def ev(kind: str, time: str, step: int, tokens: int, secs: float, **kw) -> dict:
    return {"event": kind, "time": time, "step": step, "tokens": tokens, "train_seconds": secs, "amp": "bf16", **kw}


def tr(step: int, tokens: int, secs: float, tps: int) -> dict:
    return {"split": "train", "step": step, "tokens": tokens, "train_seconds": secs, "tokens_per_s": tps}


LOG = [
    ev("session_start", "2026-01-01T08:00:00Z", 0, 0, 0.0),
    tr(50, 1000, 1.0, 1000),
    tr(100, 3000, 2.0, 2000),
    ev("session_end", "2026-01-01T09:00:00Z", 100, 3000, 2.0),
    # The next run resumes from an older checkpoint (a branch came between): fewer tokens than the end above.
    ev("session_start", "2026-01-02T08:00:00Z", 90, 2500, 1.5),
    tr(150, 6500, 3.5, 4000),
    ev("session_end", "2026-01-02T09:00:00Z", 150, 6500, 3.5),
    ev("session_start", "2026-01-02T10:00:00Z", 150, 6500, 3.5),
    tr(200, 9500, 5.0, 3000),
    tr(250, 12500, 6.0, 5000),
]


def run(path: str, *args: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = sessions.main([path, *args])
    return code, out.getvalue() + err.getvalue()


def main() -> int:
    failures = []

    def check(cond: bool, what: str):
        print(("ok   " if cond else "FAIL ") + what)
        if not cond:
            failures.append(what)

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "log.jsonl")
        with open(path, "w") as f:
            f.write("".join(json.dumps(e) + "\n" for e in LOG))
        code, text = run(path, "--json")
        last = json.loads(text)
        check(code == 0 and last["runs"] == 1 and last["tokens"] == 6000 and last["train_seconds"] == 2.5,
              f"the latest run alone, ended at its last train line: 6000 tokens in 2.5 s ({text.strip()})")
        check(last["all_stopped"] is False and last["tokens_per_s"] == 2400, "a killed run says so; 6000 / 2.5 = 2400 tokens/s")
        code, text = run(path, "--json", "--since", "2026-01-02T00:00:00Z")
        two = json.loads(text)
        check(two["runs"] == 2 and two["tokens"] == 4000 + 6000 and two["train_seconds"] == 2.0 + 2.5,
              f"--since: the two runs from that day (10000 tokens, 4.5 s) ({text.strip()})")
        check(two["tokens_per_s_lines"] == {"min": 3000, "median": 4000, "max": 5000}, "the log lines' tokens/s: min, median, max")
        code, text = run(path, "--json", "--since", "2026-01-01T00:00:00Z")
        three = json.loads(text)
        check(three["tokens"] == 3000 + 4000 + 6000 and three["train_seconds"] == 2.0 + 2.0 + 2.5,
              f"a rewind between runs: each run's own tokens summed (13000, 6.5 s), not last − first (12500) ({text.strip()})")
        code, text = run(path, "--since", "2027-01-01T00:00:00Z")
        check(code == 1 and "no run started at or after" in text, "--since past every run: exit 1, said")
        code, text = run(path, "--all")
        check(code == 0 and len(text.strip().splitlines()) == 3, "--all: one line per run")
        with open(path, "a") as f:
            f.write("{not json\n")
        code, text = run(path)
        check(code == 2 and "log.jsonl:11: not a JSON line" in text, "a broken line: exit 2, its line number")
    if failures:
        print(f"check_sessions: {len(failures)} failed", file=sys.stderr)
        return 1
    print("check_sessions: all passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
