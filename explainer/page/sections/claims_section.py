"""Three claims of the seed on Sora's design, tested on the clip on show (the handler is `show_claims.test_claims`)."""
from __future__ import annotations

import contextlib

import gradio as gr

from .. import common, show_claims
from ..adapters import plotly_player, readable_errors, revealer, section
from ..gpu import claims_seconds, on_gpu
from ..pools import FIT_POOL
from ..show_claims import CLAIM_MAX_SECONDS, CLAIM_SECONDS, budget_words
from ..wiring import Page

TITLE = "Three claims, tested on your clip"
CLAIM_VIEWS = ("verdict", "crop_claim", "flicker_claim", "frame_changes", "next_patch_claim", "next_patch_changes",
               "claims_data")


@on_gpu(claims_seconds)
def claims_on_clip(clip_file=None, seconds=CLAIM_SECONDS, seed=show_claims.SHIPPED_SEED, reel_state=None,
                   progress=gr.Progress(), window_start=0):
    """A clip file (an API call) or the clip on show -> the three claims measured on it: three copies of the
    prior fitted for `seconds` each (whole frames, centre squares, attention inside each time slice), then
    what they make; and the prior making the clip's later slices all at once and one after another. Answers:
    the verdict (chips and words), the crop figure, the flicker figure, the per-frame change, the next
    patch's reels and its per-frame change, and the numbers (with a `next_patch` object). A bundled sample
    at the shipped budget and seed answers at once."""
    live = not clip_file
    with readable_errors():
        path = common.source_path(clip_file, reel_state)
        seconds, seed = show_claims.claim_settings(seconds, seed)
        updates = show_claims.test_claims(path, seconds, seed, common.window_of(reel_state, path, window_start))
        with contextlib.closing(updates):  # a visitor who leaves stops the fits
            for update in updates:
                if isinstance(update, show_claims.ClaimsShown):
                    done = update
                else:
                    progress(update[0], desc=update[1])
                    if live:  # lets Gradio notice a visitor who left
                        yield {}
    reveal = revealer(live)
    yield dict(verdict=done.verdict, crop_claim=reveal(done.crop), flicker_claim=reveal(done.flicker),
               frame_changes=reveal(done.changes), next_patch_claim=reveal_or_hide(live, done.next_patch),
               next_patch_changes=reveal_or_hide(live, done.next_changes), claims_data=done.summary)


def reveal_or_hide(live: bool, figure):
    """A figure revealed, or (on the page) its player hidden where the answer has none: a clip of one time
    slice has no next patch."""
    if figure is None:
        return gr.update(visible=False) if live else None
    return revealer(live)(figure)


def build(page: Page, number: int) -> None:
    with section(number, TITLE,
                 "Sora's report makes two claims for its design, and the seed a third. <b>Cropping loses the "
                 "composition</b>: a model "
                 "trained on centre squares never sees the sides of a wide clip. <b>A video model sees space "
                 "and time together</b>, where an image model run frame by frame cannot keep frames "
                 "consistent. Here three copies of the DiT train on your clip with the same budget: one on "
                 "whole frames, one on centre squares only (each keeping its place in the frame), and one "
                 "whose attention stays inside each time slice of "
                 "two frames (the nearest this model comes to an image model run frame by frame). Then the "
                 "first two make the clip from the same pure noise, and the first and third clean your clip "
                 "noised half-way, with the same noise. <b>Sora predicts the next patch</b>, the seed says, as "
                 "GPT predicts the next word: here the prior (no fit) makes every slice after your clip's first "
                 "from that slice and the same noise two ways, <i>all at once</i> (every unknown slice in one "
                 "sequence, refined together: the DiT's way) and <i>one after another</i> (each slice from the "
                 "slices before it alone, the later ones absent: the GPT way), and the page counts the DiT calls "
                 "and measures the seams at the slice borders. The seed also calls the transformer an "
                 "encoder-decoder; the DiT this page runs is one stack of identical blocks with no decoder, "
                 "the stack that <i>where one token looks</i> in the Denoising section lets you pick a block "
                 "of. Whatever the numbers say is what the page says."):
        with gr.Row(equal_height=False):
            with gr.Column(scale=1, min_width=250):
                page.add(claims_seconds=gr.Slider(5, CLAIM_MAX_SECONDS, CLAIM_SECONDS, step=5,
                                                  label="seconds of training per copy", elem_id="claims-seconds"),
                         claims_budget=gr.Markdown(budget_words(CLAIM_SECONDS), elem_id="claims-budget"),
                         claims_seed=gr.Number(show_claims.SHIPPED_SEED, precision=0, minimum=0, maximum=2**32 - 1,
                                               label="seed (the fits' draws and the noise)", elem_id="claims-seed"),
                         claims_button=gr.Button("Test the three claims", variant="primary", elem_id="claims-button"))
            with gr.Column(scale=3, min_width=300):
                page.add(verdict=gr.HTML("<div class='fr-empty'>Press Test the three claims. For a bundled sample the "
                                         "answer, worked out ahead, shows at once.</div>", elem_id="claims-verdict",
                                         label="the verdict (chips and words)"))
        page.add(crop_claim=plotly_player(400, "crop vs native", elem_id="crop-claim", visible=False),
                 flicker_claim=plotly_player(400, "frames apart vs spacetime", elem_id="flicker-claim",
                                             visible=False),
                 frame_changes=plotly_player(320, "change from frame to frame", elem_id="frame-changes",
                                             visible=False),
                 next_patch_claim=plotly_player(520, "all at once vs one after another",
                                                elem_id="next-patch-claim", visible=False),
                 next_patch_changes=plotly_player(320, "change from frame to frame, both ways",
                                                  elem_id="next-patch-changes", visible=False))
        with gr.Accordion("The claims, as data", open=False):
            page.add(claims_data=gr.JSON(label="the claims", elem_id="claims-summary"))
    page.on(page["claims_seconds"].change, budget_words, inputs=["claims_seconds"], outputs=["claims_budget"],
            queue=False, api_visibility="private")


def wire(page: Page) -> None:
    page.on(page["claims_button"].click, claims_on_clip,
            inputs=["api_clip", "claims_seconds", "claims_seed", "reel"],
            settings=["window_start"], outputs=CLAIM_VIEWS, api_name="claims", concurrency_id=FIT_POOL,
            show_progress_on=[page["verdict"]])
