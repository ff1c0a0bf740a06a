"""Sections 6, 7 and 9 of the page, the model: denoising (streamed step by step, and where one token looks),
fitting the DiT to the clip, and taking the run and the figures away.

Each section is declared, then its events are wired; the adapters above them hand the page's inputs to
the handlers in `denoising`, `fitting` and `export`.
"""
from __future__ import annotations

import contextlib
import json
from pathlib import Path
from types import SimpleNamespace

import gradio as gr

from . import common, denoising, export, fitting
from .adapters import CLIP_TYPES, plotly_player, readable_errors, revealer, section, shown
from .denoising import COMPARE, DENOISE, MAX_STEPS, MODELS, STARTS
from .fitting import FIT_MAX_SECONDS, FIT_SECONDS, FIT_SIDE
from .pools import FIT_POOL, MODEL_POOL
from .reel import Amoeba
from .theme import denoise_player_js

# --- 6. Denoising ------------------------------------------------------------------------------------

def denoise_clip(clip_file, sampler=DENOISE["sampler"], steps=DENOISE["steps"], seed=DENOISE["seed"],
                 start=DENOISE["start"], strength=DENOISE["strength"], eta=DENOISE["eta"], model_choice=MODELS[0],
                 compare=DENOISE["compare"], reel_state=None, fitted=None, ticket=None,
                 request: gr.Request = None):
    """A clip file (an API call) or the clip on show -> the DiT's reverse process on its patches, streamed.

    Outputs: the run (session state), the player's text (one JSON line per step, each step sent as it is
    computed: both strips of the whole reel, the numbers, the map, a sentence; the lines before it are
    kept), the run's chips and data, the attention controls and view, and the run as a browser-playable
    video. `compare` runs a second lane beside it from the same noise ("sampler", "steps" or "model").
    A newer Denoise press of the same session stops this run at its next step."""
    for text, run in denoise_stream(clip_file, sampler, steps, seed, start, strength, eta, model_choice, compare,
                                    reel_state, fitted, ticket, request):
        if run is None:
            yield (gr.skip(), text, *[gr.skip()] * 8)
            continue
        start_at = denoising.run_attention_choices(run)
        yield (run, text, run["facts"], run["summary"], start_at.step, start_at.block, start_at.token,
               *denoising.attention_view(run, start_at.step, start_at.block, "mean", start_at.token), run["video"])


def denoise_on_page(sampler, steps, seed, start, strength, eta, model_choice, compare, reel_state, fitted, ticket,
                    request: gr.Request = None):
    """The page's Denoise: the clip on show, streamed into the player alone (each step's update touches no
    other view), then the run into the session; `run_delivered` fills in the views that follow it."""
    for text, run in denoise_stream(None, sampler, steps, seed, start, strength, eta, model_choice, compare,
                                    reel_state, fitted, ticket, request):
        yield (gr.skip() if run is None else run), text


def denoise_stream(clip_file, sampler, steps, seed, start, strength, eta, model_choice, compare, reel_state, fitted,
                   ticket, request):
    """The run as (the player's text so far, None) at each step, then (the whole text, the kept run with its
    chips, data and video). Nothing more once a newer press of the same session took over."""
    session = getattr(request, "session_hash", None) or ""
    with readable_errors():
        path = common.source_path(clip_file, reel_state)
        settings = denoising.sampler_settings(sampler, steps, seed, start, strength, eta)
        lanes = denoising.lanes_for(path, settings, model_choice, fitted, reel_state, compare)
        text = ""
        for update in denoising.stream_denoising(lanes, Path(path).name, denoising.still_newest(session, ticket)):
            if isinstance(update, denoising.Denoised):
                yield text, {**update.run, "facts": update.facts, "summary": update.summary,
                             "video": denoising.run_video(update)}
                return
            if update.get("kind") == "run":
                update["ticket"] = ticket  # tells the player a new run began, even one with the same settings
            text += json.dumps(update, separators=(",", ":")) + "\n"
            yield text, None


def run_delivered(run):
    """The views that follow a delivered run: its chips and data, the attention controls set to it, and its
    video (nothing when a newer press stopped it first)."""
    if not run:
        return [gr.skip()] * 6
    start_at = denoising.run_attention_choices(run)
    return (run["facts"], run["summary"], gr.update(maximum=start_at.steps, value=start_at.step),
            gr.update(choices=list(range(1, start_at.blocks + 1)), value=start_at.block),
            gr.update(maximum=start_at.tokens - 1, value=start_at.token), shown(run["video"]))


