"""Unit check of books_gap.py (in the smoke run): each training-books score is set beside the held-out
score of the same checkpoint (by step from the log, or a --held-out file by label), and files that
cannot be compared are refused rather than set side by side.

    python -m check_books_gap
"""

import json
import os
import tempfile

import books_gap


def write(d: str, name: str, obj) -> str:
    path = os.path.join(d, name)
    with open(path, "w") as f:
        f.write(obj if isinstance(obj, str) else json.dumps(obj))
    return path


def refused(files, log, held) -> bool:
    try:
        books_gap.rows(files, log, held)
    except SystemExit:
        return True
    return False


def main() -> None:
    with tempfile.TemporaryDirectory() as d:
        ev = {"event": "eval", "examples": 2000, "seq": 128}
        log_path = write(d, "log.jsonl", "\n".join(json.dumps(r) for r in [
            {**ev, "step": 10, "tokens": 1e6, "depth": 4, "single_token_mlm_top1": 0.20},
            {**ev, "step": 10, "tokens": 1e6, "depth": 2, "single_token_mlm_top1": 0.05},  # another depth: not this one
            {**ev, "step": 20, "tokens": 2e6, "depth": 4, "single_token_mlm_top1": 0.24},
            {**ev, "step": 20, "tokens": 2e6, "depth": 4, "single_token_mlm_top1": 0.25},  # evaluated again: the last counts
        ]) + "\n")
        log = books_gap.held_out_by_step(log_path, 4)
        base = {"books": "train", "examples": 2000, "seq": 128, "valid_tokens": 1e6}
        a = write(d, "train-books-a.json", {**base, "step": 20, "tokens": 2e6, "single_token_mlm_top1": 0.26})
        b = write(d, "train-books-b.json", {**base, "step": 10, "tokens": 1e6, "single_token_mlm_top1": 0.21})
        s = write(d, "train-books-shipped.json", {**base, "step": None, "tokens": None, "single_token_mlm_top1": 0.33})
        held = {"shipped": {"examples": 2000, "seq": 128, "single_token_mlm_top1": 0.31}}
        table = books_gap.rows([a, s, b], log, held)
        got = [(r["step"], round(r["held_out"], 6), round(r["gap"], 6)) for r in table]
        assert got == [(10, 0.20, 0.01), (20, 0.25, 0.01), (None, 0.31, 0.02)], got
        assert round(table[1]["tokens"] / table[1]["train_tokens"], 6) == 2.0, table[1]
        # Held-out scores in place of training-books ones, other examples, or no held-out score: refused.
        v = write(d, "valid.json", {**base, "books": "valid", "step": 20, "tokens": 2e6, "single_token_mlm_top1": 0.25})
        assert refused([v], log, held), "a held-out result was taken as a training-books one"
        o = write(d, "other.json", {**base, "examples": 500, "step": 20, "tokens": 2e6, "single_token_mlm_top1": 0.25})
        assert refused([o], log, held), "500 examples were set beside the log's 2 000"
        n = write(d, "none.json", {**base, "step": 30, "tokens": 3e6, "single_token_mlm_top1": 0.25})
        assert refused([n], log, held), "a step without a held-out score was not refused"
        assert refused([s], log, {"shipped": {"examples": 500, "seq": 128, "single_token_mlm_top1": 0.31}})
    print("check_books_gap: ok (gaps by step and by label; held-out files, other examples and missing scores refused)")


if __name__ == "__main__":
    main()
