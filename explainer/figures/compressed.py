"""Compressed: the clip's latent (the smaller clip the compression network makes) in false colour, and the
decoded clip beside the clip with the error between them."""
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
from .style import ERROR_SCALE, MUTED, VALUE_SCALE, hex_rgb

ERROR_LEVELS = 48          # an error this many levels (of 255) or more is drawn at the pale end of the scale
RANGE_PERCENTILE = 99.5    # a channel's colour range reaches this percentile of its |values|
CAPTION_PX = 26            # room for a panel's caption, above it
REEL_QUALITY = 80         # JPEG quality of the reels' pictures
LATENT_SCALE = 1           # picture pixels per latent position (plotly.js draws a source picture unsmoothed)


# --- colours -------------------------------------------------------------------------------------------

def scale_colours(values, scale) -> np.ndarray:
    """Values in [0, 1] (any shape; outside is clipped) -> their colours along a colour scale
    [[stop, '#rrggbb'], ...], as (..., 3) uint8."""
    stops = np.array([stop for stop, _ in scale], np.float32)
    colours = np.array([hex_rgb(colour) for _, colour in scale], np.float32)  # (k, 3)
    values = np.clip(np.asarray(values, np.float32), 0.0, 1.0)
    picture = np.stack([np.interp(values, stops, colours[:, channel]) for channel in range(3)], -1)
    return picture.round().astype(np.uint8)


def error_map(clip: np.ndarray, decoded: np.ndarray, levels: int = ERROR_LEVELS) -> np.ndarray:
    """|decoded - clip| at each pixel (the mean over its colours) as a heat picture (T, H, W, 3) uint8: dark
    where the two agree, pale where they are `levels` or more apart."""
    gap = np.abs(decoded.astype(np.int16) - clip.astype(np.int16)).mean(axis=-1)  # (T, H, W)
    return scale_colours(gap / levels, ERROR_SCALE)


def channel_ranges(latent: np.ndarray) -> np.ndarray:
    """Each latent channel's colour range ±r, the same for all its frames: r (C,) reaches RANGE_PERCENTILE
    of the channel's |values| (never 0)."""
    magnitudes = np.abs(latent.reshape(-1, latent.shape[-1]))  # (T'*H'*W', C)
    return np.maximum(np.percentile(magnitudes, RANGE_PERCENTILE, axis=0), 1e-6)


# --- the latent's channels ----------------------------------------------------------------------------

def channel_pictures(latent_frame: np.ndarray, limits: np.ndarray, scale: int = LATENT_SCALE) -> list[str]:
    """One latent frame (H', W', C) as a picture per channel, in false colour on ±limit around 0 (blue below,
    light above), each latent position a square of `scale` pixels: PNG data URIs."""
    shades = (latent_frame / limits + 1) / 2  # 0 -> the middle of the scale
    return [image_uri(enlarge(scale_colours(shades[..., c], VALUE_SCALE), scale)) for c in range(len(limits))]


def _phone_grid(rows: int, columns: int, channels: int) -> tuple[dict, int]:
    """The channels two by two on a phone's narrow screen: (their axes' domains, the figure's height)."""
    panel_h = 170 * rows / columns  # a panel about 170 px wide
    plot_h = 2 * (panel_h + CAPTION_PX) + 8
    bottom, top = [0, panel_h / plot_h], [(panel_h + CAPTION_PX + 8) / plot_h, (2 * panel_h + CAPTION_PX + 8) / plot_h]
    domains = {}
    for n in range(channels):
        domains[f"xaxis{'' if n == 0 else n + 1}.domain"] = [0, 0.48] if n % 2 == 0 else [0.52, 1]
        domains[f"yaxis{'' if n == 0 else n + 1}.domain"] = top if n < 2 else bottom
    return domains, int(plot_h + 44 + controls_margin())