def press_denoise(request: gr.Request):
    """A Denoise press on the page, answered outside the queue: its ticket, which makes the session's older
    run stop at its next step (the new run then waits for the model's slot no longer than that)."""
    return denoising.new_ticket(getattr(request, "session_hash", None) or "")


def attention_after_run(run, step, block, head, token):
    """Where one token looks, for the run just delivered (nothing when a newer press stopped it first)."""
    if not run:
        return gr.skip(), gr.skip()
    view, frame = show_attention(run, step, block, head, token)
    return shown(view), shown(frame)


def show_attention(run, step, block, head, token):
    """The attention view for the page's controls (a bad setting is a message)."""
    with readable_errors():
        return denoising.attention_view(run, step, block, head, token)


def pick_token(run, token, event: gr.SelectData):
    """A click on the frame -> the token under it, in the same time slice."""
    with readable_errors():
        return denoising.token_at(run, token, *event.index)


def where_one_token_looks(run: gr.State) -> SimpleNamespace:
    """6, continued: pick a token (click its patch or slide its number), a step, a block and a head; see
    where that token looks in the run."""
    choices = denoising.first_attention_choices()
    gr.Markdown("### Where one token looks\nIn every block each token asks all the others what they "
                "hold. Pick a <span class='fr-pink'>token</span> (click its patch on the frame or slide its "
                "number): the frames of every time slice light up where it looks, and each caption "
                "gives the share of its attention that lands on that slice.")
    with gr.Row(equal_height=False):
        with gr.Column(scale=1, min_width=260):
            token_frame = gr.Image(label="Click a patch (its time slice of the guess x̂0)",
                                   interactive=False, format="png", elem_classes="fr-cut",
                                   elem_id="token-frame", buttons=["fullscreen"], visible=False)
            token = gr.Slider(0, choices.tokens - 1, choices.token, step=1,
                              label="token (its number in the sequence)", elem_id="token")
            att_step = gr.Slider(1, choices.steps, choices.step, step=1, label="step", elem_id="att-step")
            att_block = gr.Radio(list(range(1, choices.blocks + 1)), value=choices.block, label="block",
                                 elem_id="att-block")
            att_head = gr.Dropdown([("the mean of all heads", "mean")]
                                   + [(f"head {n}", str(n)) for n in range(1, choices.heads + 1)],
                                   value="mean", label="heads", elem_id="att-head")
        with gr.Column(scale=3, min_width=300):
            attention = plotly_player(420, "where one token looks", elem_id="attention", visible=False)
    attention_settings = [run, att_step, att_block, att_head, token]
    gr.on([att_step.release, token.release, att_block.input, att_head.input], show_attention,
          attention_settings, [attention, token_frame], api_name="attention")
    token_frame.select(pick_token, [run, token], token, api_name="pick_patch").then(
        show_attention, attention_settings, [attention, token_frame], api_visibility="private")
    return SimpleNamespace(frame=token_frame, token=token, step=att_step, block=att_block, head=att_head,
                           view=attention, settings=attention_settings)


def denoise_player(label: str, elem_id: str) -> gr.HTML:
    """The live denoising player: its value is the run's text, one JSON line per step, which grows as the
    run streams in (denoise_player.js draws each step as it arrives, then replays and scrubs them)."""
    return gr.HTML(value="", html_template='<div class="fr-denoise"></div>', js_on_load=denoise_player_js(),
                   elem_id=elem_id, label=label, show_label=False)


