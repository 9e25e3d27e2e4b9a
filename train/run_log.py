"""train.py's log.jsonl: one JSON object a line, appended session after session, so the curve across
sessions is one file (committed with the compact checkpoint under --commit-dir).

Three kinds of line: an `event` line at each start and end of an invocation (what ran it: threads,
ranks, amp, torch), a `"split": "train"` line every --log-every steps (the window's mean losses and
accuracies, tokens/s) and a `"split": "valid"` line at each held-out evaluation. sessions.py,
extrapolate.py, compare_runs.py, plot.py and evaluate.py's --log read and extend it.
"""

from __future__ import annotations

import json
import time


class RunLog:
    """Appends to `path`; None (a rank other than 0) writes nothing."""

    def __init__(self, path: str | None):
        self.f = open(path, "a") if path else None

    def write(self, rec: dict) -> None:
        if self.f:
            self.f.write(json.dumps(rec) + "\n")
            self.f.flush()

    def event(self, event: str, state: dict, wall_seconds: float, **run) -> None:
        """A session's start or end: the counters then, and `run`, what ran it."""
        self.write({"event": event, "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "step": state["step"],
                    "tokens": state["tokens"], "train_seconds": round(state["train_seconds"], 1),
                    "wall_seconds": round(wall_seconds, 1), **run})

    def close(self) -> None:
        if self.f:
            self.f.close()
            self.f = None


def train_line(state: dict, lr: float, phase: dict, world: int, sums, tokens: int, seconds: float) -> dict:
    """The training line for a window: `sums` is the step's stats summed over it (MLM loss, hits,
    masked tokens, SOP loss, hits, pairs), `tokens` and `seconds` the window's."""
    s = sums
    return {"split": "train", "step": state["step"], "tokens": state["tokens"], "train_seconds": round(state["train_seconds"], 1),
            "lr": lr, "layers": phase["layers"], "seq": phase["seq"], "batch": phase["batch"] * world, "ngram": phase["ngram"],
            "mlm_loss": round(s[0] / s[2], 4), "mlm_acc": round(s[1] / s[2], 4),
            "sop_loss": round(s[3] / s[5], 4), "sop_acc": round(s[4] / s[5], 4),
            "tokens_per_s": round(tokens / max(seconds, 1e-9))}


def console_line(rec: dict) -> str:
    """The training line as train.py prints it."""
    return (f"step {rec['step']:6d} | {rec['tokens'] / 1e6:7.2f} M tok | {rec['train_seconds']:6.0f} s | lr {rec['lr']:.2e} | "
            f"L{rec['layers']} T{rec['seq']} | mlm {rec['mlm_loss']:.3f} acc {rec['mlm_acc']:.3f} | "
            f"sop {rec['sop_loss']:.3f} acc {rec['sop_acc']:.3f} | {rec['tokens_per_s']} tok/s")


def valid_line(state: dict, layers: int, seq: int, ev: dict, sym: dict) -> dict:
    """The held-out line: `ev` is model.evaluate on ALBERT's pairs, `sym` on symmetric pairs."""
    return {"split": "valid", "step": state["step"], "tokens": state["tokens"], "train_seconds": round(state["train_seconds"], 1),
            "layers": layers, "seq": seq, **{k: round(v, 5) if isinstance(v, float) else v for k, v in ev.items()},
            "sop_symmetric": round(sym["sop_acc"], 5), "sop_symmetric_loss": round(sym["sop_loss"], 5)}
