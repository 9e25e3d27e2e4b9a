"""Exports a train.py checkpoint in Hugging Face layout, f16, and checks the round trip.

Writes to --out:
  config.json              AlbertConfig, architectures ["AlbertForPreTraining"], torch_dtype float16
  model.safetensors        f16 weights, AlbertForPreTraining names: the MLM head, and the pooler
                           and `sop_classifier` (so sentence order works; AlbertForMaskedLM loads
                           the same file and ignores them); the decoder weight is tied to the
                           word embeddings (absent), the output bias is stored under both
                           `predictions.bias` and `predictions.decoder.bias` (see below)
  tokenizer.json           the Unigram tokenizer (standard `tokenizers` format)
  tokenizer_config.json    AlbertTokenizer settings, so AutoTokenizer loads it
  special_tokens_map.json
  golden.safetensors       transformers' logits for sample sentences (selected rows, see
                           golden_rows) and the SOP logits of a sentence pair both ways
                           (`sop.ab.*`, `sop.ba.*`, label 0 = in order), computed from the exported
                           files (f16 weights loaded as float32), with the input ids, for the Rust
                           engine's test (crates/albert/tests/default_model.rs)

Checks (exit status 1 on failure): AutoTokenizer gives the same ids as `tokenizers`;
AlbertForPreTraining.from_pretrained(out) reproduces the in-memory model (rounded to f16) in both
heads, and its output bias is not zero.

Why both bias names: transformers 4.46.3 ties `predictions.decoder.bias` to `predictions.bias`
and, for float32 checkpoints that carry only one of the names, re-initializes the bias to zeros
on from_pretrained (depending on which name it finds); carrying both names loads right in every
dtype we tried, and our engine accepts either.

    python export.py --ckpt runs/base/ckpt.pt --tokenizer data/tok8k/tokenizer.json --out ../assets/model
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys

import torch
from safetensors.torch import save_file
from transformers import AlbertConfig, AlbertForPreTraining, AutoTokenizer

import compact
import corpus
from model import SHARE_KEY, load_checkpoint, param_counts, set_depth

GOLDEN_TEXTS = [
    "She wrote a [MASK] to her mother.",
    "The old man took off his [MASK] and [MASK] to the lady.",
    ("It was late in the evening when they reached the [MASK].", "Nobody was waiting for them."),
]

# The sentence-order pair of the golden file and the model card (A then B is the original order).
SOP_A = "She opened the door and looked out into the rain."
SOP_B = "Then she closed it again and sat down by the fire."


def tokenizer_config(max_len: int) -> dict:
    mask = {"content": "[MASK]", "lstrip": True, "normalized": False, "rstrip": False, "single_word": False, "special": True}
    decoder = {str(i): {"content": t, "lstrip": t == "[MASK]", "normalized": False, "rstrip": False, "single_word": False, "special": True}
               for i, t in enumerate(corpus.SPECIAL_TOKENS)}
    return {
        "tokenizer_class": "AlbertTokenizer",
        "added_tokens_decoder": decoder,
        "bos_token": "[CLS]", "eos_token": "[SEP]", "unk_token": "<unk>", "sep_token": "[SEP]",
        "pad_token": "<pad>", "cls_token": "[CLS]", "mask_token": "[MASK]",
        "do_lower_case": True, "remove_space": True, "keep_accents": False,
        "clean_up_tokenization_spaces": True,
        "model_max_length": max_len,
    }


def special_tokens_map() -> dict:
    return {"bos_token": "[CLS]", "eos_token": "[SEP]", "unk_token": "<unk>", "sep_token": "[SEP]", "pad_token": "<pad>",
            "cls_token": "[CLS]",
            "mask_token": {"content": "[MASK]", "lstrip": True, "normalized": False, "rstrip": False, "single_word": False}}


def pretraining_state_dict(pre) -> dict:
    """AlbertForPreTraining tensors, f16, without the tied decoder weight."""
    out = {}
    for k, v in pre.state_dict().items():
        if k == "predictions.decoder.weight":
            continue
        out[k] = v.detach().to(torch.float16).contiguous().clone()
    out["predictions.decoder.bias"] = out["predictions.bias"].clone()
    return out


def hf_config(pre):
    """The exported AlbertForPreTraining config, and the sublayer that was tied (None for HF's own
    sharing). Attention-only / FFN-only sharing has no HF layout: it is exported UNTIED, as the
    not-shared model (num_hidden_groups = layers) with the shared sublayer copied into every layer
    (pretraining_state_dict already lists it under every layer's name). Same function (the round-trip check
    compares logits; check_sharing.py too), a bigger file."""
    cfg = AlbertConfig.from_dict(pre.config.to_dict())
    tied = getattr(cfg, SHARE_KEY, None)
    if tied:
        delattr(cfg, SHARE_KEY)
    cfg.architectures = ["AlbertForPreTraining"]
    cfg.torch_dtype = torch.float16
    return cfg, tied


def golden_rows(batch) -> list[int]:
    """Flat rows (b * T + t) whose logits the golden file keeps: every token of the first text
    (and its first padding position), and of the others the [MASK]s, [CLS], the last real token and one padding position
    (all rows would be B×T×V floats, megabytes for little more coverage)."""
    ids, am = batch["input_ids"], batch["attention_mask"]
    b, t = ids.shape
    n0 = int(am[0].sum())
    rows = list(range(n0 + 1 if n0 < t else n0))
    for i in range(1, b):
        n = int(am[i].sum())
        keep = {0, n - 1} | {j for j in range(t) if int(ids[i, j]) == corpus.MASK}
        if n < t:
            keep.add(n)
        rows += [i * t + j for j in sorted(keep)]
    return rows


def encode_batch(hf_tok, texts):
    a = [t if isinstance(t, str) else t[0] for t in texts]
    b = [None if isinstance(t, str) else t[1] for t in texts]
    encs = [hf_tok(x, y) for x, y in zip(a, b)]
    return hf_tok.pad(encs, return_tensors="pt")


def sop_batch(hf_tok, a: str, b: str):
    """The pair (a, b) as one unpadded sequence, as the engine's `order` encodes it."""
    return hf_tok(a, b, return_tensors="pt")


