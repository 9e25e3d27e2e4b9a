#!/usr/bin/env python3
"""Ours (`albert bench`, wgpu GPU path and CPU path) vs PyTorch + transformers AlbertForMaskedLM,
same weights, same token ids, same machine, one process tree. Run through `bench/compare`.

Steps (each timed; the timings land in the results JSON under "harness"):
  1. build target/release/albert if it is missing or older than the sources (`bench/compare` does it);
  2. create once, under bench/.cache/, a random-init albert-base-v2-shaped AlbertForMaskedLM
     (seed 0, transformers' own init) saved with save_pretrained (safetensors): an f32 folder and
     an f16 folder (the same weights rounded), plus a tokenizer so `albert fill` can read them;
  3. load those files into torch (state dict into a config-built model, never from_pretrained,
     which in transformers 4.46.3 zeroes the tied predictions.bias of f32 checkpoints) and check
     once that `albert fill --json --logits` gives torch's logits within --tol (same weights);
  4. `albert bench --model <folder> --json` per device and dtype (ours);
  5. torch forwards on the same ids (bench.rs `batch()`), eager and sdpa attention, f32 and f16,
     1 thread and all cores (and CUDA with --cuda), warm-up then timed runs, p50/p90;
  6. write bench/results/<date>-<host>.json and the table in bench/README.md between
     <!-- table:start --> and <!-- table:end -->.

`--render RESULTS.json` only redoes step 6 from a saved results file.
"""

import argparse
import datetime
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
CACHE = os.path.join(HERE, ".cache")
RESULTS = os.path.join(HERE, "results")
# ALBERT_BIN: a binary built elsewhere (e.g. with its own CARGO_TARGET_DIR; with BENCH_NO_BUILD=1).
BIN = os.environ.get("ALBERT_BIN") or os.path.join(REPO, "target", "release", "albert")
SHARED = os.environ.get("ALBERT_SHARED_DATA", os.path.abspath(os.path.join(REPO, "..", "shared", "data")))
TOKENIZER_DIRS = [
    os.path.join(SHARED, "albert-base-v2-tokenizer"),  # the real albert-base-v2 vocabulary
    os.path.join(REPO, "crates", "albert", "tests", "fixtures", "vocab"),  # tiny fallback (ids < 1000)
]

# The workload (shared with bench.rs), the machine's facts and the table live in bench/compare.d/.
sys.path.insert(0, os.path.join(HERE, "compare.d"))
from machine import all_cores, cpu_model, loadavg, mem_gib, real_gpu_present, sh  # noqa: E402
from table import render, write_readme  # noqa: E402
from workload import BASE_V2, SEED, bench_ids, flops, stats  # noqa: E402

VERIFY_TEXT = "The capital of France is [MASK]."
# --verify-long: 371 tokens with albert-base-v2's tokenizer, so the same-weights check also
# covers the kernels only long inputs run (on real GPUs: the 64×64 tiles split over K, past the
# wide gemv's rows; crates/albert/src/gpu/choice.rs).
VERIFY_LONG = " ".join(["The river that runs through the old city is wide and slow, and its bridges are made of stone."] * 17
                       + ["In the end the travellers reached the [MASK] before night fell."])

# ---------------------------------------------------------------------------------------------
# helpers


