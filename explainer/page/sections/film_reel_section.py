"""The film reel: the clip box, the samples, what the clip is, the filmstrip. Opening a clip (an upload, a
sample, a new tubelet size) redraws every section that shows the clip: `dissect` answers them all."""
from __future__ import annotations

import functools
from pathlib import Path

import gradio as gr

from ...assets import SAMPLES, sample_file
from .. import common, sample_answers, show_clip, show_compress, views
from ..adapters import CLIP_TYPES, readable_errors, section
from ..pools import MODEL_POOL
from ..show_clip import Amoeba
from ..wiring import Page

TITLE = "The film reel"

# what a clip's answer fills in: the session's clip and the top of the page (this section and the amoeba
# cut), then the sections below it
TOP_VIEWS = ("reel", "timeline", "window_start", "filmstrip", "reel_facts", "reel_summary", "cut_frame", "tube")
BELOW_VIEWS = ("compress_latent", "compress_reels", "compress_stats", "compress_data", "volume", "patch_stats",
               "token_story", "token_sequence", "crop", "noise", "packing")
CLIP_VIEWS = TOP_VIEWS + BELOW_VIEWS


def clip_answer(path: str, name: str, settings: dict) -> dict:
    """Every view of a clip at these settings (`views.CLIP_SETTINGS`), by name."""
    *_, answer = clip_answers(path, name, settings)
    return answer


def clip_answers(path: str, name: str, settings: dict, progress=None):
    """The views of a clip, twice: first the top of the page (so it shows at once), then every view."""
    progress = progress or (lambda *_, **__: None)
    amoeba = Amoeba.of(settings["centre_x"], settings["centre_y"], settings["size"], settings["shape"])
    progress(0.05, desc="Reading the clip")
    clip = show_clip.open_clip(path, (settings["pt"], settings["ph"], settings["pw"]), settings["window_start"])
    filmstrip, facts, summary = show_clip.show_reel(clip, name)
    cut_frame, tube = show_clip.show_cut(clip, amoeba)
    top = dict(reel={"path": path, "clip": clip}, timeline=show_clip.show_timeline(clip),
               window_start=window_slider(clip), filmstrip=filmstrip, reel_facts=facts, reel_summary=summary,
               cut_frame=cut_frame, tube=tube)
    yield top
    progress(0.4, desc="Compressing")
    compressed = show_compress.show_compressed(clip)
    progress(0.6, desc="Cutting spacetime patches")
    volume, stats, story, sequence = show_clip.show_tubelet(clip, amoeba)
    progress(0.8, desc="Noising")
    yield {**top, **compressed, "volume": volume, "patch_stats": stats, "token_story": story,
           "token_sequence": sequence, "crop": show_clip.show_crop(clip),
           "noise": show_clip.show_noise(clip, settings["schedule"], settings["t"]),
           "packing": show_clip.show_packing(clip, name)}


def window_slider(clip) -> dict:
    """The window's slider for this clip: from its first frame to the last start that still fits."""
    last_start = max(0, clip.source.frames_decoded - (clip.window[1] - clip.window[0] + 1))
    return gr.update(value=clip.window[0], maximum=max(1, last_start), interactive=last_start > 0)


def dissect(clip_file, progress=gr.Progress(), **settings):
    """A clip file -> every section's pictures: the reel, the amoeba cut, the clip through the compression
    network, the patches, the tokens, the noise, and the clip packed with others (Patch n' Pack). Settings not
    given take the page's defaults.

    Yields twice: first the reel and the amoeba cut (so the page shows them at once; the later sections
    keep what they showed), then everything; an API call gets the second, complete answer."""
    with readable_errors():
        path = common.clip_path(clip_file)
        yield from clip_answers(path, Path(path).name, views.clip_settings({**views.DEFAULT_VIEW, **settings}),
                                progress)


def repatch(reel_state, progress=gr.Progress(), **settings):
    """The clip on show, cut again with another tubelet size (the working size re-fits to it)."""
    with readable_errors():
        path = common.source_path(None, reel_state)
    yield from dissect(path, progress=progress, **settings)


def sample_views(name: str, settings: dict) -> dict:
    """Every view of a bundled sample at these settings (what `sample_answers` keeps and ships)."""
    path = sample_file(name)
    return clip_answer(str(path), path.name, settings)


sample_answers.register(sample_views)


