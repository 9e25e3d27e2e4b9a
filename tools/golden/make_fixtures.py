#!/usr/bin/env python3
"""Generate the golden fixtures that the Rust tests of crates/albert compare against.

Run:  bash tools/golden/setup.sh && tools/golden/.venv/bin/python tools/golden/make_fixtures.py

Writes (all under crates/albert/tests/fixtures/):
  vocab/                 tiny SentencePiece Unigram vocabulary (spiece.model, tokenizer.json, ...)
  vocab/parity.json      tokenizer parity data for the tiny vocabulary
  tokenizer_parity.json  tokenizer parity data for the real albert-base-v2 vocabulary
  <fixture>/             random-init checkpoints in HF layout + golden.safetensors + golden.json

Deterministic: fixed seeds, single-threaded SentencePiece training and torch math. Rerunning
produces byte-identical files with the pinned requirements.txt.

Reads (never copies) ../shared/data relative to the repository root (override with
ALBERT_SHARED_DATA=/path/to/shared/data).
"""

import json
import os
import sys
import warnings

import sentencepiece as spm
import torch
import transformers
from safetensors.torch import save_file
from transformers import (
    AlbertConfig,
    AlbertForMaskedLM,
    AlbertForPreTraining,
    AlbertModel,
    AlbertTokenizer,
    AlbertTokenizerFast,
)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import FIX, REAL_TOK, VOCAB_DIR, reset_dir, write_json  # noqa: E402
from hf_checkpoint import checkpoint_tensors, load_checkpoint_f32  # noqa: E402
from parity_cases import CASES  # noqa: E402
from tokenizer_fixtures import TINY_VOCAB_SIZE, load_tiny_tokenizers, parity, train_tiny_vocab  # noqa: E402

INIT_RANGE = 0.2
QK_STD = 0.4  # query/key weight std (times sqrt(32/H)): attention clearly non-uniform

# The golden batch: [single sentence with one mask, pair with masks in both segments, short].
GOLDEN_TEXTS = [
    ("The capital of France is [MASK].", None),
    ("He went to the [MASK].", "It was a [MASK] day."),
    ("Hello world!", None),
]
SINGLE_TEXT = "[MASK]"  # -> [CLS] [MASK] [SEP]

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)
warnings.filterwarnings("ignore")
transformers.logging.set_verbosity_error()
transformers.logging.disable_progress_bar()


# --------------------------------------------------------------------------------------------
# checkpoints and goldens (the tokenizer fixtures: tokenizer_fixtures.py)
# --------------------------------------------------------------------------------------------

TINY = dict(
    embedding_size=16,
    hidden_size=32,
    num_attention_heads=4,
    intermediate_size=48,
    num_hidden_layers=3,
    num_hidden_groups=1,
    inner_group_num=1,
    hidden_act="gelu_new",
    max_position_embeddings=64,
)
GROUPS = dict(
    embedding_size=24,
    hidden_size=48,
    num_attention_heads=3,
    intermediate_size=40,
    num_hidden_layers=4,
    num_hidden_groups=2,
    inner_group_num=2,
    hidden_act="gelu",
    max_position_embeddings=64,
)
RELU = dict(TINY, hidden_act="relu", hidden_size=40, num_attention_heads=5, embedding_size=40)

# name: (model class, config overrides, seed, save dtype, extra options)
FIXTURES = [
    ("tiny", AlbertForMaskedLM, TINY, 1001, torch.float32, {}),
    ("groups", AlbertForMaskedLM, GROUPS, 1002, torch.float32, {}),
    ("relu", AlbertForMaskedLM, RELU, 1003, torch.float32, {}),
    ("f16", AlbertForMaskedLM, TINY, 1004, torch.float16, {}),
    ("bf16", AlbertForMaskedLM, TINY, 1005, torch.bfloat16, {}),
    ("sharded", AlbertForMaskedLM, GROUPS, 1006, torch.float32, {"max_shard_size": "100KB"}),
    ("spiece_only", AlbertForMaskedLM, TINY, 1007, torch.float32, {"spiece_only": True}),
    ("pretraining", AlbertForPreTraining, TINY, 1008, torch.float32, {}),
    ("no_head", AlbertModel, TINY, 1009, torch.float32, {}),
]

