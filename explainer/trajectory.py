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

from .diffusion import SAMPLERS, Given, Schedule, Start, device_of, options_for, schedule_of
from .dit import DiT
from .errors import ExplainerError
from .given import GIVEN, given_slices, slice_frames, working_clip
from .pixels import psnr_db, to_pixels, to_unit
from .video import write_webm

# --- what a run starts from and how it samples -------------------------------------------------------

def from_noise(x0: torch.Tensor, strength: float) -> Start:
    """Pure noise of the clip's shape (`strength` plays no part)."""
    return Start.noise(x0.shape)


def from_clip(x0: torch.Tensor, strength: float) -> Start:
    """SDEdit: the clip (1, T, H, W, C) noised part-way, as far as `strength` goes."""
    return Start.noised_clip(x0, strength)


# how a run can start, by name: the page, its links and the command line offer these
STARTS = {"noise": from_noise, "clip": from_clip}


@dataclass(frozen=True)
class RunSettings:
    """What a denoising run is asked for: the sampler (a name in diffusion.SAMPLERS), its model calls, the
    seed of its noise, where it starts (a name in STARTS: the clip noised to `strength`, or pure noise),
    DDIM's eta (fresh noise in each step), and which of the clip's time slices are given clean (a name in
    GIVEN, from pure noise only; None: nothing given)."""

    sampler: str = "ddim"
    steps: int = 50
    seed: int = 0
    start: str = "noise"
    strength: float = 0.6
    eta: float = 0.0
    given: str | None = None

    def __post_init__(self):
        if self.sampler not in SAMPLERS:
            raise ValueError(f"sampler must be one of {list(SAMPLERS)}, got {self.sampler!r}")
        if self.start not in STARTS:
            raise ValueError(f"start must be one of {list(STARTS)}, got {self.start!r}")
        if self.given is not None and self.given not in GIVEN:
            raise ExplainerError(f"given must be one of {list(GIVEN)}, got {self.given!r}")
        if self.given is not None and self.start != "noise":
            raise ExplainerError(f"given frames ({self.given}) start the other frames from pure noise: "
                                 "choose start noise, not the clip noised")

    def recorded(self) -> dict:
        """The settings as a Trajectory keeps them (strength 1 from pure noise: only the clip starts
        part-way)."""
        return {"sampler": self.sampler, "steps": self.steps, "seed": self.seed, "start": self.start,
                "strength": self.strength if self.start == "clip" else 1.0, "eta": self.eta, "given": self.given}


# --- a run, step by step and whole ---------------------------------------------------------------------

@dataclass
class Trajectory:
    """A whole denoising run at the working size: uint8 frames (steps, T, H, W, 3) of x_t and of x̂0."""

    timesteps: list[int]
    x_t: np.ndarray               # (S, T, H, W, 3) uint8: what the model saw at each step
    x0_hat: np.ndarray            # (S, T, H, W, 3) uint8: its guess of the clean clip
    final: np.ndarray             # (T, H, W, 3) uint8: the finished clip
    snr: list[float]
    psnr_db: list[float] = field(default_factory=list)  # each x̂0 against the clip (where there is one)
    # each step's x_t as the model saw it, float (T, H, W, C) in pixel space: an attention map needs the
    # exact noisy input, not its rounded pixels
    x_t_float: list[torch.Tensor] = field(default_factory=list, repr=False)
    settings: dict = field(default_factory=dict)
    given_frames: tuple[int, ...] = ()  # working frames given clean (never changed); psnr_db leaves them out


