#!/usr/bin/env bash
# Idempotent: creates tools/golden/.venv if missing and installs the pinned requirements.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
py="${PYTHON:-python3}"
if [ ! -x "$here/.venv/bin/python" ]; then
  "$py" -m venv "$here/.venv"
fi
"$here/.venv/bin/python" -m pip install --disable-pip-version-check -q -r "$here/requirements.txt"
"$here/.venv/bin/python" -c 'import torch, transformers, tokenizers, safetensors, sentencepiece, numpy; print("torch", torch.__version__, "transformers", transformers.__version__, "tokenizers", tokenizers.__version__)'
