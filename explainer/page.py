"""The web page: a clip in, the film-reel story of how a Sora-style video model sees it, out.

`build_demo()` declares the page top to bottom in the order a person meets it, one numbered section after
another. The functions above it only adapt the page's inputs to the explainer's modules (clip, patches,
dit, diffusion, figures) and turn an ExplainerError into a message on the page.

Figures travel as Plotly JSON into `plotly_player` components (a gr.HTML drawn with the plotly.js of the
plotly wheel), because gr.Plot drops animation frames; `figures.image_player` builds an animated figure
from any list of pictures, and `figures.play_controls` adds Play/Pause and a slider to any figure.
"""
from __future__ import annotations

import argparse
import contextlib
import functools
import html
import os
import tempfile
from pathlib import Path

import gradio as gr
import numpy as np
import plotly
import torch

from . import figures
from .clip import load_clip
from .device import cpu_generator
from .diffusion import add_noise, get_schedule
from .dit import DiTConfig, axis_widths, build_dit, dit_default, position_embedding
from .errors import ExplainerError
from .patches import PatchGrid, amoeba_mask, amoeba_tokens, square_crop_vs_native

ASSETS = Path(__file__).resolve().parent.parent / "assets"
STATIC = Path(__file__).resolve().parent / "static"
PLOTLY_JS = Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"
SAMPLES = {"wide": "sample_wide.webm", "tall": "sample_tall.webm", "square": "sample_square.webm"}
CLIP_TYPES = [".mp4", ".webm", ".mov", ".avi", ".mkv", ".m4v", ".gif", ".png", ".jpg", ".jpeg", ".webp", ".bmp"]
DEFAULTS = dict(pt=2, ph=8, pw=8, centre_x=0.5, centre_y=0.5, size=0.3, seed=0, schedule="linear", t=250)
NOISE_FRAMES = 4      # frames of the clip shown noised
NOISE_SEED = 0


# --- the bundled samples -----------------------------------------------------------------------------

def sample_file(name: str) -> str:
    """Path of a bundled sample clip; made from the procedural generator (offline) when the asset is
    missing, once per machine."""
    filename = SAMPLES[name]
    bundled = ASSETS / filename
    if bundled.exists():
        return str(bundled)
    made = Path(tempfile.gettempdir()) / "film-reel-samples" / filename
    if not made.exists():
        from . import sample

        frames, height, width, seed, motion = sample.BUNDLED[filename]
        clip = sample.make_clip(frames, height, width, seed=seed, motion=motion)
        sample.write_webm(made.with_suffix(".part.webm"), clip, fps=sample.ASSET_FPS).replace(made)
    return str(made)


# --- adapters: page inputs -> the explainer's modules -> page outputs -------------------------------

@contextlib.contextmanager
def readable_errors():
    """A problem with the input becomes a message on the page, never a traceback."""
    try:
        yield
    except ExplainerError as error:
        raise gr.Error(str(error), duration=15) from None


def _path_of(clip_file) -> str:
    if isinstance(clip_file, dict):  # a FileData payload from the API
        clip_file = clip_file.get("path")
    if not clip_file:
        raise gr.Error("Upload a clip or pick a sample first.")
    return str(clip_file)


def _patch(pt, ph, pw) -> tuple[int, int, int]:
    return int(pt), int(ph), int(pw)


def _clip_of(reel: dict | None):
    if not reel or "clip" not in reel:
        raise gr.Error("Open a clip first: upload one or pick a sample.")
    return reel["clip"]


def amoeba_of(clip, centre_x, centre_y, size, seed) -> np.ndarray:
    """The amoeba mask on the working frame (never empty: at least the pixel under its centre)."""
    _, height, width, _ = clip.frames.shape
    mask = amoeba_mask(height, width, (float(centre_x), float(centre_y)), float(size), int(seed))
    if not mask.any():
        mask[min(height - 1, int(float(centre_y) * height)), min(width - 1, int(float(centre_x) * width))] = True
    return mask


