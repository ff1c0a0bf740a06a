"""One clip's story: the film reel, the amoeba cut, spacetime patches, tokens, noising.

Each `show_*` takes the clip on show and that section's settings and returns what the section shows.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import torch

from .. import figures
from ..clip import Clip
from ..device import cpu_generator
from ..diffusion import add_noise, get_schedule
from ..dit import DiTConfig, axis_widths, build_dit, dit_default, position_embedding
from ..errors import ExplainerError
from ..patches import PatchGrid, amoeba_mask, amoeba_tokens, square_crop_vs_native
from ..pixels import to_pixels, to_unit
from ..weights import load_prior
from . import common
from .common import chips, fact

TUBELETS = {"pt": [1, 2, 4], "ph": [4, 8, 16], "pw": [4, 8, 16]}  # the tubelet sizes the page offers
DEFAULTS = dict(pt=2, ph=8, pw=8, centre_x=0.5, centre_y=0.5, size=0.3, shape=0, schedule="linear", t=250,
                window_start=0)
NOISE_FRAMES = 4      # frames of the clip shown noised
NOISE_SEED = 0


@dataclass(frozen=True)
class Amoeba:
    """Where the amoeba sits: its centre as fractions of the frame, its size, and its shape (the seed that
    draws its outline)."""

    centre_x: float = DEFAULTS["centre_x"]
    centre_y: float = DEFAULTS["centre_y"]
    size: float = DEFAULTS["size"]
    shape: int = DEFAULTS["shape"]

    @classmethod
    def of(cls, centre_x, centre_y, size, shape) -> Amoeba:
        """From the page's controls (which may hand over strings or floats)."""
        return cls(float(centre_x), float(centre_y), float(size), int(shape))


# --- 1. The film reel --------------------------------------------------------------------------------

TIMELINE_FRAMES = 12  # small frames of the whole clip on its timeline


def open_clip(path: str, patch, window_start=0) -> Clip:
    """The clip at `path`, at the working size, cut into tubelets of `patch` (pt, ph, pw): the window of
    consecutive frames starting at source frame `window_start`, and small frames of the whole clip."""
    window = common.window_of(None, path, window_start)
    return common.load_clip(path, patch=tuple(int(side) for side in patch), thumbnails=TIMELINE_FRAMES, **window)


def model_frame_rate(clip) -> float:
    """The frames a second the model sees: the source's rate over the window's stride (0 for a still)."""
    return clip.source.fps / max(clip.stride, 1) if clip.source.fps else 0.0


def window_facts(clip) -> list[str]:
    """The window in chips: its first and last source frame and their times, and the frame rate it makes."""
    first, last = clip.window
    fps = clip.source.fps
    if not fps or clip.source.frames_decoded <= 1:
        return [fact("window", "one frame", "a still is a one-frame clip", "fr-key")]
    return [fact("window", f"frames {first:,}–{last:,}", f"{first / fps:.2f}–{last / fps:.2f} s of "
                 f"{clip.source.duration_s:.2f} s", "fr-key"),
            fact("the model sees", f"{model_frame_rate(clip):.3g} fps",
                 "every frame" if clip.stride == 1 else f"one frame in {clip.stride} of {fps:g} fps")]


def reel_facts(clip, name: str) -> str:
    """What the file really held and what the explainer made of it, as chips."""
    source, grid = clip.source, clip.grid
    count, height, width, _ = clip.frames.shape
    claimed = source.reported_frames
    claim = f"the file claimed {claimed:,.0f}" if claimed and abs(claimed - source.frames_decoded) > 0.5 else ""
    used = sorted(set(clip.frame_indices))
    return chips([
        fact("clip", name if len(name) <= 28 else name[:13] + "…" + name[-13:], "the reel below", "fr-name"),
        fact("source", f"{source.width} × {source.height}", source.kind),
        fact("frame rate", f"{source.fps:g} fps" if source.fps else "still image"),
        fact("duration", f"{source.duration_s:.2f} s" if source.duration_s else "—"),
        fact("frames decoded", f"{source.frames_decoded:,}", claim, "fr-warn" if claim else ""),
        *window_facts(clip),
        fact("frames used", f"{len(used)} of {source.frames_decoded:,}",
             "source frames " + ", ".join(str(i) for i in used[:6]) + (" …" if len(used) > 6 else "")),
        fact("rotation", f"{source.rotation}°", "applied" if source.rotation else ""),
        fact("truncated", "yes" if source.truncated else "no",
             "sampled over the part decoded" if source.truncated else "", "fr-warn" if source.truncated else ""),
        fact("working size", f"{width} × {height}", f"{count} frames, no crop", "fr-key"),
        fact("tubelets", f"{grid.tokens:,}", "{} × {} × {} grid".format(*grid.shape)),
    ])


