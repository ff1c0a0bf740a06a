"""5. Noising: the forward process q(x_t | x_0) on the clip, played from clean to pure noise beside the
schedule that sets it."""
from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .common import base_layout, controls_margin, enlarge, for_phones, image_uri, play_controls
from .style import GRID, INK, MUTED, NOISE, PAPER, PATCH, hex_rgb


def frames_grid(frames: np.ndarray, *, columns: int | None = None, gap: int = 3, scale: int = 1) -> np.ndarray:
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
    """A picture's subplot: no axes, square pixels."""
    fig.update_xaxes(visible=False, row=row, col=col)
    fig.update_yaxes(visible=False, scaleanchor="x", constrain="domain", row=row, col=col)


def noising(pictures: list[np.ndarray], timesteps: list[int], alpha_bar: np.ndarray, current: int,
            schedule: str = "linear", *, height: int = 460) -> go.Figure:
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
    fig.update_layout(**play_controls(names, [str(t) for t in timesteps], duration_ms=220, prefix="t = ",
                                      active=current, below=40))
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
