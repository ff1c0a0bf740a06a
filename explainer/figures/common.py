"""What every figure shares: the layout, the Play controls, the phone overrides, the JSON the page
receives, pictures as data URIs, picture panels on 2D axes, and pixels as squares in 3D.

Every figure sets its own height and sits on the dark film-base background. Animated figures carry Plotly
frames, a Play/Pause menu and a slider.
"""
from __future__ import annotations

import base64
import json
import math

import cv2
import numpy as np
import plotly.graph_objects as go

from .style import FILM, FONT, GRID, INK, MUTED, PAPER, PATCH

# --- the figure the page receives ---------------------------------------------------------------------

def to_json(fig: go.Figure) -> str:
    """The figure as the JSON text the page's player draws (numpy arrays travel as base64)."""
    return fig.to_json(validate=False)


def json_bytes(fig: go.Figure | str) -> int:
    """What the figure weighs on the wire (compare with MAX_FIGURE_BYTES)."""
    text = fig if isinstance(fig, str) else to_json(fig)
    return len(text.encode("utf-8"))


def frame_count(fig: go.Figure | str) -> int:
    """How many animation frames the figure carries."""
    payload = json.loads(fig) if isinstance(fig, str) else fig.to_plotly_json()
    return len(payload.get("frames") or [])


def for_phones(fig: go.Figure, **overrides) -> go.Figure:
    """Layout changes the page's player applies on a phone's narrow screen, as dotted paths:
    for_phones(fig, height=420, **{"scene.camera.eye": {...}})."""
    meta = dict(fig.layout.meta or {})
    meta["phone"] = {key.replace("__", "."): value for key, value in overrides.items()}
    fig.update_layout(meta=meta)
    return fig


def farther(eye: dict, factor: float) -> dict:
    """A camera eye moved `factor` times as far from the centre (a phone's narrow view needs room)."""
    return {axis: value * factor for axis, value in eye.items()}


# --- layout -------------------------------------------------------------------------------------------

def base_layout(height: int, title: str | None = None, **extra) -> dict:
    """The shared look: dark film base, light text, small margins, an explicit height."""
    layout = dict(height=height, autosize=True, paper_bgcolor=PAPER, plot_bgcolor=PAPER,
                  font=dict(family=FONT, color=INK, size=12), showlegend=False,
                  margin=dict(l=8, r=8, t=44 if title else 12, b=8),
                  hoverlabel=dict(bgcolor=FILM, bordercolor=GRID, font=dict(color=INK, family=FONT)))
    if title:
        layout["title"] = dict(text=title, x=0.01, xanchor="left", y=0.985, yanchor="top",
                               font=dict(size=14, color=INK))
    layout.update(extra)
    return layout


def scene_axis(title: str, **extra) -> dict:
    """An axis of a 3D scene in the shared look."""
    return dict(title=dict(text=title, font=dict(size=11, color=MUTED)), color=MUTED, gridcolor=GRID,
                zerolinecolor=GRID, showbackground=False, showspikes=False, tickfont=dict(size=9), **extra)


def play_controls(names: list[str], labels: list[str], *, duration_ms: int = 160, prefix: str = "",
                  active: int | None = None, below: int = 0) -> dict:
    """Play/Pause buttons and a slider over the animation frames `names`, for layout.update(...).

    Both sit under the plot area, `below` pixels down (room for an x axis), buttons first and the
    slider under them across the whole width, so they fit a phone; leave `controls_margin(below)` at
    the bottom. Play continues from the current frame (the page's player restarts it from the first
    frame when it is already at the last)."""
    step = dict(frame=dict(duration=duration_ms, redraw=True), transition=dict(duration=0),
                mode="immediate", fromcurrent=True)
    still = dict(frame=dict(duration=0, redraw=True), transition=dict(duration=0), mode="immediate")
    pause = dict(frame=dict(duration=0, redraw=False), transition=dict(duration=0), mode="immediate")
    menu = dict(type="buttons", direction="left", showactive=False, x=0.0, y=0.0, xanchor="left",
                yanchor="top", pad=dict(t=below + 6, r=6), bgcolor=FILM, bordercolor=GRID,
                font=dict(color=INK, size=12),
                buttons=[dict(label="▶ Play", method="animate", args=[None, step]),
                         dict(label="❚❚ Pause", method="animate", args=[[None], pause])])
    slider = dict(active=len(names) - 1 if active is None else active, x=0.0, len=1.0, y=0.0,
                  xanchor="left", yanchor="top", pad=dict(t=below + 44, b=0, l=6, r=6), bgcolor=GRID,
                  activebgcolor=PATCH, bordercolor=GRID, tickcolor=MUTED, ticklen=4, minorticklen=2,
                  font=dict(color="rgba(0,0,0,0)", size=8),  # step labels hidden; the current one shows
                  currentvalue=dict(prefix=prefix, visible=True, xanchor="right", offset=6,
                                    font=dict(color=INK, size=12)),
                  steps=[dict(label=label, method="animate", args=[[name], still])
                         for name, label in zip(names, labels)])
    return dict(updatemenus=[menu], sliders=[slider])


def controls_margin(below: int = 0) -> int:
    """Bottom margin that leaves room for `play_controls(..., below=below)`."""
    return below + 100


