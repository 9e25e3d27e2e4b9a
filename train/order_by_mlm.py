"""Does the encoder know sentence order, even where the SOP head does not? Asks the MLM head.

The SOP head of every model here is at chance on pairs that do not leak their order (README,
"Sentence order"). That leaves two explanations: the encoder holds no order information at this
size, or it holds some and the SOP head never learned to read it. The masked-LM head answers the
first without any training: for each pair of consecutive passages (A, B), it scores both orders,
[CLS] A [SEP] B [SEP] and [CLS] B [SEP] A [SEP], by pseudo-log-likelihood (every token masked
once, in `--groups` masked copies; a token's copy is fixed by its place in its own passage, so
both orders mask the same tokens together) and answers the order the model finds more likely.
Both orders hold the same tokens, so neither their lengths nor their words tell it: only how
well each passage predicts the other's words where they meet, i.e. discourse order.

    python order_by_mlm.py --model ../assets/model --valid-cache data/valid-<stamp>.npz \
        --pairs 2000 --kind sentences --out results/order-by-mlm.json

`--kind sentences`: two consecutive sentences (data.sentence_pairs, what the app's sentence-order
view receives); `symmetric`: evaluate.py's symmetric pairs; `cut`: the control, one sentence cut in
two, whose order any reader sees. The SOP head's answer on the same
pairs is reported beside it, with how often the two agree.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time

import numpy as np
import torch

import corpus
import data
from model import autocast, load_checkpoint, per_example, resolve_amp


def cut_pairs(cache: corpus.TokenCache, n: int, max_seq_len: int = 128, seed: int = 2025):
    """The control: one sentence (6 tokens or more) cut at a random token of its middle third, the
    halves as the two passages. The order of a cut sentence is plain from its grammar, so a model
    that reads order at all scores far above chance here."""
    rng = np.random.default_rng(seed)
    starts, n_sent = cache.sent_starts, len(cache.sent_starts) - 1
    out = []
    while len(out) < n:
        s = int(rng.integers(0, n_sent))
        toks = list(cache.ids[starts[s] : starts[s + 1]])
        if len(toks) < 6 or len(toks) > max_seq_len - 3:
            continue
        cut = int(rng.integers(len(toks) // 3, 2 * len(toks) // 3 + 1))
        a, b = toks[:cut], toks[cut:]
        swapped = rng.random() < 0.5  # for the SOP head's answer; the MLM scores both orders anyway
        if swapped:
            a, b = b, a
        ids, tt = data.segment_pair(a, b)
        out.append((ids, tt, np.full(len(ids), -100, dtype=np.int64), int(swapped)))
    return out


def both_orders(ids: np.ndarray, tt: np.ndarray, swapped: int):
    """The pair's two passages in their original order, from one example ([CLS] x [SEP] y [SEP])."""
    n_x = int((tt == 0).sum()) - 2
    x, y = ids[1 : 1 + n_x], ids[2 + n_x : -1]
    return (y, x) if swapped else (x, y)


def masked_copies(first: np.ndarray, second: np.ndarray, groups: int, first_group: int, second_group: int):
    """[CLS] first [SEP] second [SEP], masked in `groups` copies: token i of a passage is masked in
    copy (i + the passage's group offset) mod groups, so every token is masked exactly once and the
    same tokens are masked together whichever passage comes first."""
    ids, tt = data.segment_pair(first, second)
    copy_of = np.full(len(ids), -1)
    copy_of[1 : 1 + len(first)] = (np.arange(len(first)) + first_group) % groups
    copy_of[len(first) + 2 : -1] = (np.arange(len(second)) + second_group) % groups
    out = []
    for g in range(groups):
        sel = copy_of == g
        if not sel.any():
            continue
        x, lab = ids.copy(), np.full(len(ids), -100, dtype=np.int64)
        lab[sel], x[sel] = ids[sel], corpus.MASK
        out.append((x, tt, lab, 0))
    return out


@torch.no_grad()
def pll(model, examples, device, amp, batch_size=64) -> list[float]:
    """Sum of log p(true token) over each example's masked positions."""
    model.eval()
    out = []
    for i in range(0, len(examples), batch_size):
        b = {k: v.to(device) for k, v in data.collate(examples[i : i + batch_size]).items()}
        with autocast(device, amp):
            h = model.albert(input_ids=b["input_ids"], attention_mask=b["attention_mask"],
                             token_type_ids=b["token_type_ids"]).last_hidden_state
            sel = b["labels"] != -100
            logp = torch.log_softmax(model.predictions(h[sel]).float(), -1)
        tok_lp = logp.gather(1, b["labels"][sel][:, None])[:, 0]
        rows = sel.nonzero()[:, 0]
        sums = torch.zeros(len(sel), dtype=torch.float64).index_add_(0, rows, tok_lp.double())
        out += sums.tolist()
    return out


