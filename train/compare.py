"""Compares two models scored on the same held-out examples, pair by pair.

`evaluate.py --per-example --out A.json` writes each example's single-token hits and SOP answer;
given two such files (the same validation cache, examples and length), this prints both models'
single-token top-1 and SOP accuracy, the difference B − A and its paired standard error. Paired,
because both models answer the same examples: what one example makes easy or hard for both cancels,
so a difference is judged against how often the two disagree, not against the spread of all
examples. Where either file names each pair's kind (`split`: where its segments meet, between
sentences or inside one; evaluate.py since session 22), SOP accuracy is also compared per kind.

    python compare.py results/heldout10k-shipped.json runs/<candidate>/eval10k.json
    python compare.py --ship results/heldout10k-shipped.json runs/<candidate>/eval10k.json

`--ship` also applies the shipping rule (train/README.md, since session 24) with B the candidate:
B must be better at single-token top-1 beyond noise (z ≥ Z_SHIP) and no worse beyond noise
(z > −Z_SHIP) on each SOP measure whose pairs do not give their order away by length (symmetric
pairs, two sentences; both files must have them). ALBERT's own pairs are left out of the rule:
their lengths tell the order, which a model trained on symmetric pairs no longer follows.

Exit status 0 (with --ship: the candidate ships); 1 with --ship when it does not; 2 when the files
cannot be compared (not the same examples, no per-example rows).
"""

from __future__ import annotations

import argparse
import json
import math
import sys


def load(path: str) -> dict:
    with open(path) as f:
        r = json.load(f)
    if "per_example" not in r:
        raise ValueError(f"{path}: no per-example rows (run evaluate.py with --per-example)")
    return r


def paired(a: list[int], b: list[int], weights: list[int]) -> tuple[float, float, float, float]:
    """Accuracy of A and B as sum(hits) / sum(weights), the difference B − A and its standard error
    (the ratio estimator's: per-example differences, scaled by the total weight)."""
    n, w = len(a), sum(weights)
    d = [y - x for x, y in zip(a, b)]
    mean = sum(d) / n
    var = sum((x - mean) ** 2 for x in d) / (n - 1) if n > 1 else 0.0
    return sum(a) / w, sum(b) / w, sum(d) / w, math.sqrt(n * var) / w


def compare(ra: dict, rb: dict) -> list[dict]:
    for key in ("valid_cache", "examples", "seq"):
        if ra.get(key) != rb.get(key):
            raise ValueError(f"not the same held-out examples: {key} is {ra.get(key)!r} in one file and {rb.get(key)!r} in the other")
    pa, pb = ra["per_example"], rb["per_example"]
    if pa["single_masked"] != pb["single_masked"]:
        raise ValueError("not the same held-out examples: the masked positions per example differ")
    if "split" in pa and "split" in pb and pa["split"] != pb["split"]:
        raise ValueError("not the same held-out examples: the pairs' kinds (split) differ")
    # The kinds are a property of the examples, so one file that names them serves both.
    kinds = pa.get("split") or pb.get("split")
    n = len(pa["sop_right"])
    # (name, per-example key, the examples it counts: None for all)
    measures = [("single-token top-1", "single_hits", None), ("SOP accuracy", "sop_right", None)]
    if kinds is not None:
        if len(kinds) != n:
            raise ValueError(f"{len(kinds)} pair kinds (split) for {n} examples")
        for kind in sorted(set(kinds), key=lambda k: (k != "sentences", k)):
            measures.append((f"SOP, meeting {kind}", "sop_right", [i for i, s in enumerate(kinds) if s == kind]))
    # The cue-free SOP measures (evaluate.py since session 24), on pairs of their own.
    for name, key in (("SOP, symmetric pairs", "sop_symmetric_right"), ("SOP, two sentences", "sop_sentence_pairs_right")):
        if key in pa and key in pb:
            measures.append((name, key, range(len(pa[key]))))
    rows = []
    for name, key, idx in measures:
        idx = range(n) if idx is None else idx
        weights = [pa["single_masked"][i] for i in idx] if key == "single_hits" else [1] * len(idx)
        acc_a, acc_b, diff, se = paired([pa[key][i] for i in idx], [pb[key][i] for i in idx], weights)
        rows.append({"measure": name, "a": acc_a, "b": acc_b, "diff": diff, "se": se,
                     "z": diff / se if se > 0 else (0.0 if diff == 0 else math.inf), "examples": len(idx)})
    return rows


Z_SHIP = 2.0  # two paired standard errors: a difference smaller than this is noise
CUE_FREE = ("SOP, symmetric pairs", "SOP, two sentences")


def ship_verdict(rows: list[dict]) -> tuple[bool, list[str]]:
    """(whether B ships instead of A, one reason a rule) from compare()'s rows."""
    by = {r["measure"]: r for r in rows}
    top1 = by["single-token top-1"]
    reasons = [f"top-1 {100 * top1['diff']:+.2f} points, z {top1['z']:+.1f}: "
               + ("better beyond noise" if top1["z"] >= Z_SHIP else f"not better beyond noise (needs z ≥ {Z_SHIP:g})")]
    ok = top1["z"] >= Z_SHIP
    for name in CUE_FREE:
        if name not in by:
            reasons.append(f"{name}: missing from a file (evaluate.py since session 24 scores it): cannot judge")
            ok = False
            continue
        r = by[name]
        fine = r["z"] > -Z_SHIP
        ok = ok and fine
        reasons.append(f"{name} {100 * r['diff']:+.2f} points, z {r['z']:+.1f}: "
                       + ("not worse beyond noise" if fine else "worse beyond noise"))
    return ok, reasons


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("a", help="evaluate.py --per-example output (the reference, e.g. the shipped model)")
    ap.add_argument("b", help="the same for the candidate")
    ap.add_argument("--json", action="store_true", help="print the rows as JSON")
    ap.add_argument("--ship", action="store_true", help="apply the shipping rule to B (exit 0: ships, 1: does not)")
    args = ap.parse_args(argv)
    try:
        rows = compare(load(args.a), load(args.b))
    except (OSError, ValueError, KeyError) as e:
        print(f"compare.py: {e}", file=sys.stderr)
        return 2
    ships, reasons = ship_verdict(rows) if args.ship else (None, [])
    if args.json:
        print(json.dumps({"rows": rows, "ships": ships, "reasons": reasons} if args.ship else rows))
        return (0 if ships else 1) if args.ship else 0
    print(f"A = {args.a}\nB = {args.b}")
    for r in rows:
        print(f"{r['measure']:>22}: A {100 * r['a']:.2f} %, B {100 * r['b']:.2f} %, "
              f"B − A {100 * r['diff']:+.2f} points (paired standard error {100 * r['se']:.2f}, z {r['z']:+.1f}; "
              f"{r['examples']} examples)")
    if not args.ship:
        return 0
    print(f"ship rule: {'B SHIPS' if ships else 'B does not ship'}")
    for reason in reasons:
        print(f"  - {reason}")
    return 0 if ships else 1


if __name__ == "__main__":
    sys.exit(main())
