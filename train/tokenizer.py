"""Trains a SentencePiece-style Unigram tokenizer with ALBERT's pipeline and special tokens.

The result is a standard `tokenizer.json` with the same structure as albert-base-v2's (see
../shared/data/albert-base-v2-tokenizer/tokenizer.json): normalizer Replace(``→") Replace(''→")
NFKD StripAccents Lowercase Replace(" {2,}"→" ") (plus tabs/newlines → space first, which
SentencePiece's precompiled map does for the original), Metaspace(▁, prepend always), Unigram
model, [CLS] A [SEP] (B [SEP]) template, and the special tokens <pad> <unk> [CLS] [SEP] [MASK]
at ids 0-4, [MASK] with lstrip as in ALBERT.

    python tokenizer.py --vocab-size 8192 --fraction 0.1 --out data/tok8k/tokenizer.json
"""

from __future__ import annotations

import argparse
import json
import os
import time

from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

import data

ADDED_TOKENS = [
    {"id": i, "content": t, "single_word": False, "lstrip": t == "[MASK]", "rstrip": False, "normalized": False, "special": True}
    for i, t in enumerate(data.SPECIAL_TOKENS)
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
    assert [v[0] for v in j["model"]["vocab"][:5]] == data.SPECIAL_TOKENS, j["model"]["vocab"][:5]
    j["model"]["unk_id"] = data.UNK
    j["added_tokens"] = ADDED_TOKENS
    j["post_processor"] = {
        "type": "TemplateProcessing",
        "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                   {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
        "pair": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                 {"SpecialToken": {"id": "[SEP]", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}},
                 {"SpecialToken": {"id": "[SEP]", "type_id": 1}}],
        "special_tokens": {"[CLS]": {"id": "[CLS]", "ids": [data.CLS], "tokens": ["[CLS]"]},
                           "[SEP]": {"id": "[SEP]", "ids": [data.SEP], "tokens": ["[SEP]"]}},
    }
    j["decoder"] = {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": True}
    j["truncation"] = None
    j["padding"] = None
    # Special tokens carry score 0.0 in ALBERT's vocabulary.
    for v in j["model"]["vocab"][:5]:
        v[1] = 0.0
    return Tokenizer.from_str(json.dumps(j, ensure_ascii=False))


def train(sentences, vocab_size: int) -> Tokenizer:
    tok = Tokenizer(models.Unigram())
    tok.normalizer = albert_normalizer()
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always", split=True)
    trainer = trainers.UnigramTrainer(
        vocab_size=vocab_size,
        special_tokens=list(data.SPECIAL_TOKENS),
        unk_token="<unk>",
        max_piece_length=16,
        shrinking_factor=0.75,
        n_sub_iterations=2,
        show_progress=False,
    )
    tok.train_from_iterator(sentences, trainer=trainer, length=len(sentences))
    return finalize(tok)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", default=data.TRAIN_XZ)
    ap.add_argument("--vocab-size", type=int, default=8192)
    ap.add_argument("--fraction", type=float, default=0.1, help="evenly spread fraction of the corpus to train on")
    ap.add_argument("--max-chars", type=int, default=None, help="read only the first N characters (smoke tests)")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    t0 = time.time()
    text = data.read_text(a.corpus, a.max_chars)
    # Paragraph-sized training sentences (SentencePiece trains on lines).
    sents = [s for d in data.documents(text, a.fraction) for s in d]
    del text
    print(f"[tokenizer] training Unigram {a.vocab_size} on {len(sents)} sentences, {sum(map(len, sents)) / 1e6:.1f} M chars")
    tok = train(sents, a.vocab_size)
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    tok.save(a.out)
    enc = tok.encode("She wrote a [MASK] to her mother.")
    print(f"[tokenizer] vocab {tok.get_vocab_size()} → {a.out} ({time.time() - t0:.0f} s); sample: {enc.tokens}")


if __name__ == "__main__":
    main()