DESCRIPTIONS = {
    "tiny": "AlbertForMaskedLM, E=16 H=32 4 heads (d=8) I=48, 3 layers sharing 1 group of 1 layer, gelu_new.",
    "groups": "AlbertForMaskedLM, E=24 H=48 3 heads (d=16) I=40, 4 layers, 2 groups x 2 inner layers, exact (erf) gelu. "
    "Layer i uses group floor(i / (num_hidden_layers / num_hidden_groups)) = [0,0,1,1]; each group runs its 2 inner "
    "layers, so there are 8 attentions and 5 hidden states.",
    "relu": "AlbertForMaskedLM like tiny but relu, E=H=40, 5 heads (d=8).",
    "f16": "tiny architecture, checkpoint saved in float16. Golden outputs were computed by loading the saved f16 "
    "checkpoint with torch_dtype=float32 (weights upcast exactly to f32) and running in f32.",
    "bf16": "tiny architecture, checkpoint saved in bfloat16. Golden outputs were computed by loading the saved bf16 "
    "checkpoint with torch_dtype=float32 (weights upcast exactly to f32) and running in f32.",
    "sharded": "groups architecture, saved with a small max_shard_size: model.safetensors.index.json + "
    "model-0000x-of-0000y.safetensors shards.",
    "spiece_only": "tiny architecture (another seed); tokenizer files are spiece.model + tokenizer_config.json + "
    "special_tokens_map.json only (tokenizer.json deleted).",
    "pretraining": "AlbertForPreTraining (MLM head + sop_classifier), tiny architecture. logits = prediction_logits; "
    "sop_logits from the pooler (tanh(dense(h[:,0]))) then sop_classifier.classifier.",
    "no_head": "AlbertModel (with pooler), tiny architecture. Golden has hidden_states/attentions and "
    "pooler_output, no logits.",
}


def make_config(overrides):
    cfg = AlbertConfig(
        vocab_size=TINY_VOCAB_SIZE,
        type_vocab_size=2,
        initializer_range=INIT_RANGE,
        layer_norm_eps=1e-12,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
        classifier_dropout_prob=0.1,
        pad_token_id=0,
        bos_token_id=2,
        eos_token_id=3,
        attn_implementation="eager",
        **overrides,
    )
    return cfg


def randomize_affine(model):
    """HF init zeroes biases and sets LayerNorm to 1/0: replace them with random values so that bugs in
    bias adds or LN affine are visible. Attention query/key weights get std QK_STD so that attention
    probabilities are far from uniform. Other matrices keep HF's N(0, initializer_range) init (0.2 here). The
    padding row of the word embeddings (zeroed by HF init) is also made random."""
    with torch.no_grad():
        for name, p in model.named_parameters():  # shared/tied params are listed once
            if "LayerNorm" in name and name.endswith("weight"):
                p.copy_(1.0 + 0.3 * torch.randn_like(p))
            elif name.endswith("bias"):
                p.copy_(0.2 * torch.randn_like(p))
            elif name.endswith(("attention.query.weight", "attention.key.weight")):
                # scaled by fan-in so that wider fixtures are not much peakier than tiny (H=32)
                p.copy_(QK_STD * (32.0 / p.shape[1]) ** 0.5 * torch.randn_like(p))
            elif name.endswith("word_embeddings.weight"):
                p[0].copy_(INIT_RANGE * torch.randn_like(p[0]))


def encode_batch(fast, slow, texts):
    encs = []
    for a, b in texts:
        e = fast(a, b)
        s = slow(a, b)
        assert e["input_ids"] == s["input_ids"], (a, b, e["input_ids"], s["input_ids"])
        assert e["token_type_ids"] == s["token_type_ids"]
        encs.append({k: e[k] for k in ("input_ids", "token_type_ids", "attention_mask")})
    batch = fast.pad(encs, padding=True, return_tensors="pt")
    return {k: batch[k].to(torch.int64).contiguous() for k in ("input_ids", "attention_mask", "token_type_ids")}


def run_model(model, inputs, prefix, out):
    with torch.no_grad():
        o = model(
            **inputs,
            output_attentions=True,
            output_hidden_states=True,
            return_dict=True,
        )
    for k, v in inputs.items():
        out[prefix + k] = v
    if hasattr(o, "prediction_logits"):
        out[prefix + "logits"] = o.prediction_logits
        out[prefix + "sop_logits"] = o.sop_logits
    elif hasattr(o, "logits"):
        out[prefix + "logits"] = o.logits
    if hasattr(o, "pooler_output") and o.pooler_output is not None:
        out[prefix + "pooler_output"] = o.pooler_output
    for i, a in enumerate(o.attentions):
        out[prefix + f"attentions.{i}"] = a
    for i, h in enumerate(o.hidden_states):
        out[prefix + f"hidden_states.{i}"] = h
    return o


