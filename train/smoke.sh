#!/usr/bin/env bash
# The short CPU smoke run of the whole pipeline (part of the test command): a tiny tokenizer on a
# slice of the corpus, a tiny ALBERT for a few dozen steps with the depth/length curriculum,
# checkpoint + resume, evaluation (held out, on the training books, of a compact checkpoint),
# export in HF layout with transformers' reload check, the curves, a one-process torchrun (DDP over
# gloo, with attention-only sharing), unit checks of the sharing modes (check_sharing.py),
# regrouping (check_regroup.py), run comparison (check_compare_runs.py), the extrapolation's points
# (check_extrapolate.py), the training-books gap (check_books_gap.py), the compact weights
# (check_compact.py), the loss (check_loss.py), the schedule (check_schedule.py), --amp auto's
# choice (check_amp.py), the sessions summary (check_sessions.py), and the check of the shipped
# model in assets/model against its golden file. About 1-2 minutes on one CPU core; exits non-zero
# on any failure. Everything is written to a temporary folder (kept with KEEP=1).
#
#   train/smoke.sh                               # uses train/.venv (created by setup.sh)
#   TRAIN_VENV=tools/golden/.venv train/smoke.sh # any environment with the same pins
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [ -n "${TRAIN_VENV:-}" ]; then TRAIN_VENV="$(cd "$TRAIN_VENV" && pwd)"; fi
cd "$here"
if [ -n "${TRAIN_VENV:-}" ]; then
  PY="$TRAIN_VENV/bin/python"
else
  ./setup.sh >/dev/null
  PY="$here/.venv/bin/python"
fi
corpus="$here/../../shared/data/corpus"
if [ ! -f "$corpus/gutenberg-train.txt.xz" ]; then
  echo "smoke: $corpus/gutenberg-train.txt.xz not found (the shared data folder must sit beside this checkout)" >&2
  exit 1
fi
export RAYON_NUM_THREADS=1 OMP_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false PYTHONUNBUFFERED=1
tmp="$(mktemp -d)"
[ "${KEEP:-0}" = 1 ] && echo "smoke: keeping $tmp" || trap 'rm -rf "$tmp"' EXIT
t0=$SECONDS
step() { echo "== smoke [$((SECONDS - t0)) s] $*"; }

step "tokenizer (Unigram 1000 on 1.5 MB)"
"$PY" tokenizer.py --vocab-size 1000 --max-chars 1500000 --fraction 1 --out "$tmp/tok/tokenizer.json"

common=(--tokenizer "$tmp/tok/tokenizer.json" --train-cache "$tmp/train.npz" --train-fraction 1 --train-max-chars 1500000
        --valid-cache "$tmp/valid.npz" --valid-max-chars 300000 --embedding 32 --hidden 64 --heads 2 --lr 2e-3
        --warmup-steps 5 --phases "1x32x16@0.5,2x64x16@1" --log-every 10 --eval-every 15 --eval-examples 32 --ckpt-every 15)
step "train 30 steps (depth 1 → 2, length 32 → 64)"
"$PY" train.py "${common[@]}" --out "$tmp/run" --max-steps 30
step "resume to 40 steps"
"$PY" train.py "${common[@]}" --out "$tmp/run" --max-steps 40 --resume
step "a budget raised after the decay: the resumed run re-warms instead of jumping back to the peak"
cp -r "$tmp/run" "$tmp/raise"   # at its budget's end: --max-steps 40 with the linear decay, the rate at 0
"$PY" train.py "${common[@]}" --out "$tmp/raise" --max-steps 60 --rewarm-steps 4 --log-every 2 --eval-every 0 --resume \
  > "$tmp/raise.log" 2>&1 || { cat "$tmp/raise.log" >&2; exit 1; }
grep -q "re-warms over 4 steps" "$tmp/raise.log" || { cat "$tmp/raise.log" >&2; echo "smoke: no re-warm after a raised budget" >&2; exit 1; }
"$PY" - "$tmp/raise/log.jsonl" "$tmp/raise/ckpt.pt" <<'PYEOF' || { echo "smoke: the raised budget's rate did not re-warm" >&2; exit 1; }
import json, sys, torch
lr = {r["step"]: r["lr"] for r in map(json.loads, open(sys.argv[1])) if r.get("split") == "train" and r["step"] > 40}
# The linear decay alone falls from step 41 on; the re-warm makes it rise over its 4 steps first.
assert lr[42] < lr[44] and lr[46] > lr[50], lr
assert torch.load(sys.argv[2], map_location="cpu", weights_only=False)["state"]["rewarm_from"] == 40
PYEOF
step "torch.compile that cannot compile (no working C++ compiler): the run says so and trains eagerly"
CXX=/nonexistent/c++ "$PY" train.py "${common[@]}" --out "$tmp/nocc" --max-steps 3 --eval-every 0 --compile > "$tmp/nocc.log" 2>&1 \
  || { cat "$tmp/nocc.log" >&2; echo "smoke: the run with a failing torch.compile stopped" >&2; exit 1; }
