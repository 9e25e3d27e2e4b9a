#!/usr/bin/env bash
# Continues the default model's pretraining from the committed checkpoint in train/resume/ (or
# starts it when there is none): one command per session, in the background friendly way
# (nice 19, so builds and tests keep the machine). Stop it any time with Ctrl-C or `kill` (SIGTERM):
# the step in flight finishes and the checkpoint is written (also every --ckpt-every steps), and
# train/resume/ is what the next session continues from, so commit train/resume/ before the
# session ends (one commit per session, about 13 MB). Held-out scores for the log:
#   train/.venv/bin/python train/evaluate.py --ckpt train/runs/default/ckpt.pt \
#     --tokenizer train/resume/tokenizer.json --valid-cache train/data/valid-<stamp>.npz --log train/resume/log.jsonl
#
#   train/continue.sh                   # runs until stopped (or until the token budget is spent)
#   SESSION_SECONDS=7200 train/continue.sh
#
# The recipe is fixed in recipe.sh so every session runs the same one (train/on-nvidia too);
# train/README.md says why.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
./setup.sh >/dev/null
PY="$here/.venv/bin/python"
export RAYON_NUM_THREADS=2 TOKENIZERS_PARALLELISM=false PYTHONUNBUFFERED=1
resume="$here/resume"
tok="$resume/tokenizer.json"
if [ ! -f "$tok" ]; then  # the first session: train the tokenizer (the caches below are built from it)
  tok="$here/data/tokp/tokenizer.json"
  [ -f "$tok" ] || "$PY" tokenizer.py --vocab-size 8192 --fraction 0.1 --out "$tok"
fi
# Token caches are a function of the tokenizer and the corpus: rebuilt when missing or stale.
stamp="$(sha256sum "$tok" | cut -c1-12)"
train_cache="$here/data/train-$stamp.npz"
valid_cache="$here/data/valid-$stamp.npz"
[ -f "$train_cache" ] || "$PY" corpus.py --tokenizer "$tok" --fraction 1.0 --out "$train_cache"
[ -f "$valid_cache" ] || "$PY" corpus.py --tokenizer "$tok" --corpus ../../shared/data/corpus/gutenberg-valid.txt.xz --out "$valid_cache"
# bf16 autocast where it is faster than f32 on this CPU, else f32 (`--amp auto`, train/model.py's
# resolve_amp, which times both at start where bf16 is native): bf16 ran the step 2.7× as fast as
# f32 on the throughput table's Xeon, 0.63× on session 26's (AVX512-BF16, no AMX), and emulated
# (an AMD EPYC Zen 3 VM) a [8192, 384] × [384, 1536] linear took 19.5 s instead of f32's 0.43 s.
# AMP=bf16|none overrides.
source "$here/recipe.sh"
# torch.compile (Inductor): 8 % more tokens/s on this recipe once compiled, about a minute to
# compile, so it pays after a quarter of an hour (train/compile_check.sh; train/README.md). Where
# it cannot compile (no C++ compiler), train.py says so and trains eagerly; COMPILE=0 skips it.
compile=()
[ "${COMPILE:-1}" = 0 ] || compile=(--compile)
exec nice -n 19 "$PY" train.py --tokenizer "$tok" --train-cache "$train_cache" --valid-cache "$valid_cache" \
  --out runs/default --commit-dir "$resume" --resume "${RECIPE[@]}" \
  --threads 2 --amp "${AMP:-auto}" "${compile[@]}" \
  ${SESSION_SECONDS:+--session-seconds "$SESSION_SECONDS"} "$@"