def order_by_mlm(model, pairs, device, amp, groups: int):
    """For each pair: PLL(original order) − PLL(swapped order), and whether it is > 0."""
    examples, owner = [], []
    for i, (ids, tt, _, swapped) in enumerate(pairs):
        a, b = both_orders(ids, tt, swapped)
        for order, (f, s, gf, gs) in enumerate([(a, b, 0, len(a)), (b, a, len(a), 0)]):
            copies = masked_copies(f, s, groups, gf, gs)
            examples += copies
            owner += [(i, order)] * len(copies)
    scores = pll(model, examples, device, amp)
    total = np.zeros((len(pairs), 2))
    for (i, order), v in zip(owner, scores):
        total[i, order] += v
    margin = total[:, 0] - total[:, 1]
    return margin


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--ckpt", help="a train.py checkpoint, or a compact one's folder (train/resume)")
    src.add_argument("--model", help="an exported model folder (HF layout)")
    ap.add_argument("--valid-cache", required=True, help="a token cache of gutenberg-valid made with the model's tokenizer (corpus.py)")
    ap.add_argument("--pairs", type=int, default=2000)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--kind", choices=["sentences", "symmetric", "cut"], default="sentences")
    ap.add_argument("--groups", type=int, default=5, help="masked copies per order (1/groups of the tokens masked in each)")
    ap.add_argument("--amp", default="none", choices=["auto", "bf16", "none"])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    if a.groups < 2:
        ap.error(f"--groups: expected at least 2 (each copy masks 1/groups of the tokens), found {a.groups}")
    if not os.path.exists(a.valid_cache):
        ap.error(f"--valid-cache: {a.valid_cache} not found; build it with corpus.py --tokenizer <the model's tokenizer.json> "
                 "--corpus ../../shared/data/corpus/gutenberg-valid.txt.xz --out <it>")
    torch.set_num_threads(a.threads)
    device = torch.device("cpu")
    amp = resolve_amp(a.amp, device)
    if a.ckpt:
        model, _ = load_checkpoint(a.ckpt)
    else:
        from transformers import AlbertForPreTraining

        model = AlbertForPreTraining.from_pretrained(a.model, torch_dtype=torch.float32)
    vocab = model.config.vocab_size
    cache = corpus.TokenCache.load(a.valid_cache)
    if a.kind == "sentences":
        pairs = data.sentence_pairs(cache, a.pairs, a.seq)
    elif a.kind == "cut":
        pairs = cut_pairs(cache, a.pairs, a.seq)
    else:
        pairs = data.fixed_eval_set(cache, vocab, a.pairs, a.seq, pairs="symmetric")
        # evaluate.py's symmetric pairs carry training masks; the passages here are the unmasked text.
        pairs = [(np.where(lab != -100, lab, ids), tt, lab, sop) for ids, tt, lab, sop in pairs]
    t0 = time.time()
    margin = order_by_mlm(model, pairs, device, amp, a.groups)
    right = margin > 0
    head = per_example(model, pairs, device, amp)["sop_right"]
    n = len(pairs)
    acc, head_acc = float(right.mean()), sum(head) / n
    se = math.sqrt(0.25 / n)  # chance's standard error on n pairs
    result = {"source": a.ckpt or a.model, "kind": a.kind, "pairs": n, "seq": a.seq, "groups": a.groups, "amp": amp,
              "mlm_order_acc": acc, "sop_head_acc": head_acc, "chance_se": se,
              "agree": float(np.mean([r == bool(h) for r, h in zip(right, head)])),
              "mean_margin_nats": float(margin.mean()), "margin_se": float(margin.std(ddof=1) / math.sqrt(n)),
              "seconds": round(time.time() - t0, 1)}
    print(f"[order] {n} {a.kind} pairs: the MLM's likelier order is the original one {acc:.2%} of the time "
          f"(chance 50 % ± {se:.1%}), the SOP head {head_acc:.2%}; they agree on {result['agree']:.2%}; "
          f"mean margin {result['mean_margin_nats']:.3f} ± {result['margin_se']:.3f} nats ({result['seconds']} s)")
    if a.out:
        os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
        with open(a.out, "w") as f:
            json.dump(result, f, indent=1)
    return result


if __name__ == "__main__":
    main()
