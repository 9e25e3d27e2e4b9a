"""Parameter counts as transformers reports them, for the app's parameter calculator test.

Run:  tools/golden/.venv/bin/python tools/golden/param_counts.py
Writes src/view_model/testdata/param_counts.json: `AlbertModel(config).num_parameters()` for every
ALBERT preset under each sharing mode, and `BertModel(config).num_parameters()` for the BERT
presets (models built on the meta device: no memory, exact counts). Sharing: "all" is HF's
num_hidden_groups = 1; "none" is num_hidden_groups = L; "attention" / "ffn" are
num_hidden_groups = L with layer 0's attention (or FFN) sublayer reused by every layer, the ALBERT
paper's Table 4 variants (as train/model.py ties them); num_parameters() counts a shared tensor once.
"""

import json
import os

import torch
import transformers
from transformers import AlbertConfig, AlbertModel, BertConfig, BertModel

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "src", "view_model", "testdata", "param_counts.json")
# HF ids → (hidden, layers, heads, intermediate); v1 and v2 share shapes (vocab 30000, E 128).
ALBERT = {
    "albert-base-v1": (768, 12, 12, 3072), "albert-base-v2": (768, 12, 12, 3072),
    "albert-large-v1": (1024, 24, 16, 4096), "albert-large-v2": (1024, 24, 16, 4096),
    "albert-xlarge-v1": (2048, 24, 16, 8192), "albert-xlarge-v2": (2048, 24, 16, 8192),
    "albert-xxlarge-v1": (4096, 12, 64, 16384), "albert-xxlarge-v2": (4096, 12, 64, 16384),
}
BERT = {"bert-base-uncased": (768, 12, 12, 3072), "bert-large-uncased": (1024, 24, 16, 4096)}
TIES = {"attention": ("attention",), "ffn": ("ffn", "ffn_output", "full_layer_layer_norm")}


def albert(h, l, heads, i, sharing):
    groups = 1 if sharing == "all" else l
    cfg = AlbertConfig(vocab_size=30000, embedding_size=128, hidden_size=h, num_hidden_layers=l,
                       num_attention_heads=heads, intermediate_size=i, num_hidden_groups=groups)
    with torch.device("meta"):
        m = AlbertModel(cfg)
    if sharing in TIES:
        layers = [g.albert_layers[0] for g in m.encoder.albert_layer_groups]
        for layer in layers[1:]:
            for name in TIES[sharing]:
                setattr(layer, name, getattr(layers[0], name))
    return m.num_parameters()


def bert(h, l, heads, i):
    cfg = BertConfig(vocab_size=30522, hidden_size=h, num_hidden_layers=l, num_attention_heads=heads, intermediate_size=i)
    with torch.device("meta"):
        return BertModel(cfg).num_parameters()


def main():
    out = {"transformers": transformers.__version__, "albert": {}, "bert": {}}
    for k, shape in ALBERT.items():
        out["albert"][k] = {s: albert(*shape, s) for s in ("all", "attention", "ffn", "none")}
    for k, shape in BERT.items():
        out["bert"][k] = bert(*shape)
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
