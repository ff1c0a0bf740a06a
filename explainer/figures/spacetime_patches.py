"""3. Spacetime patches: the clip's volume cut into tubelets, one pulled out; and what a square crop loses
against native-aspect patches."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..patches import PatchGrid, amoeba_tokens, square_crop_vs_native
from .common import (
    base_layout,
    draw_grid,
    enlarge,
    farther,
    for_phones,
    image_uri,
    pixel_squares,
    scene_axis,
    stride_for,
)
from .palette import palette_axis, palette_of
from .style import AMOEBA, FLAT_LIGHT, INK, MUTED, PAPER, PATCH, VOLUME_EYE, hex_rgb, rgba


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


def tubelet_volume(frames: np.ndarray, patch, mask: np.ndarray, token: int, *, budget: int = 6000,
                   height: int = 560) -> go.Figure:
    """The clip as a volume (x, time, y) cut into the tubelet grid. The amoeba's tubelets glow amber, the
    tubelet of token number `token` is pink, and a copy of it is pulled out above the volume: its pt frames
    of ph x pw real pixels, spread apart. The last frame closes the back of the volume."""
    count, frame_h, frame_w, _ = frames.shape
    grid = PatchGrid(count, frame_h, frame_w, tuple(patch))
    pt, ph, pw = grid.patch
    _, gh, gw = grid.shape
    it, ih, iw = grid.index(token)
    fig = go.Figure()
    # the back wall: the last frame, thinned to stay light
    stride = stride_for(frame_h * frame_w, 1, budget)
    back = frames[-1, stride // 2::stride, stride // 2::stride]
    tubelet = frames[grid.pixels(token)]  # (pt, ph, pw, 3)
    index, palette = palette_of(np.concatenate([back.reshape(-1, 3), tubelet.reshape(-1, 3)]))
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
                            hovertemplate=f"token #{token}<extra></extra>", name="highlighted tubelet"))
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
                                hovertemplate=f"token #{token}, frame {it * pt + layer}<extra></extra>",
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
    return for_phones(fig, height=460, **{"scene.camera.eye": farther(VOLUME_EYE, 1.4)})


def crop_vs_native(frame: np.ndarray, frames: int, patch, *, height: int = 360) -> go.Figure:
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
    draw_grid(cropped, ph, pw, hex_rgb(INK), 0.35, box=(top, left, crop_h, crop_w))
    native = frame.astype(np.float32)
    draw_grid(native, ph, pw, hex_rgb(INK), 0.35)
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
