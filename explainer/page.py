"""The web page: a clip in, the film-reel story of how a Sora-style video model sees it, out.

`build_demo()` declares the page top to bottom in the order a person meets it, one numbered section after
another. The functions above it only adapt the page's inputs to the explainer's modules (clip, patches,
dit, diffusion, figures) and turn an ExplainerError into a message on the page.

Figures travel as Plotly JSON into `plotly_player` components (a gr.HTML drawn with the plotly.js of the
plotly wheel), because gr.Plot drops animation frames; `figures.image_player` builds an animated figure
from any list of pictures, and `figures.play_controls` adds Play/Pause and a slider to any figure.
"""
from __future__ import annotations

import contextlib
import functools
import html
import json
import threading
import time
from pathlib import Path

import gradio as gr
import numpy as np
import plotly
import torch

from . import figures, files
from .assets import SAMPLES, sample_file
from .clip import load_clip
from .device import cpu_generator, pick_device
from .diffusion import add_noise, get_schedule
from .dit import DiTConfig, axis_widths, build_dit, dit_default, position_embedding
from .errors import ExplainerError
from .fit import fit_clip, regenerate
from .patches import PatchGrid, amoeba_mask, amoeba_tokens, square_crop_vs_native
from .pixels import psnr_db, to_pixels, to_unit
from .trajectory import Trajectory, attention_map, denoise, trajectory_map, write_trajectory_video
from .weights import load_prior, training_minutes

STATIC = Path(__file__).resolve().parent / "static"
PLOTLY_JS = Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"
CLIP_TYPES = [".mp4", ".webm", ".mov", ".avi", ".mkv", ".m4v", ".gif", ".png", ".jpg", ".jpeg", ".webp", ".bmp"]
DEFAULTS = dict(pt=2, ph=8, pw=8, centre_x=0.5, centre_y=0.5, size=0.3, seed=0, schedule="linear", t=250)
NOISE_FRAMES = 4      # frames of the clip shown noised
NOISE_SEED = 0


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


def trained_patch() -> tuple[int, int, int] | None:
    """The tubelet the shipped prior was trained on (None when its weights cannot be read)."""
    try:
        return tuple(load_prior("cpu")[0].config.patch)
    except ExplainerError:
        return None


@functools.lru_cache(maxsize=8)
def tubelet_embedding(patch: tuple[int, int, int]):
    """The DiT's tubelet-embedding layer (a Linear from pt*ph*pw*3 numbers to the model width):
    (weight (D, pt*ph*pw*3), bias (D,)). The trained prior's own layer for the tubelet it was trained on;
    for another tubelet size, the default model's layer as initialised (untrained)."""
    if trained_patch() == tuple(patch):
        model = load_prior("cpu")[0]
    else:
        config = dit_default()
        model = build_dit(DiTConfig(depth=config.depth, width=config.width, heads=config.heads, patch=patch))
    return model.embed.weight.detach().numpy().copy(), model.embed.bias.detach().numpy().copy()


def embedding_name(patch: tuple[int, int, int]) -> str:
    """How the Tokens section names the layer `tubelet_embedding(patch)` returns."""
    trained = trained_patch()
    if trained == tuple(patch):
        return "the DiT's trained linear layer"
    if trained is None:
        return "an untrained linear layer"
    return "an untrained linear layer (the trained DiT cuts {}×{}×{})".format(*trained)


def position_code(grid: PatchGrid, width: int, token: int):
    """The DiT's fixed 3D sin-cos position of `token`, (D,), and how D splits into time | row | column."""
    table = position_embedding(width, grid.shape, (0, 0, 0), torch.device("cpu"))
    return table[token].numpy(), axis_widths(width)


def noised_frames(clip, schedule_name: str, timesteps: list[int]) -> tuple[list[np.ndarray], np.ndarray]:
    """A few frames of the clip noised to each timestep with one fixed draw of noise, and alpha-bar."""
    schedule = get_schedule(schedule_name)
    picks = np.linspace(0, len(clip.frames) - 1, min(NOISE_FRAMES, len(clip.frames))).round().astype(int)
    x0 = to_unit(clip.frames[picks])
    noise = torch.randn(x0.shape, generator=cpu_generator(NOISE_SEED))
    pictures = [figures.frames_grid(to_pixels(add_noise(schedule, x0, noise, t).numpy()), columns=2)
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
                                grid.index(token), layer=embedding_name(grid.patch))
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
    return tuple(dissect(str(sample_file(name)), *settings))


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


