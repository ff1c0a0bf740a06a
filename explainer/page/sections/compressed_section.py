"""Compressed: the clip on show through the compression network (its latent's channels, the decoded reel
beside the clip with the error between them, what compression buys the DiT, and the network's times).
The film reel's events fill the section (its views are among the clip's views); the times follow them."""
from __future__ import annotations

import gradio as gr

from .. import common, show_clip, show_compress
from ..adapters import CLIP_TYPES, plotly_player, readable_errors, section
from ..pools import MODEL_POOL
from ..show_clip import DEFAULTS
from ..wiring import Page

TITLE = "Compressed"
EXPORTS = ("latent", "decoded")  # its figures that leave as files (export.TITLES)
VIEWS = ("compress_latent", "compress_reels", "compress_stats", "compress_data")  # filled with the clip's views
API_SETTINGS = ("pt", "ph", "pw", "window_start")


def words() -> str:
    """What the section says, in the network's own numbers."""
    config = show_compress.compression_config()
    per_number = show_compress.values_per_number(config)
    return (f"A video model like Sora does not cut its patches from the pixels. An encoder first squeezes the "
            f"clip into a smaller <i>latent</i> clip; the patches are cut from that, the transformer works "
            f"there, and a decoder turns what it generates back into pixels. Here {config.space}×{config.space} "
            f"pixels in space and {config.time} frames in time become one latent position of "
            f"{config.latent_channels} numbers: each latent number stands for {per_number:g} pixel values. "
            "This page's DiT reads pixel patches, not latent ones, so the patches in the next section are "
            "exactly the ones it reads; the compression shown here is the step Sora adds before them.")


def time_compression(reel_state) -> str:
    """The network's encode and decode times on the clip on show, on this server (after its views)."""
    if not reel_state or "clip" not in reel_state:
        return "<div class='fr-empty'>Open a clip to time the network on it.</div>"
    return show_compress.show_times(reel_state["clip"])


def compress_clip(clip_file, pt=DEFAULTS["pt"], ph=DEFAULTS["ph"], pw=DEFAULTS["pw"],
                  window_start=DEFAULTS["window_start"]):
    """A clip file -> the section's views: the latent's channels (figure), the decoded reel beside the clip
    and the error map (figure), what compression buys (chips), the numbers (data) and the network's times
    on this server (chips). The window of 16 frames starts at source frame `window_start`; the tubelet
    (pt, ph, pw) is the one the DiT's tokens are counted with."""
    with readable_errors():
        path = common.clip_path(clip_file)
        clip = show_clip.open_clip(path, (pt, ph, pw), window_start)
        show_compress.compression_model()  # weights that cannot be read are a message, not an empty answer
        return {**show_compress.show_compressed(clip), "compress_times": show_compress.show_times(clip)}


def build(page: Page, number: int) -> None:
    with section(number, TITLE, words()):
        page.add(compress_file=gr.File(visible=False, file_types=CLIP_TYPES, type="filepath",
                                       label="clip file (API calls only)"))
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=300):
                gr.Markdown("The latent clip, its channels side by side in false colour: "
                            "blue below 0, light above, each channel on one scale "
                            "for all its frames. Press Play to run through the latent frames; each stands for "
                            "two frames of the clip.")
                page.add(compress_latent=plotly_player(300, "the latent clip", elem_id="compress-latent"))
            with gr.Column(scale=2, min_width=260):
                page.add(compress_stats=gr.HTML(elem_id="compress-stats",
                                                label="what compression buys (chips)"))
        gr.Markdown("The decoder's clip beside yours, and where they differ. The baseline keeps the same count "
                    "of numbers by resizing instead: pairs of frames averaged and each frame shrunk, then "
                    "brought back by bicubic resizing in space and linear blending in time.")
        page.add(compress_reels=plotly_player(360, "decoded vs your clip", elem_id="compress-reels"))
        page.add(compress_times=gr.HTML("<div class='fr-empty'>Timing the network on this server…</div>",
                                        elem_id="compress-times", label="encode and decode times (chips)"))
        with gr.Accordion("The compression, as data", open=False):
            page.add(compress_data=gr.JSON(label="the clip through the compression network",
                                           elem_id="compress-summary"))


def wire(page: Page) -> None:
    """The times follow the section's views (the film reel's events fill those); the same views through the
    API from a clip file, on a trigger the page never shows."""
    page.on(page["compress_latent"].change, time_compression, inputs=["reel"], outputs=["compress_times"],
            api_visibility="private", concurrency_id=MODEL_POOL, show_progress="hidden")
    page.on(gr.Button(visible=False, elem_id="compress-api").click, compress_clip, inputs=["compress_file"],
            settings=API_SETTINGS, outputs=[*VIEWS, "compress_times"], api_name="compress",
            concurrency_id=MODEL_POOL)

