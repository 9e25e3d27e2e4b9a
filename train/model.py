"""The model: transformers' `AlbertForPreTraining` (config, initialization, sharing modes), a loss wrapper
and evaluation helpers."""

from __future__ import annotations

import contextlib
import os
import time

import torch
import torch.nn.functional as F
from torch import nn
from transformers import AlbertConfig, AlbertForPreTraining

import compact
import corpus
import data


def build_config(vocab_size: int, embedding: int = 128, hidden: int = 256, heads: int = 4, ffn: int | None = None,
                 layers: int = 4, groups: int = 1, inner: int = 1, max_pos: int = 512, act: str = "gelu_new") -> AlbertConfig:
    return AlbertConfig(
        vocab_size=vocab_size,
        embedding_size=embedding,
        hidden_size=hidden,
        num_attention_heads=heads,
        intermediate_size=ffn or 4 * hidden,
        num_hidden_layers=layers,
        num_hidden_groups=groups,
        inner_group_num=inner,
        hidden_act=act,
        max_position_embeddings=max_pos,
        type_vocab_size=2,
        initializer_range=0.02,
        layer_norm_eps=1e-12,
        # No dropout: the model sees each token at most about once (ALBERT §4.9 removes it too).
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
        classifier_dropout_prob=0.0,
        pad_token_id=corpus.PAD,
        bos_token_id=corpus.CLS,
        eos_token_id=corpus.SEP,
        architectures=["AlbertForPreTraining"],
    )


# Sublayer sharing beyond HF's groups (the ALBERT paper's Table 4 ablation). HF's layout expresses
# all-shared (num_hidden_groups=1), G groups and not-shared (groups = layers); "attention" and
# "ffn" are an experiment on top of the not-shared layout: a groups = layers model whose AlbertLayer
# instances reuse layer 0's attention sublayer (query/key/value, output dense, its LayerNorm) or
# its FFN sublayer (ffn, ffn_output, full_layer_layer_norm) as the *same module objects*. The model
# still runs in transformers' code; model.parameters() yields each shared tensor once (so the
# optimizer, clipping and parameter counts see unique parameters), and state_dict() lists it under
# every layer's name (so an untied export is the not-shared HF layout, see export.py). The mode is
# kept in the config as `albert_lens_share` and re-applied by new_model, so checkpoints reload tied.
SHARE_KEY = "albert_lens_share"
SUBLAYERS = {"attention": ("attention",), "ffn": ("ffn", "ffn_output", "full_layer_layer_norm")}


def share_mode(cfg: AlbertConfig) -> str | None:
    return getattr(cfg, SHARE_KEY, None)


def tie_sublayers(model: AlbertForPreTraining, mode: str) -> None:
    """Makes every layer group's AlbertLayer use group 0's `mode` sublayer (same module objects)."""
    cfg = model.config
    if cfg.num_hidden_groups != cfg.num_hidden_layers or cfg.inner_group_num != 1:
        raise ValueError(f"--share {mode} needs num_hidden_groups = num_hidden_layers and inner_group_num = 1, got "
                         f"{cfg.num_hidden_groups} groups, {cfg.num_hidden_layers} layers, inner {cfg.inner_group_num}")
    layers = [g.albert_layers[0] for g in model.albert.encoder.albert_layer_groups]
    for layer in layers[1:]:
        for name in SUBLAYERS[mode]:
            setattr(layer, name, getattr(layers[0], name))


def new_model(cfg: AlbertConfig) -> AlbertForPreTraining:
    cfg._attn_implementation = "sdpa"
    model = AlbertForPreTraining(cfg)
    mode = share_mode(cfg)
    if mode:
        if mode not in SUBLAYERS:
            raise ValueError(f"unknown {SHARE_KEY} {mode!r} (expected one of {sorted(SUBLAYERS)})")
        tie_sublayers(model, mode)
    return model


def share_config(share: str | None, groups: int, layers: int) -> tuple[int, str | None]:
    """--share → (num_hidden_groups, sublayer tying mode). None keeps --groups as given."""
    if share is None:
        return groups, None
    if groups != 1:
        raise ValueError(f"--share {share} sets the number of groups itself; drop --groups {groups}")
    return {"all": (1, None), "none": (layers, None), "attention": (layers, "attention"), "ffn": (layers, "ffn")}[share]


