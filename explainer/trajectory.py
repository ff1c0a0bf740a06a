"""The reverse process on one clip, kept whole so the page can replay it: every x_t and every x̂0, a 2D map
of the path from clip to noise and back, and where a chosen patch looks at a chosen step.

No Gradio and no Plotly here: clips in, numpy arrays out.
"""
from __future__ import annotations

from dataclasses import dataclass, field
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


def denoise(model: DiT, clip_uint8: np.ndarray, *, sampler: str = "ddim", steps: int = 50, seed: int = 0,
            start: str = "noise", strength: float = 0.6, eta: float = 0.0, schedule: Schedule | None = None,
            on_step=None) -> Trajectory:
    """Run `sampler` on the clip's shape, from pure noise (start="noise") or from the clip noised to
    `strength` (start="clip", SDEdit). The same seed gives the same trajectory. `on_step(index, total)`
    reports progress."""
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
    timesteps, noisy, guesses, snrs, psnrs, latents, last = [], [], [], [], [], [], None
    for step in SAMPLERS[sampler](model, schedule, **options):
        timesteps.append(int(step.t))
        latents.append(step.x_t[0].detach().cpu())
        noisy.append(to_pixels(step.x_t[0]))
        guesses.append(to_pixels(step.x0_hat[0]))
        snrs.append(float(schedule.snr(step.t)))
        psnrs.append(psnr_db(step.x0_hat[0], x0[0]))
        last = step
        if on_step is not None:
            on_step(step.index + 1, step.total)
    return Trajectory(timesteps, np.stack(noisy), np.stack(guesses), to_pixels(last.x_next[0]), snrs, psnrs,
                      latents, {"sampler": sampler, "steps": steps, "seed": seed, "start": start,
                                "strength": strength if start == "clip" else 1.0, "eta": eta})


def trajectory_map(trajectory: Trajectory, clip_uint8: np.ndarray | None = None) -> dict:
    """A 2D projection of every x_t and x̂0 (and the clip), on the two principal axes of the x_t path.

    The axes come from the x_t alone, so the map shows the path the sample travelled; the x̂0 guesses and the
    clip are placed on the same axes."""
    path = to_unit(trajectory.x_t.reshape(len(trajectory.x_t), -1)).numpy()
    guesses = to_unit(trajectory.x0_hat.reshape(len(trajectory.x0_hat), -1)).numpy()
    final = to_unit(trajectory.final.reshape(1, -1)).numpy()
    centre = path.mean(0, keepdims=True)
    # principal axes from the small Gram matrix: (S, S) instead of (P, P) for P pixels
    centred = path - centre
    gram = centred @ centred.T
    values, vectors = np.linalg.eigh(gram)
    order = np.argsort(values)[::-1][:2]
    axes = (vectors[:, order].T @ centred) / np.sqrt(np.maximum(values[order], 1e-12))[:, None]  # (2, P)
    project = lambda points: ((points - centre) @ axes.T)  # noqa: E731  (n, 2)
    result = {"x_t": project(path), "x0_hat": project(guesses), "final": project(final)[0],
              "explained": (values[order] / max(values.sum(), 1e-12)).tolist()}
    if clip_uint8 is not None:
        result["clip"] = project(to_unit(clip_uint8.reshape(1, -1)).numpy())[0]
    return result


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
    return write_webm(path, video, fps=fps)
