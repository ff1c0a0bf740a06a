"""Affine maps batched over frames, and the camera and object motions built from them.

Each motion returns the canvas size (h, w), the camera (T, 2, 3: frame pixel -> canvas pixel) and, per object,
its path on the canvas (T, 2, 3: sprite pixel -> canvas pixel).
"""
from __future__ import annotations

import math

import numpy as np

from .textures import smooth_noise

# ---------------------------------------------------------------- affine maps, batched over frames

def affine(centre, angle, scale, origin) -> np.ndarray:
    """Maps (T, 2, 3) that rotate by `angle` (radians) and scale about `origin`, then move it to `centre`."""
    centre = np.asarray(centre, np.float64).reshape(-1, 2)
    angle = np.asarray(angle, np.float64).reshape(-1)
    scale = np.asarray(scale, np.float64).reshape(-1)
    count = max(len(centre), len(angle), len(scale))
    cos, sin = np.cos(angle) * scale * np.ones(count), np.sin(angle) * scale * np.ones(count)
    linear = np.stack([np.stack([cos, -sin], -1), np.stack([sin, cos], -1)], -2)    # (T, 2, 2)
    shift = centre - linear @ np.asarray(origin, np.float64)                        # (T, 2)
    return np.concatenate([linear, shift[..., None]], -1)


def compose(outer, inner):
    """The map that applies `inner` then `outer` (both (T, 2, 3))."""
    linear = outer[..., :2] @ inner[..., :2]
    return np.concatenate([linear, outer[..., :2] @ inner[..., 2:] + outer[..., 2:]], -1)


def invert(maps):
    """The maps (T, 2, 3) that undo `maps`."""
    linear = np.linalg.inv(maps[..., :2])
    return np.concatenate([linear, -linear @ maps[..., 2:]], -1)


def _apply(maps, points):
    """Points (T, 2) moved by maps (T, 2, 3)."""
    return (maps[..., :2] @ points[..., None])[..., 0] + maps[..., 2]


# ---------------------------------------------------------------- motions

class Stage:
    """What every motion needs: the clip's size, frame times centred on the middle one, the objects."""

    def __init__(self, rng, frames, height, width, sprites):
        self.rng, self.frames, self.height, self.width = rng, frames, height, width
        self.short = min(height, width)
        self.time = np.arange(frames) - (frames - 1) / 2          # frames from the middle one
        self.radii = [sprite.radius for sprite in sprites]
        self.sprite_origins = [((sprite.rgba.shape[0] - 1) / 2,) * 2 for sprite in sprites]
        self.frame_centre = np.array([(width - 1) / 2, (height - 1) / 2])

    def speed(self, low, high, travel_cap):
        """A per-frame speed in pixels, drawn in units of the short side, so a clip never travels too far."""
        return min(self.rng.uniform(low, high), travel_cap / max(self.frames - 1, 1)) * self.short

    def spots(self, count):
        """Random object centres on the frame (count, 2), kept a little away from the borders."""
        return self.rng.uniform(0.1, 0.9, (count, 2)) * [self.width, self.height]

    def canvas(self, extra_w, extra_h):
        """A canvas (h, w) larger than the frame by the extra each way, and its centre (x, y)."""
        size = (math.ceil(self.height + extra_h) + 4, math.ceil(self.width + extra_w) + 4)
        return size, np.array([(size[1] - 1) / 2, (size[0] - 1) / 2])

    def path(self, index, centres, angles):
        """Object `index` turned by `angles` (T,) and moved to `centres` (T, 2)."""
        return affine(centres, angles, 1, self.sprite_origins[index])

    def spin(self, low, high, turn_cap=math.inf):
        """Angles (T,) turning steadily one way or the other at low..high degrees a frame, at most
        turn_cap degrees over the clip."""
        degrees = min(self.rng.uniform(low, high), turn_cap / max(self.frames - 1, 1))
        return self.rng.choice([-1, 1]) * np.radians(degrees) * self.time


def _translate(stage):
    """A slowly drifting camera; objects glide across in straight lines, turning a little."""
    drift = stage.speed(0, 0.006, 0.3) * random_direction(stage.rng)
    canvas, middle = stage.canvas(*np.abs(drift) * stage.frames)
    camera = affine(middle + drift * stage.time[:, None], 0, 1, stage.frame_centre)
    offset = middle - stage.frame_centre
    paths = []
    for index, spot in enumerate(stage.spots(len(stage.radii))):
        velocity = stage.speed(0.006, 0.035, 0.9) * random_direction(stage.rng)
        paths.append(stage.path(index, offset + spot + velocity * stage.time[:, None], stage.spin(0, 1.5)))
    return canvas, camera, paths


