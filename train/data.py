"""ALBERT pretraining examples (SOP pairs + n-gram masking) drawn from a token cache (corpus.py),
and the fixed held-out sets the evaluations score.

Examples follow ALBERT's `create_pretraining_data.py`:
  * segment A and B are two runs of *consecutive* sentences of one document (A ends where B
    starts), filling `max_seq_len - 3` tokens; 10% of the time a shorter target length is drawn;
  * sentence-order prediction (SOP): with probability 1/2 the two segments are swapped
    (label 1 = swapped, 0 = original order, as in transformers' `sentence_order_label`);
  * n-gram masking: 15% of the tokens, in whole-word n-grams with n in {1, 2, 3} and
    p(n) proportional to 1/n; each masked token becomes [MASK] 80%, a random token 10%,
    itself 10% ("bert" replacement). The default model's recipe instead masks single tokens,
    all replaced by [MASK] ("mask" replacement), which is exactly how it is evaluated and used.
"""

from __future__ import annotations

import numpy as np
import torch

from corpus import CLS, MASK, PAD, SEP, SPECIAL_TOKENS, TokenCache

# What a picked token becomes: BERT's 80% [MASK] / 10% random / 10% kept, or always [MASK].
REPLACE_MODES = ("bert", "mask")
# Where an SOP pair's two segments meet (ExampleSampler.last_split): at a sentence boundary, or
# inside one sentence too long for the pair (ALBERT's create_pretraining_data.py splits it at a
# random token).
SPLIT_KINDS = ("sentences", "within")
# Which SOP pairs the sampler makes: ALBERT's (both kinds), only pairs that meet between two
# sentences, or symmetric pairs: whole sentences grown alternately from one sentence boundary, the
# side that starts drawn at random, so neither the segments' lengths nor a cut sentence tells the
# order (see `length_rule`: ALBERT's pairs give both away).
PAIR_MODES = ("any", "between", "symmetric")


# --------------------------------------------------------------------------------------------
# Examples


def segment_pair(a, b) -> tuple[np.ndarray, np.ndarray]:
    """[CLS] a [SEP] b [SEP] and its token types (0 up to the middle [SEP], 1 after it)."""
    ids = np.array([CLS] + list(a) + [SEP] + list(b) + [SEP], dtype=np.int64)
    tt = np.zeros(len(ids), dtype=np.int64)
    tt[len(a) + 2 :] = 1
    return ids, tt


