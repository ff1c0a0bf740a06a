"""The reverse process on one clip, step by step as it is computed and kept whole so the page can replay it:
every x_t and every x̂0, a 2D map of the path from noise to the clip, how much each guess changed and at
which scale, and where a chosen patch looks at a chosen step.

No Gradio and no Plotly here: clips in, numpy arrays out.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import torch

from .diffusion import SAMPLERS, Schedule, get_schedule
from .dit import DiT
from .pixels import psnr_db, to_pixels, to_unit
from .video import write_webm


@dataclass
class Trajectory:
    """A whole denoising run at the working size: uint8 frames (steps, T, H, W, 3) of x_t and of x̂0."""

    timesteps: list[int]
    x_t: np.ndarray               # (S, T, H, W, 3) uint8: what the model saw at each step
    x0_hat: np.ndarray            # (S, T, H, W, 3) uint8: its guess of the clean clip
    final: np.ndarray             # (T, H, W, 3) uint8: the finished clip
    snr: list[float]
    psnr_db: list[float] = field(default_factory=list)  # each x̂0 against the clip (where there is one)
    latents: list[torch.Tensor] = field(default_factory=list, repr=False)  # float x_t, for attention maps
    settings: dict = field(default_factory=dict)


class Shown:
    """One step of a run as the page shows it: x_t and the guess x̂0 (T, H, W, 3), how much of x_t is still
    noise (SNR), the guess against the clip, and (last step only) the finished clip. Pixels and PSNR are
    worked out when first asked for (a run kept only for its numbers never makes the pictures)."""

    def __init__(self, index: int, total: int, t: int, snr: float, x_t: torch.Tensor, x0_hat: torch.Tensor,
                 clip: torch.Tensor, final: torch.Tensor | None = None):
        self.index, self.total, self.t, self.snr = index, total, t, snr
        self.latent = x_t  # the float x_t, for attention maps
        self._x0_hat, self._clip, self._final = x0_hat, clip, final

    @cached_property
    def x_t(self) -> np.ndarray:
        return to_pixels(self.latent)

    @cached_property
    def x0_hat(self) -> np.ndarray:
        return to_pixels(self._x0_hat)

    @cached_property
    def psnr_db(self) -> float:
        return psnr_db(self._x0_hat, self._clip)

    @cached_property
    def final(self) -> np.ndarray | None:
        return None if self._final is None else to_pixels(self._final)


def denoise_steps(model: DiT, clip_uint8: np.ndarray, *, sampler: str = "ddim", steps: int = 50, seed: int = 0,
                  start: str = "noise", strength: float = 0.6, eta: float = 0.0, schedule: Schedule | None = None):
    """Run `sampler` on the clip's shape, from pure noise (start="noise") or from the clip noised to
    `strength` (start="clip", SDEdit), yielding each step as it is computed (`Shown`). The same seed gives
    the same steps."""
    schedule = schedule or get_schedule("linear")
    if sampler not in SAMPLERS:
        raise ValueError(f"sampler must be one of {sorted(SAMPLERS)}")
    device = next(model.parameters()).device
    x0 = to_unit(clip_uint8)[None]  # (1, T, H, W, C)
    options = {"steps": steps, "seed": seed, "clip_x0": True, "device": device}
    if sampler == "ddim":
        options["eta"] = eta
    if start == "clip":
        options.update(clip=x0.to(device), strength=strength)
    else:
        options["shape"] = tuple(x0.shape)
    for step in SAMPLERS[sampler](model, schedule, **options):
        last = step.index == step.total - 1
        yield Shown(step.index, step.total, int(step.t), float(schedule.snr(step.t)), step.x_t[0].detach().cpu(),
                    step.x0_hat[0].detach().cpu(), x0[0], step.x_next[0].detach().cpu() if last else None)


def run_settings(sampler: str, steps: int, seed: int, start: str, strength: float, eta: float) -> dict:
    """A run's settings as its Trajectory keeps them (strength 1 from pure noise)."""
    return {"sampler": sampler, "steps": steps, "seed": seed, "start": start,
            "strength": strength if start == "clip" else 1.0, "eta": eta}


def collect(shown: list[Shown], settings: dict) -> Trajectory:
    """The steps of a finished run as one Trajectory."""
    return Trajectory([s.t for s in shown], np.stack([s.x_t for s in shown]), np.stack([s.x0_hat for s in shown]),
                      shown[-1].final, [s.snr for s in shown], [s.psnr_db for s in shown],
                      [s.latent for s in shown], settings)


def denoise(model: DiT, clip_uint8: np.ndarray, *, sampler: str = "ddim", steps: int = 50, seed: int = 0,
            start: str = "noise", strength: float = 0.6, eta: float = 0.0, schedule: Schedule | None = None,
            on_step=None) -> Trajectory:
    """`denoise_steps` run to the end and kept whole. `on_step(index, total)` reports progress."""
    shown = []
    for step in denoise_steps(model, clip_uint8, sampler=sampler, steps=steps, seed=seed, start=start,
                              strength=strength, eta=eta, schedule=schedule):
        shown.append(step)
        if on_step is not None:
            on_step(step.index + 1, step.total)
    return collect(shown, run_settings(sampler, steps, seed, start, strength, eta))