def two_line_title(height: int) -> dict:
    """Where a title of two lines sits: clear of the figure's top edge (plotly.js anchors a title of
    several lines by its first line)."""
    return dict(y=1 - 22 / height, yanchor="top")


# --- pictures on 2D axes ------------------------------------------------------------------------------

def axis_name(number: int, letter: str) -> str:
    """Layout key of the number-th x or y axis (1-based): xaxis, xaxis2, ..."""
    return f"{letter}axis" if number == 1 else f"{letter}axis{number}"


def axis_ref(number: int, letter: str) -> str:
    """Trace reference of the number-th axis: x, x2, ..."""
    return letter if number == 1 else f"{letter}{number}"


def image_axes(number: int, x_domain, y_domain) -> dict:
    """Layout entries for a picture on axes `number`: no ticks, square pixels, inside its domain (at its
    top, when the domain is taller than the picture)."""
    return {axis_name(number, "x"): dict(domain=list(x_domain), visible=False),
            axis_name(number, "y"): dict(domain=list(y_domain), visible=False, autorange="reversed",
                                         scaleanchor=axis_ref(number, "x"), constrain="domain",
                                         constraintoward="top")}


def panel_title(number: int, text: str, colour: str = INK, size: int = 12) -> dict:
    """A caption over the picture on axes `number` (it follows the axes' domain, on a phone too); lines of
    a caption of several start at its left."""
    return dict(text=text, xref=f"{axis_ref(number, 'x')} domain", yref=f"{axis_ref(number, 'y')} domain",
                x=0, y=1, xanchor="left", yanchor="bottom", align="left", showarrow=False,
                font=dict(size=size, color=colour))


# --- pictures -----------------------------------------------------------------------------------------

def image_uri(image: np.ndarray, fmt: str = "png", quality: int = 88) -> str:
    """An RGB uint8 image as a data: URI (PNG, or JPEG for noisy pictures that PNG cannot squeeze)."""
    bgr = cv2.cvtColor(np.ascontiguousarray(image, np.uint8), cv2.COLOR_RGB2BGR)
    if fmt == "jpeg":
        ok, data = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])
    else:
        ok, data = cv2.imencode(".png", bgr, [cv2.IMWRITE_PNG_COMPRESSION, 6])
    if not ok:
        raise ValueError(f"could not encode an image of shape {image.shape}")
    return f"data:image/{fmt};base64," + base64.b64encode(data.tobytes()).decode("ascii")


def enlarge(image: np.ndarray, factor: int) -> np.ndarray:
    """Nearest-neighbour enlargement: the pixels stay visible as the squares the model sees."""
    return np.repeat(np.repeat(image, factor, axis=0), factor, axis=1) if factor > 1 else image


def draw_grid(image: np.ndarray, step_h: int, step_w: int, colour, alpha: float, *, box=None) -> None:
    """Blend grid lines every (step_h, step_w) pixels into `image` in place, inside `box` (top, left, h, w)."""
    top, left, height, width = box or (0, 0, image.shape[0], image.shape[1])
    region = image[top:top + height, left:left + width]
    colour = np.array(colour, np.float32)
    for lines in (region[::step_h], region[:, ::step_w]):
        lines[...] = lines * (1 - alpha) + colour * alpha
    region[-1, :] = region[-1, :] * (1 - alpha) + colour * alpha
    region[:, -1] = region[:, -1] * (1 - alpha) + colour * alpha


# --- pixels as squares in 3D --------------------------------------------------------------------------

def stride_for(cells: int, layers: int, budget: int) -> int:
    """The smallest pixel stride that keeps `layers` x `cells` squares within `budget`."""
    stride = 1
    while layers * math.ceil(cells / stride**2) > budget:
        stride += 1
    return stride


def pixel_squares(rows: np.ndarray, cols: np.ndarray, size: float, depth: float, height: float, *,
                  x0: float = 0.0, z0: float = 0.0) -> dict:
    """A flat mesh of squares, one per pixel (rows, cols), standing upright at time `depth`: x runs with
    the columns, z upwards (row 0 on top of a frame `height` tall). Corners are shared between
    neighbours. Returns Mesh3d x, y, z, i, j, k; faces come two per pixel, in pixel order."""
    corners = np.stack([np.stack([rows + dr, cols + dc], -1) for dr, dc in ((0, 0), (0, 1), (1, 1), (1, 0))], 1)
    key = corners[..., 0].astype(np.int64) * (1 << 20) + corners[..., 1]
    unique, inverse = np.unique(key, return_inverse=True)
    inverse = inverse.reshape(-1, 4)
    corner_rows, corner_cols = unique >> 20, unique & ((1 << 20) - 1)
    first = np.stack([inverse[:, 0], inverse[:, 0]], 1).ravel()
    second = np.stack([inverse[:, 1], inverse[:, 2]], 1).ravel()
    third = np.stack([inverse[:, 2], inverse[:, 3]], 1).ravel()
    return dict(x=(x0 + corner_cols * size).astype(np.float32), y=np.full(len(unique), depth, np.float32),
                z=(z0 + (height - corner_rows * size)).astype(np.float32), i=first.astype(np.int32),
                j=second.astype(np.int32), k=third.astype(np.int32))