def torch_f32_vs_f64(d: str, batch) -> dict:
    """transformers' own float32 error on the golden batch: max |Δ| of its float32 forward from
    its float64 forward (eager attention), for attentions, hidden states and logits, at the
    positions the attention mask keeps (rows of hidden states and logits, query rows of the
    attention maps). The engine's exactness test (crates/albert/tests/exact.rs) bounds the CPU
    path's distance from an f64 forward there by twice these, so the bound follows the shipped
    model instead of a constant. Padding positions are left out here (the golden logits keep one a
    text, compared with transformers at STRICT): nothing reads them, and float32 is ill-conditioned
    there (session 32, the 500 M model:
    torch's own error at a padding row of the last layer was 3.0e-5, 12× its largest at a kept
    row of that layer, 2.4e-6), so a max over them measured that one position, not the arithmetic."""
    out = {}
    for dtype in (torch.float32, torch.float64):
        m = AlbertForPreTraining.from_pretrained(d, torch_dtype=dtype, attn_implementation="eager").eval()
        with torch.no_grad():
            out[dtype] = m(**batch, output_attentions=True, output_hidden_states=True)
    f32, f64 = out[torch.float32], out[torch.float64]
    keep = batch["attention_mask"].bool()  # [b, t]
    # Hidden states and logits are [b, t, …]; attention maps [b, heads, t, t], queries on dim 2.
    kept = lambda x: x[keep] if x.dim() == 3 else x.transpose(1, 2)[keep]
    worst = lambda xs, ys: max(float((kept(x).double() - kept(y)).abs().max()) for x, y in zip(xs, ys))
    return {
        "positions": "kept by the attention mask",
        "attentions": worst(f32.attentions, f64.attentions),
        "hidden_states": worst(f32.hidden_states, f64.hidden_states),
        "logits": worst([f32.prediction_logits], [f64.prediction_logits]),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
    }