def param_counts(model: AlbertForPreTraining) -> dict:
    """Unique parameters (each shared tensor once) by part: embeddings (word/position/type tables and
    their LayerNorm), encoder (E→H mapping and the transformer layers), heads (MLM transform + output
    bias, the decoder being tied to the word embeddings; pooler; SOP classifier)."""
    out = {"embeddings": 0, "encoder": 0, "heads": 0}
    for n, p in model.named_parameters():  # remove_duplicate=True: a tied tensor is counted once
        part = "embeddings" if n.startswith("albert.embeddings.") else "encoder" if n.startswith("albert.encoder.") else "heads"
        out[part] += p.numel()
    out["total"] = sum(out.values())
    return out


def set_depth(model: AlbertForPreTraining, layers: int) -> None:
    """Runs the (shared) block `layers` times. The parameters do not change: ALBERT's groups are
    indexed by layer // (layers / groups), so any depth that is a multiple of the number of groups
    uses every parameter."""
    g = model.config.num_hidden_groups
    if layers % g:
        raise ValueError(f"depth {layers} is not a multiple of num_hidden_groups {g}")
    model.config.num_hidden_layers = layers


def weight_decay_split(model: nn.Module) -> tuple[list[tuple[str, nn.Parameter]], list[tuple[str, nn.Parameter]]]:
    """(decayed, not decayed) named parameters, in the order AdamW's two groups hold them: matrices
    are decayed; biases, LayerNorms and other vectors are not. train.py builds its optimizer from
    this and regroup.py maps Adam's moments through it, so both number the parameters alike."""
    decay, no_decay = [], []
    for n, p in model.named_parameters():
        (no_decay if p.ndim < 2 or "LayerNorm" in n or n.endswith("bias") else decay).append((n, p))
    return decay, no_decay


