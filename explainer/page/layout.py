"""The web page: a clip in, the film-reel story of how a Sora-style video model sees it, out.

`build_demo()` declares the page top to bottom in the order a person meets it, one numbered section after
another; each section's events are wired right after the components they touch. The Gradio adapters
above each section only hand the page's inputs to the handlers (reel, denoising, fitting, export), yield
partial updates, report progress, and turn an ExplainerError into a message on the page.

Figures travel as Plotly JSON into `plotly_player` components (a gr.HTML drawn with the plotly.js of the
plotly wheel), because gr.Plot drops animation frames.
"""
from __future__ import annotations

import contextlib
import functools
import hashlib
import html
import json
import threading
from pathlib import Path
from types import SimpleNamespace

import gradio as gr
import numpy as np
from PIL import Image

from .. import files
from ..assets import SAMPLES, sample_file
from ..errors import ExplainerError
from . import common, denoising, export, fitting, reel, views
from .denoising import COMPARE, DENOISE, MAX_STEPS, MODELS, STARTS
from .fitting import FIT_MAX_SECONDS, FIT_SECONDS, FIT_SIDE
from .pools import FIT_POOL, MODEL_POOL, PAGE_POOL
from .reel import DEFAULTS, Amoeba
from .theme import PLOTLY_JS, denoise_player_js, player_js

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


def section(number: int, title: str, text: str) -> gr.Markdown:
    return gr.Markdown(f"<h2><span class='fr-num'>{number}</span>{html.escape(title)}</h2>\n\n{text}")


# --- sections 1-5: one clip ---------------------------------------------------------------------------

def dissect(clip_file, pt=DEFAULTS["pt"], ph=DEFAULTS["ph"], pw=DEFAULTS["pw"],
            centre_x=DEFAULTS["centre_x"], centre_y=DEFAULTS["centre_y"], size=DEFAULTS["size"],
            seed=DEFAULTS["seed"], schedule=DEFAULTS["schedule"], t=DEFAULTS["t"], progress=gr.Progress()):
    """A clip file -> every section's pictures: the reel, the amoeba cut, the patches, the tokens, the noise.

    Yields twice: first the reel and the amoeba cut (so the page shows them at once; the later sections
    keep what they showed), then everything; an API call gets the second, complete answer."""
    with readable_errors():
        path = common.clip_path(clip_file)
        amoeba = Amoeba.of(centre_x, centre_y, size, seed)
        progress(0.05, desc="Reading the clip")
        clip = reel.open_clip(path, (pt, ph, pw))
        shows = ({"path": path, "clip": clip}, *reel.show_reel(clip, Path(path).name))
        cut = reel.show_cut(clip, amoeba)
        yield (*shows, *cut, *[gr.skip()] * 6)
        progress(0.5, desc="Cutting spacetime patches")
        tubelet = reel.show_tubelet(clip, amoeba)
        progress(0.8, desc="Noising")
        yield (*shows, *cut, *tubelet, reel.show_crop(clip), reel.show_noise(clip, schedule, t))


def open_sample(name: str, pt, ph, pw, centre_x, centre_y, size, seed, schedule, t, progress=gr.Progress()):
    """A bundled sample, dissected (once per setting: every visitor starts on the same sample)."""
    return sample_answer(name, (pt, ph, pw, centre_x, centre_y, size, seed, schedule, t))


SAMPLE_ANSWERS = 24                   # bundled samples' answers kept, for as many settings
_sample_answers: dict[tuple, tuple] = {}
_dissecting = threading.Lock()        # one sample is dissected at a time; answers kept are read beside it


def sample_answer(name: str, settings: tuple) -> tuple:
    """Every section's pictures for a bundled sample at these settings (the order of `dissect`'s inputs):
    worked out once, then the same answer for every visitor who asks."""
    key = (name, tuple(settings))
    answer = _sample_answers.get(key)
    if answer is None:
        with _dissecting:
            answer = _sample_answers.get(key)
            if answer is None:
                *_, answer = dissect(str(sample_file(name)), *settings)
                answer = tuple(as_static_picture(value, f"{name}-{index}") for index, value in enumerate(answer))
                if len(_sample_answers) >= SAMPLE_ANSWERS:
                    _sample_answers.pop(next(iter(_sample_answers)), None)  # the oldest goes
                _sample_answers[key] = answer
    return answer


