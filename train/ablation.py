"""The ALBERT paper's cross-layer parameter-sharing ablation (its Table 4), reproduced small.

Trains each configuration for the same budget of *training seconds* (train.py's clock: time spent in
training steps, evaluations excluded), with the same data, seed and recipe, one after another, then
evaluates each on gutenberg-valid with evaluate.py (2000 fixed 128-token examples: MLM top-1 over
every n-gram-masked position, MLM loss, SOP accuracy), and writes

  --results  (default results/ablation.json)   every number, the commands, the machine
  --readme   (default README.md)               the table between <!-- ablation:start --> and
                                               <!-- ablation:end -->

Configurations (H, E, heads, FFN and the final depth are the same for all; the default is all six):
  all-shared      --share all        one block run L times (HF: num_hidden_groups 1)
  2 groups        --groups 2         layers 1..L/2 share one block, L/2+1..L another
  not-shared      --share none       groups = layers
  attention-only  --share attention  one attention sublayer (QKV, output dense, its LayerNorm),
                                     per-layer FFNs (an experiment outside HF's format)
  FFN-only        --share ffn        one FFN sublayer, per-layer attention
  all-shared-deep --share all        control: all-shared at the final depth throughout (no
                                     shallow phases, as the configurations above must)

The curriculum is the shipped one, adapted: a phase's depth is rounded up to a multiple of the
number of groups (all-shared 1 → 2 → 4, 2 groups 2 → 2 → 4, the others 4 throughout), the
length / masking / batch schedule is the same for all. Equal time is not equal tokens: a shallow
phase is cheaper, so all-shared sees the most tokens; both are reported.

Re-running the same command skips finished configurations (train.py --resume continues an
interrupted one), so a crash or a session limit costs only the unfinished part.

    python ablation.py --tokenizer ../assets/model/tokenizer.json --train-cache data/train8k.npz \
        --valid-cache data/valid8k.npz --budget-seconds 540 --out runs/ablation
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))

CONFIGS = {
    "all-shared": {"args": ["--share", "all"], "groups": 1, "label": "all-shared (ALBERT)"},
    "groups2": {"args": ["--groups", "2"], "groups": 2, "label": "2 groups"},
    "not-shared": {"args": ["--share", "none"], "groups": None, "label": "not-shared (BERT-like)"},
    "attention": {"args": ["--share", "attention"], "groups": None, "label": "attention-only shared"},
    "ffn": {"args": ["--share", "ffn"], "groups": None, "label": "FFN-only shared"},
    # Control: all-shared without the shallow phases (L layers throughout, like the configurations
    # with one group per layer), to separate the effect of sharing from that of the curriculum.
    "all-shared-deep": {"args": ["--share", "all"], "groups": None, "label": "all-shared, 4 layers throughout (control)"},
}
START, END = "<!-- ablation:start -->", "<!-- ablation:end -->"


def adapt_phases(phases: str, groups: int | None) -> str:
    """Rounds each phase's depth up to a multiple of `groups` (None: one group per layer, i.e. the
    final depth throughout)."""
    parts = phases.split(",")
    final = int(parts[-1].split("x")[0])
    g = groups or final
    out = []
    for part in parts:
        d, rest = part.split("x", 1)
        d = -(-int(d) // g) * g
        out.append(f"{d}x{rest}")
    return ",".join(out)


def run(cmd, log_path):
    print("[ablation] $ " + " ".join(cmd), flush=True)
    with open(log_path, "a") as f:
        f.write("$ " + " ".join(cmd) + "\n")
        f.flush()
        p = subprocess.run(cmd, cwd=HERE, stdout=f, stderr=subprocess.STDOUT)
    if p.returncode:
        with open(log_path) as f:
            tail = f.read()[-3000:]
        sys.exit(f"[ablation] command failed (exit {p.returncode}), see {log_path}:\n{tail}")


def last_train_record(log_path):
    rec = None
    with open(log_path) as f:
        for line in f:
            r = json.loads(line)
            if r["split"] == "train":
                rec = r
    return rec


def fmt_m(n):
    return f"{n / 1e6:.2f} M"


def table(res) -> str:
    rows = ["| config | unique params: embeddings / encoder (+ heads) | depths (phases) | tokens | steps | "
            "train s | valid MLM loss | MLM top-1 | SOP acc |",
            "|---|---|---|---:|---:|---:|---:|---:|---:|"]
    for r in res["runs"]:
        c, steps = r["param_counts"], f"{r['steps']:,}".replace(",", " ")
        rows.append(f"| {r['label']} | {c['embeddings'] / 1e6:.3f} M / **{c['encoder'] / 1e6:.3f} M** (+ {c['heads'] / 1e6:.3f} M) | "
                    f"{r['depths']} | {r['tokens'] / 1e6:.2f} M | {steps} | {r['train_seconds']:.0f} | "
                    f"{r['mlm_loss']:.3f} | {100 * r['mlm_top1']:.1f}% | {100 * r['sop_acc']:.1f}% |")
    return "\n".join(rows)


def write_readme(res, readme):
    with open(readme) as f:
        text = f.read()
    if START not in text or END not in text:
        sys.exit(f"[ablation] {readme} has no {START} … {END} markers")
    meta = res["meta"]
    body = (f"{START}\n<!-- written by ablation.py from {os.path.relpath(res['meta']['results'], os.path.dirname(readme))}; "
            f"do not edit by hand -->\n\n{table(res)}\n\n"
            f"Budget {meta['budget_seconds']:.0f} s of training per configuration ({meta['device']}, "
            f"{meta['threads']} torch thread, amp {meta['amp']}); evaluation: {meta['eval_examples']} fixed 128-token examples "
            f"of gutenberg-valid at the final depth ({meta['layers']} layers), `evaluate.py`; "
            f"{meta['wall_seconds'] / 60:.0f} min wall for all (train + evaluate, one after another), finished {meta['finished']}.\n{END}")
    text = text[: text.index(START)] + body + text[text.index(END) + len(END):]
    with open(readme, "w") as f:
        f.write(text)
    print(f"[ablation] table written to {readme}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tokenizer", default="../assets/model/tokenizer.json")
    ap.add_argument("--train-cache", default="data/train8k.npz")
    ap.add_argument("--valid-cache", default="data/valid8k.npz")
    ap.add_argument("--out", default="runs/ablation")
    ap.add_argument("--results", default="results/ablation.json")
    ap.add_argument("--readme", default="README.md", help="'' to leave it alone")
    ap.add_argument("--configs", default=",".join(CONFIGS), help=f"comma-separated subset of {','.join(CONFIGS)}")
    ap.add_argument("--budget-seconds", type=float, required=True, help="training seconds per configuration")
    ap.add_argument("--phases", default="1x32x32t@0.15,2x64x32@0.4,4x128x32@1",
                    help="the all-shared curriculum; other configurations round depths up to their groups")
    ap.add_argument("--eval-examples", type=int, default=2000)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--amp", default="auto")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--report-only", action="store_true", help="only rewrite the README table from --results")
    ap.add_argument("train_args", nargs="*", help="after --: extra train.py arguments (override the recipe below)")
    a = ap.parse_args()
    os.chdir(HERE)
    if a.report_only:
        with open(a.results) as f:
            write_readme(json.load(f), a.readme)
        return

    py = sys.executable
    # The shipped model's recipe (README "Commands"), at its shape: V 8192, E 128, H 256, 4 heads, FFN 1024.
    recipe = ["--tokenizer", a.tokenizer, "--train-cache", a.train_cache, "--valid-cache", a.valid_cache,
              "--embedding", "128", "--hidden", "256", "--heads", "4", "--ffn", "1024", "--max-pos", "128",
              "--lr", "1e-3", "--warmup-steps", "300", "--init-range", "0.05", "--pos-init", "sinusoidal", "--pos-init-std", "0.1",
              "--log-every", "50", "--eval-every", "1000", "--eval-examples", "256", "--ckpt-every", "500",
              "--budget-seconds", str(a.budget_seconds), "--device", a.device, "--amp", a.amp, "--threads", str(a.threads),
              "--seed", str(a.seed)] + a.train_args
    names = [n for n in a.configs.split(",") if n]
    for n in names:
        if n not in CONFIGS:
            sys.exit(f"[ablation] unknown config {n!r}; known: {', '.join(CONFIGS)}")
    os.makedirs(a.out, exist_ok=True)
    t_start = time.time()
    started = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    runs = []
    for n in names:
        c = CONFIGS[n]
        d = os.path.join(a.out, n)
        os.makedirs(d, exist_ok=True)
        phases = adapt_phases(a.phases, c["groups"])
        out_log = os.path.join(d, "train.out")
        eval_json = os.path.join(d, "eval.json")
        t0 = time.time()
        train_cmd = [py, "train.py", *recipe, *c["args"], "--phases", phases, "--out", d, "--resume"]
        eval_cmd = [py, "evaluate.py", "--ckpt", os.path.join(d, "ckpt.pt"), "--tokenizer", a.tokenizer,
                    "--valid-cache", a.valid_cache, "--examples", str(a.eval_examples), "--threads", str(a.threads),
                    "--device", a.device, "--amp", a.amp, "--out", eval_json]
        done = os.path.exists(eval_json) and os.path.exists(os.path.join(d, "done"))
        if done:
            print(f"[ablation] {n}: finished earlier, skipping (delete {d} to rerun)")
        else:
            run(train_cmd, out_log)
            run(eval_cmd, out_log)
            with open(os.path.join(d, "done"), "w") as f:
                f.write(f"{time.time() - t0:.0f}\n")
        with open(os.path.join(d, "run.json")) as f:
            info = json.load(f)
        with open(eval_json) as f:
            ev = json.load(f)
        last = last_train_record(os.path.join(d, "log.jsonl"))
        depths = "→".join(str(p.split("x")[0]) for p in phases.split(","))
        r = {"name": n, "label": c["label"], "train_args": c["args"], "phases": phases, "depths": depths,
             "groups": info["groups"], "tied_sublayer": info.get("tied_sublayer"), "param_counts": info["param_counts"],
             "steps": ev["step"], "tokens": ev["tokens"], "train_seconds": ev["train_seconds"],
             "tokens_per_train_second": round(ev["tokens"] / max(ev["train_seconds"], 1e-9)),
             "final_train_mlm_loss": last["mlm_loss"] if last else None,
             "mlm_loss": ev["mlm_loss"], "mlm_top1": ev["mlm_top1"], "single_token_mlm_top1": ev["single_token_mlm_top1"],
             "sop_acc": ev["sop_acc"], "sop_loss": ev["by_depth"][str(ev["trained_layers"])]["ngram"]["sop_loss"],
             "masked_tokens": ev["by_depth"][str(ev["trained_layers"])]["ngram"]["masked_tokens"],
             "fill_mask_top1": {x["text"]: x["predictions"][0][0]["token"] for x in ev["fill_mask"]},
             "wall_seconds": int(open(os.path.join(d, "done")).read().split()[0]),
             "commands": {"train": " ".join(train_cmd[1:]), "evaluate": " ".join(eval_cmd[1:])}}
        runs.append(r)
        print(f"[ablation] {n}: {r['steps']} steps, {r['tokens'] / 1e6:.2f} M tokens in {r['train_seconds']:.0f} s; "
              f"valid MLM loss {r['mlm_loss']:.3f}, top-1 {r['mlm_top1']:.4f}, SOP {r['sop_acc']:.4f} "
              f"(encoder {r['param_counts']['encoder'] / 1e6:.3f} M unique parameters)", flush=True)

    import torch

    res = {"meta": {"budget_seconds": a.budget_seconds, "base_phases": a.phases, "eval_examples": a.eval_examples,
                    "layers": int(a.phases.split(",")[-1].split("x")[0]), "device": a.device if a.device != "cpu" else
                    f"CPU ({platform.processor() or platform.machine()}, {os.cpu_count()} cores visible)",
                    "threads": a.threads, "amp": a.amp, "seed": a.seed, "torch": torch.__version__,
                    "recipe": " ".join(recipe), "started": started,
                    "finished": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                    "wall_seconds": sum(r["wall_seconds"] for r in runs), "results": os.path.abspath(a.results)},
           "runs": runs}
    os.makedirs(os.path.dirname(os.path.abspath(a.results)), exist_ok=True)
    out = dict(res)
    out["meta"] = {**res["meta"], "results": os.path.relpath(a.results, HERE)}
    with open(a.results, "w") as f:
        json.dump(out, f, indent=1, ensure_ascii=False)
    print(f"[ablation] results → {a.results}")
    print(table(res))
    if a.readme:
        write_readme(res, a.readme)


if __name__ == "__main__":
    main()
