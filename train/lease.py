"""What train/on-nvidia needs on a lent GPU machine, and its result brought back (issue 11).

A call to such a machine carries the repository's tracked files and the paths it names, 64 MiB
in all, and brings back at most 8 files of 16 MiB. The checkpoint (train/resume/) is tracked, so
it travels anyway; the training tokens (87 MB as uint16) do not fit beside the repository. So
`pack` writes .lease-train/ (git-ignored) with as many whole documents of the training cache as
fit, chosen at random (seeded) so no book is favoured, and the validation cache, both xz-compressed;
`unpack` (with the CPU run stopped) copies the returned checkpoint into train/resume/, adds the
GPU's log lines to the log, and moves the local optimizer checkpoint aside, so
train/continue.sh resumes from the GPU's weights (re-warming the learning rate).

    train/.venv/bin/python train/lease.py pack            # here, before the call
    run(carry=[".lease-train"], command="timeout 560 train/on-nvidia $OUT")
    train/.venv/bin/python train/lease.py unpack FILES_AT  # here, after it
"""

import argparse
import hashlib
import json
import lzma
import os
import shutil
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
LEASE = os.path.join(ROOT, ".lease-train")
RESUME = os.path.join(HERE, "resume")
CARRY_LIMIT = 64 << 20
# What on-nvidia writes to $OUT that unpack takes (the rest is read there: train.log, eval.json).
RETURNED = ("model.safetensors", "config.json", "state.json", "log-new.jsonl")


def stamp(tokenizer: str) -> str:
    """The token caches' name for this tokenizer, as continue.sh computes it."""
    with open(tokenizer, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()[:12]


def tracked_bytes() -> int:
    """Bytes of the repository's tracked files: what every call carries before `carry`."""
    names = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, check=True, capture_output=True).stdout.split(b"\0")
    return sum(os.path.getsize(os.path.join(ROOT, n.decode())) for n in names if n and os.path.isfile(os.path.join(ROOT, n.decode())))


def subset(z, budget_tokens: int, seed: int = 0):
    """Whole documents, drawn at random until `budget_tokens`, kept in corpus order."""
    ids, s, d = z["ids"], z["sent_starts"], z["doc_starts"]
    n_doc = len(d) - 1
    sizes = s[d[1:]] - s[d[:-1]]
    order = np.random.default_rng(seed).permutation(n_doc)
    keep = order[np.cumsum(sizes[order]) <= budget_tokens]
    keep.sort()
    parts, sent_lens, doc_sents = [], [], []
    for j in keep:
        a, b = s[d[j]], s[d[j + 1]]
        parts.append(ids[a:b])
        sent_lens.append(np.diff(s[d[j]:d[j + 1] + 1]))
        doc_sents.append(d[j + 1] - d[j])
    sent_starts = np.concatenate([[0], np.cumsum(np.concatenate(sent_lens))]).astype(np.int64)
    doc_starts = np.concatenate([[0], np.cumsum(doc_sents)]).astype(np.int64)
    return {"ids": np.concatenate(parts), "sent_starts": sent_starts, "doc_starts": doc_starts,
            "is_word_start": z["is_word_start"]}, len(keep), n_doc


def write_xz(path: str, arrays: dict) -> int:
    tmp = path + ".npz"
    np.savez(tmp, **arrays)
    with open(tmp, "rb") as f, lzma.open(path, "wb", preset=6) as out:
        shutil.copyfileobj(f, out, 1 << 20)
    os.remove(tmp)
    return os.path.getsize(path)