def reel_summary(clip, crop: dict) -> dict:
    """The same facts as data, for the API."""
    grid = clip.grid
    return {"source": clip.source.as_dict(), "working_size": list(clip.frames.shape[:3]),
            "frame_indices": list(clip.frame_indices), "times_s": list(clip.times_s),
            "window": list(clip.window), "stride": clip.stride, "model_fps": round(model_frame_rate(clip), 3),
            "patch": list(grid.patch), "grid": list(grid.shape), "tokens": grid.tokens,
            "token_dim": grid.token_dim, "attention": grid.attention_cost(),
            "square_crop": {"area_kept": round(crop["area_kept"], 4), "tokens": crop["crop_tokens"]}}


def show_reel(clip, name: str) -> tuple[np.ndarray, str, dict]:
    """The filmstrip of the window's frames, the clip's fact chips, and the same facts as data."""
    labels = [f"{t:.2f}s" for t in clip.times_s]
    crop = square_crop_vs_native(*clip.frames.shape[1:3], len(clip.frames), clip.grid.patch)
    return figures.filmstrip(clip.frames, labels), reel_facts(clip, name), reel_summary(clip, crop)


def show_timeline(clip) -> np.ndarray | None:
    """The whole clip as a row of small frames with the window marked (None for a one-frame clip)."""
    frames = clip.source.frames_decoded
    if clip.thumbnails is None or frames <= 1:
        return None
    fps = clip.source.fps or 1.0
    first, last = clip.window
    labels = ("0 s", f"the window: {first / fps:.2f}–{last / fps:.2f} s", f"{frames / fps:.2f} s")
    return figures.timeline(clip.thumbnails, frames, clip.window, labels)


