"""6. Denoising: the reverse process step by step beside its trajectory map, and where one token looks
(its attention over every time slice), with the picker that chooses the token."""
from __future__ import annotations

import math

import cv2
import numpy as np
import plotly.graph_objects as go

from .common import (
    axis_name,
    axis_ref,
    base_layout,
    controls_margin,
    draw_grid,
    enlarge,
    for_phones,
    image_axes,
    image_uri,
    json_bytes,
    panel_title,
    play_controls,
    two_line_title,
)
from .reel import overlay_scale
from .style import FILM, GRID, INK, MAX_FIGURE_BYTES, MUTED, NOISE, PAPER, PATCH, TIME_SCALE, hex_rgb, rgba


def _step_title(index: int, total: int, t: int, snr: float, psnr: float | None) -> str:
    """The title of one step: which step and t, its SNR and how close its guess is to your clip."""
    guess = "" if psnr is None else f" · x̂0 vs your clip <b>{psnr:.1f} dB</b>"
    return (f"step {index + 1} of {total} · t = {t}<br><span style='font-size:11px;color:{MUTED}'>"
            f"<span style='color:{NOISE}'>SNR {snr:.2g}</span>{guess}</span>")


def _map_label(x: float, y: float, text: str, colour: str, *, ax: int, ay: int) -> dict:
    """A label with a short leader line for a point of the trajectory map (axes x3, y3)."""
    return dict(text=text, x=float(x), y=float(y), xref="x3", yref="y3", showarrow=True, ax=ax, ay=ay,
                arrowhead=0, arrowwidth=1, arrowcolor=MUTED, font=dict(size=11, color=colour),
                bgcolor=rgba(PAPER, 0.7))


def denoising(noisy: np.ndarray, guesses: np.ndarray, timesteps: list[int], snr: list[float],
              path: dict, psnr: list[float] | None = None, *, current: int | None = None, height: int = 470,
              quality: int = 80, autoplay: bool = True, start: str = "pure noise") -> go.Figure:
    """The reverse process, step by step, beside its trajectory map.

    `noisy`, `guesses` (S, H, W, 3) uint8: one clip frame per sampler step, x_t (what the DiT sees) and x̂0 (its
    guess of the clean clip). `path` places every x_t and x̂0, the finished clip and your clip on the run's map
    (explainer.trajectory.PathMap: across, the starting noise; up, your clip). On the map the x_t path is a line of
    dots coloured by step (first -> last as time runs), the x̂0 guesses a dotted series of diamonds, `start` names
    where the path began; the step on show is ringed in pink, with a pink line from x_t to the guess the DiT makes
    from it. Play walks the steps (and starts by itself when `autoplay`). Pictures travel as JPEG of `quality`."""
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
    labels = [_map_label(xy[0, 0], xy[0, 1], f"start: {start}", NOISE, ax=0, ay=-26),
              _map_label(final[0], final[1], "finished", INK, ax=0, ay=26)]
    if path.get("clip") is not None:
        clip = np.asarray(path["clip"], np.float32)
        fig.add_trace(go.Scatter(x=[clip[0]], y=[clip[1]], xaxis="x3", yaxis="y3", mode="markers",
                                 marker=dict(size=17, symbol="star", color=INK, line=dict(color=PAPER, width=1)),
                                 name="your clip", hovertemplate="your clip<extra></extra>"))
        labels.append(_map_label(clip[0], clip[1], "your clip", INK, ax=0, ay=-24))

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
    map_axis = dict(gridcolor=GRID, zeroline=False, color=MUTED, showticklabels=False)
    first, last = (f"<span style='color:{TIME_SCALE[end][1]}'>{name}</span>"
                   for end, name in ((0, "first"), (-1, "last")))
    key = (f"the map · <span style='color:{TIME_SCALE[0][1]}'>●</span> x_t  "
           f"<span style='color:{TIME_SCALE[0][1]}'>◆</span> x̂0 · step {first} → {last}")
    fig.update_layout(**base_layout(height, _step_title(current, steps, timesteps[current], snr[current],
                                                        psnr[current] if psnr else None),
                                    margin=dict(l=8, r=8, t=56, b=controls_margin(30))),
                      **image_axes(1, (0.0, 0.3), (0.0, 0.9)), **image_axes(2, (0.32, 0.62), (0.0, 0.9)),
                      xaxis3=dict(domain=[0.68, 1.0], anchor="y3", **map_axis,
                                  title=dict(text="along the starting noise",
                                             font=dict(size=11, color=MUTED), standoff=4)),
                      yaxis3=dict(domain=[0.0, 0.9], anchor="x3", **map_axis,
                                  title=dict(text="along your clip",
                                             font=dict(size=11, color=MUTED), standoff=4)),
                      annotations=[panel_title(1, "x_t · what the DiT sees"), panel_title(2, "x̂0 · its guess"),
                                   panel_title(3, key, INK, 11), *labels],
                      meta=dict(kind="denoising", autoplay=autoplay, steps=steps,
                                timesteps=[int(t) for t in timesteps]))
    fig.update_layout(title=two_line_title(height))
    fig.update_layout(**play_controls(names, [f"{n + 1} · t {t}" for n, t in enumerate(timesteps)], duration_ms=180,
                                      prefix="step ", active=current, below=30))
    phone = 700
    return for_phones(fig, height=phone, **{"xaxis.domain": [0.0, 0.49], "yaxis.domain": [0.75, 0.96],
                                            "xaxis2.domain": [0.51, 1.0], "yaxis2.domain": [0.75, 0.96],
                                            "xaxis3.domain": [0.0, 1.0], "yaxis3.domain": [0.0, 0.64],
                                            "annotations.0.text": "x_t · seen",
                                            "annotations.1.text": "x̂0 · guessed", "title.y": 1 - 22 / phone})


def denoising_within_budget(noisy, guesses, timesteps, snr, path, psnr=None, *, budget: int = MAX_FIGURE_BYTES,
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


def strip_columns(frames: int, height: int, width: int) -> int:
    """How many frames side by side in a strip of the whole reel: two rows for wide or square frames, one
    row of up to 16 for tall ones."""
    return min(frames, 16) if height > width else max(1, math.ceil(frames / 2))


def reel_strip(frames: np.ndarray, columns: int, gap: int = 2) -> np.ndarray:
    """Every frame of a reel (T, H, W, 3) uint8 in rows of `columns`, in time order, with a `gap` of film
    between them: the picture the denoising player shows for x_t or x̂0 at one step."""
    count, height, width, _ = frames.shape
    rows = math.ceil(count / columns)
    strip = np.empty((rows * (height + gap) - gap, columns * (width + gap) - gap, 3), np.uint8)
    # film colour row by row: broadcasting a 3-vector over the whole strip is ten times slower
    strip.reshape(strip.shape[0], -1)[:] = np.tile(np.asarray(hex_rgb(FILM), np.uint8), strip.shape[1])
    for index, frame in enumerate(frames):
        top, left = (index // columns) * (height + gap), (index % columns) * (width + gap)
        strip[top:top + height, left:left + width] = frame
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
