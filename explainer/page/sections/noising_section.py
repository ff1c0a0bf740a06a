"""Noising: the schedule, the timestep, the clip drowning in noise. The schedule here only illustrates
q(x_t | x_0): every schedule is offered, whichever one the model was trained with."""
from __future__ import annotations

import gradio as gr

from ...diffusion import SCHEDULES
from .. import common, show_clip
from ..adapters import plotly_player, readable_errors, section
from ..show_clip import DEFAULTS
from ..wiring import Page

TITLE = "Noising"
EXPORTS = ("noise",)  # its figures that leave as files (export.TITLES)


def noise_clip(reel_state, schedule, t):
    with readable_errors():
        return show_clip.show_noise(common.clip_on_show(reel_state), schedule, t)


def build(page: Page, number: int) -> None:
    with section(number, TITLE,
                 "A diffusion model learns to remove noise, so it trains on clips drowned in it. At step t "
                 "each pixel becomes √ᾱ·clip + √(1−ᾱ)·<span class='fr-grey'>noise</span>: as t grows, "
                 "ᾱ falls and the reel dissolves into grey static. Press Play to sweep t from clean to noise."):
        with gr.Row():
            page.add(schedule=gr.Radio(list(SCHEDULES), value=DEFAULTS["schedule"], label="schedule",
                                       min_width=160, scale=1),
                     t=gr.Slider(0, 999, DEFAULTS["t"], step=1, label="timestep t", min_width=240, scale=3,
                                 elem_id="noising-t"))
        page.add(noise=plotly_player(460, "noising", elem_id="noising"))
    page.on([page["t"].release, page["schedule"].input], noise_clip, inputs=["reel", "schedule", "t"],
            outputs=["noise"], api_name="noise")
