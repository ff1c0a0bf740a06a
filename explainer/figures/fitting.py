"""7. Fitting the DiT to your clip: the loss as it trains, and the prior and the fitted model regenerating
the clip from the same noise."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from .common import (
    axis_ref,
    base_layout,
    controls_margin,
    enlarge,
    for_phones,
    image_axes,
    image_uri,
    panel_title,
    play_controls,
)
from .style import AMOEBA, GRID, INK, MUTED, rgba


def smooth(values, weight: float = 0.9) -> np.ndarray:
    """Exponential moving average, debiased at the start (as loss curves are usually smoothed)."""
    values = np.asarray(values, np.float64)
    out, average = np.empty_like(values), 0.0
    for n, value in enumerate(values):
        average = weight * average + (1 - weight) * value
        out[n] = average / (1 - weight ** (n + 1))
    return out


def loss_curve(losses, elapsed: float, budget: float, *, height: int = 340, done: bool = False) -> go.Figure:
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
                 labels: list[str] | None = None, *, height: int = 400) -> go.Figure:
    """Your clip beside what the prior and the fitted DiT make from the same pure noise, frame by frame
    (Play runs through the clip), each with its PSNR against your clip. Three (T, H, W, 3) uint8 clips."""
    frame_w, frame_h = clip.shape[2], clip.shape[1]
    captions = [f"your clip ({frame_w} × {frame_h})", f"the prior, from noise · {prior_psnr:.1f} dB",
                f"fitted to your clip, same noise · {fitted_psnr:.1f} dB"]
    return reels_side_by_side([clip, prior, fitted], captions, labels, height=height,
                              meta=dict(kind="regeneration", autoplay=True, prior_psnr_db=round(float(prior_psnr), 2),
                                        fitted_psnr_db=round(float(fitted_psnr), 2)))


def reels_side_by_side(clips: list[np.ndarray], captions: list[str], labels: list[str] | None = None, *,
                       meta: dict, height: int = 400, box: tuple[int, int, int, int] | None = None) -> go.Figure:
    """Three reels (T, H, W, 3) uint8 of one shape side by side, frame by frame (Play runs through them),
    each under its caption; `box` (top, left, height, width) is outlined on each, dashed."""
    count, frame_h, frame_w, _ = clips[0].shape
    scale = max(1, round(160 / frame_w))
    uris = [[image_uri(enlarge(frame, scale), "jpeg", 88) for frame in video] for video in clips]
    fig = go.Figure()
    layout, shapes = {}, []
    for n in range(3):
        fig.add_trace(go.Image(source=uris[n][0], x0=0, dx=1 / scale, y0=0, dy=1 / scale,
                               xaxis=axis_ref(n + 1, "x"), yaxis=axis_ref(n + 1, "y"), hoverinfo="skip"))
        layout.update(image_axes(n + 1, (n * 0.34, n * 0.34 + 0.32), (0.0, 0.9)))
        if box is not None:
            top, left, box_h, box_w = box
            shapes.append(dict(type="rect", xref=axis_ref(n + 1, "x"), yref=axis_ref(n + 1, "y"),
                               x0=left - 0.5, x1=left + box_w - 0.5, y0=top - 0.5, y1=top + box_h - 0.5,
                               line=dict(color=AMOEBA, width=2, dash="dash")))
    labels = labels or [str(n) for n in range(count)]
    names = [str(n) for n in range(count)]
    fig.frames = [go.Frame(name=name, traces=[0, 1, 2], data=[go.Image(source=uris[v][k]) for v in range(3)])
                  for k, name in enumerate(names)]
    fig.update_layout(**base_layout(height, margin=dict(l=4, r=4, t=12, b=controls_margin())), **layout,
                      shapes=shapes, annotations=[panel_title(n + 1, text, INK) for n, text in enumerate(captions)],
                      meta=meta)
    fig.update_layout(**play_controls(names, labels, duration_ms=200, prefix="frame at ", active=0))
    if frame_w >= frame_h:  # wide pictures stack on a phone
        return for_phones(fig, height=660, **{"xaxis.domain": [0, 1], "yaxis.domain": [0.7, 0.95],
                                              "xaxis2.domain": [0, 1], "yaxis2.domain": [0.37, 0.62],
                                              "xaxis3.domain": [0, 1], "yaxis3.domain": [0.04, 0.29]})
    return for_phones(fig, height=360)