def log(msg):
    print(f"[compare {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# the model: created once, cached


def model_dirs():
    return {d: os.path.join(CACHE, f"albert-base-v2-random-{d}") for d in ("f32", "f16")}


def ensure_model():
    """Create bench/.cache/albert-base-v2-random-{f32,f16}/ once. Returns {dtype: dir}."""
    import torch
    import transformers
    from transformers import AlbertConfig, AlbertForMaskedLM

    dirs = model_dirs()
    done = all(os.path.exists(os.path.join(d, "model.safetensors")) and os.path.exists(os.path.join(d, "bench-model.json")) for d in dirs.values())
    if not done:
        log(f"creating the random albert-base-v2-shaped model (seed {SEED}) under {CACHE}")
        torch.manual_seed(SEED)
        model = AlbertForMaskedLM(AlbertConfig(**BASE_V2)).eval()
        for dt, d in dirs.items():
            if os.path.isdir(d):
                shutil.rmtree(d)
            m = model if dt == "f32" else AlbertForMaskedLM(AlbertConfig(**BASE_V2)).eval()
            if dt == "f16":
                m.load_state_dict(model.state_dict())
                m = m.half()
            m.save_pretrained(d, safe_serialization=True)
            tok_src = next((t for t in TOKENIZER_DIRS if os.path.exists(os.path.join(t, "tokenizer.json")) or os.path.exists(os.path.join(t, "spiece.model"))), None)
            for name in ("tokenizer.json", "spiece.model"):
                if tok_src and os.path.exists(os.path.join(tok_src, name)):
                    shutil.copyfile(os.path.join(tok_src, name), os.path.join(d, name))
            meta = dict(seed=SEED, dtype=dt, config=BASE_V2, torch=torch.__version__, transformers=transformers.__version__, tokenizer_from=tok_src,
                        note="transformers' random init (initializer_range 0.02); f16 = the f32 weights rounded")
            with open(os.path.join(d, "bench-model.json"), "w") as f:
                json.dump(meta, f, indent=1)
        del model
    return dirs


def torch_model(folder, attn, dtype, device):
    """The saved files in a config-built model (not from_pretrained: see the module docstring)."""
    import torch
    from safetensors.torch import load_file
    from transformers import AlbertConfig, AlbertForMaskedLM

    model = AlbertForMaskedLM(AlbertConfig(**BASE_V2, attn_implementation=attn))
    sd = load_file(os.path.join(folder, "model.safetensors"))
    missing, unexpected = model.load_state_dict(sd, strict=False)
    # save_pretrained drops the tied decoder weight/bias (same Parameters as the word embeddings
    # and predictions.bias): nothing else may be missing.
    allowed = {"predictions.decoder.weight", "predictions.decoder.bias"}
    if unexpected or set(missing) - allowed:
        raise RuntimeError(f"{folder}: missing {missing}, unexpected {unexpected}")
    model.tie_weights()
    assert model.predictions.decoder.weight is model.albert.embeddings.word_embeddings.weight
    assert model.predictions.decoder.bias is model.predictions.bias
    model = model.eval().to(device=device, dtype={"f32": torch.float32, "f16": torch.float16}[dtype])
    cls = type(model.albert.encoder.albert_layer_groups[0].albert_layers[0].attention).__name__
    return model, cls


# ---------------------------------------------------------------------------------------------
# ours


def run_albert(args, timeout=None, env=None):
    t = time.perf_counter()
    p = subprocess.run([BIN] + args, capture_output=True, text=True, timeout=timeout, env=env)
    wall = time.perf_counter() - t
    if p.returncode != 0:
        raise RuntimeError(f"albert {' '.join(args)} exited {p.returncode}: {p.stderr.strip()[-2000:]}")
    return json.loads(p.stdout), wall


def verify(dirs, devices, tol, texts=(VERIFY_TEXT,)):
    """Our fill logits == torch's (eager, f32, CPU) on the same ids: proves the same weights."""
    import torch

    folder = dirs["f32"]
    has_tok = os.path.exists(os.path.join(folder, "tokenizer.json")) or os.path.exists(os.path.join(folder, "spiece.model"))
    if not has_tok:
        return dict(ok=None, reason="no tokenizer found (looked in " + ", ".join(TOKENIZER_DIRS) + ")")
    model, _ = torch_model(folder, "eager", "f32", "cpu")
    out = dict(text=texts[0], long=len(texts) > 1, tol=tol, checks=[])
    ok = True
    for dev, text in ((d, t) for t in texts for d in devices):
        v, wall = run_albert(["fill", "--model", folder, "--text", text, "--json", "--logits", "--device", dev])
        ids = torch.tensor([v["ids"]])
        tt = torch.tensor([v["token_type_ids"]])
        with torch.inference_mode():
            ref = model(input_ids=ids, token_type_ids=tt, attention_mask=torch.ones_like(ids)).logits[0]
        for m in v["masks"]:
            ours = torch.tensor(m["logits"])
            theirs = ref[m["position"]]
            diff = (ours - theirs).abs().max().item()
            top_ours = torch.topk(ours, 5).indices.tolist()
            top_theirs = torch.topk(theirs, 5).indices.tolist()
            good = diff <= tol and top_ours == top_theirs
            ok &= good
            out["checks"].append(dict(device=dev, adapter=v.get("device"), tokens=len(v["ids"]), position=m["position"], max_abs_diff=diff,
                                      max_abs_logit=theirs.abs().max().item(), top5_equal=top_ours == top_theirs, ok=good, fill_wall_s=wall))
            log(f"verify {dev}, {len(v['ids'])} tokens: max |ours - torch| = {diff:.2e} over {len(ours)} logits (max |logit| {theirs.abs().max().item():.3f}), top-5 equal: {top_ours == top_theirs}")
    out["ok"] = ok
    return out


def ours(dirs, devices, dtypes, seq, runs, warmup, threads):
    """One `albert bench` per device, dtype (and, on the CPU, thread count: `albert bench
    --threads`, the size of the CPU path's rayon pool)."""
    reports = []
    for dt in dtypes:
        for dev in devices:
            if dev == "cpu" and dt == "f16":
                # The CPU path widens f16 weights to f32 at load: the same arithmetic as f32.
                reports.append(dict(device=dev, dtype=dt, skipped="the CPU path widens f16 weights to f32 at load (same math as the f32 row)"))
                continue
            for nt in (threads or [None]) if dev == "cpu" else [None]:
                env = dict(os.environ)
                what = f"ours {dev} {dt}" + (f" {nt}t" if nt else "")
                log(f"{what}: albert bench n={','.join(map(str, seq))} runs={runs} warmup={warmup}")
                try:
                    rep, wall = run_albert(["bench", "--model", dirs[dt], "--json", "--device", dev, "--seq", ",".join(map(str, seq)),
                                            "--runs", str(runs), "--warmup", str(warmup)] + (["--threads", str(nt)] if nt else []), env=env)
                except Exception as e:
                    log(f"{what} failed: {e}")
                    reports.append(dict(device=dev, dtype=dt, threads=nt, error=str(e)))
                    continue
                for r in rep["rows"]:
                    g = f", GPU time p50 {r['gpu_p50_ms']:.2f} ms" if r.get("gpu_p50_ms") is not None else ""
                    log(f"  {what} n={r['seq_len']}: p50 {r['p50_ms']:.2f} ms, p90 {r['p90_ms']:.2f} ms{g} ({r['adapter']})")
                reports.append(dict(device=dev, dtype=dt, threads=nt, wall_s=wall, report=rep))
    return reports


# ---------------------------------------------------------------------------------------------
# torch


def time_torch(model, n, runs, warmup, device, full_head, max_cell_s):
    import torch

    ids = torch.tensor([bench_ids(n, BASE_V2["vocab_size"])], device=device)
    tt = torch.zeros_like(ids)
    am = torch.ones_like(ids)
    pos = n // 2

    def forward():
        if full_head:
            logits = model(input_ids=ids, token_type_ids=tt, attention_mask=am).logits[:, pos]
        else:
            # What ours computes: the encoder, then the MLM head on the [MASK] row only.
            hidden = model.albert(input_ids=ids, token_type_ids=tt, attention_mask=am)[0]
            logits = model.predictions(hidden[:, pos : pos + 1])
        return logits.float().cpu()  # readback (and the CUDA sync), as ours reads its row back

    samples, capped = [], False
    with torch.inference_mode():
        for _ in range(warmup):
            forward()
        for i in range(runs):
            t = time.perf_counter()
            forward()
            samples.append((time.perf_counter() - t) * 1e3)
            # A slow configuration (f16 matmuls on a CPU without f16 units) gets fewer runs.
            if sum(samples) / 1e3 > max_cell_s and i + 1 < runs:
                capped = True
                break
    r = dict(seq_len=n, runs=len(samples), samples_ms=samples, **stats(samples))
    r["gflop"] = flops(n, 1 if not full_head else n) / 1e9
    r["gflops"] = r["gflop"] / (r["p50_ms"] * 1e-3)
    if capped:
        r["capped"] = f"stopped after {len(samples)} of {runs} runs (--max-cell-s {max_cell_s})"
    return r


def torch_rows(dirs, dtypes, attns, seq, runs, warmup, threads, cuda, full_head, max_cell_s):
    import torch

    rows = []
    targets = [("cpu", t) for t in threads]
    if cuda and torch.cuda.is_available():
        targets.append(("cuda", None))
    for dt in dtypes:
        for dev, nt in targets:
            for attn in attns:
                label = dict(device=dev, dtype=dt, attn=attn, threads=nt)
                try:
                    if nt:
                        torch.set_num_threads(nt)
                    model, cls = torch_model(dirs[dt], attn, dt, dev)
                except Exception as e:
                    rows.append(dict(label, error=f"{type(e).__name__}: {e}"))
                    log(f"torch {dev} {dt} {attn} {nt or ''}t: n/a ({e})")
                    continue
                for n in seq:
                    try:
                        r = time_torch(model, n, runs, warmup, dev, full_head, max_cell_s)
                        log(f"  torch {dev} {dt} {attn} {str(nt) + 't' if nt else ''} n={n}: p50 {r['p50_ms']:.2f} ms, p90 {r['p90_ms']:.2f} ms" + (f" ({r['capped']})" if "capped" in r else ""))
                        rows.append(dict(label, attention_class=cls, **r))
                    except Exception as e:
                        msg = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
                        log(f"  torch {dev} {dt} {attn} n={n}: n/a ({msg})")
                        rows.append(dict(label, seq_len=n, error=msg))
                del model
    if cuda and not torch.cuda.is_available():
        rows.append(dict(device="cuda", error="torch.cuda.is_available() is False"))
    if threads:
        torch.set_num_threads(max(threads))
    return rows

# ---------------------------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(prog="bench/compare", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seq", help="sequence lengths (default 8,32,128,512; --quick: 8,32)")
    ap.add_argument("--runs", type=int, help="timed runs per cell (default 10; --quick: 3)")
    ap.add_argument("--warmup", type=int, help="warm-up forwards per cell (default 2; --quick: 1)")
    ap.add_argument("--devices", default="cpu,gpu", help="ours: cpu,gpu (gpu = the wgpu adapter; lavapipe without a GPU)")
    ap.add_argument("--dtypes", default="f32,f16", help="weights dtypes: f32,f16")
    ap.add_argument("--attn", default="eager,sdpa", help="torch attn_implementation: eager,sdpa")
    ap.add_argument("--threads", default="1,all", help="CPU threads, both sides (torch.set_num_threads, albert bench --threads): e.g. 1,all or 1,2")
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--quick", action="store_true", help="n=8,32, 3 runs, 1 warm-up (default when no real GPU is found)")
    g.add_argument("--full", action="store_true", help="the full sizes even without a real GPU")
    ap.add_argument("--cuda", action="store_true", help="also time torch on CUDA (ours runs on its wgpu/Vulkan adapter)")
    ap.add_argument("--no-torch-cpu", action="store_true", help="skip torch on the CPU (e.g. with --cuda on a big machine)")
    ap.add_argument("--full-head", action="store_true", help="torch computes all n×V logits (AlbertForMaskedLM.forward) instead of the [MASK] row")
    ap.add_argument("--max-cell-s", type=float, default=120.0, help="stop timing a torch cell early past this many seconds (default 120)")
    ap.add_argument("--tol", type=float, default=1e-3, help="same-weights check: max |ours - torch| logit (default 1e-3)")
    ap.add_argument("--no-verify", action="store_true", help="skip the same-weights check")
    ap.add_argument("--verify-long", action="store_true", help="also check a 371-token input (the kernels long inputs run)")
    ap.add_argument("--no-readme", action="store_true", help="do not touch bench/README.md")
    ap.add_argument("--out", help="results JSON path (default bench/results/<date>-<host>.json)")
    ap.add_argument("--render", metavar="RESULTS_JSON", help="only regenerate the README table from a results file")
    a = ap.parse_args()

    if a.render:
        with open(a.render) as f:
            res = json.load(f)
        res["results_file"] = os.path.abspath(a.render)
        write_readme(render(res))
        log(f"README table regenerated from {a.render}")
        return 0

    import torch
    import transformers

    t_all = time.perf_counter()
    harness = {}
    cmd = os.environ.get("BENCH_COMMAND") or " ".join(["bench/compare.py"] + sys.argv[1:])
    gpu = real_gpu_present()
    quick = a.quick or (not a.full and not gpu)
    if quick and not a.quick:
        log("no real GPU found (no CUDA device): --quick sizes by default (use --full for all)")
    seq = [int(x) for x in (a.seq or ("8,32" if quick else "8,32,128,512")).split(",")]
    runs = a.runs if a.runs is not None else (3 if quick else 10)
    warmup = a.warmup if a.warmup is not None else (1 if quick else 2)
    devices = [d for d in a.devices.split(",") if d]
    dtypes = [d for d in a.dtypes.split(",") if d]
    attns = [x for x in a.attn.split(",") if x]
    cores = all_cores()
    threads = [] if a.no_torch_cpu else sorted({cores if t == "all" else int(t) for t in a.threads.split(",") if t})
    bad = [d for d in devices if d not in ("cpu", "gpu")] + [d for d in dtypes if d not in ("f32", "f16")] + [x for x in attns if x not in ("eager", "sdpa")]
    if bad or not seq or min(seq) < 1 or max(seq) > BASE_V2["max_position_embeddings"] or runs < 1:
        ap.error(f"bad value(s): {bad or seq}")
    if not os.path.exists(BIN):
        ap.error(f"{BIN} is missing: run `cargo build --release -p albert-cli` (bench/compare does)")

    host = socket.gethostname().split(".")[0]
    now = datetime.datetime.now(datetime.timezone.utc)
    machine = dict(cpu=cpu_model(), cores=cores, logical_cpus=os.cpu_count(), mem_gib=mem_gib(), host=host,
                   os=f"{platform.system()} {platform.release()}", loadavg_before=loadavg())
    # BENCH_GIT names the code where the tree has no .git (a copy sent to a lent GPU machine).
    git = os.environ.get("BENCH_GIT") or sh(["git", "-C", REPO, "rev-parse", "--short", "HEAD"])
    dirty = "" if os.environ.get("BENCH_GIT") else sh(["git", "-C", REPO, "status", "--porcelain", "--untracked-files=no"])
    versions = dict(torch=torch.__version__, transformers=transformers.__version__, python=platform.python_version(),
                    git=f"{git}{' + uncommitted changes' if dirty else ''}", albert=sh([BIN, "--version"]))
    if a.cuda and torch.cuda.is_available():
        versions["cuda_device"] = torch.cuda.get_device_name(0)
    log(f"seq {seq}, runs {runs}, warm-up {warmup}, ours on {devices}, dtypes {dtypes}, torch attn {attns}, torch CPU threads {threads}{', CUDA' if a.cuda else ''}")

    t = time.perf_counter()
    dirs = ensure_model()
    harness["model cache"] = time.perf_counter() - t

    verify_res = None
    if not a.no_verify:
        t = time.perf_counter()
        torch.set_num_threads(1)
        verify_res = verify(dirs, devices, a.tol, (VERIFY_TEXT, VERIFY_LONG) if a.verify_long else (VERIFY_TEXT,))
        harness["same-weights check"] = time.perf_counter() - t
        if verify_res.get("ok") is False:
            log("the same-weights check FAILED: ours and torch disagree (see verify in the results)")

    t = time.perf_counter()
    ours_res = ours(dirs, devices, dtypes, seq, runs, warmup, threads)
    harness["ours"] = time.perf_counter() - t

    t = time.perf_counter()
    torch_res = torch_rows(dirs, dtypes, attns, seq, runs, warmup, threads, a.cuda, a.full_head, a.max_cell_s)
    harness["torch"] = time.perf_counter() - t
    harness["total"] = time.perf_counter() - t_all
    machine["loadavg_after"] = loadavg()

    os.makedirs(RESULTS, exist_ok=True)
    out = a.out
    if not out:
        out = os.path.join(RESULTS, f"{now.strftime('%Y-%m-%d')}-{host}.json")
        k = 2
        while os.path.exists(out):  # never overwrite an earlier run of the same day
            out = os.path.join(RESULTS, f"{now.strftime('%Y-%m-%d')}-{host}-{k}.json")
            k += 1
    res = dict(date=now.strftime("%Y-%m-%d %H:%M UTC"), command=cmd, machine=machine, versions=versions,
               settings=dict(seq=seq, runs=runs, warmup=warmup, devices=devices, dtypes=dtypes, attn=attns, threads=threads,
                             cuda=a.cuda, quick=quick, full_head=a.full_head, max_cell_s=a.max_cell_s, batch=1, seed=SEED,
                             ids="bench.rs batch(): [CLS]=2, 5 + i·7919 mod (V-5), [MASK]=4 at n/2, [SEP]=3 last; token types 0; mask 1"),
               verify=verify_res, ours=ours_res, torch=torch_res, harness=harness, results_file=os.path.abspath(out))
    with open(out, "w") as f:
        json.dump({k: v for k, v in res.items() if k != "results_file"}, f, indent=1)
    log(f"wrote {os.path.relpath(out, REPO)}")
    table = render(res)
    print(table)
    if not a.no_readme:
        write_readme(table)
        log("updated the table in bench/README.md")
    return 1 if verify_res and verify_res.get("ok") is False else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception:
        traceback.print_exc()
        sys.exit(1)
