"""Take it with you: any figure of the page as one self-contained HTML file.

A figure leaves as a Plotly page with plotly.js inlined. The denoising view leaves as the player itself:
the script the page runs (denoise_player.js), the run's own text (every line the player received) and
plotly.js in one page, so the file shows exactly what the player shows, offline.
"""
from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass, field
from functools import cache

import plotly.io

from ..errors import ExplainerError
from ..figures import style
from . import common
from .show_clip import Amoeba, show_crop, show_cut, show_noise, show_tubelet
from .show_compress import compression_model, show_compressed
from .show_run import attention_view
from .theme import PLOTLY_JS, denoise_player_js, page_css

# every figure that leaves as a file: its short name -> its title on the page (each section says which of
# these it shows, and the menu names each with its section's number)
TITLES = {"tube": "the amoeba cut", "latent": "the latent clip", "decoded": "decoded vs your clip",
          "volume": "the tubelets in the clip", "crop": "square crop vs native",
          "token": "one tubelet becomes a token", "sequence": "the token sequence", "noise": "noising",
          "denoising": "denoising and its trajectory map", "attention": "where one token looks",
          "loss": "the loss curve", "regeneration": "prior vs fitted"}


@dataclass(frozen=True)
class OnShow:
    """What the page shows now, which an export draws again: the clip on show (`reel`), the amoeba and the
    noising settings; this session's denoising `run` and the attention view's step, block, head and token;
    this session's `fitted` copy."""

    reel: dict | None = None
    amoeba: Amoeba = field(default_factory=Amoeba)
    schedule: str | None = None
    t: int | float | None = None
    run: object | None = None  # a denoising.Run
    step: int | None = None
    block: int | None = None
    head: str | None = None
    token: int | None = None
    fitted: dict | None = None


def kind_of(which: str) -> str:
    """The short name of the figure `which`: a short name itself, or its title in the menu (with or without
    its section's number)."""
    title = re.sub(r"\s*\(\d+\)$", "", str(which or "").strip())
    for kind, known in TITLES.items():
        if title in (kind, known):
            return kind
    raise ExplainerError(f"Pick a figure: one of {', '.join(TITLES)}.")


def figure_json(kind: str, shown: OnShow) -> str:
    """The Plotly figure of `kind` as the page shows it now: the clip's figures drawn again from the clip on
    show and their settings; the later ones from this session's run and fitted copy."""
    if kind in ("loss", "regeneration"):
        if not shown.fitted:
            raise ExplainerError("Fit the DiT to your clip first (in Fit the DiT to your clip).")
        return shown.fitted[kind]
    if kind == "attention":
        return attention_view(shown.run, shown.step, shown.block, shown.head, shown.token)[0]
    clip = common.clip_on_show(shown.reel)
    if kind == "tube":
        return show_cut(clip, shown.amoeba)[1]
    if kind == "crop":
        return show_crop(clip)
    if kind == "noise":
        return show_noise(clip, shown.schedule, shown.t)
    if kind in ("latent", "decoded"):
        compression_model()  # weights that cannot be read are a message
        return show_compressed(clip)["compress_latent" if kind == "latent" else "compress_reels"]
    volume, _, story, sequence = show_tubelet(clip, shown.amoeba)
    return {"volume": volume, "token": story, "sequence": sequence}[kind]


def standalone_html(figure: str, title: str) -> str:
    """One figure as a self-contained HTML page: plotly.js inlined, so it plays offline."""
    page = plotly.io.to_html(json.loads(figure), include_plotlyjs=True, full_html=True, auto_play=False,
                             validate=False, config={"displaylogo": False, "responsive": True})
    head = (f"<head><title>Film Reel: {html.escape(title)}</title>"
            f"<style>body {{ background: {style.PAPER}; margin: 0; }}</style>")
    return page.replace("<head>", head, 1)


@cache
def _plotly_js() -> str:
    return PLOTLY_JS.read_text(encoding="utf-8")


def script_data(text: str) -> str:
    """`text` as a JSON string that is safe inside <script>: every "<" escaped, so no "</script>" or
    "<!--" in the text can end or bend the script early (JSON.parse turns them back)."""
    return json.dumps(text).replace("<", "\\u003c")


def player_html(text: str, title: str) -> str:
    """The denoising player as a page of its own: the page's colour variables and CSS, plotly.js, the
    run's text as JSON, and the player's script run by a bootstrap that hands it what Gradio hands it
    on the page (`element`, `props`, `watch`; a file's text never changes, so `watch` has nothing to do)."""
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Film Reel: {html.escape(title)}</title>
<style>
{page_css()}
</style>
<script>{_plotly_js()}</script>
</head>
<body class="fr-export">
<h1>Film Reel: {html.escape(title)}</h1>
<div id="denoising"><div class="fr-denoise"></div></div>
<script type="application/json" id="fr-run">{script_data(text)}</script>
<script>
(function (element, props, watch) {{
{denoise_player_js()}
}})(document.getElementById('denoising'),
    {{value: JSON.parse(document.getElementById('fr-run').textContent)}}, () => {{}});
</script>
</body>
</html>
"""


def player_text(run: dict | None) -> str:
    """The text the player received for this session's run: its lines, from the run's head to its end."""
    if not run:
        raise ExplainerError("Press Denoise first (in Denoising).")
    return run.player


def export_html(which: str, shown: OnShow) -> str:
    """The figure `which` as one self-contained HTML page."""
    kind = kind_of(which)
    if kind == "denoising":
        return player_html(player_text(shown.run), TITLES[kind])
    return standalone_html(figure_json(kind, shown), TITLES[kind])


def figure_file(which: str, **on_show) -> str:
    """The figure `which` as a standalone interactive HTML file in this request's own folder; `on_show`
    are the fields of `OnShow`."""
    page = export_html(which, OnShow(**on_show))
    path = common.request_folder() / f"film-reel-{kind_of(which)}.html"
    path.write_text(page, encoding="utf-8")
    return str(path)
