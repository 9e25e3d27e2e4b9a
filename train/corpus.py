"""Corpus reading and tokenized caches: the text the default model is trained and evaluated on.

The corpus (../shared/data/corpus/gutenberg-*.txt.xz) is read in place with lzma and never
copied. Text is split into *documents* (runs of paragraphs between 3+ blank lines: chapters,
sections, book boundaries), paragraphs (hard-wrapped lines joined) and sentences (a small
rule-based splitter). A cache `.npz` holds the token ids of every sentence, flat, with the sentence
and document offsets; data.py draws examples from it on the fly, so the sequence length can change
during training (curriculum) and every epoch sees new segment pairs and new masks.

    python corpus.py --tokenizer TOKENIZER.json [--corpus X.txt.xz] [--fraction F] --out CACHE.npz
"""

from __future__ import annotations

import lzma
import os
import re
import time
from dataclasses import dataclass

import numpy as np

PAD, UNK, CLS, SEP, MASK = 0, 1, 2, 3, 4
SPECIAL_TOKENS = ["<pad>", "<unk>", "[CLS]", "[SEP]", "[MASK]"]

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS_DIR = os.path.normpath(os.path.join(HERE, "..", "..", "shared", "data", "corpus"))
TRAIN_XZ = os.path.join(CORPUS_DIR, "gutenberg-train.txt.xz")
VALID_XZ = os.path.join(CORPUS_DIR, "gutenberg-valid.txt.xz")


# --------------------------------------------------------------------------------------------
# Corpus text → documents → sentences


def read_text(path: str, max_chars: int | None = None) -> str:
    with lzma.open(path, "rt", encoding="utf-8") as f:
        return f.read(max_chars) if max_chars else f.read()


_BLANKS = re.compile(r"\n(?:[ \t]*\n)+")
_WS = re.compile(r"\s+")
# A sentence ends at . ! ? (plus closing quotes/brackets) followed by space and an opening
# quote/bracket or capital letter. Common abbreviations are not ends.
_SENT_END = re.compile(r"[.!?]+[\"'\u201d\u2019)\]]*\s+(?=[\"'\u201c\u2018(\[_]?[A-Z0-9])")
_ABBREV = re.compile(r"(?:\b(?:Mr|Mrs|Ms|Dr|St|Mt|Jr|Sr|Capt|Col|Gen|Lt|Rev|Prof|Hon|Messrs|vs|viz|etc|i\.e|e\.g|No|Vol|ch|p)|\b[A-Z])\.$")


def split_sentences(par: str) -> list[str]:
    out, start = [], 0
    for m in _SENT_END.finditer(par):
        head = par[start : m.start() + 1]
        if _ABBREV.search(head):
            continue
        s = par[start : m.end()].strip()
        if s:
            out.append(s)
        start = m.end()
    tail = par[start:].strip()
    if tail:
        out.append(tail)
    return out