def denoising_section(reel_state: gr.State, run: gr.State, fitted: gr.State) -> SimpleNamespace:
    """6. Denoising: the sampler's settings, the live run, and where one token looks. The run's video is
    shown in section 9; it is declared here, with the event that makes it."""
    with gr.Column(elem_classes="fr-section"):
        section(6, "Denoising",
                "Now the film runs backwards: the DiT looks at a reel of <span class='fr-grey'>noise</span> "
                "and guesses the clean clip, x̂0, patch by patch (each token paints its patch and a 2-pixel "
                "margin it shares with its neighbours, so no seam is left to one side alone); the sampler "
                "steps a little towards that guess, and the DiT guesses again. You watch every frame of the "
                "reel at every step as it is computed, with the map of its path and a sentence on what "
                "changed. The first run starts from <b>your clip drowned part-way in noise</b>, so it ends "
                "in something you recognise. This small DiT has seen a few minutes of real footage and "
                "photographs beside made-up clips, a sliver of what a real video model learns from: from "
                "pure noise it paints textures with the grain of real footage but nothing you would "
                "recognise.")
        api_clip = gr.File(visible=False, file_types=CLIP_TYPES, type="filepath",
                           label="clip file (API calls only)")
        with gr.Row(equal_height=False):
            with gr.Column(scale=1, min_width=250):
                model_choice = gr.Radio(MODELS, value=MODELS[0], label="model", visible=False,
                                        elem_id="model-choice")
                start = gr.Radio(STARTS, value=DENOISE["start"], label="start from", elem_id="start")
                strength = gr.Slider(0.05, 1.0, DENOISE["strength"], step=0.05,
                                     visible=DENOISE["start"] == "clip",
                                     label="strength: how far into the noise", elem_id="strength")
                sampler = gr.Radio(["ddim", "ddpm"], value=DENOISE["sampler"], label="sampler", elem_id="sampler")
                steps = gr.Slider(2, MAX_STEPS, DENOISE["steps"], step=1, label="steps", elem_id="steps")
                eta = gr.Slider(0, 1, DENOISE["eta"], step=0.05, label="η: fresh noise in each DDIM step",
                                elem_id="eta")
                noise_seed = gr.Number(DENOISE["seed"], precision=0, minimum=0, maximum=2**32 - 1,
                                       label="noise seed", elem_id="noise-seed")
                compare = gr.Dropdown(COMPARE, value=DENOISE["compare"], label="compare, from the same noise, with",
                                      elem_id="compare")
                button = gr.Button("Denoise", variant="primary", elem_id="denoise-button")
            with gr.Column(scale=4, min_width=300):
                facts = gr.HTML("<div class='fr-empty'>Press Denoise: the DiT runs on this clip's "
                                "patches, and each step shows as soon as it is computed.</div>",
                                elem_id="run-facts", label="the run (chips)")
                player = denoise_player("the denoising run, step by step", "denoising")
        sampler.input(lambda name: gr.update(visible=name == "ddim"), sampler, eta, api_visibility="private")
        start.input(lambda where: gr.update(visible=where == "clip"), start, strength, api_visibility="private")

        looks = where_one_token_looks(run)

        with gr.Accordion("The run, as data", open=False):
            data = gr.JSON(label="the denoising run", elem_id="run-summary")
    video = gr.Video(label="the denoising run (.webm)", interactive=False, loop=True, elem_id="trajectory-video",
                     visible=False, render=False)
    ticket = gr.State(None)
    settings = [sampler, steps, noise_seed, start, strength, eta, model_choice, compare, reel_state, fitted, ticket]
    button.click(press_denoise, None, ticket, api_visibility="private", queue=False).then(
        denoise_on_page, settings, [run, player], api_visibility="private", concurrency_id=MODEL_POOL,
        show_progress="hidden", trigger_mode="multiple").then(
        run_delivered, run, [facts, data, looks.step, looks.block, looks.token, video], api_visibility="private").then(
        attention_after_run, looks.settings, [looks.view, looks.frame], api_visibility="private")
    # the same run through the API (a clip file in, every view out), on a trigger the page never shows
    gr.Button(visible=False, elem_id="denoise-api").click(
        denoise_clip, [api_clip, *settings],
        [run, player, facts, data, looks.step, looks.block, looks.token, looks.view, looks.frame, video],
        api_name="denoise", concurrency_id=MODEL_POOL, show_progress="hidden")
    return SimpleNamespace(api_clip=api_clip, model_choice=model_choice, video=video,
                           attention_settings=looks.settings,
                           settings=[start, strength, sampler, steps, eta, noise_seed, compare])


# --- 7. Fit the DiT to your clip ---------------------------------------------------------------------

def fit_to_clip(clip_file, seconds=FIT_SECONDS, seed=0, reel_state=None, progress=gr.Progress()):
    """A clip file (an API call) or the clip on show -> a copy of the prior fine-tuned on it for `seconds`,
    then the prior and the fitted copy regenerate the clip from the same pure noise.

    Yields the loss curve about once a second while training; the last answer holds the fitted model
    (session state), the final loss curve, the comparison, its chips and data, and the model choice of
    section 6 (now offering the fitted copy)."""
    live = not clip_file
    with readable_errors():
        path = common.source_path(clip_file, reel_state)
        seconds, seed = fitting.fit_settings(seconds, seed)
        updates = fitting.fit_to(path, seconds, seed, report=lambda fraction, text: progress(fraction, desc=text))
        with contextlib.closing(updates):  # a visitor who leaves stops the training
            for update in updates:
                if isinstance(update, fitting.Training):
                    if live:
                        yield gr.skip(), shown(update.loss), *(gr.skip(),) * 4
                else:
                    done = update
    reveal = revealer(live)
    yield (done.fitted, reveal(done.fitted["loss"]), reveal(done.fitted["regeneration"]), done.facts, done.summary,
           reveal(MODELS[1]))