grep -q "torch.compile failed .*training eagerly" "$tmp/nocc.log" && grep -q "paused\|done" "$tmp/nocc.log" \
  || { cat "$tmp/nocc.log" >&2; echo "smoke: a failing torch.compile did not fall back to eager" >&2; exit 1; }
step "evaluate"
"$PY" evaluate.py --ckpt "$tmp/run/ckpt.pt" --tokenizer "$tmp/tok/tokenizer.json" --valid-cache "$tmp/valid.npz" \
  --examples 64 --layers 2,3 --out "$tmp/run/eval.json" --per-example
step "evaluate --books train: the training books (a missing cache is built from them), never into the log"
"$PY" evaluate.py --ckpt "$tmp/run/ckpt.pt" --tokenizer "$tmp/tok/tokenizer.json" --books train \
  --valid-cache "$tmp/train-books.npz" --valid-max-chars 200000 --examples 32 --out "$tmp/run/eval-train-books.json" > /dev/null
"$PY" - "$tmp/run/eval-train-books.json" "$tmp/train-books.npz" "$tmp/train.npz" "$tmp/valid.npz" <<'PYEOF' || { echo "smoke: evaluate.py --books train did not score the training books" >&2; exit 1; }
import json, sys
import numpy as np
import corpus
e = json.load(open(sys.argv[1]))
built, train, valid = (corpus.TokenCache.load(p) for p in sys.argv[2:])
assert e["books"] == "train" and e["valid_tokens"] == built.n_tokens, e
# Built from gutenberg-train: its tokens open as train.py's cache of the same books does, not as the validation books'.
n = 2000
assert np.array_equal(built.ids[:n], train.ids[:n]) and not np.array_equal(built.ids[:n], valid.ids[:n])
PYEOF
for bad in "--books train --valid-cache $tmp/train.npz --log $tmp/run/log.jsonl" "--books train --valid-cache $tmp/valid.npz" "--valid-cache $tmp/train.npz"; do
  # shellcheck disable=SC2086  # $bad is several arguments on purpose
  if "$PY" evaluate.py --ckpt "$tmp/run/ckpt.pt" --tokenizer "$tmp/tok/tokenizer.json" $bad --examples 8 > "$tmp/bad-books.log" 2>&1 \
    || ! grep -q "error: .*\(held-out\|validation books\|training books\)" "$tmp/bad-books.log"; then
    cat "$tmp/bad-books.log" >&2; echo "smoke: evaluate.py $bad was not refused with its reason" >&2; exit 1
  fi
done
step "training's held-out SOP on symmetric pairs is evaluate.py's sop_symmetric on the same pairs"
amp="$("$PY" -c 'import json, sys; print([json.loads(l) for l in open(sys.argv[1]) if "session_start" in l][-1]["amp"])' "$tmp/run/log.jsonl")"
"$PY" evaluate.py --ckpt "$tmp/run/ckpt.pt" --tokenizer "$tmp/tok/tokenizer.json" --valid-cache "$tmp/valid.npz" \
  --examples 32 --seq 64 --amp "$amp" --out "$tmp/run/eval-sym.json" > /dev/null   # as train.py's --amp auto chose
"$PY" - "$tmp/run/log.jsonl" "$tmp/run/eval-sym.json" <<'PYEOF' || { echo "smoke: train.py's sop_symmetric is not evaluate.py's" >&2; exit 1; }
import json, sys
valid = [r for r in map(json.loads, open(sys.argv[1])) if r.get("split") == "valid"]
e = json.load(open(sys.argv[2]))
assert all("sop_symmetric" in r for r in valid), valid
last = valid[-1]  # the final evaluation, at the checkpoint's step, 32 pairs of 64 tokens
assert (last["step"], last["seq"], last["examples"]) == (e["step"], e["seq"], e["sop_symmetric"]["examples"]), (last, e["sop_symmetric"])
assert abs(last["sop_symmetric"] - e["sop_symmetric"]["sop_acc"]) < 1e-9, (last["sop_symmetric"], e["sop_symmetric"])
PYEOF
step "SOP threshold fitted on training books, scored on held-out ones (sop_threshold.py)"
"$PY" sop_threshold.py --ckpt "$tmp/run/ckpt.pt" --tokenizer "$tmp/tok/tokenizer.json" --train-cache "$tmp/train.npz" \
  --valid-cache "$tmp/valid.npz" --train-examples 64 --valid-examples 64 --amp none --out "$tmp/run/sop-threshold.json"
