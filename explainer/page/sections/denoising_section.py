"""Denoising: the sampler's settings, the live run streamed step by step into the player, and where one
token looks. The run's video is shown by the section that takes things away; it is declared here, with the
event that makes it."""
from __future__ import annotations

import json
from pathlib import Path

import gradio as gr

from ...diffusion import SAMPLERS, sampler_takes
from ...given import is_still
from .. import common, show_run
from ..adapters import CLIP_TYPES, plotly_player, readable_errors, section, shown
from ..gpu import ATTENTION_SECONDS, on_gpu, run_seconds
from ..pools import MODEL_POOL
from ..show_run import COMPARE, DENOISE, MAX_STEPS, MODELS, START_CHOICES, START_LABELS
from ..theme import denoise_player_js
from ..tickets import new_ticket, still_newest
from ..wiring import Page

TITLE = "Denoising"
EXPORTS = ("denoising", "attention")  # its figures that leave as files (export.TITLES)
# the run's settings: the API's parameter -> the component that holds it, in the API's order
RUN_SETTINGS = {"sampler": "sampler", "steps": "steps", "seed": "noise_seed", "start": "start",
                "strength": "strength", "eta": "eta", "model_choice": "model_choice", "compare": "compare",
                "window_start": "window_start"}
SESSION = {"reel_state": "reel", "fitted": "fitted", "ticket": "ticket"}
ATTENTION = ("att_step", "att_block", "att_head", "token")
RUN_VIEWS = ("run_facts", "run_data", "att_step", "att_block", "token", "video")


@on_gpu(run_seconds)
def denoise_clip(clip_file=None, request: gr.Request = None, **settings):
    """A clip file (an API call) or the clip on show -> the DiT's reverse process on its patches, streamed.

    Answers: the run (session state), the player's text (one JSON line per step, each step sent as it is
    computed: both strips of the whole reel, the numbers, the map, a sentence; the lines before it are
    kept), the run's chips and data, the attention controls and view, and the run as a browser-playable
    video. `compare` runs a second lane beside it from the same noise ("sampler", "steps" or "model").
    A newer Denoise press of the same session stops this run at its next step."""
    for text, run in denoise_stream(clip_file, request, **settings):
        if run is None:
            yield {"player": text}
            continue
        start_at = show_run.run_attention_choices(run)
        view, frame = show_run.attention_view(run, start_at.step, start_at.block, "mean", start_at.token)
        yield dict(run=run, player=text, run_facts=run.facts, run_data=run.summary, att_step=start_at.step,
                   att_block=start_at.block, token=start_at.token, attention=view, token_frame=frame,
                   video=run.video)


@on_gpu(run_seconds)
def denoise_on_page(request: gr.Request = None, **settings):
    """The page's Denoise: the clip on show, streamed into the player alone (each step's update touches no
    other view), then the run into the session; `run_delivered` fills in the views that follow it."""
    for text, run in denoise_stream(None, request, **settings):
        yield {"player": text} if run is None else {"run": run, "player": text}


def denoise_stream(clip_file, request, *, reel_state=None, fitted=None, ticket=None, model_choice=MODELS[0],
                   compare=DENOISE["compare"], window_start=0, **sampler):
    """The run as (the player's text so far, None) at each step, then (the whole text, the kept `Run`).
    Nothing more once a newer press of the same session took over."""
    session = getattr(request, "session_hash", None) or ""
    with readable_errors():
        path = common.source_path(clip_file, reel_state)
        settings = show_run.sampler_settings(**sampler)
        lanes = show_run.lanes_for(path, settings, model_choice, fitted, reel_state, compare, window_start)
        text = ""
        for update in show_run.stream_denoising(lanes, Path(path).name, still_newest(session, ticket)):
            if isinstance(update, show_run.Run):
                yield text, update
                return
            if update.get("kind") == "run":
                update["ticket"] = ticket  # tells the player a new run began, even one with the same settings
            text += json.dumps(update, separators=(",", ":")) + "\n"
            yield text, None


def run_delivered(run):
    """The views that follow a delivered run: its chips and data, the attention controls set to it, and its
    video (nothing when a newer press stopped it first)."""
    if not run:
        return {}
    start_at = show_run.run_attention_choices(run)
    return dict(run_facts=run.facts, run_data=run.summary,
                att_step=gr.update(maximum=start_at.steps, value=start_at.step),
                att_block=gr.update(choices=list(range(1, start_at.blocks + 1)), value=start_at.block),
                token=gr.update(maximum=start_at.tokens - 1, value=start_at.token), video=shown(run.video))


