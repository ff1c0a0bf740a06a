"""Real colours at a small size: the pixels of a figure share one palette of at most 256 colours, sent once
as a colour scale, and each pixel carries only its palette index (one byte).

256 is the most a 3D trace can use: WebGL colour maps hold 256 shades.
"""
from __future__ import annotations

import numpy as np
from PIL import Image

from .style import rgb

MAX_COLOURS = 256


def palette_of(colours: np.ndarray, kmeans: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """A palette for `colours` (n, 3) uint8: (palette index of each colour (n,) uint8, palette (k, 3) uint8).

    Pillow's median cut picks up to 256 colours and `kmeans` rounds of k-means refine them; colours no
    pixel uses are dropped. Up to 256 distinct colours come back exactly."""
    colours = np.asarray(colours, dtype=np.uint8).reshape(-1, 3)
    if len(colours) == 0:
        return np.zeros(0, np.uint8), np.zeros((1, 3), np.uint8)
    picture = Image.fromarray(colours[None], "RGB")  # one row of pixels
    quantized = picture.quantize(MAX_COLOURS, method=Image.Quantize.MEDIANCUT, kmeans=kmeans)
    palette = np.array(quantized.getpalette("RGB"), np.uint8).reshape(-1, 3)
    used, index = np.unique(np.asarray(quantized).reshape(-1), return_inverse=True)
    return index.astype(np.uint8), palette[used]


def palette_scale(palette: np.ndarray) -> list:
    """A Plotly colour scale whose stop i is palette colour i: with cmin 0 and cmax k-1 an index value
    lands exactly on its colour."""
    if len(palette) == 1:
        palette = np.concatenate([palette, palette])
    last = len(palette) - 1
    return [[i / last, rgb(colour)] for i, colour in enumerate(palette)]


def palette_axis(palette: np.ndarray) -> dict:
    """layout.coloraxis for palette indices."""
    return dict(colorscale=palette_scale(palette), cmin=0, cmax=max(1, len(palette) - 1), showscale=False)
