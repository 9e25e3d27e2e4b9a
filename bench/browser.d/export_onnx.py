#!/usr/bin/env python3
"""Model folders for bench/browser: the same random ALBERT weights as safetensors (ours) and as
ONNX (transformers.js), with torch reference logits, checked against each other.

  export_onnx.py --shape base  [--out DIR]   # albert-base-v2 shapes: bench/compare's model
  export_onnx.py --shape small [--out DIR]   # 6 layers, H 384 (same vocabulary and E)
  export_onnx.py --from DIR --onnx-out DIR   # an existing HF-layout folder (the test fixture)

The weights come from bench/compare.py's ensure_model() (random init, seed 0, saved once under
bench/.cache/); for --shape small its module config is swapped for the small one, so the same
function creates bench/.cache/albert-small-random-{f32,f16}/. The output folder (default
bench/.cache/browser/<shape>/) gets config.json, model.safetensors, tokenizer.json (+ spiece.model),
tokenizer_config.json (tokenizer_class AlbertTokenizer, as transformers.js wants) and:

  onnx/model.onnx      AlbertForMaskedLM.forward: logits [batch, n, V] (all rows; what
                       transformers.js' fill-mask pipeline runs)
  onnx/model_row.onnx  the encoder, then the MLM head on the first [MASK] row only: logits
                       [batch, 1, V] (the work our app's ?bench=1 times)
  reference.json       torch's logits for the [MASK] row of the verify text and of the n=8
                       benchmark ids, the ids themselves, and the export's parity results

Both ONNX files come from the legacy exporter (torch.onnx.export, dynamo=False, opset 17) with
dynamic batch and sequence axes, and must match torch on onnxruntime within --tol (default 1e-3)
on the verify text and the n=8 and n=32 benchmark ids, else this exits 1. If target/release/albert
is fresh (scripts/albert-bin --check), `albert fill --json --logits --device cpu` is held against
torch the same way.
"""

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH = os.path.dirname(HERE)
sys.path.insert(0, BENCH)
import compare  # noqa: E402  (bench/compare.py: the model, the ids, the torch loader)

SMALL = dict(compare.BASE_V2, hidden_size=384, num_hidden_layers=6, num_attention_heads=6, intermediate_size=1536)
SHAPES = {"base": compare.BASE_V2, "small": SMALL}
OPSET = 17
EXPORT_VERSION = 2  # bump when the exported graphs change, to redo cached exports
MASK = compare.MASK


