"""Tokens per second of one training step (forward, backward, AdamW), option by option.

Measures what the default model's training can get out of this machine's CPUs: threads, bf16
autocast, the MLM head at masked rows only, torch.compile, and two DDP processes. Every row runs
the same `Pretrain`/`AlbertForPreTraining` model (what is exported does not change) on the same
examples, after warm-up steps; the table goes to stdout and, with --out, to a JSON file.

    python throughput.py --tokenizer data/tokp/tokenizer.json --train-cache data/trainp.npz \
        --shapes 256,384 --out results/throughput.json
    torchrun --nproc_per_node 2 throughput.py ... --ddp   # the DDP rows (run by the first command)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time

import torch
import torch.distributed as dist
import torch.nn.functional as F

import corpus
import data
from model import Pretrain, autocast, build_config, new_model

SHAPES = {256: (4, 1024), 384: (6, 1536)}  # hidden → (heads, FFN)


class FullHead(Pretrain):
    """The MLM head on every position, as `AlbertForPreTraining.forward` computes it."""

    def forward(self, input_ids, token_type_ids, attention_mask, labels, sentence_order_label):
        out = self.model(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
        mlm = F.cross_entropy(out.prediction_logits.float().flatten(0, 1), labels.flatten(), ignore_index=-100)
        sop = F.cross_entropy(out.sop_logits.float(), sentence_order_label)
        return mlm + sop, None


def measure(a, hidden, threads, amp, head, compile_, world=1):
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    heads, ffn = SHAPES[hidden]
    cfg = build_config(a.vocab, a.embedding, hidden, heads, ffn, a.layers, max_pos=512)
    model = new_model(cfg)
    wrapper = (Pretrain if head == "masked" else FullHead)(model)
    if compile_:
        wrapper = torch.compile(wrapper)
    if world > 1:
        wrapper = torch.nn.parallel.DistributedDataParallel(wrapper)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, betas=(0.9, 0.98), eps=1e-6)
    sampler = data.ExampleSampler(a.cache, a.vocab, seed=1 + (dist.get_rank() if world > 1 else 0),
                                  mask_prob=0.15, replace="mask")
    batches = [sampler.batch(a.batch, a.seq, ngram=False) for _ in range(a.warmup + a.steps)]
    dev = torch.device("cpu")
    tokens, t = 0, 0.0
    for i, b in enumerate(batches):
        t0 = time.perf_counter()
        with autocast(dev, amp):
            loss, _ = wrapper(**b)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        dt = time.perf_counter() - t0
        if i >= a.warmup:
            t += dt
            tokens += int(b["attention_mask"].sum())
    if world > 1:
        x = torch.tensor([tokens, t], dtype=torch.float64)
        dist.all_reduce(x)
        tokens, t = float(x[0]), float(x[1]) / world
    return tokens / t


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tokenizer", required=True)
    ap.add_argument("--train-cache", required=True)
    ap.add_argument("--shapes", default="256,384")
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--embedding", type=int, default=128)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--steps", type=int, default=12)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--ddp", action="store_true", help="(internal) the DDP row, under torchrun")
    ap.add_argument("--ddp-hidden", type=int, default=384)
    ap.add_argument("--no-compile", action="store_true")
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    from tokenizers import Tokenizer

    a.vocab = Tokenizer.from_file(a.tokenizer).get_vocab_size()
    a.cache = corpus.TokenCache.load(a.train_cache)

    if a.ddp:
        dist.init_process_group("gloo")
        tps = measure(a, a.ddp_hidden, 1, "bf16", "masked", False, world=dist.get_world_size())
        if dist.get_rank() == 0:
            print(json.dumps({"ddp_tokens_per_s": tps}))
        dist.destroy_process_group()
        return

    rows = []

    def row(hidden, threads, amp, head, compile_=False, label=None):
        tps = measure(a, hidden, threads, amp, head, compile_)
        r = {"hidden": hidden, "option": label or f"{threads} thread{'s' if threads > 1 else ''}, {amp}, MLM head on "
             f"{'masked rows' if head == 'masked' else 'all rows'}{', torch.compile' if compile_ else ''}",
             "threads": threads, "amp": amp, "head": head, "compile": compile_, "tokens_per_s": round(tps)}
        rows.append(r)
        print(f"H {hidden:4d} | {r['option']:60s} | {r['tokens_per_s']:7d} tokens/s", flush=True)

    for h in (int(x) for x in a.shapes.split(",")):
        row(h, 1, "none", "all")
        row(h, 2, "none", "all")
        row(h, 2, "bf16", "all")
        row(h, 2, "bf16", "masked")
        row(h, 1, "bf16", "masked")
        if not a.no_compile:
            try:
                row(h, 2, "bf16", "masked", True)
            except Exception as e:  # Inductor needs a C++ compiler; say so instead of failing the table
                print(f"H {h}: torch.compile failed: {type(e).__name__}: {str(e)[:200]}", flush=True)
    # Two DDP processes of one thread each (gloo all-reduce of the gradients every step).
    h = int(a.shapes.split(",")[-1])
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", __file__, "--ddp",
           "--ddp-hidden", str(h), "--tokenizer", a.tokenizer, "--train-cache", a.train_cache, "--layers", str(a.layers),
           "--seq", str(a.seq), "--batch", str(a.batch), "--steps", str(a.steps), "--warmup", str(a.warmup)]
    out = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    line = [x for x in out.stdout.splitlines() if x.startswith("{")]
    if line:
        tps = json.loads(line[-1])["ddp_tokens_per_s"]
        rows.append({"hidden": h, "option": "2 DDP processes × 1 thread, bf16, MLM head on masked rows", "threads": 2,
                     "amp": "bf16", "head": "masked", "compile": False, "ddp": 2, "tokens_per_s": round(tps)})
        print(f"H {h:4d} | {rows[-1]['option']:60s} | {rows[-1]['tokens_per_s']:7d} tokens/s", flush=True)
    else:
        print("DDP row failed:\n" + out.stderr[-2000:], flush=True)
    if a.out:
        os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
        with open(a.out, "w") as f:
            json.dump({"machine": {"cpus": os.cpu_count(), "processor": platform.processor() or platform.machine(),
                                   "torch": torch.__version__, "load_before": os.getloadavg()},
                       "layers": a.layers, "seq": a.seq, "batch": a.batch, "steps": a.steps, "warmup": a.warmup,
                       "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
