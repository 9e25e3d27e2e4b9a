"""ALBERT pretraining (MLM + SOP), time-budgeted, with a depth and sequence-length curriculum.

Single process (CPU or one GPU):
    python train.py --tokenizer data/tok8k/tokenizer.json --train-cache data/train8k.npz \
        --valid-cache data/valid8k.npz --out runs/base --budget-seconds 1200 --device cpu
Several GPUs (DDP; every rank draws its own examples, the global batch is batch × ranks):
    torchrun --nproc_per_node 8 train.py ... --device cuda
Resume after an interruption or to continue with a larger budget: the same command plus --resume.

The schedule (learning rate, curriculum phase) is a function of *progress* in [0, 1], the largest
of elapsed training seconds / --budget-seconds, tokens / --budget-tokens and steps / --max-steps
(whichever are given), so a run ends on time with its learning rate decayed.

--phases "2x64x32t@0.1,2x64x32@0.3,4x128x32@1" means: until 10% of the budget run the shared
block 2 times on 64-token examples, 32 per batch (per rank), masking single tokens (the `t`);
until 30% the same with ALBERT's n-gram masking; then 4 times on 128-token examples. ALBERT shares
the block across depth, so the shallow model's weights *are* the deep model's weights.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sys
import time

import numpy as np
import torch
import torch.distributed as dist

import checkpoint
import corpus
import data
import run_log
from model import Pretrain, SHARE_KEY, evaluate, param_counts, resolve_amp, set_depth, autocast, weight_decay_split
from schedule import lr_at, parse_phases, phase_at, progress_of


def get_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tokenizer", required=True)
    ap.add_argument("--train-cache", required=True, help=".npz from corpus.py (built with --train-fraction if missing)")
    ap.add_argument("--train-fraction", type=float, default=0.25)
    ap.add_argument("--train-max-chars", type=int, default=None)
    ap.add_argument("--valid-cache", default=None, help=".npz of gutenberg-valid (built if missing)")
    ap.add_argument("--valid-max-chars", type=int, default=None)
    ap.add_argument("--out", required=True)
    # Model.
    ap.add_argument("--embedding", type=int, default=128)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--ffn", type=int, default=None, help="default 4 × hidden")
    ap.add_argument("--groups", type=int, default=1, help="num_hidden_groups (1 = all layers share one block)")
    ap.add_argument("--inner", type=int, default=1, help="inner_group_num")
    ap.add_argument("--share", choices=["all", "none", "attention", "ffn"], default=None,
                    help="parameter sharing across layers (instead of --groups): all = one block (groups 1), none = "
                         "groups = layers, attention / ffn = groups = layers with one shared attention / FFN sublayer "
                         "and per-layer other sublayers (an experiment outside HF's format; export.py unties it)")
    ap.add_argument("--max-pos", type=int, default=None, help="max_position_embeddings (default: longest phase)")
    ap.add_argument("--init-range", type=float, default=0.02, help="initializer_range (std of the normal init)")
    ap.add_argument("--pos-init", choices=["normal", "sinusoidal"], default="normal",
                    help="position embeddings' initial values: normal(0, initializer_range) as HF, or sinusoids "
                         "(Vaswani et al.) scaled to std --pos-init-std; still learned, still HF's format")
    ap.add_argument("--pos-init-std", type=float, default=None, help="std of the sinusoidal init (default initializer_range)")
    ap.add_argument("--qk-init", type=float, default=None, help="std of the attention query/key weights (default initializer_range)")
    ap.add_argument("--mapping-init", type=float, default=None,
                    help="std of embedding_hidden_mapping_in (E→H); default: initializer_range. 1/sqrt(E) gives the "
                         "first layer unit-scale input, as BERT's LayerNormed embeddings have")
    # Schedule.
    ap.add_argument("--phases", default="2x64x32@0.3,4x128x32@1")
    ap.add_argument("--budget-seconds", type=float, default=None)
    ap.add_argument("--budget-tokens", type=float, default=None)
    ap.add_argument("--max-steps", type=int, default=None)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--warmup-steps", type=int, default=200)
    ap.add_argument("--decay", choices=["linear", "cosine", "wsd", "constant"], default="linear")
    ap.add_argument("--decay-fraction", type=float, default=0.15, help="wsd: the last fraction of the budget that decays")
    ap.add_argument("--rewarm-steps", type=int, default=300,
                    help="after resuming from --commit-dir (no optimizer moments), warm the learning rate up over N steps")
    # Loss: MLM + sop_weight · SOP.
    ap.add_argument("--sop-weight", type=float, default=1.0,
                    help="weight of the SOP loss against the MLM loss (ALBERT: 1)")
    ap.add_argument("--sop-pairs", choices=data.PAIR_MODES, default="any",
                    help="any: ALBERT's pairs (segments meet between sentences or inside a long one); "
                         "between: only pairs that meet between two sentences; symmetric: whole sentences grown "
                         "alternately from a boundary, so the segments' lengths do not tell the order")
    # Masking.
    ap.add_argument("--mask-prob", type=float, default=0.15, help="fraction of tokens predicted")
    ap.add_argument("--mask-replace", choices=data.REPLACE_MODES, default="bert",
                    help="bert: [MASK] 80%%, random 10%%, kept 10%%; mask: always [MASK]")
    ap.add_argument("--eval-masking", choices=["ngram", "single"], default="ngram",
                    help="validation masks: the training sampler's n-gram masks, or 15%% single tokens all [MASK] "
                         "(the default model's bar)")
    ap.add_argument("--final-lr-ratio", type=float, default=0.0)
    ap.add_argument("--weight-decay", type=float, default=0.01)
    ap.add_argument("--beta2", type=float, default=0.98)
    ap.add_argument("--clip", type=float, default=1.0)
    # Machinery.
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--amp", choices=["auto", "bf16", "none"], default="auto")
    ap.add_argument("--threads", type=int, default=1, help="CPU threads for torch")
    ap.add_argument("--workers", type=int, default=None,
                    help="processes that draw examples in the background (default: 0 on CPU, 6 on CUDA, where "
                         "drawing 256 examples in the main process would take longer than a step)")
    ap.add_argument("--compile", action="store_true", help="torch.compile the training step (Inductor; on a CPU it needs a C++ compiler)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--log-every", type=int, default=20)
    ap.add_argument("--eval-every", type=int, default=200, help="steps between validation evals")
    ap.add_argument("--eval-examples", type=int, default=256)
    ap.add_argument("--eval-seq", type=int, default=None, help="validation example length (default: the longest phase's)")
    ap.add_argument("--ckpt-every", type=int, default=200)
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--session-seconds", type=float, default=None,
                    help="stop this invocation (with a checkpoint) after N seconds of training; --resume continues")
    ap.add_argument("--session-steps", type=int, default=None,
                    help="stop this invocation (with a checkpoint) after N steps, without changing the schedule")
    ap.add_argument("--commit-dir", default=None,
                    help="also keep a compact checkpoint here (f32 weights or 24 bits past compact.WEIGHTS_LIMIT, config, counters, tokenizer, the run's log "
                         "of every session), small enough to commit; --resume continues from it when --out has none")
    return ap.parse_args(argv)


def main(argv=None):
    a = get_args(argv)
    torch.set_num_threads(a.threads)
    os.environ.setdefault("RAYON_NUM_THREADS", str(a.threads))
    phases = parse_phases(a.phases)
    if not (a.budget_seconds or a.budget_tokens or a.max_steps):
        sys.exit("give a budget: --budget-seconds, --budget-tokens and/or --max-steps")
    if not 0 <= a.sop_weight < float("inf"):
        sys.exit(f"--sop-weight: expected a finite weight ≥ 0, found {a.sop_weight}")

    # Distributed (torchrun sets these); a plain `python train.py` is a world of one.
    distributed = "LOCAL_RANK" in os.environ
    rank, world, local = 0, 1, 0
    device = torch.device(a.device)
    if distributed:
        rank, world, local = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"]), int(os.environ["LOCAL_RANK"])
        if device.type == "cuda":
            torch.cuda.set_device(local)
            device = torch.device("cuda", local)
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    main_rank = rank == 0
    log = print if main_rank else (lambda *x, **k: None)
    amp = resolve_amp(a.amp, device, log)
    if distributed and a.amp == "auto" and device.type == "cpu":  # every rank trains as rank 0 measured
        choice = torch.tensor([int(amp == "bf16")])
        dist.broadcast(choice, 0)
        amp = "bf16" if choice.item() else "none"
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True

    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(a.tokenizer)
    vocab = tok.get_vocab_size()
    if main_rank and not os.path.exists(a.train_cache):
        corpus.build_cache(tok, corpus.TRAIN_XZ, a.train_fraction, a.train_cache, a.train_max_chars, log)
    if main_rank and a.valid_cache and not os.path.exists(a.valid_cache):
        corpus.build_cache(tok, corpus.VALID_XZ, 1.0, a.valid_cache, a.valid_max_chars, log)
    if distributed:
        dist.barrier()
    train_cache = corpus.TokenCache.load(a.train_cache)
    valid_examples = valid_symmetric = None
    eval_seq = a.eval_seq or max(p["seq"] for p in phases)
    if a.valid_cache and main_rank:
        valid_cache = corpus.TokenCache.load(a.valid_cache)
        valid_examples = data.fixed_eval_set(valid_cache, vocab, a.eval_examples, eval_seq)
        if a.eval_masking == "single":
            valid_examples = data.single_token_examples(valid_examples)
        # ALBERT's pairs above leak their order through the segments' lengths (data.length_rule),
        # so SOP is also scored on symmetric pairs, which do not: evaluate.py's `sop_symmetric`
        # set (same seed), its first --eval-examples pairs.
        valid_symmetric = data.fixed_eval_set(valid_cache, vocab, a.eval_examples, eval_seq, pairs="symmetric")

    os.makedirs(a.out, exist_ok=True)
    state = {"step": 0, "tokens": 0, "train_seconds": 0.0, "wall_start": time.time()}
    try:
        cfg, model = checkpoint.fresh_model(a, vocab, phases, eval_seq)
    except ValueError as e:
        sys.exit(f"train.py: {e}")
    resumed, restored, counters = checkpoint.resume(a, log)
    if restored is not None:
        model, cfg = restored, restored.config
    state.update(counters)
    rewarm_from = state.get("rewarm_from")  # a compact resume's step: the optimizer's moments start from zero there
    model.to(device)
    counts = param_counts(model)  # unique parameters: a tied tensor counts once
    n_params = counts["total"]
    n_export = n_params - sum(p.numel() for n, p in model.named_parameters() if n.startswith(("sop_classifier", "albert.pooler")))

    decay, no_decay = ([p for _, p in part] for part in weight_decay_split(model))
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": a.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=a.lr, betas=(0.9, a.beta2), eps=1e-6, fused=device.type == "cuda")
    workers = a.workers if a.workers is not None else (6 if device.type == "cuda" else 0)
    sampler_args = {"mask_prob": a.mask_prob, "replace": a.mask_replace, "pairs": a.sop_pairs}
    sampler = data.ExampleSampler(train_cache, vocab, seed=a.seed * 1000 + rank + 7919 * state["step"], **sampler_args)
    if resumed is not None:
        opt.load_state_dict(resumed["optimizer"])
        if world == 1 and resumed.get("sampler") is not None and not workers:
            sampler.set_state(resumed["sampler"])
        else:
            sampler = data.ExampleSampler(train_cache, vocab, seed=a.seed * 1000 + rank + 7919 * state["step"], **sampler_args)
        torch.set_rng_state(resumed["torch_rng"])
        log(f"[train] resumed from {checkpoint.full_path(a)} at step {state['step']}, {state['tokens'] / 1e6:.2f} M tokens, "
            f"{state['train_seconds']:.0f} s trained")

    wrapper = Pretrain(model, a.sop_weight)
    eager = wrapper
    # Inductor compiles lazily, at the first steps (and again once the masked-row count varies):
    # if that fails (no C++ compiler or Python headers on this machine), say so and train eagerly
    # rather than lose the session's run. A failure after these steps is a real error.
    compile_trial = 10 if a.compile and not distributed else 0
    if a.compile:
        wrapper = torch.compile(wrapper)
    if distributed:
        wrapper = torch.nn.parallel.DistributedDataParallel(wrapper, device_ids=[local] if device.type == "cuda" else None)

    def progress() -> float:
        p = progress_of(a, state)
        if distributed:  # every rank follows rank 0's clock
            t = torch.tensor([p], device=device, dtype=torch.float64)
            dist.broadcast(t, 0)
            p = float(t.item())
        return p

    # Background example drawing: workers read the current phase (batch, seq, n-gram) from shared
    # memory; a few batches drawn before a phase change still have the old shape, which is harmless.
    stream = None
    if workers > 0:
        shared = torch.multiprocessing.Array("i", [phases[0]["batch"], phases[0]["seq"], int(phases[0]["ngram"])])
        ds = data.BatchStream(a.train_cache, vocab, a.seed * 1000 + rank + 7919 * state["step"], shared, **sampler_args)
        stream = iter(torch.utils.data.DataLoader(ds, batch_size=None, num_workers=workers, prefetch_factor=4,
                                                  pin_memory=device.type == "cuda", persistent_workers=True))

    def next_batch(ph):
        if stream is None:
            return sampler.batch(ph["batch"], ph["seq"], ph["ngram"])
        shared[:] = [ph["batch"], ph["seq"], int(ph["ngram"])]
        return next(stream)

    def save_checkpoint():
        if main_rank:
            checkpoint.save(a, cfg, model, opt, state, sampler.state() if world == 1 and stream is None else None, phases)

    # With --commit-dir the log lives there, so the curve of every session is committed with it.
    if a.commit_dir:
        os.makedirs(a.commit_dir, exist_ok=True)
    runlog = run_log.RunLog(os.path.join(a.commit_dir or a.out, "log.jsonl") if main_rank else None)

    def session_record(event):
        runlog.event(event, state, time.time() - wall_start, threads=a.threads, world_size=world, amp=amp,
                     torch=torch.__version__, cpus=os.cpu_count(), sop_pairs=a.sop_pairs, sop_weight=a.sop_weight)

    wall_start = time.time()
    session_record("session_start")

    if main_rank and resumed is None:
        with open(os.path.join(a.out, "run.json"), "w") as f:
            json.dump({"args": vars(a), "phases": phases, "params": n_params, "params_exported": n_export, "param_counts": counts,
                       "share": a.share, "groups": cfg.num_hidden_groups, "tied_sublayer": getattr(cfg, SHARE_KEY, None),
                       "world_size": world, "amp": amp, "device": str(device), "torch": torch.__version__,
                       "train_tokens_available": train_cache.n_tokens}, f, indent=1)
    log(f"[train] {n_params / 1e6:.2f} M parameters ({n_export / 1e6:.2f} M exported), vocab {vocab}, H={cfg.hidden_size} "
        f"E={cfg.embedding_size} heads={cfg.num_attention_heads} groups={cfg.num_hidden_groups}"
        f"{'' if not getattr(cfg, SHARE_KEY, None) else ' (shared ' + getattr(cfg, SHARE_KEY) + ' sublayer)'}; "
        f"unique parameters: embeddings {counts['embeddings'] / 1e6:.3f} M, encoder {counts['encoder'] / 1e6:.3f} M, "
        f"heads {counts['heads'] / 1e6:.3f} M; device {device} × {world}, "
        f"amp {amp}; {train_cache.n_tokens / 1e6:.1f} M training tokens available; phases {a.phases}")

    def run_eval(tag=""):
        if valid_examples is None:
            return
        t0 = time.time()
        ev = evaluate(model, valid_examples, device, amp)
        sym = evaluate(model, valid_symmetric, device, amp)
        runlog.write(run_log.valid_line(state, cfg.num_hidden_layers, eval_seq, ev, sym))
        log(f"[valid{tag}] step {state['step']} L={cfg.num_hidden_layers}: mlm loss {ev['mlm_loss']:.3f} acc {ev['mlm_acc']:.3f} | "
            f"sop loss {ev['sop_loss']:.3f} acc {ev['sop_acc']:.3f}, on symmetric pairs {sym['sop_acc']:.3f} ({time.time() - t0:.0f} s)")

    model.train()
    acc = torch.zeros(6, dtype=torch.float64, device=device)
    win_t, win_tokens = 0.0, 0
    cur_phase = None
    session_start, session_step0 = state["train_seconds"], state["step"]
    finished = False
    # SIGTERM / Ctrl-C end the session cleanly: the step in flight finishes, then the checkpoint
    # (and --commit-dir) is written as at any session end, so no training is lost.
    stop = {"signal": None}

    def request_stop(signum, _frame):
        stop["signal"] = signal.Signals(signum).name
        log(f"[train] {stop['signal']}: stopping after this step")

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, request_stop)
    while True:
        if stop["signal"]:
            break
        p = progress()
        if p >= 1.0:
            finished = True
            break
        if a.session_seconds and state["train_seconds"] - session_start >= a.session_seconds:
            break
        if a.session_steps and state["step"] - session_step0 >= a.session_steps:
            break
        ph = phase_at(phases, p)
        if ph is not cur_phase:
            set_depth(model, ph["layers"])
            if cur_phase is not None:
                log(f"[train] progress {p:.2f}: phase → {ph['layers']} layers, seq {ph['seq']}, batch {ph['batch']}, "
                f"{'n-gram' if ph['ngram'] else 'single-token'} masking")
            cur_phase = ph
        lr = lr_at(a, state["step"], p, rewarm_from)
        for g in opt.param_groups:
            g["lr"] = lr
        t0 = time.time()
        batch = {k: v.to(device, non_blocking=True) for k, v in next_batch(ph).items()}
        n_tok = int(batch["attention_mask"].sum()) * world
        with autocast(device, amp):
            try:
                loss, stats = wrapper(**batch)
            except Exception as e:
                if not compile_trial:
                    raise
                log(f"[train] torch.compile failed ({type(e).__name__}: {' '.join(str(e).split())[:300]}); training eagerly")
                wrapper, compile_trial = eager, 0
                opt.zero_grad(set_to_none=True)
                loss, stats = wrapper(**batch)
        compile_trial = max(compile_trial - 1, 0)
        loss.backward()
        if a.clip:
            torch.nn.utils.clip_grad_norm_(model.parameters(), a.clip)
        opt.step()
        opt.zero_grad(set_to_none=True)
        acc += stats.double()
        if device.type == "cuda" and (state["step"] + 1) % a.log_every == 0:
            torch.cuda.synchronize()
        dt = time.time() - t0
        state["step"] += 1
        state["tokens"] += n_tok
        state["train_seconds"] += dt
        win_t += dt
        win_tokens += n_tok
        if state["step"] % a.log_every == 0:
            if distributed:
                dist.all_reduce(acc)
            rec = run_log.train_line(state, lr, ph, world, acc.cpu().numpy(), win_tokens, win_t)
            runlog.write(rec)
            log(run_log.console_line(rec), flush=True)
            acc.zero_()
            win_t, win_tokens = 0.0, 0
        if a.eval_every and state["step"] % a.eval_every == 0:
            run_eval()
        if a.ckpt_every and state["step"] % a.ckpt_every == 0:
            save_checkpoint()

    save_checkpoint()
    if not (a.eval_every and state["step"] % a.eval_every == 0):
        run_eval(" final" if finished else " session end")
    session_record("session_end")
    log(f"[train] {'done' if finished else 'paused (resume with --resume)'}: {state['step']} steps, "
        f"{state['tokens'] / 1e6:.2f} M tokens, {state['train_seconds']:.0f} s of training")
    runlog.close()
    if distributed:
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
