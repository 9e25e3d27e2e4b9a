# shellcheck shell=bash
# Sourced by scripts/setup, scripts/serve and scripts/test: common paths and pins.

ALBERT_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export ALBERT_ROOT

# cargo-installed tools (trunk, wasm-bindgen) and npm's binaryen (wasm-opt 132)
# must win over anything else on PATH (Debian's binaryen 108 breaks the wasm).
export PATH="$ALBERT_ROOT/node_modules/.bin:${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

export TRUNK_VERSION="0.21.14"
export WASM_OPT_VERSION="132"
# Headless Chromium used by the browser tests (Debian's chromium package).
export CHROMIUM_PATH="${CHROMIUM_PATH:-/usr/bin/chromium}"

# The wasm-bindgen version Cargo.lock resolved; wasm-bindgen-cli must match it exactly.
lock_wasm_bindgen_version() {
  awk '/^name = "wasm-bindgen"$/ { found = 1; next }
       found && /^version = / { gsub(/"/, "", $3); print $3; exit }' "$ALBERT_ROOT/Cargo.lock"
}