def highlighted_token(grid: PatchGrid, centre_x, centre_y) -> int:
    """The tubelet under the amoeba's centre, in the middle time slice."""
    gt, gh, gw = grid.shape
    _, ph, pw = grid.patch
    row = min(gh - 1, int(float(centre_y) * grid.height) // ph)
    col = min(gw - 1, int(float(centre_x) * grid.width) // pw)
    return grid.token_at(gt // 2, row, col)


@functools.lru_cache(maxsize=8)
def tubelet_embedding(patch: tuple[int, int, int]):
    """The DiT's tubelet-embedding layer (a Linear from pt*ph*pw*3 numbers to the model width), as the
    default model is initialised for this patch size: (weight (D, pt*ph*pw*3), bias (D,))."""
    config = dit_default()
    model = build_dit(DiTConfig(depth=config.depth, width=config.width, heads=config.heads, patch=patch))
    return model.embed.weight.detach().numpy().copy(), model.embed.bias.detach().numpy().copy()


def position_code(grid: PatchGrid, width: int, token: int):
    """The DiT's fixed 3D sin-cos position of `token`, (D,), and how D splits into time | row | column."""
    table = position_embedding(width, grid.shape, (0, 0, 0), torch.device("cpu"))
    return table[token].numpy(), axis_widths(width)


def noised_frames(clip, schedule_name: str, timesteps: list[int]) -> tuple[list[np.ndarray], np.ndarray]:
    """A few frames of the clip noised to each timestep with one fixed draw of noise, and alpha-bar."""
    schedule = get_schedule(schedule_name)
    picks = np.linspace(0, len(clip.frames) - 1, min(NOISE_FRAMES, len(clip.frames))).round().astype(int)
    x0 = torch.from_numpy(figures.to_unit(clip.frames[picks]))
    noise = torch.randn(x0.shape, generator=cpu_generator(NOISE_SEED))
    pictures = [figures.frames_grid(figures.to_pixels(add_noise(schedule, x0, noise, t).numpy()), columns=2)
                for t in timesteps]
    return pictures, schedule.alphas_cumprod.numpy()


# --- what each section shows -------------------------------------------------------------------------

def _fact(label: str, value: str, note: str = "", css: str = "") -> str:
    note = f"<i>{html.escape(note)}</i>" if note else ""
    return (f"<div class='fr-fact {css}'><span>{html.escape(label)}</span><b>{html.escape(value)}</b>"
            f"{note}</div>")


def reel_facts(clip, name: str) -> str:
    """What the file really held and what the explainer made of it, as chips."""
    source, grid = clip.source, clip.grid
    count, height, width, _ = clip.frames.shape
    claimed = source.reported_frames
    claim = f"the file claimed {claimed:,.0f}" if claimed and abs(claimed - source.frames_decoded) > 0.5 else ""
    used = sorted(set(clip.frame_indices))
    chips = [
        _fact("clip", name if len(name) <= 28 else name[:13] + "…" + name[-13:], "the reel below", "fr-name"),
        _fact("source", f"{source.width} × {source.height}", source.kind),
        _fact("frame rate", f"{source.fps:g} fps" if source.fps else "still image"),
        _fact("duration", f"{source.duration_s:.2f} s" if source.duration_s else "—"),
        _fact("frames decoded", f"{source.frames_decoded:,}", claim, "fr-warn" if claim else ""),
        _fact("frames used", f"{len(used)} of {source.frames_decoded:,}",
              "source frames " + ", ".join(str(i) for i in used[:6]) + (" …" if len(used) > 6 else "")),
        _fact("rotation", f"{source.rotation}°", "applied" if source.rotation else ""),
        _fact("truncated", "yes" if source.truncated else "no",
              "sampled over the part decoded" if source.truncated else "", "fr-warn" if source.truncated else ""),
        _fact("working size", f"{width} × {height}", f"{count} frames, no crop", "fr-key"),
        _fact("tubelets", f"{grid.tokens:,}", "{} × {} × {} grid".format(*grid.shape)),
    ]
    return "<div class='fr-facts'>" + "".join(chips) + "</div>"


def reel_summary(clip, crop: dict) -> dict:
    """The same facts as data, for the API."""
    grid = clip.grid
    return {"source": clip.source.as_dict(), "working_size": list(clip.frames.shape[:3]),
            "frame_indices": list(clip.frame_indices), "times_s": list(clip.times_s),
            "patch": list(grid.patch), "grid": list(grid.shape), "tokens": grid.tokens,
            "token_dim": grid.token_dim, "attention": grid.attention_cost(),
            "square_crop": {"area_kept": round(crop["area_kept"], 4), "tokens": crop["crop_tokens"]}}


def patch_stats(grid: PatchGrid, crop: dict) -> str:
    """Tokens and the cost of attention over them, as chips."""
    cost = grid.attention_cost()
    pt, ph, pw = grid.patch
    smaller = PatchGrid(grid.frames, grid.height, grid.width, (pt, max(1, ph // 2), max(1, pw // 2))) \
        if ph % 2 == 0 and pw % 2 == 0 and ph > 1 else None
    chips = [
        _fact("one tubelet", f"{pt} × {ph} × {pw}", f"{grid.token_dim:,} numbers"),
        _fact("tokens", f"{grid.tokens:,}", "{} × {} × {}".format(*grid.shape), "fr-key"),
        _fact("attention pairs", f"{cost['pairs']:,}", "every token with every token"),
        _fact("score memory", f"{cost['score_matrix_mb']:,.1f} MB", "per head, per layer (fp32)"),
        _fact("square crop", f"{crop['crop_tokens']:,} tokens", f"keeps {crop['area_kept']:.0%} of each frame"),
    ]
    if smaller is not None:
        growth = smaller.tokens**2 / grid.tokens**2
        chips.append(_fact(f"with {ph // 2}×{pw // 2} pixels", f"{smaller.tokens:,} tokens",
                           f"{growth:.0f}× the attention work"))
    return "<div class='fr-facts'>" + "".join(chips) + "</div>"


def show_reel(clip, name: str):
    labels = [f"{t:.2f}s" for t in clip.times_s]
    crop = square_crop_vs_native(*clip.frames.shape[1:3], len(clip.frames), clip.grid.patch)
    return figures.filmstrip(clip.frames, labels), reel_facts(clip, name), reel_summary(clip, crop)


def show_cut(clip, centre_x, centre_y, size, seed):
    """The amoeba on the middle frame, and the tube of its pieces stacked along time."""
    mask = amoeba_of(clip, centre_x, centre_y, size, seed)
    overlay = figures.amoeba_overlay(clip.frames[len(clip.frames) // 2], mask)
    tube = figures.amoeba_tube(clip.frames, mask, [f"{t:.2f}s" for t in clip.times_s])
    return overlay, figures.to_json(tube)


def show_tubelet(clip, centre_x, centre_y, size, seed):
    """The tubelet under the amoeba's centre, in the clip's volume; the cost of all tokens; its token;
    the sequence of tokens."""
    grid = clip.grid
    mask = amoeba_of(clip, centre_x, centre_y, size, seed)
    token = highlighted_token(grid, centre_x, centre_y)
    volume = figures.tubelet_volume(clip.frames, grid.patch, mask, token)
    weight, bias = tubelet_embedding(grid.patch)
    position, widths = position_code(grid, len(bias), token)
    story = figures.token_story(clip.frames[grid.pixels(token)], weight, bias, position, widths, token,
                                grid.index(token))
    sequence = figures.token_sequence(grid.shape, figures.token_colours(clip.frames, grid.patch),
                                      amoeba_tokens(grid, mask), token)
    crop = square_crop_vs_native(grid.height, grid.width, grid.frames, grid.patch)
    return figures.to_json(volume), patch_stats(grid, crop), figures.to_json(story), figures.to_json(sequence)


def show_crop(clip):
    return figures.to_json(figures.crop_vs_native(clip.frames[len(clip.frames) // 2], len(clip.frames),
                                                  clip.grid.patch))


def show_noise(clip, schedule, t):
    timesteps, current = figures.sweep_timesteps(1000, int(t))
    pictures, alpha_bar = noised_frames(clip, schedule, timesteps)
    return figures.to_json(figures.noising(pictures, timesteps, alpha_bar, current, schedule))


# --- the page's events -------------------------------------------------------------------------------

def dissect(clip_file, pt=DEFAULTS["pt"], ph=DEFAULTS["ph"], pw=DEFAULTS["pw"],
            centre_x=DEFAULTS["centre_x"], centre_y=DEFAULTS["centre_y"], size=DEFAULTS["size"],
            seed=DEFAULTS["seed"], schedule=DEFAULTS["schedule"], t=DEFAULTS["t"], progress=gr.Progress()):
    """A clip file -> every section's pictures: the reel, the amoeba cut, the patches, the tokens, the noise.

    Yields twice: first the reel and the amoeba cut (so the page shows them at once; the later sections
    keep what they showed), then everything; an API call gets the second, complete answer."""
    path = _path_of(clip_file)
    with readable_errors():
        progress(0.05, desc="Reading the clip")
        clip = load_clip(path, patch=_patch(pt, ph, pw))
        reel = ({"path": path, "clip": clip}, *show_reel(clip, Path(path).name))
        cut = show_cut(clip, centre_x, centre_y, size, seed)
        yield (*reel, *cut, *[gr.skip()] * 6)
        progress(0.5, desc="Cutting spacetime patches")
        tubelet = show_tubelet(clip, centre_x, centre_y, size, seed)
        progress(0.8, desc="Noising")
        yield (*reel, *cut, *tubelet, show_crop(clip), show_noise(clip, schedule, t))


def open_sample(name: str, *settings, progress=gr.Progress()):
    """A bundled sample, dissected (once per setting: every visitor starts on the same sample)."""
    yield from _sample_answers(name, tuple(settings))


@functools.lru_cache(maxsize=12)
def _sample_answers(name: str, settings: tuple) -> tuple:
    return tuple(dissect(sample_file(name), *settings))


def repatch(reel, *settings, progress=gr.Progress()):
    """The clip on show, cut again with another tubelet size (the working size re-fits to it)."""
    if not reel or "path" not in reel:
        raise gr.Error("Open a clip first: upload one or pick a sample.")
    yield from dissect(reel["path"], *settings, progress=progress)


def cut_amoeba(reel, centre_x, centre_y, size, seed):
    """The amoeba moved: first its cut and tube, then the tubelet and token under it."""
    clip = _clip_of(reel)
    with readable_errors():
        cut = show_cut(clip, centre_x, centre_y, size, seed)
        yield (*cut, *[gr.skip()] * 4)
        yield (*cut, *show_tubelet(clip, centre_x, centre_y, size, seed))


def place_amoeba(reel, event: gr.SelectData):
    """A click on the frame -> the amoeba's centre, as fractions of the frame."""
    clip = _clip_of(reel)
    _, height, width, _ = clip.frames.shape
    scale = figures.overlay_scale(height, width)
    x, y = event.index
    return round(min(1.0, (x + 0.5) / (width * scale)), 3), round(min(1.0, (y + 0.5) / (height * scale)), 3)


def noise_clip(reel, schedule, t):
    clip = _clip_of(reel)
    with readable_errors():
        return show_noise(clip, schedule, t)


# --- the page ----------------------------------------------------------------------------------------

def plotly_player(height: int, elem_id: str | None = None, **options) -> gr.HTML:
    """A place for one Plotly figure (its JSON as the value) that plays animation frames in the browser."""
    return gr.HTML(value=None, html_template=f'<div class="fr-plot" style="min-height:{int(height)}px"></div>',
                   js_on_load=(STATIC / "plotly_player.js").read_text(), elem_id=elem_id,
                   head=f'<script src="gradio_api/file={PLOTLY_JS}"></script>', **options)


def section(number: int, title: str, text: str) -> gr.Markdown:
    return gr.Markdown(f"<h2><span class='fr-num'>{number}</span>{html.escape(title)}</h2>\n\n{text}")


def build_demo() -> gr.Blocks:
    gr.set_static_paths([str(PLOTLY_JS)])
    with gr.Blocks(title="Film Reel: how a video diffusion transformer sees your clip") as demo:
        reel = gr.State()  # {"path": the clip file, "clip": explainer.clip.Clip}; later sections read it

        gr.Markdown("# Film Reel\nHow a Sora-style video model sees *your* clip: cut it into spacetime "
                    "patches, read them as tokens, drown them in noise, and (soon) bring them back with a "
                    "Diffusion Transformer.", elem_classes="fr-hero")

        # 1. The film reel ---------------------------------------------------------------------------
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
                        sample_buttons = {name: gr.Button(f"{name} sample", size="sm", elem_id=f"sample-{name}")
                                          for name in SAMPLES}
                with gr.Column(scale=2, min_width=300):
                    facts = gr.HTML("<div class='fr-empty'>Loading the sample clip…</div>", elem_id="facts")
            filmstrip = gr.Image(label="The reel: the sampled frames, their times in the clip on the edge",
                                 show_label=False, interactive=False, format="png", elem_classes="fr-reel",
                                 elem_id="filmstrip",
                                 buttons=["download", "fullscreen"])
            with gr.Accordion("The numbers, as data", open=False):
                summary = gr.JSON(label="What the clip became", elem_id="summary")

        # 2. The amoeba cut --------------------------------------------------------------------------
        with gr.Column(elem_classes="fr-section"):
            section(2, "The amoeba cut",
                    "Cut the same <span class='fr-amber'>amoeba-shaped piece</span> out of every frame and "
                    "stack the pieces in time order: you get a tube of colour that changes along time, a "
                    "piece of spacetime. Move the amoeba with the sliders or click on the frame; press Play "
                    "to stack the pieces again.")
            with gr.Row(equal_height=False):
                with gr.Column(scale=2, min_width=280):
                    cut_frame = gr.Image(label="Click to place the amoeba (middle frame)", interactive=False,
                                         format="png", elem_classes="fr-cut", elem_id="cut-frame",
                                         buttons=["fullscreen"])
                    centre_x = gr.Slider(0, 1, DEFAULTS["centre_x"], step=0.01, label="centre x", elem_id="centre-x")
                    centre_y = gr.Slider(0, 1, DEFAULTS["centre_y"], step=0.01, label="centre y", elem_id="centre-y")
                    size = gr.Slider(0.05, 0.6, DEFAULTS["size"], step=0.01, label="size")
                    seed = gr.Slider(0, 99, DEFAULTS["seed"], step=1, label="shape")
                with gr.Column(scale=3, min_width=300):
                    tube = plotly_player(540, elem_id="amoeba-tube")

        # 3. Spacetime patches -----------------------------------------------------------------------
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
                    volume = plotly_player(560, elem_id="tubelet-volume")
                with gr.Column(scale=2, min_width=260):
                    stats = gr.HTML(elem_id="patch-stats")
            gr.Markdown("Older U-Net video models wanted square inputs of one size, so a wide or tall clip "
                        "lost its sides to a centre crop. Patches take the frame as it is, at any shape.")
            crop = plotly_player(360, elem_id="crop-vs-native")

        # 4. Tokens ----------------------------------------------------------------------------------
        with gr.Column(elem_classes="fr-section"):
            section(4, "Tokens",
                    "The transformer never sees pictures, only lists of numbers. The "
                    "<span class='fr-pink'>pink tubelet</span>'s pixels are flattened into one list, a "
                    "linear layer turns the list into a token, and a fixed position code records where and "
                    "when the tubelet sat in the reel. Then all tokens are read as one sequence: the first "
                    "time slice row by row, then the next.")
            with gr.Row(equal_height=False):
                with gr.Column(min_width=320):
                    token = plotly_player(640, elem_id="token-story")
                with gr.Column(min_width=320):
                    sequence = plotly_player(660, elem_id="token-sequence")

        # 5. Noising ---------------------------------------------------------------------------------
        with gr.Column(elem_classes="fr-section"):
            section(5, "Noising",
                    "A diffusion model learns to remove noise, so it trains on clips drowned in it. At step t "
                    "each pixel becomes √ᾱ·clip + √(1−ᾱ)·<span class='fr-grey'>noise</span>: as t grows, "
                    "ᾱ falls and the reel dissolves into grey static. Press Play to sweep t from clean to noise.")
            with gr.Row():
                schedule = gr.Radio(["linear", "cosine"], value=DEFAULTS["schedule"], label="schedule",
                                    min_width=160, scale=1)
                t_step = gr.Slider(0, 999, DEFAULTS["t"], step=1, label="timestep t", min_width=240, scale=3)
            noise = plotly_player(460, elem_id="noising")

        # 6. Denoising with the DiT: step through a sampler from noise back to the clip. Read the clip
        #    from `reel`; play the steps with `plotly_player` + `figures.image_player`. Heavy work
        #    goes in the shared pool: concurrency_id="model".
        # 7. Fit to your clip: a short training run of the DiT on this clip, with progress.
        # 8. Downloads: the working clip, the tokens, the regenerated clip.

        gr.Markdown("References: Peebles & Xie, *Scalable Diffusion Models with Transformers* (DiT, "
                    "arXiv 2212.09748); Dehghani et al., *Patch n' Pack: NaViT* (arXiv 2307.06304); "
                    "OpenAI, *Video generation models as world simulators* (the Sora report).",
                    elem_classes="fr-footer")

        # --- events --------------------------------------------------------------------------------
        settings = [pt, ph, pw, centre_x, centre_y, size, seed, schedule, t_step]
        amoeba_views = [cut_frame, tube, volume, stats, token, sequence]
        everything = [reel, filmstrip, facts, summary, *amoeba_views, crop, noise]
        clip_file.upload(dissect, [clip_file, *settings], everything, api_name="dissect",
                         concurrency_id="model").then(
            lambda: None, None, clip_file, api_visibility="private")  # the box is ready for the next clip
        for name, button in sample_buttons.items():
            button.click(functools.partial(open_sample, name), settings, everything, api_name=f"sample_{name}",
                         concurrency_id="model")
        gr.on([pt.input, ph.input, pw.input], repatch, [reel, *settings], everything, api_name="patches",
              concurrency_id="model")
        gr.on([centre_x.release, centre_y.release, size.release, seed.release], cut_amoeba,
              [reel, centre_x, centre_y, size, seed], amoeba_views, api_name="amoeba")
        cut_frame.select(place_amoeba, reel, [centre_x, centre_y], api_name="place").then(
            cut_amoeba, [reel, centre_x, centre_y, size, seed], amoeba_views, api_visibility="private")
        gr.on([t_step.release, schedule.input], noise_clip, [reel, schedule, t_step], noise, api_name="noise")
        demo.load(functools.partial(open_sample, "wide"), settings, everything, api_name="load_sample",
                  concurrency_id="model")
    return demo


# --- starting it -------------------------------------------------------------------------------------

def film_theme() -> gr.themes.Base:
    """A dark film-base theme (the same in light and dark mode): amber accents, zinc greys."""
    theme = gr.themes.Base(primary_hue=gr.themes.colors.amber, secondary_hue=gr.themes.colors.pink,
                           neutral_hue=gr.themes.colors.zinc, radius_size=gr.themes.sizes.radius_md,
                           font=["Inter", "ui-sans-serif", "system-ui", "-apple-system", "Segoe UI", "sans-serif"],
                           font_mono=["ui-monospace", "SFMono-Regular", "Menlo", "monospace"])
    for name in list(vars(theme)):
        if name.endswith("_dark") and getattr(theme, name) is not None:
            setattr(theme, name[: -len("_dark")], getattr(theme, name))
    return theme.set(body_background_fill="#0f1013", body_background_fill_dark="#0f1013",
                     background_fill_primary="#15171c", background_fill_primary_dark="#15171c",
                     background_fill_secondary="#1b1d23", background_fill_secondary_dark="#1b1d23",
                     block_background_fill="#15171c", block_background_fill_dark="#15171c",
                     block_border_color="#2c3039", block_border_color_dark="#2c3039",
                     border_color_primary="#2c3039", border_color_primary_dark="#2c3039",
                     body_text_color="#ece8e1", body_text_color_dark="#ece8e1",
                     slider_color="#ffab2e", slider_color_dark="#ffab2e",
                     button_primary_background_fill="#ffab2e", button_primary_background_fill_dark="#ffab2e",
                     button_primary_text_color="#17130c", button_primary_text_color_dark="#17130c")


def launch_options() -> dict:
    """What `launch()` needs besides host and port: the theme and the page's CSS."""
    return dict(theme=film_theme(), css=(STATIC / "page.css").read_text())


def main(argv=None):
    parser = argparse.ArgumentParser(description="Film Reel: an explainer of video diffusion transformers")
    parser.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
                        help="address to serve on (0.0.0.0 to serve others)")
    parser.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", 7860)))
    parser.add_argument("--share", action="store_true", help="also make a public gradio.live link")
    parser.add_argument("--max-file-size", default="200mb", help="largest upload, e.g. 200mb")
    args = parser.parse_args(argv)
    demo = build_demo()
    demo.queue().launch(server_name=args.host, server_port=args.port, share=args.share,
                        max_file_size=args.max_file_size, prevent_thread_lock=True, **launch_options())
    if args.share:
        if demo.share_url:
            print(f"Public link: {demo.share_url}", flush=True)
        else:
            print("No public link: a share tunnel could not be made from this machine (offline or blocked). "
                  f"The page still runs locally at {demo.local_url}", flush=True)
    demo.block_thread()
