#!/usr/bin/env bash
# Does torch.compile pay on the recipe itself, not only on throughput.py's fixed-shape step? The
# recipe's MLM head runs on the masked rows, whose number changes every batch (a graph break and
# dynamic shapes), so this runs the real training step twice from the same checkpoint, the same
# batches (the sampler state is in the checkpoint) and the same phase: once eager, once with
# `--compile` (continue.sh with COMPILE=0, then 1). It prints the steady tokens/s of each (the
# log windows after the first two, so Inductor's compile and its first recompilations are not
# counted), each run's wall time (the difference is mostly compiling) and how far the losses
# drift apart; results/compile-check.json keeps the numbers.
# Pause other work first (a training run: `pkill -STOP -f "python train.py"`, then -CONT).
#
#   train/compile_check.sh [STEPS] [CKPT_DIR]     # default: 150 steps from runs/default
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
steps="${1:-150}"
src="${2:-runs/default}"
[ -f "$src/ckpt.pt" ] || { echo "no checkpoint at train/$src/ckpt.pt: run train/continue.sh first" >&2; exit 1; }
for mode in eager compiled; do
  out="runs/compile-check-$mode"
  rm -rf "$out" && mkdir -p "$out"
  cp "$src/ckpt.pt" "$src/run.json" "$out/"
  flag=0
  [ "$mode" = compiled ] && flag=1
  start=$(date +%s)
  COMPILE=$flag ./continue.sh --out "$out" --commit-dir "" --session-steps "$steps" --log-every 25 --eval-every 0 \
    --ckpt-every 0 --phases "1x64x64t@0.02,2x128x64t@0.06,4x128x64t@1" > "$out/stdout.log" 2>&1
  echo "$mode: $(( $(date +%s) - start )) s wall for $steps steps" | tee "$out/wall.txt"
done
.venv/bin/python - "$steps" <<'EOF'
import json, sys
steps = int(sys.argv[1])
runs = {}
for mode in ("eager", "compiled"):
    recs = [json.loads(l) for l in open(f"runs/compile-check-{mode}/log.jsonl")]
    train = [r for r in recs if r.get("split") == "train"][-(steps // 25):]
    steady = train[2:]
    tok = sum(b["tokens"] - a["tokens"] for a, b in zip(train[1:], train[2:]))
    sec = sum(b["train_seconds"] - a["train_seconds"] for a, b in zip(train[1:], train[2:]))
    runs[mode] = {"windows": len(steady), "tokens_per_s": round(tok / sec), "mlm_loss": [r["mlm_loss"] for r in train],
                  "wall": open(f"runs/compile-check-{mode}/wall.txt").read().strip()}
e, c = runs["eager"], runs["compiled"]
drift = max(abs(x - y) for x, y in zip(e["mlm_loss"], c["mlm_loss"]))
print(f"eager    {e['tokens_per_s']:6d} tokens/s (steady, {e['windows']} windows of 25 steps); {e['wall']}")
print(f"compiled {c['tokens_per_s']:6d} tokens/s ({c['tokens_per_s'] / e['tokens_per_s']:.3f}x); {c['wall']}")
print(f"MLM loss per window, max |eager - compiled|: {drift:.4f}")
json.dump({"steps": steps, "eager": e, "compiled": c, "max_loss_drift": drift}, open("results/compile-check.json", "w"), indent=1)
EOF
