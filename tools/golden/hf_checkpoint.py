"""An HF checkpoint folder read back exactly as saved, for the goldens (make_fixtures.py,
make_inside.py): which tensors save_pretrained wrote, in which dtype and shard, and the model
built from config.json with exactly those tensors, upcast to float32 and checked against
transformers' own from_pretrained (which, in 4.46.3, loses a float32 checkpoint's
predictions.bias: load_checkpoint_f32 says why)."""

import os

import torch
from safetensors import safe_open
from safetensors.torch import load_file
from transformers import AlbertConfig


def checkpoint_tensors(d):
    """{name: [dtype, shape]} (+ shard file) for every tensor that save_pretrained wrote."""
    out = {}
    for fn in sorted(os.listdir(d)):
        if not fn.endswith(".safetensors") or fn == "golden.safetensors":
            continue
        with safe_open(os.path.join(d, fn), framework="pt") as f:
            for k in f.keys():
                sl = f.get_slice(k)
                out[k] = {"dtype": sl.get_dtype(), "shape": list(sl.get_shape()), "file": fn}
    return dict(sorted(out.items()))


TIED_KEYS = {"predictions.decoder.weight", "predictions.decoder.bias"}


def read_checkpoint(d):
    sd = {}
    for fn in sorted(os.listdir(d)):
        if fn.endswith(".safetensors") and fn != "golden.safetensors":
            part = load_file(os.path.join(d, fn))
            assert not (set(part) & set(sd))
            sd.update(part)
    return sd


def load_checkpoint_f32(cls, d):
    """Build the model from config.json and load exactly the tensors in the saved files, upcast to float32.

    Not `cls.from_pretrained(d)`: transformers 4.46.3 from_pretrained of a float32 AlbertForMaskedLM /
    AlbertForPreTraining checkpoint written by its own save_pretrained (which drops the tied
    predictions.decoder.bias) re-initialises the missing decoder bias to zeros, and because decoder.bias
    is the same Parameter as predictions.bias, the saved predictions.bias is lost (all zeros). (f16/bf16
    checkpoints load correctly.) Returns (model, whether from_pretrained kept predictions.bias)."""
    cfg = AlbertConfig.from_pretrained(d)
    cfg._attn_implementation = "eager"
    model = cls(cfg).to(torch.float32)
    sd = {k: v.to(torch.float32) for k, v in read_checkpoint(d).items()}
    res = model.load_state_dict(sd, strict=False)
    assert not res.unexpected_keys, res.unexpected_keys
    assert set(res.missing_keys) <= TIED_KEYS, res.missing_keys
    model.tie_weights()
    model.eval()
    msd = model.state_dict()
    for k, v in msd.items():
        src = sd[k] if k in sd else {
            "predictions.decoder.weight": sd.get("albert.embeddings.word_embeddings.weight"),
            "predictions.decoder.bias": sd.get("predictions.bias"),
        }[k]
        assert v.dtype == torch.float32 and torch.equal(v, src), k
    if hasattr(model, "predictions"):
        assert model.predictions.decoder.bias is model.predictions.bias
        assert model.predictions.decoder.weight is model.albert.embeddings.word_embeddings.weight

    # Cross-check against from_pretrained: everything equal except (possibly) the bias bug above.
    hf, info = cls.from_pretrained(d, torch_dtype=torch.float32, attn_implementation="eager", output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"] and not info["mismatched_keys"], info
    hf_bias_ok = True
    for k, v in hf.state_dict().items():
        if not torch.equal(v, msd[k]):
            assert k in ("predictions.bias", "predictions.decoder.bias") and not v.any(), k
            hf_bias_ok = False
    return model, hf_bias_ok
