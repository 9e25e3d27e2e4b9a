"""The compact checkpoint that carries training from one session to the next.

Sessions are at most a few hours and their files are gone afterwards, so what the next session
resumes from is committed: the f32 weights (safetensors, each shared tensor once), the HF config,
the counters (step, tokens, training seconds), the recipe, the tokenizer the token caches are built
from, and the run's log. Adam's moments are not kept (they would triple the size); train.py
re-warms the learning rate over --rewarm-steps after such a resume instead.

    train/default/            model.safetensors  config.json  state.json  tokenizer.json  log.jsonl
"""

from __future__ import annotations

import json
import os
import shutil

from safetensors.torch import load_model, save_model
from transformers import AlbertConfig

WEIGHTS, CONFIG, STATE, TOKENIZER = "model.safetensors", "config.json", "state.json", "tokenizer.json"


def exists(d: str) -> bool:
    return all(os.path.exists(os.path.join(d, f)) for f in (WEIGHTS, CONFIG, STATE))


def save(d: str, model, cfg, state: dict, recipe: dict, tokenizer_path: str) -> None:
    """Writes the checkpoint atomically file by file (a crash leaves the previous complete file)."""
    os.makedirs(d, exist_ok=True)

    def put(name, write):
        tmp = os.path.join(d, name + ".tmp")
        write(tmp)
        os.replace(tmp, os.path.join(d, name))

    put(WEIGHTS, lambda p: save_model(model, p))
    put(CONFIG, lambda p: open(p, "w").write(json.dumps(cfg.to_dict(), indent=1, sort_keys=True) + "\n"))
    counters = {k: state[k] for k in ("step", "tokens", "train_seconds", "rewarm_from") if k in state}
    put(STATE, lambda p: open(p, "w").write(json.dumps({**counters, **recipe}, indent=1) + "\n"))
    if os.path.abspath(tokenizer_path) != os.path.abspath(os.path.join(d, TOKENIZER)):
        put(TOKENIZER, lambda p: shutil.copyfile(tokenizer_path, p))


def load(d: str, new_model):
    """(model, counters) from a compact checkpoint; `new_model` builds the module from the config."""
    with open(os.path.join(d, CONFIG)) as f:
        cfg = AlbertConfig.from_dict(json.load(f))
    model = new_model(cfg)
    load_model(model, os.path.join(d, WEIGHTS), strict=True)
    with open(os.path.join(d, STATE)) as f:
        st = json.load(f)
    counters = {k: st[k] for k in ("step", "tokens", "train_seconds") if k in st}
    return model, counters