def sample_pictures_dir() -> Path:
    """Where the samples' kept pictures are written, once each: served by Gradio as static files (no
    copy into its cache per visitor; the browser keeps them), never swept, gone with the temp root."""
    folder = files.temp_root() / "samples"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def as_static_picture(value, name: str):
    """A picture (an array) as a PNG file in the samples' folder, named by its content; anything else as is."""
    if not isinstance(value, np.ndarray):
        return value
    picture = Image.fromarray(value)
    path = sample_pictures_dir() / f"{name}-{hashlib.sha1(value.tobytes()).hexdigest()[:16]}.png"
    if not path.exists():
        staging = path.with_suffix(f".{threading.get_ident()}.part")
        picture.save(staging, format="png")
        staging.replace(path)
    return str(path)


def warm_samples() -> None:
    """Dissect every bundled sample at the page's default settings, so the first visitors wait for none."""
    for name in SAMPLES:
        with contextlib.suppress(gr.Error):
            sample_answer(name, views.clip_settings(views.DEFAULT_VIEW))


def repatch(reel_state, pt, ph, pw, centre_x, centre_y, size, seed, schedule, t, progress=gr.Progress()):
    """The clip on show, cut again with another tubelet size (the working size re-fits to it)."""
    with readable_errors():
        path = common.source_path(None, reel_state)
    yield from dissect(path, pt, ph, pw, centre_x, centre_y, size, seed, schedule, t, progress=progress)


def cut_amoeba(reel_state, centre_x, centre_y, size, seed):
    """The amoeba moved: first its cut and tube, then the tubelet and token under it."""
    with readable_errors():
        clip, amoeba = common.clip_on_show(reel_state), Amoeba.of(centre_x, centre_y, size, seed)
        cut = reel.show_cut(clip, amoeba)
        yield (*cut, *[gr.skip()] * 4)
        yield (*cut, *reel.show_tubelet(clip, amoeba))


def place_amoeba(reel_state, event: gr.SelectData):
    """A click on the frame -> the amoeba's centre, as fractions of the frame."""
    with readable_errors():
        return reel.amoeba_centre_at(common.clip_on_show(reel_state), *event.index)


def noise_clip(reel_state, schedule, t):
    with readable_errors():
        return reel.show_noise(common.clip_on_show(reel_state), schedule, t)


def film_reel_section() -> SimpleNamespace:
    """1. The film reel: the clip box, the samples, the facts, the filmstrip."""
    with gr.Column(elem_classes="fr-section"):
        section(1, "The film reel",
                "A video is a reel of frames. The explainer samples 16 of them evenly across your clip "
                "and shrinks them to a small working size, keeping the frame's own shape: no cropping. "
                "Drop in any clip (mp4, webm, mov, avi, mkv, gif, or a still photo) or pick a sample.")
        with gr.Row(equal_height=False):
            with gr.Column(scale=1, min_width=280):
                clip_file = gr.File(label="Drop your clip here", file_types=CLIP_TYPES, type="filepath",
                                    height=120, elem_id="clip-file")
                with gr.Row(elem_classes="fr-samples"):
                    samples = {name: gr.Button(f"{name} sample", size="sm", elem_id=f"sample-{name}")
                               for name in SAMPLES}
            with gr.Column(scale=2, min_width=300):
                facts = gr.HTML("<div class='fr-empty'>Loading the sample clip…</div>", elem_id="facts",
                                label="what the clip is (chips)")
        filmstrip = gr.Image(label="The reel: the sampled frames, their times in the clip on the edge",
                             interactive=False, format="png", elem_classes="fr-reel",
                             elem_id="filmstrip", buttons=["download", "fullscreen"])
        with gr.Accordion("The numbers, as data", open=False):
            summary = gr.JSON(label="What the clip became", elem_id="summary")
    return SimpleNamespace(clip_file=clip_file, samples=samples, facts=facts, filmstrip=filmstrip, summary=summary)


