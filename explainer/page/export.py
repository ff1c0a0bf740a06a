"""Section 8, Take it with you: any figure of the page as one self-contained HTML file."""
from __future__ import annotations

import html
import json

import plotly.io

from .. import figures
from ..errors import ExplainerError
from . import common
from .denoising import attention_view, denoising_figure
from .reel import Amoeba, show_crop, show_cut, show_noise, show_tubelet

EXPORTS = {"the amoeba cut (2)": "tube", "the tubelets in the clip (3)": "volume",
           "square crop vs native (3)": "crop", "one tubelet becomes a token (4)": "token",
           "the token sequence (4)": "sequence", "noising (5)": "noise",
           "denoising and its trajectory map (6)": "denoising", "where one token looks (6)": "attention",
           "the loss curve (7)": "loss", "prior vs fitted (7)": "regeneration"}


def figure_json(which: str, *, reel: dict | None, amoeba: Amoeba, schedule: str, t, run: dict | None,
                step, block, head, token, fitted: dict | None) -> str:
    """The figure named `which` as the page shows it now: sections 1-5 drawn again from the clip on show
    (`reel`) and their settings; the later ones from this session's `run` and `fitted` copy."""
    kind = EXPORTS.get(which)
    if kind is None:
        raise ExplainerError(f"Pick a figure: one of {', '.join(EXPORTS)}.")
    if kind in ("loss", "regeneration"):
        if not fitted:
            raise ExplainerError("Fit the DiT to your clip first (section 7).")
        return fitted[kind]
    if kind == "denoising":
        if not run:
            raise ExplainerError("Press Denoise first (section 6).")
        return denoising_figure(run)
    if kind == "attention":
        return attention_view(run, step, block, head, token)[0]
    clip = common.clip_on_show(reel)
    if kind == "tube":
        return show_cut(clip, amoeba)[1]
    if kind == "crop":
        return show_crop(clip)
    if kind == "noise":
        return show_noise(clip, schedule, t)
    volume, _, story, sequence = show_tubelet(clip, amoeba)
    return {"volume": volume, "token": story, "sequence": sequence}[kind]


def standalone_html(figure: str, title: str) -> str:
    """One figure as a self-contained HTML page: plotly.js inlined, so it plays offline."""
    page = plotly.io.to_html(json.loads(figure), include_plotlyjs=True, full_html=True, auto_play=False,
                             validate=False, config={"displaylogo": False, "responsive": True})
    head = (f"<head><title>Film Reel: {html.escape(title)}</title>"
            f"<style>body {{ background: {figures.PAPER}; margin: 0; }}</style>")
    return page.replace("<head>", head, 1)


def figure_file(which: str, **settings) -> str:
    """The figure `which` as a standalone interactive HTML file in this request's own folder; `settings`
    are `figure_json`'s."""
    text = figure_json(which, **settings)
    path = common.request_folder() / f"film-reel-{EXPORTS[which]}.html"
    path.write_text(standalone_html(text, which), encoding="utf-8")
    return str(path)