class PathMap:
    """A 2D map of a run that can be drawn while it runs, on axes fixed by its first step. Up: along the
    clip (its pixels as one direction); across: along the part of the first x_t that is not the clip (the
    starting noise). A reel's place is its length along each, per pixel, in [-1, 1] units: the clip sits
    at (0, its RMS), pure noise near (1, 0)."""

    def __init__(self, clip_uint8: np.ndarray, first_x_t: np.ndarray):
        clip, start = self._unit(clip_uint8), self._unit(first_x_t)
        up = clip / max(float(np.linalg.norm(clip)), 1e-12)
        rest = start - float(start @ up) * up
        across = rest / max(float(np.linalg.norm(rest)), 1e-12)
        axes = np.stack([across, up]) / np.sqrt(clip.size)  # (2, P), on [-1, 1] pixels
        # the same on uint8 pixels p, since p / 127.5 - 1 is what to_unit makes of them
        self.on_pixels, self.offset = (axes / 127.5).astype(np.float32), axes.sum(1)
        self.clip = self.place(clip_uint8)

    @staticmethod
    def _unit(reel_uint8: np.ndarray) -> np.ndarray:
        return np.asarray(reel_uint8, np.float32).reshape(-1) / 127.5 - 1.0  # as pixels.to_unit

    def place(self, reel_uint8: np.ndarray) -> tuple[float, float]:
        across, up = self.on_pixels @ np.asarray(reel_uint8, np.float32).reshape(-1) - self.offset
        return float(across), float(up)


def change_between(before: np.ndarray, after: np.ndarray, *, coarse_px: int = 16,
                   every: int = 1) -> tuple[float, float]:
    """How much a guess changed between two steps, (T, H, W, 3) uint8 each: (the RMS change in grey levels,
    the share of the change's energy at coarse scale: in structures at least `coarse_px` pixels across,
    from the 2D power spectrum of each frame's change in luminance). `every` > 1 looks at every so many
    frames only."""
    change = after[::every].astype(np.float32) - before[::every].astype(np.float32)
    rms = float(np.sqrt(np.mean(change ** 2)))
    luma = change @ np.array([0.299, 0.587, 0.114], np.float32)  # (T, H, W)
    power = np.abs(np.fft.rfft2(luma - luma.mean(axis=(1, 2), keepdims=True))) ** 2
    power[..., 1:(luma.shape[2] + 1) // 2] *= 2  # the half of the spectrum rfft2 leaves out
    frequency = np.hypot(np.fft.fftfreq(luma.shape[1])[:, None], np.fft.rfftfreq(luma.shape[2])[None, :])
    total = float(power.sum())
    return rms, (float(power[:, frequency <= 1 / coarse_px].sum()) / total if total > 0 else 0.0)


@torch.inference_mode()
def attention_map(model: DiT, trajectory: Trajectory, step: int, block: int, query_token: int) -> np.ndarray:
    """How much the patch `query_token` attends to every spacetime patch, at trajectory step `step` in
    block `block`: (heads, gt, gh, gw), each head's weights summing to 1."""
    device = next(model.parameters()).device
    x_t = trajectory.latents[step][None].to(device)
    t = torch.tensor([trajectory.timesteps[step]], device=device)
    _, weights = model(x_t, t, attention_of=(block, query_token))  # (1, heads, N)
    grid = model.grid(*x_t.shape[1:4])
    return weights[0].float().cpu().numpy().reshape(-1, *grid.shape)


def side_by_side(trajectory: Trajectory, frame: int | None = None) -> np.ndarray:
    """The trajectory as a video, one video frame per step: x_t on the left, x̂0 on the right, with a
    2-pixel gap. `frame` picks one clip frame to show; None plays the clip's frames along the steps."""
    steps, frames = trajectory.x_t.shape[:2]
    picks = [frame if frame is not None else step * frames // steps for step in range(steps)]
    gap = np.full((*trajectory.x_t.shape[2:4], 3), 255, np.uint8)[:, :2]
    return np.stack([np.concatenate([trajectory.x_t[s, f], gap, trajectory.x0_hat[s, f]], axis=1)
                     for s, f in zip(range(steps), picks)])


def write_trajectory_video(trajectory: Trajectory, path, fps: int = 10, scale: int = 3) -> Path:
    """A browser-playable .webm of the run (x_t | x̂0), enlarged `scale` times with crisp pixels, ending on
    the finished clip held for a second."""
    import cv2

    video = side_by_side(trajectory)
    last = np.concatenate([trajectory.final[-1], video[-1][:, trajectory.final.shape[2]:]], axis=1)
    video = np.concatenate([video, np.repeat(last[None], fps, axis=0)])
    height, width = video.shape[1:3]
    video = np.stack([cv2.resize(f, (width * scale, height * scale), interpolation=cv2.INTER_NEAREST) for f in video])
    return write_webm(path, video, fps=fps, fast=True)
