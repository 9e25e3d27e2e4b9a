"""The workload bench/compare times, written to match crates/albert-cli/src/bench.rs: the model's
shape, the token ids, the FLOP count and the percentiles. Ours and torch must see the same input and be
counted the same way, so a change here is a change there."""

import math

# albert-base-v2's config (hub values); must match BASE_V2 in crates/albert-cli/src/bench.rs.
BASE_V2 = dict(
    vocab_size=30000,
    embedding_size=128,
    hidden_size=768,
    num_hidden_layers=12,
    num_hidden_groups=1,
    num_attention_heads=12,
    intermediate_size=3072,
    inner_group_num=1,
    hidden_act="gelu_new",
    max_position_embeddings=512,
    type_vocab_size=2,
    layer_norm_eps=1e-12,
)
SEED = 0
CLS, SEP, MASK = 2, 3, 4


def bench_ids(n, vocab):
    """bench.rs `batch()`: [CLS] ids spread over the vocabulary, [MASK] at n/2, [SEP] last."""
    ids = [5 + (i * 7919) % (vocab - 5) for i in range(n)]
    ids[0] = CLS
    if n > 1:
        ids[n - 1] = SEP
    ids[n // 2] = MASK
    return ids


def flops(n, rows=1, c=BASE_V2):
    """bench.rs `flops()`: one forward with `rows` logits rows, multiply-add = 2."""
    e, h, i, v = c["embedding_size"], c["hidden_size"], c["intermediate_size"], c["vocab_size"]
    per_layer = 2.0 * n * (4.0 * h * h + 2.0 * h * i) + 2.0 * 2.0 * n * n * h
    layers = c["num_hidden_layers"] * c["inner_group_num"]
    return 2.0 * n * e * h + layers * per_layer + rows * 2.0 * (h * e + e * v)


def stats(samples):
    """bench.rs `stats()`: nearest rank at round((len-1)·p) on the sorted samples."""
    s = sorted(samples)
    pct = lambda p: s[int(math.floor((len(s) - 1) * p + 0.5))]  # noqa: E731  (Rust rounds half away from 0)
    return dict(p50_ms=pct(0.5), p90_ms=pct(0.9), mean_ms=sum(s) / len(s), min_ms=s[0])

