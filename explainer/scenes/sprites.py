"""Objects (sprites): textured RGBA squares with soft outlines, the shadows they throw, and painting one onto
frames through per-frame affine maps."""
from __future__ import annotations

import math
from typing import NamedTuple

import cv2
import numpy as np

from .textures import PATTERNS, colour_ramp, desaturate, fractal_noise, random_palette, unit_grid


def _polygon_field(rng, y, x):
    """Signed distance-like field of a random convex polygon inscribed in the unit circle."""
    sides = int(rng.integers(3, 8))
    normals = np.sort(rng.uniform(0, 2 * np.pi) + np.arange(sides) * 2 * np.pi / sides
                      + rng.uniform(-0.25, 0.25, sides) * np.pi / sides)
    apothem = np.cos(np.pi / sides) * rng.uniform(0.85, 1.0, sides)
    reach = x[None] * np.cos(normals)[:, None, None] + y[None] * np.sin(normals)[:, None, None]
    return (apothem[:, None, None] - reach).min(axis=0)


def _blob_field(rng, y, x):
    angle, radius = np.arctan2(y, x), np.sqrt(y * y + x * x)
    lobes = np.arange(2, 6)[:, None, None]
    amplitude = rng.uniform(0, rng.choice([0.12, 0.3]), (4, 1, 1))      # pebbles to stars
    outline = 1 + (amplitude * np.cos(lobes * angle + rng.uniform(0, 2 * np.pi, (4, 1, 1)))).sum(0)
    return outline / (1 + amplitude.sum()) - radius


def _box_field(rng, y, x):
    half_w, half_h = rng.uniform(0.45, 0.7), rng.uniform(0.08, 0.7)    # from tiles to bars
    corner = rng.uniform(0.02, 0.3)
    qx, qy = np.abs(x) - half_w + corner, np.abs(y) - half_h + corner
    outside = np.sqrt(np.maximum(qx, 0) ** 2 + np.maximum(qy, 0) ** 2) + np.minimum(np.maximum(qx, qy), 0)
    return corner - outside


def _shape_field(rng, y, x):
    """Positive inside an object's outline, about the distance to the edge in units of its radius."""
    shape = rng.choice(["disc", "ellipse", "polygon", "blob", "blob", "box", "ring"])
    radius = np.sqrt(y * y + x * x)
    if shape == "disc":
        return 1 - radius
    if shape == "ellipse":
        return 1 - np.sqrt(x * x + (y / rng.uniform(0.35, 0.85)) ** 2)
    if shape == "ring":
        return np.minimum(1 - radius, radius - rng.uniform(0.3, 0.65))
    return {"polygon": _polygon_field, "blob": _blob_field, "box": _box_field}[shape](rng, y, x)


def _shading(rng, y, x):
    """Light falling on the object from one side, like a soft key light on a rounded surface."""
    light = rng.uniform(-0.7, 0.7, 2)
    falloff = (y - light[0]) ** 2 + (x - light[1]) ** 2
    return 1.15 - rng.uniform(0.15, 0.45) * falloff


class Sprite(NamedTuple):
    """A textured object: colour and coverage (s, s, 4), its size, and how far from the centre it reaches."""

    rgba: np.ndarray                   # straight (not premultiplied) colour: it fills the whole square
    radius: float                      # pixels from the centre to the outline, roughly
    reach: float                       # pixels from the centre to the farthest visible pixel


def _reach(alpha):
    """Pixels from the centre of a square alpha mask to its farthest visible pixel."""
    y, x = np.nonzero(alpha > 1e-3)
    middle = (alpha.shape[0] - 1) / 2
    return float(np.sqrt((y - middle) ** 2 + (x - middle) ** 2).max(initial=0)) + 1


def make_sprite(rng, radius: float, keep_saturation=1.0) -> Sprite:
    """A textured object of about `radius` pixels, with a soft edge and light falling on it from one side."""
    margin = 0.3 * radius + 3              # room for the soft edge and, in its shadow, the blur
    size = 2 * math.ceil(radius + margin) + 1
    y, x = unit_grid(size, size)
    y, x = y * (size / 2) / radius, x * (size / 2) / radius   # the outline sits near radius 1
    edge = rng.uniform(0.5, 2.0) / radius                     # softness, in pixels
    alpha = np.clip(_shape_field(rng, y, x) / edge + 0.5, 0, 1).astype(np.float32)
    pattern = _SPRITE_PATTERNS[rng.integers(len(_SPRITE_PATTERNS))]
    texture = colour_ramp(PATTERNS[pattern](rng, size, size), random_palette(rng, int(rng.integers(2, 4))))
    rgb = texture * _shading(rng, y, x)[..., None]
    if rng.random() < 0.5:
        rgb += rng.uniform(0, 0.2) * (fractal_noise(rng, size, size, 12, 2, 0.7)[..., None] - 0.5)   # grain
    rgb = desaturate(rgb, keep_saturation)
    return Sprite(np.dstack([rgb, alpha]).astype(np.float32), radius, _reach(alpha))


_SPRITE_PATTERNS = ("stripes", "stripes", "checker", "rings", "gradient", "gradient", "noise", "noise",
                    "blotches", "flat", "flat", "flat", "bricks")


def shadow_of(sprite: Sprite, strength: float) -> Sprite:
    """The soft dark patch a sprite throws on what lies behind it."""
    alpha = cv2.GaussianBlur(sprite.rgba[..., 3], (0, 0), 0.1 * sprite.radius + 0.5) * strength
    rgba = np.dstack([np.zeros_like(sprite.rgba[..., :3]), alpha])
    return Sprite(rgba, sprite.radius, _reach(alpha))


def paint_sprite(frames, sprite: Sprite, maps):
    """Composite a sprite onto frames (T, h, w, 3) in place, frame t through maps[t] (sprite -> frame).

    Only the patch of each frame the sprite can cover is warped and blended.
    """
    count, height, width, _ = frames.shape
    maps = np.broadcast_to(maps, (count, 2, 3))
    middle = (sprite.rgba.shape[0] - 1) / 2
    centres = maps[..., :2] @ np.array([middle, middle]) + maps[..., 2]              # (T, 2)
    extents = sprite.reach * np.sqrt(np.abs(np.linalg.det(maps[..., :2])))[:, None] + 1.5
    lows = np.maximum(np.floor(centres - extents), 0).astype(int)
    highs = np.minimum(np.ceil(centres + extents) + 1, (width, height)).astype(int)
    for frame, sprite_map, (left, top), (right, bottom) in zip(frames, maps, lows, highs):
        if right <= left or bottom <= top:
            continue
        local = sprite_map.copy()
        local[:, 2] -= (left, top)                   # the same map, measured from the patch's corner
        patch = cv2.warpAffine(sprite.rgba, local, (int(right - left), int(bottom - top)),
                               flags=cv2.INTER_LINEAR)
        region, alpha = frame[top:bottom, left:right], patch[..., 3]
        region[:] = cv2.blendLinear(region, patch[..., :3], 1 - alpha, alpha)
