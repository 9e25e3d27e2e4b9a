"""Evaluates a train.py checkpoint on gutenberg-valid: MLM top-1, SOP accuracy, fill-mask samples.

MLM top-1 is measured exactly as the model is trained: ALBERT n-gram masking (15% of tokens,
whole-word n-grams n ≤ 3, 80/10/10), over every predicted position of a fixed, seeded sample of
examples (128 tokens, two segments); SOP accuracy over the same examples. A second MLM number
masks single tokens (BERT-style, 15%, always [MASK]) for comparison with BERT-style reports.

    python evaluate.py --ckpt runs/base/ckpt.pt --tokenizer data/tok8k/tokenizer.json \
        --valid-cache data/valid8k.npz --out runs/base/eval.json
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
import torch

import data
from model import evaluate, load_checkpoint, resolve_amp, set_depth

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
        for pos in [i for i, x in enumerate(enc.ids) if x == data.MASK]:
            p = torch.softmax(logits[pos], -1)
            top = torch.topk(p, k)
            preds.append([{"token": tok.id_to_token(int(i)), "prob": round(float(v), 4)} for v, i in zip(top.values, top.indices)])
        res.append({"text": text, "predictions": preds})
    model.train(was)
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ckpt", required=True)
    ap.add_argument("--tokenizer", required=True)
    ap.add_argument("--valid-cache", default="data/valid8k.npz")
    ap.add_argument("--valid-max-chars", type=int, default=None)
    ap.add_argument("--examples", type=int, default=2000)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--layers", default=None, help="comma-separated depths to evaluate (default: the checkpoint's)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--amp", default="none", choices=["auto", "bf16", "none"])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=None)
    ap.add_argument("--log", default=None, help="append the scores as one JSON line (e.g. train/resume/log.jsonl)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(a.tokenizer)
    if not os.path.exists(a.valid_cache):
        data.build_cache(tok, data.VALID_XZ, 1.0, a.valid_cache, a.valid_max_chars)
    cache = data.TokenCache.load(a.valid_cache)
    device = torch.device(a.device)
    amp = resolve_amp(a.amp, device)
    model, ck = load_checkpoint(a.ckpt)
    model.to(device)
    trained_layers = model.config.num_hidden_layers
    examples = data.fixed_eval_set(cache, tok.get_vocab_size(), a.examples, a.seq)
    single = data.single_token_examples(examples)
    depths = [int(x) for x in a.layers.split(",")] if a.layers else [trained_layers]
    result = {"checkpoint": a.ckpt, "step": ck["state"]["step"], "tokens": ck["state"]["tokens"],
              "train_seconds": round(ck["state"]["train_seconds"], 1), "valid_tokens": cache.n_tokens,
              "examples": a.examples, "seq": a.seq, "trained_layers": trained_layers, "by_depth": {}}
    for d in depths:
        t0 = time.time()
        set_depth(model, d)
        ev = evaluate(model, examples, device, amp)
        ev1 = evaluate(model, single, device, amp)
        result["by_depth"][str(d)] = {"ngram": ev, "single_token_mlm_acc": ev1["mlm_acc"], "single_token_mlm_loss": ev1["mlm_loss"]}
        print(f"[eval] depth {d}: MLM top-1 {ev['mlm_acc']:.4f} (loss {ev['mlm_loss']:.3f}, {ev['masked_tokens']} n-gram-masked tokens), "
              f"single-token MLM top-1 {ev1['mlm_acc']:.4f}, SOP acc {ev['sop_acc']:.4f} ({ev['examples']} examples) "
              f"({time.time() - t0:.0f} s)")
    set_depth(model, trained_layers)
    main_ev = result["by_depth"][str(trained_layers)] if str(trained_layers) in result["by_depth"] else next(iter(result["by_depth"].values()))
    result.update({"mlm_top1": main_ev["ngram"]["mlm_acc"], "mlm_loss": main_ev["ngram"]["mlm_loss"],
                   "sop_acc": main_ev["ngram"]["sop_acc"], "single_token_mlm_top1": main_ev["single_token_mlm_acc"]})
    result["fill_mask"] = fill_mask(model, tok, FILL_MASK, device=device)
    for r in result["fill_mask"]:
        print(f"[fill] {r['text']}  →  " + " | ".join(f"{p['token']} {p['prob']:.2f}" for p in r["predictions"][0]))
    if a.log:  # one line in the run's log, so held-out scores sit beside the training curve
        with open(a.log, "a") as f:
            f.write(json.dumps({"event": "eval", "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                                "step": result["step"], "tokens": result["tokens"], "train_seconds": result["train_seconds"],
                                "examples": a.examples, "seq": a.seq, "depth": trained_layers,
                                "single_token_mlm_top1": result["single_token_mlm_top1"], "sop_acc": result["sop_acc"],
                                "ngram_mlm_top1": result["mlm_top1"], "mlm_loss": result["mlm_loss"]}) + "\n")
    if a.out:
        os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
        with open(a.out, "w") as f:
            json.dump(result, f, indent=1, ensure_ascii=False)
    return result


if __name__ == "__main__":
    main()
