"""Tokens: one tubelet becoming a token, and the sequence of all tokens."""
from __future__ import annotations

import gradio as gr

from ..adapters import plotly_player, section
from ..wiring import Page

TITLE = "Tokens"
EXPORTS = ("token", "sequence")  # its figures that leave as files (export.TITLES)


def build(page: Page, number: int) -> None:
    with section(number, TITLE,
                 "The transformer never sees pictures, only lists of numbers. The "
                 "<span class='fr-pink'>pink tubelet</span>'s pixels are flattened into one list, a "
                 "linear layer turns the list into a token, and a fixed position code records where and "
                 "when the tubelet sat in the reel. Then all tokens are read as one sequence: the first "
                 "time slice row by row, then the next."):
        with gr.Row(equal_height=False):
            with gr.Column(min_width=320):
                page.add(token_story=plotly_player(640, "one tubelet becomes a token", elem_id="token-story"))
            with gr.Column(min_width=320):
                page.add(token_sequence=plotly_player(660, "the token sequence", elem_id="token-sequence"))
