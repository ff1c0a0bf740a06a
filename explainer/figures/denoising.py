"""6. Denoising: the strips of the whole reel the player shows at each step (page/static/denoise_player.js
draws a run, on the page and in the file the page exports), and where one token looks (its attention
over every time slice), with the picker that chooses the token."""
from __future__ import annotations

import math

import cv2
import numpy as np
import plotly.graph_objects as go

from .common import (
    axis_name,
    axis_ref,
    base_layout,
    draw_grid,
    enlarge,
    for_phones,
    image_axes,
    image_uri,
    panel_title,
    two_line_title,
)
from .reel import overlay_scale
from .style import AMOEBA, FILM, INK, MUTED, ON_AMBER, PATCH, hex_rgb, rgba


def strip_columns(frames: int, height: int, width: int) -> int:
    """How many frames side by side in a strip of the whole reel: two rows for wide or square frames, one
    row of up to 16 for tall ones."""
    return min(frames, 16) if height > width else max(1, math.ceil(frames / 2))


GIVEN_MARK = AMOEBA  # the border and label of a frame given clean (the prompt), in every strip
GIVEN_BORDER = 2     # its width in pixels of the working frame


def mark_given(frame: np.ndarray) -> np.ndarray:
    """A frame (H, W, 3) uint8 marked as given: a border in the mark's colour and the word "given" on a
    label of it in the top-left corner (smaller on small frames)."""
    marked = frame.copy()
    height, width, _ = marked.shape
    colour = hex_rgb(GIVEN_MARK)
    cv2.rectangle(marked, (0, 0), (width - 1, height - 1), colour, GIVEN_BORDER)
    scale = 0.8 if width >= 96 else 0.6
    (text_w, text_h), _ = cv2.getTextSize("given", cv2.FONT_HERSHEY_PLAIN, scale, 1)
    cv2.rectangle(marked, (0, 0), (text_w + 4, text_h + 5), colour, -1)
    cv2.putText(marked, "given", (2, text_h + 2), cv2.FONT_HERSHEY_PLAIN, scale, hex_rgb(ON_AMBER), 1,
                cv2.LINE_AA)
    return marked