"$PY" - "$tmp/run/sop-threshold.json" "$tmp/run/eval.json" <<'PYEOF' || { echo "smoke: sop_threshold.py's accuracy at shift 0 is not evaluate.py's" >&2; exit 1; }
import json, sys
t, e = (json.load(open(p)) for p in sys.argv[1:3])
# At shift 0 the held-out accuracy is the model's own answer: evaluate.py's on the same 64 pairs.
assert abs(t["at"]["+0.00"]["valid"]["acc"] - e["sop_acc"]) < 1e-9, (t["at"]["+0.00"]["valid"]["acc"], e["sop_acc"])
assert -1.5 <= t["fitted_on_train"] <= 1.5
PYEOF
step "compare two models pair by pair (compare.py)"
"$PY" evaluate.py --ckpt "$tmp/nocc/ckpt.pt" --tokenizer "$tmp/tok/tokenizer.json" --valid-cache "$tmp/valid.npz" \
  --examples 64 --out "$tmp/nocc/eval.json" --per-example > /dev/null
"$PY" evaluate.py --ckpt "$tmp/nocc/ckpt.pt" --tokenizer "$tmp/tok/tokenizer.json" --valid-cache "$tmp/valid.npz" \
  --examples 32 --out "$tmp/nocc/eval32.json" --per-example > /dev/null
"$PY" - "$tmp/run/eval.json" "$tmp/nocc/eval.json" "$tmp/nocc/eval32.json" <<'PYEOF' || { echo "smoke: compare.py's paired differences do not match evaluate.py's scores" >&2; exit 1; }
import json, sys, compare
a, b = (json.load(open(p)) for p in sys.argv[1:3])
rows = compare.compare(a, b)
# The per-example rows add up to evaluate.py's own scores, and the difference is B's minus A's.
for row, key in zip(rows, ("single_token_mlm_top1", "sop_acc")):
    assert abs(row["a"] - a[key]) < 1e-9 and abs(row["b"] - b[key]) < 1e-9, (row, a[key], b[key])
    assert abs(row["diff"] - (b[key] - a[key])) < 1e-9, row
assert rows[0]["se"] > 0, rows[0]  # a 40-step and a 3-step model disagree on some masked tokens
assert all(r["diff"] == 0 and r["se"] == 0 for r in compare.compare(a, a))
assert compare.main([sys.argv[1], sys.argv[3]]) == 2  # 64 examples against 32: refused
# SOP per kind of pair: each kind's rows are evaluate.py's sop_by_split, for both models, also when
# only one file names the kinds (files scored before session 22 do not).
for x, y in ((a, b), ({**a, "per_example": {k: v for k, v in a["per_example"].items() if k != "split"}}, b)):
    per_kind = {r["measure"].removeprefix("SOP, meeting "): r for r in compare.compare(x, y) if r["measure"].startswith("SOP, meeting ")}
    assert set(per_kind) == {k for k, v in a["sop_by_split"].items() if v["examples"]}, per_kind
    for kind, row in per_kind.items():
        assert row["examples"] == a["sop_by_split"][kind]["examples"], (kind, row)
        assert abs(row["a"] - a["sop_by_split"][kind]["sop_acc"]) < 1e-9, (kind, row)
        assert abs(row["b"] - b["sop_by_split"][kind]["sop_acc"]) < 1e-9, (kind, row)
# The cue-free SOP measures (symmetric pairs, two single sentences): evaluate.py's, for both models.
rows = {r["measure"]: r for r in compare.compare(a, b)}
for name, key in (("SOP, symmetric pairs", "sop_symmetric"), ("SOP, two sentences", "sop_sentence_pairs")):
    assert rows[name]["examples"] == a[key]["examples"] == 64, (name, rows[name])
    assert abs(rows[name]["a"] - a[key]["sop_acc"]) < 1e-9 and abs(rows[name]["b"] - b[key]["sop_acc"]) < 1e-9, (name, rows[name])
