"""Fit the DiT to your clip: a copy of the prior trains on one clip, then both models
regenerate it from the same noise."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import figures
from ..errors import ExplainerError
from ..fit import FIT_SIDE, fit_on_thread, regenerate
from ..pixels import psnr_db, to_pixels, to_unit
from . import common
from .common import chips, fact
from .show_run import CLIP_FRAMES, prior_model

FIT_SECONDS = 60
FIT_MAX_SECONDS = 120


def fit_settings(seconds, seed, shortest: float = 1, longest: float = FIT_MAX_SECONDS) -> tuple[float, int]:
    """A fit's budget and seed, checked. Fits take turns in a pool of their own: on a shared link a
    longer one would keep the next visitor waiting."""
    try:
        seconds, seed = float(seconds), int(seed)
    except (TypeError, ValueError):
        raise ExplainerError("Seconds and seed are numbers.") from None
    if not shortest <= seconds <= longest or not 0 <= seed < 2**32:
        raise ExplainerError(f"Fit for {shortest:g} to {longest:g} seconds, with a seed from 0 to 4294967295.")
    return seconds, seed


def fit_facts(summary: dict) -> str:
    """The fit in chips: its working size, steps, loss, and both models' PSNR against the clip."""
    frames, height, width = summary["working_size"]
    return chips([
        fact("working size", f"{width} × {height}", f"{frames} frames, {summary['tokens']:,} tokens"),
        fact("training steps", f"{summary['steps']:,}", f"in {summary['seconds']:.0f} s "
             f"({summary['steps'] / max(summary['seconds'], 1e-9):.1f} a second)"),
        fact("loss", f"{summary['final_loss']:.4f}", "mean of the last 20 steps"),
        fact("prior, from noise", f"{summary['prior_psnr_db']:.1f} dB", "vs your clip"),
        fact("fitted, same noise", f"{summary['fitted_psnr_db']:.1f} dB", "vs your clip", "fr-key")])


@dataclass
class Training:
    """A fit under way: steps so far, seconds so far, and the loss curve as figure JSON."""

    steps: int
    elapsed: float
    loss: str


@dataclass
class Fitted:
    """A finished fit: the fitted copy (session state: model, name, path, side, figures), its data and chips."""

    fitted: dict
    summary: dict
    facts: str


def fit_to(path: str, seconds: float, seed: int, report=None, window: dict | None = None):
    """Fit a copy of the prior to the clip at `path` for `seconds` (see `fit_settings`): yields a `Training`
    about once a second, then one `Fitted`. `report(fraction, text)` tells what it is doing; `window` is
    which frames (`common.window_of`). Closing the generator stops the training."""
    report = report or (lambda fraction, text: None)
    prior = prior_model()
    report(0.0, f"Reading the clip at {FIT_SIDE} px")
    clip = common.load_clip(path, frames=CLIP_FRAMES, max_side=FIT_SIDE, patch=prior.config.patch, **(window or {}))
    x0 = to_unit(clip.frames)
    running = fit_on_thread(prior, x0, seconds=seconds, seed=seed)
    try:
        while running.thread.is_alive():
            running.thread.join(timeout=1.0)
            log = list(running.log)
            elapsed = log[-1][2] if log else 0.0
            report(min(0.99, elapsed / seconds), f"Fitting: step {len(log)}, {elapsed:.0f} of {seconds:.0f} s")
            losses = [loss for _, loss, _ in log]
            yield Training(len(losses), elapsed, figures.to_json(figures.loss_curve(losses, elapsed, seconds)))
    finally:
        running.stop()
    try:
        fit = running.outcome()
    except Exception as error:
        raise ExplainerError(f"The fit stopped: {error}") from None
    report(0.99, "Both models regenerate the clip from the same noise")
    prior_clip = regenerate(prior, x0.shape, seed=seed)
    fitted_clip = regenerate(fit.model, x0.shape, seed=seed)
    name = Path(path).name
    summary = {"clip": name, "working_size": list(clip.frames.shape[:3]), "tokens": clip.grid.tokens,
               "seconds_budget": seconds, "seed": seed, "steps": fit.steps, "seconds": round(fit.seconds, 1),
               "final_loss": round(float(np.mean(fit.losses[-20:])) if fit.losses else float("nan"), 5),
               "prior_psnr_db": round(psnr_db(prior_clip, x0), 2),
               "fitted_psnr_db": round(psnr_db(fitted_clip, x0), 2)}
    loss = figures.to_json(figures.loss_curve(fit.losses, fit.seconds, seconds, done=True))
    compare = figures.to_json(figures.regeneration(
        clip.frames, to_pixels(prior_clip.numpy()), to_pixels(fitted_clip.numpy()),
        summary["prior_psnr_db"], summary["fitted_psnr_db"], [f"{t:.2f}s" for t in clip.times_s]))
    fitted = {"model": fit.model, "name": name, "path": path, "side": FIT_SIDE, "loss": loss,
              "regeneration": compare}
    yield Fitted(fitted, summary, fit_facts(summary))