def press_denoise(request: gr.Request):
    """A Denoise press on the page, answered outside the queue: its ticket, which makes the session's older
    run stop at its next step (the new run then waits for the model's slot no longer than that)."""
    return new_ticket(getattr(request, "session_hash", None) or "")


@on_gpu(ATTENTION_SECONDS)
def attention_after_run(run, att_step, att_block, att_head, token):
    """Where one token looks, for the run just delivered (nothing when a newer press stopped it first)."""
    if not run:
        return {}
    view, frame = show_attention(run, att_step, att_block, att_head, token)
    return dict(attention=shown(view), token_frame=shown(frame))


def show_attention(run, att_step, att_block, att_head, token):
    """The attention view for the page's controls (a bad setting is a message)."""
    with readable_errors():
        return show_run.attention_view(run, att_step, att_block, att_head, token)


@on_gpu(ATTENTION_SECONDS)
def attention_views(run, att_step, att_block, att_head, token):
    view, frame = show_attention(run, att_step, att_block, att_head, token)
    return dict(attention=view, token_frame=frame)


def pick_token(run, token, event: gr.SelectData):
    """A click on the frame -> the token under it, in the same time slice."""
    with readable_errors():
        return show_run.token_at(run, token, *event.index)


def denoise_player(label: str, elem_id: str) -> gr.HTML:
    """The live denoising player: its value is the run's text, one JSON line per step, which grows as the
    run streams in (denoise_player.js draws each step as it arrives, then replays and scrubs them)."""
    return gr.HTML(value="", html_template='<div class="fr-denoise"></div>', js_on_load=denoise_player_js(),
                   elem_id=elem_id, label=label, show_label=False)


def sampler_controls(page: Page) -> None:
    """The run's settings: the model, where it starts, the sampler, its steps, eta, the noise and a comparison."""
    page.add(model_choice=gr.Radio(MODELS, value=MODELS[0], label="model", visible=False, elem_id="model-choice"),
             start=gr.Radio([(START_LABELS[name], name) for name in START_CHOICES], value=DENOISE["start"],
                            label="start from", elem_id="start"),
             strength=gr.Slider(0.05, 1.0, DENOISE["strength"], step=0.05, visible=DENOISE["start"] == "clip",
                                label="strength: how far into the noise", elem_id="strength"),
             sampler=gr.Radio(list(SAMPLERS), value=DENOISE["sampler"], label="sampler", elem_id="sampler"),
             steps=gr.Slider(2, MAX_STEPS, DENOISE["steps"], step=1, label="steps", elem_id="steps"),
             eta=gr.Slider(0, 1, DENOISE["eta"], step=0.05, label="η: fresh noise in each DDIM step", elem_id="eta"),
             noise_seed=gr.Number(DENOISE["seed"], precision=0, minimum=0, maximum=2**32 - 1,
                                  label="noise seed", elem_id="noise-seed"),
             compare=gr.Dropdown(COMPARE, value=DENOISE["compare"], label="compare, from the same noise, with",
                                 elem_id="compare"),
             denoise_button=gr.Button("Denoise", variant="primary", elem_id="denoise-button"))
    page["sampler"].input(lambda name: gr.update(visible=sampler_takes(name, "eta")), page["sampler"], page["eta"],
                          api_visibility="private")
    page["start"].input(lambda where: gr.update(visible=where == "clip"), page["start"], page["strength"],
                        api_visibility="private")


def start_for_clip(reel):
    """A still photo on show offers *animate* first (it is one time slice: nothing to extend or connect);
    a moving clip keeps the start chosen."""
    clip = (reel or {}).get("clip")
    if clip is None or not is_still(clip.frames, clip.grid.patch[0]):
        return {}
    return dict(start="animate", strength=gr.update(visible=False))


