"""Where train.py's model comes from and where it is kept.

A run starts from one of three places: a fresh model built from the recipe's arguments (with its
initialization options), the full checkpoint in --out (weights, Adam's moments, the sampler's and
torch's random state: the run continues as if never stopped), or, when --out has none, the compact
checkpoint in --commit-dir that a session commits (weights and counters only: compact.py; the
learning rate re-warms from its step). `save` writes the full one atomically (a run stopped
mid-write resumes from the previous one) and the compact one file by file, as compact.py does.
"""

from __future__ import annotations

import os
from types import SimpleNamespace

import torch
from transformers import AlbertConfig

import compact
import schedule
from model import SHARE_KEY, build_config, new_model, share_config, sinusoids

CKPT = "ckpt.pt"


def full_path(a) -> str:
    """The full checkpoint's file: --out/ckpt.pt."""
    return os.path.join(a.out, CKPT)


def fresh_model(a, vocab: int, phases: list[dict], eval_seq: int):
    """(config, model) as the arguments describe them, seeded with --seed. ValueError when --share
    cannot fit the phases' depths."""
    groups, tie = share_config(a.share, a.groups, phases[-1]["layers"])
    if tie and any(p["layers"] % groups for p in phases):
        raise ValueError(f"--share {a.share} has one group per layer: every phase must run {groups} layers (or a multiple)")
    cfg = build_config(vocab, a.embedding, a.hidden, a.heads, a.ffn, phases[-1]["layers"], groups, a.inner,
                       a.max_pos or max(128, eval_seq))
    if tie:
        setattr(cfg, SHARE_KEY, tie)
    cfg.initializer_range = a.init_range
    torch.manual_seed(a.seed)
    model = new_model(cfg)
    if a.mapping_init:
        torch.nn.init.normal_(model.albert.encoder.embedding_hidden_mapping_in.weight, std=a.mapping_init)
    if a.qk_init:
        for n, p_ in model.named_parameters():
            if n.endswith(("attention.query.weight", "attention.key.weight")):
                torch.nn.init.normal_(p_, std=a.qk_init)
    if a.pos_init == "sinusoidal":
        with torch.no_grad():
            w = model.albert.embeddings.position_embeddings.weight
            w.copy_(sinusoids(w.shape[0], w.shape[1]) * ((a.pos_init_std or a.init_range) / (0.5 ** 0.5)))
    return cfg, model


def resume(a, log) -> tuple[dict | None, object | None, dict]:
    """(the full checkpoint or None, the resumed model or None, the counters to continue from).

    Without --resume, or with nothing to resume from, (None, None, {}): the run starts fresh. From a
    compact checkpoint the counters carry `rewarm_from`, the step the optimizer's moments restart at."""
    if not a.resume:
        return None, None, {}
    path = full_path(a)
    if os.path.exists(path):
        ck = torch.load(path, map_location="cpu", weights_only=False)
        model = new_model(AlbertConfig.from_dict(ck["config"]))
        model.load_state_dict(ck["model"])
        counters = dict(ck["state"])
        # The checkpoint's own arguments, where it has them, over today's: its schedule as it ran.
        before = SimpleNamespace(**{**vars(a), **ck.get("args", {})})
        rates = schedule.raised(before, a, counters)
        if rates:
            counters["rewarm_from"] = counters["step"]
            then, now = rates
            log(f"[train] the schedule now asks for a rate of {now:.3g} where the checkpoint last trained at "
                f"{then:.3g} (a budget raised after its decay began, or a higher --lr): it re-warms over "
                f"{a.rewarm_steps} steps")
        return ck, model, counters
    if a.commit_dir and compact.exists(a.commit_dir):
        model, counters = compact.load(a.commit_dir, new_model)
        counters["rewarm_from"] = counters["step"]
        log(f"[train] resumed weights and counters from {a.commit_dir} (compact: no optimizer moments, "
            f"re-warming the learning rate over {a.rewarm_steps} steps)")
        return None, model, counters
    return None, None, {}


def save(a, cfg, model, opt, state: dict, sampler_state: dict | None, phases: list[dict]) -> None:
    """The full checkpoint in --out and, with --commit-dir, the compact one there."""
    ck = {"config": cfg.to_dict(), "model": model.state_dict(), "optimizer": opt.state_dict(), "state": state,
          "sampler": sampler_state, "torch_rng": torch.get_rng_state(), "args": vars(a), "phases": phases}
    path = full_path(a)
    tmp = path + ".tmp"
    torch.save(ck, tmp)
    os.replace(tmp, path)
    if a.commit_dir:
        compact.save(a.commit_dir, model, cfg, state, {"args": vars(a), "phases": phases}, a.tokenizer)