def reel_strip(frames: np.ndarray, columns: int, gap: int = 2, marked=()) -> np.ndarray:
    """Every frame of a reel (T, H, W, 3) uint8 in rows of `columns`, in time order, with a `gap` of film
    between them: the picture the denoising player shows for x_t or x̂0 at one step. The frames `marked`
    (given clean, the run's prompt) carry a border and the word "given"."""
    count, height, width, _ = frames.shape
    rows = math.ceil(count / columns)
    strip = np.empty((rows * (height + gap) - gap, columns * (width + gap) - gap, 3), np.uint8)
    # film colour row by row: broadcasting a 3-vector over the whole strip is ten times slower
    strip.reshape(strip.shape[0], -1)[:] = np.tile(np.asarray(hex_rgb(FILM), np.uint8), strip.shape[1])
    for index, frame in enumerate(frames):
        top, left = (index // columns) * (height + gap), (index % columns) * (width + gap)
        strip[top:top + height, left:left + width] = mark_given(frame) if index in marked else frame
    return strip


def patch_picker(frame: np.ndarray, patch, cell: tuple[int, int]) -> np.ndarray:
    """One frame enlarged as `amoeba_overlay` enlarges it (so a click maps back to a token), the tubelet
    grid faintly drawn, and the token at `cell` (row, column of the grid) outlined in pink."""
    height, width, _ = frame.shape
    _, ph, pw = patch
    scale = overlay_scale(height, width)
    image = enlarge(frame, scale).astype(np.float32)
    draw_grid(image, ph * scale, pw * scale, hex_rgb(INK), 0.3)
    image = image.astype(np.uint8)
    row, col = cell
    cv2.rectangle(image, (col * pw * scale, row * ph * scale), ((col + 1) * pw * scale - 1, (row + 1) * ph * scale - 1),
                  hex_rgb(PATCH), max(2, scale // 2))
    return image


# a veil over a frame: dark where a token puts little attention, lifted where it looks
ATTENTION_SCALE = [[0.0, rgba(FILM, 0.82)], [0.5, rgba(FILM, 0.35)], [1.0, rgba(INK, 0.18)]]


def _panel_grid(count: int, columns: int, aspect: float, width_px: float, *, gap: float = 0.02,
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


def attention_titles(*, token: int, step: int, t: int, block: int, heads: str) -> tuple[str, str]:
    """The attention figure's title on a wide screen and on a phone: which token looks, at which step and
    block, over which heads (the token named in the highlight colour)."""
    name = f"<span style='color:{PATCH}'>token #{token}</span>"
    note = f"<span style='font-size:11px;color:{MUTED}'>{heads}, over the guess x̂0 · brighter = more attention</span>"
    wide = f"where {name} looks at step {step} (t = {t}), block {block}<br>{note}"
    phone = f"where {name} looks<br>at step {step} (t = {t}), block {block}<br>{note.replace(' · ', '<br>')}"
    return wide, phone


def attention_panels(frames: np.ndarray, weights: np.ndarray, patch, cell: tuple[int, int, int],
                     title: str = "", *, width_px: int = 880, phone_px: int = 350, phone_title: str | None = None
                     ) -> go.Figure:
    """Where one token looks: for each time slice of the tubelet grid, a frame of that slice under a dark
    veil that lifts where the token puts its attention; the token's own tubelet outlined in pink.

    `frames` (gt, H, W, 3) uint8, one frame per time slice; `weights` (gt, gh, gw), the token's attention
    over every token (summing to 1); `cell` (it, ih, iw) the token's place in the grid. Each panel's
    caption says the share of the attention that falls on its slice. The veil follows the square root
    of the weight against the largest (so weaker looks still show); hovering gives the weight itself.
    `title` may take two lines; `phone_title` (up to three) replaces it on a phone."""
    weights = np.asarray(weights, np.float32)
    slices, frame_h, frame_w, _ = frames.shape
    pt, ph, pw = patch
    it, ih, iw = (int(v) for v in cell)
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
    per_slice = weights[0].size
    fig = go.Figure()
    layout, captions = {}, []
    phone = {"height": phone_height, "margin.t": phone_top_px, "title.y": 1 - 22 / phone_height,
             "title.text": phone_title or title}
    scale = max(1, round(240 / frame_w))
    for n in range(slices):
        number = n + 1
        fig.add_trace(go.Image(source=image_uri(enlarge(frames[n], scale), "jpeg", 85), x0=0, dx=1 / scale,
                               y0=0, dy=1 / scale, xaxis=axis_ref(number, "x"), yaxis=axis_ref(number, "y"),
                               hoverinfo="skip"))
        tokens = np.arange(n * per_slice, (n + 1) * per_slice, dtype=np.float32).reshape(weights[n].shape)
        fig.add_trace(go.Heatmap(z=lift[n], x0=(pw - 1) / 2, dx=pw, y0=(ph - 1) / 2, dy=ph, zmin=0, zmax=1,
                                 colorscale=ATTENTION_SCALE, showscale=False, xaxis=axis_ref(number, "x"),
                                 yaxis=axis_ref(number, "y"), customdata=np.stack([tokens, weights[n]], -1),
                                 hovertemplate="token #%{customdata[0]:.0f}: %{customdata[1]:.2%} of the "
                                               "attention<extra></extra>"))
        layout.update(image_axes(number, xs[n], ys[n]))
        layout[axis_name(number, "x")]["range"] = [-0.5, frame_w - 0.5]
        layout[axis_name(number, "y")]["range"] = [frame_h - 0.5, -0.5]
        layout[axis_name(number, "y")].pop("autorange")
        phone[f"{axis_name(number, 'x')}.domain"] = phone_xs[n]
        phone[f"{axis_name(number, 'y')}.domain"] = phone_ys[n]
        frames_of = f"frame {n * pt}" if pt == 1 else f"frames {n * pt}–{n * pt + pt - 1}"
        captions.append(panel_title(number, f"slice {n} · {frames_of} · {shares[n]:.0%}",
                                    PATCH if n == it else INK, 11))
        phone[f"annotations.{n}.text"] = f"slice {n} · {shares[n]:.0%}"
    own = it + 1  # the axes of the token's own time slice
    fig.add_shape(type="rect", x0=iw * pw - 0.5, x1=(iw + 1) * pw - 0.5, y0=ih * ph - 0.5, y1=(ih + 1) * ph - 0.5,
                  xref=axis_ref(own, "x"), yref=axis_ref(own, "y"), line=dict(color=PATCH, width=2.5))
    fig.update_layout(**base_layout(height, title, margin=dict(l=4, r=4, t=top_px, b=bottom_px)), **layout,
                      annotations=captions,
                      meta=dict(kind="attention", query=[it, ih, iw], slices=slices, peak=top))
    fig.update_layout(title=two_line_title(height))
    return for_phones(fig, **phone)