def stats(o, mask):
    a = o.attentions[0]  # [B, heads, T, T]
    valid = mask[:, None, :, None].bool().expand_as(a)
    ent = -(a.clamp_min(1e-30).log() * a).sum(-1)  # [B, h, T]
    n = mask.sum(-1).float()[:, None, None].expand_as(ent)
    rel = (ent / n.log()).masked_select(valid[..., 0])
    s = {
        "attn0_max_prob_mean": float(a.max(-1).values.masked_select(valid[..., 0]).mean()),
        "attn0_entropy_over_uniform": float(rel.mean()),
    }
    logits = getattr(o, "logits", None)
    if logits is None:
        logits = getattr(o, "prediction_logits", None)
    if logits is not None:
        s["logits_std"] = float(logits.std())
        s["logits_absmax"] = float(logits.abs().max())
    return s


def make_fixture(name, cls, overrides, seed, dtype, opts, slow, fast, converted):
    d = os.path.join(FIX, name)
    reset_dir(d)
    torch.manual_seed(seed)
    cfg = make_config(overrides)
    model = cls(cfg)
    randomize_affine(model)
    model.eval()
    if dtype != torch.float32:
        model = model.to(dtype)
    save_kwargs = {"safe_serialization": True}
    if "max_shard_size" in opts:
        save_kwargs["max_shard_size"] = opts["max_shard_size"]
    model.save_pretrained(d, **save_kwargs)
    converted.save_pretrained(d)
    for fn in ("spiece.model", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        assert open(os.path.join(d, fn), "rb").read() == open(os.path.join(VOCAB_DIR, fn), "rb").read(), fn
    if opts.get("spiece_only"):
        os.remove(os.path.join(d, "tokenizer.json"))
    files = sorted(os.listdir(d))
    if "max_shard_size" in opts:
        shards = [f for f in files if f.startswith("model-") and f.endswith(".safetensors")]
        assert len(shards) >= 2 and "model.safetensors.index.json" in files, files

    # Golden outputs from the checkpoint as saved on disk, upcast to float32.
    loaded, hf_bias_ok = load_checkpoint_f32(cls, d)

    golden = {}
    inputs = encode_batch(fast, slow, GOLDEN_TEXTS)
    o = run_model(loaded, inputs, "", golden)
    single = encode_batch(fast, slow, [(SINGLE_TEXT, None)])
    assert single["input_ids"].tolist() == [[2, 4, 3]], single["input_ids"]
    run_model(loaded, single, "single.", golden)
    golden = {k: v.detach().contiguous() for k, v in golden.items()}
    for k, v in golden.items():
        if v.is_floating_point():
            assert v.dtype == torch.float32, k
            assert torch.isfinite(v).all(), k
    save_file(golden, os.path.join(d, "golden.safetensors"), metadata={"format": "pt"})

    tensors = checkpoint_tensors(d)
    st = stats(o, inputs["attention_mask"])
    meta = {
        "fixture": name,
        "description": DESCRIPTIONS[name],
        "transformers": transformers.__version__,
        "torch": torch.__version__.split("+")[0],
        "model_class": cls.__name__,
        "seed": seed,
        "weights_dtype": str(dtype).replace("torch.", ""),
        "config": {
            k: getattr(cfg, k)
            for k in [
                "vocab_size",
                "embedding_size",
                "hidden_size",
                "num_attention_heads",
                "intermediate_size",
                "num_hidden_layers",
                "num_hidden_groups",
                "inner_group_num",
                "hidden_act",
                "max_position_embeddings",
                "type_vocab_size",
                "layer_norm_eps",
                "initializer_range",
                "position_embedding_type",
            ]
        },
        "files": files,
        "texts": [[a, b] for a, b in GOLDEN_TEXTS],
        "tokens": [fast.convert_ids_to_tokens(row) for row in inputs["input_ids"].tolist()],
        "single_text": SINGLE_TEXT,
        "single_tokens": fast.convert_ids_to_tokens(single["input_ids"][0].tolist()),
        "tensors": {k: [v["dtype"], v["shape"]] for k, v in tensors.items()},
        "tensor_files": {k: v["file"] for k, v in tensors.items()},
        "golden_tensors": {k: [str(v.dtype).replace("torch.", ""), list(v.shape)] for k, v in sorted(golden.items())},
        "hf_from_pretrained_keeps_predictions_bias": hf_bias_ok if hasattr(loaded, "predictions") else None,
        "num_attentions": len(o.attentions),
        "num_hidden_states": len(o.hidden_states),
        "stats": {k: round(v, 4) for k, v in st.items()},
        "notes": (
            "Random init: torch.manual_seed(seed); HF _init_weights with initializer_range=0.2 (Linear/Embedding "
            "weights ~ N(0, 0.2)); then attention query/key weights ~ N(0, (0.4*sqrt(32/H))^2), every bias ~ N(0, 0.2), every LayerNorm weight ~ "
            "1 + N(0, 0.3), and the "
            "<pad> row of word_embeddings ~ N(0, 0.2). Golden outputs: the model class built from config.json "
            "(attn_implementation='eager') with exactly the tensors of the saved files loaded (upcast to float32) "
            "and the tied weights re-tied (decoder.weight = word_embeddings, decoder.bias = predictions.bias), "
            "model.eval(), torch.no_grad(), "
            "output_attentions=True, output_hidden_states=True, float32 math on CPU (1 thread). "
            "attentions.{i}: [B, heads, T, T], one per executed inner layer (num_hidden_layers * inner_group_num), "
            "in execution order; masked keys have probability exactly 0. hidden_states.0 is the output of "
            "embedding_hidden_mapping_in (embeddings LayerNorm'd then projected E->H); hidden_states.{l+1} is the "
            "output of layer l (after all inner layers of its group); the last equals last_hidden_state. "
            "Padding positions (attention_mask 0) are computed too (their rows are included). The MLM head uses "
            "config.hidden_act as its activation. Tokenization of the golden texts: tokenizer.json in this "
            "folder (or vocab/) and the slow tokenizer agree on them (checked). "
            "hf_from_pretrained_keeps_predictions_bias=false means transformers' own from_pretrained of this folder "
            "zeroes predictions.bias (a transformers 4.46.3 bug for float32 checkpoints that lack "
            "predictions.decoder.bias); the goldens do NOT have that bug: they use the saved predictions.bias."
        ),
    }
    if dtype != torch.float32:
        meta["notes"] += (
            f" Weights are stored as {meta['weights_dtype']}; goldens use those exact values upcast to float32 "
            "(not the pre-rounding float32 weights)."
        )
    write_json(os.path.join(d, "golden.json"), meta)
    return meta


def dir_size(d):
    return sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d))


