"""Take it with you: the run's video, any figure as one HTML file, and a link to this view."""
from __future__ import annotations

import gradio as gr

from .. import common, export, views
from ..adapters import readable_errors, section
from ..gpu import ATTENTION_SECONDS, on_gpu
from ..show_clip import Amoeba
from ..wiring import Page

TITLE = "Take it with you"
FIGURE_SETTINGS = ("which", "reel", "centre_x", "centre_y", "size", "shape", "schedule", "t", "run", "att_step",
                   "att_block", "att_head", "token", "fitted")


def figure_choices(page: Page) -> list[tuple[str, str]]:
    """Every figure the sections show that leaves as a file, in page order, named with its section's number."""
    return [(f"{export.TITLES[kind]} ({number})", kind) for number, module in enumerate(page.sections, 1)
            for kind in getattr(module, "EXPORTS", ())]


@on_gpu(ATTENTION_SECONDS)  # the attention figure runs the DiT again
def figure_html(**chosen):
    """The figure `which` as a standalone interactive HTML file."""
    with readable_errors():
        amoeba = Amoeba.of(chosen["centre_x"], chosen["centre_y"], chosen["size"], chosen["shape"])
        return export.figure_file(chosen["which"], reel=chosen["reel"], amoeba=amoeba, schedule=chosen["schedule"],
                                  t=chosen["t"], run=chosen["run"], step=chosen["att_step"], block=chosen["att_block"],
                                  head=chosen["att_head"], token=chosen["token"], fitted=chosen["fitted"])


def link_to_view(reel_state, **settings) -> str:
    """The query that reopens this view, or why there is none (a visitor's own clip is never linked)."""
    with readable_errors():
        sample = views.sample_on_show(common.source_path(None, reel_state))
    if sample is None:
        return ("Your own clip is never put behind a link: its file stays yours. Open a bundled sample to "
                "link to a view of it.")
    return views.view_query({"sample": sample, **settings})


# the link box shows the whole address and copies it when it can (a page served over plain http from
# another machine may not be given the clipboard)
LINK_JS = """(query) => {
    if (!query || !query.startsWith("?")) return query;
    const link = window.location.origin + window.location.pathname + query;
    try { navigator.clipboard.writeText(link).catch(() => {}); } catch (error) {}
    return link;
}"""


def build(page: Page, number: int) -> None:
    with section(number, TITLE,
                 "Each denoising run becomes a video that plays in any browser: x_t on the "
                 "left, the guess x̂0 on the right, one video frame per step, the clip's frames running "
                 "along. And any figure of this page leaves as one interactive HTML file that works offline."):
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=300):
                page["video"].render()
            with gr.Column(scale=2, min_width=260):
                page.add(which=gr.Dropdown(figure_choices(page), value="denoising", label="which figure",
                                           elem_id="which-figure"),
                         export_button=gr.Button("Make the HTML file", elem_id="export-button"),
                         exported=gr.File(label="the figure, as one HTML file", interactive=False, height=90,
                                          elem_id="exported", visible=False))  # shown once there is a file
                gr.Markdown("A link to this view reopens the page on the same bundled sample with the same "
                            "settings: patch size, amoeba, noising and denoising. Your own clip is never "
                            "put behind a link: its file stays yours.")
                page.add(link_button=gr.Button("Link to this view", elem_id="link-button"),
                         link=gr.Textbox(label="the link (copied when the browser allows)", interactive=False,
                                         elem_id="view-link", buttons=["copy"]))
    made = page.on(page["export_button"].click, figure_html, settings=FIGURE_SETTINGS, outputs=["exported"],
                   api_name="figure_html")
    page.then(made, lambda: gr.update(visible=True), outputs=["exported"], success=True, api_visibility="private")


def wire(page: Page) -> None:
    """"Link to this view" reads every setting a view carries, from whichever section holds it."""
    linked = page.on(page["link_button"].click, link_to_view, inputs=["reel"], settings=views.VIEW_SETTINGS,
                     outputs=["link"],
                     api_name="link", queue=False)
    linked.then(None, page["link"], page["link"], js=LINK_JS)
