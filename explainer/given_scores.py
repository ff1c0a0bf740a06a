"""How a run with given frames did: its generated frames against the real ones, against copying what was
given, against the same run with nothing given, and how they move (frame-to-frame change, raw and smoothed).

The numbers `python -m explainer denoise --given` reports and `evaluate --given` takes medians of.
No Gradio and no Plotly here.
"""
from __future__ import annotations

import numpy as np
import torch

from .dit import from_given
from .given import is_still
from .patches import DEFAULT_PATCH
from .pixels import psnr_db, to_unit
from .trajectory import RunSettings, denoise


def copy_of_given(clip: np.ndarray, given_frames: tuple[int, ...], pt: int = DEFAULT_PATCH[0]) -> np.ndarray:
    """The clip (T, H, W, 3) with every other frame replaced by where the DiT starts it (`dit.from_given`):
    the nearest given frame, or, between two given slices, their crossfade by distance."""
    t = torch.ones(1, -(-len(clip) // pt), dtype=torch.long)  # (1, gt): any t > 0 marks a slice generated
    t[0, sorted({frame // pt for frame in given_frames})] = 0
    start = from_given(torch.from_numpy(clip).float()[None], t, pt)[0].numpy()
    return np.clip(start.round(), 0, 255).astype(np.uint8)


def frame_change(clip: np.ndarray, frames: list[int], *, smooth: bool = False) -> float:
    """Mean |change| between consecutive frames (levels 0-255), over the pairs whose later frame is among
    `frames`; `smooth` takes it after a 3-frame running mean over time (so flicker counts, drift less)."""
    values = clip.astype(np.float32)
    if smooth:
        padded = np.concatenate([values[:1], values, values[-1:]])
        values = (padded[:-2] + padded[1:-1] + padded[2:]) / 3
    pairs = [f for f in frames if f > 0]
    if not pairs:
        return 0.0
    return float(np.mean([np.abs(values[f] - values[f - 1]).mean() for f in pairs]))


def _psnr_on(frames: list[int], estimate: np.ndarray, reference: np.ndarray) -> float:
    return round(psnr_db(to_unit(estimate[frames]), to_unit(reference[frames])), 2)


def score_given(model, clip_uint8: np.ndarray, settings: RunSettings, *, schedule=None) -> dict:
    """Run `settings` (with `given` set) and the same seed and steps with nothing given on the clip
    (T, H, W, 3) uint8, and score the generated frames. A still has no real frames to compare with: its
    PSNRs and the real clip's change are None."""
    run = denoise(model, clip_uint8, settings, schedule=schedule)
    still = is_still(clip_uint8)
    real = np.repeat(clip_uint8[:1], run.final.shape[0], axis=0) if still else clip_uint8
    generated = [f for f in range(real.shape[0]) if f not in run.given_frames]
    unconditioned = denoise(model, real, RunSettings(**{**settings.__dict__, "given": None}), schedule=schedule)
    scores = {
        "given_frames": list(run.given_frames),
        "generated_psnr_db": _psnr_on(generated, run.final, real),
        "first_x0_psnr_db": round(run.psnr_db[0], 2),
        "copy_psnr_db": _psnr_on(generated, copy_of_given(real, run.given_frames), real),
        "unconditioned_psnr_db": _psnr_on(generated, unconditioned.final, real),
        "generated_change": round(frame_change(run.final, generated), 2),
        "clip_change": round(frame_change(real, generated), 2),
        "generated_smooth_change": round(frame_change(run.final, generated, smooth=True), 2),
        "clip_smooth_change": round(frame_change(real, generated, smooth=True), 2),
    }
    if still:
        scores.update({key: None for key in ("generated_psnr_db", "first_x0_psnr_db", "copy_psnr_db",
                                             "unconditioned_psnr_db", "clip_change", "clip_smooth_change")})
    return {"run": run, **scores}


def done_when(scores: dict) -> dict:
    """The checks a trained condition must pass, on one clip and mode (medians over seeds): the first
    x̂0 at least the copy minus 0.5 dB; the finished frames 3 dB above nothing given; moving like video
    (smoothed change 0.3-3 times the clip's, raw change at most twice the clip's)."""
    ratio = scores["generated_smooth_change"] / max(scores["clip_smooth_change"], 1e-9)
    return {"learned_the_condition": scores["first_x0_psnr_db"] >= scores["copy_psnr_db"] - 0.5,
            "recognisable": scores["generated_psnr_db"] >= scores["unconditioned_psnr_db"] + 3,
            "moves_like_video": bool(0.3 <= ratio <= 3 and scores["generated_change"] <= 2 * scores["clip_change"])}
