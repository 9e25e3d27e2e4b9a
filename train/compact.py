"""The compact checkpoint that carries training from one session to the next.

Sessions are at most a few hours and their files are gone afterwards, so what the next session
resumes from is committed: the weights (safetensors, each shared tensor once), the HF config,
the counters (step, tokens, training seconds), the recipe, the tokenizer the token caches are built
from, and the run's log. Adam's moments are not kept (they would triple the size); train.py
re-warms the learning rate over --rewarm-steps after such a resume instead.

The weights are f32 while they fit a commit (issue 11: at most 15 MB a session, `WEIGHTS_LIMIT`
for the weights): up to about 3.6 M parameters, which the shipped shape (3.1 M) is. A model past
that (regroup.py's 2 groups: 4.9 M, 19.7 MB in f32) keeps each f32 as its top 24 bits, rounded to
nearest: a bf16 tensor (sign, exponent, 7 mantissa bits) and a u8 tensor (the next 8 bits) per
name, 3 bytes a parameter. The relative error, at most 2^-16, is far below one training step's
change (the learning rate, 1e-3, times Adam's unit-sized update), and it is made once a session.

    train/default/            model.safetensors  config.json  state.json  tokenizer.json  log.jsonl
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile

import torch
from safetensors import safe_open
from safetensors.torch import load_file, load_model, save_file, save_model
from transformers import AlbertConfig

WEIGHTS, CONFIG, STATE, TOKENIZER = "model.safetensors", "config.json", "state.json", "tokenizer.json"
WEIGHTS_LIMIT = 14_500_000  # bytes of f32 weights a commit may carry (15 MB less the log, config, state)
SPLIT_KEY, SPLIT_FORMAT, LOW = "albert_lens_f32", "bf16+u8", ".low8"  # the 24-bit form's marker and suffix


def split_f32(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """An f32 tensor as (bf16 of its top 16 bits, u8 of the next 8), rounded to nearest at bit 8.
    Adding 0x80 to the bit pattern rounds the magnitude (the sign is the top bit; a carry out of
    the mantissa moves to the next exponent, as rounding should); only NaN would carry further."""
    u = x.detach().to(torch.float32).contiguous().view(torch.int32) + 0x80
    return (u >> 16).to(torch.int16).view(torch.bfloat16), ((u >> 8) & 0xFF).to(torch.uint8)


def join_f32(high: torch.Tensor, low: torch.Tensor) -> torch.Tensor:
    """The f32 tensor split_f32 kept (the lowest 8 bits zero)."""
    return ((high.view(torch.int16).to(torch.int32) << 16) | (low.to(torch.int32) << 8)).view(torch.float32)


def write_weights(model, path: str) -> None:
    """f32 safetensors (each shared tensor once); the 24-bit form when that is over WEIGHTS_LIMIT."""
    save_model(model, path)
    if os.path.getsize(path) <= WEIGHTS_LIMIT:
        return
    out = {}
    for name, x in load_file(path).items():
        out[name], out[name + LOW] = split_f32(x)
    save_file(out, path, metadata={"format": "pt", SPLIT_KEY: SPLIT_FORMAT})


def read_weights(model, path: str) -> None:
    """Loads either form into `model` (strict: every tensor, shared ones once)."""
    with safe_open(path, "pt") as f:
        form = (f.metadata() or {}).get(SPLIT_KEY)
    if form is None:
        load_model(model, path, strict=True)
        return
    if form != SPLIT_FORMAT:
        raise ValueError(f"{path}: weights stored as {form!r}; expected f32 or {SPLIT_FORMAT!r}")
    t = load_file(path)
    f32 = {n: join_f32(x, t[n + LOW]) for n, x in t.items() if not n.endswith(LOW)}
    with tempfile.TemporaryDirectory() as d:
        whole = os.path.join(d, WEIGHTS)
        save_file(f32, whole, metadata={"format": "pt"})
        load_model(model, whole, strict=True)


def missing(d: str) -> list[str]:
    """The compact checkpoint's files that folder `d` lacks."""
    return [f for f in (WEIGHTS, CONFIG, STATE) if not os.path.exists(os.path.join(d, f))]


def exists(d: str) -> bool:
    return not missing(d)


def tokenizer_for(ckpt: str | None) -> str | None:
    """The default --tokenizer of a --ckpt: a compact folder's own; None for a full checkpoint file."""
    return os.path.join(ckpt, TOKENIZER) if ckpt and os.path.isdir(ckpt) else None


def not_compact(d: str) -> str:
    """Why folder `d` cannot be read as a compact checkpoint (the refusal every --ckpt tool gives)."""
    return (f"{d} is a folder but not a compact checkpoint: expected {WEIGHTS}, {CONFIG} and {STATE} in it "
            f"(train.py's --commit-dir), found no {', '.join(missing(d))}")


def save(d: str, model, cfg, state: dict, recipe: dict, tokenizer_path: str) -> None:
    """Writes the checkpoint atomically file by file (a crash leaves the previous complete file)."""
    os.makedirs(d, exist_ok=True)

    def put(name, write):
        tmp = os.path.join(d, name + ".tmp")
        write(tmp)
        os.replace(tmp, os.path.join(d, name))

    put(WEIGHTS, lambda p: write_weights(model, p))
    put(CONFIG, lambda p: open(p, "w").write(json.dumps(cfg.to_dict(), indent=1, sort_keys=True) + "\n"))
    counters = {k: state[k] for k in ("step", "tokens", "train_seconds", "rewarm_from") if k in state}
    put(STATE, lambda p: open(p, "w").write(json.dumps({**counters, **recipe}, indent=1) + "\n"))
    if os.path.abspath(tokenizer_path) != os.path.abspath(os.path.join(d, TOKENIZER)):
        put(TOKENIZER, lambda p: shutil.copyfile(tokenizer_path, p))


def read(d: str, new_model):
    """(model, checkpoint dict) from a compact checkpoint, the dict keyed as train.py's full one
    ("config", "state", "args", "phases") less what is not kept (optimizer, sampler, RNG), so a tool
    that reads a full checkpoint reads this one the same way; `new_model` builds the module."""
    if not exists(d):
        raise ValueError(not_compact(d))
    with open(os.path.join(d, CONFIG)) as f:
        cfg = AlbertConfig.from_dict(json.load(f))  # JSON made id2label's keys strings; this makes them ints again
    model = new_model(cfg)
    read_weights(model, os.path.join(d, WEIGHTS))
    with open(os.path.join(d, STATE)) as f:
        st = json.load(f)
    counters = {k: st[k] for k in ("step", "tokens", "train_seconds") if k in st}
    return model, {"config": cfg.to_dict(), "state": counters, "args": st.get("args", {}), "phases": st.get("phases", [])}


def load(d: str, new_model):
    """(model, counters) from a compact checkpoint (what a resume needs)."""
    model, ck = read(d, new_model)
    return model, ck["state"]
