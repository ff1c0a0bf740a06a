"""The explainer's pictures: numpy arrays in, images or Plotly figures out.

One visual language throughout. The amoeba is amber, the highlighted tubelet (or whatever one thing you
are looking at) is pink, noise is grey, time runs indigo -> teal -> lime, and the clip's pixels keep their
real colours. Every figure sets its own height and sits on the same dark film-base background.

Real colours at a small size: instead of a colour string per pixel, the pixels of a figure share one
palette of at most 256 colours (median cut, refined by k-means), sent once as a colour scale; each
pixel carries only its palette index (one byte). Animated figures carry Plotly frames, a Play/Pause menu and a slider.

Nothing here knows Gradio or torch: the page passes in frames, masks and weights as numpy arrays.
"""
from __future__ import annotations

import base64
import json
import math

import cv2
import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .patches import PatchGrid, amoeba_tokens, patchify, square_crop_vs_native
from .pixels import to_unit

# --- the visual language -----------------------------------------------------------------------------

AMOEBA = "#ffab2e"       # the amoeba cut, everywhere
PATCH = "#ff4fa3"        # the one highlighted tubelet / token / step
NOISE = "#9aa1ab"        # noise
INK = "#ece8e1"          # text and the clean signal
MUTED = "#8b909a"        # guides and secondary text
GRID = "#2c3039"         # grid lines
PAPER = "#15171c"        # figure background: dark film base
FILM = "#0c0d10"         # film stock around the frames
HOLE = "#e6dfd2"         # sprocket holes
FONT = "Inter, ui-sans-serif, system-ui, -apple-system, 'Segoe UI', sans-serif"
TIME_SCALE = [[0.0, "#4553c4"], [0.5, "#1fa59b"], [1.0, "#c3d93b"]]     # early -> late
VALUE_SCALE = [[0.0, "#4f8fe6"], [0.5, "#1b1d23"], [1.0, "#f1ede4"]]   # negative -> 0 -> positive
CHANNEL_SCALES = {"R": [[0, "#1b1d23"], [1, "#ff5a4f"]], "G": [[0, "#1b1d23"], [1, "#4fd17a"]],
                  "B": [[0, "#1b1d23"], [1, "#5a8dff"]]}
TUBE_EYE = dict(x=1.55, y=-1.35, z=0.75)
VOLUME_EYE = dict(x=1.45, y=-1.5, z=0.95)
GRID_EYE = dict(x=1.5, y=-1.6, z=0.9)
MAX_FIGURE_BYTES = 1_500_000  # JSON sent to the browser per figure
FLAT_LIGHT = dict(ambient=1.0, diffuse=0.0, specular=0.0, roughness=1.0, fresnel=0.0)  # colours as given


def rgb(colour) -> str:
    r, g, b = (int(c) for c in colour)
    return f"rgb({r},{g},{b})"


def hex_rgb(colour: str) -> tuple[int, int, int]:
    colour = colour.lstrip("#")
    return tuple(int(colour[i:i + 2], 16) for i in (0, 2, 4))


def rgba(colour: str, alpha: float) -> str:
    r, g, b = hex_rgb(colour)
    return f"rgba({r},{g},{b},{alpha})"


# --- real colours on a budget ------------------------------------------------------------------------

