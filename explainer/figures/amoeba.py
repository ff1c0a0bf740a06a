"""2. The amoeba cut: the same amoeba cut from every frame, the pieces stacked along time into a tube."""
from __future__ import annotations

import cv2
import numpy as np
import plotly.graph_objects as go

from ..patches import amoeba_cut
from .common import (
    base_layout,
    controls_margin,
    farther,
    for_phones,
    pixel_squares,
    play_controls,
    scene_axis,
    stride_for,
)
from .palette import palette_axis, palette_of
from .style import AMOEBA, FLAT_LIGHT, MUTED, PAPER, TUBE_EYE, rgba


def _outline(mask: np.ndarray, stride: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """The amoeba's outline as a closed polyline (columns, rows), in pixel units."""
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return np.zeros(0), np.zeros(0)
    contour = max(contours, key=cv2.contourArea)
    contour = cv2.approxPolyDP(contour, 0.6 * stride, True)[:, 0]
    contour = np.concatenate([contour, contour[:1]])
    return contour[:, 0] + 0.5, contour[:, 1] + 0.5


def _thinned(mask: np.ndarray, stride: int) -> np.ndarray:
    """The amoeba's pixels on a lattice of `stride` (each stands for the stride x stride block around it)."""
    kept = np.zeros_like(mask)
    kept[stride // 2::stride, stride // 2::stride] = mask[stride // 2::stride, stride // 2::stride]
    if not kept.any():  # a sliver thinner than the lattice: keep one of its pixels
        rows, cols = np.nonzero(mask)
        kept[rows[len(rows) // 2], cols[len(cols) // 2]] = True
    return kept


def amoeba_tube(frames: np.ndarray, mask: np.ndarray, labels: list[str] | None = None, *,
                budget: int = 12000, height: int = 540) -> go.Figure:
    """The amoeba cut from every frame and stacked along time, drawn piece by piece.

    Each frame's piece is a flat mesh of its real pixels (one trace per frame); animation frame k shows
    pieces 0..k, so Play lands the pieces one after another until the whole tube stands. A faint amber
    outline of every cut shows where the tube will be. `budget` caps the pixel squares drawn (the pixels
    are thinned on a lattice when the amoeba is large)."""
    count, frame_h, frame_w, _ = frames.shape
    mask = np.asarray(mask, bool)
    if not mask.any():
        raise ValueError("the amoeba mask is empty")
    stride = stride_for(int(mask.sum()), count, budget)
    rows, cols, pieces = amoeba_cut(frames, _thinned(mask, stride))
    index, palette = palette_of(pieces.reshape(-1, 3))
    index = index.reshape(count, len(rows))
    labels = labels or [str(n) for n in range(count)]
    fig = go.Figure()
    for number in range(count):
        # each kept pixel stands for the stride x stride block around it
        squares = pixel_squares(rows // stride, cols // stride, stride, number, frame_h)
        fig.add_trace(go.Mesh3d(**squares, intensity=np.repeat(index[number], 2), intensitymode="cell",
                                coloraxis="coloraxis", flatshading=True, lighting=FLAT_LIGHT, hoverinfo="skip",
                                name=f"frame {labels[number]}"))
    # guides: every frame's border, and the outline of every cut
    line_x, line_y, line_z = [], [], []
    out_x, out_y, out_z = [], [], []
    ox, oz = _outline(mask, stride)
    for number in range(count):
        line_x += [0, frame_w, frame_w, 0, 0, None]
        line_z += [0, 0, frame_h, frame_h, 0, None]
        line_y += [number] * 5 + [None]
        out_x += list(ox) + [None]
        out_z += list(frame_h - oz) + [None]
        out_y += [number] * len(ox) + [None]
    fig.add_trace(go.Scatter3d(x=line_x, y=line_y, z=line_z, mode="lines", hoverinfo="skip",
                               line=dict(color=rgba(MUTED, 0.45), width=1), name="frames"))
    fig.add_trace(go.Scatter3d(x=out_x, y=out_y, z=out_z, mode="lines", hoverinfo="skip",
                               line=dict(color=rgba(AMOEBA, 0.75), width=2), name="the cut"))
    names = [str(n) for n in range(count)]
    fig.frames = [go.Frame(name=names[k], traces=list(range(count)),
                           data=[go.Mesh3d(visible=n <= k) for n in range(count)]) for k in range(count)]
    longest = max(frame_h, frame_w)
    fig.update_layout(**base_layout(height, coloraxis=palette_axis(palette),
                                    margin=dict(l=0, r=0, t=8, b=controls_margin())),
                      scene=dict(xaxis=scene_axis("x (px)", range=[0, frame_w]),
                                 yaxis=scene_axis("time (frame)", range=[-0.5, count - 0.5]),
                                 zaxis=scene_axis("y (px)", range=[0, frame_h]), bgcolor=PAPER,
                                 aspectmode="manual",
                                 aspectratio=dict(x=frame_w / longest, y=1.5, z=frame_h / longest),
                                 camera=dict(eye=TUBE_EYE, center=dict(x=0, y=0.05, z=-0.12))),
                      meta=dict(autoplay=True, kind="amoeba-tube", pixel_stride=stride))
    fig.update_layout(**play_controls(names, labels, duration_ms=170, prefix="frame at "))
    return for_phones(fig, height=440, **{"scene.camera.eye": farther(TUBE_EYE, 1.4)})