def _rotate(stage):
    """The camera rolls about the middle of the frame; objects spin, some orbiting the centre."""
    side = math.hypot(stage.height, stage.width)
    canvas, middle = stage.canvas(side - stage.width, side - stage.height)
    roll = stage.spin(0.3, 1.5, turn_cap=30)
    camera = affine(middle, roll, 1, stage.frame_centre)
    pivot = middle + stage.rng.uniform(-0.15, 0.15, 2) * stage.short
    paths = []
    for index, spot in enumerate(stage.spots(len(stage.radii))):
        orbit = stage.spin(0.5, 4) if stage.rng.random() < 0.5 else 0 * stage.time
        start = spot + middle - stage.frame_centre - pivot
        cos, sin = np.cos(orbit)[:, None], np.sin(orbit)[:, None]
        centres = pivot + np.hstack([cos * start[0] - sin * start[1], sin * start[0] + cos * start[1]])
        paths.append(stage.path(index, centres, stage.spin(2, 8)))
    return canvas, camera, paths


def _zoom(stage):
    """The camera zooms in or out about a point near the middle; objects belong to the scene."""
    rate = min(stage.rng.uniform(0.008, 0.025), math.log(1.8) / max(stage.frames - 1, 1))   # at most 1.8x
    rate *= stage.rng.choice([-1, 1])
    zoom = np.exp(rate * stage.time)                           # on-screen magnification per frame
    reach = 1 / zoom.min() - 1                                  # how much more a zoomed-out frame sees
    canvas, middle = stage.canvas(*(np.array([stage.width, stage.height]) + 0.3 * stage.short) * reach)
    focus = stage.frame_centre + stage.rng.uniform(-0.15, 0.15, 2) * stage.short
    camera = affine(middle + focus - stage.frame_centre, 0, 1 / zoom, focus)
    middle_camera = affine(middle + focus - stage.frame_centre, 0, 1, focus)
    paths = []
    for index, spot in enumerate(stage.spots(len(stage.radii))):
        home = _apply(middle_camera, spot[None])
        velocity = stage.speed(0, 0.01, 0.3) * random_direction(stage.rng)
        paths.append(stage.path(index, home + velocity * stage.time[:, None], stage.spin(0, 3)))
    return canvas, camera, paths


def _bounce(stage):
    """A still camera; objects fly in straight lines and bounce off the frame's walls, rolling as they go."""
    canvas, middle = stage.canvas(0, 0)
    camera = affine(middle, 0, 1, stage.frame_centre)
    size = np.array([stage.width, stage.height], np.float64)
    paths = []
    for index, (spot, radius) in enumerate(zip(stage.spots(len(stage.radii)), stage.radii)):
        velocity = stage.speed(0.02, 0.07, 100) * random_direction(stage.rng)
        low = np.minimum(radius, size / 2)
        room = np.maximum(size - 2 * low, 1e-6)
        travelled = spot - low + velocity * (stage.time[:, None] + stage.frames / 2)
        folded = room - np.abs(np.mod(travelled, 2 * room) - room)    # reflect off both walls
        roll = np.linalg.norm(velocity) / max(radius, 1) * stage.time * stage.rng.choice([-1, 1])
        paths.append(stage.path(index, middle - stage.frame_centre + low + folded, roll))
    return canvas, camera, paths


def _pan(stage):
    """A handheld camera pans over a wider scene; near objects slide past faster than the far ones."""
    direction = random_direction(stage.rng, pan=True)
    velocity = stage.speed(0.006, 0.03, 1.5) * direction
    shake = stage.rng.uniform(0.003, 0.015) * stage.short
    extra = np.abs(velocity) * stage.frames + 4 * shake
    canvas, middle = stage.canvas(*extra)
    wobble = shake * (np.stack([smooth_noise(stage.rng, 1, stage.frames, 3)[0] for _ in range(2)], -1) - 0.5)
    offset = velocity * stage.time[:, None] + wobble                     # camera shift from the middle
    camera = affine(middle + offset, 0, 1, stage.frame_centre)
    paths = []
    for index, spot in enumerate(stage.spots(len(stage.radii))):
        parallax = stage.rng.uniform(1.0, 1.8) if stage.rng.random() < 0.6 else 1.0
        own = stage.speed(0, 0.015, 0.5) * random_direction(stage.rng) * stage.time[:, None]
        centres = middle - stage.frame_centre + spot - (parallax - 1) * offset + own
        paths.append(stage.path(index, centres, stage.spin(0, 1)))
    return canvas, camera, paths


def random_direction(rng, pan=False):
    """A unit vector (x, y); pans are mostly sideways, like most real ones."""
    if pan and rng.random() < 0.75:
        angle = rng.uniform(-0.35, 0.35) + np.pi * rng.integers(2)
    else:
        angle = rng.uniform(0, 2 * np.pi)
    return np.array([np.cos(angle), np.sin(angle)])


CAMERA_MOTIONS = {"translate": _translate, "rotate": _rotate, "zoom": _zoom, "bounce": _bounce, "pan": _pan}
