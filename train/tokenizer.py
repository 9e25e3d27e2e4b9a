"""Trains a SentencePiece-style Unigram tokenizer with ALBERT's pipeline and special tokens.

The result is a standard `tokenizer.json` with the same structure as albert-base-v2's (see
../shared/data/albert-base-v2-tokenizer/tokenizer.json): normalizer Replace(``→") Replace(''→")
NFKD StripAccents Lowercase Replace(" {2,}"→" ") (plus tabs/newlines → space first, which
SentencePiece's precompiled map does for the original), Metaspace(▁, prepend always), Unigram
model, [CLS] A [SEP] (B [SEP]) template, and the special tokens <pad> <unk> [CLS] [SEP] [MASK]
at ids 0-4, [MASK] with lstrip as in ALBERT.

No piece straddles letters and punctuation (ASCII punctuation and Unicode category P*, tokenizers'
`is_punctuation`): "door," is "▁door" + ",", and the vocabulary does not spend entries on
"▁door,", "▁door." and "▁door;", while `▁"` and `!"` (punctuation only) stay, as in ALBERT's own
vocabulary. The trainer runs on plain Metaspace words for --overshoot more pieces than asked,
then `prune` drops every mixed piece and the lowest-scoring rest down to --vocab-size. (Splitting
the words at punctuation before training instead made the EM drop "▁a" and "▁wrote" for
"▁" + "a" and "▁wrot" + "e".) The file keeps ALBERT's plain Metaspace pre-tokenizer: with no
piece across a letter/punctuation boundary, Viterbi splits there by itself, and every ALBERT
tokenizer implementation reads the file unchanged.

    python tokenizer.py --vocab-size 8192 --fraction 0.1 --out data/tok8k/tokenizer.json
"""

from __future__ import annotations

import argparse
import json
import os
import string
import time
import unicodedata

from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

import corpus

ADDED_TOKENS = [
    {"id": i, "content": t, "single_word": False, "lstrip": t == "[MASK]", "rstrip": False, "normalized": False, "special": True}
    for i, t in enumerate(corpus.SPECIAL_TOKENS)
]


def albert_normalizer():
    return normalizers.Sequence([
        normalizers.Replace("``", '"'),
        normalizers.Replace("''", '"'),
        normalizers.NFKD(),
        normalizers.StripAccents(),
        normalizers.Lowercase(),
        normalizers.Replace(_regex(r"[\t\n\r]"), " "),
        normalizers.Replace(_regex(" {2,}"), " "),
    ])


def _regex(p):
    from tokenizers import Regex

    return Regex(p)