class ExampleSampler:
    """Draws ALBERT pretraining examples (two segments, SOP label, n-gram masks) from a cache."""

    def __init__(self, cache: TokenCache, vocab_size: int, seed: int, mask_prob: float = 0.15,
                 max_ngram: int = 3, short_seq_prob: float = 0.1, replace: str = "bert", pairs: str = "any"):
        if replace not in REPLACE_MODES:
            raise ValueError(f"mask replacement {replace!r}: expected one of {REPLACE_MODES}")
        if pairs not in PAIR_MODES:
            raise ValueError(f"SOP pairs {pairs!r}: expected one of {PAIR_MODES}")
        self.pairs = pairs
        self.c = cache
        self.vocab_size = vocab_size
        self.rng = np.random.default_rng(seed)
        self.mask_prob = mask_prob
        self.replace = replace
        self.short_seq_prob = short_seq_prob
        self.last_split: str | None = None  # the last pair's SPLIT_KINDS entry
        n = np.arange(1, max_ngram + 1)
        self.ngram_p = (1.0 / n) / (1.0 / n).sum()
        # Sentence → document index, for document ends.
        n_sent = len(cache.sent_starts) - 1
        self.sent_doc = cache.sentence_documents()
        assert len(self.sent_doc) == n_sent

    # RNG state, for checkpoints.
    def state(self):
        return self.rng.bit_generator.state

    def set_state(self, s):
        self.rng.bit_generator.state = s

    def _pair(self, max_seq_len: int):
        c, rng = self.c, self.rng
        max_tokens = max_seq_len - 3
        target = max_tokens if rng.random() >= self.short_seq_prob else int(rng.integers(2, max_tokens + 1))
        if self.pairs == "symmetric":
            return self._symmetric_pair(target)
        # Start at the sentence holding a uniformly random token.
        pos = int(rng.integers(0, c.n_tokens))
        s = int(np.searchsorted(c.sent_starts, pos, side="right")) - 1
        doc_end = int(c.doc_starts[self.sent_doc[s] + 1])
        e = s
        while e < doc_end and c.sent_starts[e] - c.sent_starts[s] < target:
            e += 1
        # Where A and B meet (SPLIT_KINDS): between two sentences, or inside one long sentence,
        # where a segment that starts mid-sentence gives the order away without the discourse.
        if e - s >= 2:
            split = SPLIT_KINDS[0]
            a_end = int(rng.integers(s + 1, e))  # A = sentences s..a_end-1, B = a_end..e-1
            a = c.ids[c.sent_starts[s] : c.sent_starts[a_end]]
            b = c.ids[c.sent_starts[a_end] : c.sent_starts[e]]
        elif self.pairs == "between":  # draw again: this start gives no sentence boundary
            return None
        else:  # one long sentence (or a one-sentence document): split it at a random token
            split = SPLIT_KINDS[1]
            toks = c.ids[c.sent_starts[s] : c.sent_starts[e]]
            if len(toks) < 2:
                return None
            cut = int(rng.integers(1, len(toks)))
            a, b = toks[:cut], toks[cut:]
        if len(a) == 0 or len(b) == 0:
            return None
        # Truncate the longer segment, from the front or the back at random (truncate_seq_pair).
        a, b = list(a), list(b)
        while len(a) + len(b) > max_tokens:
            longer = a if len(a) > len(b) else b
            if rng.random() < 0.5:
                del longer[0]
            else:
                longer.pop()
        swapped = rng.random() < 0.5
        if swapped:
            a, b = b, a
        self.last_split = split
        return a, b, int(swapped)

    def _symmetric_pair(self, target: int):
        """A ends and B starts at a sentence boundary drawn uniformly among boundaries; whole
        sentences are added alternately before A and after B, the side that starts at random,
        while they fit in `target` tokens and the document. Both segments are whole sentences and
        their lengths are alike in distribution, so only the text tells the order."""
        c, rng = self.c, self.rng
        j = int(rng.integers(1, len(c.sent_starts) - 1))  # B starts at sentence j, A ends before it
        doc = self.sent_doc[j]
        if self.sent_doc[j - 1] != doc:
            return None
        first, last = int(c.doc_starts[doc]), int(c.doc_starts[doc + 1])  # the document's sentences
        size = lambda k: int(c.sent_starts[k + 1] - c.sent_starts[k])
        lo, hi = j - 1, j + 1  # A = sentences lo..j-1, B = j..hi-1
        used = size(lo) + size(j)
        if used > target:
            return None
        side = int(rng.integers(0, 2))  # 0: A grows first, 1: B
        blocked = [False, False]
        while not all(blocked):
            if not blocked[side]:
                k = lo - 1 if side == 0 else hi
                if k < first or k >= last or used + size(k) > target:
                    blocked[side] = True
                else:
                    used += size(k)
                    lo, hi = (k, hi) if side == 0 else (lo, k + 1)
            side = 1 - side
        a = list(c.ids[c.sent_starts[lo] : c.sent_starts[j]])
        b = list(c.ids[c.sent_starts[j] : c.sent_starts[hi]])
        swapped = rng.random() < 0.5
        if swapped:
            a, b = b, a
        self.last_split = SPLIT_KINDS[0]
        return a, b, int(swapped)

    def mask(self, ids: np.ndarray, maskable: np.ndarray, ngram: bool = True):
        """N-gram masking in place on `ids`; returns labels (-100 where not predicted).
        `ngram=False` masks single tokens (subword pieces) as BERT did, a warm-up option."""
        rng = self.rng
        labels = np.full(len(ids), -100, dtype=np.int64)
        cand = np.nonzero(maskable)[0]
        if len(cand) == 0:
            return labels
        # Whole words: a word starts at a ▁-piece (or punctuation); continuation pieces join it.
        ws = self.c.is_word_start[ids[cand]] if ngram else np.ones(len(cand), dtype=bool)
        ws[0] = True
        starts = cand[ws]
        bounds = np.append(np.nonzero(ws)[0], len(cand))  # word w = cand[bounds[w]:bounds[w+1]]
        n_words = len(starts)
        n_pred = max(1, int(round(len(cand) * self.mask_prob)))
        covered = np.zeros(n_words, dtype=bool)
        picked: list[int] = []
        for w in rng.permutation(n_words):
            if len(picked) >= n_pred:
                break
            if covered[w]:
                continue
            n = int(rng.choice(len(self.ngram_p), p=self.ngram_p)) + 1 if ngram else 1
            # Shrink n until the n-gram fits the document, the budget and uncovered words.
            while n >= 1:
                ws_ = range(w, min(w + n, n_words))
                toks = [t for x in ws_ for t in cand[bounds[x] : bounds[x + 1]]]
                if len(picked) + len(toks) <= n_pred and not covered[list(ws_)].any():
                    break
                n -= 1
            if n == 0:
                continue
            covered[w : w + n] = True
            picked.extend(toks)
        picked = np.asarray(picked, dtype=np.int64)
        labels[picked] = ids[picked]
        if self.replace == "mask":
            ids[picked] = MASK
            return labels
        r = rng.random(len(picked))
        ids[picked[r < 0.8]] = MASK
        rnd = picked[(r >= 0.8) & (r < 0.9)]
        ids[rnd] = rng.integers(len(SPECIAL_TOKENS), self.vocab_size, size=len(rnd))
        return labels

    def example(self, max_seq_len: int, ngram: bool = True):
        while True:
            p = self._pair(max_seq_len)
            if p is not None:
                break
        a, b, sop = p
        ids, tt = segment_pair(a, b)
        maskable = np.ones(len(ids), dtype=bool)
        maskable[[0, len(a) + 1, len(ids) - 1]] = False
        labels = self.mask(ids, maskable, ngram)
        return ids, tt, labels, sop

    def batch(self, batch_size: int, max_seq_len: int, ngram: bool = True):
        return collate([self.example(max_seq_len, ngram) for _ in range(batch_size)])


