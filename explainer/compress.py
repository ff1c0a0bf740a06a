"""Compressed, then cut: a clip through the compression network, measured against plain resizing.

The fair comparison keeps the same count of numbers: the latent holds (T/2) x (H/4) x (W/4) x 4 numbers,
so the baseline shrinks the clip (3 colour numbers a pixel) to as many numbers, averaging pairs of frames
in time and resizing in space (area), then brings it back with bicubic in space and linear in time.
Scores are PSNR and SSIM against the clip, in 0-255 levels.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

from .pixels import psnr_db, to_pixels, to_unit
from .vae import VideoAutoencoder

VAE_WEIGHTS = Path(__file__).resolve().parent.parent / "assets" / "vae.safetensors"


# --- the same-count baseline -------------------------------------------------------------------------

def baseline_size(height: int, width: int, numbers_per_frame: int) -> tuple[int, int]:
    """The largest (h, w) of the frame's aspect whose h * w * 3 colour numbers fit `numbers_per_frame`."""
    scale = math.sqrt(numbers_per_frame / (3 * height * width))
    h, w = max(1, round(height * scale)), max(1, round(width * scale))
    while h * w * 3 > numbers_per_frame:
        h, w = (h - 1, w) if h / height >= w / width else (h, w - 1)
    return h, w


def frame_pairs(frames: int, per_latent: int = 2) -> list[list[int]]:
    """The frames each latent frame stands for: [0, 1], [2, 3], ... (an odd last frame alone)."""
    return [list(range(start, min(start + per_latent, frames))) for start in range(0, frames, per_latent)]


def same_count_baseline(clip: np.ndarray, latent_shape) -> np.ndarray:
    """clip (T, H, W, 3) uint8 kept as many numbers as a latent of `latent_shape` (T', H', W', C) holds,
    then brought back to (T, H, W, 3): averaged in time, area-resized in space; bicubic and linear back."""
    frames, height, width, _ = clip.shape
    lt, lh, lw, channels = latent_shape
    pairs = frame_pairs(frames, -(-frames // lt))
    small_h, small_w = baseline_size(height, width, lh * lw * channels)
    values = clip.astype(np.float32)
    small = [cv2.resize(values[pair].mean(axis=0), (small_w, small_h), interpolation=cv2.INTER_AREA) for pair in pairs]
    big = np.stack([cv2.resize(frame, (width, height), interpolation=cv2.INTER_CUBIC) for frame in small])
    centres = np.array([np.mean(pair) for pair in pairs])  # where in time each kept frame sits
    back = np.empty_like(values)
    for f in range(frames):  # linear in time between the two nearest kept frames
        k = int(np.clip(np.searchsorted(centres, f) - 1, 0, max(0, len(centres) - 2)))
        if len(centres) == 1:
            back[f] = big[0]
            continue
        weight = float(np.clip((f - centres[k]) / (centres[k + 1] - centres[k]), 0.0, 1.0))
        back[f] = (1 - weight) * big[k] + weight * big[k + 1]
    return np.clip(back, 0, 255).round().astype(np.uint8)


# --- SSIM --------------------------------------------------------------------------------------------

def ssim(estimate: np.ndarray, reference: np.ndarray) -> float:
    """Mean structural similarity (Wang et al. 2004: 11x11 Gaussian window, sigma 1.5, K = 0.01, 0.03) over
    every frame and colour channel of two uint8 clips (..., H, W, 3)."""
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    x = estimate.reshape(-1, *estimate.shape[-3:]).astype(np.float64)
    y = reference.reshape(-1, *reference.shape[-3:]).astype(np.float64)
    scores = []
    for a, b in zip(x, y):
        def blur(image):
            return cv2.GaussianBlur(image, (11, 11), 1.5, borderType=cv2.BORDER_REFLECT)

        mean_a, mean_b = blur(a), blur(b)
        var_a = blur(a * a) - mean_a**2
        var_b = blur(b * b) - mean_b**2
        covariance = blur(a * b) - mean_a * mean_b
        score = ((2 * mean_a * mean_b + c1) * (2 * covariance + c2)) / \
            ((mean_a**2 + mean_b**2 + c1) * (var_a + var_b + c2))
        scores.append(score.mean())
    return float(np.mean(scores))


# --- the network on a clip ---------------------------------------------------------------------------

def own_frames(clip) -> np.ndarray:
    """The frames the network takes from a working clip (explainer.clip.Clip): the window, but a still as the
    one frame it is (the window repeats it to fill a tubelet; the network pairs a lone frame with itself)."""
    return clip.frames[:1] if clip.source.frames_decoded <= 1 else clip.frames


@dataclass
class Compressed:
    """A clip through the autoencoder: its latent (T', H', W', 4), the decoded clip and the same-count
    baseline (T, H, W, 3) uint8, and the seconds each half took."""

    latent: np.ndarray
    decoded: np.ndarray
    baseline: np.ndarray
    encode_s: float
    decode_s: float

    def scores(self, clip: np.ndarray) -> dict:
        pixels, numbers = clip.size, self.latent.size
        return {"psnr_db": round(psnr_db(to_unit(self.decoded), to_unit(clip)), 2),
                "ssim": round(ssim(self.decoded, clip), 4),
                "baseline_psnr_db": round(psnr_db(to_unit(self.baseline), to_unit(clip)), 2),
                "baseline_ssim": round(ssim(self.baseline, clip), 4),
                "latent_shape": list(self.latent.shape), "values_per_latent": round(pixels / numbers, 2),
                "encode_s": round(self.encode_s, 3), "decode_s": round(self.decode_s, 3),
                "latent_mean": [round(float(v), 3) for v in self.latent.reshape(-1, self.latent.shape[-1]).mean(0)],
                "latent_std": [round(float(v), 3) for v in self.latent.reshape(-1, self.latent.shape[-1]).std(0)]}


def compress(model: VideoAutoencoder, clip: np.ndarray) -> Compressed:
    """clip (T, H, W, 3) uint8, H and W multiples of 4 -> its latent, decoded clip and baseline, timed."""
    x = to_unit(clip)[None]  # (1, T, H, W, 3) in [-1, 1]
    with torch.inference_mode():
        started = time.perf_counter()
        latent = model.encode(x)  # (1, T', H', W', 4)
        encoded = time.perf_counter()
        decoded = model.decode(latent, clip.shape[0])  # (1, T, H, W, 3)
        done = time.perf_counter()
    latent_np = latent[0].numpy()
    return Compressed(latent_np, to_pixels(decoded[0]), same_count_baseline(clip, latent_np.shape),
                      encoded - started, done - encoded)
