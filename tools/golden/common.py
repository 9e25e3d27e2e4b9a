"""Paths and small helpers shared by the fixture generators (make_fixtures.py, make_inside.py,
tokenizer_fixtures.py): where the fixtures and ../shared/data live, and how files are written."""

import hashlib
import json
import os
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
SHARED = os.environ.get(
    "ALBERT_SHARED_DATA", os.path.abspath(os.path.join(REPO, "..", "shared", "data"))
)
CORPUS = os.path.join(SHARED, "corpus", "gutenberg-valid.txt.xz")
REAL_TOK = os.path.join(SHARED, "albert-base-v2-tokenizer")
FIX = os.path.join(REPO, "crates", "albert", "tests", "fixtures")
VOCAB_DIR = os.path.join(FIX, "vocab")


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        h.update(f.read())
    return h.hexdigest()


def write_json(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, indent=1)
        f.write("\n")


def reset_dir(path):
    if os.path.isdir(path):
        shutil.rmtree(path)
    os.makedirs(path)

