"""The Gradio adapters every section of the page shares: errors as messages, views shown once they have a
value, the Plotly player, a section's heading.

Figures travel as Plotly JSON into `plotly_player` components (a gr.HTML drawn with the plotly.js of the
plotly wheel), because gr.Plot drops animation frames.
"""
from __future__ import annotations

import contextlib
import html

import gradio as gr

from ..errors import ExplainerError
from .theme import PLOTLY_JS, player_js

CLIP_TYPES = [".mp4", ".webm", ".mov", ".avi", ".mkv", ".m4v", ".gif", ".png", ".jpg", ".jpeg", ".webp", ".bmp"]


# --- adapters shared by every section ----------------------------------------------------------------

@contextlib.contextmanager
def readable_errors():
    """A problem with the input becomes a message on the page, never a traceback."""
    try:
        yield
    except ExplainerError as error:
        raise gr.Error(str(error), duration=15) from None


def shown(value):
    """A new value for a component that stays hidden until it has one."""
    return gr.update(value=value, visible=True)


def revealer(live: bool):
    """The page shows its hidden views when they get a value; an API call gets the bare values."""
    return shown if live else (lambda value: value)


def plotly_player(height: int, label: str, elem_id: str | None = None, **options) -> gr.HTML:
    """A place for one Plotly figure (its JSON as the value) that plays animation frames in the browser.
    `label` names it in the API docs; the page shows the figure's own title instead."""
    return gr.HTML(value=None, html_template=f'<div class="fr-plot" style="min-height:{int(height)}px"></div>',
                   js_on_load=player_js(), elem_id=elem_id, label=label, show_label=False,
                   head=f'<script src="gradio_api/file={PLOTLY_JS}"></script>', **options)


@contextlib.contextmanager
def section(number: int, title: str, text: str):
    """A section of the page: a column headed by its number, its title and what it shows."""
    with gr.Column(elem_classes="fr-section") as column:
        gr.Markdown(f"<h2><span class='fr-num'>{number}</span>{html.escape(title)}</h2>\n\n{text}")
        yield column
