"""The web page: a clip in, the film-reel story of how a Sora-style video model sees it, out.

`build_demo()` declares the page top to bottom in the order a person meets it, one numbered section after
another (sections 1-5 in `sections_clip`, 6-8 in `sections_model`, their shared adapters in `adapters`);
each section's events are wired right after the components they touch. The adapters only hand the
page's inputs to the handlers (reel, denoising, fitting, export), yield partial updates, report progress,
and turn an ExplainerError into a message on the page. Here: the page opening on the view its link
names, and the page itself.
"""
from __future__ import annotations

import gradio as gr

from . import common, views
from .adapters import readable_errors
from .pools import PAGE_POOL
from .sections_claims import claims_section
from .sections_clip import (
    amoeba_cut_section,
    clip_views,
    film_reel_section,
    noising_section,
    sample_answer,
    sample_pictures_dir,
    spacetime_patches_section,
    tokens_section,
    wire_amoeba,
    wire_clip,
)
from .sections_model import denoising_section, fit_section, take_it_with_you_section
from .theme import PLOTLY_JS

# --- links to a view ----------------------------------------------------------------------------------

FIRST_SECTIONS = 6  # of a clip's answer: the session's clip, sections 1 (reel, facts, data) and 2 (frame, cut)
BELOW_SECTIONS = 7  # and the rest: sections 3 (volume, chips, crop, packing), 4 (story, sequence) and 5 (noise)


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
            return [gr.skip()] * BELOW_SECTIONS
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
    everything = clip_views(reel_state, film, cut, patches, tokens, noising)
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
        claims_section(reel_state, denoising_views.api_clip)
        link = take_it_with_you_section(reel_state, cut, noising, denoising_views, fitted)
        wire_view(demo, reel_state, film, cut, patches, tokens, noising, denoising_views, link)
        gr.Markdown("References: Peebles & Xie, *Scalable Diffusion Models with Transformers* (DiT, "
                    "arXiv 2212.09748); Dehghani et al., *Patch n' Pack: NaViT* (arXiv 2307.06304); "
                    "OpenAI, *Video generation models as world simulators* (the Sora report).",
                    elem_classes="fr-footer")
    return demo
