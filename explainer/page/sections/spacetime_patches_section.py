"""Spacetime patches: the tubelet size, the tubelets in the clip's volume, their cost, a square crop, and the
clip packed with others (Patch n' Pack). A new tubelet size re-opens the clip (the film reel's events)."""
from __future__ import annotations

import gradio as gr

from ..adapters import plotly_player, section
from ..show_clip import DEFAULTS, TUBELETS
from ..wiring import Page

TITLE = "Spacetime patches"
EXPORTS = ("volume", "crop")  # its figures that leave as files (export.TITLES)
UNITS = {"pt": "frames", "ph": "pixels", "pw": "pixels"}


def build(page: Page, number: int) -> None:
    with section(number, TITLE,
                 "A video model cuts the whole reel the same way, with boxes instead of amoebas: every "
                 "pt frames × ph × pw pixels make one spacetime patch, a tubelet. The amoeba's tubelets "
                 "glow <span class='fr-amber'>amber</span>; the <span class='fr-pink'>pink</span> one "
                 "under its centre is pulled out to show its frames. Smaller tubelets mean more tokens, "
                 "and attention compares every token with every other, so its cost grows with the square."):
        with gr.Row():
            for name, choices in TUBELETS.items():
                page.add(**{name: gr.Radio(choices, value=DEFAULTS[name], label=f"{name} ({UNITS[name]})",
                                           min_width=150)})
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=300):
                page.add(volume=plotly_player(560, "the tubelets in the clip", elem_id="tubelet-volume"))
            with gr.Column(scale=2, min_width=260):
                page.add(patch_stats=gr.HTML(elem_id="patch-stats", label="tokens and the cost of attention (chips)"))
        gr.Markdown("Older U-Net video models wanted square inputs of one size, so a wide or tall clip "
                    "lost its sides to a centre crop. Patches take the frame as it is, at any shape.")
        page.add(crop=plotly_player(360, "square crop vs native", elem_id="crop-vs-native"))
        gr.Markdown("Patches also let clips of every shape train together. NaViT's *Patch n' Pack* puts the "
                    "tokens of several clips, one after another, into one sequence of a fixed length, and "
                    "masks attention so that each clip only sees itself: no clip is cropped, and almost "
                    "no room is wasted on padding. Here your clip is packed beside the three samples and a "
                    "still photo (a one-frame clip).")
        page.add(packing=plotly_player(660, "your clip packed with others (Patch n' Pack)", elem_id="packing"))