def main():
    os.makedirs(FIX, exist_ok=True)
    print(f"transformers {transformers.__version__}  torch {torch.__version__}  sentencepiece {spm.__version__}")

    print("training tiny vocabulary ...", flush=True)
    _, converted = train_tiny_vocab()
    # `converted` (slow -> fast conversion) is what save_pretrained writes in every fixture folder, so that
    # all tokenizer.json files are byte-identical to vocab/tokenizer.json. `fast` is loaded back from
    # vocab/tokenizer.json (what the Rust side reads) and used for encoding and parity.
    slow, fast = load_tiny_tokenizers()
    # ids sanity
    assert fast.convert_tokens_to_ids(["<pad>", "<unk>", "[CLS]", "[SEP]", "[MASK]"]) == [0, 1, 2, 3, 4]

    print("tokenizer parity (real albert-base-v2) ...", flush=True)
    rs = AlbertTokenizer(vocab_file=os.path.join(REAL_TOK, "spiece.model"))
    rf = AlbertTokenizerFast(tokenizer_file=os.path.join(REAL_TOK, "tokenizer.json"))
    known = "Hello world! The capital of France is [MASK]."
    want = [2, 10975, 126, 187, 14, 1057, 16, 714, 25, 4, 13, 9, 3]
    assert rs(known)["input_ids"] == want and rf(known)["input_ids"] == want
    _, dis = parity(
        rs,
        rf,
        "albert-base-v2",
        os.path.join(REAL_TOK, "spiece.model"),
        os.path.join(REAL_TOK, "tokenizer.json"),
        os.path.join(FIX, "tokenizer_parity.json"),
    )
    print(f"  {len(CASES)} cases, fast/slow disagree on {len(dis)}: {dis}")

    print("tokenizer parity (tiny vocab) ...", flush=True)
    _, dis = parity(
        slow,
        fast,
        "tiny",
        os.path.join(VOCAB_DIR, "spiece.model"),
        os.path.join(VOCAB_DIR, "tokenizer.json"),
        os.path.join(VOCAB_DIR, "parity.json"),
    )
    print(f"  {len(CASES)} cases, fast/slow disagree on {len(dis)}: {dis}")

    for name, cls, ov, seed, dtype, opts in FIXTURES:
        meta = make_fixture(name, cls, ov, seed, dtype, opts, slow, fast, converted)
        print(f"{name:12s} {dir_size(os.path.join(FIX, name)) / 1024:7.1f} KiB  {meta['stats']}", flush=True)


if __name__ == "__main__":
    main()