def verdict_rows(top1_z, **sop_z):  # compare()'s rows with these z (se 0.01)
    names = {"sym": "SOP, symmetric pairs", "two": "SOP, two sentences"}
    zs = [("single-token top-1", top1_z)] + [(names[k], z) for k, z in sop_z.items()]
    return [{"measure": m, "diff": 0.01 * z, "se": 0.01, "z": z} for m, z in zs]
for top1, sop, ships in ((3.0, {"sym": 0.0, "two": -1.9}, True), (2.0, {"sym": 5, "two": 5}, True),
                         (1.99, {"sym": 5, "two": 5}, False), (9.0, {"sym": -2.0, "two": 0}, False),
                         (9.0, {"sym": 0, "two": -2.5}, False), (9.0, {"sym": 0}, False)):
    got, reasons = compare.ship_verdict(verdict_rows(top1, **sop))
    assert got == ships and len(reasons) == 3, (top1, sop, got, reasons)
assert compare.main([sys.argv[1], sys.argv[1], "--ship"]) == 1  # the same model is not better
import contextlib, io
with contextlib.redirect_stdout(io.StringIO()) as buf:
    assert compare.main([sys.argv[1], sys.argv[1], "--ship", "--json"]) == 1
verdict = json.loads(buf.getvalue())
assert verdict["ships"] is False and len(verdict["reasons"]) == 3 and verdict["rows"][0]["diff"] == 0, verdict
assert compare.main([sys.argv[1], sys.argv[2]]) == 0  # without --ship, no verdict in the status
flipped = {**b, "per_example": {**b["per_example"], "split": ["within"] * len(b["per_example"]["split"])}}
try:
    compare.compare(a, flipped)
    raise SystemExit("pairs of different kinds were compared")
except ValueError:
    pass
PYEOF
# Where an SOP pair's segments meet, on a made-up cache (a document that is one 300-token sentence,
# one of sixty 6-token sentences): inside a sentence exactly when all the pair's tokens are from one.
"$PY" - <<'PYEOF' || { echo "smoke: ExampleSampler.last_split names the wrong kind of pair" >&2; exit 1; }
import numpy as np, corpus, data
long_doc, short_doc = np.arange(100, 400), np.arange(1000, 1360)
cache = corpus.TokenCache(np.concatenate([long_doc, short_doc]).astype(np.int32),
                        np.concatenate([[0], 300 + np.arange(0, 361, 6)]).astype(np.int64),
                        np.array([0, 1, 61], dtype=np.int64), np.ones(2000, dtype=bool))
