"""How much of an SOP pair's order its segments' lengths give away, per kind of pair and length.

For each `--sop-pairs` mode and sequence length: how often the rule that reads no word ("in order
when the first segment is at least as long as the second", `data.length_rule`) is right, how full
the sequences are, and how many pairs meet inside a sentence. Also two single consecutive sentences
(`data.sentence_pairs`, the app's case). No model is involved: it describes the data.

    python pair_cues.py --cache data/valid-<stamp>.npz --pairs 4000 --seed 11 --seq 64,128
"""

from __future__ import annotations

import argparse

import numpy as np

import corpus
import data


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cache", required=True, help="a token cache (.npz) from corpus.py")
    ap.add_argument("--pairs", type=int, default=4000)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--seq", default="64,128")
    a = ap.parse_args()
    cache = corpus.TokenCache.load(a.cache)
    for seq in (int(x) for x in a.seq.split(",")):
        for mode in data.PAIR_MODES:
            s = data.ExampleSampler(cache, 1 << 16, seed=a.seed, pairs=mode)
            examples, within = [], 0
            for _ in range(a.pairs):
                examples.append(s.example(seq))
                within += s.last_split == data.SPLIT_KINDS[1]
            fill = np.mean([len(e[0]) for e in examples]) / seq
            print(f"seq {seq:4d}, pairs {mode:9s}: the length rule {data.length_rule(examples):.4f}; "
                  f"{100 * fill:.1f} % of the tokens filled; {within} of {a.pairs} meet inside a sentence")
        two = data.sentence_pairs(cache, a.pairs, seq, seed=a.seed)
        print(f"seq {seq:4d}, two single sentences: the length rule {data.length_rule(two):.4f}")


if __name__ == "__main__":
    main()
