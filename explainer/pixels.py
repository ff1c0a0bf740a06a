"""Pixels and the numbers the DiT reads: uint8 0..255 <-> float in [-1, 1], and how close two clips are.

The one place these conversions live, so every stage rounds the same way.
"""
from __future__ import annotations

import math

import numpy as np
import torch


def to_unit(pixels) -> torch.Tensor:
    """uint8 pixels (..., H, W, C) in 0..255 -> float32 in [-1, 1] (numpy array or tensor in)."""
    return torch.as_tensor(np.asarray(pixels)).float() / 127.5 - 1


def to_pixels(values) -> np.ndarray:
    """Float values in [-1, 1] (numpy array or tensor) -> uint8 pixels, rounded to the nearest level;
    values outside the range are clipped."""
    if isinstance(values, torch.Tensor):  # rounded in torch (half to even, as np.rint), in fewer passes; the
        # pixels come out in row order whatever the tensor's strides (the DiT's output is a permuted view)
        pixels = ((values.detach().float() + 1) * 127.5).round_().clamp_(0, 255).to(torch.uint8)
        return pixels.contiguous().cpu().numpy()
    return np.clip(np.rint((np.asarray(values, np.float32) + 1) * 127.5), 0, 255).astype(np.uint8)


def psnr_db(estimate, reference) -> float:
    """Peak signal-to-noise ratio of two clips in [-1, 1] (peak-to-peak 2), in dB; the estimate is clipped
    to the range first, as its pixels would be."""
    estimate, reference = (torch.as_tensor(values).detach().float().cpu() for values in (estimate, reference))
    mse = estimate.clamp(-1, 1).sub_(reference).square_().mean().item()
    return float("inf") if mse == 0 else 10 * math.log10(4 / mse)
