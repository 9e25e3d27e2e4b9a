"""Unit check of compact.py's weights (in the smoke run): f32 round trips exactly while it fits a
commit; past WEIGHTS_LIMIT the 24-bit form (bf16 + u8) keeps every weight to within 2^-16 of
itself, rounded to nearest, and loads strictly (shared tensors once); the recipe's shape stays
f32 and its 2-group form (regroup.py) fits the 15 MB a commit may carry; an unknown form is refused.

    python -m check_compact
"""

from __future__ import annotations

import os
import tempfile

import torch
from safetensors import safe_open
from safetensors.torch import save_file

import compact
from model import build_config, new_model


def weights_equal(a, b, rel=0.0):
    pa, pb = dict(a.named_parameters()), dict(b.named_parameters())
    assert pa.keys() == pb.keys()
    worst = 0.0
    for n, x in pa.items():
        y = pb[n]
        err = ((x - y).abs() / x.abs().clamp_min(1e-30)).max().item() if x.numel() else 0.0
        worst = max(worst, err)
        assert err <= rel, f"{n}: relative error {err:.3g} > {rel:.3g}"
    return worst


def main():
    # split / join: to nearest, within 2^-16, exact where 24 bits hold the value.
    g = torch.Generator().manual_seed(0)
    x = torch.randn(100_000, generator=g) * torch.logspace(-20, 20, 100_000)
    x[:4] = torch.tensor([0.0, -0.0, 1.0, -3.5])
    y = compact.join_f32(*compact.split_f32(x))
    rel = ((y.double() - x.double()).abs() / x.double().abs().clamp_min(1e-300))[4:]
    assert rel.max().item() <= 2.0 ** -16, rel.max().item()
    assert torch.equal(y[:4], x[:4]), y[:4]
    assert rel.max().item() > 2.0 ** -17, "the check would not see truncation"   # the bound is tight

    torch.manual_seed(0)
    cfg = build_config(300, embedding=16, hidden=32, heads=2, ffn=64, layers=4, groups=2, max_pos=64)
    model = new_model(cfg)
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, compact.WEIGHTS)
        compact.write_weights(model, path)
        f32_size = os.path.getsize(path)
        back = new_model(cfg)
        compact.read_weights(back, path)
        weights_equal(model, back)  # exact

        limit = compact.WEIGHTS_LIMIT
        compact.WEIGHTS_LIMIT = 1000
        try:
            compact.write_weights(model, path)
        finally:
            compact.WEIGHTS_LIMIT = limit
        with safe_open(path, "pt") as f:
            assert f.metadata()[compact.SPLIT_KEY] == compact.SPLIT_FORMAT
        assert os.path.getsize(path) < 0.85 * f32_size, (os.path.getsize(path), f32_size)
        back = new_model(cfg)
        compact.read_weights(back, path)
        worst = weights_equal(model, back, 2.0 ** -16)
        assert back.predictions.decoder.weight is back.albert.embeddings.word_embeddings.weight, "the tie was lost"

        save_file({"x": torch.zeros(2)}, path, metadata={"format": "pt", compact.SPLIT_KEY: "fp8"})
        try:
            compact.read_weights(back, path)
            raise AssertionError("an unknown form was loaded")
        except ValueError as e:
            assert "'fp8'" in str(e), e

        # The recipe's shape (recipe.sh) in f32, and as 2 groups in the 24-bit form.
        sizes = {}
        for groups in (1, 2):
            m = new_model(build_config(8192, 128, 384, 6, 1536, 4, groups=groups, max_pos=512))
            compact.write_weights(m, path)
            with safe_open(path, "pt") as f:
                sizes[groups] = (os.path.getsize(path), (f.metadata() or {}).get(compact.SPLIT_KEY))
    assert sizes[1][1] is None and sizes[1][0] <= compact.WEIGHTS_LIMIT, sizes
    assert sizes[2][1] == compact.SPLIT_FORMAT and sizes[2][0] <= 15e6, sizes
    print(f"check_compact: ok (f32 exact; 24-bit within {worst:.2g} relative; the recipe's shape "
          f"{sizes[1][0] / 1e6:.2f} MB in f32, as 2 groups {sizes[2][0] / 1e6:.2f} MB in 24 bits)")


if __name__ == "__main__":
    main()