def latent_channels(latent: np.ndarray, labels: list[str], *, panel_width: int = 165) -> go.Figure:
    """The latent (T', H', W', C) as C pictures side by side, one per channel, in false colour on a scale
    centred on 0 (each channel's range the same for all its frames); Play runs through the latent frames,
    `labels[k]` naming what latent frame k stands for. Two by two on a phone."""
    count, rows, columns, channels = latent.shape
    limits = channel_ranges(latent)
    pictures = [channel_pictures(frame, limits) for frame in latent]  # [latent frame][channel]
    fig = go.Figure([go.Image(source=pictures[0][c], x0=0, dx=1 / LATENT_SCALE, y0=0, dy=1 / LATENT_SCALE,
                              xaxis=axis_ref(c + 1, "x"), yaxis=axis_ref(c + 1, "y"), hoverinfo="skip")
                     for c in range(channels)])
    layout, captions = {}, []
    for c in range(channels):
        left = c / channels
        layout.update(image_axes(c + 1, (left + 0.006, left + 1 / channels - 0.006), (0.0, 0.86)))
        captions.append(panel_title(c + 1, f"channel {c + 1} · ±{limits[c]:.2g}", MUTED, 11))
    names = [str(k) for k in range(count)]
    fig.frames = [go.Frame(name=name, traces=list(range(channels)),
                           data=[go.Image(source=pictures[k][c]) for c in range(channels)])
                  for k, name in enumerate(names)]
    animated = count > 1
    bottom = controls_margin() if animated else 12
    height = int(min(520, max(200, panel_width * rows / columns / 0.86 + 44 + bottom)))
    title = f"the latent clip: {channels} channels of {columns} × {rows}, {count} latent frame{'s' * animated}"
    fig.update_layout(**base_layout(height, title, margin=dict(l=4, r=4, t=44, b=bottom)), **layout,
                      annotations=captions, meta=dict(kind="latent", frames=count, channels=channels,
                                                      ranges=[round(float(limit), 4) for limit in limits]))
    if animated:
        fig.update_layout(**play_controls(names, labels, duration_ms=300, prefix="stands for ", active=0))
    domains, phone_height = _phone_grid(rows, columns, channels)
    return for_phones(fig, height=phone_height if animated else phone_height - controls_margin() + 12,
                      **{"title.text": f"latent: {channels} channels of {columns} × {rows}"}, **domains)


# --- the decoded clip ---------------------------------------------------------------------------------

def _stacked_on_phones(fig: go.Figure, wide: bool, bottom: int) -> go.Figure:
    """Wide reels one above the other on a phone; tall ones stay side by side."""
    if not wide:
        return for_phones(fig, height=260 + bottom)
    stacked = {"xaxis.domain": [0, 1], "yaxis.domain": [0.7, 0.95], "xaxis2.domain": [0, 1],
               "yaxis2.domain": [0.37, 0.62], "xaxis3.domain": [0, 1], "yaxis3.domain": [0.04, 0.29]}
    return for_phones(fig, height=560 + bottom, **stacked)


def decoded_reels(clip: np.ndarray, decoded: np.ndarray, scores: dict, labels: list[str], *,
                  panel_width: int = 380) -> go.Figure:
    """The clip (T, H, W, 3) uint8, the decoded clip (with its PSNR and SSIM) and the error map between them,
    side by side, frame by frame (Play runs through them). Pictures travel at their own size: the page
    draws them unsmoothed."""
    count, frame_h, frame_w, _ = clip.shape
    reels = [clip, decoded, error_map(clip, decoded)]
    uris = [[image_uri(frame, "jpeg", REEL_QUALITY) for frame in reel] for reel in reels]
    fig = go.Figure([go.Image(source=uris[n][0], xaxis=axis_ref(n + 1, "x"), yaxis=axis_ref(n + 1, "y"),
                              hoverinfo="skip") for n in range(3)])
    layout = {}
    for n in range(3):
        layout.update(image_axes(n + 1, (n * 0.34, n * 0.34 + 0.32), (0.0, 0.9)))
    names = [str(k) for k in range(count)]
    fig.frames = [go.Frame(name=name, traces=[0, 1, 2], data=[go.Image(source=uris[n][k]) for n in range(3)])
                  for k, name in enumerate(names)]
    captions = [f"your clip ({frame_w} × {frame_h})",
                f"decoded · {scores['psnr_db']:.1f} dB · SSIM {scores['ssim']:.3f}",
                f"error |decoded − clip| · pale: {ERROR_LEVELS}+ levels"]
    bottom = controls_margin() if count > 1 else 12
    height = int(min(540, max(160 + bottom, panel_width * frame_h / frame_w / 0.9 + 12 + bottom)))
    fig.update_layout(**base_layout(height, margin=dict(l=4, r=4, t=12, b=bottom)), **layout,
                      annotations=[panel_title(n + 1, text) for n, text in enumerate(captions)],
                      meta=dict(kind="decoded", psnr_db=scores["psnr_db"], ssim=scores["ssim"],
                                baseline_psnr_db=scores["baseline_psnr_db"], baseline_ssim=scores["baseline_ssim"]))
    if count > 1:
        fig.update_layout(**play_controls(names, labels, duration_ms=200, prefix="frame at ", active=0))
    return _stacked_on_phones(fig, frame_w >= frame_h, bottom)