def amoeba_cut_section() -> SimpleNamespace:
    """2. The amoeba cut: the frame to click, the amoeba's sliders, the tube of its pieces."""
    with gr.Column(elem_classes="fr-section"):
        section(2, "The amoeba cut",
                "Cut the same <span class='fr-amber'>amoeba-shaped piece</span> out of every frame and "
                "stack the pieces in time order: you get a tube of colour that changes along time, a "
                "piece of spacetime. Move the amoeba with the sliders or click on the frame; press Play "
                "to stack the pieces again.")
        with gr.Row(equal_height=False):
            with gr.Column(scale=2, min_width=280):
                frame = gr.Image(label="Click to place the amoeba (middle frame)", interactive=False,
                                 format="png", elem_classes="fr-cut", elem_id="cut-frame", buttons=["fullscreen"])
                centre_x = gr.Slider(0, 1, DEFAULTS["centre_x"], step=0.01, label="centre x", elem_id="centre-x")
                centre_y = gr.Slider(0, 1, DEFAULTS["centre_y"], step=0.01, label="centre y", elem_id="centre-y")
                size = gr.Slider(0.05, 0.6, DEFAULTS["size"], step=0.01, label="size")
                seed = gr.Slider(0, 99, DEFAULTS["seed"], step=1, label="shape")
            with gr.Column(scale=3, min_width=300):
                tube = plotly_player(540, "the amoeba cut, stacked along time", elem_id="amoeba-tube")
    return SimpleNamespace(frame=frame, centre_x=centre_x, centre_y=centre_y, size=size, seed=seed, tube=tube,
                           settings=[centre_x, centre_y, size, seed])


def spacetime_patches_section() -> SimpleNamespace:
    """3. Spacetime patches: the tubelet size, the tubelets in the clip's volume, their cost, a square crop."""
    with gr.Column(elem_classes="fr-section"):
        section(3, "Spacetime patches",
                "A video model cuts the whole reel the same way, with boxes instead of amoebas: every "
                "pt frames × ph × pw pixels make one spacetime patch, a tubelet. The amoeba's tubelets "
                "glow <span class='fr-amber'>amber</span>; the <span class='fr-pink'>pink</span> one "
                "under its centre is pulled out to show its frames. Smaller tubelets mean more tokens, "
                "and attention compares every token with every other, so its cost grows with the square.")
        with gr.Row():
            pt = gr.Radio([1, 2, 4], value=DEFAULTS["pt"], label="pt (frames)", min_width=150)
            ph = gr.Radio([4, 8, 16], value=DEFAULTS["ph"], label="ph (pixels)", min_width=150)
            pw = gr.Radio([4, 8, 16], value=DEFAULTS["pw"], label="pw (pixels)", min_width=150)
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=300):
                volume = plotly_player(560, "the tubelets in the clip", elem_id="tubelet-volume")
            with gr.Column(scale=2, min_width=260):
                stats = gr.HTML(elem_id="patch-stats", label="tokens and the cost of attention (chips)")
        gr.Markdown("Older U-Net video models wanted square inputs of one size, so a wide or tall clip "
                    "lost its sides to a centre crop. Patches take the frame as it is, at any shape.")
        crop = plotly_player(360, "square crop vs native", elem_id="crop-vs-native")
    return SimpleNamespace(pt=pt, ph=ph, pw=pw, volume=volume, stats=stats, crop=crop)


def tokens_section() -> SimpleNamespace:
    """4. Tokens: one tubelet becoming a token, and the sequence of all tokens."""
    with gr.Column(elem_classes="fr-section"):
        section(4, "Tokens",
                "The transformer never sees pictures, only lists of numbers. The "
                "<span class='fr-pink'>pink tubelet</span>'s pixels are flattened into one list, a "
                "linear layer turns the list into a token, and a fixed position code records where and "
                "when the tubelet sat in the reel. Then all tokens are read as one sequence: the first "
                "time slice row by row, then the next.")
        with gr.Row(equal_height=False):
            with gr.Column(min_width=320):
                story = plotly_player(640, "one tubelet becomes a token", elem_id="token-story")
            with gr.Column(min_width=320):
                sequence = plotly_player(660, "the token sequence", elem_id="token-sequence")
    return SimpleNamespace(story=story, sequence=sequence)