# --- 6. denoising: the DiT's reverse process on the clip's patches -----------------------------------

DENOISE = dict(sampler="ddim", steps=50, seed=0, start="noise", strength=0.6, eta=0.0)
STARTS = [("pure noise", "noise"), ("your clip, noised", "clip")]
MODELS = ["prior", "fitted to your clip"]
MAX_STEPS = 50
WORKING_SIDE = 128       # the clip's working size in sections 1-6 (load_clip's default)
FIT_SIDE = 64            # the fit's working size: fewer tokens buy more training steps in the budget
FIT_SECONDS = 60
FIT_MAX_SECONDS = 120


def prior_model():
    """The shipped prior, on the device the page computes on (CUDA when present). Never trained further:
    a fit trains a copy."""
    with readable_errors():
        return load_prior(str(pick_device()))[0]


def prior_note() -> str:
    """How the prior was made, from its own card: "trained 63 min on made-up clips"."""
    with readable_errors():
        card = load_prior(str(pick_device()))[1]
    return f"trained {training_minutes(card):.0f} min on made-up clips"


def request_folder() -> Path:
    """A fresh folder for one request's files (a video, an HTML file), under the server's work folder,
    which it sweeps (explainer/serve.py)."""
    return files.request_dir()


def shown(value):
    """A new value for a component that stays hidden until it has one."""
    return gr.update(value=value, visible=True)


def _source_path(clip_file, reel) -> str:
    """The clip an event works on: the file given (an API call), else the clip on show."""
    if clip_file:
        return _path_of(clip_file)
    if reel and reel.get("path"):
        return reel["path"]
    raise gr.Error("Open a clip first: upload one or pick a sample.")


def sampler_settings(sampler, steps, seed, start, strength, eta) -> dict:
    """The sampler's settings, checked: a bad one is a message on the page, never a traceback."""
    if sampler not in ("ddim", "ddpm"):
        raise gr.Error(f"The sampler is ddim or ddpm, not {sampler!r}.")
    if start not in ("noise", "clip"):
        raise gr.Error(f"Start from 'noise' or from the 'clip', not {start!r}.")
    try:
        steps, seed, strength, eta = int(steps), int(seed), float(strength), float(eta)
    except (TypeError, ValueError):
        raise gr.Error("Steps and seed are whole numbers; strength and eta are numbers.") from None
    if not 2 <= steps <= MAX_STEPS:
        raise gr.Error(f"Steps must be between 2 and {MAX_STEPS}.")
    if not 0 <= seed < 2**32:
        raise gr.Error("The seed must be a whole number from 0 to 4294967295.")
    if not 0 < strength <= 1:
        raise gr.Error("The strength must be above 0 and at most 1.")
    if not 0 <= eta <= 1:
        raise gr.Error("eta must be between 0 and 1.")
    return dict(sampler=sampler, steps=steps, seed=seed, start=start, strength=strength,
                eta=eta if sampler == "ddim" else 0.0)


def model_for(choice, fitted) -> tuple:
    """(model, working side, name) for the model chosen: the prior, or this session's fitted copy (which
    works at the fit's 64 px)."""
    if choice in (None, "", MODELS[0]):
        return prior_model(), WORKING_SIDE, "prior"
    if choice != MODELS[1]:
        raise gr.Error(f"The model is {MODELS[0]!r} or {MODELS[1]!r}, not {choice!r}.")
    if not fitted:
        raise gr.Error("Fit the DiT to your clip first (section 7), or choose the prior.")
    return fitted["model"], FIT_SIDE, f"fitted to {fitted['name']}"


def working_clip(path: str, side: int, reel, patch):
    """The clip cut with the model's tubelet at working size `side`: the clip on show when it already
    is that, else read again from its file."""
    on_show = (reel or {}).get("clip")
    if (on_show is not None and reel.get("path") == path and on_show.grid.patch == tuple(patch)
            and side == WORKING_SIDE):
        return on_show
    return load_clip(path, frames=16, max_side=side, patch=tuple(patch))