def documents(text: str, fraction: float = 1.0, block: int = 50) -> list[list[str]]:
    """Splits text into documents (lists of sentences).

    Paragraphs are separated by blank lines; 3+ blank lines start a new document. `fraction` < 1
    keeps a deterministic, evenly spread subset: of every run of 100 consecutive blocks of
    `block` paragraphs, the first round(100 * fraction) blocks (so every book contributes).
    """
    docs: list[list[str]] = [[]]
    keep_per_100 = int(round(100 * fraction))
    pos, par_idx = 0, 0
    for m in list(_BLANKS.finditer(text)) + [None]:
        end = m.start() if m is not None else len(text)
        raw = text[pos:end]
        new_doc = m is not None and m.group(0).count("\n") >= 4
        pos = m.end() if m is not None else len(text)
        keep = (par_idx // block) % 100 < keep_per_100
        par_idx += 1
        if keep:
            par = _WS.sub(" ", raw).strip()
            if par and not par.startswith("[Illustration"):
                docs[-1].extend(split_sentences(par))
        if new_doc and docs[-1]:
            docs.append([])
    return [d for d in docs if d]


# --------------------------------------------------------------------------------------------
# Tokenized cache


@dataclass
class TokenCache:
    ids: np.ndarray  # uint16 (or int32), all sentences' ids, flat
    sent_starts: np.ndarray  # int64, len n_sent + 1: sentence i is ids[s[i]:s[i+1]]
    doc_starts: np.ndarray  # int64, len n_doc + 1: document j is sentences d[j]:d[j+1]
    is_word_start: np.ndarray  # bool per vocab id: piece starts a word (begins with ▁) or is special

    @property
    def n_tokens(self) -> int:
        return int(self.ids.shape[0])

    def sentence_documents(self) -> np.ndarray:
        """Each sentence's document index (len n_sent), to keep a pair inside one document."""
        return np.repeat(np.arange(len(self.doc_starts) - 1), np.diff(self.doc_starts))

    def save(self, path: str) -> None:
        np.savez(path, ids=self.ids, sent_starts=self.sent_starts, doc_starts=self.doc_starts, is_word_start=self.is_word_start)

    @staticmethod
    def load(path: str) -> "TokenCache":
        z = np.load(path)
        return TokenCache(z["ids"], z["sent_starts"], z["doc_starts"], z["is_word_start"])


def word_start_table(tok) -> np.ndarray:
    vocab = tok.get_vocab()
    table = np.zeros(max(vocab.values()) + 1, dtype=bool)
    for piece, i in vocab.items():
        table[i] = piece.startswith("\u2581") or i < len(SPECIAL_TOKENS) or not piece[:1].isalnum()
    return table


def build_cache(tok, xz_path: str, fraction: float, out_path: str, max_chars: int | None = None, log=print) -> TokenCache:
    t0 = time.time()
    text = read_text(xz_path, max_chars)
    docs = documents(text, fraction)
    del text
    sents = [s for d in docs for s in d]
    log(f"[data] {xz_path}: fraction {fraction}: {len(docs)} documents, {len(sents)} sentences, "
        f"{sum(map(len, sents)) / 1e6:.1f} M chars ({time.time() - t0:.0f} s); tokenizing")
    lens = np.zeros(len(sents), dtype=np.int64)
    chunks = []
    step = 20000
    for i in range(0, len(sents), step):
        encs = tok.encode_batch(sents[i : i + step], add_special_tokens=False)
        for j, e in enumerate(encs):
            lens[i + j] = len(e.ids)
            chunks.append(np.asarray(e.ids, dtype=np.uint16))
    ids = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.uint16)
    sent_starts = np.zeros(len(sents) + 1, dtype=np.int64)
    np.cumsum(lens, out=sent_starts[1:])
    doc_starts = np.zeros(len(docs) + 1, dtype=np.int64)
    np.cumsum([len(d) for d in docs], out=doc_starts[1:])
    cache = TokenCache(ids, sent_starts, doc_starts, word_start_table(tok))
    os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
    cache.save(out_path)
    log(f"[data] {cache.n_tokens / 1e6:.2f} M tokens ({sum(map(len, sents)) / max(1, cache.n_tokens):.2f} chars/token) "
        f"→ {out_path} ({time.time() - t0:.0f} s)")
    return cache


def main():
    import argparse

    from tokenizers import Tokenizer

    ap = argparse.ArgumentParser(description="Tokenize a fraction of a corpus file into a .npz cache.")
    ap.add_argument("--tokenizer", required=True)
    ap.add_argument("--corpus", default=TRAIN_XZ)
    ap.add_argument("--fraction", type=float, default=1.0)
    ap.add_argument("--max-chars", type=int, default=None, help="read only the first N characters")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    build_cache(Tokenizer.from_file(a.tokenizer), a.corpus, a.fraction, a.out, a.max_chars)


if __name__ == "__main__":
    main()
