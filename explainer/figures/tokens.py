"""4. Tokens: one tubelet becomes one token (pixels -> flattened -> linear layer -> + position), and the
grid of tokens read as the 1D sequence the transformer sees."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..patches import patchify
from ..pixels import to_unit
from .common import base_layout, enlarge, farther, for_phones, image_uri, scene_axis
from .palette import palette_of, palette_scale
from .style import AMOEBA, CHANNEL_SCALES, GRID_EYE, INK, MUTED, PAPER, PATCH, TIME_SCALE, VALUE_SCALE, hex_rgb


def token_colours(frames: np.ndarray, patch) -> np.ndarray:
    """The mean colour of every tubelet, in sequence order: (tokens, 3) uint8."""
    tokens = patchify(np.asarray(frames, np.float32), tuple(patch))  # (N, pt*ph*pw*3)
    return np.round(tokens.reshape(len(tokens), -1, 3).mean(axis=1)).astype(np.uint8)


STORY_HEIGHT = 640  # px: the five rows of a token's story


def _strip_heatmap(values: np.ndarray, scale, zmax: float | None = None, name: str = "") -> go.Heatmap:
    zmax = float(np.abs(values).max() or 1.0) if zmax is None else zmax
    return go.Heatmap(z=np.asarray(values, np.float32)[None], colorscale=scale, zmin=-zmax, zmax=zmax,
                      showscale=False, xgap=0, name=name,
                      hovertemplate="number %{x}: %{z:.3f}<extra>" + name + "</extra>")


def token_story(tubelet: np.ndarray, weight: np.ndarray, bias: np.ndarray, position: np.ndarray,
                axis_widths: tuple[int, int, int], token: int, cell: tuple[int, int, int], *,
                layer: str = "a linear layer") -> go.Figure:
    """One tubelet becomes one token, in five rows: its pixels; flattened into pt*ph*pw*3 numbers (shown
    pixel by pixel, one row per colour channel); a linear layer (weight (D, pt*ph*pw*3), bias (D,)) maps
    them to D numbers; its 3D sin-cos position (D,) is added (time | row | column parts); the sum is the
    token the DiT reads. `layer` names the linear layer (trained or not) in its row's title."""
    pt, ph, pw, _ = tubelet.shape
    vector = to_unit(tubelet).numpy().reshape(-1)  # (pt*ph*pw*3,), the order patchify uses: pixel-major, RGB inner
    embedded = weight @ vector + bias  # (D,)
    token_vector = embedded + position  # (D,)
    width = len(bias)
    frames = f"{pt} frame{'s' if pt > 1 else ''}"
    fig = make_subplots(rows=5, cols=1, vertical_spacing=0.075, row_heights=[0.3, 0.22, 0.16, 0.16, 0.16],
                        subplot_titles=[f"① the tubelet of token #{token}: {frames} of {ph}×{pw} pixels",
                                        f"② flattened: {vector.size} numbers (pixels × RGB)",
                                        f"③ {layer}: {vector.size} → {width} numbers",
                                        "④ + where and when: time | row | column",
                                        "⑤ = the token the DiT reads"])
    gap = max(1, pw // 4)
    cards = np.full((ph, pt * pw + (pt - 1) * gap, 3), hex_rgb(PAPER), np.uint8)
    for n in range(pt):
        cards[:, n * (pw + gap):n * (pw + gap) + pw] = tubelet[n]
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
    fig.update_layout(**base_layout(STORY_HEIGHT, margin=dict(l=24, r=8, t=30, b=8)),
                      meta=dict(kind="token", token=int(token), cell=[int(it), int(ih), int(iw)]))
    return fig


def token_sequence(shape: tuple[int, int, int], colours: np.ndarray, amoeba: np.ndarray, token: int, *,
                   height: int = 660) -> go.Figure:
    """The (gt, gh, gw) grid of tokens and the 1D sequence the transformer reads, time-major: all of
    time slice 0 row by row, then slice 1, ... Above, the grid in 3D with the reading path, coloured by
    time; below, the sequence itself: each token's mean colour, its time slice, and the amoeba's tokens.
    `colours` (N, 3) uint8, each token's mean colour in sequence order; `amoeba` the amoeba's token numbers."""
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
    index, palette = palette_of(colours)
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
    return for_phones(fig, height=600, **{"scene.camera.eye": farther(GRID_EYE, 1.25)})
