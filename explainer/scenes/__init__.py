"""Procedural scenes: layered, textured, moving clips made with numpy and OpenCV alone.

They serve as the bundled sample clips in assets/ (explainer.assets), as test inputs, and as training data for the small
DiT, which is also asked to denoise real footage. So each clip borrows what real video has: a textured
background, several textured objects with soft edges and shadows, camera or object motion, changing
light, and the contrast of natural footage (pixel std about a quarter of the range).

A scene lives on a canvas (the world); a camera, one 2x3 affine map per frame, looks at it. Objects are
sprites (RGBA squares) warped onto each frame through their own per-frame affine maps.

textures (colour, texture fields, backdrops) -> sprites (objects, shadows) -> motions (affine maps, camera and
object paths) -> filming (the frames) -> light (relighting, contrast); this module holds the public API.
"""
from __future__ import annotations

import numpy as np

from ..errors import ExplainerError
from .filming import film_camera, film_flow, make_cast
from .light import match_contrast, relight

__all__ = ["ASPECTS", "MOTIONS", "make_clip", "random_clip_shape"]

MOTIONS = ("translate", "rotate", "zoom", "bounce", "flow", "pan")

# Training buckets: (width, height) ratios, from panoramic to tall.
ASPECTS = ((2, 1), (16, 9), (3, 2), (4, 3), (1, 1), (3, 4), (2, 3), (9, 16))


def make_clip(frames=16, height=72, width=128, seed=0, motion=None) -> np.ndarray:
    """A procedural clip (T, H, W, 3) uint8 RGB, the same for the same arguments.

    motion is one of MOTIONS; None picks one from the seed (the same clip as naming that motion).
    """
    _check_clip_size(frames, height, width)
    rng = np.random.default_rng(seed)
    picked = MOTIONS[rng.integers(len(MOTIONS))]
    motion = picked if motion is None else motion
    if motion not in MOTIONS:
        raise ExplainerError(f"unknown motion {motion!r}; choose one of {', '.join(MOTIONS)}")
    cast = make_cast(rng, height, width)
    if motion == "flow":
        clip = film_flow(rng, cast, frames, height, width)
    else:
        clip = film_camera(rng, motion, cast, frames, height, width)
    return match_contrast(rng, relight(rng, clip))


def _check_clip_size(frames, height, width):
    for name, value in (("frames", frames), ("height", height), ("width", width)):
        if int(value) != value or value < 1:
            raise ExplainerError(f"{name} must be a positive whole number, got {value!r}")


def random_clip_shape(rng, max_side=128, multiple=8, frames_choices=(1, 16)) -> tuple[int, int, int]:
    """A (frames, height, width) for a training bucket: a random aspect ratio from ASPECTS, sides multiples
    of `multiple`, the longer side between half of max_side and max_side."""
    if max_side < multiple:
        raise ValueError(f"max_side={max_side} is smaller than multiple={multiple}")
    longs = np.arange(multiple, max_side + 1, multiple)
    long_side = int(rng.choice(longs[longs * 2 >= max_side]))
    ratio_w, ratio_h = ASPECTS[rng.integers(len(ASPECTS))]
    ratio = min(ratio_w, ratio_h) / max(ratio_w, ratio_h)
    short_side = max(multiple, round(long_side * ratio / multiple) * multiple)
    height, width = (short_side, long_side) if ratio_w >= ratio_h else (long_side, short_side)
    return int(rng.choice(frames_choices)), height, width
