"""The three claims the explainer tests of Sora's design, measured on one clip.

1. Cropping loses the composition. From the same prior and the same budget, one copy fits the clip's
   centre square (each crop keeps its own position in the frame, so only the sides go unseen) and one fits
   the native frames; both then generate the clip at its native shape from the same noise. Each result is
   scored by PSNR against the clip in the centre square and in the sides separately.
2. Frames denoised apart flicker. One copy fits with attention kept inside each time slice (the pt frames
   of one row of tubelets: the nearest this model comes to an image model run frame by frame), one with
   full spacetime attention (the native copy of claim 1); both denoise the clip noised part-way, with the
   same noise. Flicker is the
   mean absolute change from one frame to the next, in pixel levels 0-255, against the clip's own.
3. Predicting the next patch. The prior (as shipped: no fit) makes the clip's later time slices from its
   first slice, given clean at t = 0, and the same noise two ways: all at once (every unknown slice in one
   sequence, denoised together: the DiT's way) and one after another (each slice denoised with only the
   slices before it in the sequence, the later ones absent, then kept as given: the GPT way, the next patch
   from everything before it). Each way's DiT calls and seconds, its frame-to-frame change across slice
   borders and within slices beside the clip's own, and the PSNR of each generated frame against the real one.

`claim_steps` yields progress as (fraction, message) and then one `Claims`; `measure_claims` runs it to
the end; `next_patch_steps` measures the third claim alone. A step budget (`steps`) gives the same numbers
for the same seed; a time budget (`seconds`) gives as many steps as the machine manages.
"""
from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from torch import nn

from .clip import WindowSettings, load_clip
from .diffusion import Given, Schedule, Start, ddim, device_of, generate, sampling_timesteps, schedule_of, start_index
from .dit import DiT
from .errors import ExplainerError
from .fit import FIT_SIDE, FitResult, fit_on_thread, regenerate
from .given import slice_frames
from .pixels import psnr_db, to_pixels, to_unit

FRAMES = 16
SAMPLING_STEPS = 50  # DDIM model calls of a run from pure noise, as the page's fit uses
STRENGTH = 0.5  # how far towards noise the flicker runs start: t = 480 of 1000 with 50 DDIM steps
NOTHING_TO_LOSE = "the clip is square: its centre square is the whole frame, so a crop loses nothing"


class Placed(nn.Module):
    """The DiT called as fits and samplers call a model, model(x_t, t), with two forward options fixed:
    where its input sits in the full frame (`offset`, in tubelets) and whether attention stays inside
    each time slice (`time_slices`)."""

    def __init__(self, model: DiT, offset=(0, 0, 0), time_slices: bool = False):
        super().__init__()
        self.model, self.offset, self.time_slices = model, tuple(offset), time_slices

    @property
    def schedule(self) -> str:
        """The DiT's schedule, which fits and samplers of the placed model use too."""
        return self.model.schedule

    def forward(self, x, t):
        return self.model(x, t, offset=self.offset, time_slices=self.time_slices)


@dataclass(frozen=True)
class Box:
    """The centre square of a frame, aligned to the tubelet grid: rows top..top+height, columns
    left..left+width."""

    top: int
    left: int
    height: int
    width: int

    def crop(self, clip):
        """The box's pixels of a clip (T, H, W, C)."""
        return clip[:, self.top:self.top + self.height, self.left:self.left + self.width]

    def sides(self, frame_height: int, frame_width: int) -> torch.Tensor:
        """(H, W) bool: True outside the box, the part of the frame a crop never shows."""
        outside = torch.ones(frame_height, frame_width, dtype=torch.bool)
        outside[self.top:self.top + self.height, self.left:self.left + self.width] = False
        return outside

    def as_dict(self) -> dict:
        return {"top": self.top, "left": self.left, "height": self.height, "width": self.width}


def centre_square(height: int, width: int, patch) -> Box:
    """The largest centred square of a (height, width) frame whose edges fall on tubelet borders (so the
    crop's tokens are tokens of the full frame): a wide frame loses left and right, a tall one top and
    bottom, a square one nothing."""
    _, ph, pw = patch
    if width >= height:
        side = height // pw * pw
        return Box(0, round((width - side) / 2 / pw) * pw, height, side)
    side = width // ph * ph
    return Box(round((height - side) / 2 / ph) * ph, 0, side, width)