def verify(d: str, tol: float = 1e-4) -> bool:
    """Reloads an exported folder with transformers and compares with its golden.safetensors."""
    from safetensors import safe_open

    with safe_open(os.path.join(d, "golden.safetensors"), "pt") as f:
        g = {k: f.get_tensor(k) for k in f.keys()}
        meta = f.metadata()
    texts = json.loads(meta["texts"])
    pairs = [tuple(t.split(" [SEP] ")) if " [SEP] " in t else t for t in texts]
    tok = AutoTokenizer.from_pretrained(d)
    batch = encode_batch(tok, pairs)
    ids_ok = torch.equal(batch["input_ids"], g["input_ids"]) and torch.equal(batch["token_type_ids"], g["token_type_ids"])
    model = AlbertForPreTraining.from_pretrained(d, torch_dtype=torch.float32).eval()
    with torch.no_grad():
        logits = model(**batch).prediction_logits
        diff = float((logits.reshape(-1, logits.shape[-1])[g["rows"]] - g["logits"]).abs().max())
        sop = json.loads(meta["sop"])
        sop_diff = 0.0
        for tag, (x, y) in (("ab", (sop["a"], sop["b"])), ("ba", (sop["b"], sop["a"]))):
            enc = sop_batch(tok, x, y)
            ids_ok = ids_ok and torch.equal(enc["input_ids"][0], g[f"sop.{tag}.input_ids"])
            sop_diff = max(sop_diff, float((model(**enc).sop_logits[0] - g[f"sop.{tag}.logits"]).abs().max()))
    ok = ids_ok and diff <= tol and sop_diff <= tol and float(model.predictions.bias.abs().max()) > 0
    print(f"[verify] {d}: token ids match: {ids_ok}, max |Δ| logits vs golden {diff:.2e}, sop_logits {sop_diff:.2e} "
          f"(tolerance {tol:.0e}) → {'ok' if ok else 'FAIL'}")
    return ok


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ckpt", help="a train.py checkpoint, or a compact one's folder (train/resume; its "
                    "tokenizer.json is the default --tokenizer)")
    ap.add_argument("--tokenizer")
    ap.add_argument("--out")
    ap.add_argument("--verify", metavar="DIR", help="only check an exported folder against its golden.safetensors")
    ap.add_argument("--layers", type=int, default=None, help="num_hidden_layers to export (default: the checkpoint's final depth)")
    ap.add_argument("--eval-json", default=None, help="copy this evaluate.py result as eval.json")
    ap.add_argument("--max-pos", type=int, default=None,
                    help="keep only the first N position embeddings (default: the longest sequence trained on, so "
                         "the engine refuses longer inputs instead of reading untrained positions; 0 keeps all)")
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    if a.verify:
        sys.exit(0 if verify(a.verify) else 1)
    a.tokenizer = a.tokenizer or compact.tokenizer_for(a.ckpt)
    if not (a.ckpt and a.tokenizer and a.out):
        ap.error("--ckpt, --tokenizer and --out are required")

    pre, ck = load_checkpoint(a.ckpt)
    if a.layers:
        set_depth(pre, a.layers)
    pre.eval()
    os.makedirs(a.out, exist_ok=True)

    cfg, tied = hf_config(pre)
    if tied:
        n_unique = param_counts(pre)["encoder"]
        n_untied = sum(v.numel() for k, v in pre.state_dict().items() if k.startswith("albert.encoder."))
        print(f"[export] WARNING: this checkpoint shares only the {tied} sublayer across layers, which HF's ALBERT "
              f"cannot express; exporting it UNTIED as a not-shared model ({cfg.num_hidden_groups} groups): encoder "
              f"{n_unique / 1e6:.3f} M unique parameters stored as {n_untied / 1e6:.3f} M. Same outputs; fine-tuning "
              f"the export would not keep the {tied} sublayer tied.", file=sys.stderr)
    trained_len = max((p["seq"] for p in ck.get("phases", [])), default=cfg.max_position_embeddings)
    max_pos = cfg.max_position_embeddings if a.max_pos == 0 else (a.max_pos or trained_len)
    tensors = pretraining_state_dict(pre)
    if max_pos < cfg.max_position_embeddings:
        k = "albert.embeddings.position_embeddings.weight"
        tensors[k] = tensors[k][:max_pos].contiguous().clone()
        cfg.max_position_embeddings = max_pos
    cfg.save_pretrained(a.out)
    save_file(tensors, os.path.join(a.out, "model.safetensors"), metadata={"format": "pt"})

    shutil.copyfile(a.tokenizer, os.path.join(a.out, "tokenizer.json"))
    with open(os.path.join(a.out, "tokenizer_config.json"), "w") as f:
        json.dump(tokenizer_config(cfg.max_position_embeddings), f, indent=2)
    with open(os.path.join(a.out, "special_tokens_map.json"), "w") as f:
        json.dump(special_tokens_map(), f, indent=2)
    if a.eval_json:
        shutil.copyfile(a.eval_json, os.path.join(a.out, "eval.json"))

    ok = True
    # 1. Tokenizer: AutoTokenizer (transformers) vs tokenizers.
    from tokenizers import Tokenizer

    raw = Tokenizer.from_file(os.path.join(a.out, "tokenizer.json"))
    hf_tok = AutoTokenizer.from_pretrained(a.out)
    for t in GOLDEN_TEXTS + ["Hello  world! ``Quoted'' café, naïve — [MASK]."]:
        x, y = (t, None) if isinstance(t, str) else t
        ids_hf = hf_tok(x, y)["input_ids"]
        ids_raw = raw.encode(x, y).ids if y else raw.encode(x).ids
        if ids_hf != ids_raw:
            print(f"[export] FAIL tokenizer mismatch on {t!r}: {ids_hf} vs {ids_raw}")
            ok = False
    print(f"[export] AutoTokenizer: {type(hf_tok).__name__}, ids match tokenizers: {ok}")

    # 2. Weights: from_pretrained(out) vs the in-memory model rounded to f16, both heads.
    batch = encode_batch(hf_tok, GOLDEN_TEXTS)
    ref = AlbertForPreTraining(cfg).eval()
    sd = {k: v.float() for k, v in tensors.items()}
    missing, unexpected = ref.load_state_dict(sd, strict=False)
    assert set(missing) <= {"predictions.decoder.weight"}, missing
    ref.tie_weights()
    loaded = AlbertForPreTraining.from_pretrained(a.out, torch_dtype=torch.float32, attn_implementation="eager").eval()
    bias = loaded.predictions.bias.detach()
    if float(bias.abs().max()) == 0.0:
        print("[export] FAIL from_pretrained zeroed predictions.bias")
        ok = False
    with torch.no_grad():
        want_out = ref(**batch)
        got_out = loaded(**batch)
        want, got = want_out.prediction_logits, got_out.prediction_logits
        orig = pre(**{k: batch[k] for k in ("input_ids", "token_type_ids", "attention_mask")}).prediction_logits
    d = float((want - got).abs().max())
    d_sop = float((want_out.sop_logits - got_out.sop_logits).abs().max())
    d16 = float((orig - got).abs().max())
    print(f"[export] from_pretrained vs in-memory (f16 weights): max |Δ| logits {d:.2e}, sop_logits {d_sop:.2e}; "
          f"logits vs f32 checkpoint {d16:.2e} (f16 rounding)")
    if d > 1e-4 or d_sop > 1e-4:
        print("[export] FAIL round trip")
        ok = False

    # 3. Golden outputs for the Rust engine, from the exported files.
    rows = golden_rows(batch)
    golden = {
        "input_ids": batch["input_ids"].to(torch.int64).contiguous(),
        "token_type_ids": batch["token_type_ids"].to(torch.int64).contiguous(),
        "attention_mask": batch["attention_mask"].to(torch.int64).contiguous(),
        "rows": torch.tensor(rows, dtype=torch.int64),
        "logits": got.reshape(-1, got.shape[-1])[rows].float().contiguous(),
    }
    with torch.no_grad():
        for tag, (x, y) in (("ab", (SOP_A, SOP_B)), ("ba", (SOP_B, SOP_A))):
            enc = sop_batch(hf_tok, x, y)
            golden[f"sop.{tag}.input_ids"] = enc["input_ids"][0].to(torch.int64).contiguous()
            golden[f"sop.{tag}.token_type_ids"] = enc["token_type_ids"][0].to(torch.int64).contiguous()
            sop_logits = loaded(**enc).sop_logits[0].float()
            golden[f"sop.{tag}.logits"] = sop_logits.contiguous()
            print(f"[export] sentence order {tag}: P(in order) {float(sop_logits.softmax(-1)[0]):.3f}")
    texts = [t if isinstance(t, str) else " [SEP] ".join(t) for t in GOLDEN_TEXTS]
    f32_err = torch_f32_vs_f64(a.out, batch)
    print(f"[export] transformers float32 vs float64 on the golden batch: attentions {f32_err['attentions']:.2e}, "
          f"hidden states {f32_err['hidden_states']:.2e}, logits {f32_err['logits']:.2e}")
    save_file(golden, os.path.join(a.out, "golden.safetensors"),
              metadata={"texts": json.dumps(texts), "torch_f32_vs_f64": json.dumps(f32_err), "sop": json.dumps({"a": SOP_A, "b": SOP_B, "label_0": "in order (A then B)"}),
                        "transformers": __import__("transformers").__version__})
    mask_pos = (batch["input_ids"][0] == corpus.MASK).nonzero()[0, 0]
    top = got[0, mask_pos].topk(5).indices.tolist()
    print(f"[export] '{GOLDEN_TEXTS[0]}' → {[hf_tok.convert_ids_to_tokens(i) for i in top]}")
    size = sum(os.path.getsize(os.path.join(a.out, f)) for f in os.listdir(a.out))
    print(f"[export] {a.out}: " + ", ".join(f"{f} {os.path.getsize(os.path.join(a.out, f)) / 1e6:.2f} MB" for f in sorted(os.listdir(a.out)))
          + f"; total {size / 1e6:.2f} MB")
    if not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
