"""The model: transformers' `AlbertForPreTraining`, a loss wrapper and evaluation helpers."""

from __future__ import annotations

import contextlib

import torch
import torch.nn.functional as F
from torch import nn
from transformers import AlbertConfig, AlbertForPreTraining

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
        pad_token_id=data.PAD,
        bos_token_id=data.CLS,
        eos_token_id=data.SEP,
        architectures=["AlbertForPreTraining"],
    )


def new_model(cfg: AlbertConfig) -> AlbertForPreTraining:
    cfg._attn_implementation = "sdpa"
    return AlbertForPreTraining(cfg)


def set_depth(model: AlbertForPreTraining, layers: int) -> None:
    """Runs the (shared) block `layers` times. The parameters do not change: ALBERT's groups are
    indexed by layer // (layers / groups), so any depth that is a multiple of the number of groups
    uses every parameter."""
    g = model.config.num_hidden_groups
    if layers % g:
        raise ValueError(f"depth {layers} is not a multiple of num_hidden_groups {g}")
    model.config.num_hidden_layers = layers


class Pretrain(nn.Module):
    """MLM + SOP loss. The MLM head (E×V, the largest matmul for a small model) runs only on the
    masked positions, not all T; the math is `AlbertForPreTraining`'s."""

    def __init__(self, model: AlbertForPreTraining):
        super().__init__()
        self.model = model

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
        return mlm_loss + sop_loss, stats


def autocast(device: torch.device, amp: str):
    if amp == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def resolve_amp(amp: str, device: torch.device) -> str:
    if amp != "auto":
        return amp
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "none"
    # bf16 autocast on CPU pays off only with native bf16 dot products (AVX512-BF16 / AMX).
    try:
        return "bf16" if torch.ops.mkldnn._is_mkldnn_bf16_supported() else "none"
    except Exception:
        return "none"


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


def load_checkpoint(path: str, map_location="cpu"):
    """Returns (model, checkpoint dict) from a train.py checkpoint."""
    ck = torch.load(path, map_location=map_location, weights_only=False)
    cfg = AlbertConfig.from_dict(ck["config"])
    model = new_model(cfg)
    model.load_state_dict(ck["model"])
    return model, ck
