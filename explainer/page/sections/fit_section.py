"""Fit the DiT to your clip: the budget, the live loss curve, the prior and the fitted copy side by side."""
from __future__ import annotations

import contextlib

import gradio as gr

from .. import common, show_fit
from ..adapters import plotly_player, readable_errors, revealer, section, shown
from ..gpu import fit_seconds, on_gpu
from ..pools import FIT_POOL
from ..show_fit import FIT_MAX_SECONDS, FIT_SECONDS, FIT_SIDE
from ..show_run import MODELS
from ..wiring import Page

TITLE = "Fit the DiT to your clip"
EXPORTS = ("loss", "regeneration")  # its figures that leave as files (export.TITLES)
FIT_VIEWS = ("fitted", "loss", "regeneration", "fit_facts", "fit_data", "model_choice")


@on_gpu(fit_seconds)
def fit_to_clip(clip_file=None, seconds=FIT_SECONDS, seed=0, reel_state=None, progress=gr.Progress(), window_start=0):
    """A clip file (an API call) or the clip on show -> a copy of the prior fine-tuned on it for `seconds`,
    then the prior and the fitted copy regenerate the clip from the same pure noise.

    Answers the loss curve about once a second while training; the last answer holds the fitted model
    (session state), the final loss curve, the comparison, its chips and data, and the denoising section's
    model choice (now offering the fitted copy)."""
    live = not clip_file
    with readable_errors():
        path = common.source_path(clip_file, reel_state)
        seconds, seed = show_fit.fit_settings(seconds, seed)
        updates = show_fit.fit_to(path, seconds, seed, report=lambda fraction, text: progress(fraction, desc=text),
                                 window=common.window_of(reel_state, path, window_start))
        with contextlib.closing(updates):  # a visitor who leaves stops the training
            for update in updates:
                if isinstance(update, show_fit.Training):
                    if live:
                        yield {"loss": shown(update.loss)}
                else:
                    done = update
    reveal = revealer(live)
    yield dict(fitted=done.fitted, loss=reveal(done.fitted["loss"]), regeneration=reveal(done.fitted["regeneration"]),
               fit_facts=done.facts, fit_data=done.summary, model_choice=reveal(MODELS[1]))


def build(page: Page, number: int) -> None:
    with section(number, TITLE,
                 "A copy of the DiT trains on your clip alone (drown it in noise at a random step, ask for "
                 "the clean clip back, nudge the weights) again and again while the loss falls; it works "
                 f"on the clip at {FIT_SIDE} px, because a minute on a CPU buys enough steps at {FIT_SIDE} px. "
                 "Then the prior and the fitted copy start from the same pure noise, and the fitted one should "
                 "bring back something closer to your reel."):
        with gr.Row(equal_height=False):
            with gr.Column(scale=1, min_width=250):
                page.add(fit_seconds=gr.Slider(10, FIT_MAX_SECONDS, FIT_SECONDS, step=5, label="seconds of training",
                                               elem_id="fit-seconds"),
                         fit_seed=gr.Number(0, precision=0, minimum=0, maximum=2**32 - 1, elem_id="fit-seed",
                                            label="seed (the training draws and the noise both models start from)"),
                         fit_button=gr.Button("Fit to this clip", variant="primary", elem_id="fit-button"))
            with gr.Column(scale=3, min_width=300):
                page.add(fit_facts=gr.HTML("<div class='fr-empty'>Press Fit: the loss curve draws itself while "
                                           "the DiT trains.</div>", elem_id="fit-facts", label="the fit (chips)"),
                         loss=plotly_player(340, "the loss curve", elem_id="loss-curve", visible=False))
        page.add(regeneration=plotly_player(400, "prior vs fitted", elem_id="regeneration", visible=False))
        with gr.Accordion("The fit, as data", open=False):
            page.add(fit_data=gr.JSON(label="the fit", elem_id="fit-summary"))


def wire(page: Page) -> None:
    """The fit answers into the denoising section too: its model choice offers the fitted copy."""
    page.on(page["fit_button"].click, fit_to_clip,
            inputs=["api_clip", "fit_seconds", "fit_seed", "reel"],
            settings=["window_start"], outputs=FIT_VIEWS, api_name="fit", concurrency_id=FIT_POOL,
            show_progress_on=[page["fit_facts"]])