def log(msg):
    print(f"[browser-export {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def ensure_weights(shape):
    """compare.ensure_model() for `shape`: the base model is bench/compare's own cache."""
    if shape == "base":
        return compare.ensure_model()["f32"]
    cfg = SHAPES[shape]
    saved = compare.BASE_V2, compare.model_dirs
    compare.BASE_V2 = cfg
    compare.model_dirs = lambda: {d: os.path.join(compare.CACHE, f"albert-{shape}-random-{d}") for d in ("f32", "f16")}
    try:
        return compare.ensure_model()["f32"]
    finally:
        compare.BASE_V2, compare.model_dirs = saved


def model_config(folder):
    with open(os.path.join(folder, "config.json")) as f:
        cfg = json.load(f)
    return {k: cfg.get(k, v) for k, v in compare.BASE_V2.items()}


def load_torch(folder):
    """compare.torch_model() (state dict into a config-built model, tied head) for any shape."""
    saved = compare.BASE_V2
    compare.BASE_V2 = model_config(folder)
    try:
        model, _ = compare.torch_model(folder, "eager", "f32", "cpu")
    finally:
        compare.BASE_V2 = saved
    return model


def file_sha(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def tokenizer_config(src):
    path = os.path.join(src, "tokenizer_config.json")
    if os.path.exists(path):
        with open(path) as f:
            tc = json.load(f)
    else:  # albert-base-v2's settings
        tc = dict(do_lower_case=True, remove_space=True, keep_accents=False, bos_token="[CLS]", eos_token="[SEP]", unk_token="<unk>",
                  sep_token="[SEP]", pad_token="<pad>", cls_token="[CLS]", mask_token="[MASK]", model_max_length=512)
    tc["tokenizer_class"] = "AlbertTokenizer"
    return tc


def link_or_copy(src, dst):
    if os.path.exists(dst):
        os.remove(dst)
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


def prepare_folder(src, out):
    os.makedirs(os.path.join(out, "onnx"), exist_ok=True)
    for name in ("config.json", "model.safetensors", "tokenizer.json", "spiece.model"):
        if os.path.exists(os.path.join(src, name)):
            link_or_copy(os.path.join(src, name), os.path.join(out, name))
    with open(os.path.join(out, "tokenizer_config.json"), "w") as f:
        json.dump(tokenizer_config(src), f, indent=1)


def wrappers(model):
    import torch

    class Full(torch.nn.Module):
        """AlbertForMaskedLM.forward → logits [b, n, V]."""

        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.m(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).logits

    class Row(torch.nn.Module):
        """The encoder, then the MLM head on the first [MASK] row of each sequence → [b, 1, V]."""

        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, input_ids, attention_mask, token_type_ids):
            h = self.m.albert(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)[0]
            pos = (input_ids == MASK).to(torch.int64).argmax(dim=1)  # first [MASK] (0 if none)
            row = torch.gather(h, 1, pos.view(-1, 1, 1).expand(-1, 1, h.shape[-1]))
            return self.m.predictions(row)

    return Full(model).eval(), Row(model).eval()


def export(module, path, sample):
    import torch

    seq_axes = {0: "batch", 1: "sequence"}
    out_axes = {0: "batch", 1: "sequence"} if path.endswith("model.onnx") else {0: "batch"}
    tmp = path + ".tmp"
    with torch.inference_mode():
        torch.onnx.export(
            module, sample, tmp, dynamo=False, opset_version=OPSET, do_constant_folding=True,
            input_names=["input_ids", "attention_mask", "token_type_ids"], output_names=["logits"],
            dynamic_axes={"input_ids": seq_axes, "attention_mask": seq_axes, "token_type_ids": seq_axes, "logits": out_axes},
        )
    os.replace(tmp, path)


def tokenize(folder, text):
    from tokenizers import Tokenizer

    enc = Tokenizer.from_file(os.path.join(folder, "tokenizer.json")).encode(text)
    return list(enc.ids)


def cases(folder, vocab, max_len):
    out = {}
    if os.path.exists(os.path.join(folder, "tokenizer.json")):
        ids = tokenize(folder, compare.VERIFY_TEXT)
        out["verify_text"] = dict(text=compare.VERIFY_TEXT, ids=ids)
    for n in (8, 32):
        if n <= max_len:
            out[f"bench_n{n}"] = dict(ids=compare.bench_ids(n, vocab))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--shape", choices=sorted(SHAPES), help="create (once) and export the random model of this shape")
    g.add_argument("--from", dest="src", help="export this HF-layout folder (ONNX and reference.json go to --onnx-out)")
    ap.add_argument("--out", help="output model folder for --shape (default bench/.cache/browser/<shape>)")
    ap.add_argument("--onnx-out", help="with --from: where onnx/ and reference.json go")
    ap.add_argument("--tol", type=float, default=1e-3, help="max |Δlogit| between ONNX (onnxruntime), torch and ours (default 1e-3)")
    ap.add_argument("--force", action="store_true", help="export again even if the folder is up to date")
    args = ap.parse_args()

    t0 = time.perf_counter()
    if args.shape:
        src = ensure_weights(args.shape)
        out = args.out or os.path.join(compare.CACHE, "browser", args.shape)
        prepare_folder(src, out)
        onnx_root, model_dir = out, out
    else:
        if not args.onnx_out:
            ap.error("--from needs --onnx-out")
        src = model_dir = os.path.abspath(args.src)
        onnx_root = args.onnx_out
        os.makedirs(os.path.join(onnx_root, "onnx"), exist_ok=True)

    weights_sha = file_sha(os.path.join(src, "model.safetensors"))
    ref_path = os.path.join(onnx_root, "reference.json")
    if not args.force and os.path.exists(ref_path):
        with open(ref_path) as f:
            old = json.load(f)
        if old.get("weights_sha256") == weights_sha and old.get("export_version") == EXPORT_VERSION and old.get("parity", {}).get("ok") \
                and all(os.path.exists(os.path.join(onnx_root, "onnx", n)) for n in ("model.onnx", "model_row.onnx")):
            log(f"{onnx_root}: up to date (weights {weights_sha[:12]}, parity ok)")
            print(json.dumps(dict(model_dir=os.path.abspath(model_dir), onnx_dir=os.path.abspath(os.path.join(onnx_root, "onnx")), reference=os.path.abspath(ref_path))))
            return 0

    import numpy as np
    import onnx
    import onnxruntime as ort
    import torch
    import transformers

    cfg = model_config(model_dir)
    vocab, max_len = cfg["vocab_size"], cfg["max_position_embeddings"]
    model = load_torch(model_dir)
    full, row = wrappers(model)
    sample_ids = torch.tensor([compare.bench_ids(8, vocab)])
    sample = (sample_ids, torch.ones_like(sample_ids), torch.zeros_like(sample_ids))
    paths = {"full": os.path.join(onnx_root, "onnx", "model.onnx"), "row": os.path.join(onnx_root, "onnx", "model_row.onnx")}
    te = time.perf_counter()
    for name, mod in (("full", full), ("row", row)):
        export(mod, paths[name], sample)
        onnx.checker.check_model(paths[name])
        log(f"exported {paths[name]} ({os.path.getsize(paths[name]) / 2**20:.1f} MiB)")
    export_s = time.perf_counter() - te

    # Parity: onnxruntime (both graphs) vs torch, and ours (CLI) vs torch when the binary exists.
    sessions = {k: ort.InferenceSession(p, providers=["CPUExecutionProvider"]) for k, p in paths.items()}
    ref = dict(model=os.path.basename(os.path.normpath(model_dir)), config=cfg, tol=args.tol, weights_sha256=weights_sha, export_version=EXPORT_VERSION,
               opset=OPSET, versions=dict(torch=torch.__version__, transformers=transformers.__version__, onnx=onnx.__version__, onnxruntime=ort.__version__),
               cases={}, parity=dict(checks=[]))
    ok = True
    for cname, case in cases(model_dir, vocab, max_len).items():
        ids = torch.tensor([case["ids"]])
        pos = case["ids"].index(MASK)
        feeds = dict(input_ids=ids.numpy().astype(np.int64), attention_mask=np.ones_like(ids.numpy(), dtype=np.int64), token_type_ids=np.zeros_like(ids.numpy(), dtype=np.int64))
        with torch.inference_mode():
            logits = full(torch.from_numpy(feeds["input_ids"]), torch.from_numpy(feeds["attention_mask"]), torch.from_numpy(feeds["token_type_ids"]))[0]
        want = logits[pos].numpy().astype(np.float64)
        got_full = sessions["full"].run(None, feeds)[0][0]
        got_row = sessions["row"].run(None, feeds)[0][0, 0]
        d_full = float(np.abs(got_full.astype(np.float64) - logits.numpy()).max())
        d_row = float(np.abs(got_row.astype(np.float64) - want).max())
        top = np.argsort(-want, kind="stable")[:5]
        probs = np.exp(want - want.max())
        probs /= probs.sum()
        case = dict(case, mask_position=pos, logits=[float(x) for x in want], top5=[dict(id=int(i), prob=float(probs[i])) for i in top])
        ref["cases"][cname] = case
        for what, d in (("onnx model.onnx (all rows) vs torch", d_full), ("onnx model_row.onnx vs torch", d_row)):
            good = d <= args.tol
            ok &= good
            ref["parity"]["checks"].append(dict(case=cname, what=what, max_abs_diff=d, ok=good))
            log(f"parity {cname}: {what}: max |Δ| {d:.2e} {'ok' if good else 'FAILED'}")
    # The CLI is held against torch only when it is no older than its sources (the tests' rule).
    fresh = subprocess.run(["bash", os.path.join(compare.REPO, "scripts", "albert-bin"), "--check"], capture_output=True, text=True)
    if fresh.returncode != 0:
        log(f"parity: albert fill not checked: {fresh.stderr.strip()}")
    if fresh.returncode == 0 and "verify_text" in ref["cases"]:
        case = ref["cases"]["verify_text"]
        p = subprocess.run([compare.BIN, "fill", "--model", model_dir, "--text", case["text"], "--json", "--logits", "--device", "cpu"], capture_output=True, text=True)
        if p.returncode != 0:
            ok = False
            ref["parity"]["checks"].append(dict(case="verify_text", what="albert fill --device cpu vs torch", ok=False, error=p.stderr[-2000:]))
            log(f"parity: albert fill failed: {p.stderr.strip()[-500:]}")
        else:
            v = json.loads(p.stdout)
            m = v["masks"][0]
            same_ids = v["ids"] == case["ids"]
            d = float(np.abs(np.array(m["logits"], dtype=np.float64) - np.array(case["logits"])).max()) if same_ids else float("inf")
            good = same_ids and m["position"] == case["mask_position"] and d <= args.tol
            ok &= good
            ref["parity"]["checks"].append(dict(case="verify_text", what="albert fill --device cpu vs torch", max_abs_diff=d, same_ids=same_ids, ok=good))
            log(f"parity verify_text: albert fill (cpu) vs torch: max |Δ| {d:.2e}, same ids {same_ids} {'ok' if good else 'FAILED'}")
    else:
        log(f"parity: no {compare.BIN} (or no tokenizer): ours-vs-torch CLI check skipped; the browser run checks ours in the page")
    ref["parity"]["ok"] = ok
    ref["export_s"] = export_s
    with open(ref_path, "w") as f:
        json.dump(ref, f)
    if not ok:
        log(f"FAILED: the exported models do not match torch within {args.tol} (see {ref_path})")
        return 1
    log(f"{onnx_root}: ready in {time.perf_counter() - t0:.0f} s")
    print(json.dumps(dict(model_dir=os.path.abspath(model_dir), onnx_dir=os.path.abspath(os.path.join(onnx_root, "onnx")), reference=os.path.abspath(ref_path))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
