"""Where the model runs: the one place that picks CUDA or the CPU, its number format, and the seeds.

CUDA when present (bf16 autocast, so scaled_dot_product_attention can take its fused kernels), the CPU in
float32 otherwise. Nothing in the explainer requires a GPU.

On a CPU that multiplies bf16 in hardware (Intel AMX), bf16 autocast is an opt-in: `EXPLAINER_CPU_BF16=1`
or `with cpu_bf16():`. It trades a small relative error in the output for speed; float32 stays the default,
so CPU results are exact and repeatable.
"""
from __future__ import annotations

import contextlib
import os
import random

import numpy as np
import torch


def pick_device(prefer: str | None = None) -> torch.device:
    """CUDA when present, else the CPU; `prefer` ("cpu", "cuda") overrides when that device exists."""
    if prefer == "cpu" or not torch.cuda.is_available():
        return torch.device("cpu")
    return torch.device("cuda")


_cpu_bf16 = os.environ.get("EXPLAINER_CPU_BF16", "") == "1"


def cpu_supports_bf16() -> bool:
    """Whether this CPU multiplies bf16 in hardware (AMX), the only kind where bf16 pays off."""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            return "amx_bf16" in cpuinfo.read()
    except OSError:
        return False


@contextlib.contextmanager
def cpu_bf16(enabled: bool = True):
    """Within this block the CPU computes in bf16 autocast too (or, with enabled=False, in float32)."""
    global _cpu_bf16
    before, _cpu_bf16 = _cpu_bf16, enabled
    try:
        yield
    finally:
        _cpu_bf16 = before


def compute_dtype(device) -> torch.dtype:
    """The number format matrix work runs in: bf16 on CUDA, float32 on the CPU unless bf16 was opted in."""
    device = torch.device(device)
    return torch.bfloat16 if device.type == "cuda" or (device.type == "cpu" and _cpu_bf16) else torch.float32


def autocast(device) -> contextlib.AbstractContextManager:
    """Autocast to the compute dtype where that is bf16; otherwise a no-op, so results stay float32."""
    device = torch.device(device)
    if compute_dtype(device) == torch.float32:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=torch.bfloat16)


def seed_everything(seed: int) -> None:
    """Seed Python, numpy and torch (every device), so weight initialisation and training repeat."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def cpu_generator(seed: int) -> torch.Generator:
    """A seeded generator on the CPU. Noise is drawn on the CPU and moved, so a seed gives the same
    trajectory on every device."""
    return torch.Generator("cpu").manual_seed(seed)


def synchronize(device) -> None:
    """Wait for queued GPU work, so wall-clock timings mean something; a no-op on the CPU."""
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()
