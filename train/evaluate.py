"""Evaluates a train.py checkpoint on gutenberg-valid: MLM top-1, SOP accuracy, fill-mask samples.

MLM top-1 is measured exactly as the model is trained: ALBERT n-gram masking (15% of tokens,
whole-word n-grams n ≤ 3, 80/10/10), over every predicted position of a fixed, seeded sample of
examples (128 tokens, two segments); SOP accuracy over the same examples. A second MLM number
masks single tokens (BERT-style, 15%, always [MASK]) for comparison with BERT-style reports.
SOP accuracy is also given by where the pair's segments meet (`sop_by_split`): between two
sentences, or inside one long sentence, where a segment that starts mid-sentence gives it away.

Both kinds also leak their order through length: a pair starts at the sentence holding a random
token, which favours long sentences, so the true first segment tends to be the longer one, and a
rule that reads no word ("in order when the first segment is the longer") scores
`sop_length_rule` on them. Two more SOP measures have no such cue: `sop_symmetric`, on pairs of
whole sentences grown alike from one sentence boundary (`data.py`'s symmetric pairs, at the same
--seq, masked as the others), and `sop_sentence_pairs`, on two consecutive single sentences
without masks, as someone types them into the app's sentence-order view. Each on as many pairs as
--examples, at the main depth.

    python evaluate.py --ckpt runs/base/ckpt.pt --tokenizer data/tok8k/tokenizer.json \
        --valid-cache data/valid8k.npz --out runs/base/eval.json
    python evaluate.py --model ../assets/model --valid-cache data/valid-<stamp>.npz   # as shipped
    python evaluate.py --model ../assets/model --books train --valid-cache data/train-<stamp>.npz \
        --out results/train-books.json    # the same measures on the books it trained on

The last scores the books the model has seen, to set beside the held-out score: the gap is what
fitting those particular books adds (more passes over the same 43.5 M tokens widen it without
teaching more English; books_gap.py sets the two side by side). Those scores never go into the
log (`--log`), whose curve is the held-out one.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
import torch

import compact
import corpus
import data
from model import evaluate, load_checkpoint, per_example, resolve_amp, set_depth

FILL_MASK = [
    "She wrote a [MASK] to her mother.",
    "The capital of France is [MASK].",
    "He opened the [MASK] and walked into the room.",
    "It was a dark and stormy [MASK].",
    "I have not seen him for many [MASK].",
    "The sun [MASK] in the east.",
    "She [MASK] her head and smiled.",
    "They sat down to [MASK] at seven o'clock.",
    "The old man took off his [MASK] and bowed.",
    "What is your [MASK]?",
]


@torch.no_grad()
def fill_mask(model, tok, texts, k=5, device="cpu"):
    was = model.training
    model.eval()
    res = []
    for text in texts:
        enc = tok.encode(text)
        ids = torch.tensor([enc.ids], device=device)
        out = model(input_ids=ids, token_type_ids=torch.tensor([enc.type_ids], device=device))
        logits = out.prediction_logits[0].float()
        preds = []
        for pos in [i for i, x in enumerate(enc.ids) if x == corpus.MASK]:
            p = torch.softmax(logits[pos], -1)
            top = torch.topk(p, k)
            preds.append([{"token": tok.id_to_token(int(i)), "prob": round(float(v), 4)} for v, i in zip(top.values, top.indices)])
        res.append({"text": text, "predictions": preds})
    model.train(was)
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--ckpt", help="a train.py checkpoint, or a compact one's folder (train/resume, or any session's "
                                    "from git: `git archive <commit> train/resume | tar -x -C /tmp/x`), its "
                                    "tokenizer.json unless --tokenizer")
    src.add_argument("--model", help="an exported model folder (HF layout, export.py's): scored as shipped, "
                     "its f16 weights loaded into f32 (--amp as for a checkpoint); its tokenizer.json unless --tokenizer")
    ap.add_argument("--tokenizer", default=None, help="tokenizer.json (required with --ckpt)")
    ap.add_argument("--books", choices=["valid", "train"], default="valid",
                    help="where the examples come from: gutenberg-valid, never trained on (the default: every score "
                         "in the log and the card), or gutenberg-train, the books the model trained on; the "
                         "difference is how much of the score is those books fitted rather than English learned")
    ap.add_argument("--valid-cache", default="data/valid8k.npz",
                    help="the token cache of --books (built from them when missing): data/valid-<stamp>.npz, "
                         "or train.py's data/train-<stamp>.npz with --books train")
    ap.add_argument("--valid-max-chars", type=int, default=None)
    ap.add_argument("--examples", type=int, default=2000)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--layers", default=None, help="comma-separated depths to evaluate (default: the checkpoint's)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--amp", default="none", choices=["auto", "bf16", "none"])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=None)
    ap.add_argument("--per-example", action="store_true",
                    help="also write each example's single-token hits and SOP answer to --out (at the main depth), "
                         "for compare.py's paired comparison of two models")
    ap.add_argument("--log", default=None, help="append the scores as one JSON line (e.g. train/resume/log.jsonl)")
    a = ap.parse_args()
    if a.model and a.tokenizer is None:
        a.tokenizer = os.path.join(a.model, "tokenizer.json")
    if a.ckpt and os.path.isdir(a.ckpt):
        if not compact.exists(a.ckpt):
            ap.error(f"--ckpt {compact.not_compact(a.ckpt)}")
        a.tokenizer = a.tokenizer or compact.tokenizer_for(a.ckpt)
    if a.tokenizer is None:
        ap.error("--ckpt needs --tokenizer (the tokenizer.json the checkpoint was trained with)")
    if a.per_example and not a.out:
        ap.error("--per-example writes into the --out file: give --out")
    if a.model and a.log:
        ap.error("--log records a training checkpoint's scores in its run's log: use --out with --model")
    if a.books == "train" and a.log:
        ap.error("--log records held-out scores (the curve extrapolate.py fits): --books train gives --out only")
    if a.books == "train" and os.path.basename(a.valid_cache).startswith("valid"):
        ap.error(f"--books train scores the training books, but --valid-cache {a.valid_cache} names a cache of the "
                 "validation books: give train.py's data/train-<stamp>.npz")
    if a.books == "valid" and os.path.basename(a.valid_cache).startswith("train"):
        ap.error(f"--valid-cache {a.valid_cache} names a cache of the training books: scores on them are not held out "
                 "(give --books train to measure that on purpose)")
    torch.set_num_threads(a.threads)
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(a.tokenizer)
    if not os.path.exists(a.valid_cache):
        corpus.build_cache(tok, corpus.TRAIN_XZ if a.books == "train" else corpus.VALID_XZ, 1.0, a.valid_cache,
                           a.valid_max_chars)
    cache = corpus.TokenCache.load(a.valid_cache)
    device = torch.device(a.device)
    amp = resolve_amp(a.amp, device)
    if a.ckpt:
        model, ck = load_checkpoint(a.ckpt)  # a full checkpoint or a compact folder
        state = {k: ck["state"].get(k) for k in ("step", "tokens", "train_seconds")}
    else:
        from transformers import AlbertForPreTraining

        model = AlbertForPreTraining.from_pretrained(a.model, torch_dtype=torch.float32)
        state = {"step": None, "tokens": None, "train_seconds": None}
    model.to(device)
    trained_layers = model.config.num_hidden_layers
    splits: list[str] = []
    examples = data.fixed_eval_set(cache, tok.get_vocab_size(), a.examples, a.seq, splits=splits)
    single = data.single_token_examples(examples)
    depths = [int(x) for x in a.layers.split(",")] if a.layers else [trained_layers]
    result = {"checkpoint": a.ckpt or a.model, "step": state["step"], "tokens": state["tokens"],
              "train_seconds": state["train_seconds"] and round(state["train_seconds"], 1), "valid_tokens": cache.n_tokens,
              "books": a.books, "valid_cache": os.path.basename(a.valid_cache), "examples": a.examples, "seq": a.seq,
              "trained_layers": trained_layers, "by_depth": {}}
    for d in depths:
        t0 = time.time()
        set_depth(model, d)
        ev = evaluate(model, examples, device, amp)
        ev1 = evaluate(model, single, device, amp)
        result["by_depth"][str(d)] = {"ngram": ev, "single_token_mlm_acc": ev1["mlm_acc"], "single_token_mlm_loss": ev1["mlm_loss"]}
        print(f"[eval] depth {d}: MLM top-1 {ev['mlm_acc']:.4f} (loss {ev['mlm_loss']:.3f}, {ev['masked_tokens']} n-gram-masked tokens), "
              f"single-token MLM top-1 {ev1['mlm_acc']:.4f}, SOP acc {ev['sop_acc']:.4f} ({ev['examples']} examples) "
              f"({time.time() - t0:.0f} s)")
    main_depth = trained_layers if trained_layers in depths else depths[0]
    main_ev = result["by_depth"][str(main_depth)]
    result.update({"mlm_top1": main_ev["ngram"]["mlm_acc"], "mlm_loss": main_ev["ngram"]["mlm_loss"],
                   "sop_acc": main_ev["ngram"]["sop_acc"], "single_token_mlm_top1": main_ev["single_token_mlm_acc"]})
    set_depth(model, main_depth)
    sop_right = per_example(model, examples, device, amp)["sop_right"]
    result["sop_by_split"] = {}
    for kind in data.SPLIT_KINDS:
        right = [r for r, k in zip(sop_right, splits) if k == kind]
        # None where a small sample has no pair of this kind: no accuracy to give.
        result["sop_by_split"][kind] = {"examples": len(right), "sop_acc": sum(right) / len(right) if right else None}
        if right:
            print(f"[eval] depth {main_depth}: SOP acc {sum(right) / len(right):.4f} where the segments meet {kind} ({len(right)} examples)")
    result["sop_length_rule"] = data.length_rule(examples)
    t0 = time.time()
    symmetric = data.fixed_eval_set(cache, tok.get_vocab_size(), a.examples, a.seq, pairs="symmetric")
    sym_right = per_example(model, symmetric, device, amp)["sop_right"]
    two = data.sentence_pairs(cache, a.examples, a.seq)
    two_right = per_example(model, two, device, amp)["sop_right"]
    result["sop_symmetric"] = {"examples": len(sym_right), "sop_acc": sum(sym_right) / len(sym_right),
                               "length_rule": data.length_rule(symmetric)}
    result["sop_sentence_pairs"] = {"examples": len(two_right), "sop_acc": sum(two_right) / len(two_right),
                                    "length_rule": data.length_rule(two)}
    print(f"[eval] depth {main_depth}: SOP acc {result['sop_symmetric']['sop_acc']:.4f} on symmetric pairs, "
          f"{result['sop_sentence_pairs']['sop_acc']:.4f} on two single sentences; the length rule "
          f"{result['sop_length_rule']:.4f} on the pairs above, {result['sop_symmetric']['length_rule']:.4f} and "
          f"{result['sop_sentence_pairs']['length_rule']:.4f} on these ({time.time() - t0:.0f} s)")
    if a.per_example:
        t0 = time.time()
        single_rows = per_example(model, single, device, amp)
        result["per_example"] = {"depth": main_depth, "single_masked": single_rows["masked"], "single_hits": single_rows["hits"],
                                 "sop_right": sop_right, "split": splits, "sop_symmetric_right": sym_right,
                                 "sop_sentence_pairs_right": two_right}
        print(f"[eval] depth {main_depth}: per-example rows for compare.py ({time.time() - t0:.0f} s)")
    set_depth(model, trained_layers)
    result["fill_mask"] = fill_mask(model, tok, FILL_MASK, device=device)
    for r in result["fill_mask"]:
        print(f"[fill] {r['text']}  →  " + " | ".join(f"{p['token']} {p['prob']:.2f}" for p in r["predictions"][0]))
    if a.log:  # one line in the run's log, so held-out scores sit beside the training curve
        with open(a.log, "a") as f:
            f.write(json.dumps({"event": "eval", "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                                "step": result["step"], "tokens": result["tokens"], "train_seconds": result["train_seconds"],
                                "examples": a.examples, "seq": a.seq, "depth": trained_layers,
                                "single_token_mlm_top1": result["single_token_mlm_top1"], "sop_acc": result["sop_acc"],
                                "ngram_mlm_top1": result["mlm_top1"], "mlm_loss": result["mlm_loss"],
                                "sop_symmetric": result["sop_symmetric"]["sop_acc"],
                                "sop_sentence_pairs": result["sop_sentence_pairs"]["sop_acc"]}) + "\n")
    if a.out:
        os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
        with open(a.out, "w") as f:
            f.write(result_json(result))
    return result


def result_json(result: dict) -> str:
    """The result, indented, with each per-example list on one line (10 000 rows would otherwise take
    a line each)."""
    rows = result.get("per_example")
    if rows is None:
        return json.dumps(result, indent=1, ensure_ascii=False)
    text = json.dumps({k: v for k, v in result.items() if k != "per_example"}, indent=1, ensure_ascii=False)
    lists = ",\n".join(f"  {json.dumps(k)}: {json.dumps(v, separators=(',', ':'))}" for k, v in rows.items())
    return text[:-2] + ',\n "per_example": {\n' + lists + "\n }\n}"


if __name__ == "__main__":
    main()