def median_cut(colours: np.ndarray, size: int = 256, refine: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """A palette for `colours` (n, 3) uint8: (palette index of each colour (n,), palette (k, 3) uint8).

    Median cut: split the box of colours with the widest channel range at its median until there are
    `size` boxes; each box's colour is the mean of its members. Then `refine` rounds of k-means move
    every colour to its nearest palette entry and each entry to the mean of its colours. 256 is the most
    a 3D trace can use: WebGL colour maps hold 256 shades.
    """
    colours = np.asarray(colours, dtype=np.uint8).reshape(-1, 3)
    if len(colours) == 0:
        return np.zeros(0, np.uint8), np.zeros((1, 3), np.uint8)
    boxes = [np.arange(len(colours))]
    spans = [int(np.ptp(colours, axis=0).max())]
    while len(boxes) < size and max(spans) > 0:
        widest = int(np.argmax(spans))
        box = boxes.pop(widest)
        spans.pop(widest)
        channel = int(np.ptp(colours[box], axis=0).argmax())
        order = box[np.argsort(colours[box, channel], kind="stable")]
        for half in (order[: len(order) // 2], order[len(order) // 2:]):
            boxes.append(half)
            spans.append(int(np.ptp(colours[half], axis=0).max()) if len(half) > 1 else 0)
    index = np.empty(len(colours), np.int64)
    for number, box in enumerate(boxes):
        index[box] = number
    values = colours.astype(np.float32)
    palette = np.array([values[box].mean(axis=0) for box in boxes])  # (k, 3)
    for _ in range(refine):
        index = _nearest(values, palette)
        counts = np.bincount(index, minlength=len(palette))[:, None]
        sums = np.stack([np.bincount(index, values[:, c], minlength=len(palette)) for c in range(3)], 1)
        palette = np.where(counts > 0, sums / np.maximum(counts, 1), palette)
    palette = np.clip(palette.round(), 0, 255).astype(np.uint8)
    return index.astype(np.uint8 if len(palette) <= 256 else np.uint16), palette


def _nearest(values: np.ndarray, palette: np.ndarray, chunk: int = 8192) -> np.ndarray:
    """Index of the nearest palette colour for each of `values` (n, 3), in chunks to bound memory."""
    found = np.empty(len(values), np.int64)
    squared = (palette**2).sum(1)
    for start in range(0, len(values), chunk):
        part = values[start:start + chunk]
        found[start:start + chunk] = (squared[None] - 2 * part @ palette.T).argmin(1)
    return found


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


def image_uri(image: np.ndarray, fmt: str = "png", quality: int = 88) -> str:
    """An RGB uint8 image as a data: URI (PNG, or JPEG for noisy pictures that PNG cannot squeeze)."""
    bgr = np.ascontiguousarray(np.asarray(image, np.uint8)[..., ::-1])
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


# --- layout helpers ----------------------------------------------------------------------------------

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
    return dict(title=dict(text=title, font=dict(size=11, color=MUTED)), color=MUTED, gridcolor=GRID,
                zerolinecolor=GRID, showbackground=False, showspikes=False, tickfont=dict(size=9), **extra)


def play_controls(names: list[str], labels: list[str], duration_ms: int = 160, prefix: str = "",
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


def to_json(fig: go.Figure) -> str:
    """The figure as the JSON text the page's player draws (numpy arrays travel as base64)."""
    return fig.to_json(validate=False)


def for_phones(fig: go.Figure, **overrides) -> go.Figure:
    """Layout changes the page's player applies on a narrow screen (under 600 px), as dotted paths:
    for_phones(fig, height=420, **{"scene.camera.eye": {...}})."""
    meta = dict(fig.layout.meta or {})
    meta["phone"] = {key.replace("__", "."): value for key, value in overrides.items()}
    fig.update_layout(meta=meta)
    return fig


def _farther(eye: dict, factor: float) -> dict:
    return {axis: value * factor for axis, value in eye.items()}


def json_bytes(fig: go.Figure | str) -> int:
    text = fig if isinstance(fig, str) else to_json(fig)
    return len(text.encode("utf-8"))


def frame_count(fig: go.Figure | str) -> int:
    payload = json.loads(fig) if isinstance(fig, str) else fig.to_plotly_json()
    return len(payload.get("frames") or [])


# --- 1. the film reel --------------------------------------------------------------------------------

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


# --- 2. the amoeba cut, frame by frame ---------------------------------------------------------------

def _stride_for(cells: int, layers: int, budget: int) -> int:
    """The smallest pixel stride that keeps `layers` x `cells` squares within `budget`."""
    stride = 1
    while layers * math.ceil(cells / stride**2) > budget:
        stride += 1
    return stride


def pixel_squares(rows: np.ndarray, cols: np.ndarray, size: float, depth: float, height: float,
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


def _outline(mask: np.ndarray, stride: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """The amoeba's outline as a closed polyline (columns, rows), in pixel units."""
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return np.zeros(0), np.zeros(0)
    contour = max(contours, key=cv2.contourArea)
    contour = cv2.approxPolyDP(contour, 0.6 * stride, True)[:, 0]
    contour = np.concatenate([contour, contour[:1]])
    return contour[:, 0] + 0.5, contour[:, 1] + 0.5


def amoeba_tube(frames: np.ndarray, mask: np.ndarray, labels: list[str] | None = None,
                budget: int = 12000, height: int = 540) -> go.Figure:
    """The amoeba cut from every frame and stacked along time, drawn piece by piece.

    Each frame's piece is a flat mesh of its real pixels (one trace per frame); animation frame k shows
    pieces 0..k, so Play lands the pieces one after another until the whole tube stands. A faint amber
    outline of every cut shows where the tube will be. `budget` caps the pixel squares drawn (the pixels
    are thinned on a lattice when the amoeba is large)."""
    count, frame_h, frame_w, _ = frames.shape
    rows, cols = np.nonzero(mask)
    if len(rows) == 0:
        raise ValueError("the amoeba mask is empty")
    stride = _stride_for(len(rows), count, budget)
    on_lattice = (rows % stride == stride // 2) & (cols % stride == stride // 2)
    if not on_lattice.any():  # a sliver thinner than the lattice: keep one of its pixels
        on_lattice[len(rows) // 2] = True
    rows, cols = rows[on_lattice], cols[on_lattice]
    colours = frames[:, rows, cols].reshape(-1, 3)  # (count * pixels, 3)
    index, palette = median_cut(colours)
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
    return for_phones(fig, height=440, **{"scene.camera.eye": _farther(TUBE_EYE, 1.4)})


# --- 3. spacetime patches ----------------------------------------------------------------------------

def _boxes(corners_low: np.ndarray, corners_high: np.ndarray) -> dict:
    """Mesh3d x, y, z, i, j, k of axis-aligned boxes, given (n, 3) low and high corners as (x, y, z)."""
    unit = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0], [0, 0, 1], [1, 0, 1], [1, 1, 1], [0, 1, 1]])
    faces = np.array([[0, 1, 2], [0, 2, 3], [4, 5, 6], [4, 6, 7], [0, 1, 5], [0, 5, 4],
                      [2, 3, 7], [2, 7, 6], [1, 2, 6], [1, 6, 5], [0, 3, 7], [0, 7, 4]])
    low, high = np.asarray(corners_low, np.float32), np.asarray(corners_high, np.float32)
    points = low[:, None] + unit[None] * (high - low)[:, None]  # (n, 8, 3)
    tris = (faces[None] + 8 * np.arange(len(low))[:, None, None]).reshape(-1, 3)
    points = points.reshape(-1, 3)
    return dict(x=points[:, 0], y=points[:, 1], z=points[:, 2], i=tris[:, 0].astype(np.int32),
                j=tris[:, 1].astype(np.int32), k=tris[:, 2].astype(np.int32))


def _cell_corners(cells: np.ndarray, patch, frame_h: int, inset: float = 0.08):
    """(n, 3) tubelet grid cells (it, ih, iw) -> low and high (x, time, z) corners, slightly inset."""
    pt, ph, pw = patch
    cells = np.asarray(cells, np.float32).reshape(-1, 3)
    it, ih, iw = cells[:, 0], cells[:, 1], cells[:, 2]
    low = np.stack([iw * pw + inset * pw, it * pt + inset * pt, frame_h - (ih + 1) * ph + inset * ph], 1)
    high = np.stack([(iw + 1) * pw - inset * pw, (it + 1) * pt - inset * pt, frame_h - ih * ph - inset * ph], 1)
    return low, high


def _grid_lines(shape, patch, size) -> tuple[list, list, list]:
    """The tubelet grid drawn on the front (time 0), top and right faces of the clip's volume."""
    (gt, gh, gw), (pt, ph, pw), (count, frame_h, frame_w) = shape, patch, size
    xs, ys, zs = [], [], []

    def segment(a, b):
        xs.extend([a[0], b[0], None]), ys.extend([a[1], b[1], None]), zs.extend([a[2], b[2], None])

    for iw in range(gw + 1):
        x = iw * pw
        segment((x, 0, 0), (x, 0, frame_h))              # front face, vertical
        segment((x, 0, frame_h), (x, count, frame_h))    # top face, along time
    for ih in range(gh + 1):
        z = frame_h - ih * ph
        segment((0, 0, z), (frame_w, 0, z))             # front face, horizontal
        segment((frame_w, 0, z), (frame_w, count, z))    # right face, along time
    for it in range(1, gt + 1):
        y = it * pt
        segment((0, y, frame_h), (frame_w, y, frame_h))  # top face, across
        segment((frame_w, y, 0), (frame_w, y, frame_h))  # right face, down
    return xs, ys, zs


def tubelet_volume(frames: np.ndarray, patch, mask: np.ndarray, token: int, budget: int = 6000,
                   height: int = 560) -> go.Figure:
    """The clip as a volume (x, time, y) cut into the tubelet grid. The amoeba's tubelets glow amber, the
    highlighted tubelet `token` is pink, and a copy of it is pulled out above the volume: its pt frames
    of ph x pw real pixels, spread apart. The last frame closes the back of the volume."""
    count, frame_h, frame_w, _ = frames.shape
    grid = PatchGrid(count, frame_h, frame_w, tuple(patch))
    pt, ph, pw = grid.patch
    _, gh, gw = grid.shape
    it, ih, iw = grid.index(token)
    fig = go.Figure()
    # the back wall: the last frame, thinned to stay light
    stride = _stride_for(frame_h * frame_w, 1, budget)
    back = frames[-1, stride // 2::stride, stride // 2::stride]
    tubelet = frames[grid.pixels(token)]  # (pt, ph, pw, 3)
    index, palette = median_cut(np.concatenate([back.reshape(-1, 3), tubelet.reshape(-1, 3)]))
    back_rows, back_cols = np.indices(back.shape[:2]).reshape(2, -1)
    wall = pixel_squares(back_rows, back_cols, stride, count, frame_h)
    fig.add_trace(go.Mesh3d(**wall, intensity=np.repeat(index[:back_rows.size], 2), intensitymode="cell",
                            coloraxis="coloraxis", flatshading=True, lighting=FLAT_LIGHT, hoverinfo="skip",
                            name="last frame"))
    # the grid on the volume's faces
    gx, gy, gz = _grid_lines(grid.shape, grid.patch, (count, frame_h, frame_w))
    fig.add_trace(go.Scatter3d(x=gx, y=gy, z=gz, mode="lines", line=dict(color=rgba(MUTED, 0.55), width=1),
                               hoverinfo="skip", name="tubelet grid"))
    # the amoeba's tubelets (one column of them per cell it touches, through all time), and the pink one
    cells = [grid.index(int(n)) for n in amoeba_tokens(grid, mask) if n < gh * gw]  # time slice 0
    if cells:
        low, high = _cell_corners(np.array(cells), grid.patch, frame_h)
        low[:, 1], high[:, 1] = 0.0, count  # through the whole clip; the grid lines mark each tubelet
        fig.add_trace(go.Mesh3d(**_boxes(low, high), color=AMOEBA, opacity=0.2, flatshading=True,
                                hoverinfo="skip", name="the amoeba's tubelets"))
    low, high = _cell_corners(np.array([[it, ih, iw]]), grid.patch, frame_h, inset=0.0)
    fig.add_trace(go.Mesh3d(**_boxes(low, high), color=PATCH, opacity=0.9, flatshading=True,
                            hovertemplate=f"tubelet #{token}<extra></extra>", name="highlighted tubelet"))
    # the highlighted tubelet, pulled out: its pt frames, enlarged, spread along time
    zoom = max(1.0, 0.42 * min(frame_w, frame_h) / max(ph, pw))
    spread = max(1.0, count / (2.5 * pt))
    width_out, height_out = pw * zoom, ph * zoom
    centre_x = float(np.clip((iw + 0.5) * pw, width_out / 2, frame_w - width_out / 2))
    lift = frame_h + 0.25 * frame_h
    centre_t = (it + 0.5) * pt
    rows, cols = np.indices((ph, pw)).reshape(2, -1)
    card_index = index[back_rows.size:].reshape(pt, ph * pw)
    border_x, border_y, border_z = [], [], []
    for layer in range(pt):
        depth = float(np.clip(centre_t + (layer - (pt - 1) / 2) * spread, 0, count))
        card = pixel_squares(rows, cols, zoom, depth, height_out, x0=centre_x - width_out / 2, z0=lift)
        fig.add_trace(go.Mesh3d(**card, intensity=np.repeat(card_index[layer], 2), intensitymode="cell",
                                coloraxis="coloraxis", flatshading=True, lighting=FLAT_LIGHT,
                                hovertemplate=f"tubelet #{token}, frame {it * pt + layer}<extra></extra>",
                                name=f"tubelet frame {layer}"))
        x_low, x_high = centre_x - width_out / 2, centre_x + width_out / 2
        border_x += [x_low, x_high, x_high, x_low, x_low, None]
        border_z += [lift, lift, lift + height_out, lift + height_out, lift, None]
        border_y += [depth] * 5 + [None]
    slot_top = (float((iw + 0.5) * pw), float(centre_t), float(frame_h - ih * ph))
    border_x += [slot_top[0], centre_x, None]
    border_y += [slot_top[1], centre_t, None]
    border_z += [slot_top[2], lift, None]
    fig.add_trace(go.Scatter3d(x=border_x, y=border_y, z=border_z, mode="lines", hoverinfo="skip",
                               line=dict(color=PATCH, width=3), name="pulled out"))
    longest = max(frame_h, frame_w)
    top = lift + height_out
    fig.update_layout(**base_layout(height, coloraxis=palette_axis(palette)),
                      scene=dict(xaxis=scene_axis("x (px)", range=[0, frame_w]),
                                 yaxis=scene_axis("time (frame)", range=[0, count]),
                                 zaxis=scene_axis("y (px)", range=[0, top]), bgcolor=PAPER,
                                 aspectmode="manual",
                                 aspectratio=dict(x=frame_w / longest, y=1.3, z=top / longest),
                                 camera=dict(eye=VOLUME_EYE, center=dict(x=0, y=0, z=-0.15))),
                      meta=dict(kind="tubelet-volume", token=int(token)))
    return for_phones(fig, height=460, **{"scene.camera.eye": _farther(VOLUME_EYE, 1.4)})


def _draw_grid(image: np.ndarray, step_h: int, step_w: int, colour, alpha: float, box=None) -> None:
    """Blend grid lines every (step_h, step_w) pixels into `image` in place, inside `box` (top, left, h, w)."""
    top, left, height, width = box or (0, 0, image.shape[0], image.shape[1])
    region = image[top:top + height, left:left + width]
    colour = np.array(colour, np.float32)
    for lines in (region[::step_h], region[:, ::step_w]):
        lines[...] = lines * (1 - alpha) + colour * alpha
    region[-1, :] = region[-1, :] * (1 - alpha) + colour * alpha
    region[:, -1] = region[:, -1] * (1 - alpha) + colour * alpha


def crop_vs_native(frame: np.ndarray, frames: int, patch, height: int = 360) -> go.Figure:
    """Two ways to feed this frame to a video model, side by side: a fixed square centre crop (the U-Net
    era) keeps only the middle; native-aspect spacetime patches keep all of it. Tubelet grids drawn."""
    frame_h, frame_w, _ = frame.shape
    pt, ph, pw = patch
    facts = square_crop_vs_native(frame_h, frame_w, frames, patch)
    top, left, side, _ = facts["crop_box"]
    scale = max(1, round(360 / max(frame_h, frame_w)))
    cropped = frame.astype(np.float32)
    outside = np.ones((frame_h, frame_w), bool)
    outside[top:top + side, left:left + side] = False
    cropped[outside] *= 0.22
    crop_h, crop_w = facts["crop_grid"][1] * ph, facts["crop_grid"][2] * pw
    _draw_grid(cropped, ph, pw, hex_rgb(INK), 0.35, box=(top, left, crop_h, crop_w))
    native = frame.astype(np.float32)
    _draw_grid(native, ph, pw, hex_rgb(INK), 0.35)
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.04)
    for col, image in ((1, cropped), (2, native)):
        fig.add_trace(go.Image(source=image_uri(enlarge(image.astype(np.uint8), scale)), hoverinfo="skip"),
                      row=1, col=col)
    box = dict(type="rect", x0=left * scale - 0.5, x1=(left + side) * scale - 0.5, y0=top * scale - 0.5,
               y1=(top + side) * scale - 0.5, line=dict(color=INK, width=2, dash="dash"), xref="x", yref="y")
    fig.add_shape(**box)
    kept = facts["area_kept"]
    notes = [("x domain", "Square crop (U-Net era)",
              f"keeps {kept:.0%} of the frame · {facts['crop_tokens']:,} tokens"),
             ("x2 domain", "Native aspect (spacetime patches)",
              f"keeps 100% · {facts['native_tokens']:,} tokens")]
    for xref, title, note in notes:
        yref = "y domain" if xref == "x domain" else "y2 domain"
        fig.add_annotation(text=f"<b>{title}</b>", xref=xref, yref=yref, x=0, y=1.0, xanchor="left",
                           yanchor="bottom", showarrow=False, font=dict(size=12, color=INK))
        fig.add_annotation(text=note, xref=xref, yref=yref, x=0, y=0, xanchor="left", yanchor="top",
                           showarrow=False, font=dict(size=11, color=AMOEBA if "100%" not in note else INK))
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, scaleanchor="x", constrain="domain")
    fig.update_yaxes(scaleanchor="x2", row=1, col=2)
    fig.update_layout(**base_layout(height, margin=dict(l=8, r=8, t=30, b=30)),
                      meta=dict(kind="crop-vs-native", **{k: v for k, v in facts.items()
                                                          if k in ("area_kept", "native_tokens", "crop_tokens")}))
    if frame_w < 1.2 * frame_h:
        return fig  # upright and square frames fit side by side on a phone too
    picture = 350 * frame_h / frame_w  # a picture's height across a phone
    stacked = 2 * picture + 110
    top = (picture + 34) / stacked
    return for_phones(fig, height=int(stacked), **{"xaxis.domain": [0, 1], "xaxis2.domain": [0, 1],
                                                  "yaxis.domain": [1 - top + 22 / stacked, 1],
                                                  "yaxis2.domain": [28 / stacked, top - 26 / stacked]})


# --- 4. tokens ---------------------------------------------------------------------------------------

def token_colours(frames: np.ndarray, patch) -> np.ndarray:
    """The mean colour of every tubelet, in sequence order: (tokens, 3) uint8."""
    tokens = patchify(np.asarray(frames, np.float32), tuple(patch))  # (N, pt*ph*pw*3)
    return np.round(tokens.reshape(len(tokens), -1, 3).mean(axis=1)).astype(np.uint8)


def _strip_heatmap(values: np.ndarray, scale, zmax: float | None = None, name: str = "") -> go.Heatmap:
    zmax = float(np.abs(values).max() or 1.0) if zmax is None else zmax
    return go.Heatmap(z=np.asarray(values, np.float32)[None], colorscale=scale, zmin=-zmax, zmax=zmax,
                      showscale=False, xgap=0, name=name,
                      hovertemplate="number %{x}: %{z:.3f}<extra>" + name + "</extra>")


def token_story(tubelet: np.ndarray, weight: np.ndarray, bias: np.ndarray, position: np.ndarray,
                axis_widths: tuple[int, int, int], token: int, cell: tuple[int, int, int],
                height: int = 640, layer: str = "a linear layer") -> go.Figure:
    """One tubelet becomes one token, in five rows: its pixels; flattened into pt*ph*pw*3 numbers (shown
    pixel by pixel, one row per colour channel); a linear layer (weight (D, pt*ph*pw*3), bias (D,)) maps
    them to D numbers; its 3D sin-cos position (D,) is added (time | row | column parts); the sum is the
    token the DiT reads. `layer` names the linear layer (trained or not) in its row's title."""
    pt, ph, pw, _ = tubelet.shape
    vector = to_unit(tubelet).numpy().reshape(-1)  # (pt*ph*pw*3,), the order patchify uses: pixel-major, RGB inner
    embedded = weight @ vector + bias  # (D,)
    token_vector = embedded + position  # (D,)
    width = len(bias)
    fig = make_subplots(rows=5, cols=1, vertical_spacing=0.075, row_heights=[0.3, 0.22, 0.16, 0.16, 0.16],
                        subplot_titles=[f"① tubelet #{token}: {pt} frame{'s' if pt > 1 else ''} of {ph}×{pw} pixels",
                                        f"② flattened: {vector.size} numbers (pixels × RGB)",
                                        f"③ {layer}: {vector.size} → {width} numbers",
                                        "④ + where and when: time | row | column",
                                        "⑤ = the token the DiT reads"])
    gap = max(1, pw // 4)
    cards = np.full((ph, pt * pw + (pt - 1) * gap, 3), hex_rgb(PAPER), np.uint8)
    for layer in range(pt):
        cards[:, layer * (pw + gap):layer * (pw + gap) + pw] = tubelet[layer]
    scale = max(1, round(140 / ph))
    fig.add_trace(go.Image(source=image_uri(enlarge(cards, scale)), hoverinfo="skip"), row=1, col=1)
    channels = vector.reshape(-1, 3)  # (pixels, 3)
    for number, name in enumerate("RGB"):  # numeric rows: categorical rows break stacked heatmaps
        fig.add_trace(go.Heatmap(z=channels[:, number][None].astype(np.float32), y0=number, dy=1,
                                 colorscale=CHANNEL_SCALES[name], zmin=-1, zmax=1, showscale=False,
                                 hovertemplate=f"pixel %{{x}}, {name}: %{{z:.2f}}<extra></extra>"), row=2, col=1)
    for row, values, name in ((3, embedded, "linear layer"), (4, position, "position"), (5, token_vector, "token")):
        fig.add_trace(_strip_heatmap(values, VALUE_SCALE, name=name), row=row, col=1)
    edges = np.cumsum(axis_widths)[:-1] - 0.5
    for edge in edges:
        fig.add_vline(x=float(edge), line=dict(color=INK, width=1.5), row=4, col=1)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    fig.update_yaxes(visible=True, row=2, col=1, tickfont=dict(size=10, color=MUTED), ticks="", showgrid=False,
                     tickvals=[0, 1, 2], ticktext=list("RGB"), autorange="reversed", zeroline=False)
    fig.update_yaxes(scaleanchor="x", constrain="domain", row=1, col=1)
    for annotation in fig.layout.annotations:
        annotation.update(x=0, xanchor="left", font=dict(size=12, color=INK))
    it, ih, iw = cell
    fig.update_layout(**base_layout(height, margin=dict(l=24, r=8, t=30, b=8)),
                      meta=dict(kind="token", token=int(token), cell=[int(it), int(ih), int(iw)]))
    return fig


def token_sequence(shape: tuple[int, int, int], token_colours: np.ndarray, amoeba: np.ndarray, token: int,
                   height: int = 660) -> go.Figure:
    """The (gt, gh, gw) grid of tokens and the 1D sequence the transformer reads, time-major: all of
    time slice 0 row by row, then slice 1, ... Above, the grid in 3D with the reading path, coloured by
    time; below, the sequence itself: each token's mean colour, its time slice, and the amoeba's tokens.
    `token_colours` (N, 3) uint8 in sequence order; `amoeba` the amoeba's token numbers."""
    gt, gh, gw = shape
    count = gt * gh * gw
    order = np.arange(count)
    it, ih, iw = order // (gh * gw), (order // gw) % gh, order % gw
    fig = make_subplots(rows=2, cols=1, row_heights=[0.64, 0.36], vertical_spacing=0.1,
                        specs=[[{"type": "scene"}], [{"type": "xy"}]],
                        subplot_titles=["the grid of tubelets, read in this order",
                                        f"the 1D sequence: {count:,} tokens "
                                        f"(<span style='color:{PATCH}'>#{token}</span>)"])
    time_colour = it.astype(np.float32)
    fig.add_trace(go.Scatter3d(x=iw.astype(np.float32), y=it.astype(np.float32), z=(gh - 1 - ih).astype(np.float32),
                               mode="lines+markers" if count <= 4000 else "markers",
                               marker=dict(size=2.5 if count > 1500 else 4, color=time_colour, colorscale=TIME_SCALE,
                                           cmin=0, cmax=max(1, gt - 1)),
                               line=dict(color=time_colour, colorscale=TIME_SCALE, cmin=0, cmax=max(1, gt - 1),
                                         width=1.5),
                               hovertemplate="token %{text}<extra></extra>", text=order.astype(str).tolist()
                               if count <= 2500 else None, name="tokens"), row=1, col=1)
    ht, hh, hw = token // (gh * gw), (token // gw) % gh, token % gw
    fig.add_trace(go.Scatter3d(x=[hw], y=[ht], z=[gh - 1 - hh], mode="markers",
                               marker=dict(size=9, color=PATCH, symbol="diamond"),
                               hovertemplate=f"token #{token}<extra></extra>", name="highlighted"), row=1, col=1)
    index, palette = median_cut(token_colours)
    rows = ["picture", "time", "amoeba"]  # drawn at y = 0, 1, 2
    fig.add_trace(go.Heatmap(z=index[None].astype(np.float32), y0=0, dy=1, colorscale=palette_scale(palette),
                             zmin=0, zmax=max(1, len(palette) - 1), showscale=False,
                             hovertemplate="token %{x}<extra>mean colour</extra>"), row=2, col=1)
    fig.add_trace(go.Heatmap(z=it[None].astype(np.float32), y0=1, dy=1, colorscale=TIME_SCALE, zmin=0,
                             zmax=max(1, gt - 1), showscale=False,
                             hovertemplate="token %{x}: time slice %{z}<extra></extra>"), row=2, col=1)
    in_amoeba = np.full(count, np.nan, np.float32)
    in_amoeba[np.asarray(amoeba, int)] = 1.0
    fig.add_trace(go.Heatmap(z=in_amoeba[None], y0=2, dy=1, colorscale=[[0, AMOEBA], [1, AMOEBA]], zmin=0,
                             zmax=1, showscale=False, hovertemplate="token %{x}: in the amoeba<extra></extra>"),
                  row=2, col=1)
    fig.add_shape(type="line", x0=token, x1=token, y0=0, y1=1, xref="x", yref="y domain",
                  line=dict(color=PATCH, width=2))
    ticks = [n * gh * gw for n in range(gt)]
    fig.update_xaxes(tickvals=ticks, ticktext=[f"t{n}" if gt <= 16 or n % 2 == 0 else "" for n in range(gt)],
                     tickfont=dict(size=9, color=MUTED), showgrid=False, zeroline=False, range=[-0.5, count - 0.5],
                     row=2, col=1)
    fig.update_yaxes(tickfont=dict(size=10, color=MUTED), tickvals=[0, 1, 2], ticktext=rows, autorange="reversed",
                     showgrid=False, zeroline=False, row=2, col=1)
    for annotation in fig.layout.annotations:
        if annotation.text and annotation.text.startswith("the "):  # the subplot titles
            annotation.update(x=0, xanchor="left", font=dict(size=12, color=INK))
    fig.update_layout(**base_layout(height, margin=dict(l=56, r=8, t=30, b=24)),
                      scene=dict(xaxis=scene_axis("column"), yaxis=scene_axis("time slice"),
                                 zaxis=scene_axis("row"), bgcolor=PAPER, aspectmode="manual",
                                 aspectratio=dict(x=gw / max(gh, gw), y=1.2, z=gh / max(gh, gw)),
                                 camera=dict(eye=GRID_EYE)),
                      meta=dict(kind="token-sequence", tokens=int(count), token=int(token)))
    return for_phones(fig, height=600, **{"scene.camera.eye": _farther(GRID_EYE, 1.25)})


# --- 5. noising --------------------------------------------------------------------------------------

def frames_grid(frames: np.ndarray, columns: int | None = None, gap: int = 3, scale: int = 1) -> np.ndarray:
    """Frames (n, H, W, 3) in a grid of `columns` (all in one row by default) on the figure
    background, `gap` pixels apart."""
    count, height, width, _ = frames.shape
    columns = columns or count
    rows = math.ceil(count / columns)
    fh, fw = height * scale, width * scale
    grid = np.full((rows * fh + (rows - 1) * gap, columns * fw + (columns - 1) * gap, 3), hex_rgb(PAPER), np.uint8)
    for number, frame in enumerate(frames):
        top, left = (number // columns) * (fh + gap), (number % columns) * (fw + gap)
        grid[top:top + fh, left:left + fw] = enlarge(frame, scale)
    return grid


def _image_layout(fig: go.Figure, row=None, col=None) -> None:
    fig.update_xaxes(visible=False, row=row, col=col)
    fig.update_yaxes(visible=False, scaleanchor="x", constrain="domain", row=row, col=col)


def image_player(images: list[np.ndarray], labels: list[str], height: int = 420, title: str | None = None,
                 prefix: str = "", fmt: str = "jpeg", active: int | None = None, autoplay: bool = False,
                 duration_ms: int = 200) -> go.Figure:
    """Pictures played one after another, with Play/Pause and a slider (e.g. the steps of a sampler)."""
    uris = [image_uri(image, fmt) for image in images]
    active = len(images) - 1 if active is None else active
    fig = go.Figure(go.Image(source=uris[active], hoverinfo="skip"))
    names = [str(n) for n in range(len(images))]
    fig.frames = [go.Frame(name=name, data=[go.Image(source=uri)], traces=[0]) for name, uri in zip(names, uris)]
    _image_layout(fig)
    fig.update_layout(**base_layout(height, title, margin=dict(l=8, r=8, t=44 if title else 12, b=controls_margin())),
                      meta=dict(autoplay=autoplay, kind="image-player"))
    fig.update_layout(**play_controls(names, labels, duration_ms, prefix, active))
    return fig


def noising(pictures: list[np.ndarray], timesteps: list[int], alpha_bar: np.ndarray, current: int,
            schedule: str = "linear", height: int = 460) -> go.Figure:
    """The forward process q(x_t | x_0) on the clip: `pictures[n]` shows frames of the clip noised to
    timestep `timesteps[n]`, beside the schedule: signal share alpha-bar, noise share 1 - alpha-bar and
    the signal-to-noise ratio against t, with the current t marked. Play sweeps t from clean to noise.
    Side by side on a wide screen, one above the other on a phone."""
    alpha_bar = np.asarray(alpha_bar, np.float64)
    steps = np.arange(len(alpha_bar))
    snr = alpha_bar / np.maximum(1 - alpha_bar, 1e-12)
    fig = make_subplots(rows=1, cols=2, column_widths=[0.44, 0.56], horizontal_spacing=0.1,
                        specs=[[{"type": "xy"}, {"secondary_y": True}]])
    uris = [image_uri(picture, "jpeg", 72) for picture in pictures]
    fig.add_trace(go.Image(source=uris[current], hoverinfo="skip"), row=1, col=1)
    fig.add_trace(go.Scatter(x=steps, y=alpha_bar.astype(np.float32), mode="lines",
                             line=dict(color=INK, width=2.5), name="signal ᾱ",
                             hovertemplate="t %{x}: signal ᾱ %{y:.3f}<extra></extra>"), row=1, col=2)
    fig.add_trace(go.Scatter(x=steps, y=(1 - alpha_bar).astype(np.float32), mode="lines",
                             line=dict(color=NOISE, width=2.5), name="noise 1−ᾱ",
                             hovertemplate="t %{x}: noise 1−ᾱ %{y:.3f}<extra></extra>"), row=1, col=2)
    fig.add_trace(go.Scatter(x=steps, y=snr.astype(np.float32), mode="lines",
                             line=dict(color=MUTED, width=1.5, dash="dot"), name="SNR",
                             hovertemplate="t %{x}: SNR %{y:.3g}<extra></extra>"), row=1, col=2, secondary_y=True)

    def marker(n):
        t = timesteps[n]
        return (dict(x=[t, t], y=[0, 1]), dict(x=[t, t], y=[float(alpha_bar[t]), float(1 - alpha_bar[t])]))

    line, dots = marker(current)
    fig.add_trace(go.Scatter(**line, mode="lines", line=dict(color=PATCH, width=2), hoverinfo="skip",
                             name="now"), row=1, col=2)
    fig.add_trace(go.Scatter(**dots, mode="markers", marker=dict(color=[INK, NOISE], size=11,
                                                                 line=dict(color=PATCH, width=2.5)),
                             hoverinfo="skip", name="now"), row=1, col=2)
    names = [str(n) for n in range(len(timesteps))]
    frames = []
    for n, name in enumerate(names):
        line, dots = marker(n)
        frames.append(go.Frame(name=name, traces=[0, 4, 5],
                               data=[go.Image(source=uris[n]), go.Scatter(**line), go.Scatter(**dots)],
                               layout=dict(title=dict(text=_noise_title(timesteps[n], alpha_bar, snr)))))
    fig.frames = frames
    _image_layout(fig, row=1, col=1)
    fig.update_xaxes(title=dict(text="timestep t", font=dict(size=11, color=MUTED)), range=[0, len(alpha_bar) - 1],
                     gridcolor=GRID, color=MUTED, zeroline=False, row=1, col=2)
    fig.update_yaxes(title=dict(text="share of the pixel", font=dict(size=11, color=MUTED)), range=[0, 1.02],
                     gridcolor=GRID, color=MUTED, zeroline=False, row=1, col=2, secondary_y=False)
    fig.update_yaxes(title=dict(text="SNR (log)", font=dict(size=11, color=MUTED)), type="log", color=MUTED,
                     showgrid=False, exponentformat="power", tickfont=dict(size=10), row=1, col=2, secondary_y=True)
    fig.add_annotation(text="signal ᾱ", x=0.03 * len(alpha_bar), y=0.93, xref="x2", yref="y2", showarrow=False,
                       xanchor="left", font=dict(color=INK, size=11))
    fig.add_annotation(text="noise 1−ᾱ", x=0.03 * len(alpha_bar), y=0.07, xref="x2", yref="y2", showarrow=False,
                       xanchor="left", font=dict(color=NOISE, size=11))
    fig.update_layout(**base_layout(height, _noise_title(timesteps[current], alpha_bar, snr),
                                    margin=dict(l=16, r=50, t=40, b=controls_margin(40))),
                      meta=dict(kind="noising", schedule=schedule, timesteps=[int(t) for t in timesteps]))
    fig.update_layout(**play_controls(names, [str(t) for t in timesteps], 220, "t = ", current, below=40))
    return for_phones(fig, height=640, **{"xaxis.domain": [0, 1], "yaxis.domain": [0.5, 1.0],
                                          "xaxis2.domain": [0.1, 1], "yaxis2.domain": [0.0, 0.38],
                                          "margin.l": 8, "margin.r": 44})


def _noise_title(t: int, alpha_bar: np.ndarray, snr: np.ndarray) -> str:
    return (f"t = {t}: {math.sqrt(alpha_bar[t]):.2f}·clip + "
            f"<span style='color:{NOISE}'>{math.sqrt(1 - alpha_bar[t]):.2f}·noise</span> · SNR {snr[t]:.2g}")


def sweep_timesteps(steps: int, current: int, count: int = 21) -> tuple[list[int], int]:
    """Timesteps for a Play sweep from clean to pure noise, with `current` among them:
    (sorted timesteps, position of current)."""
    sweep = sorted({int(round(t)) for t in np.linspace(0, steps - 1, count)} | {int(current)})
    return sweep, sweep.index(int(current))


# --- 6. denoising ------------------------------------------------------------------------------------

def _axis_name(number: int, letter: str) -> str:
    """Layout key of the number-th x or y axis (1-based): xaxis, xaxis2, ..."""
    return f"{letter}axis" if number == 1 else f"{letter}axis{number}"


def _axis_ref(number: int, letter: str) -> str:
    """Trace reference of the number-th axis: x, x2, ..."""
    return letter if number == 1 else f"{letter}{number}"


def _image_axes(number: int, x_domain, y_domain) -> dict:
    """Layout entries for a picture on axes `number`: no ticks, square pixels, inside its domain (at its
    top, when the domain is taller than the picture)."""
    return {_axis_name(number, "x"): dict(domain=list(x_domain), visible=False),
            _axis_name(number, "y"): dict(domain=list(y_domain), visible=False, autorange="reversed",
                                          scaleanchor=_axis_ref(number, "x"), constrain="domain",
                                          constraintoward="top")}


def _two_line_title(height: int) -> dict:
    """Where a title of two lines sits: clear of the figure's top edge (plotly.js anchors a title of
    several lines by its first line)."""
    return dict(y=1 - 22 / height, yanchor="top")


def _panel_title(number: int, text: str, colour: str = INK, size: int = 12) -> dict:
    """A caption over the picture on axes `number` (it follows the axes' domain, on a phone too)."""
    return dict(text=text, xref=f"{_axis_ref(number, 'x')} domain", yref=f"{_axis_ref(number, 'y')} domain",
                x=0, y=1, xanchor="left", yanchor="bottom", showarrow=False, font=dict(size=size, color=colour))


def _step_title(index: int, total: int, t: int, snr: float, psnr: float | None) -> str:
    guess = "" if psnr is None else f" · x̂0 vs your clip <b>{psnr:.1f} dB</b>"
    return (f"step {index + 1} of {total} · t = {t}<br><span style='font-size:11px;color:{MUTED}'>"
            f"<span style='color:{NOISE}'>SNR {snr:.2g}</span>{guess}</span>")


def _map_label(x: float, y: float, text: str, colour: str, ax: int, ay: int) -> dict:
    """A label with a short leader line for a point of the trajectory map (axes x3, y3)."""
    return dict(text=text, x=float(x), y=float(y), xref="x3", yref="y3", showarrow=True, ax=ax, ay=ay,
                arrowhead=0, arrowwidth=1, arrowcolor=MUTED, font=dict(size=11, color=colour),
                bgcolor=rgba(PAPER, 0.7))


def denoising(noisy: np.ndarray, guesses: np.ndarray, timesteps: list[int], snr: list[float],
              path: dict, psnr: list[float] | None = None, current: int | None = None, height: int = 470,
              quality: int = 80, autoplay: bool = True, start: str = "pure noise") -> go.Figure:
    """The reverse process, step by step, beside its trajectory map.

    `noisy`, `guesses` (S, H, W, 3) uint8: one clip frame per sampler step, x_t (what the DiT sees) and x̂0
    (its guess of the clean clip). `path` is a trajectory map (explainer.trajectory.trajectory_map): every
    x_t and x̂0 as 2D points, the finished clip and your clip. On the map the x_t path is a line of dots
    coloured by step (first -> last as time runs), the x̂0 guesses a dotted series of diamonds, `start`
    names where the path began; the step on show is ringed in pink, with a pink line from x_t to the
    guess the DiT makes from it. Play walks the steps (and starts by itself when `autoplay`). Pictures
    travel as JPEG of `quality`."""
    steps = len(timesteps)
    current = steps - 1 if current is None else current
    psnr = list(psnr) if psnr else None
    xy, guess_xy = np.asarray(path["x_t"], np.float32), np.asarray(path["x0_hat"], np.float32)
    noisy_uris = [image_uri(picture, "jpeg", quality) for picture in noisy]
    guess_uris = [image_uri(picture, "jpeg", quality) for picture in guesses]
    order = np.arange(steps, dtype=np.float32)
    hover = np.array([[n + 1, t] for n, t in enumerate(timesteps)], np.float32)
    at_step = "at step %{customdata[0]:.0f} (t = %{customdata[1]:.0f})<extra></extra>"
    step_marker = dict(color=order, colorscale=TIME_SCALE, cmin=0, cmax=max(1, steps - 1))
    fig = go.Figure()
    fig.add_trace(go.Image(source=noisy_uris[current], xaxis="x", yaxis="y", hoverinfo="skip", name="x_t"))
    fig.add_trace(go.Image(source=guess_uris[current], xaxis="x2", yaxis="y2", hoverinfo="skip", name="x̂0"))
    fig.add_trace(go.Scatter(x=xy[:, 0], y=xy[:, 1], xaxis="x3", yaxis="y3", mode="lines+markers",
                             line=dict(color=rgba(MUTED, 0.6), width=1.2), marker=dict(size=7, **step_marker),
                             customdata=hover, name="x_t",
                             hovertemplate="x_t " + at_step))
    fig.add_trace(go.Scatter(x=guess_xy[:, 0], y=guess_xy[:, 1], xaxis="x3", yaxis="y3", mode="lines+markers",
                             line=dict(color=rgba(MUTED, 0.45), width=1, dash="dot"),
                             marker=dict(size=8, symbol="diamond", line=dict(color=PAPER, width=0.5), **step_marker),
                             customdata=hover, name="x̂0",
                             hovertemplate="x̂0 " + at_step))
    final = np.asarray(path["final"], np.float32)
    fig.add_trace(go.Scatter(x=[final[0]], y=[final[1]], xaxis="x3", yaxis="y3", mode="markers",
                             marker=dict(size=14, color=TIME_SCALE[-1][1], line=dict(color=INK, width=1.5)),
                             name="the finished clip", hovertemplate="the finished clip<extra></extra>"))
    labels = [_map_label(xy[0, 0], xy[0, 1], f"start: {start}", NOISE, 0, -26),
              _map_label(final[0], final[1], "finished", INK, 0, 26)]
    if path.get("clip") is not None:
        clip = np.asarray(path["clip"], np.float32)
        fig.add_trace(go.Scatter(x=[clip[0]], y=[clip[1]], xaxis="x3", yaxis="y3", mode="markers",
                                 marker=dict(size=17, symbol="star", color=INK, line=dict(color=PAPER, width=1)),
                                 name="your clip", hovertemplate="your clip<extra></extra>"))
        labels.append(_map_label(clip[0], clip[1], "your clip", INK, 0, -24))

    def now(n):  # the pink link from x_t to its guess, and the rings around both
        points = dict(x=[xy[n, 0], guess_xy[n, 0]], y=[xy[n, 1], guess_xy[n, 1]])
        return points, points

    link, rings = now(current)
    link_index = len(fig.data)
    fig.add_trace(go.Scatter(**link, xaxis="x3", yaxis="y3", mode="lines", line=dict(color=PATCH, width=2, dash="dash"),
                             hoverinfo="skip", name="this step"))
    fig.add_trace(go.Scatter(**rings, xaxis="x3", yaxis="y3", mode="markers", hoverinfo="skip", name="this step",
                             marker=dict(size=17, symbol="circle-open", color=PATCH, line=dict(width=2.5))))
    names = [str(n) for n in range(steps)]
    frames = []
    for n, name in enumerate(names):
        link, rings = now(n)
        title = _step_title(n, steps, timesteps[n], snr[n], psnr[n] if psnr else None)
        frames.append(go.Frame(name=name, traces=[0, 1, link_index, link_index + 1],
                               data=[go.Image(source=noisy_uris[n]), go.Image(source=guess_uris[n]),
                                     go.Scatter(**link), go.Scatter(**rings)],
                               layout=dict(title=dict(text=title))))
    fig.frames = frames
    explained = path.get("explained", [0, 0])
    map_axis = dict(gridcolor=GRID, zeroline=False, color=MUTED, showticklabels=False)
    first, last = (f"<span style='color:{TIME_SCALE[end][1]}'>{name}</span>"
                   for end, name in ((0, "first"), (-1, "last")))
    key = (f"the map · <span style='color:{TIME_SCALE[0][1]}'>●</span> x_t  "
           f"<span style='color:{TIME_SCALE[0][1]}'>◆</span> x̂0 · step {first} → {last}")
    fig.update_layout(**base_layout(height, _step_title(current, steps, timesteps[current], snr[current],
                                                        psnr[current] if psnr else None),
                                    margin=dict(l=8, r=8, t=56, b=controls_margin(30))),
                      **_image_axes(1, (0.0, 0.3), (0.0, 0.9)), **_image_axes(2, (0.32, 0.62), (0.0, 0.9)),
                      xaxis3=dict(domain=[0.68, 1.0], anchor="y3", **map_axis,
                                  title=dict(text=f"direction 1 ({explained[0]:.0%} of the path's spread)",
                                             font=dict(size=11, color=MUTED), standoff=4)),
                      yaxis3=dict(domain=[0.0, 0.9], anchor="x3", **map_axis,
                                  title=dict(text=f"direction 2 ({explained[1]:.0%})",
                                             font=dict(size=11, color=MUTED), standoff=4)),
                      annotations=[_panel_title(1, "x_t · what the DiT sees"), _panel_title(2, "x̂0 · its guess"),
                                   _panel_title(3, key, INK, 11), *labels],
                      meta=dict(kind="denoising", autoplay=autoplay, steps=steps,
                                timesteps=[int(t) for t in timesteps]))
    fig.update_layout(title=_two_line_title(height))
    fig.update_layout(**play_controls(names, [f"{n + 1} · t {t}" for n, t in enumerate(timesteps)], 180, "step ",
                                      current, below=30))
    phone = 700
    return for_phones(fig, height=phone, **{"xaxis.domain": [0.0, 0.49], "yaxis.domain": [0.75, 0.96],
                                            "xaxis2.domain": [0.51, 1.0], "yaxis2.domain": [0.75, 0.96],
                                            "xaxis3.domain": [0.0, 1.0], "yaxis3.domain": [0.0, 0.64],
                                            "yaxis3.title.text": "direction 2", "annotations.0.text": "x_t · seen",
                                            "annotations.1.text": "x̂0 · guessed", "title.y": 1 - 22 / phone})


def denoising_within_budget(noisy, guesses, timesteps, snr, path, psnr=None, budget: int = MAX_FIGURE_BYTES,
                            **options) -> go.Figure:
    """`denoising` at the best JPEG quality whose JSON fits `budget`; past the lowest quality, every
    other step is dropped (the last step always stays)."""
    keep = np.arange(len(timesteps))
    while True:
        for quality in (80, 65, 50):
            fig = denoising(noisy[keep], guesses[keep], [timesteps[n] for n in keep], [snr[n] for n in keep],
                            {**path, "x_t": np.asarray(path["x_t"])[keep],
                             "x0_hat": np.asarray(path["x0_hat"])[keep]},
                            [psnr[n] for n in keep] if psnr else None, quality=quality, **options)
            if json_bytes(fig) <= budget or len(keep) <= 2:
                return fig
        keep = np.unique(np.append(keep[::2], keep[-1]))


def patch_picker(frame: np.ndarray, patch, cell: tuple[int, int]) -> np.ndarray:
    """One frame enlarged as `amoeba_overlay` enlarges it (so a click maps back to a patch), the tubelet
    grid faintly drawn, and the patch at `cell` (row, column of the grid) outlined in pink."""
    height, width, _ = frame.shape
    _, ph, pw = patch
    scale = overlay_scale(height, width)
    image = enlarge(frame, scale).astype(np.float32)
    _draw_grid(image, ph * scale, pw * scale, hex_rgb(INK), 0.3)
    image = image.astype(np.uint8)
    row, col = cell
    cv2.rectangle(image, (col * pw * scale, row * ph * scale), ((col + 1) * pw * scale - 1, (row + 1) * ph * scale - 1),
                  hex_rgb(PATCH), max(2, scale // 2))
    return image


# a veil over a frame: dark where a patch puts little attention, lifted where it looks
ATTENTION_SCALE = [[0.0, rgba(FILM, 0.82)], [0.5, rgba(FILM, 0.35)], [1.0, rgba(INK, 0.18)]]


def _panel_grid(count: int, columns: int, aspect: float, width_px: float, gap: float = 0.02,
                caption_px: int = 22, row_gap_px: int = 6) -> tuple[list, list, int]:
    """Domains of `count` picture panels (height/width `aspect`) in `columns` columns across a plot area
    `width_px` wide, each with room for a caption above: (x domains, y domains, plot-area height)."""
    rows = math.ceil(count / columns)
    panel_w = (1 - gap * (columns - 1)) / columns
    picture_px = panel_w * width_px * aspect
    row_px = picture_px + caption_px
    area = rows * row_px + (rows - 1) * row_gap_px
    xs, ys = [], []
    for n in range(count):
        row, col = divmod(n, columns)
        left = col * (panel_w + gap)
        top = row * (row_px + row_gap_px) + caption_px
        xs.append([round(left, 4), round(left + panel_w, 4)])
        ys.append([round(1 - (top + picture_px) / area, 4), round(1 - top / area, 4)])
    return xs, ys, int(math.ceil(area))


def attention_panels(frames: np.ndarray, weights: np.ndarray, patch, query: tuple[int, int, int],
                     title: str = "", width_px: int = 880, phone_px: int = 350, phone_title: str | None = None
                     ) -> go.Figure:
    """Where one patch looks: for each time slice of the tubelet grid, a frame of that slice under a dark
    veil that lifts where the query patch puts its attention; the query patch outlined in pink.

    `frames` (gt, H, W, 3) uint8, one frame per time slice; `weights` (gt, gh, gw), the query's attention
    over every spacetime patch (summing to 1); `query` (it, ih, iw) its place in the grid. Each panel's
    caption says the share of the attention that falls on its slice. The veil follows the square root
    of the weight against the largest (so weaker looks still show); hovering gives the weight itself.
    `title` may take two lines; `phone_title` (up to three) replaces it on a phone."""
    weights = np.asarray(weights, np.float32)
    slices, frame_h, frame_w, _ = frames.shape
    pt, ph, pw = patch
    qt, qh, qw = (int(v) for v in query)
    aspect = frame_h / frame_w
    columns = min(slices, 4 if frame_w >= 1.2 * frame_h else 8)
    top_px, phone_top_px, bottom_px = 52, 86, 6  # room for the title; none needed below
    xs, ys, area = _panel_grid(slices, columns, aspect, width_px)
    phone_columns = min(slices, 2 if frame_w >= frame_h else 3)
    phone_xs, phone_ys, phone_area = _panel_grid(slices, phone_columns, aspect, phone_px)
    height, phone_height = area + top_px + bottom_px, phone_area + phone_top_px + bottom_px
    top = float(weights.max()) or 1.0
    lift = np.sqrt(weights / top)  # (gt, gh, gw) in [0, 1]
    shares = weights.reshape(slices, -1).sum(1)
    cells = weights[0].size
    fig = go.Figure()
    layout, captions = {}, []
    phone = {"height": phone_height, "margin.t": phone_top_px, "title.y": 1 - 22 / phone_height,
             "title.text": phone_title or title}
    scale = max(1, round(240 / frame_w))
    for n in range(slices):
        number = n + 1
        fig.add_trace(go.Image(source=image_uri(enlarge(frames[n], scale), "jpeg", 85), x0=0, dx=1 / scale,
                               y0=0, dy=1 / scale, xaxis=_axis_ref(number, "x"), yaxis=_axis_ref(number, "y"),
                               hoverinfo="skip"))
        tokens = np.arange(n * cells, (n + 1) * cells, dtype=np.float32).reshape(weights[n].shape)
        fig.add_trace(go.Heatmap(z=lift[n], x0=(pw - 1) / 2, dx=pw, y0=(ph - 1) / 2, dy=ph, zmin=0, zmax=1,
                                 colorscale=ATTENTION_SCALE, showscale=False, xaxis=_axis_ref(number, "x"),
                                 yaxis=_axis_ref(number, "y"), customdata=np.stack([tokens, weights[n]], -1),
                                 hovertemplate="patch #%{customdata[0]:.0f}: %{customdata[1]:.2%} of the "
                                               "attention<extra></extra>"))
        layout.update(_image_axes(number, xs[n], ys[n]))
        layout[_axis_name(number, "x")]["range"] = [-0.5, frame_w - 0.5]
        layout[_axis_name(number, "y")]["range"] = [frame_h - 0.5, -0.5]
        layout[_axis_name(number, "y")].pop("autorange")
        phone[f"{_axis_name(number, 'x')}.domain"] = phone_xs[n]
        phone[f"{_axis_name(number, 'y')}.domain"] = phone_ys[n]
        frames_of = f"frame {n * pt}" if pt == 1 else f"frames {n * pt}–{n * pt + pt - 1}"
        captions.append(_panel_title(number, f"slice {n} · {frames_of} · {shares[n]:.0%}",
                                     PATCH if n == qt else INK, 11))
        phone[f"annotations.{n}.text"] = f"slice {n} · {shares[n]:.0%}"
    query_axes = qt + 1
    fig.add_shape(type="rect", x0=qw * pw - 0.5, x1=(qw + 1) * pw - 0.5, y0=qh * ph - 0.5, y1=(qh + 1) * ph - 0.5,
                  xref=_axis_ref(query_axes, "x"), yref=_axis_ref(query_axes, "y"), line=dict(color=PATCH, width=2.5))
    fig.update_layout(**base_layout(height, title, margin=dict(l=4, r=4, t=top_px, b=bottom_px)), **layout,
                      annotations=captions,
                      meta=dict(kind="attention", query=[qt, qh, qw], slices=slices, peak=top))
    fig.update_layout(title=_two_line_title(height))
    return for_phones(fig, **phone)


# --- 7. fitting the DiT to your clip -----------------------------------------------------------------

def smooth(values, weight: float = 0.9) -> np.ndarray:
    """Exponential moving average, debiased at the start (as loss curves are usually smoothed)."""
    values = np.asarray(values, np.float64)
    out, average = np.empty_like(values), 0.0
    for n, value in enumerate(values):
        average = weight * average + (1 - weight) * value
        out[n] = average / (1 - weight ** (n + 1))
    return out


def loss_curve(losses, elapsed: float, budget: float, height: int = 340, done: bool = False) -> go.Figure:
    """The fit's loss after each step (faint dots) and its moving average (a line), log scale; the title
    says how far the time budget is spent."""
    losses = np.asarray(losses, np.float32)
    steps = np.arange(1, len(losses) + 1, dtype=np.float32)
    fig = go.Figure()
    if len(losses):
        fig.add_trace(go.Scatter(x=steps, y=losses, mode="markers", marker=dict(size=3, color=rgba(MUTED, 0.55)),
                                 name="each step", hovertemplate="step %{x:.0f}: loss %{y:.4f}<extra></extra>"))
        fig.add_trace(go.Scatter(x=steps, y=smooth(losses).astype(np.float32), mode="lines",
                                 line=dict(color=INK, width=2.5), name="moving average",
                                 hovertemplate="step %{x:.0f}: average %{y:.4f}<extra></extra>"))
    state = "done" if done else "fitting"
    latest = f" · loss {smooth(losses)[-1]:.4f}" if len(losses) else ""
    title = f"{state}: {len(losses)} steps in {elapsed:.0f} s of {budget:.0f} s{latest}"
    fig.update_layout(**base_layout(height, title, margin=dict(l=56, r=12, t=40, b=44)),
                      xaxis=dict(title=dict(text="training step", font=dict(size=11, color=MUTED)), gridcolor=GRID,
                                 color=MUTED, zeroline=False, rangemode="tozero"),
                      yaxis=dict(title=dict(text="loss: error of the guess x̂0 (log)",
                                            font=dict(size=11, color=MUTED)),
                                 type="log", gridcolor=GRID, color=MUTED, zeroline=False),
                      meta=dict(kind="loss", steps=int(len(losses)), done=bool(done)))
    return fig


def regeneration(clip: np.ndarray, prior: np.ndarray, fitted: np.ndarray, prior_psnr: float, fitted_psnr: float,
                 labels: list[str] | None = None, height: int = 400) -> go.Figure:
    """Your clip beside what the prior and the fitted DiT make from the same pure noise, frame by frame
    (Play runs through the clip), each with its PSNR against your clip. Three (T, H, W, 3) uint8 clips."""
    count, frame_h, frame_w, _ = clip.shape
    scale = max(1, round(160 / frame_w))
    clips = [clip, prior, fitted]
    uris = [[image_uri(enlarge(frame, scale), "jpeg", 88) for frame in video] for video in clips]
    captions = [f"your clip ({frame_w} × {frame_h})", f"the prior, from noise · {prior_psnr:.1f} dB",
                f"fitted to your clip, same noise · {fitted_psnr:.1f} dB"]
    fig = go.Figure()
    layout = {}
    for n in range(3):
        fig.add_trace(go.Image(source=uris[n][0], x0=0, dx=1 / scale, y0=0, dy=1 / scale,
                               xaxis=_axis_ref(n + 1, "x"), yaxis=_axis_ref(n + 1, "y"), hoverinfo="skip"))
        layout.update(_image_axes(n + 1, (n * 0.34, n * 0.34 + 0.32), (0.0, 0.9)))
    labels = labels or [str(n) for n in range(count)]
    names = [str(n) for n in range(count)]
    fig.frames = [go.Frame(name=name, traces=[0, 1, 2], data=[go.Image(source=uris[v][k]) for v in range(3)])
                  for k, name in enumerate(names)]
    fig.update_layout(**base_layout(height, margin=dict(l=4, r=4, t=12, b=controls_margin())), **layout,
                      annotations=[_panel_title(n + 1, text, INK) for n, text in enumerate(captions)],
                      meta=dict(kind="regeneration", autoplay=True, prior_psnr_db=round(float(prior_psnr), 2),
                                fitted_psnr_db=round(float(fitted_psnr), 2)))
    fig.update_layout(**play_controls(names, labels, 200, "frame at ", 0))
    if frame_w >= frame_h:  # wide pictures stack on a phone
        return for_phones(fig, height=660, **{"xaxis.domain": [0, 1], "yaxis.domain": [0.7, 0.95],
                                              "xaxis2.domain": [0, 1], "yaxis2.domain": [0.37, 0.62],
                                              "xaxis3.domain": [0, 1], "yaxis3.domain": [0.04, 0.29]})
    return for_phones(fig, height=360)
