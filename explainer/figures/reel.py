"""1. The film reel: the sampled frames on strips of film, and one frame with the amoeba cut out of it.

Both are pictures (uint8 arrays), not Plotly figures: the page shows them as images and maps a click on
the enlarged frame back to frame pixels with `overlay_scale`.
"""
from __future__ import annotations

import math

import cv2
import numpy as np

from .common import enlarge
from .style import AMOEBA, FILM, HOLE, PAPER, hex_rgb


def _rows_for(count: int, height: int, width: int, target_aspect: float = 6.0) -> int:
    """How many strips to lay `count` frames on, so the reel is about `target_aspect` wide."""
    def error(rows):
        per_row = math.ceil(count / rows)
        return abs(math.log(per_row * width / (rows * height * 1.4) / target_aspect))
    return min(range(1, max(1, count) + 1), key=error)


def filmstrip(frames: np.ndarray, labels: list[str] | None = None, rows: int | None = None) -> np.ndarray:
    """The sampled frames side by side on strips of film, sprocket holes above and below, each frame's
    label (its time in the source) printed on the edge like an edge code. (T, H, W, 3) -> image."""
    count, height, width, _ = frames.shape
    scale = max(1, round(150 / width))
    fh, fw = height * scale, width * scale
    gap, band = max(4, fw // 24), max(18, min(fh, fw) // 6)
    rows = rows or _rows_for(count, fh, fw)
    per_row = math.ceil(count / rows)
    strip_w, strip_h, between = per_row * (fw + gap) + gap, fh + 2 * band, 8
    reel = np.zeros((rows * strip_h + (rows - 1) * between, strip_w, 3), np.uint8)
    reel[:] = hex_rgb(PAPER)
    hole_w, hole_h = max(4, band * 5 // 8), max(3, band * 3 // 8)
    pitch = hole_w * 2
    for row in range(rows):
        top = row * (strip_h + between)
        reel[top:top + strip_h] = hex_rgb(FILM)
        for edge in (top + (band - hole_h) // 2 - band // 8, top + strip_h - band + (band - hole_h) // 2 + band // 8):
            for x in range(pitch // 4, strip_w - hole_w, pitch):
                cv2.rectangle(reel, (x, edge), (x + hole_w - 1, edge + hole_h - 1), hex_rgb(HOLE), -1,
                              lineType=cv2.LINE_AA)
        for col in range(per_row):
            number = row * per_row + col
            if number >= count:
                break
            left = gap + col * (fw + gap)
            reel[top + band:top + band + fh, left:left + fw] = enlarge(frames[number], scale)
            if labels:  # the edge code sits on a clear patch of film between the holes
                font, size = cv2.FONT_HERSHEY_SIMPLEX, max(0.36, band / 46)
                (text_w, text_h), _ = cv2.getTextSize(labels[number], font, size, 1)
                base = top + strip_h - (band - text_h) // 2
                cv2.rectangle(reel, (left, top + strip_h - band + 1),
                              (left + text_w + 6 + band // 2, top + strip_h - 1), hex_rgb(FILM), -1)
                cv2.putText(reel, labels[number], (left + 3, base), font, size, hex_rgb(AMOEBA), 1, cv2.LINE_AA)
    return reel


def overlay_scale(height: int, width: int) -> int:
    """How much `amoeba_overlay` enlarges a frame (so a click maps back to frame pixels)."""
    return max(1, round(420 / max(height, width)))


def amoeba_overlay(frame: np.ndarray, mask: np.ndarray, grid: tuple[int, int] | None = None) -> np.ndarray:
    """One frame with the amoeba cut out of it: outside dimmed, the cut outlined in amber; the tubelet
    grid (ph, pw) faintly drawn when given. Enlarged so a click can place the amoeba precisely."""
    height, width = mask.shape
    scale = overlay_scale(height, width)
    image = enlarge(frame, scale).astype(np.float32)
    big = enlarge(mask.astype(np.uint8), scale).astype(bool)
    image[~big] *= 0.32
    if grid is not None:
        ph, pw = grid
        image[::ph * scale] = image[::ph * scale] * 0.6 + 40
        image[:, ::pw * scale] = image[:, ::pw * scale] * 0.6 + 40
    ring = cv2.dilate(big.astype(np.uint8), np.ones((3, 3), np.uint8), iterations=max(1, scale // 2)).astype(bool)
    image[ring & ~big] = hex_rgb(AMOEBA)
    return image.astype(np.uint8)


def timeline(thumbnails: np.ndarray, frames: int, window: tuple[int, int], labels: tuple[str, str, str]) -> np.ndarray:
    """The whole clip as one row of small frames on a strip of film, evenly over its `frames` source frames,
    with the window of frames the model works on marked in amber: the film outside it dimmed, a bracket under
    it, and `labels` (the clip's start, the window, the clip's end) printed along the edge.
    (K, h, w, 3) -> image; x pixels map to source frames linearly (`timeline_frame_at`)."""
    count, height, width, _ = thumbnails.shape
    band = 26
    strip = np.zeros((height + 2 * band, count * width, 3), np.uint8)
    strip[:] = hex_rgb(FILM)
    for k in range(count):
        strip[band:band + height, k * width:(k + 1) * width] = thumbnails[k]
    first, last = window
    left = round(first / max(frames, 1) * strip.shape[1])
    right = max(left + 2, round((last + 1) / max(frames, 1) * strip.shape[1]))
    veil = np.ones(strip.shape[1], bool)
    veil[left:right] = False
    strip[band:band + height, veil] = (strip[band:band + height, veil] * 0.35).astype(np.uint8)
    amber = hex_rgb(AMOEBA)
    cv2.rectangle(strip, (left, band - 3), (right - 1, band + height + 2), amber, 2)
    cv2.rectangle(strip, (left, band + height + 6), (right - 1, band + height + 9), amber, -1)
    font, size = cv2.FONT_HERSHEY_SIMPLEX, 0.42
    start, middle, end = labels
    cv2.putText(strip, start, (3, band - 9), font, size, hex_rgb(HOLE), 1, cv2.LINE_AA)
    (end_w, _), _ = cv2.getTextSize(end, font, size, 1)
    cv2.putText(strip, end, (strip.shape[1] - end_w - 3, band - 9), font, size, hex_rgb(HOLE), 1, cv2.LINE_AA)
    (mid_w, _), _ = cv2.getTextSize(middle, font, size, 1)
    centre = min(max((left + right) // 2 - mid_w // 2, 2), strip.shape[1] - mid_w - 2)
    cv2.putText(strip, middle, (centre, band + height + band - 4), font, size, amber, 1, cv2.LINE_AA)
    return strip


def timeline_frame_at(x: float, image_width: int, frames: int) -> int:
    """The source frame under pixel column `x` of a timeline `image_width` pixels wide."""
    return int(min(max(x / max(image_width, 1) * frames, 0), max(frames - 1, 0)))
