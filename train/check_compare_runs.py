"""Unit check of compare_runs.py (in the smoke run): B − A at the steps both logged, the later line
of a step logged twice, windows, the standard error, held-out evaluations paired only on the same
number of examples, and clear refusals (no common step, a broken line).

    python -m check_compare_runs
"""

from __future__ import annotations

import json
import math
import os
import tempfile

import compare_runs


def write(path, lines):
    with open(path, "w") as f:
        f.write("".join(json.dumps(r) + "\n" for r in lines))


def train(step, loss, acc=0.3, sop=0.7):
    return {"split": "train", "step": step, "tokens": step * 100, "mlm_loss": loss, "mlm_acc": acc, "sop_loss": sop}


def valid(step, acc, examples=512):
    return {"split": "valid", "step": step, "mlm_acc": acc, "mlm_loss": 4.0, "sop_acc": 0.5, "examples": examples}


def main():
    with tempfile.TemporaryDirectory() as d:
        a, b = os.path.join(d, "a.jsonl"), os.path.join(d, "b.jsonl")
        # A: steps 50..400; B branched after 100, logs 150..300 with a lower loss; its step 200 was
        # logged twice (a cut-off session), the first time with a wrong value that must not count.
        write(a, [{"event": "session_start", "step": 0}] + [train(s, 4.0) for s in range(50, 450, 50)]
              + [valid(200, 0.30), valid(400, 0.31)])
        write(b, [train(150, 3.9, 0.31), train(200, 9.9), {"event": "session_start", "step": 150},
                  train(200, 3.8, 0.32), train(250, 3.9, 0.31, 0.6), train(300, 4.1, 0.29),
                  valid(200, 0.33), valid(300, 0.5)])
        r = compare_runs.compare(a, b, from_step=100, window=100)
        assert (r["lines"], r["first_step"], r["last_step"]) == (4, 150, 300), r
        o = r["overall"]
        diffs = [-0.1, -0.2, -0.1, 0.1]
        assert math.isclose(o["mlm_loss"]["mean"], sum(diffs) / 4), o
        se = (sum((x - sum(diffs) / 4) ** 2 for x in diffs) / 3) ** 0.5 / 2
        assert math.isclose(o["mlm_loss"]["se"], se), (o, se)
        assert math.isclose(o["sop_loss"]["mean"], -0.1 / 4, abs_tol=1e-12), o
        assert [w["steps"] for w in r["windows"]] == [[150, 150], [200, 250], [300, 300]], r["windows"]
        assert math.isclose(r["windows"][1]["mlm_loss"], -0.15), r["windows"]
        assert [(v["step"], round(v["mlm_acc"], 6)) for v in r["valid"]] == [(200, 0.03)], r["valid"]

        # Held-out lines of different sizes are not paired.
        write(b, [train(150, 3.9), valid(200, 0.33, examples=256)])
        assert compare_runs.compare(a, b, 100)["valid"] == []

        for lines, why in (([train(500, 4.0)], "no training step after 100"), (None, "not a JSON line")):
            if lines is None:
                with open(b, "w") as f:
                    f.write('{"split": "train", "step": 150\n')
            else:
                write(b, lines)
            try:
                compare_runs.compare(a, b, 100)
                raise AssertionError(f"accepted: {why}")
            except ValueError as e:
                assert why in str(e), e
    print("check_compare_runs: ok (paired differences, a repeated step, windows, s.e., held-out pairing, refusals)")


if __name__ == "__main__":
    main()