def noising_section(reel_state: gr.State) -> SimpleNamespace:
    """5. Noising: the schedule, the timestep, the clip drowning in noise."""
    with gr.Column(elem_classes="fr-section"):
        section(5, "Noising",
                "A diffusion model learns to remove noise, so it trains on clips drowned in it. At step t "
                "each pixel becomes √ᾱ·clip + √(1−ᾱ)·<span class='fr-grey'>noise</span>: as t grows, "
                "ᾱ falls and the reel dissolves into grey static. Press Play to sweep t from clean to noise.")
        with gr.Row():
            schedule = gr.Radio(["linear", "cosine"], value=DEFAULTS["schedule"], label="schedule",
                                min_width=160, scale=1)
            t = gr.Slider(0, 999, DEFAULTS["t"], step=1, label="timestep t", min_width=240, scale=3,
                          elem_id="noising-t")
        noise = plotly_player(460, "noising", elem_id="noising")
    gr.on([t.release, schedule.input], noise_clip, [reel_state, schedule, t], noise, api_name="noise")
    return SimpleNamespace(schedule=schedule, t=t, noise=noise)


def wire_amoeba(reel_state: gr.State, cut, patches, tokens) -> None:
    """Moving the amoeba (sliders or a click) redraws its cut (2), the tubelet under it (3) and its token (4)."""
    views = [cut.frame, cut.tube, patches.volume, patches.stats, tokens.story, tokens.sequence]
    gr.on([cut.centre_x.release, cut.centre_y.release, cut.size.release, cut.seed.release], cut_amoeba,
          [reel_state, *cut.settings], views, api_name="amoeba")
    cut.frame.select(place_amoeba, reel_state, [cut.centre_x, cut.centre_y], api_name="place").then(
        cut_amoeba, [reel_state, *cut.settings], views, api_visibility="private")


