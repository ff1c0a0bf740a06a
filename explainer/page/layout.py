"""The web page: the sections top to bottom in the order a person meets them, and the page opening on the
view its link names.

A section is a module of `sections/` (its title, its components by name, its events); adding one is a
module plus one line in `SECTIONS`, and every section's number follows from its place there.
"""
from __future__ import annotations

from collections.abc import Sequence
from types import ModuleType

import gradio as gr

from ..diffusion import sampler_takes
from . import common, views
from .adapters import readable_errors
from .pools import PAGE_POOL
from .sample_answers import sample_answer, sample_pictures_dir
from .sections import (
    amoeba_cut_section,
    claims_section,
    compressed_section,
    denoising_section,
    film_reel_section,
    fit_section,
    noising_section,
    spacetime_patches_section,
    take_it_with_you_section,
    tokens_section,
)
from .sections.film_reel_section import BELOW_VIEWS, TOP_VIEWS
from .theme import PLOTLY_JS
from .wiring import Page

SECTIONS: list[ModuleType] = [
    film_reel_section,
    amoeba_cut_section,
    compressed_section,
    spacetime_patches_section,
    tokens_section,
    noising_section,
    denoising_section,
    fit_section,
    claims_section,
    take_it_with_you_section,
]


# --- links to a view ----------------------------------------------------------------------------------

def open_view(request: gr.Request = None) -> dict:
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
    settings = {name: view[name] for name in views.VIEW_SETTINGS}
    settings["strength"] = gr.update(value=view["strength"], visible=view["start"] == "clip")
    settings["eta"] = gr.update(value=view["eta"], visible=sampler_takes(view["sampler"], "eta"))
    return {**settings, **{name: answer[name] for name in TOP_VIEWS}}


def open_view_below(reel_state, **settings) -> dict:
    """The sections below the top of the page for the sample the page opened on."""
    with readable_errors():
        sample = views.sample_on_show(common.source_path(None, reel_state))
        if sample is None:  # a clip of the visitor's own was opened meanwhile: it has its sections already
            return {}
        answer = sample_answer(sample, views.clip_settings(settings))
    return {name: answer[name] for name in BELOW_VIEWS}


def wire_view(demo: gr.Blocks, page: Page) -> None:
    """The page opening on the view its link names."""
    outputs = dict.fromkeys([*views.VIEW_SETTINGS, *TOP_VIEWS])  # the window's slider is both
    opened = page.on(demo.load, open_view, outputs=outputs, api_name="load_sample",
                     concurrency_id=PAGE_POOL)
    page.then(opened, open_view_below, inputs=["reel"], settings=views.CLIP_SETTINGS, outputs=BELOW_VIEWS,
              api_name="load_sample_below", concurrency_id=PAGE_POOL)


# --- the page ----------------------------------------------------------------------------------------

def build_demo(sections: Sequence[ModuleType] | None = None) -> gr.Blocks:
    """The whole page, top to bottom: `SECTIONS` (or the `sections` given), numbered in that order."""
    sections = SECTIONS if sections is None else sections
    gr.set_static_paths([str(PLOTLY_JS), str(sample_pictures_dir())])
    page = Page()
    with gr.Blocks(title="Film Reel: how a video diffusion transformer sees your clip") as demo:
        page.add(reel=gr.State(),  # {"path": the clip file, "clip": explainer.clip.Clip}; every section reads it
                 run=gr.State(time_to_live=1800),     # this session's last denoising run (`denoising.Run`)
                 fitted=gr.State(time_to_live=3600))  # this session's fitted copy of the DiT; never shared
        gr.Markdown("# Film Reel\nHow a Sora-style video model sees *your* clip: cut it into spacetime "
                    "patches, read them as tokens, drown them in noise, and bring them back with a "
                    "Diffusion Transformer.", elem_classes="fr-hero")
        page.sections = list(sections)
        for number, section in enumerate(sections, 1):
            section.build(page, number)
        for section in sections:
            if hasattr(section, "wire"):
                section.wire(page)
        wire_view(demo, page)
        gr.Markdown("References: Peebles & Xie, *Scalable Diffusion Models with Transformers* (DiT, "
                    "arXiv 2212.09748); Dehghani et al., *Patch n' Pack: NaViT* (arXiv 2307.06304); "
                    "OpenAI, *Video generation models as world simulators* (the Sora report).",
                    elem_classes="fr-footer")
    return demo