def finalize(tok: Tokenizer) -> Tokenizer:
    """Sets the post-processor, decoder and ALBERT's added tokens exactly (via the JSON)."""
    j = json.loads(tok.to_str())
    assert [v[0] for v in j["model"]["vocab"][:5]] == corpus.SPECIAL_TOKENS, j["model"]["vocab"][:5]
    j["model"]["unk_id"] = corpus.UNK
    j["added_tokens"] = ADDED_TOKENS
    j["post_processor"] = {
        "type": "TemplateProcessing",
        "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                   {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
        "pair": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                 {"SpecialToken": {"id": "[SEP]", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}},
                 {"SpecialToken": {"id": "[SEP]", "type_id": 1}}],
        "special_tokens": {"[CLS]": {"id": "[CLS]", "ids": [corpus.CLS], "tokens": ["[CLS]"]},
                           "[SEP]": {"id": "[SEP]", "ids": [corpus.SEP], "tokens": ["[SEP]"]}},
    }
    j["decoder"] = {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": True}
    j["truncation"] = None
    j["padding"] = None
    # Special tokens carry score 0.0 in ALBERT's vocabulary.
    for v in j["model"]["vocab"][:5]:
        v[1] = 0.0
    return Tokenizer.from_str(json.dumps(j, ensure_ascii=False))


def is_punctuation(ch: str) -> bool:
    """The Punctuation pre-tokenizer's test (tokenizers' `is_punctuation`): ASCII punctuation,
    which includes symbols such as `$` and `+`, or Unicode general category P*."""
    return ch in string.punctuation or unicodedata.category(ch).startswith("P")


def mixed_pieces(tok: Tokenizer) -> list[str]:
    """Vocabulary entries (special tokens aside) that hold punctuation and other characters past
    their leading `▁`: there must be none."""
    special = set(corpus.SPECIAL_TOKENS)
    out = []
    for p in tok.get_vocab():
        body = p.removeprefix("\u2581")
        if p not in special and len({is_punctuation(c) for c in body}) > 1:
            out.append(p)
    return out


def prune(tok: Tokenizer, vocab_size: int) -> Tokenizer:
    """Drops mixed pieces, then the lowest-scoring multi-character pieces down to `vocab_size`
    (single characters stay: every input must stay encodable)."""
    j = json.loads(tok.to_str())
    mixed = set(mixed_pieces(tok))
    vocab = [v for v in j["model"]["vocab"] if v[0] not in mixed]
    extra = len(vocab) - vocab_size
    if extra > 0:
        multi = sorted((v[1], i) for i, v in enumerate(vocab) if i >= len(corpus.SPECIAL_TOKENS) and len(v[0]) > 1)
        drop = {i for _, i in multi[:extra]}
        vocab = [v for i, v in enumerate(vocab) if i not in drop]
    j["model"]["vocab"] = vocab
    print(f"[tokenizer] pruned {len(mixed)} mixed pieces and {max(0, extra)} low-scoring ones → {len(vocab)} pieces")
    return Tokenizer.from_str(json.dumps(j, ensure_ascii=False))


def metaspace():
    return pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always", split=True)


def train(sentences, vocab_size: int, overshoot: int = 900) -> Tokenizer:
    tok = Tokenizer(models.Unigram())
    tok.normalizer = albert_normalizer()
    tok.pre_tokenizer = metaspace()
    tok.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always", split=True)
    trainer = trainers.UnigramTrainer(
        vocab_size=vocab_size + overshoot,
        special_tokens=list(corpus.SPECIAL_TOKENS),
        unk_token="<unk>",
        max_piece_length=16,
        shrinking_factor=0.75,
        n_sub_iterations=2,
        show_progress=False,
    )
    tok.train_from_iterator(sentences, trainer=trainer, length=len(sentences))
    tok = finalize(prune(tok, vocab_size))
    mixed = mixed_pieces(tok)
    if mixed:
        raise SystemExit(f"tokenizer: {len(mixed)} pieces mix punctuation with other characters, e.g. {mixed[:10]}")
    return tok


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", default=corpus.TRAIN_XZ)
    ap.add_argument("--vocab-size", type=int, default=8192)
    ap.add_argument("--overshoot", type=int, default=900, help="train this many more pieces, then prune mixed ones")
    ap.add_argument("--fraction", type=float, default=0.1, help="evenly spread fraction of the corpus to train on")
    ap.add_argument("--max-chars", type=int, default=None, help="read only the first N characters (smoke tests)")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    t0 = time.time()
    text = corpus.read_text(a.corpus, a.max_chars)
    # Paragraph-sized training sentences (SentencePiece trains on lines).
    sents = [s for d in corpus.documents(text, a.fraction) for s in d]
    del text
    print(f"[tokenizer] training Unigram {a.vocab_size} on {len(sents)} sentences, {sum(map(len, sents)) / 1e6:.1f} M chars")
    tok = train(sents, a.vocab_size, a.overshoot)
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    tok.save(a.out)
    enc = tok.encode("She wrote a [MASK] to her mother.")
    print(f"[tokenizer] vocab {tok.get_vocab_size()} → {a.out} ({time.time() - t0:.0f} s); sample: {enc.tokens}")


if __name__ == "__main__":
    main()
