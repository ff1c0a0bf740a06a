"""Light and contrast: light that changes over a clip, lens vignetting, and the contrast of real footage."""
from __future__ import annotations

import cv2
import numpy as np

from .textures import unit_grid


def relight(rng, clip):
    """Change the light over time (a cloud passing, a lamp moving by) and darken the corners like a lens."""
    frames, height, width, _ = clip.shape
    # light is smooth, so it is worked out on a coarse grid (h, w, T) and enlarged
    coarse_h, coarse_w = max(2, height // 8), max(2, width // 8)
    y, x = unit_grid(coarse_h, coarse_w)
    y, x = y[..., None], x[..., None]                                   # (h, 1, 1), (1, w, 1)
    time = np.linspace(0, 1, frames, dtype=np.float32)
    light = np.ones((1, 1, 1), np.float32)
    if rng.random() < 0.4:
        light = light * (1 + rng.uniform(-0.4, 0.4) * (time - 0.5))
    if rng.random() < 0.3:
        (start_y, start_x), (end_y, end_x) = rng.uniform(-1, 1, (2, 2))
        spot_y, spot_x = start_y + (end_y - start_y) * time, start_x + (end_x - start_x) * time
        falloff = ((y - spot_y) ** 2 + (x - spot_x) ** 2) / rng.uniform(0.2, 0.8)
        light = light * (1 + rng.uniform(0.2, 0.5) * np.exp(-falloff))
    if rng.random() < 0.5:
        corner = x.max() ** 2 + y.max() ** 2
        light = light * (1 - rng.uniform(0.05, 0.25) * (x * x + y * y) / corner)
    if light.size == 1:
        return clip
    light = np.broadcast_to(light, (coarse_h, coarse_w, frames)).astype(np.float32)
    clip *= _enlarge(light, height, width).transpose(2, 0, 1)[..., None]
    return clip


def _enlarge(stack, height, width):
    """Resize a stack of fields (h, w, n) to (height, width, n), in slices OpenCV accepts as channels."""
    slices = [cv2.resize(np.ascontiguousarray(stack[..., i:i + 128]), (width, height))
              for i in range(0, stack.shape[-1], 128)]
    return np.dstack(slices).reshape(height, width, -1)


def match_contrast(rng, clip) -> np.ndarray:
    """uint8 frames stretched to the mean and spread of real footage (std 0.2-0.29 of the range)."""
    target_std, target_mean = rng.uniform(0.2, 0.29), rng.uniform(0.38, 0.58)
    flat = clip.reshape(-1, clip.shape[-2] * clip.shape[-1])
    mean, std = (float(stat[0, 0]) for stat in cv2.meanStdDev(flat))
    gain = np.clip(target_std / max(std, 1e-6), 0.5, 4.0)
    # one pass: x * gain + offset, scaled to 0..255, rounded and saturated into uint8
    stretched = cv2.addWeighted(flat, 255 * gain, flat, 0, 255 * (target_mean - mean * gain), dtype=cv2.CV_8U)
    return stretched.reshape(clip.shape)