def keep_run(trajectory: Trajectory, model, name: str) -> dict:
    """What the page keeps of a run for its later views: every x_t as float16 (an attention map needs the
    exact noisy input, not its clipped pixels) and every guess x̂0 as pixels. Session state, not shared."""
    return {"model": model, "name": name, "timesteps": list(trajectory.timesteps),
            "latents": torch.stack(trajectory.latents).half(), "x0_hat": trajectory.x0_hat,
            "settings": dict(trajectory.settings), "figure": None}


def denoising_figure(trajectory: Trajectory, clip_frames: np.ndarray) -> str:
    """The run's middle clip frame, step by step (x_t | x̂0), beside the map of the whole path."""
    middle = trajectory.x_t.shape[1] // 2
    start = "pure noise" if trajectory.settings["start"] == "noise" else f"your clip at t = {trajectory.timesteps[0]}"
    fig = figures.denoising_within_budget(trajectory.x_t[:, middle], trajectory.x0_hat[:, middle],
                                          trajectory.timesteps, trajectory.snr,
                                          trajectory_map(trajectory, clip_frames), trajectory.psnr_db, start=start)
    return figures.to_json(fig)


def run_summary(trajectory: Trajectory, clip, name: str, model_name: str, seconds: float) -> dict:
    """The run as data, for the API."""
    return {"clip": name, "model": model_name, "working_size": list(clip.frames.shape[:3]),
            "tokens": clip.grid.tokens, **trajectory.settings, "model_calls": len(trajectory.timesteps),
            "seconds": round(seconds, 2), "timesteps": list(trajectory.timesteps),
            "x0_hat_psnr_db": [round(p, 3) for p in trajectory.psnr_db],
            "snr": [float(f"{s:.4g}") for s in trajectory.snr]}


def run_facts(summary: dict) -> str:
    """The run in chips: which model, from where, how long, how close the last guess came to the clip."""
    frames, height, width = summary["working_size"]
    sampler = summary["sampler"].upper() + (f", η = {summary['eta']:g}" if summary["sampler"] == "ddim" else "")
    start = ("pure noise" if summary["start"] == "noise" else f"your clip, strength {summary['strength']:g}")
    psnr = summary["x0_hat_psnr_db"]
    chips = [_fact("model", summary["model"], prior_note() if summary["model"] == "prior"
                   else "this session's copy", "fr-name"),
             _fact("sampler", sampler, f"seed {summary['seed']}"),
             _fact("start", start, f"t = {summary['timesteps'][0]}"),
             _fact("DiT calls", f"{summary['model_calls']}", f"in {summary['seconds']:.1f} s"),
             _fact("working size", f"{width} × {height}", f"{frames} frames, {summary['tokens']:,} tokens"),
             _fact("last guess x̂0", f"{psnr[-1]:.1f} dB", f"vs your clip (first {psnr[0]:.1f} dB)", "fr-key")]
    return "<div class='fr-facts'>" + "".join(chips) + "</div>"


def attention_defaults(run: dict) -> tuple[int, int, int]:
    """Where the attention view starts: the middle step (1-based), the last block, the centre patch of the
    middle time slice."""
    grid = _run_grid(run)
    gt, gh, gw = grid.shape
    return len(run["timesteps"]) // 2 + 1, len(run["model"].blocks), grid.token_at(gt // 2, gh // 2, gw // 2)


def _run_grid(run: dict) -> PatchGrid:
    return run["model"].grid(*run["x0_hat"].shape[1:4])


