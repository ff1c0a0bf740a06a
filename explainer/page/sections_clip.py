"""Sections 1-5 of the page, one clip: the film reel, the amoeba cut, spacetime patches, tokens, noising.

Each section is declared, then its events are wired; the adapters above them hand the page's inputs to
the handlers in `reel`. The bundled samples' answers are kept here, worked out once per setting and
read by every visitor.
"""
from __future__ import annotations

import contextlib
import functools
import hashlib
import threading
from pathlib import Path
from types import SimpleNamespace

import gradio as gr
import numpy as np
from PIL import Image

from .. import files
from ..assets import SAMPLES, sample_file
from . import common, reel, views
from .adapters import CLIP_TYPES, plotly_player, readable_errors, section
from .pools import MODEL_POOL
from .reel import DEFAULTS, Amoeba

# --- sections 1-5: one clip ---------------------------------------------------------------------------

def dissect(clip_file, pt=DEFAULTS["pt"], ph=DEFAULTS["ph"], pw=DEFAULTS["pw"],
            centre_x=DEFAULTS["centre_x"], centre_y=DEFAULTS["centre_y"], size=DEFAULTS["size"],
            seed=DEFAULTS["seed"], schedule=DEFAULTS["schedule"], t=DEFAULTS["t"], progress=gr.Progress()):
    """A clip file -> every section's pictures: the reel, the amoeba cut, the patches, the tokens, the noise,
    and the clip packed with others (Patch n' Pack).

    Yields twice: first the reel and the amoeba cut (so the page shows them at once; the later sections
    keep what they showed), then everything; an API call gets the second, complete answer."""
    with readable_errors():
        path = common.clip_path(clip_file)
        amoeba = Amoeba.of(centre_x, centre_y, size, seed)
        progress(0.05, desc="Reading the clip")
        clip = reel.open_clip(path, (pt, ph, pw))
        shows = ({"path": path, "clip": clip}, *reel.show_reel(clip, Path(path).name))
        cut = reel.show_cut(clip, amoeba)
        yield (*shows, *cut, *[gr.skip()] * 7)
        progress(0.5, desc="Cutting spacetime patches")
        tubelet = reel.show_tubelet(clip, amoeba)
        progress(0.8, desc="Noising")
        yield (*shows, *cut, *tubelet, reel.show_crop(clip), reel.show_noise(clip, schedule, t),
               reel.show_packing(clip, Path(path).name))


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
        gr.Markdown("Patches also let clips of every shape train together. NaViT's *Patch n' Pack* puts the "
                    "tokens of several clips, one after another, into one sequence of a fixed length, and "
                    "masks attention so that each clip only sees itself: no clip is cropped, and almost "
                    "no room is wasted on padding. Here your clip is packed beside the three samples and a "
                    "still photo (a one-frame clip).")
        packing = plotly_player(660, "your clip packed with others (Patch n' Pack)", elem_id="packing")
    return SimpleNamespace(pt=pt, ph=ph, pw=pw, volume=volume, stats=stats, crop=crop, packing=packing)


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


def clip_views(reel_state: gr.State, film, cut, patches, tokens, noising) -> list:
    """Everything a clip's answer fills in, in `dissect`'s order: the session's clip, sections 1 and 2 (the
    top of the page), then 3-5."""
    return [reel_state, film.filmstrip, film.facts, film.summary, cut.frame, cut.tube, patches.volume,
            patches.stats, tokens.story, tokens.sequence, patches.crop, noising.noise, patches.packing]


def wire_clip(demo: gr.Blocks, reel_state: gr.State, film, cut, patches, tokens, noising) -> None:
    """Opening a clip (an upload, a sample, the page loading) or changing the tubelet redraws sections 1-5."""
    settings = [patches.pt, patches.ph, patches.pw, *cut.settings, noising.schedule, noising.t]
    everything = clip_views(reel_state, film, cut, patches, tokens, noising)
    film.clip_file.upload(dissect, [film.clip_file, *settings], everything, api_name="dissect",
                          concurrency_id=MODEL_POOL).then(
        lambda: None, None, film.clip_file, api_visibility="private")  # the box is ready for the next clip
    for name, button in film.samples.items():
        button.click(functools.partial(open_sample, name), settings, everything, api_name=f"sample_{name}",
                     concurrency_id=MODEL_POOL)
    gr.on([patches.pt.input, patches.ph.input, patches.pw.input], repatch, [reel_state, *settings], everything,
          api_name="patches", concurrency_id=MODEL_POOL)
