#!/usr/bin/env bash
# Idempotent: creates train/.venv if missing and installs the pinned requirements (a no-op when
# they are already installed). TRAIN_VENV=/path/to/venv uses another environment instead, e.g.
# tools/golden/.venv, which has the same pins.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="${TRAIN_VENV:-$here/.venv}"
case "$venv" in /*) ;; *) venv="$PWD/$venv" ;; esac
py="${PYTHON:-python3}"
if [ ! -x "$venv/bin/python" ]; then
  "$py" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --disable-pip-version-check -q -r "$here/requirements.txt"
"$venv/bin/python" -c 'import torch, transformers, tokenizers, safetensors, numpy; print("train env:", "torch", torch.__version__, "transformers", transformers.__version__, "tokenizers", tokenizers.__version__)'
