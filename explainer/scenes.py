"""Procedural scenes: layered, textured, moving clips made with numpy and OpenCV alone.

They serve as the bundled sample clips in assets/ (explainer.assets), as test inputs, and as training data for the small
DiT, which is also asked to denoise real footage. So each clip borrows what real video has: a textured
background, several textured objects with soft edges and shadows, camera or object motion, changing
light, and the contrast of natural footage (pixel std about a quarter of the range).

A scene lives on a canvas (the world); a camera, one 2x3 affine map per frame, looks at it. Objects are
sprites (RGBA squares) warped onto each frame through their own per-frame affine maps.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import cv2
import numpy as np

from .errors import ExplainerError

MOTIONS = ("translate", "rotate", "zoom", "bounce", "flow", "pan")

# Training buckets: (width, height) ratios, from panoramic to tall.
ASPECTS = ((2, 1), (16, 9), (3, 2), (4, 3), (1, 1), (3, 4), (2, 3), (9, 16))



# ---------------------------------------------------------------- colour

def hsv_colours(hue, saturation, value) -> np.ndarray:
    """RGB colours in [0, 1], shape (n, 3), from arrays of hue, saturation and value in [0, 1]."""
    hsv = np.stack(np.broadcast_arrays(np.mod(np.atleast_1d(hue), 1.0) * 360, saturation, value), -1)
    return cv2.cvtColor(hsv.astype(np.float32)[None], cv2.COLOR_HSV2RGB)[0]


# scheme: (hue offsets from a base hue, hue jitter, saturation range, value range)
_SCHEMES = {
    "analogous": ((0.0,), 0.08, (0.35, 0.9), (0.12, 0.95)),
    "complementary": ((0.0, 0.5), 0.04, (0.4, 0.95), (0.12, 0.95)),
    "triadic": ((0.0, 1 / 3, 2 / 3), 0.03, (0.4, 0.9), (0.15, 0.95)),
    "earth": ((0.0,), 0.05, (0.2, 0.6), (0.1, 0.85)),
    "pastel": ((0.0, 0.15, 0.5), 0.05, (0.12, 0.4), (0.55, 1.0)),
    "muted": ((0.0, 0.5), 0.1, (0.0, 0.25), (0.08, 0.95)),
    "vivid": ((0.0, 0.25, 0.5, 0.75), 0.05, (0.75, 1.0), (0.3, 1.0)),
}


def random_palette(rng, n=4, scheme=None) -> np.ndarray:
    """n colours (n, 3) from a colour scheme, ordered dark to light so a ramp through them has contrast."""
    scheme = scheme or rng.choice(list(_SCHEMES))
    offsets, jitter, sat_range, val_range = _SCHEMES[scheme]
    base = rng.uniform(0.05, 0.14) if scheme == "earth" else rng.random()
    hue = base + rng.choice(offsets, n) + rng.uniform(-jitter, jitter, n)
    saturation = rng.uniform(*sat_range, n)
    low, high = val_range
    value = np.linspace(low, high, n) + rng.uniform(-0.08, 0.08, n)   # spread from dark to light
    return hsv_colours(hue, saturation, np.clip(value, 0, 1))


def colour_ramp(values: np.ndarray, palette: np.ndarray) -> np.ndarray:
    """Map a field of values in [0, 1] (h, w) to colours (h, w, 3) along the palette's stops."""
    position = np.linspace(0, len(palette) - 1, 256, dtype=np.float32)
    below = np.minimum(position.astype(np.int32), len(palette) - 2)
    frac = (position - below)[:, None]
    table = (palette[below] * (1 - frac) + palette[below + 1] * frac).astype(np.float32)[None]   # (1, 256, 3)
    levels = cv2.convertScaleAbs(values, alpha=255)          # 0..255, rounded and saturated
    return cv2.LUT(cv2.merge([levels] * 3), table)


# ---------------------------------------------------------------- texture fields in [0, 1]

def _unit_grid(height, width):
    """Pixel-centre coordinates (y (h, 1), x (1, w)), centred, the shorter side spanning [-1, 1]."""
    half = min(height, width) / 2
    y = (np.arange(height, dtype=np.float32) - (height - 1) / 2) / half
    x = (np.arange(width, dtype=np.float32) - (width - 1) / 2) / half
    return y[:, None], x[None, :]