def pack(a):
    tok = os.path.join(RESUME, "tokenizer.json")
    st = stamp(tok)
    train_cache = os.path.join(HERE, "data", f"train-{st}.npz")
    valid_cache = os.path.join(HERE, "data", f"valid-{st}.npz")
    for p in (train_cache, valid_cache):
        if not os.path.exists(p):
            sys.exit(f"lease.py: expected the token cache {p} (train/continue.sh builds it), found none")
    os.makedirs(LEASE, exist_ok=True)
    for f in os.listdir(LEASE):
        os.remove(os.path.join(LEASE, f))
    valid_bytes = write_xz(os.path.join(LEASE, "valid.xz"), dict(np.load(valid_cache)))
    tracked = tracked_bytes()
    room = CARRY_LIMIT - tracked - valid_bytes - int(a.margin_mb * 1e6)
    z = np.load(train_cache)
    # xz takes uint16 token streams to about 0.52 of their size (measured here on this cache).
    budget = int(room / (2 * 0.55))
    while True:
        arrays, kept, n_doc = subset(z, budget)
        size = write_xz(os.path.join(LEASE, "train.xz"), arrays)
        if size <= room:
            break
        budget = int(budget * room / size * 0.97)
    n = len(arrays["ids"])
    with open(os.path.join(LEASE, "lease.json"), "w") as f:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
        json.dump({"stamp": st, "rev": rev, "documents": kept, "of_documents": n_doc, "tokens": n,
                   "of_tokens": int(len(z["ids"]))}, f)
    print(f"lease.py: {LEASE}: {kept} of {n_doc} documents, {n / 1e6:.1f} M of {len(z['ids']) / 1e6:.1f} M tokens "
          f"({size / 1e6:.1f} MB xz) and the validation cache ({valid_bytes / 1e6:.1f} MB); "
          f"with the tracked files {(tracked + size + valid_bytes) / 2**20:.1f} MiB of the call's 64")


def unxz(a):
    """On the device: the carried caches back to .npz files train.py reads."""
    os.makedirs(a.dest, exist_ok=True)
    for name in ("train", "valid"):
        with lzma.open(os.path.join(a.lease, f"{name}.xz"), "rb") as f, open(os.path.join(a.dest, f"{name}.npz"), "wb") as out:
            shutil.copyfileobj(f, out, 1 << 20)
    print(f"lease.py: unpacked into {a.dest}")


def unpack(a):
    missing = [f for f in RETURNED if not os.path.exists(os.path.join(a.files_at, f))]
    if missing:
        sys.exit(f"lease.py: expected {', '.join(RETURNED)} in {a.files_at}; missing {', '.join(missing)}")
    # The CPU run writes train/resume/ at every checkpoint: it would overwrite the GPU's.
    if a.into == RESUME and subprocess.run(["pgrep", "-f", "python train.py"], capture_output=True).returncode == 0:
        sys.exit("lease.py: train.py is running here; stop it first (pkill -TERM -f 'python train.py')")
    with open(os.path.join(a.files_at, "state.json")) as f:
        back = json.load(f)
    with open(os.path.join(a.into, "state.json")) as f:
        here = json.load(f)
    if back.get("tokens", 0) <= here.get("tokens", 0) and not a.force:
        sys.exit(f"lease.py: the returned checkpoint has {back.get('tokens')} tokens, train/resume/ {here.get('tokens')}: "
                 "not newer (--force to take it anyway)")
    with open(os.path.join(a.files_at, "log-new.jsonl")) as f:
        new_lines = f.readlines()
    for f in RETURNED:
        if f != "log-new.jsonl":
            shutil.copyfile(os.path.join(a.files_at, f), os.path.join(a.into, f))
    # The local log keeps what the CPU logged meanwhile (a branch the GPU's weights replace).
    with open(os.path.join(a.into, "log.jsonl"), "a") as f:
        f.writelines(new_lines)
    ckpt = os.path.join(HERE, "runs", "default", "ckpt.pt")
    moved = a.into == RESUME and os.path.exists(ckpt)
    if moved:
        os.replace(ckpt, ckpt + ".before-gpu")
    print(f"lease.py: {a.into} now holds step {back.get('step')}, {back.get('tokens', 0) / 1e6:.1f} M tokens, and the GPU's "
          f"{len(new_lines)} log lines" + (f"; {ckpt} moved aside, so train/continue.sh resumes from it" if moved else ""))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("pack", help="write .lease-train/ here")
    p.add_argument("--margin-mb", type=float, default=1.5, help="room left in the call for untracked files")
    p.set_defaults(f=pack)
    p = sub.add_parser("unxz", help="on the device: the carried caches back to .npz")
    p.add_argument("lease")
    p.add_argument("dest")
    p.set_defaults(f=unxz)
    p = sub.add_parser("unpack", help="take the returned checkpoint into train/resume/")
    p.add_argument("files_at")
    p.add_argument("--force", action="store_true")
    p.add_argument("--into", default=RESUME, help="the compact checkpoint to update (default train/resume/)")
    p.set_defaults(f=unpack)
    a = ap.parse_args()
    a.f(a)


if __name__ == "__main__":
    main()