def attention_view(run, step, block, head, token):
    """Where patch `token` looks at sampler step `step` in block `block` (both counted from 1), for one
    head or the mean of them: (figure JSON, the clickable frame of the patch's time slice)."""
    if not run:
        raise gr.Error("Press Denoise first: attention is read from a denoising run.")
    model, grid = run["model"], _run_grid(run)
    try:
        step, block, token = int(step), int(block), int(token)
    except (TypeError, ValueError):
        raise gr.Error("Step, block and patch are whole numbers.") from None
    if not (1 <= step <= len(run["timesteps"]) and 1 <= block <= len(model.blocks) and 0 <= token < grid.tokens):
        raise gr.Error(f"This run has steps 1-{len(run['timesteps'])}, blocks 1-{len(model.blocks)} and patches "
                       f"0-{grid.tokens - 1}.")
    heads = model.config.heads
    if str(head) not in ["mean"] + [str(n) for n in range(1, heads + 1)]:
        raise gr.Error(f"Heads: 'mean' or a head from 1 to {heads}.")
    t = run["timesteps"][step - 1]
    one_step = Trajectory([t], None, None, None, [], latents=[run["latents"][step - 1].float()])
    weights = attention_map(model, one_step, 0, block - 1, token)  # (heads, gt, gh, gw)
    looks = weights.mean(0) if str(head) == "mean" else weights[int(head) - 1]  # (gt, gh, gw)
    it, ih, iw = grid.index(token)
    frames = run["x0_hat"][step - 1][::grid.patch[0]]  # the first frame of every time slice of the guess
    heads_name = f"the mean of its {heads} heads" if str(head) == "mean" else f"head {head}"
    patch = f"<span style='color:{figures.PATCH}'>patch #{token}</span>"
    note = (f"<span style='font-size:11px;color:{figures.MUTED}'>{heads_name}, over the guess x̂0 · "
            "brighter = more attention</span>")
    title = f"where {patch} looks at step {step} (t = {t}), block {block}<br>{note}"
    phone_title = f"where {patch} looks<br>at step {step} (t = {t}), block {block}<br>{note.replace(' · ', '<br>')}"
    fig = figures.attention_panels(frames, looks, grid.patch, (it, ih, iw), title, phone_title=phone_title)
    return figures.to_json(fig), figures.patch_picker(frames[it], grid.patch, (ih, iw))