def fit_section(reel_state: gr.State, fitted: gr.State, denoising_views) -> None:
    """7. Fit the DiT to your clip: the budget, the live loss curve, the prior and the fitted copy side by side."""
    with gr.Column(elem_classes="fr-section"):
        section(7, "Fit the DiT to your clip",
                "A copy of the DiT trains on your clip alone (drown it in noise at a random step, ask for "
                "the clean clip back, nudge the weights) again and again while the loss falls; it works "
                f"on the clip at {FIT_SIDE} px, because a minute on a CPU buys enough steps at {FIT_SIDE} px. "
                "Then the prior and the fitted copy start from the same pure noise, and the fitted one should "
                "bring back something closer to your reel.")
        with gr.Row(equal_height=False):
            with gr.Column(scale=1, min_width=250):
                seconds = gr.Slider(10, FIT_MAX_SECONDS, FIT_SECONDS, step=5, label="seconds of training",
                                    elem_id="fit-seconds")
                seed = gr.Number(0, precision=0, minimum=0, maximum=2**32 - 1, elem_id="fit-seed",
                                 label="seed (the training draws and the noise both models start from)")
                button = gr.Button("Fit to this clip", variant="primary", elem_id="fit-button")
            with gr.Column(scale=3, min_width=300):
                facts = gr.HTML("<div class='fr-empty'>Press Fit: the loss curve draws itself while "
                                "the DiT trains.</div>", elem_id="fit-facts", label="the fit (chips)")
                loss = plotly_player(340, "the loss curve", elem_id="loss-curve", visible=False)
        regenerated = plotly_player(400, "prior vs fitted", elem_id="regeneration", visible=False)
        with gr.Accordion("The fit, as data", open=False):
            data = gr.JSON(label="the fit", elem_id="fit-summary")
    button.click(fit_to_clip, [denoising_views.api_clip, seconds, seed, reel_state],
                 [fitted, loss, regenerated, facts, data, denoising_views.model_choice], api_name="fit",
                 concurrency_id=FIT_POOL, show_progress_on=[facts])


# --- 9. Take it with you -----------------------------------------------------------------------------

def figure_html(which, reel_state, centre_x, centre_y, size, seed, schedule, t, run, step, block, head, token,
                fitted):
    """The figure `which` as a standalone interactive HTML file (Gradio hands the inputs over in order)."""
    with readable_errors():
        return export.figure_file(which, reel=reel_state, amoeba=Amoeba.of(centre_x, centre_y, size, seed),
                                  schedule=schedule, t=t, run=run, step=step, block=block, head=head, token=token,
                                  fitted=fitted)


def take_it_with_you_section(reel_state: gr.State, cut, noising, denoising_views, fitted: gr.State) -> SimpleNamespace:
    """9. Take it with you: the run's video, any figure as one HTML file, and a link to this view."""
    with gr.Column(elem_classes="fr-section"):
        section(9, "Take it with you",
                "Each denoising run (section 6) becomes a video that plays in any browser: x_t on the "
                "left, the guess x̂0 on the right, one video frame per step, the clip's frames running "
                "along. And any figure of this page leaves as one interactive HTML file that works offline.")
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=300):
                denoising_views.video.render()
            with gr.Column(scale=2, min_width=260):
                which = gr.Dropdown(list(export.EXPORTS), value="denoising and its trajectory map (6)",
                                    label="which figure", elem_id="which-figure")
                button = gr.Button("Make the HTML file", elem_id="export-button")
                exported = gr.File(label="the figure, as one HTML file", interactive=False, height=90,
                                   elem_id="exported", visible=False)  # shown once there is a file
                gr.Markdown("A link to this view reopens the page on the same bundled sample with the same "
                            "settings: patch size, amoeba, noising and denoising. Your own clip is never "
                            "put behind a link: its file stays yours.")
                link_button = gr.Button("Link to this view", elem_id="link-button")
                link_text = gr.Textbox(label="the link (copied when the browser allows)", interactive=False,
                                       elem_id="view-link", buttons=["copy"])
    run, step, block, head, token = denoising_views.attention_settings
    button.click(figure_html, [which, reel_state, *cut.settings, noising.schedule, noising.t, run, step, block, head,
                               token, fitted], exported, api_name="figure_html").success(
        lambda: gr.update(visible=True), None, exported, api_visibility="private")
    return SimpleNamespace(button=link_button, text=link_text)