def _normalise(field):
    """Stretch a field to span [0, 1] exactly."""
    return cv2.normalize(field.astype(np.float32), None, 0, 1, cv2.NORM_MINMAX)


def smooth_noise(rng, height, width, cells) -> np.ndarray:
    """Random values on a grid of about `cells` cells along the longer side, smoothly upsampled."""
    scale = cells / max(height, width)
    grid_h, grid_w = max(2, round(height * scale) + 2), max(2, round(width * scale) + 2)
    coarse = rng.random((grid_h, grid_w), dtype=np.float32)
    return cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)


def fractal_noise(rng, height, width, cells=3.0, octaves=4, gain=0.5) -> np.ndarray:
    """Octaves of smooth noise, each twice as fine and `gain` times as strong: clouds, foliage, rock."""
    finest = max(height, width) / 2     # no octave finer than 2 pixels a cell
    total = np.zeros((height, width), np.float32)
    for octave in range(octaves):
        total += gain ** octave * smooth_noise(rng, height, width, min(cells * 2 ** octave, finest))
    return _normalise(total)


def _soft_bands(wave, sharpness):
    """A wave in [-1, 1] turned into bands: sharpness 1 keeps the sine, large values give hard edges."""
    return 0.5 + 0.5 * np.tanh(sharpness * wave) / np.tanh(sharpness)


def _wobble(rng, height, width, strength):
    """A smooth random phase field that bends straight patterns into organic ones."""
    return strength * (fractal_noise(rng, height, width, cells=2, octaves=2) - 0.5) * 2 * np.pi


def _stripes(rng, height, width):
    y, x = _unit_grid(height, width)
    angle, cycles = rng.uniform(0, np.pi), rng.uniform(1.0, 4.5)
    phase = 2 * np.pi * cycles * (x * np.cos(angle) + y * np.sin(angle))
    wave = np.sin(phase + _wobble(rng, height, width, rng.uniform(0, 1.5)))
    return _soft_bands(wave, rng.uniform(1, 6))


def _checker(rng, height, width):
    y, x = _unit_grid(height, width)
    angle, cycles = rng.uniform(0, np.pi / 2), rng.uniform(1.0, 3.5)
    along, across = x * np.cos(angle) + y * np.sin(angle), y * np.cos(angle) - x * np.sin(angle)
    wave = np.sin(np.pi * cycles * along) * np.sin(np.pi * cycles * across)
    return _soft_bands(wave, rng.uniform(2, 8))


def _rings(rng, height, width):
    y, x = _unit_grid(height, width)
    centre_y, centre_x = rng.uniform(-1, 1, 2)
    radius = np.sqrt((y - centre_y) ** 2 + (x - centre_x) ** 2)
    wave = np.sin(2 * np.pi * rng.uniform(1, 4) * radius + _wobble(rng, height, width, rng.uniform(0, 1)))
    return _soft_bands(wave, rng.uniform(1, 5))


def _gradient(rng, height, width):
    y, x = _unit_grid(height, width)
    angle = rng.uniform(0, 2 * np.pi)
    ramp = _normalise(x * np.cos(angle) + y * np.sin(angle))
    return 0.8 * ramp + 0.2 * fractal_noise(rng, height, width, cells=3, octaves=3)


def _noise(rng, height, width):
    cells, octaves, gain = rng.uniform(1.5, 5), int(rng.integers(3, 6)), rng.uniform(0.4, 0.65)
    return fractal_noise(rng, height, width, cells, octaves, gain)


def _blotches(rng, height, width):
    field = fractal_noise(rng, height, width, rng.uniform(2, 5), 4, 0.5)
    return _soft_bands(2 * field - 1, rng.uniform(2, 6))


def _flat(rng, height, width):
    return 0.5 + 0.1 * (fractal_noise(rng, height, width, cells=3, octaves=3) - 0.5)


def _bricks(rng, height, width):
    """Courses of bricks or tiles, every other row offset by half a brick, each brick its own tone."""
    y, x = _unit_grid(height, width)
    tilt = rng.uniform(-0.3, 0.3)
    along, across = x * np.cos(tilt) + y * np.sin(tilt), y * np.cos(tilt) - x * np.sin(tilt)
    brick_h = rng.uniform(0.12, 0.4)
    brick_w = brick_h * rng.uniform(1.0, 3.0)
    row = np.floor(across / brick_h)
    shifted = along / brick_w + 0.5 * (row % 2)
    column = np.floor(shifted)
    tones = rng.uniform(0.35, 1.0, 997)
    tone = tones[((row * 31 + column * 17) % 997).astype(np.int32)]
    gap_y, gap_x = np.abs(across / brick_h - row - 0.5), np.abs(shifted - column - 0.5)
    mortar = np.clip((np.maximum(gap_y * brick_h, gap_x * brick_w) - 0.5 * brick_h + 0.025) * 40, 0, 1)
    return tone * (1 - mortar) + 0.1 * mortar


