"""8. Three claims, tested on your clip: what a copy trained on centre squares makes of the sides, how
much frames denoised apart flicker against frames denoised together, and the clip's later slices made all
at once against one after another (the next patch), with the slice borders marked."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from .common import axis_ref, base_layout, for_phones, image_axes, image_uri, panel_title
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


def change_plot(series: list[tuple[list[float], str, str, str]], pt: int, *, title: str, meta: dict,
                given_pairs: int = 0, height: int = 320, phone_title: str | None = None) -> go.Figure:
    """Lines of the change from each frame to the next, (values, label, colour, dash) each; dotted lines mark
    where one time slice ends and the next begins, and a shaded band the first `given_pairs` pairs, which
    lie inside the given frames."""
    steps = np.arange(1, len(series[0][0]) + 1)
    fig = go.Figure()
    for values, label, colour, dash in series:
        fig.add_trace(go.Scatter(x=steps, y=values, mode="lines+markers", name=label,
                                 line=dict(color=colour, width=2, dash=dash), marker=dict(size=5),
                                 hovertemplate=f"{label}: frame %{{x}} to %{{x}}+1, %{{y:.1f}} levels<extra></extra>"))
    shapes = [dict(type="line", xref="x", yref="paper", x0=step + 0.5, x1=step + 0.5, y0=0, y1=1,
                   line=dict(color=GRID, width=1, dash="dot")) for step in steps if step % pt == 0]
    if given_pairs:
        shapes.append(dict(type="rect", xref="x", yref="paper", x0=0.5, x1=given_pairs + 0.5, y0=0, y1=1,
                           fillcolor=GRID, opacity=0.35, line=dict(width=0), layer="below"))
    fig.update_layout(**base_layout(height, title, showlegend=True, margin=dict(l=52, r=12, t=44, b=44)),
                      legend=dict(orientation="h", x=0, y=-0.18, font=dict(color=INK, size=11)), shapes=shapes,
                      xaxis=dict(title=dict(text="frame k to frame k+1", font=dict(size=11, color=MUTED)),
                                 color=MUTED, gridcolor=GRID, zeroline=False, dtick=1),
                      yaxis=dict(title=dict(text="mean |change|, levels 0-255", font=dict(size=11, color=MUTED)),
                                 color=MUTED, gridcolor=GRID, zeroline=False, rangemode="tozero"),
                      meta=meta)
    return for_phones(fig, height=300, **{"legend.y": -0.3, "xaxis.dtick": 3, "title.text": phone_title or title})


def frame_changes(frames: dict, *, height: int = 320) -> go.Figure:
    """The mean absolute change from each frame to the next (pixel levels 0-255) of your clip and of both
    runs; dotted lines mark where one time slice ends and the next begins."""
    per_frame = frames["per_frame"]
    return change_plot([(per_frame["clip"], "your clip", INK, "solid"),
                        (per_frame["spacetime"], "spacetime attention", AMOEBA, "solid"),
                        (per_frame["frames_apart"], "frames apart", PATCH, "dot")], frames["frames_per_slice"],
                       title="change from one frame to the next", meta=dict(kind="frame_changes"), height=height)


# --- 3. the next patch ----------------------------------------------------------------------------------

WAY_WORDS = {"all_at_once": "all at once", "one_after_another": "one after another"}


def slice_strip(reel: np.ndarray, per_row: int) -> np.ndarray:
    """A reel (T, H, W, 3) laid out as rows of `per_row` frames, left to right (the last row padded dark)."""
    count, height, width, _ = reel.shape
    rows = -(-count // per_row)
    strip = np.full((rows * height, per_row * width, 3), 24, np.uint8)
    for f, frame in enumerate(reel):
        row, col = divmod(f, per_row)
        strip[row * height:(row + 1) * height, col * width:(col + 1) * width] = frame
    return strip


def slice_outlines(number: int, shape, pt: int, per_row: int, given: int) -> list[dict]:
    """A box round each time slice of a strip on axes `number`: the given slices solid and bright, the
    generated ones thin, so every border between two slices shows."""
    count, height, width = shape[:3]
    outlines = []
    for first in range(0, count, pt):
        row, col = divmod(first, per_row)
        span = min(pt, count - first)
        is_given = first // pt < given
        outlines.append(dict(type="rect", xref=axis_ref(number, "x"), yref=axis_ref(number, "y"),
                             x0=col * width - 0.5, x1=(col + span) * width - 0.5,
                             y0=row * height - 0.5, y1=(row + 1) * height - 0.5,
                             line=dict(color=AMOEBA if is_given else INK, width=3 if is_given else 1),
                             opacity=1.0 if is_given else 0.6))
    return outlines


def way_caption(name: str, way: dict) -> str:
    """Two short lines (a phone's panel is narrow): the way and its DiT calls; its seconds and PSNR."""
    slices = way["slices_per_call"]
    seen = f"{slices[0]}" if slices[0] == slices[1] else f"{slices[0]}-{slices[1]}"
    return (f"{WAY_WORDS[name]} · {way['dit_calls']} DiT calls of {seen} slices<br>"
            f"{way['seconds']:.0f} s · PSNR {way['mean_psnr_db']:.1f} dB")


def stacked_domains(height: int, caption_px: int) -> list[tuple[float, float]]:
    """Three panels one above another in a figure `height` px tall, each under `caption_px` of caption."""
    return [(1 - (n + 1) / 3 + 0.01, 1 - n / 3 - caption_px / height) for n in range(3)]


def next_patch_claim(clip: np.ndarray, reels: dict, next_patch: dict) -> go.Figure:
    """Your clip above what the prior made of every slice after the first, all at once and one after another,
    each reel laid out frame by frame with a box round each time slice (the given one bright), so a seam at
    a slice border shows where it falls. `next_patch` is the claims summary's "next_patch" object."""
    pt, given = next_patch["frames_per_slice"], len(next_patch["given_slices"])
    count, frame_h, frame_w, _ = clip.shape
    per_row = min(count, pt * max(1, 8 // pt))
    captions = [f"your clip · the first {pt * given} frames given<br>(the bright box), the rest generated",
                *(way_caption(name, next_patch[name]) for name in ("all_at_once", "one_after_another"))]
    ratio = (-(-count // per_row) * frame_h) / (per_row * frame_w)  # a strip's height over its width
    height, phone_height = round(3 * (min(1100 * ratio, 260) + 40) + 16), round(3 * (min(370 * ratio, 300) + 44) + 16)
    fig, layout, shapes = go.Figure(), {}, []
    for n, (reel, domain) in enumerate(zip((clip, reels["all_at_once"], reels["one_after_another"]),
                                           stacked_domains(height, 34))):
        fig.add_trace(go.Image(source=image_uri(slice_strip(reel, per_row), "jpeg", 88), x0=0, dx=1, y0=0, dy=1,
                               xaxis=axis_ref(n + 1, "x"), yaxis=axis_ref(n + 1, "y"), hoverinfo="skip"))
        layout.update(image_axes(n + 1, (0, 1), domain))
        shapes += slice_outlines(n + 1, clip.shape, pt, per_row, given)
    fig.update_layout(**base_layout(height), **layout, shapes=shapes,
                      annotations=[panel_title(n + 1, text, INK, 11) for n, text in enumerate(captions)],
                      meta=dict(kind="next_patch_claim", frames_per_slice=pt, given_slices=given,
                                same_noise=next_patch["same_noise"]))
    phone = {f"{axis_ref(n + 1, 'yaxis')}.domain": list(domain)
             for n, domain in enumerate(stacked_domains(phone_height, 34))}
    return for_phones(fig, height=phone_height, **phone)


def next_patch_changes(next_patch: dict, *, height: int = 320) -> go.Figure:
    """The change from each frame to the next of your clip and of both ways; dotted lines mark the slice
    borders, and the band the pairs inside the given frames (the clip's own in every line)."""
    series = [(next_patch["clip"]["per_frame_change"], "your clip", INK, "solid"),
              (next_patch["all_at_once"]["per_frame_change"], "all at once", AMOEBA, "solid"),
              (next_patch["one_after_another"]["per_frame_change"], "one after another", PATCH, "dot")]
    return change_plot(series, next_patch["frames_per_slice"],
                       title="change from one frame to the next: all at once vs one after another",
                       meta=dict(kind="next_patch_changes"), given_pairs=next_patch["generated_frames"][0] - 1,
                       height=height, phone_title="change a frame, both ways")