class BatchStream(torch.utils.data.IterableDataset):
    """Endless batches for a DataLoader with workers; the shape comes from `shared`
    ([batch, seq, ngram], a multiprocessing Array the training loop updates)."""

    def __init__(self, cache_path: str, vocab_size: int, seed: int, shared, **sampler_args):
        self.cache_path, self.vocab_size, self.seed, self.shared = cache_path, vocab_size, seed, shared
        self.sampler_args = sampler_args

    def __iter__(self):
        info = torch.utils.data.get_worker_info()
        wid = info.id if info is not None else 0
        sampler = ExampleSampler(TokenCache.load(self.cache_path), self.vocab_size, self.seed * 101 + wid, **self.sampler_args)
        while True:
            b, t, ng = self.shared[:]
            yield sampler.batch(b, t, bool(ng))


def collate(examples):
    t = max(len(e[0]) for e in examples)
    b = len(examples)
    ids = np.full((b, t), PAD, dtype=np.int64)
    tt = np.zeros((b, t), dtype=np.int64)
    am = np.zeros((b, t), dtype=np.int64)
    lab = np.full((b, t), -100, dtype=np.int64)
    sop = np.zeros(b, dtype=np.int64)
    for i, (x, y, l, s) in enumerate(examples):
        n = len(x)
        ids[i, :n], tt[i, :n], am[i, :n], lab[i, :n], sop[i] = x, y, 1, l, s
    return {
        "input_ids": torch.from_numpy(ids),
        "token_type_ids": torch.from_numpy(tt),
        "attention_mask": torch.from_numpy(am),
        "labels": torch.from_numpy(lab),
        "sentence_order_label": torch.from_numpy(sop),
    }


def fixed_eval_set(cache: TokenCache, vocab_size: int, n: int, max_seq_len: int, seed: int = 1234,
                   splits: list | None = None, pairs: str = "any"):
    """A deterministic list of examples (the same for every model with this tokenizer). `splits`,
    when given, receives each example's SPLIT_KINDS entry (where its segments meet)."""
    s = ExampleSampler(cache, vocab_size, seed, pairs=pairs)
    out = []
    for _ in range(n):
        out.append(s.example(max_seq_len))
        if splits is not None:
            splits.append(s.last_split)
    return out


def sentence_pairs(cache: TokenCache, n: int, max_seq_len: int = 128, seed: int = 2024):
    """Two consecutive whole sentences of one document, as someone types two sentences into the
    app's sentence-order view: (ids, token types, no masks, swapped), swapped half of the time.
    The first sentence is drawn uniformly among sentences, not through a random token, which
    would favour long ones (see `length_rule`)."""
    rng = np.random.default_rng(seed)
    starts, n_sent = cache.sent_starts, len(cache.sent_starts) - 1
    sent_doc = cache.sentence_documents()
    out = []
    while len(out) < n:
        s = int(rng.integers(0, n_sent - 1))
        if sent_doc[s] != sent_doc[s + 1]:
            continue
        a, b = list(cache.ids[starts[s] : starts[s + 1]]), list(cache.ids[starts[s + 1] : starts[s + 2]])
        if not a or not b or len(a) + len(b) > max_seq_len - 3:
            continue
        swapped = rng.random() < 0.5
        if swapped:
            a, b = b, a
        ids, tt = segment_pair(a, b)
        out.append((ids, tt, np.full(len(ids), -100, dtype=np.int64), int(swapped)))
    return out


def length_rule(examples) -> float:
    """SOP accuracy of a rule that reads no word: "in order" when the first segment is at least as
    long as the second. The sampler starts a pair at the sentence holding a uniformly random token,
    which favours long sentences, so the true first segment tends to be the longer one; a model can
    score this much without telling discourse order at all."""
    right = 0
    for ids, tt, _, sop in examples:
        first = int((tt == 0).sum()) - 2  # [CLS] and the middle [SEP]
        second = int((tt == 1).sum()) - 1
        right += int((first < second) == bool(sop))
    return right / len(examples)


def single_token_examples(examples, seed=4321):
    """The same segments, masked as the default model's bar measures: 15% of the tokens, one by
    one, all replaced by [MASK] (not n-grams, not 80/10/10)."""
    rng = np.random.default_rng(seed)
    out = []
    for ids, tt, lab, sop in examples:
        ids = ids.copy()
        orig = np.where(lab != -100, lab, ids)
        cand = np.nonzero((orig != CLS) & (orig != SEP) & (orig != PAD))[0]
        k = max(1, int(round(0.15 * len(cand))))
        pick = rng.choice(cand, size=k, replace=False)
        ids = orig.copy()
        new_lab = np.full_like(lab, -100)
        new_lab[pick] = orig[pick]
        ids[pick] = MASK
        out.append((ids, tt, new_lab, sop))
    return out