PATTERNS = {"stripes": _stripes, "checker": _checker, "rings": _rings, "gradient": _gradient,
            "noise": _noise, "blotches": _blotches, "flat": _flat, "bricks": _bricks}


# ---------------------------------------------------------------- backgrounds

def _sky(rng, height, width):
    """A vertical sky gradient (day, dusk or overcast) with soft fractal clouds."""
    kind = rng.choice(["day", "dusk", "overcast"])
    if kind == "day":
        top, bottom = hsv_colours([rng.uniform(0.55, 0.64)] * 2, [0.75, 0.3], [0.65, 0.95])
    elif kind == "dusk":
        top, bottom = hsv_colours([rng.uniform(0.6, 0.8), rng.uniform(0.0, 0.12)], [0.6, 0.8], [0.3, 0.95])
    else:
        top, bottom = hsv_colours([rng.random()] * 2, [0.08, 0.04], [0.55, 0.85])
    rows = np.linspace(0, 1, height, dtype=np.float32)[:, None, None]
    sky = top * (1 - rows) + bottom * rows
    clouds = np.clip(2.2 * (fractal_noise(rng, height, width, rng.uniform(2, 5), 5, 0.55) - 0.45), 0, 1)
    cloud_colour = hsv_colours(rng.random(), 0.05, rng.uniform(0.8, 1.0))
    cover = rng.uniform(0, 0.9) * clouds[..., None]
    return sky * (1 - cover) + cloud_colour * cover