class Pretrain(nn.Module):
    """MLM + SOP loss. The MLM head (E×V, the largest matmul for a small model) runs only on the
    masked positions, not all T; the math is `AlbertForPreTraining`'s. `sop_weight` scales the SOP
    term (1 is ALBERT's sum; the stats report both losses unweighted)."""

    def __init__(self, model: AlbertForPreTraining, sop_weight: float = 1.0):
        super().__init__()
        self.model = model
        self.sop_weight = sop_weight

    def forward(self, input_ids, token_type_ids, attention_mask, labels, sentence_order_label):
        m = self.model
        out = m.albert(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
        sel = labels != -100
        logits = m.predictions(out.last_hidden_state[sel]).float()
        tgt = labels[sel]
        mlm_loss = F.cross_entropy(logits, tgt)
        sop_logits = m.sop_classifier(out.pooler_output).float()
        sop_loss = F.cross_entropy(sop_logits, sentence_order_label)
        with torch.no_grad():
            stats = torch.stack([
                mlm_loss.detach() * tgt.numel(),
                (logits.argmax(-1) == tgt).sum().float(),
                torch.tensor(float(tgt.numel()), device=logits.device),
                sop_loss.detach() * sop_logits.shape[0],
                (sop_logits.argmax(-1) == sentence_order_label).sum().float(),
                torch.tensor(float(sop_logits.shape[0]), device=logits.device),
            ])
        return mlm_loss + self.sop_weight * sop_loss, stats


def autocast(device: torch.device, amp: str):
    if amp == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


# `--amp auto` on a CPU picks bf16 autocast only where it beats f32 by this much on the probe.
BF16_MIN_SPEEDUP = 1.1


def resolve_amp(amp: str, device: torch.device, log=print) -> str:
    if amp != "auto":
        return amp
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "none"
    # On a CPU the flags do not say whether bf16 pays: the training step ran 2.7× as fast as f32 on
    # the Xeon of train/README.md's throughput table, 0.63× on session 26's (AVX512-BF16, no AMX),
    # and emulated (session 13's Zen 3) a linear took 45× as long. So time it, where bf16 is native.
    try:
        native = torch.ops.mkldnn._is_mkldnn_bf16_supported()
    except Exception:
        native = False
    if not native:
        log("[amp] auto: no native bf16 on this CPU → f32")
        return "none"
    speedup = bf16_speedup(device)
    choice = "bf16" if speedup >= BF16_MIN_SPEEDUP else "none"
    log(f"[amp] auto: bf16 autocast runs a 4096 × 384 → 1536 linear (forward and backward) {speedup:.2f}× as fast "
        f"as f32 on this CPU → {'bf16' if choice == 'bf16' else 'f32'}")
    return choice


def bf16_speedup(device: torch.device, reps: int = 4) -> float:
    """f32 time / bf16-autocast time of the recipe's largest linear (H 384 → FFN 1536), forward and
    backward, at the current thread count: about a second of probing."""
    g = torch.Generator().manual_seed(0)  # its own generator: the caller's random state is untouched
    w = (torch.randn(1536, 384, generator=g) * 0.02).to(device).requires_grad_()
    b = torch.zeros(1536, device=device, requires_grad=True)
    x = torch.randn(4096, 384, generator=g).to(device).requires_grad_()

    def seconds(amp: str) -> float:
        def step():
            with autocast(device, amp):
                y = F.linear(x, w, b)
            y.float().sum().backward()
        step()  # warm-up: kernel selection, allocation
        t0 = time.perf_counter()
        for _ in range(reps):
            step()
        return time.perf_counter() - t0

    return seconds("none") / seconds("bf16")


@torch.no_grad()
def evaluate(model: AlbertForPreTraining, examples, device: torch.device, amp: str = "none", batch_size: int = 64):
    """MLM top-1 over all predicted (masked) positions and SOP accuracy over examples."""
    was_training = model.training
    model.eval()
    wrapper = Pretrain(model)
    tot = torch.zeros(6, dtype=torch.float64)
    for i in range(0, len(examples), batch_size):
        b = {k: v.to(device) for k, v in data.collate(examples[i : i + batch_size]).items()}
        with autocast(device, amp):
            _, stats = wrapper(**b)
        tot += stats.double().cpu()
    model.train(was_training)
    return {
        "mlm_loss": float(tot[0] / tot[2]),
        "mlm_acc": float(tot[1] / tot[2]),
        "sop_loss": float(tot[3] / tot[5]),
        "sop_acc": float(tot[4] / tot[5]),
        "masked_tokens": int(tot[2]),
        "examples": int(tot[5]),
    }


@torch.no_grad()
def per_example(model: AlbertForPreTraining, examples, device: torch.device, amp: str = "none", batch_size: int = 64):
    """For each example: masked tokens, masked tokens predicted right (top-1), SOP answer right (0/1),
    and the SOP logit margin, swapped − in order (> 0: the model answers "swapped").
    `evaluate` sums these; two models scored on the same examples are compared pair by pair
    (compare.py), which is far more exact than comparing their sums."""
    was_training = model.training
    model.eval()
    masked, hits, sop_right, sop_margin = [], [], [], []
    for i in range(0, len(examples), batch_size):
        b = {k: v.to(device) for k, v in data.collate(examples[i : i + batch_size]).items()}
        with autocast(device, amp):
            out = model.albert(input_ids=b["input_ids"], attention_mask=b["attention_mask"], token_type_ids=b["token_type_ids"])
            sel = b["labels"] != -100
            logits = model.predictions(out.last_hidden_state[sel]).float()
            sop_logits = model.sop_classifier(out.pooler_output).float()
        rows = sel.nonzero()[:, 0]
        right = (logits.argmax(-1) == b["labels"][sel]).float()
        masked += sel.sum(1).tolist()
        hits += torch.bincount(rows, weights=right, minlength=sel.shape[0]).long().tolist()
        sop_right += (sop_logits.argmax(-1) == b["sentence_order_label"]).long().tolist()
        sop_margin += (sop_logits[:, 1] - sop_logits[:, 0]).tolist()
    model.train(was_training)
    return {"masked": masked, "hits": hits, "sop_right": sop_right, "sop_margin": sop_margin}


def load_checkpoint(path: str, map_location="cpu"):
    """Returns (model, checkpoint dict) from a train.py checkpoint, or from a compact checkpoint's
    folder (train/resume, or any session's from `git archive`): its dict has the same "config",
    "state", "args" and "phases" (compact.read), so every --ckpt tool takes either."""
    if os.path.isdir(path):
        return compact.read(path, new_model)
    ck = torch.load(path, map_location=map_location, weights_only=False)
    cfg = AlbertConfig.from_dict(ck["config"])
    model = new_model(cfg)
    model.load_state_dict(ck["model"])
    return model, ck


def sinusoids(n: int, d: int) -> torch.Tensor:
    """Vaswani et al.'s position encodings (each column has std 1/sqrt(2))."""
    pos = torch.arange(n, dtype=torch.float64)[:, None]
    freq = torch.exp(-torch.arange(0, d, 2, dtype=torch.float64) * (torch.log(torch.tensor(10000.0)) / d))
    out = torch.zeros(n, d, dtype=torch.float64)
    out[:, 0::2] = torch.sin(pos * freq)
    out[:, 1::2] = torch.cos(pos * freq)
    return out.float()
