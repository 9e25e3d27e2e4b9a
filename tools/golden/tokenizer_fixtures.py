"""The tokenizer fixtures: the tiny SentencePiece vocabulary every checkpoint fixture uses, and the
parity files (transformers' fast and slow tokenizers, and the `tokenizers` library, on
parity_cases.CASES) that the engine's tokenizer is tested against, for the tiny and the real
albert-base-v2 vocabularies. Called from make_fixtures.py."""

import io
import json
import lzma
import os

import sentencepiece as spm
import transformers
from tokenizers import Tokenizer
from transformers import AlbertTokenizer, AlbertTokenizerFast

from common import CORPUS, VOCAB_DIR, reset_dir, sha256
from parity_cases import CASES

TINY_VOCAB_SIZE = 1000
CORPUS_CHARS = 3_000_000  # first ~3 MB of the validation corpus


# --------------------------------------------------------------------------------------------
# 1. tiny SentencePiece vocabulary
# --------------------------------------------------------------------------------------------


def corpus_lines():
    with lzma.open(CORPUS, "rt", encoding="utf-8") as f:
        text = f.read(CORPUS_CHARS)
    for line in text.split("\n"):
        line = line.strip()
        if line:
            yield line


def train_tiny_vocab():
    reset_dir(VOCAB_DIR)
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=corpus_lines(),
        model_writer=model,
        model_type="unigram",
        vocab_size=TINY_VOCAB_SIZE,
        character_coverage=0.9995,
        normalization_rule_name="nmt_nfkc",
        pad_id=0,
        unk_id=1,
        bos_id=-1,
        eos_id=-1,
        pad_piece="<pad>",
        unk_piece="<unk>",
        control_symbols=["[CLS]", "[SEP]", "[MASK]"],
        max_sentence_length=4192,
        input_sentence_size=0,
        shuffle_input_sentence=False,
        num_threads=1,
        minloglevel=2,
    )
    spiece = os.path.join(VOCAB_DIR, "spiece.model")
    with open(spiece, "wb") as f:
        f.write(model.getvalue())

    sp = spm.SentencePieceProcessor(model_file=spiece)
    expect = {"<pad>": 0, "<unk>": 1, "[CLS]": 2, "[SEP]": 3, "[MASK]": 4}
    for piece, i in expect.items():
        assert sp.piece_to_id(piece) == i, (piece, sp.piece_to_id(piece), i)
    assert sp.get_piece_size() == TINY_VOCAB_SIZE

    # Slow tokenizer with ALBERT's defaults, then fast converted from it (AlbertConverter).
    slow = AlbertTokenizer(vocab_file=spiece, do_lower_case=True, keep_accents=False)
    fast = AlbertTokenizerFast(vocab_file=spiece, do_lower_case=True, keep_accents=False)
    assert fast.is_fast and fast.can_save_slow_tokenizer
    fast.save_pretrained(VOCAB_DIR)
    # save_pretrained copies spiece.model onto itself (same path): verify unchanged.
    assert open(spiece, "rb").read() == model.getvalue()
    return slow, fast


def load_tiny_tokenizers():
    slow = AlbertTokenizer(vocab_file=os.path.join(VOCAB_DIR, "spiece.model"))
    fast = AlbertTokenizerFast(
        vocab_file=os.path.join(VOCAB_DIR, "spiece.model"),
        tokenizer_file=os.path.join(VOCAB_DIR, "tokenizer.json"),
    )
    return slow, fast


# --------------------------------------------------------------------------------------------
# 2. tokenizer parity
# --------------------------------------------------------------------------------------------


def byte_offsets(text, offsets):
    """Convert code-point offsets (Python str indices) into UTF-8 byte offsets."""
    if text is None:
        return offsets
    cum = [0]
    for ch in text:
        cum.append(cum[-1] + len(ch.encode("utf-8")))
    return [[cum[a], cum[b]] for a, b in offsets]


