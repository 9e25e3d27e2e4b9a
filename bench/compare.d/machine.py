"""Facts about the machine bench/compare runs on, for the results file and the table's header."""

import os
import platform
import shutil
import subprocess


def sh(cmd, **kw):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=60, **kw).stdout.strip()
    except Exception:
        return ""


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def mem_gib():
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal"):
                    return round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return None


def loadavg():
    try:
        return list(os.getloadavg())
    except OSError:
        return None


def all_cores():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def real_gpu_present():
    """A CUDA GPU torch can use, or one nvidia-smi lists. (lavapipe / llvmpipe do not count.)"""
    try:
        import torch

        if torch.cuda.is_available():
            return True
    except Exception:
        pass
    return bool(shutil.which("nvidia-smi")) and "GPU" in sh(["nvidia-smi", "-L"])
