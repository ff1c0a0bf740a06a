"""The amoeba cut: the frame to click, the amoeba's sliders, the tube of its pieces stacked along time.
Moving the amoeba redraws its cut, the tubelet under it and that tubelet's token."""
from __future__ import annotations

import gradio as gr

from .. import common, show_clip
from ..adapters import plotly_player, readable_errors, section
from ..show_clip import DEFAULTS, Amoeba
from ..wiring import Page

TITLE = "The amoeba cut"
EXPORTS = ("tube",)  # its figures that leave as files (export.TITLES)
AMOEBA = ("centre_x", "centre_y", "size", "shape")  # the amoeba's settings, in the order of its sliders
MOVED_VIEWS = ("cut_frame", "tube", "volume", "patch_stats", "token_story", "token_sequence")


def cut_amoeba(reel_state, *, centre_x, centre_y, size, shape):
    """The amoeba moved: first its cut and tube, then the tubelet and token under it."""
    with readable_errors():
        clip, amoeba = common.clip_on_show(reel_state), Amoeba.of(centre_x, centre_y, size, shape)
        cut_frame, tube = show_clip.show_cut(clip, amoeba)
        yield dict(cut_frame=cut_frame, tube=tube)
        volume, stats, story, sequence = show_clip.show_tubelet(clip, amoeba)
        yield dict(cut_frame=cut_frame, tube=tube, volume=volume, patch_stats=stats, token_story=story,
                   token_sequence=sequence)


def place_amoeba(reel_state, event: gr.SelectData):
    """A click on the frame -> the amoeba's centre, as fractions of the frame."""
    with readable_errors():
        centre_x, centre_y = show_clip.amoeba_centre_at(common.clip_on_show(reel_state), *event.index)
        return dict(centre_x=centre_x, centre_y=centre_y)


def build(page: Page, number: int) -> None:
    with section(number, TITLE,
                 "Cut the same <span class='fr-amber'>amoeba-shaped piece</span> out of every frame and "
                 "stack the pieces in time order: you get a tube of colour that changes along time, a "
                 "piece of spacetime. Move the amoeba with the sliders or click on the frame; press Play "
                 "to stack the pieces again."):
        with gr.Row(equal_height=False):
            with gr.Column(scale=2, min_width=280):
                page.add(cut_frame=gr.Image(label="Click to place the amoeba (middle frame)", interactive=False,
                                            format="png", elem_classes="fr-cut", elem_id="cut-frame",
                                            buttons=["fullscreen"]))
                page.add(centre_x=gr.Slider(0, 1, DEFAULTS["centre_x"], step=0.01, label="centre x",
                                            elem_id="centre-x"),
                         centre_y=gr.Slider(0, 1, DEFAULTS["centre_y"], step=0.01, label="centre y",
                                            elem_id="centre-y"),
                         size=gr.Slider(0.05, 0.6, DEFAULTS["size"], step=0.01, label="size"),
                         shape=gr.Slider(0, 99, DEFAULTS["shape"], step=1, label="shape"))
            with gr.Column(scale=3, min_width=300):
                page.add(tube=plotly_player(540, "the amoeba cut, stacked along time", elem_id="amoeba-tube"))


def wire(page: Page) -> None:
    """Moving the amoeba (sliders or a click) redraws its cut, the tubelet under it and its token."""
    page.on([page[name].release for name in AMOEBA], cut_amoeba, inputs=["reel"], settings=AMOEBA,
            outputs=MOVED_VIEWS, api_name="amoeba")
    placed = page.on(page["cut_frame"].select, place_amoeba, inputs=["reel"], outputs=["centre_x", "centre_y"],
                     api_name="place")
    page.then(placed, cut_amoeba, inputs=["reel"], settings=AMOEBA, outputs=MOVED_VIEWS,
              api_visibility="private")
