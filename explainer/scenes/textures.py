"""Colour palettes, texture fields in [0, 1] and textured backdrops (h, w, 3) for the procedural scenes."""
from __future__ import annotations

import cv2
import numpy as np

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

def unit_grid(height, width):
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
    y, x = unit_grid(height, width)
    angle, cycles = rng.uniform(0, np.pi), rng.uniform(1.0, 4.5)
    phase = 2 * np.pi * cycles * (x * np.cos(angle) + y * np.sin(angle))
    wave = np.sin(phase + _wobble(rng, height, width, rng.uniform(0, 1.5)))
    return _soft_bands(wave, rng.uniform(1, 6))


def _checker(rng, height, width):
    y, x = unit_grid(height, width)
    angle, cycles = rng.uniform(0, np.pi / 2), rng.uniform(1.0, 3.5)
    along, across = x * np.cos(angle) + y * np.sin(angle), y * np.cos(angle) - x * np.sin(angle)
    wave = np.sin(np.pi * cycles * along) * np.sin(np.pi * cycles * across)
    return _soft_bands(wave, rng.uniform(2, 8))


def _rings(rng, height, width):
    y, x = unit_grid(height, width)
    centre_y, centre_x = rng.uniform(-1, 1, 2)
    radius = np.sqrt((y - centre_y) ** 2 + (x - centre_x) ** 2)
    wave = np.sin(2 * np.pi * rng.uniform(1, 4) * radius + _wobble(rng, height, width, rng.uniform(0, 1)))
    return _soft_bands(wave, rng.uniform(1, 5))


def _gradient(rng, height, width):
    y, x = unit_grid(height, width)
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
    y, x = unit_grid(height, width)
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