def wire_clip(demo: gr.Blocks, reel_state: gr.State, film, cut, patches, tokens, noising) -> None:
    """Opening a clip (an upload, a sample, the page loading) or changing the tubelet redraws sections 1-5."""
    settings = [patches.pt, patches.ph, patches.pw, *cut.settings, noising.schedule, noising.t]
    everything = [reel_state, film.filmstrip, film.facts, film.summary, cut.frame, cut.tube, patches.volume,
                  patches.stats, tokens.story, tokens.sequence, patches.crop, noising.noise]
    film.clip_file.upload(dissect, [film.clip_file, *settings], everything, api_name="dissect",
                          concurrency_id=MODEL_POOL).then(
        lambda: None, None, film.clip_file, api_visibility="private")  # the box is ready for the next clip
    for name, button in film.samples.items():
        button.click(functools.partial(open_sample, name), settings, everything, api_name=f"sample_{name}",
                     concurrency_id=MODEL_POOL)
    gr.on([patches.pt.input, patches.ph.input, patches.pw.input], repatch, [reel_state, *settings], everything,
          api_name="patches", concurrency_id=MODEL_POOL)


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
    live = not clip_file
    reveal = revealer(live)
    session = getattr(request, "session_hash", None) or ""
    with readable_errors():
        path = common.source_path(clip_file, reel_state)
        settings = denoising.sampler_settings(sampler, steps, seed, start, strength, eta)
        lanes = denoising.lanes_for(path, settings, model_choice, fitted, reel_state, compare)
        text, done = "", None
        for update in denoising.stream_denoising(lanes, Path(path).name, denoising.still_newest(session, ticket)):
            if isinstance(update, denoising.Denoised):
                done = update
                break
            if update.get("kind") == "run":
                update["ticket"] = ticket  # tells the player a new run began, even one with the same settings
            text += json.dumps(update, separators=(",", ":")) + "\n"
            yield (gr.skip(), reveal(text), *[gr.skip()] * 8)
        if done is None:  # a newer run took over
            return
        start_at = denoising.run_attention_choices(done.run)
        controls = (gr.update(maximum=start_at.steps, value=start_at.step),
                    gr.update(choices=list(range(1, start_at.blocks + 1)), value=start_at.block),
                    gr.update(maximum=start_at.tokens - 1, value=start_at.token)) if live \
            else (start_at.step, start_at.block, start_at.token)
        # an API call gets the attention view in its answer; the page asks for it once the run is delivered
        attention = (gr.skip(), gr.skip()) if live else denoising.attention_view(
            done.run, start_at.step, start_at.block, "mean", start_at.token)
        video = reveal(denoising.run_video(done))
        yield done.run, text, done.facts, done.summary, *controls, *attention, video


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
    shown in section 8; it is declared here, with the event that makes it."""
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
    button.click(press_denoise, None, ticket, api_visibility="private", queue=False).then(
        denoise_clip, [api_clip, sampler, steps, noise_seed, start, strength, eta, model_choice, compare, reel_state,
                       fitted, ticket],
        [run, player, facts, data, looks.step, looks.block, looks.token, looks.view, looks.frame, video],
        api_name="denoise", concurrency_id=MODEL_POOL, show_progress="hidden", trigger_mode="multiple").then(
        attention_after_run, looks.settings, [looks.view, looks.frame], api_visibility="private")
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


# --- 8. Take it with you -----------------------------------------------------------------------------

def figure_html(which, reel_state, centre_x, centre_y, size, seed, schedule, t, run, step, block, head, token,
                fitted):
    """The figure `which` as a standalone interactive HTML file (Gradio hands the inputs over in order)."""
    with readable_errors():
        return export.figure_file(which, reel=reel_state, amoeba=Amoeba.of(centre_x, centre_y, size, seed),
                                  schedule=schedule, t=t, run=run, step=step, block=block, head=head, token=token,
                                  fitted=fitted)


def take_it_with_you_section(reel_state: gr.State, cut, noising, denoising_views, fitted: gr.State) -> SimpleNamespace:
    """8. Take it with you: the run's video, any figure as one HTML file, and a link to this view."""
    with gr.Column(elem_classes="fr-section"):
        section(8, "Take it with you",
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


# --- links to a view ----------------------------------------------------------------------------------

FIRST_SECTIONS = 6  # of a clip's answer: the session's clip, sections 1 (reel, facts, data) and 2 (frame, cut)


def open_view(request: gr.Request = None):
    """The page opening: the bundled sample and settings its link asks for (?sample=tall&pt=1&t=500...;
    the defaults otherwise), from the samples' kept answers: the settings, and the top of the page (the
    reel and the amoeba cut) at once; `open_view_below` follows with the sections below it."""
    query = dict(request.query_params) if request is not None and request.query_params else {}
    view, ignored = views.view_from_query(query)
    if ignored:
        gr.Warning("This link asked for settings the page does not have; they were left as they are: "
                   + ", ".join(ignored), duration=10)
    with readable_errors():
        answer = sample_answer(view["sample"], views.clip_settings(view))
    start, strength, sampler, steps, eta, noise_seed, compare = views.denoise_settings(view)
    denoise = (start, gr.update(value=strength, visible=start == "clip"), sampler, steps,
               gr.update(value=eta, visible=sampler == "ddim"), noise_seed, compare)
    return (*views.clip_settings(view), *denoise, *answer[:FIRST_SECTIONS])


def open_view_below(reel_state, pt, ph, pw, centre_x, centre_y, size, seed, schedule, t):
    """The sections below the top of the page (3-5) for the sample the page opened on."""
    with readable_errors():
        sample = views.sample_on_show(common.source_path(None, reel_state))
        if sample is None:  # a clip of the visitor's own was opened meanwhile: it has its sections already
            return [gr.skip()] * 6
        return sample_answer(sample, (pt, ph, pw, centre_x, centre_y, size, seed, schedule, t))[FIRST_SECTIONS:]


def link_to_view(reel_state, pt, ph, pw, centre_x, centre_y, size, seed, schedule, t,
                 start, strength, sampler, steps, eta, noise_seed, compare) -> str:
    """The query that reopens this view, or why there is none (a visitor's own clip is never linked)."""
    with readable_errors():
        sample = views.sample_on_show(common.source_path(None, reel_state))
    if sample is None:
        return ("Your own clip is never put behind a link: its file stays yours. Open a bundled sample to "
                "link to a view of it.")
    names = ("pt", "ph", "pw", "centre_x", "centre_y", "size", "seed", "schedule", "t", "start", "strength",
             "sampler", "steps", "eta", "noise_seed", "compare")
    values = (pt, ph, pw, centre_x, centre_y, size, seed, schedule, t, start, strength, sampler, steps, eta,
              noise_seed, compare)
    return views.view_query({"sample": sample, **dict(zip(names, values))})


# the link box shows the whole address and copies it when it can (a page served over plain http from
# another machine may not be given the clipboard)
LINK_JS = """(query) => {
    if (!query || !query.startsWith("?")) return query;
    const link = window.location.origin + window.location.pathname + query;
    try { navigator.clipboard.writeText(link).catch(() => {}); } catch (error) {}
    return link;
}"""


def wire_view(demo: gr.Blocks, reel_state: gr.State, film, cut, patches, tokens, noising, denoising_views,
              link) -> None:
    """The page opening on the view its link names; "link to this view" writing one."""
    clip_settings = [patches.pt, patches.ph, patches.pw, *cut.settings, noising.schedule, noising.t]
    everything = [reel_state, film.filmstrip, film.facts, film.summary, cut.frame, cut.tube, patches.volume,
                  patches.stats, tokens.story, tokens.sequence, patches.crop, noising.noise]
    demo.load(open_view, None, [*clip_settings, *denoising_views.settings, *everything[:FIRST_SECTIONS]],
              api_name="load_sample", concurrency_id=PAGE_POOL).then(
        open_view_below, [reel_state, *clip_settings], everything[FIRST_SECTIONS:], api_name="load_sample_below",
        concurrency_id=PAGE_POOL)
    link.button.click(link_to_view, [reel_state, *clip_settings, *denoising_views.settings], link.text,
                      api_name="link", queue=False).then(None, link.text, link.text, js=LINK_JS)


# --- the page ----------------------------------------------------------------------------------------

def build_demo() -> gr.Blocks:
    """The whole page, top to bottom."""
    gr.set_static_paths([str(PLOTLY_JS), str(sample_pictures_dir())])
    with gr.Blocks(title="Film Reel: how a video diffusion transformer sees your clip") as demo:
        reel_state = gr.State()  # {"path": the clip file, "clip": explainer.clip.Clip}; every section reads it
        gr.Markdown("# Film Reel\nHow a Sora-style video model sees *your* clip: cut it into spacetime "
                    "patches, read them as tokens, drown them in noise, and bring them back with a "
                    "Diffusion Transformer.", elem_classes="fr-hero")
        film = film_reel_section()
        cut = amoeba_cut_section()
        patches = spacetime_patches_section()
        tokens = tokens_section()
        wire_amoeba(reel_state, cut, patches, tokens)
        noising = noising_section(reel_state)
        wire_clip(demo, reel_state, film, cut, patches, tokens, noising)

        run = gr.State(time_to_live=1800)     # this session's last denoising run (see denoising.keep_run)
        fitted = gr.State(time_to_live=3600)  # this session's fitted copy of the DiT; never shared
        denoising_views = denoising_section(reel_state, run, fitted)
        fit_section(reel_state, fitted, denoising_views)
        link = take_it_with_you_section(reel_state, cut, noising, denoising_views, fitted)
        wire_view(demo, reel_state, film, cut, patches, tokens, noising, denoising_views, link)
        gr.Markdown("References: Peebles & Xie, *Scalable Diffusion Models with Transformers* (DiT, "
                    "arXiv 2212.09748); Dehghani et al., *Patch n' Pack: NaViT* (arXiv 2307.06304); "
                    "OpenAI, *Video generation models as world simulators* (the Sora report).",
                    elem_classes="fr-footer")
    return demo
