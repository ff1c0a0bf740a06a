"""9. Two claims, tested on your clip: what a copy trained on centre squares makes of the sides, and how
much frames denoised apart flicker against frames denoised together."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from .common import base_layout, for_phones
from .fitting import reels_side_by_side
from .style import AMOEBA, GRID, INK, MUTED, PATCH


def _db(value) -> str:
    return "—" if value is None else f"{value:.1f} dB"


def crop_claim(clip: np.ndarray, native: np.ndarray, cropped: np.ndarray, crop: dict,
               labels: list[str] | None = None) -> go.Figure:
    """Your clip beside what the copy fitted on whole frames and the copy fitted on centre squares make from
    the same pure noise, the centre square dashed on each; captions give PSNR in the centre and the sides.
    `crop` is the claims summary's "crop" object."""
    box = crop["box"]
    outline = None if crop.get("note") else (box["top"], box["left"], box["height"], box["width"])
    captions = [f"your clip ({clip.shape[2]} × {clip.shape[1]})",
                f"fitted on whole frames<br>centre {_db(crop['native']['centre_psnr_db'])} · "
                f"sides {_db(crop['native']['sides_psnr_db'])}",
                f"fitted on centre squares<br>centre {_db(crop['cropped']['centre_psnr_db'])} · "
                f"sides {_db(crop['cropped']['sides_psnr_db'])}"]  # two lines: a phone's panel is narrow
    return reels_side_by_side([clip, native, cropped], captions, labels, box=outline,
                              meta=dict(kind="crop_claim", autoplay=False,
                                        native=crop["native"], cropped=crop["cropped"]))


def flicker_claim(clip: np.ndarray, spacetime: np.ndarray, frames_apart: np.ndarray, frames: dict,
                  labels: list[str] | None = None) -> go.Figure:
    """Your clip beside the two copies' runs from it, noised part-way with the same noise: spacetime
    attention and attention kept inside each time slice. `frames` is the claims summary's "frames" object."""
    captions = [f"your clip · changes {frames['clip_change']:.1f} a frame",
                f"spacetime attention · {frames['spacetime_change']:.1f}",
                f"frames apart · {frames['frames_apart_change']:.1f}"]
    return reels_side_by_side([clip, spacetime, frames_apart], captions, labels,
                              meta=dict(kind="flicker_claim", autoplay=False, t=frames["t"]))


def frame_changes(frames: dict, *, height: int = 320) -> go.Figure:
    """The mean absolute change from each frame to the next (pixel levels 0-255) of your clip and of both
    runs; dotted lines mark where one time slice ends and the next begins."""
    per_frame, pt = frames["per_frame"], frames["frames_per_slice"]
    steps = np.arange(1, len(per_frame["clip"]) + 1)
    fig = go.Figure()
    for name, label, colour, dash in (("clip", "your clip", INK, "solid"),
                                      ("spacetime", "spacetime attention", AMOEBA, "solid"),
                                      ("frames_apart", "frames apart", PATCH, "dot")):
        fig.add_trace(go.Scatter(x=steps, y=per_frame[name], mode="lines+markers", name=label,
                                 line=dict(color=colour, width=2, dash=dash), marker=dict(size=5),
                                 hovertemplate=f"{label}: frame %{{x}} to %{{x}}+1, %{{y:.1f}} levels<extra></extra>"))
    boundaries = [step for step in steps if step % pt == 0]
    fig.update_layout(**base_layout(height, "change from one frame to the next", showlegend=True,
                                    margin=dict(l=52, r=12, t=44, b=44)),
                      legend=dict(orientation="h", x=0, y=-0.18, font=dict(color=INK, size=11)),
                      shapes=[dict(type="line", xref="x", yref="paper", x0=step + 0.5, x1=step + 0.5, y0=0, y1=1,
                                   line=dict(color=GRID, width=1, dash="dot")) for step in boundaries],
                      xaxis=dict(title=dict(text="frame k to frame k+1", font=dict(size=11, color=MUTED)),
                                 color=MUTED, gridcolor=GRID, zeroline=False, dtick=1),
                      yaxis=dict(title=dict(text="mean |change|, levels 0-255", font=dict(size=11, color=MUTED)),
                                 color=MUTED, gridcolor=GRID, zeroline=False, rangemode="tozero"),
                      meta=dict(kind="frame_changes"))
    return for_phones(fig, height=300, **{"legend.y": -0.3, "xaxis.dtick": 3})
