"""Unit check of `--amp auto` (run by smoke.sh, from train/: `python -m check_amp`).

`resolve_amp` decides bf16 or f32 from a timing, so the decision itself is checked here with the
probe and the CPU's bf16 flag replaced: an explicit choice passes through untouched, a CPU without
native bf16 gets f32 without probing, the threshold `BF16_MIN_SPEEDUP` is inclusive (at it → bf16,
just below → f32), and the printed line names the choice. The real probe, `bf16_speedup`, must
return a positive, finite ratio and leave the caller's random state as it was (training's batches
and initialization depend on it). Exits non-zero on any mismatch.
"""

from __future__ import annotations

import math
import sys

import torch

import model

CPU = torch.device("cpu")


def resolve(native: bool, speedup: float) -> tuple[str, list[str], int]:
    """resolve_amp("auto") on a CPU that reports `native` bf16 and whose probe measures `speedup`."""
    lines: list[str] = []
    probes = 0

    def fake_speedup(device):
        nonlocal probes
        probes += 1
        return speedup

    real_speedup, real_flag = model.bf16_speedup, torch.ops.mkldnn._is_mkldnn_bf16_supported
    model.bf16_speedup = fake_speedup
    torch.ops.mkldnn._is_mkldnn_bf16_supported = lambda: native
    try:
        return model.resolve_amp("auto", CPU, log=lines.append), lines, probes
    finally:
        model.bf16_speedup, torch.ops.mkldnn._is_mkldnn_bf16_supported = real_speedup, real_flag


def main() -> int:
    failures = []

    def check(what: str, ok: bool, got) -> None:
        print(f"  {'ok  ' if ok else 'FAIL'} {what}: {got}")
        if not ok:
            failures.append(what)

    for explicit in ("none", "bf16"):
        got = model.resolve_amp(explicit, CPU, log=lambda _: failures.append(f"{explicit} logged"))
        check(f"--amp {explicit} passes through", got == explicit, got)

    t = model.BF16_MIN_SPEEDUP
    cases = [  # (native, measured speedup, expected choice, expected probes)
        (False, 5.0, "none", 0),
        (True, t, "bf16", 1),
        (True, t - 0.01, "none", 1),
        (True, 2.7, "bf16", 1),  # the throughput table's Xeon
        (True, 0.63, "none", 1),  # session 26's Xeon
    ]
    for native, speedup, want, want_probes in cases:
        got, lines, probes = resolve(native, speedup)
        said = lines[-1] if lines else ""
        names = ("→ bf16" if want == "bf16" else "→ f32") in said
        check(f"native={native}, speedup {speedup:.2f} → {want}, {want_probes} probe(s), says so",
              got == want and probes == want_probes and len(lines) == 1 and names, (got, probes, said))

    torch.manual_seed(1234)
    before = torch.get_rng_state()
    ratio = model.bf16_speedup(CPU, reps=1)
    check("bf16_speedup leaves the global RNG state as it was", torch.equal(before, torch.get_rng_state()), "")
    check("bf16_speedup is a positive, finite ratio", math.isfinite(ratio) and ratio > 0, f"{ratio:.3f}")

    if failures:
        print(f"check_amp: {len(failures)} failed: {failures}", file=sys.stderr)
        return 1
    print("check_amp: all passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