def pick_patch(run, token, event: gr.SelectData):
    """A click on the frame -> the patch under it, in the same time slice."""
    if not run:
        raise gr.Error("Press Denoise first: attention is read from a denoising run.")
    grid = _run_grid(run)
    it, _, _ = grid.index(min(max(int(token), 0), grid.tokens - 1))
    _, ph, pw = grid.patch
    scale = figures.overlay_scale(grid.height, grid.width)
    x, y = event.index
    row = min(grid.shape[1] - 1, int(y) // (ph * scale))
    col = min(grid.shape[2] - 1, int(x) // (pw * scale))
    return grid.token_at(it, row, col)


def denoise_clip(clip_file, sampler=DENOISE["sampler"], steps=DENOISE["steps"], seed=DENOISE["seed"],
                 start=DENOISE["start"], strength=DENOISE["strength"], eta=DENOISE["eta"], model_choice=MODELS[0],
                 reel=None, fitted=None, progress=gr.Progress()):
    """A clip file (an API call) or the clip on show -> the DiT's reverse process on its patches.

    Outputs: the run (session state), the step-by-step figure with its trajectory map, the run's chips and
    data, the attention controls and view, and the run as a browser-playable video. On the page the answer
    comes in three parts (the run, then the attention, then the video, slowest to encode); an API call
    gets one complete answer."""
    path = _source_path(clip_file, reel)
    settings = sampler_settings(sampler, steps, seed, start, strength, eta)
    model, side, model_name = model_for(model_choice, fitted)
    live = not clip_file
    reveal = shown if live else (lambda value: value)  # the page shows hidden views; the API gets values
    with readable_errors():
        progress(0.0, desc="Reading the clip")
        clip = working_clip(path, side, reel, model.config.patch)

        def on_step(done, total):
            progress(done / total, desc=f"Denoising: step {done} of {total}")

        started = time.perf_counter()
        trajectory = denoise(model, clip.frames, **settings, on_step=on_step)
        seconds = time.perf_counter() - started
        run = keep_run(trajectory, model, Path(path).name)
        run["figure"] = denoising_figure(trajectory, clip.frames)
        summary = run_summary(trajectory, clip, Path(path).name, model_name, seconds)
        step, block, token = attention_defaults(run)
        grid = _run_grid(run)
        controls = (gr.update(maximum=len(run["timesteps"]), value=step),
                    gr.update(choices=list(range(1, len(model.blocks) + 1)), value=block),
                    gr.update(maximum=grid.tokens - 1, value=token)) if live else (step, block, token)
        answer = [run, reveal(run["figure"]), run_facts(summary), summary, *controls]
        if live:
            yield (*answer, gr.skip(), gr.skip(), gr.skip())
        attention = tuple(reveal(view) for view in attention_view(run, step, block, "mean", token))
        if live:
            yield (*[gr.skip()] * len(answer), *attention, gr.skip())
        progress(1.0, desc="Writing the video")
        scale = max(2, round(256 / clip.frames.shape[2]))  # about 256 px a side, however small the clip
        video = reveal(str(write_trajectory_video(trajectory, request_folder() / "denoising.webm", scale=scale)))
        yield (*answer, *attention, video) if not live else (*[gr.skip()] * (len(answer) + 2), video)


def show_attention(run, step, block, head, token):
    """The attention view for the page's controls (a bad setting is a message)."""
    with readable_errors():
        return attention_view(run, step, block, head, token)


# --- 7. fitting the DiT to one clip ------------------------------------------------------------------

class _Stopped(Exception):
    """The person left: a fit in the background stops at its next step."""


def fit_in_background(model, x0: torch.Tensor, seconds: float, seed: int):
    """Start `fit_clip` on a thread: (thread, log of (step, loss, elapsed), result dict, stop event)."""
    log, result, stop = [], {}, threading.Event()

    def callback(step, loss, elapsed):
        log.append((step, loss, elapsed))
        if stop.is_set():
            raise _Stopped

    def work():
        try:
            result["fit"] = fit_clip(model, x0, seconds=seconds, seed=seed, callback=callback)
        except _Stopped:
            pass
        except Exception as error:  # handed to the page's thread, which reports it
            result["error"] = error

    thread = threading.Thread(target=work, name="fit", daemon=True)
    thread.start()
    return thread, log, result, stop


def fit_facts(summary: dict) -> str:
    """The fit in chips: its working size, steps, loss, and both models' PSNR against the clip."""
    frames, height, width = summary["working_size"]
    chips = [_fact("working size", f"{width} × {height}", f"{frames} frames, {summary['tokens']:,} tokens"),
             _fact("training steps", f"{summary['steps']:,}", f"in {summary['seconds']:.0f} s "
                   f"({summary['steps'] / max(summary['seconds'], 1e-9):.1f} a second)"),
             _fact("loss", f"{summary['final_loss']:.4f}", "mean of the last 20 steps"),
             _fact("prior, from noise", f"{summary['prior_psnr_db']:.1f} dB", "vs your clip"),
             _fact("fitted, same noise", f"{summary['fitted_psnr_db']:.1f} dB", "vs your clip", "fr-key")]
    return "<div class='fr-facts'>" + "".join(chips) + "</div>"


def fit_to_clip(clip_file, seconds=FIT_SECONDS, seed=0, reel=None, progress=gr.Progress()):
    """A clip file (an API call) or the clip on show -> a copy of the prior fine-tuned on it for `seconds`,
    then the prior and the fitted copy regenerate the clip from the same pure noise.

    Yields the loss curve about once a second while training; the last answer holds the fitted model
    (session state), the final loss curve, the comparison, its chips and data, and the model choice of
    section 6 (now offering the fitted copy)."""
    path = _source_path(clip_file, reel)
    try:
        seconds, seed = float(seconds), int(seed)
    except (TypeError, ValueError):
        raise gr.Error("Seconds and seed are numbers.") from None
    # fits take turns in their own pool: on a shared link a longer one would keep the next visitor waiting
    if not 1 <= seconds <= FIT_MAX_SECONDS or not 0 <= seed < 2**32:
        raise gr.Error(f"Fit for 1 to {FIT_MAX_SECONDS} seconds, with a seed from 0 to 4294967295.")
    prior = prior_model()
    with readable_errors():
        progress(0.0, desc="Reading the clip at 64 px")
        clip = load_clip(path, frames=16, max_side=FIT_SIDE, patch=prior.config.patch)
    x0 = to_unit(clip.frames)
    quiet = (gr.skip(),) * 4
    thread, log, result, stop = fit_in_background(prior, x0, seconds, seed)
    try:
        while thread.is_alive():
            thread.join(timeout=1.0)
            elapsed = log[-1][2] if log else 0.0
            progress(min(0.99, elapsed / seconds),
                     desc=f"Fitting: step {len(log)}, {elapsed:.0f} of {seconds:.0f} s")
            if not clip_file:
                losses = [loss for _, loss, _ in list(log)]
                yield gr.skip(), shown(figures.to_json(figures.loss_curve(losses, elapsed, seconds))), *quiet
    finally:
        stop.set()
    if "error" in result:
        raise gr.Error(f"The fit stopped: {result['error']}")
    fit = result["fit"]
    progress(0.99, desc="Both models regenerate the clip from the same noise")
    prior_clip = regenerate(prior, x0.shape, seed=seed)
    fitted_clip = regenerate(fit.model, x0.shape, seed=seed)
    name = Path(path).name
    summary = {"clip": name, "working_size": list(clip.frames.shape[:3]), "tokens": clip.grid.tokens,
               "seconds_budget": seconds, "seed": seed, "steps": fit.steps, "seconds": round(fit.seconds, 1),
               "final_loss": round(float(np.mean(fit.losses[-20:])) if fit.losses else float("nan"), 5),
               "prior_psnr_db": round(psnr_db(prior_clip, x0), 2),
               "fitted_psnr_db": round(psnr_db(fitted_clip, x0), 2)}
    loss = figures.to_json(figures.loss_curve(fit.losses, fit.seconds, seconds, done=True))
    compare = figures.to_json(figures.regeneration(
        clip.frames, to_pixels(prior_clip.numpy()), to_pixels(fitted_clip.numpy()),
        summary["prior_psnr_db"], summary["fitted_psnr_db"], [f"{t:.2f}s" for t in clip.times_s]))
    fitted = {"model": fit.model, "name": name, "path": path, "loss": loss, "regeneration": compare}
    reveal = shown if not clip_file else (lambda value: value)  # the page shows hidden views; the API gets values
    yield (fitted, reveal(loss), reveal(compare), fit_facts(summary), summary, reveal(MODELS[1]))


# --- 8. taking it with you ---------------------------------------------------------------------------

EXPORTS = {"the amoeba cut (2)": "tube", "the tubelets in the clip (3)": "volume",
           "square crop vs native (3)": "crop", "one tubelet becomes a token (4)": "token",
           "the token sequence (4)": "sequence", "noising (5)": "noise",
           "denoising and its trajectory map (6)": "denoising", "where one patch looks (6)": "attention",
           "the loss curve (7)": "loss", "prior vs fitted (7)": "regeneration"}


def figure_json(which, reel, centre_x, centre_y, size, seed, schedule, t, run, step, block, head, token,
                fitted) -> str:
    """The figure named `which` as the page shows it now (sections 1-5 are drawn again from their
    settings; later ones come from this session's run and fit)."""
    kind = EXPORTS.get(which)
    if kind is None:
        raise gr.Error(f"Pick a figure: one of {', '.join(EXPORTS)}.")
    if kind in ("loss", "regeneration"):
        if not fitted:
            raise gr.Error("Fit the DiT to your clip first (section 7).")
        return fitted[kind]
    if kind == "denoising":
        if not run:
            raise gr.Error("Press Denoise first (section 6).")
        return run["figure"]
    if kind == "attention":
        return show_attention(run, step, block, head, token)[0]
    clip = _clip_of(reel)
    with readable_errors():
        if kind == "tube":
            return show_cut(clip, centre_x, centre_y, size, seed)[1]
        if kind == "crop":
            return show_crop(clip)
        if kind == "noise":
            return show_noise(clip, schedule, t)
        volume, _, story, sequence = show_tubelet(clip, centre_x, centre_y, size, seed)
        return {"volume": volume, "token": story, "sequence": sequence}[kind]


def standalone_html(figure: str, title: str) -> str:
    """One figure as a self-contained HTML page: plotly.js inlined, so it plays offline."""
    import plotly.io

    page = plotly.io.to_html(json.loads(figure), include_plotlyjs=True, full_html=True, auto_play=False,
                             validate=False, config={"displaylogo": False, "responsive": True})
    head = (f"<head><title>Film Reel: {html.escape(title)}</title>"
            f"<style>body {{ background: {figures.PAPER}; margin: 0; }}</style>")
    return page.replace("<head>", head, 1)


def figure_file(which, reel, centre_x, centre_y, size, seed, schedule, t, run, step, block, head, token, fitted):
    """The figure `which` as a standalone interactive HTML file, in this request's own folder."""
    text = figure_json(which, reel, centre_x, centre_y, size, seed, schedule, t, run, step, block, head, token,
                       fitted)
    path = request_folder() / f"film-reel-{EXPORTS[which]}.html"
    path.write_text(standalone_html(text, which), encoding="utf-8")
    return str(path)


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
                    "patches, read them as tokens, drown them in noise, and bring them back with a "
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

        # 6. Denoising ------------------------------------------------------------------------------
        run = gr.State(time_to_live=1800)     # this session's last denoising run (see keep_run)
        fitted = gr.State(time_to_live=3600)  # this session's fitted copy of the DiT; never shared
        with gr.Column(elem_classes="fr-section"):
            section(6, "Denoising",
                    "Now the film runs backwards: the DiT looks at a reel of <span class='fr-grey'>pure "
                    "noise</span> (or your clip drowned part-way in it) and guesses the clean clip, x̂0, patch "
                    "by patch (each token paints its patch and a 2-pixel margin it shares with its "
                    "neighbours, so no seam is left to one side alone); the sampler steps a little towards "
                    "that guess, and the DiT guesses again. Press "
                    "Play to watch the guess sharpen while the map follows the whole noisy reel, squeezed to "
                    "two directions, on its way back. This small DiT learned from made-up clips only, so from "
                    "pure noise it paints a patchwork of soft colours; start from your clip to see it clean "
                    "what it is given.")
            api_clip = gr.File(visible=False, file_types=CLIP_TYPES, type="filepath")  # the API's clip input
            with gr.Row(equal_height=False):
                with gr.Column(scale=1, min_width=250):
                    model_choice = gr.Radio(MODELS, value=MODELS[0], label="model", visible=False,
                                            elem_id="model-choice")
                    start = gr.Radio(STARTS, value=DENOISE["start"], label="start from", elem_id="start")
                    strength = gr.Slider(0.05, 1.0, DENOISE["strength"], step=0.05, visible=False,
                                         label="strength: how far into the noise", elem_id="strength")
                    sampler = gr.Radio(["ddim", "ddpm"], value=DENOISE["sampler"], label="sampler",
                                       elem_id="sampler")
                    steps = gr.Slider(2, MAX_STEPS, DENOISE["steps"], step=1, label="steps", elem_id="steps")
                    eta = gr.Slider(0, 1, DENOISE["eta"], step=0.05, label="η: fresh noise in each DDIM step",
                                    elem_id="eta")
                    noise_seed = gr.Number(DENOISE["seed"], precision=0, minimum=0, maximum=2**32 - 1,
                                           label="noise seed", elem_id="noise-seed")
                    denoise_button = gr.Button("Denoise", variant="primary", elem_id="denoise-button")
                with gr.Column(scale=4, min_width=300):
                    run_chips = gr.HTML("<div class='fr-empty'>Press Denoise: the DiT runs on this clip's "
                                        "patches (a few seconds on a CPU).</div>", elem_id="run-facts")
                    trajectory = plotly_player(470, elem_id="denoising", visible=False)
            gr.Markdown("### Where one patch looks\nIn every block each patch asks all the others what they "
                        "hold. Pick a <span class='fr-pink'>patch</span> (click the frame or slide its "
                        "number): the frames of every time slice light up where it looks, and each caption "
                        "gives the share of its attention that lands on that slice.")
            with gr.Row(equal_height=False):
                with gr.Column(scale=1, min_width=260):
                    query_frame = gr.Image(label="Click a patch (its time slice of the guess x̂0)",
                                           interactive=False, format="png", elem_classes="fr-cut",
                                           elem_id="query-frame", buttons=["fullscreen"], visible=False)
                    query = gr.Slider(0, 1151, 580, step=1, label="patch (token number)", elem_id="query")
                    att_step = gr.Slider(1, MAX_STEPS, 26, step=1, label="step", elem_id="att-step")
                    att_block = gr.Radio([1, 2, 3, 4], value=4, label="block", elem_id="att-block")
                    att_head = gr.Dropdown([("the mean of all heads", "mean"), ("head 1", "1"), ("head 2", "2"),
                                            ("head 3", "3")], value="mean", label="heads", elem_id="att-head")
                with gr.Column(scale=3, min_width=300):
                    attention = plotly_player(420, elem_id="attention", visible=False)
            with gr.Accordion("The run, as data", open=False):
                run_data = gr.JSON(label="the denoising run", elem_id="run-summary")

        # 7. Fit the DiT to your clip ---------------------------------------------------------------
        with gr.Column(elem_classes="fr-section"):
            section(7, "Fit the DiT to your clip",
                    "A copy of the DiT trains on your clip alone (drown it in noise at a random step, ask for "
                    "the clean clip back, nudge the weights) again and again while the loss falls; it works "
                    "on the clip at 64 px, because a minute on a CPU buys enough steps at 64 px. Then the "
                    "prior and the fitted copy start from the same pure noise, and the fitted one should bring "
                    "back something closer to your reel.")
            with gr.Row(equal_height=False):
                with gr.Column(scale=1, min_width=250):
                    fit_seconds = gr.Slider(10, FIT_MAX_SECONDS, FIT_SECONDS, step=5, label="seconds of training",
                                            elem_id="fit-seconds")
                    fit_seed = gr.Number(0, precision=0, minimum=0, maximum=2**32 - 1, elem_id="fit-seed",
                                         label="seed (the training draws and the noise both models start from)")
                    fit_button = gr.Button("Fit to this clip", variant="primary", elem_id="fit-button")
                with gr.Column(scale=3, min_width=300):
                    fit_chips = gr.HTML("<div class='fr-empty'>Press Fit: the loss curve draws itself while "
                                        "the DiT trains.</div>", elem_id="fit-facts")
                    loss = plotly_player(340, elem_id="loss-curve", visible=False)
            regenerated = plotly_player(400, elem_id="regeneration", visible=False)
            with gr.Accordion("The fit, as data", open=False):
                fit_data = gr.JSON(label="the fit", elem_id="fit-summary")

        # 8. Take it with you -----------------------------------------------------------------------
        with gr.Column(elem_classes="fr-section"):
            section(8, "Take it with you",
                    "Each denoising run (section 6) becomes a video that plays in any browser: x_t on the "
                    "left, the guess x̂0 on the right, one video frame per step, the clip's frames running "
                    "along. And any figure of this page leaves as one interactive HTML file that works offline.")
            with gr.Row(equal_height=False):
                with gr.Column(scale=3, min_width=300):
                    run_video = gr.Video(label="the denoising run (.webm)", interactive=False, loop=True,
                                         elem_id="trajectory-video", visible=False)
                with gr.Column(scale=2, min_width=260):
                    which = gr.Dropdown(list(EXPORTS), value="denoising and its trajectory map (6)",
                                        label="which figure", elem_id="which-figure")
                    export_button = gr.Button("Make the HTML file", elem_id="export-button")
                    exported = gr.File(label="the figure, as one HTML file", interactive=False, height=90,
                                       elem_id="exported", visible=False)  # shown once there is a file

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
        # sections 6-8: the model's heavy work shares the "model" pool with reading clips
        run_views = [run, trajectory, run_chips, run_data, att_step, att_block, query, attention, query_frame,
                     run_video]
        denoise_button.click(denoise_clip, [api_clip, sampler, steps, noise_seed, start, strength, eta, model_choice,
                                            reel, fitted], run_views, api_name="denoise", concurrency_id="model",
                             show_progress_on=[run_chips])  # never over the run as it plays
        sampler.input(lambda name: gr.update(visible=name == "ddim"), sampler, eta, api_visibility="private")
        start.input(lambda where: gr.update(visible=where == "clip"), start, strength, api_visibility="private")
        attention_settings = [run, att_step, att_block, att_head, query]
        gr.on([att_step.release, query.release, att_block.input, att_head.input], show_attention,
              attention_settings, [attention, query_frame], api_name="attention")
        query_frame.select(pick_patch, [run, query], query, api_name="pick_patch").then(
            show_attention, attention_settings, [attention, query_frame], api_visibility="private")
        fit_button.click(fit_to_clip, [api_clip, fit_seconds, fit_seed, reel],
                         [fitted, loss, regenerated, fit_chips, fit_data, model_choice], api_name="fit",
                         concurrency_id="fit", show_progress_on=[fit_chips])  # long: its own pool (serve.py)
        export_button.click(figure_file, [which, reel, centre_x, centre_y, size, seed, schedule, t_step,
                                          *attention_settings[:4], query, fitted], exported, api_name="figure_html"
                            ).success(lambda: gr.update(visible=True), None, exported, api_visibility="private")
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
    """Serve the page (flags, queue, pools, temp files and binding: explainer/serve.py) until stopped."""
    from . import serve

    args = serve.parse_args(argv)
    files.use_temp_root()  # before the page is built: Gradio reads its cache folder then
    demo = build_demo()
    serve.start(demo, args, **launch_options())
    if args.share:
        if demo.share_url:
            print(f"Public link: {demo.share_url}", flush=True)
        else:
            print("No public link: a share tunnel could not be made from this machine (offline or blocked). "
                  f"The page still runs locally at {demo.local_url}", flush=True)
    demo.block_thread()