def window_at(clip, x: int, image_width: int) -> int:
    """A click at column `x` of the timeline -> the window's first frame, so the window centres there (as
    far as the clip allows)."""
    frames = clip.source.frames_decoded
    centre = figures.timeline_frame_at(x, image_width, frames)
    span = clip.window[1] - clip.window[0] + 1
    return max(0, min(centre - span // 2, frames - span))


# --- 2. The amoeba cut -------------------------------------------------------------------------------

def amoeba_of(clip, amoeba: Amoeba) -> np.ndarray:
    """The amoeba mask on the working frame (never empty: at least the pixel under its centre)."""
    _, height, width, _ = clip.frames.shape
    mask = amoeba_mask(height, width, (amoeba.centre_x, amoeba.centre_y), amoeba.size, amoeba.shape)
    if not mask.any():
        mask[min(height - 1, int(amoeba.centre_y * height)), min(width - 1, int(amoeba.centre_x * width))] = True
    return mask


def show_cut(clip, amoeba: Amoeba) -> tuple[np.ndarray, str]:
    """The amoeba on the middle frame, and the tube of its pieces stacked along time."""
    mask = amoeba_of(clip, amoeba)
    overlay = figures.amoeba_overlay(clip.frames[len(clip.frames) // 2], mask)
    tube = figures.amoeba_tube(clip.frames, mask, [f"{t:.2f}s" for t in clip.times_s])
    return overlay, figures.to_json(tube)


def amoeba_centre_at(clip, x: int, y: int) -> tuple[float, float]:
    """A click at pixel (x, y) of the shown frame -> the amoeba's centre, as fractions of the frame."""
    _, height, width, _ = clip.frames.shape
    scale = figures.overlay_scale(height, width)
    return round(min(1.0, (x + 0.5) / (width * scale)), 3), round(min(1.0, (y + 0.5) / (height * scale)), 3)


# --- 3. Spacetime patches ----------------------------------------------------------------------------

def highlighted_token(grid: PatchGrid, amoeba: Amoeba) -> int:
    """The token of the tubelet under the amoeba's centre, in the middle time slice."""
    gt, gh, gw = grid.shape
    _, ph, pw = grid.patch
    row = min(gh - 1, int(amoeba.centre_y * grid.height) // ph)
    col = min(gw - 1, int(amoeba.centre_x * grid.width) // pw)
    return grid.token_at(gt // 2, row, col)


def patch_stats(grid: PatchGrid, crop: dict) -> str:
    """Tokens and the cost of attention over them, as chips."""
    cost = grid.attention_cost()
    pt, ph, pw = grid.patch
    smaller = PatchGrid(grid.frames, grid.height, grid.width, (pt, max(1, ph // 2), max(1, pw // 2))) \
        if ph % 2 == 0 and pw % 2 == 0 and ph > 1 else None
    facts = [
        fact("one tubelet", f"{pt} × {ph} × {pw}", f"{grid.token_dim:,} numbers"),
        fact("tokens", f"{grid.tokens:,}", "{} × {} × {}".format(*grid.shape), "fr-key"),
        fact("attention pairs", f"{cost['pairs']:,}", "every token with every token"),
        fact("score memory", f"{cost['score_matrix_mb']:,.1f} MB", "per head, per layer (fp32)"),
        fact("square crop", f"{crop['crop_tokens']:,} tokens", f"keeps {crop['area_kept']:.0%} of each frame"),
    ]
    if smaller is not None:
        growth = smaller.tokens**2 / grid.tokens**2
        facts.append(fact(f"with {ph // 2}×{pw // 2} pixels", f"{smaller.tokens:,} tokens",
                          f"{growth:.0f}× the attention work"))
    return chips(facts)


def show_crop(clip) -> str:
    """What a square centre crop keeps of the middle frame, beside the native frame cut into patches."""
    return figures.to_json(figures.crop_vs_native(clip.frames[len(clip.frames) // 2], len(clip.frames),
                                                  clip.grid.patch))


def show_packing(clip, name: str) -> str:
    """The clip packed beside the bundled samples and a still image (Patch n' Pack), its attention mask,
    and what packing saves against padding each clip to the budget or cropping it square."""
    return figures.to_json(figures.packing([(name, clip.grid), *figures.sample_grids(clip.grid.patch)]))


# --- 4. Tokens ---------------------------------------------------------------------------------------

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


def show_tubelet(clip, amoeba: Amoeba) -> tuple[str, str, str, str]:
    """The tubelet under the amoeba's centre in the clip's volume, the cost of all tokens, the token it
    becomes, and the sequence of tokens."""
    grid = clip.grid
    mask = amoeba_of(clip, amoeba)
    token = highlighted_token(grid, amoeba)
    volume = figures.tubelet_volume(clip.frames, grid.patch, mask, token)
    weight, bias = tubelet_embedding(grid.patch)
    position, widths = position_code(grid, len(bias), token)
    story = figures.token_story(clip.frames[grid.pixels(token)], weight, bias, position, widths, token,
                                grid.index(token), layer=embedding_name(grid.patch))
    sequence = figures.token_sequence(grid.shape, figures.token_colours(clip.frames, grid.patch),
                                      amoeba_tokens(grid, mask), token)
    crop = square_crop_vs_native(grid.height, grid.width, grid.frames, grid.patch)
    return figures.to_json(volume), patch_stats(grid, crop), figures.to_json(story), figures.to_json(sequence)


# --- 5. Noising --------------------------------------------------------------------------------------

def noised_frames(clip, schedule_name: str, timesteps: list[int]) -> tuple[list[np.ndarray], np.ndarray]:
    """A few frames of the clip noised to each timestep with one fixed draw of noise, and alpha-bar."""
    schedule = get_schedule(schedule_name)
    picks = np.linspace(0, len(clip.frames) - 1, min(NOISE_FRAMES, len(clip.frames))).round().astype(int)
    x0 = to_unit(clip.frames[picks])
    noise = torch.randn(x0.shape, generator=cpu_generator(NOISE_SEED))
    pictures = [figures.frames_grid(to_pixels(add_noise(schedule, x0, noise, t).numpy()), columns=2)
                for t in timesteps]
    return pictures, schedule.alphas_cumprod.numpy()


def show_noise(clip, schedule: str, t) -> str:
    """The clip noised along a sweep of timesteps, starting at `t`."""
    timesteps, current = figures.sweep_timesteps(1000, int(t))
    pictures, alpha_bar = noised_frames(clip, schedule, timesteps)
    return figures.to_json(figures.noising(pictures, timesteps, alpha_bar, current, schedule))