class Shown:
    """One step of a run as the page shows it: x_t and the guess x̂0 (T, H, W, 3), how much of x_t is still
    noise (SNR), the guess against the clip (on the generated frames only, when some are given), and (last
    step only) the finished clip. Pixels and PSNR are worked out when first asked for (a run kept only for
    its numbers never makes the pictures)."""

    def __init__(self, index: int, total: int, t: int, snr: float, x_t: torch.Tensor, x0_hat: torch.Tensor,
                 clip: torch.Tensor, final: torch.Tensor | None = None):
        self.index, self.total, self.t, self.snr = index, total, t, snr
        self.x_t_float = x_t  # the float x_t, for attention maps
        self._x0_hat, self._clip, self._final = x0_hat, clip, final

    given_frames: tuple[int, ...] = ()  # working frames given clean (a run with given frames sets its own)

    def with_given(self, frames: tuple[int, ...]) -> Shown:
        """This step, with `frames` marked as given (and left out of its PSNR)."""
        self.given_frames = tuple(frames)
        return self

    @cached_property
    def x_t(self) -> np.ndarray:
        return to_pixels(self.x_t_float)

    @cached_property
    def x0_hat(self) -> np.ndarray:
        return to_pixels(self._x0_hat)

    @property
    def generated_frames(self) -> list[int]:
        """The frames the run generated: all but the given ones."""
        return [f for f in range(self._clip.shape[0]) if f not in self.given_frames]

    @cached_property
    def psnr_db(self) -> float:
        frames = self.generated_frames
        return psnr_db(self._x0_hat[frames], self._clip[frames])

    @cached_property
    def final(self) -> np.ndarray | None:
        return None if self._final is None else to_pixels(self._final)


def denoise_steps(model: DiT, clip_uint8: np.ndarray, settings: RunSettings = RunSettings(), *,
                  schedule: Schedule | None = None):
    """Run the sampler the settings name on the clip's shape, from where they start (pure noise, or the
    clip noised to their strength: SDEdit), yielding each step as it is computed (`Shown`). The schedule is
    the one the model was trained with unless one is given. The same seed gives the same steps."""
    schedule = schedule or schedule_of(model)
    x0 = to_unit(working_clip(clip_uint8, settings.given))[None]  # (1, T, H, W, C)
    given = given_of(model, x0.to(device_of(model)), settings.given)
    start = STARTS[settings.start](x0.to(device_of(model)), settings.strength)
    start = start if given is None else Start.noise(start.shape, given)
    options = options_for(settings.sampler, steps=settings.steps, seed=settings.seed, eta=settings.eta,
                          clamp_x0=True)
    frames = () if given is None else given.frames
    for step in SAMPLERS[settings.sampler](model, schedule, start, **options):
        last = step.index == step.total - 1
        yield Shown(step.index, step.total, int(step.t), float(schedule.snr(step.t)), step.x_t[0].detach().cpu(),
                    step.x0_hat[0].detach().cpu(), x0[0], step.x_next[0].detach().cpu() if last else None
                    ).with_given(frames)


def given_of(model: DiT, x0: torch.Tensor, mode: str | None) -> Given | None:
    """The frames of x0 (1, T, H, W, C) that `mode` (a name in GIVEN) gives, clean, as the sampler takes them."""
    if mode is None:
        return None
    time_slices = model.grid(*x0.shape[1:4]).shape[0]
    slices = given_slices(mode, time_slices)
    return Given(x0, slice_frames(slices, x0.shape[1], model.config.patch[0]), slices, time_slices)


def collect(shown: list[Shown], settings: RunSettings) -> Trajectory:
    """The steps of a finished run as one Trajectory."""
    return Trajectory([s.t for s in shown], np.stack([s.x_t for s in shown]), np.stack([s.x0_hat for s in shown]),
                      shown[-1].final, [s.snr for s in shown], [s.psnr_db for s in shown],
                      [s.x_t_float for s in shown], settings.recorded(), shown[-1].given_frames)


def denoise(model: DiT, clip_uint8: np.ndarray, settings: RunSettings = RunSettings(), *,
            schedule: Schedule | None = None, on_step=None) -> Trajectory:
    """`denoise_steps` run to the end and kept whole. `on_step(index, total)` reports progress."""
    shown = []
    for step in denoise_steps(model, clip_uint8, settings, schedule=schedule):
        shown.append(step)
        if on_step is not None:
            on_step(step.index + 1, step.total)
    return collect(shown, settings)


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
def attention_map(model: DiT, x_t: torch.Tensor, t: int, block: int, query_token: int) -> np.ndarray:
    """How much the patch `query_token` attends to every spacetime patch in block `block`, when the model
    sees x_t (T, H, W, C), float, at timestep t (one step of a run: its `x_t_float` and timestep):
    (heads, gt, gh, gw), each head's weights summing to 1."""
    device = device_of(model)
    x_t = x_t.float()[None].to(device)  # (1, T, H, W, C)
    _, weights = model(x_t, torch.tensor([t], device=device), attention_of=(block, query_token))  # (1, heads, N)
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
