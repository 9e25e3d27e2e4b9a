"""How much better the model does on the books it trained on than on held-out ones (issue 11: is
the curve limited by passing over the same 43.5 M training tokens again and again, or by what the
model can learn per token?).

Reads evaluate.py results made with `--books train` and sets each beside the same checkpoint's
held-out score: the run's log's `eval` event at that step (the same 2 000 examples evaluate.py
always draws from gutenberg-valid), or a held-out result file given with `--held-out` (for an
exported model, which has no step). A gap that stays small while the passes grow says the model is
not memorizing its books: more passes still teach English, and capacity, not data, is the limit.

    python3 train/books_gap.py train/results/books-s33/train-books-*.json \
        --log train/resume/log.jsonl --held-out shipped=assets/model/eval.json

No dependencies beyond Python's standard library.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import extrapolate


def held_out_by_step(log: str, depth: int) -> dict[int, dict]:
    """The log's held-out evaluations at `depth` by step, read as extrapolate.py reads them (one per
    checkpoint, its last), at every learning rate: a decayed checkpoint has a gap too."""
    fitted, decayed, _ = extrapolate.read(log, depth, 0.0)
    return {r["step"]: r for r in fitted + decayed}


def rows(files: list[str], log: dict[int, dict], held_out: dict[str, dict]) -> list[dict]:
    """One row per training-books result: its score, the held-out one beside it, the gap (in fractions)."""
    out = []
    for path in files:
        with open(path) as f:
            r = json.load(f)
        if r.get("books") != "train":
            raise SystemExit(f"{path}: not scored on the training books (books {r.get('books')!r}; evaluate.py --books train)")
        name = os.path.basename(path)
        label = next((k for k in held_out if k in name), None)
        if label is not None:
            h = held_out[label]
            if (h.get("examples"), h.get("seq")) != (r["examples"], r["seq"]):
                raise SystemExit(f"{path}: {r['examples']} examples of {r['seq']} tokens, but the held-out file has "
                                 f"{h.get('examples')} of {h.get('seq')}")
            held = h["single_token_mlm_top1"]
        elif r["step"] in log:
            e = log[r["step"]]
            if (e["examples"], e["seq"]) != (r["examples"], r["seq"]):
                raise SystemExit(f"{path}: {r['examples']} examples of {r['seq']} tokens, but the log's evaluation at step "
                                 f"{r['step']} has {e['examples']} of {e['seq']}")
            held = e["single_token_mlm_top1"]
        else:
            raise SystemExit(f"{path}: no held-out score for step {r['step']} in the log, and no --held-out label in its name")
        out.append({"file": name, "step": r["step"], "tokens": r["tokens"], "train_tokens": r["valid_tokens"],
                    "train_books": r["single_token_mlm_top1"], "held_out": held,
                    "gap": r["single_token_mlm_top1"] - held})
    return sorted(out, key=lambda x: (x["tokens"] is None, x["tokens"] or 0))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("files", nargs="+", help="evaluate.py --books train results")
    ap.add_argument("--log", required=True, help="the run's log, with evaluate.py's held-out eval events")
    ap.add_argument("--depth", type=int, default=4)
    ap.add_argument("--held-out", action="append", default=[], metavar="LABEL=FILE",
                    help="a held-out evaluate.py result for the training-books file whose name contains LABEL")
    a = ap.parse_args()
    held = {}
    for item in a.held_out:
        label, sep, path = item.partition("=")
        if not sep:
            ap.error(f"--held-out {item!r}: expected LABEL=FILE")
        with open(path) as f:
            held[label] = json.load(f)
    table = rows(a.files, held_out_by_step(a.log, a.depth), held)
    print("| checkpoint | tokens | passes over the training books | top-1, training books | top-1, held out | gap |")
    print("|---|---|---|---|---|---|")
    for r in table:
        toks = f"{r['tokens'] / 1e6:.1f} M" if r["tokens"] else "—"
        passes = f"{r['tokens'] / r['train_tokens']:.1f}" if r["tokens"] else "—"
        step = f" (step {r['step']})" if r["step"] is not None else ""
        print(f"| {r['file']}{step} | {toks} | {passes} | {r['train_books']:.2%} | {r['held_out']:.2%} | "
              f"{r['gap'] * 100:+.2f} |")


if __name__ == "__main__":
    sys.exit(main())