def open_sample(name: str, progress=gr.Progress(), **settings):
    """A bundled sample, dissected (once per setting: every visitor starts on the same sample)."""
    with readable_errors():
        return sample_answers.sample_answer(name, views.clip_settings({**views.DEFAULT_VIEW, **settings}))


def move_window(reel_state, event: gr.SelectData):
    """A click on the timeline -> the window's first frame, so that the window centres where it was clicked."""
    with readable_errors():
        clip = common.clip_on_show(reel_state)
        timeline = show_clip.show_timeline(clip)
        if timeline is None:
            raise gr.Error("A still image is a one-frame clip: there is no window to move.", duration=8)
        return show_clip.window_at(clip, event.index[0], timeline.shape[1])


def build(page: Page, number: int) -> None:
    with section(number, TITLE,
                 "A video is a reel of frames. The explainer cuts a window of 16 consecutive frames out of your "
                 "clip, about ten a second (the rate this small model learned on), and shrinks them to a small "
                 "working size, keeping the frame's own shape: no cropping. Move the window along the clip "
                 "with the slider or a click on the timeline. Drop in any clip (mp4, webm, mov, avi, mkv, gif, "
                 "or a still photo) or pick a sample."):
        with gr.Row(equal_height=False):
            with gr.Column(scale=1, min_width=280):
                page.add(clip_file=gr.File(label="Drop your clip here", file_types=CLIP_TYPES, type="filepath",
                                           height=120, elem_id="clip-file"))
                with gr.Row(elem_classes="fr-samples"):
                    for name in SAMPLES:
                        page.add(**{f"sample_{name}": gr.Button(f"{name} sample", size="sm",
                                                                elem_id=f"sample-{name}")})
            with gr.Column(scale=2, min_width=300):
                page.add(reel_facts=gr.HTML("<div class='fr-empty'>Loading the sample clip…</div>",
                                            elem_id="facts", label="what the clip is (chips)"))
        page.add(timeline=gr.Image(label="The whole clip: click to move the window (amber)", interactive=False,
                                   format="png", elem_classes="fr-timeline", elem_id="timeline", buttons=[]),
                 window_start=gr.Slider(0, 1, 0, step=1, label="the window starts at source frame",
                                        elem_id="window-start"))
        page.add(filmstrip=gr.Image(label="The reel: the window's frames, their times in the clip on the edge",
                                    interactive=False, format="png", elem_classes="fr-reel",
                                    elem_id="filmstrip", buttons=["download", "fullscreen"]))
        with gr.Accordion("The numbers, as data", open=False):
            page.add(reel_summary=gr.JSON(label="What the clip became", elem_id="summary"))


def wire(page: Page) -> None:
    """Opening a clip (an upload, a sample, the page loading) or changing the tubelet or the window redraws the
    clip's views. A newly opened clip starts with its window at its first frame."""
    def from_the_start(trigger):
        return page.on(trigger, lambda: 0, outputs=["window_start"], queue=False, api_visibility="private")

    opened = page.then(from_the_start(page["clip_file"].upload), dissect, inputs=["clip_file"],
                       settings=views.CLIP_SETTINGS, outputs=CLIP_VIEWS, api_name="dissect", concurrency_id=MODEL_POOL)
    opened.then(lambda: None, None, page["clip_file"], api_visibility="private")  # ready for the next clip
    for name in SAMPLES:
        page.then(from_the_start(page[f"sample_{name}"].click), functools.partial(open_sample, name),
                  settings=views.CLIP_SETTINGS, outputs=CLIP_VIEWS, api_name=f"sample_{name}",
                  concurrency_id=MODEL_POOL)
    page.on([page[name].input for name in ("pt", "ph", "pw")], repatch, inputs=["reel"],
            settings=views.CLIP_SETTINGS, outputs=CLIP_VIEWS, api_name="patches", concurrency_id=MODEL_POOL)
    page.on(page["window_start"].release, repatch, inputs=["reel"], settings=views.CLIP_SETTINGS,
            outputs=CLIP_VIEWS, api_name="window", concurrency_id=MODEL_POOL)
    clicked = page.on(page["timeline"].select, move_window, inputs=["reel"], outputs=["window_start"],
                      api_name="move_window")
    page.then(clicked, repatch, inputs=["reel"], settings=views.CLIP_SETTINGS, outputs=CLIP_VIEWS,
              api_visibility="private", concurrency_id=MODEL_POOL)