splits = []
examples = data.fixed_eval_set(cache, 2000, 400, 64, splits=splits)
seen = set()
for (ids, _, lab, _), kind in zip(examples, splits):
    orig = np.where(lab != -100, lab, ids)
    words = orig[orig >= 100]
    assert words.min() >= 1000 or words.max() < 400, "a pair crosses documents"
    sentences = set(np.where(words < 400, -1, (words - 1000) // 6))
    assert kind == ("within" if len(sentences) == 1 else "sentences"), (kind, words)
    seen.add(kind)
assert seen == set(data.SPLIT_KINDS), seen
PYEOF
# SOP by where the segments meet: every example is of one kind, and the kinds' hits add up to the
# whole set's.
"$PY" - "$tmp/run/eval.json" <<'PYEOF' || { echo "smoke: evaluate.py's sop_by_split does not add up to its SOP accuracy" >&2; exit 1; }
import json, sys
r = json.load(open(sys.argv[1]))
by = r["sop_by_split"]
assert sum(v["examples"] for v in by.values()) == r["examples"], by
hits = sum(round(v["sop_acc"] * v["examples"]) for v in by.values() if v["examples"])
assert hits == round(r["sop_acc"] * r["examples"]), (hits, r["sop_acc"], by)
PYEOF
step "export (HF layout, f16) + transformers reload check"
"$PY" export.py --ckpt "$tmp/run/ckpt.pt" --tokenizer "$tmp/tok/tokenizer.json" --out "$tmp/export" --eval-json "$tmp/run/eval.json"
"$PY" export.py --verify "$tmp/export"
step "curves"
"$PY" plot.py "$tmp/run/log.jsonl" --out "$tmp/run/curves.svg"
# A session cut off after step 20 but before its next checkpoint (step 10): the next one resumes at
# 10, and the curve keeps its steps 11-20, not the lost ones.
"$PY" - "$tmp/cutoff-log.jsonl" <<'PYEOF' || { echo "smoke: plot.py kept log lines of steps done again after a resume" >&2; exit 1; }
import json, sys, plot
lines = [{"event": "session_start", "step": 0}] + [{"split": "train", "step": s, "lost": s > 10} for s in (5, 10, 15, 20)] \
    + [{"event": "session_start", "step": 10}] + [{"split": "train", "step": s, "lost": False} for s in (15, 20)]
with open(sys.argv[1], "w") as f:
    f.write("".join(json.dumps(r) + "\n" for r in lines))
train, _, _ = plot.read(sys.argv[1])
assert [r["step"] for r in train] == [5, 10, 15, 20] and not any(r["lost"] for r in train), train
PYEOF
# --until-tokens ends the curves at a checkpoint: no line past it, the ones before it all kept.
"$PY" - "$tmp/run/log.jsonl" <<'PYEOF' || { echo "smoke: plot.py --until-tokens" >&2; exit 1; }
import sys, plot
train, valid, _ = plot.read(sys.argv[1])
cut = train[(len(train) - 1) // 2]["tokens"]
t2, v2, _ = plot.read(sys.argv[1], until_tokens=cut)
assert t2 == [r for r in train if r["tokens"] <= cut] and 0 < len(t2) < len(train), (len(t2), len(train))
assert v2 == [r for r in valid if r["tokens"] <= cut], (len(v2), len(valid))
PYEOF
step "torchrun --nproc_per_node 1 (DDP, gloo) with a background example worker, attention-only sharing, between-sentences SOP pairs"
"$PY" -m torch.distributed.run --standalone --nproc_per_node 1 train.py "${common[@]}" --out "$tmp/ddp" --max-steps 10 --eval-every 0 --workers 1 \
  --share attention --phases "2x32x16@1" --sop-pairs between
step "SOP pairs: 'between' meets only between sentences; 'any' also inside one; 'symmetric' leaks no order through length"
"$PY" - "$tmp/train.npz" <<'PYEOF' || { echo "smoke: --sop-pairs does not make the pairs it names" >&2; exit 1; }
import sys, numpy as np, corpus, data
cache = corpus.TokenCache.load(sys.argv[1])
starts = set(cache.sent_starts.tolist())
for pairs, seq in (("between", 32), ("between", 64), ("any", 32), ("symmetric", 64), ("any", 64)):
    s = data.ExampleSampler(cache, 1000, seed=3, pairs=pairs)
    kinds, examples = [], []
    for _ in range(400 if pairs != "symmetric" else 3000):
        examples.append(s.example(seq))
        kinds.append(s.last_split)
    n_within = kinds.count("within")
    rule = data.length_rule(examples)
    print(f"pairs={pairs} seq={seq}: {n_within} of {len(kinds)} meet inside a sentence; the length rule scores {rule:.3f}")
    assert (n_within == 0) if pairs in ("between", "symmetric") else (n_within > 0), (pairs, seq, n_within)
    if pairs == "any" and seq == 64:
        assert rule > 0.56, rule  # the leak the symmetric pairs remove: if this fails, update data.length_rule's story
    if pairs == "symmetric":
        # No order in the lengths (4 standard errors of 3 000 pairs: 0.037), and at most seq tokens.
        assert abs(rule - 0.5) < 0.037, rule
        assert all(len(ids) <= seq for ids, *_ in examples)
# Symmetric pairs are whole sentences: the segments' token runs start and end at sentence starts.
s = data.ExampleSampler(cache, 1000, seed=4, pairs="symmetric")
orig = s._symmetric_pair
def check(target):
    p = orig(target)
    if p is not None:
        a, b, swapped = p
        first, second = (b, a) if swapped else (a, b)
        joined = np.array(first + second)
        hits = [i for i in sorted(starts) if i + len(joined) <= cache.n_tokens and cache.ids[i] == joined[0]]
        assert any(np.array_equal(cache.ids[i : i + len(joined)], joined) and (i + len(first)) in starts
                   and (i + len(joined)) in starts for i in hits), "a symmetric pair is not whole sentences"
    return p
s._symmetric_pair = check
for _ in range(50):
    s.example(64)
PYEOF
"$PY" pair_cues.py --cache "$tmp/train.npz" --pairs 300 --seq 64 > "$tmp/cues.txt"
grep -q "pairs symmetric: the length rule 0\.[0-9]*; .* 0 of 300 meet inside a sentence" "$tmp/cues.txt" \
  && grep -q "two single sentences: the length rule" "$tmp/cues.txt" \
  || { cat "$tmp/cues.txt" >&2; echo "smoke: pair_cues.py does not describe every kind of pair" >&2; exit 1; }
step "order_by_mlm.py: every token masked once, the same tokens together in both orders; pair bookkeeping; the CLI"
"$PY" - "$tmp/run/ckpt.pt" "$tmp/valid.npz" <<'PYEOF' || { echo "smoke: order_by_mlm.py's masks or bookkeeping are wrong" >&2; exit 1; }
import sys, numpy as np
import corpus, data, order_by_mlm as ob
from model import load_checkpoint
rng = np.random.default_rng(0)
a, b = rng.integers(5, 1000, 7), rng.integers(5, 1000, 4)
groups = lambda f, s, gf, gs: sorted(tuple(sorted(lab[lab != -100].tolist())) for _, _, lab, _ in ob.masked_copies(f, s, 5, gf, gs))
for f, s, gf, gs in [(a, b, 0, len(a)), (b, a, len(a), 0)]:
    masked = np.sum([lab != -100 for _, _, lab, _ in ob.masked_copies(f, s, 5, gf, gs)], axis=0)
    assert masked.tolist() == [0] + [1] * len(f) + [0] + [1] * len(s) + [0], masked
assert groups(a, b, 0, len(a)) == groups(b, a, len(a), 0)
model, _ = load_checkpoint(sys.argv[1])
pairs = data.sentence_pairs(corpus.TokenCache.load(sys.argv[2]), 10, 64)
together = ob.order_by_mlm(model, pairs, "cpu", "none", 5)
alone = np.array([ob.order_by_mlm(model, [p], "cpu", "none", 5)[0] for p in pairs])
assert np.abs(together - alone).max() < 1e-3, (together, alone)
assert np.abs(together).min() > 0, together
PYEOF
"$PY" order_by_mlm.py --ckpt "$tmp/run/ckpt.pt" --valid-cache "$tmp/valid.npz" --pairs 16 --seq 64 --kind cut --out "$tmp/order.json" > /dev/null
"$PY" - "$tmp/order.json" <<'PYEOF' || { echo "smoke: order_by_mlm.py's result is malformed" >&2; exit 1; }
import json, sys
r = json.load(open(sys.argv[1]))
assert r["pairs"] == 16 and r["kind"] == "cut" and all(0 <= r[k] <= 1 for k in ("mlm_order_acc", "sop_head_acc", "agree")), r
PYEOF
step "compact checkpoint across sessions (--commit-dir), WSD schedule, single-token all-[MASK] masking"
compact=(--out "$tmp/wsd" --commit-dir "$tmp/commit" --decay wsd --decay-fraction 0.3 --rewarm-steps 5 --mask-prob 0.2
         --mask-replace mask --eval-masking single --phases "2x32x16t@1" --budget-tokens 1000000)
"$PY" train.py "${common[@]}" "${compact[@]}" --session-steps 12
rm -rf "$tmp/wsd"   # a new session: only the committed folder is left
"$PY" train.py "${common[@]}" "${compact[@]}" --session-steps 12 --resume
step "SIGTERM ends a session cleanly: the step in flight, then the checkpoint and the compact copy"
"$PY" train.py "${common[@]}" "${compact[@]}" --out "$tmp/sig" --commit-dir "$tmp/commit-sig" --log-every 2 &
pid=$!
for _ in $(seq 1 120); do grep -q '"split": "train"' "$tmp/commit-sig/log.jsonl" 2>/dev/null && break; sleep 0.5; done
kill -TERM "$pid"
wait "$pid"
tail -n 1 "$tmp/commit-sig/log.jsonl" | grep -q '"event": "session_end"' || { echo "smoke: no session_end after SIGTERM" >&2; exit 1; }
[ -f "$tmp/sig/ckpt.pt" ] && [ -f "$tmp/commit-sig/model.safetensors" ] || { echo "smoke: no checkpoint after SIGTERM" >&2; exit 1; }
step "evaluate --ckpt <compact folder>: the same scores as the full checkpoint it was written with"
"$PY" evaluate.py --ckpt "$tmp/commit-sig" --valid-cache "$tmp/valid.npz" --examples 16 --seq 64 --amp none --out "$tmp/sig/eval-compact.json" > /dev/null
"$PY" evaluate.py --ckpt "$tmp/sig/ckpt.pt" --tokenizer "$tmp/tok/tokenizer.json" --valid-cache "$tmp/valid.npz" --examples 16 --seq 64 --amp none \
  --out "$tmp/sig/eval-full.json" > /dev/null
"$PY" - "$tmp/sig/eval-compact.json" "$tmp/sig/eval-full.json" <<'PYEOF' || { echo "smoke: evaluate.py scores a compact checkpoint unlike its full one" >&2; exit 1; }
import json, sys
c, f = (json.load(open(p)) for p in sys.argv[1:])
assert c["step"] == f["step"] and c["tokens"] == f["tokens"] and c["step"] > 0, (c["step"], f["step"])
for k in ("single_token_mlm_top1", "mlm_loss", "sop_acc"):
    assert c[k] == f[k], (k, c[k], f[k])  # f32 weights, exact: the same numbers, not close ones
PYEOF
step "load_checkpoint <compact folder>: the full checkpoint's weights, counters, recipe and phases, so every --ckpt tool takes it"
mkdir -p "$tmp/not-compact"
"$PY" - "$tmp/commit-sig" "$tmp/sig/ckpt.pt" "$tmp/not-compact" <<'PYEOF' || { echo "smoke: load_checkpoint reads a compact folder unlike its full checkpoint" >&2; exit 1; }
import sys, torch
from model import load_checkpoint
(mc, c), (mf, f) = load_checkpoint(sys.argv[1]), load_checkpoint(sys.argv[2])
sc, sf = mc.state_dict(), mf.state_dict()
assert sc.keys() == sf.keys() and all(torch.equal(sc[k], sf[k]) for k in sf), "weights differ"
for part in ("config", "phases", "args"):
    diff = {k for k in set(c[part]) | set(f[part]) if c[part].get(k) != f[part].get(k)} if part != "phases" else c[part] != f[part]
    assert not diff, (part, diff)
assert all(c["state"][k] == f["state"][k] for k in ("step", "tokens", "train_seconds")), (c["state"], f["state"])
try:
    load_checkpoint(sys.argv[3])
    raise SystemExit("an empty folder loaded")
except ValueError as e:
    assert "not a compact checkpoint" in str(e) and "model.safetensors" in str(e), e
PYEOF
if "$PY" evaluate.py --ckpt "$tmp/not-compact" --valid-cache "$tmp/valid.npz" --examples 8 > "$tmp/not-compact.log" 2>&1 || ! grep -q "not a compact checkpoint" "$tmp/not-compact.log"; then
  cat "$tmp/not-compact.log" >&2; echo "smoke: an empty folder as --ckpt was not refused with its reason" >&2; exit 1
fi
step "sharing: unit check (attention-only ties attention, not FFN; FFN-only the reverse; counts; reload; untied export)"
"$PY" -m check_sharing
step "regroup: unit check, then this run's checkpoint as 2 groups (same function) trains on (regroup.py)"
"$PY" -m check_regroup
"$PY" regroup.py --ckpt "$tmp/run/ckpt.pt" --groups 2 --out "$tmp/g2/ckpt.pt"
"$PY" train.py "${common[@]}" --out "$tmp/g2" --max-steps 45 --eval-every 0 --resume
"$PY" - "$tmp/g2/ckpt.pt" <<'PYEOF' || { echo "smoke: the regrouped checkpoint did not train on as 2 groups" >&2; exit 1; }
import sys, torch
ck = torch.load(sys.argv[1], map_location="cpu", weights_only=False)
assert ck["config"]["num_hidden_groups"] == 2 and ck["state"]["step"] == 45, (ck["config"]["num_hidden_groups"], ck["state"])
assert ck["state"]["regrouped"] == [{"step": 40, "tokens": ck["state"]["regrouped"][0]["tokens"], "from": 1, "to": 2}], ck["state"]
q = "albert.encoder.albert_layer_groups.{}.albert_layers.0.attention.query.weight"
assert not torch.equal(ck["model"][q.format(0)], ck["model"][q.format(1)]), "the groups did not part"
PYEOF
step "compare_runs: unit check, then train.py's own log against itself (every difference 0)"
"$PY" -m check_compare_runs
"$PY" compare_runs.py "$tmp/run/log.jsonl" "$tmp/run/log.jsonl" --window 20 --json | "$PY" -c '
import json, sys
r = json.load(sys.stdin)
assert r["lines"] == 4 and all(v["mean"] == 0 for v in r["overall"].values()) and len(r["valid"]) >= 2, r' \
  || { echo "smoke: compare_runs.py does not read the log train.py writes" >&2; exit 1; }
step "compact weights: unit check (f32 exact; past the commit's limit 24 bits a weight, to nearest; the 2-group shape fits 15 MB)"
"$PY" -m check_compact
step "extrapolate: unit check (evaluations at the peak rate are fitted, decay ones set apart; re-warms and raised budgets)"
"$PY" -m check_extrapolate
step "books_gap: unit check, then the committed training-books results each find their held-out score"
"$PY" -m check_books_gap
"$PY" books_gap.py results/books-s33/train-books-*.json --log resume/log.jsonl --held-out shipped=../assets/model/eval.json > /dev/null
step "loss: unit check (the masked-rows loss equals AlbertForPreTraining's; --sop-weight scales SOP only)"
"$PY" -m check_loss
step "schedule: unit check (warmup, warmup-stable-decay and a decay branch's rate, re-warm, phases)"
"$PY" -m check_schedule
step "amp: unit check (--amp auto's threshold, a CPU without native bf16, the probe leaves the RNG alone)"
"$PY" -m check_amp
step "sessions: unit check, then the summary of this smoke run's own log (the SIGTERM run: stopped, tokens > 0)"
"$PY" -m check_sessions
"$PY" sessions.py "$tmp/commit-sig/log.jsonl" --json | "$PY" -c 'import json, sys; s = json.load(sys.stdin); sys.exit(0 if s["tokens"] > 0 and s["all_stopped"] and s["tokens_per_s"] else 1)' \
  || { echo "smoke: sessions.py does not read train.py's log" >&2; exit 1; }
step "checks"
"$PY" - "$tmp" <<'PY'
import json, os, sys
tmp = sys.argv[1]
log = [json.loads(l) for l in open(f"{tmp}/run/log.jsonl")]
train = [r for r in log if r.get("split") == "train"]
assert train[-1]["step"] == 40, train[-1]
assert {r["layers"] for r in train} == {1, 2} and {r["seq"] for r in train} == {32, 64}, "curriculum not followed"
assert train[-1]["mlm_loss"] < train[0]["mlm_loss"], "MLM loss did not go down"
ev = json.load(open(f"{tmp}/run/eval.json"))
assert set(ev["by_depth"]) == {"2", "3"} and 0 <= ev["mlm_top1"] <= 1 and 0 <= ev["sop_acc"] <= 1, ev
for f in ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "golden.safetensors", "eval.json"]:
    assert os.path.getsize(f"{tmp}/export/{f}") > 0, f
cfg = json.load(open(f"{tmp}/export/config.json"))
assert cfg["architectures"] == ["AlbertForPreTraining"] and cfg["num_hidden_layers"] == 2, cfg
ddp = [json.loads(l) for l in open(f"{tmp}/ddp/log.jsonl") if "split" in l]
assert ddp[-1]["step"] == 10, ddp[-1]
# The compact checkpoint: two sessions in one log, the second resumed at the first one's counters,
# its learning rate re-warmed from 0 and then held (WSD) until the decay.
clog = [json.loads(l) for l in open(f"{tmp}/commit/log.jsonl")]
starts = [r for r in clog if r.get("event") == "session_start"]
assert [r["step"] for r in starts] == [0, 12] and starts[1]["tokens"] > 0, starts
assert all(r["sop_pairs"] == "any" and r["sop_weight"] == 1.0 for r in starts), starts  # what ran each session
ctrain = [r for r in clog if r.get("split") == "train"]
assert ctrain[-1]["step"] == 20 and all(r["layers"] == 2 and not r["ngram"] for r in ctrain), ctrain
lr = {r["step"]: r["lr"] for r in ctrain}
assert lr[20] == 2e-3 and lr[10] == 2e-3, lr   # past warmup and re-warmup, stable (the decay starts at 70% of 1M tokens)
state = json.load(open(f"{tmp}/commit/state.json"))
assert state["step"] == 24 and state["rewarm_from"] == 12, state
assert sorted(os.listdir(f"{tmp}/commit")) == ["config.json", "log.jsonl", "model.safetensors", "state.json", "tokenizer.json"]
att = json.load(open(f"{tmp}/ddp/run.json"))
c = att["param_counts"]
assert att["tied_sublayer"] == "attention" and att["groups"] == 2, att
# encoder = E→H mapping + 1 shared attention (4 H² + 4 H + 2 H LayerNorm) + 2 FFNs (2 H F + F + H + 2 H), H 64, F 256, E 32
H, F, E = 64, 256, 32
assert c["encoder"] == E * H + H + (4 * H * H + 6 * H) + 2 * (2 * H * F + F + 3 * H), c
print(f"smoke checks ok: train loss {train[0]['mlm_loss']:.2f} → {train[-1]['mlm_loss']:.2f}, eval MLM {ev['mlm_top1']:.3f} SOP {ev['sop_acc']:.3f}")
PY
if [ -f "$here/../assets/model/golden.safetensors" ]; then
  step "shipped model assets/model: transformers vs its golden file"
  "$PY" export.py --verify "$here/../assets/model"
fi
step "done"