def fit_in_background(model: nn.Module, clip: torch.Tensor, *, seconds: float, steps: int | None, seed: int,
                      label: str, done: float, share: float):
    """`fit_clip` on a thread, yielding (fraction, message) about once a second while it trains; returns
    its FitResult (use with `yield from`). Closing the generator stops the fit at its next step."""
    running = fit_on_thread(model, clip, seconds=seconds, steps=steps, seed=seed, name=f"claims {label}")
    try:
        while running.thread.is_alive():
            running.thread.join(timeout=1.0)
            log = list(running.log)
            spent = len(log) / steps if steps else (log[-1][2] / seconds if log else 0.0)
            yield done + share * min(1.0, spent), f"Fitting the {label} copy: step {len(log)}"
    finally:
        running.stop()
    return running.outcome()


def fit_on_crop(model: DiT, x0: torch.Tensor, box: Box, **budget) -> Iterator:
    """Fit a copy of `model` on the box of clip x0 alone, each crop's tokens at their own positions in the
    full frame. Yields progress; returns the FitResult, whose model is a plain DiT."""
    _, ph, pw = model.config.patch
    placed = Placed(model, (0, box.top // ph, box.left // pw))
    fit = yield from fit_in_background(placed, box.crop(x0), label="crop-fitted", **budget)
    return FitResult(fit.model.model, fit.steps, fit.seconds, fit.losses)


def fit_time_slices(model: DiT, x0: torch.Tensor, **budget) -> Iterator:
    """Fit a copy of `model` whose attention stays inside each time slice. Yields progress; returns the
    FitResult, whose model is `Placed` with time_slices on (it runs that way when sampled too)."""
    return (yield from fit_in_background(Placed(model, time_slices=True), x0, label="frames-apart", **budget))


def region_psnr(estimate: torch.Tensor, clip: torch.Tensor, box: Box) -> dict:
    """PSNR (dB) of a generated clip against the clip inside the box and outside it (None: no sides)."""
    sides = box.sides(*clip.shape[1:3])
    return {"centre_psnr_db": round(psnr_db(box.crop(estimate), box.crop(clip)), 2),
            "sides_psnr_db": round(psnr_db(estimate[:, sides], clip[:, sides]), 2) if sides.any() else None}


def frame_changes(reel: np.ndarray) -> list[float]:
    """Mean absolute change from each frame to the next, in pixel levels 0-255. (T, H, W, 3) uint8 -> T-1."""
    steps = np.abs(np.diff(reel.astype(np.float32), axis=0))
    return [round(float(change), 3) for change in steps.reshape(len(steps), -1).mean(axis=1)]


def mean(values) -> float | None:
    return round(float(np.mean(values)), 3) if len(values) else None


def flicker(reels: dict, pt: int) -> dict:
    """Frame-to-frame change of the clip and of both flicker runs: overall (the mean over the reel), per
    frame, and split by whether the two frames lie in one time slice or in two."""
    changes = {name: frame_changes(reels[name]) for name in ("clip", "spacetime", "frames_apart")}
    across = [(index + 1) % pt == 0 for index in range(len(changes["clip"]))]  # the next frame is another slice's

    def where(wanted: bool) -> dict:
        return {name: mean([c for c, a in zip(values, across) if a == wanted]) for name, values in changes.items()}

    return {"clip_change": mean(changes["clip"]), "spacetime_change": mean(changes["spacetime"]),
            "frames_apart_change": mean(changes["frames_apart"]), "units": "pixel levels 0-255",
            "per_frame": changes, "across_slices": where(True), "within_slices": where(False), "frames_per_slice": pt}


# --- 3. the next patch: all at once against one after another ------------------------------------------

GIVEN_SLICES = 1  # the first time slice is given; every later one is generated
WAYS = ("all_at_once", "one_after_another")
ONE_SLICE = "the clip is one time slice: nothing comes after the given slice to generate"


class Counted(nn.Module):
    """The model as samplers call it, model(x_t, t), keeping how many time slices each call's sequence held
    (`seen`, one entry a call): the calls and tokens each way costs are counted, not assumed."""

    def __init__(self, model: nn.Module, pt: int):
        super().__init__()
        self.model, self.pt, self.seen = model, pt, []

    def forward(self, x, t):
        self.seen.append(-(-x.shape[1] // self.pt))
        return self.model(x, t)


@dataclass
class Way:
    """One way's run: the clip it made (T, H, W, C) in [-1, 1] (the given frames the clip's own), the time
    slices each DiT call saw, its seconds, and the noise x_T each generated frame started from."""

    clip: torch.Tensor
    seen: list[int]
    seconds: float
    noise: torch.Tensor


def given_run(model: nn.Module, schedule: Schedule, x0: torch.Tensor, given: int, *, pt: int, steps: int,
              seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """One DDIM run of x0's shape (1, T, ...) whose first `given` time slices are x0's, clean at t = 0, and
    whose other frames start from the seed's noise. -> (the finished clip, x_T), both (1, T, ...)."""
    slices = -(-x0.shape[1] // pt)
    kept = tuple(range(given))
    start = Start.noise(x0.shape, Given(x0, slice_frames(kept, x0.shape[1], pt), kept, slices))
    first = last = None
    for last in ddim(model, schedule, start, steps=steps, seed=seed, clamp_x0=True):
        if first is None:
            first = last
    return last.x_next, first.x_t


def all_at_once(model: nn.Module, schedule: Schedule, x0: torch.Tensor, *, pt: int, steps: int, seed: int) -> Way:
    """Every slice after the given one in one sequence, denoised together over `steps` DiT calls."""
    counted, started = Counted(model, pt), time.perf_counter()
    made, noise = given_run(counted, schedule, x0, GIVEN_SLICES, pt=pt, steps=steps, seed=seed)
    return Way(made[0].clamp(-1, 1).cpu(), counted.seen, time.perf_counter() - started, noise[0].cpu())


def one_after_another(model: nn.Module, schedule: Schedule, x0: torch.Tensor, *, pt: int, steps: int,
                      seed: int) -> Iterator:
    """Slice k denoised over `steps` DiT calls in a sequence of slices 0..k alone (the later ones absent),
    the slices before it given (the clip's first, then what this way made), then kept as given for the
    next. Its noise is the first frames of the same seed's noise for the whole clip, so each slice starts
    from the noise the all-at-once run gave it. Yields (slice, slices) before each; returns its `Way`."""
    counted, started = Counted(model, pt), time.perf_counter()
    made, noise = x0.clone(), torch.zeros_like(x0)
    frames = x0.shape[1]
    slices = -(-frames // pt)
    for k in range(GIVEN_SLICES, slices):
        yield k, slices
        end = min((k + 1) * pt, frames)
        out, x_t = given_run(counted, schedule, made[:, :end], k, pt=pt, steps=steps, seed=seed)
        made[:, k * pt:end], noise[:, k * pt:end] = out[:, k * pt:end], x_t[:, k * pt:end]
    return Way(made[0].clamp(-1, 1).cpu(), counted.seen, time.perf_counter() - started, noise[0].cpu())


def border_changes(changes: list[float], pt: int, first: int) -> dict:
    """The mean change from one frame to the next across slice borders and within slices, over the frame
    pairs (f, f + 1) that reach a generated frame (f + 1 >= `first`, the first generated frame)."""
    pairs = range(max(0, first - 1), len(changes))
    return {"across_slices": mean([changes[f] for f in pairs if (f + 1) % pt == 0]),
            "within_slices": mean([changes[f] for f in pairs if (f + 1) % pt != 0])}


def way_summary(way: Way, x0: torch.Tensor, generated: list[int], *, pt: int, tokens_per_slice: int) -> dict:
    """A way's numbers: DiT calls, the slices and tokens they saw, seconds, changes, PSNR per generated frame."""
    changes = frame_changes(to_pixels(way.clip))
    psnr = [round(psnr_db(way.clip[f], x0[f]), 2) for f in generated]
    return {"dit_calls": len(way.seen), "slices_per_call": [min(way.seen), max(way.seen)],
            "tokens_per_call": [min(way.seen) * tokens_per_slice, max(way.seen) * tokens_per_slice],
            "tokens_in_all": sum(way.seen) * tokens_per_slice, "seconds": round(way.seconds, 2),
            **border_changes(changes, pt, generated[0]), "per_frame_change": changes,
            "psnr_db": psnr, "mean_psnr_db": round(float(np.mean(psnr)), 2)}


def next_patch_steps(model: DiT, x0: torch.Tensor, *, steps: int = SAMPLING_STEPS, seed: int = 0,
                     done: float = 0.0, share: float = 1.0) -> Iterator:
    """The third claim on a working clip x0 (T, H, W, C) in [-1, 1]: `model` makes every slice after the
    first both ways, from the same given slice and the same noise. Yields (fraction, message) from `done`
    over `share`; returns (its summary, {way: the clip made, uint8 (T, H, W, 3)}); a clip of one time slice
    returns a summary with a note and no reels."""
    pt, schedule = model.config.patch[0], schedule_of(model)
    grid = model.grid(*x0.shape[:3])
    if grid.shape[0] <= GIVEN_SLICES:
        return {"note": ONE_SLICE}, {}
    clip = x0[None].to(device_of(model))
    yield done, f"The next patch: all the slices at once, {steps} DiT calls"
    ways = {"all_at_once": all_at_once(model, schedule, clip, pt=pt, steps=steps, seed=seed)}
    run = one_after_another(model, schedule, clip, pt=pt, steps=steps, seed=seed)
    while True:
        try:
            k, slices = next(run)
        except StopIteration as finished:
            ways["one_after_another"] = finished.value
            break
        yield (done + share * k / slices,
               f"The next patch: slice {k + 1} of {slices} from the {k} before it, {steps} DiT calls")
    generated = [f for f in range(x0.shape[0]) if f not in slice_frames(range(GIVEN_SLICES), x0.shape[0], pt)]
    per_slice = grid.shape[1] * grid.shape[2]
    clip_changes = frame_changes(to_pixels(x0))
    summary = {"given_slices": list(range(GIVEN_SLICES)), "generated_frames": generated, "frames_per_slice": pt,
               "sampling_steps": steps, "tokens_per_slice": per_slice, "units": "pixel levels 0-255",
               "same_noise": bool(torch.equal(ways["all_at_once"].noise[generated],
                                              ways["one_after_another"].noise[generated])),
               "clip": {**border_changes(clip_changes, pt, generated[0]), "per_frame_change": clip_changes},
               **{name: way_summary(way, x0, generated, pt=pt, tokens_per_slice=per_slice)
                  for name, way in ways.items()}, "note": None}
    return summary, {name: to_pixels(way.clip) for name, way in ways.items()}


@dataclass
class Claims:
    """The measurements: `summary` (JSON-ready numbers) and `reels`, uint8 (T, H, W, 3) at the working
    size: the clip, the two generations of the crop claim (native, cropped), the two runs of the flicker
    claim (spacetime, frames_apart) and the two ways of the next-patch claim (all_at_once,
    one_after_another; absent for a clip of one time slice)."""

    summary: dict
    reels: dict


def check_budget(seconds, steps):
    if steps is not None and steps < 1:
        raise ExplainerError(f"steps must be at least 1, got {steps}")
    if steps is None and not 0 < seconds <= 3600:
        raise ExplainerError(f"seconds must be more than 0 and at most 3600, got {seconds}")


def claim_steps(frames_uint8: np.ndarray, model: DiT, *, seconds: float = 30.0, steps: int | None = None,
                seed: int = 0, sampling_steps: int = SAMPLING_STEPS, strength: float = STRENGTH) -> Iterator:
    """Measure the three claims on a working clip (T, H, W, 3) uint8: three fits of `model` of the same budget
    each (`seconds`, or `steps` when given) for the first two, `model` itself for the next patch. Yields
    (fraction, message) as it goes, then one `Claims`."""
    check_budget(seconds, steps)
    started = time.perf_counter()
    x0 = to_unit(frames_uint8)  # (T, H, W, C)
    shape, patch, schedule = tuple(x0.shape), model.config.patch, schedule_of(model)
    box = centre_square(shape[1], shape[2], patch)
    square = box == Box(0, 0, shape[1], shape[2])
    budget = {"seconds": seconds, "steps": steps, "seed": seed}
    # three copies: the native one doubles as the flicker claim's spacetime copy (the same fit of the same
    # frames with full attention); a square clip's crop is the whole clip, so its cropped copy is the native one
    fits = 2 if square else 3
    share = 0.8 / fits
    shares = iter(index * share for index in range(fits))

    native = yield from fit_in_background(model, x0, label="native", done=next(shares), share=share, **budget)
    cropped = native if square else (yield from fit_on_crop(model, x0, box, done=next(shares), share=share,
                                                            **budget))
    apart = yield from fit_time_slices(model, x0, done=next(shares), share=share, **budget)

    yield 0.81, "Both crop copies generate the clip from the same noise"
    made = {name: regenerate(fit.model, shape, steps=sampling_steps, seed=seed, schedule=schedule)
            for name, fit in (("native", native), ("cropped", cropped))}
    yield 0.83, "Both flicker copies denoise the clip noised part-way, with the same noise"
    t = sampling_timesteps(schedule, sampling_steps)[start_index(sampling_steps, strength)]
    for name, fit in (("spacetime", native), ("frames_apart", apart)):
        made[name] = generate(fit.model, schedule, Start.noised_clip(x0[None], strength), steps=sampling_steps,
                              seed=seed, clamp_x0=True)[0].clamp(-1, 1).cpu()
    next_patch, next_reels = yield from next_patch_steps(model, x0, steps=sampling_steps, seed=seed, done=0.85,
                                                         share=0.14)
    reels = {"clip": np.asarray(frames_uint8), **{name: to_pixels(clip) for name, clip in made.items()},
             **next_reels}
    crop = {"native": {**region_psnr(made["native"], x0, box), "steps": native.steps},
            "cropped": {**region_psnr(made["cropped"], x0, box), "steps": cropped.steps},
            "box": box.as_dict(), "generated_from": "pure noise, the same for both",
            "note": NOTHING_TO_LOSE if square else None}
    frames = {**flicker(reels, patch[0]), "t": int(t), "alpha_bar": round(float(schedule.alpha_bar(t)), 4),
              "psnr_db": {name: round(psnr_db(made[name], x0), 2) for name in ("spacetime", "frames_apart")},
              "steps": {"spacetime": native.steps, "frames_apart": apart.steps}}
    summary = {"crop": crop, "frames": frames, "next_patch": next_patch,
               "seconds": seconds if steps is None else None, "steps": steps,
               "seed": seed, "working": list(shape[:3]), "wall_seconds": round(time.perf_counter() - started, 1)}
    yield 1.0, "Done"
    yield Claims(summary, reels)


def measure_claims(path, *, model: DiT | None = None, frames: int = FRAMES, max_side: int = FIT_SIDE,
                   window: WindowSettings = WindowSettings(), **options) -> Claims:
    """Read the clip at `path` at the working size, cut by `window` (by default as the page cuts it: a
    window of consecutive frames at its frame rate, from the start), and run `claim_steps` to the end
    (`model`: the shipped prior when not given). The summary says which source frames it was."""
    if model is None:
        from .weights import load_prior
        model = load_prior("cpu")[0]
    check_budget(options.get("seconds", 30.0), options.get("steps"))
    clip = load_clip(path, frames=frames, max_side=max_side, patch=model.config.patch, **window.load_kwargs(path))
    *_, claims = claim_steps(clip.frames, model, **options)
    claims.summary.update(window=list(clip.window), stride=clip.stride)
    return claims


REELS = ("clip", "native", "cropped", "spacetime", "frames_apart", *WAYS)  # the rows of a saved answer's picture


def save_claims(claims: Claims, stem) -> list[Path]:
    """Keep a measured answer as two small files: STEM.json (the summary, whose numbers were measured on the
    reels before they were saved) and STEM.jpg (the reels as rows of frames, at JPEG quality 92, for
    showing). Bundled samples ship theirs in assets/claims/."""
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    frames = claims.reels["clip"].shape[0]
    names = [name for name in REELS if name in claims.reels]
    rows = [np.concatenate(list(claims.reels[name]), axis=1) for name in names]  # each (H, T*W, 3)
    picture = cv2.cvtColor(np.ascontiguousarray(np.concatenate(rows, axis=0)), cv2.COLOR_RGB2BGR)
    if not cv2.imwrite(str(stem.with_suffix(".jpg")), picture, [cv2.IMWRITE_JPEG_QUALITY, 92]):
        raise ExplainerError(f"could not write {stem.with_suffix('.jpg')}")
    kept = {**claims.summary, "saved_frames": frames, "saved_reels": names}
    stem.with_suffix(".json").write_text(json.dumps(kept, indent=1) + "\n")
    return [stem.with_suffix(".json"), stem.with_suffix(".jpg")]


def load_claims(stem) -> Claims:
    """An answer kept by `save_claims`."""
    stem = Path(stem)
    summary = json.loads(stem.with_suffix(".json").read_text())
    frames = summary.pop("saved_frames")
    names = summary.pop("saved_reels", REELS[:5])  # an answer saved before the next-patch claim has five rows
    picture = cv2.imread(str(stem.with_suffix(".jpg")), cv2.IMREAD_COLOR)
    if picture is None:
        raise ExplainerError(f"could not read {stem.with_suffix('.jpg')}")
    picture = cv2.cvtColor(picture, cv2.COLOR_BGR2RGB)
    height = picture.shape[0] // len(names)
    reels = {name: np.stack(np.split(picture[row * height:(row + 1) * height], frames, axis=1))
             for row, name in enumerate(names)}  # each (T, H, W, 3)
    return Claims(summary, reels)