def _landscape(rng, height, width):
    """Sky over one to three ridges of textured ground, hazier the farther they are."""
    image = _sky(rng, height, width)
    haze = image[-1, width // 2]
    rows = np.arange(height, dtype=np.float32)[:, None]
    layers = int(rng.integers(1, 4))
    for layer, level in enumerate(np.sort(rng.uniform(0.3, 0.75, layers))):
        hill_height = rng.uniform(0.04, 0.2)
        ridge = height * (level + hill_height * (smooth_noise(rng, 1, width, rng.uniform(2, 8)) - 0.5))
        edge = rng.uniform(0.6, 2.0)
        cover = np.clip((rows - ridge) / edge + 0.5, 0, 1)[..., None]
        palette = random_palette(rng, 3, rng.choice(["earth", "analogous", "muted"]))
        ground = colour_ramp(_noise(rng, height, width), palette)
        distance = (layers - 1 - layer) / max(layers, 1)     # 0 for the nearest ridge
        ground = ground * (1 - 0.6 * distance) + haze * 0.6 * distance
        image = image * (1 - cover) + ground * cover
    return image


_BACKDROP_PATTERNS = ("stripes", "checker", "rings", "gradient", "noise", "noise", "blotches", "bricks",
                      "bricks")


def _patterned(rng, height, width):
    name = rng.choice(_BACKDROP_PATTERNS)
    return colour_ramp(PATTERNS[name](rng, height, width), random_palette(rng, int(rng.integers(2, 5))))


def _speckle(rng, image):
    """Scatter small spots over an image, like leaves, pebbles or gravel: the fine detail of real scenes."""
    height, width, _ = image.shape
    spots = fractal_noise(rng, height, width, rng.uniform(8, 24), 2, 0.4)
    cover = np.clip((spots - rng.uniform(0.55, 0.7)) * rng.uniform(8, 20), 0, 1)[..., None]
    tint = colour_ramp(fractal_noise(rng, height, width, 6, 2, 0.5), random_palette(rng, 3))
    return image * (1 - cover) + tint * cover


def background(rng, height, width) -> np.ndarray:
    """A textured backdrop (h, w, 3) in [0, 1]: a landscape or a pattern, unevenly lit, with fine grain."""
    image = _landscape(rng, height, width) if rng.random() < 0.35 else _patterned(rng, height, width)
    if rng.random() < 0.4:
        image = _speckle(rng, image)
    shading = 1 + rng.uniform(0.1, 0.5) * (smooth_noise(rng, height, width, rng.uniform(1, 3)) - 0.5)
    detail = rng.uniform(0.04, 0.2) * (fractal_noise(rng, height, width, 32, 3, 0.7) - 0.5)
    image = image * shading[..., None] + detail[..., None]
    blur = rng.uniform(0, 0.9) * min(height, width) / 100     # a little depth of field
    return cv2.GaussianBlur(image, (0, 0), blur) if blur > 0.4 else image


def desaturate(image, keep):
    """Pull colours towards grey, keeping `keep` of their saturation (real footage is rarely vivid)."""
    grey = image[..., :3].mean(-1, keepdims=True)
    image[..., :3] = grey + keep * (image[..., :3] - grey)
    return image


# ---------------------------------------------------------------- objects (sprites)

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
    y, x = _unit_grid(size, size)
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
# Each returns the canvas size (h, w), the camera (T, 2, 3: frame pixel -> canvas pixel) and, per object,
# its path on the canvas (T, 2, 3: sprite pixel -> canvas pixel).

class _Stage:
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
    drift = stage.speed(0, 0.006, 0.3) * _direction(stage.rng)
    canvas, middle = stage.canvas(*np.abs(drift) * stage.frames)
    camera = affine(middle + drift * stage.time[:, None], 0, 1, stage.frame_centre)
    offset = middle - stage.frame_centre
    paths = []
    for index, spot in enumerate(stage.spots(len(stage.radii))):
        velocity = stage.speed(0.006, 0.035, 0.9) * _direction(stage.rng)
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
        velocity = stage.speed(0, 0.01, 0.3) * _direction(stage.rng)
        paths.append(stage.path(index, home + velocity * stage.time[:, None], stage.spin(0, 3)))
    return canvas, camera, paths


def _bounce(stage):
    """A still camera; objects fly in straight lines and bounce off the frame's walls, rolling as they go."""
    canvas, middle = stage.canvas(0, 0)
    camera = affine(middle, 0, 1, stage.frame_centre)
    size = np.array([stage.width, stage.height], np.float64)
    paths = []
    for index, (spot, radius) in enumerate(zip(stage.spots(len(stage.radii)), stage.radii)):
        velocity = stage.speed(0.02, 0.07, 100) * _direction(stage.rng)
        low = np.minimum(radius, size / 2)
        room = np.maximum(size - 2 * low, 1e-6)
        travelled = spot - low + velocity * (stage.time[:, None] + stage.frames / 2)
        folded = room - np.abs(np.mod(travelled, 2 * room) - room)    # reflect off both walls
        roll = np.linalg.norm(velocity) / max(radius, 1) * stage.time * stage.rng.choice([-1, 1])
        paths.append(stage.path(index, middle - stage.frame_centre + low + folded, roll))
    return canvas, camera, paths


def _pan(stage):
    """A handheld camera pans over a wider scene; near objects slide past faster than the far ones."""
    direction = _direction(stage.rng, pan=True)
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
        own = stage.speed(0, 0.015, 0.5) * _direction(stage.rng) * stage.time[:, None]
        centres = middle - stage.frame_centre + spot - (parallax - 1) * offset + own
        paths.append(stage.path(index, centres, stage.spin(0, 1)))
    return canvas, camera, paths


def _direction(rng, pan=False):
    """A unit vector (x, y); pans are mostly sideways, like most real ones."""
    if pan and rng.random() < 0.75:
        angle = rng.uniform(-0.35, 0.35) + np.pi * rng.integers(2)
    else:
        angle = rng.uniform(0, 2 * np.pi)
    return np.array([np.cos(angle), np.sin(angle)])


_CAMERA_MOTIONS = {"translate": _translate, "rotate": _rotate, "zoom": _zoom, "bounce": _bounce, "pan": _pan}


# ---------------------------------------------------------------- filming

def _shoot(scene, camera, height, width):
    """The frames (T, h, w, 3) a camera (T, 2, 3: frame pixel -> scene pixel) sees of a still scene."""
    frames = np.empty((len(camera), height, width, 3), np.float32)
    for frame, view in zip(frames, camera):
        cv2.warpAffine(scene, view, (width, height), dst=frame,
                       flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REFLECT101)
    return frames


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


class _Cast(NamedTuple):
    """What a clip shows whatever its motion: moving objects (smallest first) and still props, with the
    shadows both throw, and how colourful the scene is."""

    sprites: list
    shadows: list                      # one per sprite, or none for a clip without shadows
    props: list
    prop_shadows: list
    shadow_offset: np.ndarray          # where the light throws shadows, in pixels (x, y)
    keep_saturation: float


def _cast(rng, height, width) -> _Cast:
    short = min(height, width)
    keep_saturation = rng.uniform(0.35, 1.0)
    movers = np.sort(short * np.exp(rng.uniform(np.log(0.06), np.log(0.3), int(rng.integers(2, 6)))))
    still = short * np.exp(rng.uniform(np.log(0.05), np.log(0.25), int(rng.integers(0, 6))))
    sprites = [make_sprite(rng, max(radius, 1.5), keep_saturation) for radius in movers]
    props = [make_sprite(rng, max(radius, 1.5), keep_saturation) for radius in still]
    strength = rng.uniform(0.25, 0.55) if rng.random() < 0.6 else 0
    shadows = [shadow_of(sprite, strength) for sprite in sprites] if strength else []
    prop_shadows = [shadow_of(sprite, strength) for sprite in props] if strength else []
    offset = rng.uniform(0.02, 0.07) * short * _direction(rng)
    return _Cast(sprites, shadows, props, prop_shadows, offset, keep_saturation)


def _paint_cast(frames, sprites, shadows, paths, shadow_offset):
    """Paint sprites back to front, each after its shadow, sprite k through paths[k] (T, 2, 3)."""
    shift = np.zeros((2, 3))
    shift[:, 2] = shadow_offset                      # moves a map's output by the shadow's offset
    for index, (sprite, maps) in enumerate(zip(sprites, paths)):
        if shadows:
            paint_sprite(frames, shadows[index], maps + shift)
        paint_sprite(frames, sprite, maps)
    return frames


def _backdrop(rng, cast, height, width):
    """The scene's backdrop with the still props lying on it."""
    scene = desaturate(background(rng, height, width).astype(np.float32), cast.keep_saturation)
    spots = rng.uniform(0, 1, (len(cast.props), 2)) * [width, height]
    paths = [affine(spot, rng.uniform(0, 2 * np.pi), 1, ((prop.rgba.shape[0] - 1) / 2,) * 2)
             for spot, prop in zip(spots, cast.props)]
    return _paint_cast(scene[None], cast.props, cast.prop_shadows, paths, cast.shadow_offset)[0]


def _film_camera(rng, motion, cast, frames, height, width):
    """Objects and a camera moving over a backdrop, as the named motion directs."""
    stage = _Stage(rng, frames, height, width, cast.sprites)
    (canvas_h, canvas_w), camera, paths = _CAMERA_MOTIONS[motion](stage)
    camera = np.broadcast_to(camera, (frames, 2, 3))            # a still camera is one map
    scene = _backdrop(rng, cast, canvas_h, canvas_w)
    clip = _shoot(scene, camera, height, width)
    screen_paths = [compose(invert(camera), path) for path in paths]
    return _paint_cast(clip, cast.sprites, cast.shadows, screen_paths, cast.shadow_offset)


def _film_flow(rng, cast, frames, height, width):
    """A still scene carried along a smooth, swirling, divergence-free flow, like ink in water."""
    short = min(height, width)
    speed = min(rng.uniform(0.008, 0.025), 0.35 / max(frames - 1, 1)) * short
    margin = math.ceil(speed * frames) + 2
    canvas_h, canvas_w = height + 2 * margin, width + 2 * margin
    scene = _backdrop(rng, cast, canvas_h, canvas_w)
    spots = rng.uniform(0.1, 0.9, (len(cast.sprites), 2)) * [width, height] + margin
    paths = [affine(spot, rng.uniform(0, 2 * np.pi), 1, ((sprite.rgba.shape[0] - 1) / 2,) * 2)
             for spot, sprite in zip(spots, cast.sprites)]
    scene = _paint_cast(scene[None], cast.sprites, cast.shadows, paths, cast.shadow_offset)[0]
    flow_x, flow_y = _swirl(rng, canvas_h, canvas_w, speed)
    ys, xs = np.mgrid[margin:margin + height, margin:margin + width].astype(np.float32)
    clip = []
    for _ in range(frames):
        clip.append(cv2.remap(scene, xs, ys, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT101))
        # trace each pixel one frame further back along the (steady) flow to where its colour came from
        step_x = cv2.remap(flow_x, xs, ys, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        step_y = cv2.remap(flow_y, xs, ys, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        xs, ys = xs - step_x, ys - step_y
    return np.stack(clip)


def _swirl(rng, height, width, speed):
    """A velocity field (x, y components) whose fastest point moves `speed` pixels a frame."""
    stream = fractal_noise(rng, height, width, rng.uniform(1.5, 4), 2, 0.5)
    grad_y, grad_x = np.gradient(stream)
    drift = rng.uniform(0, 0.5) * _direction(rng)          # an overall current under the eddies
    peak = max(np.sqrt(grad_x ** 2 + grad_y ** 2).max(), 1e-6)
    flow_x, flow_y = grad_y / peak + drift[0], -grad_x / peak + drift[1]
    scale = speed / max(np.sqrt(flow_x ** 2 + flow_y ** 2).max(), 1e-6)
    return (flow_x * scale).astype(np.float32), (flow_y * scale).astype(np.float32)


# ---------------------------------------------------------------- light and contrast

def _relight(rng, clip):
    """Change the light over time (a cloud passing, a lamp moving by) and darken the corners like a lens."""
    frames, height, width, _ = clip.shape
    # light is smooth, so it is worked out on a coarse grid (h, w, T) and enlarged
    coarse_h, coarse_w = max(2, height // 8), max(2, width // 8)
    y, x = _unit_grid(coarse_h, coarse_w)
    y, x = y[..., None], x[..., None]                                   # (h, 1, 1), (1, w, 1)
    time = np.linspace(0, 1, frames, dtype=np.float32)
    light = np.ones((1, 1, 1), np.float32)
    if rng.random() < 0.4:
        light = light * (1 + rng.uniform(-0.4, 0.4) * (time - 0.5))
    if rng.random() < 0.3:
        (start_y, start_x), (end_y, end_x) = rng.uniform(-1, 1, (2, 2))
        spot_y, spot_x = start_y + (end_y - start_y) * time, start_x + (end_x - start_x) * time
        falloff = ((y - spot_y) ** 2 + (x - spot_x) ** 2) / rng.uniform(0.2, 0.8)
        light = light * (1 + rng.uniform(0.2, 0.5) * np.exp(-falloff))
    if rng.random() < 0.5:
        corner = x.max() ** 2 + y.max() ** 2
        light = light * (1 - rng.uniform(0.05, 0.25) * (x * x + y * y) / corner)
    if light.size == 1:
        return clip
    light = np.broadcast_to(light, (coarse_h, coarse_w, frames)).astype(np.float32)
    clip *= _enlarge(light, height, width).transpose(2, 0, 1)[..., None]
    return clip


def _enlarge(stack, height, width):
    """Resize a stack of fields (h, w, n) to (height, width, n), in slices OpenCV accepts as channels."""
    slices = [cv2.resize(np.ascontiguousarray(stack[..., i:i + 128]), (width, height))
              for i in range(0, stack.shape[-1], 128)]
    return np.dstack(slices).reshape(height, width, -1)


def _match_contrast(rng, clip) -> np.ndarray:
    """uint8 frames stretched to the mean and spread of real footage (std 0.2-0.29 of the range)."""
    target_std, target_mean = rng.uniform(0.2, 0.29), rng.uniform(0.38, 0.58)
    flat = clip.reshape(-1, clip.shape[-2] * clip.shape[-1])
    mean, std = (float(stat[0, 0]) for stat in cv2.meanStdDev(flat))
    gain = np.clip(target_std / max(std, 1e-6), 0.5, 4.0)
    # one pass: x * gain + offset, scaled to 0..255, rounded and saturated into uint8
    stretched = cv2.addWeighted(flat, 255 * gain, flat, 0, 255 * (target_mean - mean * gain), dtype=cv2.CV_8U)
    return stretched.reshape(clip.shape)


# ---------------------------------------------------------------- public API

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
    cast = _cast(rng, height, width)
    if motion == "flow":
        clip = _film_flow(rng, cast, frames, height, width)
    else:
        clip = _film_camera(rng, motion, cast, frames, height, width)
    return _match_contrast(rng, _relight(rng, clip))


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