def where_one_token_looks(page: Page) -> None:
    """Pick a token (click its patch or slide its number), a step, a block and a head; see where that token
    looks in the run."""
    choices = show_run.first_attention_choices()
    gr.Markdown("### Where one token looks\nIn every block each token asks all the others what they "
                "hold. Pick a <span class='fr-pink'>token</span> (click its patch on the frame or slide its "
                "number): the frames of every time slice light up where it looks, and each caption "
                "gives the share of its attention that lands on that slice.")
    with gr.Row(equal_height=False):
        with gr.Column(scale=1, min_width=260):
            page.add(token_frame=gr.Image(label="Click a patch (its time slice of the guess x̂0)",
                                          interactive=False, format="png", elem_classes="fr-cut",
                                          elem_id="token-frame", buttons=["fullscreen"], visible=False),
                     token=gr.Slider(0, choices.tokens - 1, choices.token, step=1,
                                     label="token (its number in the sequence)", elem_id="token"),
                     att_step=gr.Slider(1, choices.steps, choices.step, step=1, label="step", elem_id="att-step"),
                     att_block=gr.Radio(list(range(1, choices.blocks + 1)), value=choices.block, label="block",
                                        elem_id="att-block"),
                     att_head=gr.Dropdown([("the mean of all heads", "mean")]
                                          + [(f"head {n}", str(n)) for n in range(1, choices.heads + 1)],
                                          value="mean", label="heads", elem_id="att-head"))
        with gr.Column(scale=3, min_width=300):
            page.add(attention=plotly_player(420, "where one token looks", elem_id="attention", visible=False))
    triggers = [page["att_step"].release, page["token"].release, page["att_block"].input, page["att_head"].input]
    page.on(triggers, attention_views, inputs=["run", *ATTENTION], outputs=["attention", "token_frame"],
            api_name="attention")
    picked = page.on(page["token_frame"].select, pick_token, inputs=["run", "token"], outputs=["token"],
                     api_name="pick_patch")
    page.then(picked, attention_views, inputs=["run", *ATTENTION], outputs=["attention", "token_frame"],
              api_visibility="private")


def build(page: Page, number: int) -> None:
    with section(number, TITLE,
                 "Now the film runs backwards: the DiT looks at a reel of <span class='fr-grey'>noise</span> "
                 "and guesses the clean clip, x̂0, patch by patch (each token paints its patch and a 2-pixel "
                 "margin it shares with its neighbours, so no seam is left to one side alone); the sampler "
                 "steps a little towards that guess, and the DiT guesses again. You watch every frame of the "
                 "reel at every step as it is computed, with the map of its path and a sentence on what "
                 "changed. This small DiT has seen a few minutes of real footage and photographs beside "
                 "made-up clips, a sliver of what a real video model learns from. Give it some of your own "
                 "frames (<i>animate</i>, <i>extend</i>, <i>connect</i>) and the rest of the reel grows from "
                 "pure noise while looking at them, as Sora animates a photo or extends a video; the given "
                 "frames are marked in every strip. Each generated frame starts from the nearest given frame "
                 "(between two, from their crossfade) and the DiT paints only the change, so a scene that "
                 "holds still needs nothing painted; the generated frames share most of their noise, so "
                 "what is painted from it stays alike from frame to frame. " + show_run.first_run_note()):
        page.add(api_clip=gr.File(visible=False, file_types=CLIP_TYPES, type="filepath",
                                  label="clip file (API calls only)"))
        with gr.Row(equal_height=False):
            with gr.Column(scale=1, min_width=250):
                sampler_controls(page)
            with gr.Column(scale=4, min_width=300):
                page.add(run_facts=gr.HTML("<div class='fr-empty'>Press Denoise: the DiT runs on this clip's "
                                           "patches, and each step shows as soon as it is computed.</div>",
                                           elem_id="run-facts", label="the run (chips)"),
                         player=denoise_player("the denoising run, step by step", "denoising"))
        where_one_token_looks(page)
        with gr.Accordion("The run, as data", open=False):
            page.add(run_data=gr.JSON(label="the denoising run", elem_id="run-summary"))
    page.add(video=gr.Video(label="the denoising run (.webm)", interactive=False, loop=True,
                            elem_id="trajectory-video", visible=False, render=False),
             ticket=gr.State(None))
    page.on(page["reel_facts"].change, start_for_clip, inputs=["reel"], outputs=["start", "strength"],
            api_visibility="private", queue=False)
    settings = {**RUN_SETTINGS, **SESSION}
    pressed = page.on(page["denoise_button"].click, press_denoise, outputs=["ticket"], api_visibility="private",
                      queue=False)
    streamed = page.then(pressed, denoise_on_page, settings=settings, outputs=["run", "player"],
                         api_visibility="private", concurrency_id=MODEL_POOL, show_progress="hidden",
                         trigger_mode="multiple")
    delivered = page.then(streamed, run_delivered, inputs=["run"], outputs=RUN_VIEWS, api_visibility="private")
    page.then(delivered, attention_after_run, inputs=["run", *ATTENTION], outputs=["attention", "token_frame"],
              api_visibility="private")
    # the same run through the API (a clip file in, every view out), on a trigger the page never shows
    page.on(gr.Button(visible=False, elem_id="denoise-api").click, denoise_clip, inputs=["api_clip"],
            settings=settings, outputs=["run", "player", *RUN_VIEWS[:2], "att_step", "att_block", "token",
                                        "attention", "token_frame", "video"],
            api_name="denoise", concurrency_id=MODEL_POOL, show_progress="hidden")
