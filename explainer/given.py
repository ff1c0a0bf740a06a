"""Frames as the prompt: which time slices of a clip are given clean while the rest are generated from noise.

A time slice is one row of tubelets along time (the DiT's `grid.shape[0]` of them; pt frames each). Given
slices sit in the sequence at t = 0 and are never changed by the sampler, so the generated slices attend to
them in every block: Sora's animate a still, extend forwards or backwards, connect two moments.
Each mode is a function (time_slices) -> the given slices, collected in GIVEN (the page, its links and the
command line offer what it holds).
"""
from __future__ import annotations

import numpy as np
import torch

from .errors import ExplainerError
from .patches import DEFAULT_PATCH

ANIMATE_FRAMES = 16  # a still animated becomes a clip of this many frames, its first slice the photo


def _at_least_two(mode: str, time_slices: int):
    if time_slices < 2:
        raise ExplainerError(f"{mode} needs a clip of at least two time slices ({2 * DEFAULT_PATCH[0]} frames), "
                             f"this one has {time_slices}: a still photo can only be animated")


def animate(time_slices: int) -> tuple[int, ...]:
    """The first slice given: a still (or the clip's opening) set in motion."""
    if time_slices < 2:
        raise ExplainerError("animate needs frames to generate after the given one: make a still's working clip "
                             "with given.animate_still first")
    return (0,)


def extend(time_slices: int) -> tuple[int, ...]:
    """The first half given: the clip carried on forwards."""
    _at_least_two("extend", time_slices)
    return tuple(range(time_slices // 2))


def extend_back(time_slices: int) -> tuple[int, ...]:
    """The second half given: what came before it."""
    _at_least_two("extend-back", time_slices)
    return tuple(range(time_slices - time_slices // 2, time_slices))


def connect(time_slices: int) -> tuple[int, ...]:
    """The first and last slices given: the frames between two moments."""
    _at_least_two("connect", time_slices)
    return (0, time_slices - 1)


GIVEN = {"animate": animate, "extend": extend, "extend-back": extend_back, "connect": connect}


def given_slices(mode: str, time_slices: int) -> tuple[int, ...]:
    """The slices `mode` (a name in GIVEN) gives of a clip of `time_slices` slices."""
    if mode not in GIVEN:
        raise ExplainerError(f"given must be one of {list(GIVEN)}, got {mode!r}")
    return GIVEN[mode](time_slices)


def slice_frames(slices, frames: int, pt: int = DEFAULT_PATCH[0]) -> tuple[int, ...]:
    """The working frames that `slices` cover in a clip of `frames` frames (the last slice may be short)."""
    return tuple(f for s in slices for f in range(s * pt, min((s + 1) * pt, frames)))


def animate_still(photo_uint8: np.ndarray, frames: int = ANIMATE_FRAMES) -> np.ndarray:
    """The working clip of a still for *animate*: the photo (1, H, W, 3) repeated to `frames` frames, of which
    only the first slice is given (the rest start from noise; what they hold here is never read)."""
    return np.repeat(np.asarray(photo_uint8)[:1], frames, axis=0)


def is_still(clip_uint8: np.ndarray, pt: int = DEFAULT_PATCH[0]) -> bool:
    """Whether a working clip is one time slice, as a still photo is."""
    return clip_uint8.shape[0] <= pt


def working_clip(clip_uint8: np.ndarray, mode: str | None) -> np.ndarray:
    """The clip a run with `mode` given works on: a still (one time slice: a photo is padded to a tubelet)
    made a clip for *animate*, else as is."""
    if mode == "animate" and is_still(clip_uint8):
        return animate_still(clip_uint8)
    return clip_uint8


def random_given(time_slices: int, share: float, generator: torch.Generator) -> tuple[int, ...]:
    """What a training clip of `time_slices` slices is given: with probability `share` a mode drawn from
    GIVEN at random (its slices), else nothing, (); a mode the clip cannot take gives nothing."""
    if torch.rand((), generator=generator) >= share:
        return ()
    mode = list(GIVEN)[int(torch.randint(len(GIVEN), (), generator=generator))]
    try:
        return GIVEN[mode](time_slices)
    except ExplainerError:
        return ()