def parity(slow, fast, vocab_name, spiece_path, tokjson_path, out_path):
    raw = Tokenizer.from_file(tokjson_path)
    cases = []
    disagree = []
    disagree_tk = []
    for idx, (text, pair) in enumerate(CASES):
        er = raw.encode(text, pair, add_special_tokens=True)
        ef = fast(text, pair, add_special_tokens=True, return_offsets_mapping=True)
        es = slow(text, pair, add_special_tokens=True)
        ids_fast = list(ef["input_ids"])
        ids_slow = list(es["input_ids"])
        assert list(er.ids) == ids_fast or pair == "", (text, pair, er.ids, ids_fast)
        offsets = [list(o) for o in ef["offset_mapping"]]
        # offsets of the second sequence are relative to `pair`; split per sequence.
        seq_ids = ef.sequence_ids()
        offsets_bytes = []
        for o, s in zip(offsets, seq_ids):
            src = text if s == 0 else pair if s == 1 else None
            offsets_bytes.append(byte_offsets(src, [o])[0] if src is not None else o)
        case = {
            "text": text,
            "pair": pair,
            "ids_fast": ids_fast,
            "tokens_fast": fast.convert_ids_to_tokens(ids_fast),
            "offsets_fast": offsets,
            "offsets_fast_bytes": offsets_bytes,
            "sequence_ids_fast": seq_ids,
            "type_ids_fast": list(ef["token_type_ids"]),
            "ids_tokenizers": list(er.ids),
            "type_ids_tokenizers": list(er.type_ids),
            "ids_slow": ids_slow,
            "tokens_slow": slow.convert_ids_to_tokens(ids_slow),
            "type_ids_slow": list(es["token_type_ids"]),
            "agree": ids_fast == ids_slow,
            "agree_tokenizers": list(er.ids) == ids_slow,
        }
        if not case["agree"]:
            disagree.append(idx)
        if not case["agree_tokenizers"]:
            disagree_tk.append(idx)
        cases.append(case)
    out = {
        "vocab": vocab_name,
        "spiece_sha256": sha256(spiece_path),
        "tokenizer_json_sha256": sha256(tokjson_path),
        "transformers": transformers.__version__,
        "tokenizers": __import__("tokenizers").__version__,
        "sentencepiece": spm.__version__,
        "notes": (
            "ids_fast/tokens_fast/offsets_fast: AlbertTokenizerFast(tokenizer_file=tokenizer.json), "
            "add_special_tokens=True. offsets_fast are in Unicode code points (Python str indices) "
            "relative to `text` (sequence_ids_fast==0) or `pair` (==1); special tokens have (0,0). "
            "offsets_fast_bytes: the same in UTF-8 bytes. ids_slow/tokens_slow: slow "
            "AlbertTokenizer(vocab_file=spiece.model) (SentencePiece; the authority), "
            "do_lower_case=True, remove_space=True, keep_accents=False. "
            "ids_tokenizers/type_ids_tokenizers: the `tokenizers` library directly, "
            "Tokenizer.from_file(tokenizer.json).encode(text, pair) (differs from ids_fast only for pair == '': "
            "the transformers wrapper drops an empty pair, the tokenizers library and slow keep it and emit the "
            "second [SEP]). agree: ids_fast == ids_slow; agree_tokenizers: ids_tokenizers == ids_slow. "
            "disagreements / disagreements_tokenizers: the case indices where agree / agree_tokenizers is false."
        ),
        "num_cases": len(cases),
        "disagreements": disagree,
        "disagreements_tokenizers": disagree_tk,
        "cases": cases,
    }
    # one case per line: readable diffs, modest size
    text = "{\n"
    for k, v in out.items():
        if k != "cases":
            text += f" {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)},\n"
    text += ' "cases": [\n'
    text += ",\n".join("  " + json.dumps(c, ensure_ascii=False) for c in cases)
    text += "\n ]\n}\n"
    assert json.loads(text) == out
    with open(out_path, "w", encoding="utf-8") as f:
        f.write(text)
    return cases, disagree
