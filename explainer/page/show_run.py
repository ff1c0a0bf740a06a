"""Denoising: the DiT's reverse process on the clip's patches, streamed step by step and kept as one `Run`,
and where one token looks in it."""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, replace

import cv2
import numpy as np
import torch

from .. import figures
from ..assets import SAMPLES
from ..clip import Clip
from ..device import pick_device
from ..diffusion import SAMPLERS, options_for, sampler_takes
from ..dit import DiTConfig, dit_default
from ..errors import ExplainerError
from ..given import GIVEN, given_slices, is_still, slice_frames
from ..given import working_clip as given_clip
from ..patches import PatchGrid, fit_size, padded_grid
from ..trajectory import (
    STARTS,
    PathMap,
    RunSettings,
    Shown,
    Trajectory,
    attention_map,
    change_between,
    collect,
    denoise_steps,
    write_trajectory_video,
)
from ..weights import load_prior, training_minutes_by_data
from . import common
from .common import chips, fact
from .gpu import moved_to

# the first run's settings; its start is the one setting that decides which run the page shows first
DENOISE = dict(sampler="ddim", steps=50, seed=0, start="clip", strength=0.4, eta=0.0, compare="none")
# "start from" on screen: where a run starts (trajectory.STARTS), or which frames are given (given.GIVEN),
# the rest generated from pure noise
START_LABELS = {"clip": "your clip, noised", "noise": "pure noise", "animate": "animate the first frames",
                "extend": "extend forwards", "extend-back": "extend backwards", "connect": "connect first and last"}
START_CHOICES = (*STARTS, *GIVEN)
# why the page's first run is the one it shows, for each start it could be
FIRST_RUN_WHY = {
    "clip": "The first run starts from <b>your clip drowned part-way in noise</b>, so it ends in something you "
            "recognise whatever the clip: from pure noise alone this small DiT paints textures with the grain "
            "of real footage but nothing you would recognise. Give it some of your frames (animate, extend, "
            "connect) and it grows the rest of the reel from pure noise, looking at them; on a clip that "
            "barely moves it tends to set the scene in motion.",
    "noise": "The first run starts from <b>pure noise</b>: what the DiT makes with nothing to go on is the "
             "honest measure of what it learned.",
    "animate": "The first run <b>animates your clip's first frames</b>: they are given, and the rest of the reel "
               "grows from pure noise while looking at them.",
    "extend": "The first run <b>extends your clip forwards</b>: its first half is given and the second grows "
              "from pure noise while looking at it.",
    "extend-back": "The first run <b>extends your clip backwards</b>: its second half is given and the first "
                   "grows from pure noise while looking at it.",
    "connect": "The first run <b>connects your clip's first and last frames</b>: the frames between grow from "
               "pure noise while looking at both.",
}
MODELS = ["prior", "fitted to your clip"]
MAX_STEPS = 50
WORKING_SIDE = 128       # the clip's working size, from the film reel to denoising (load_clip's default)
CLIP_FRAMES = 16         # frames of the working clip (load_clip's default)
DEFAULT_SAMPLE = "wide"  # the sample the page opens on


# --- the model ---------------------------------------------------------------------------------------

def prior_model():
    """The shipped prior, on the device the page computes on (CUDA when present). Never trained further:
    a fit trains a copy."""
    return load_prior(str(pick_device()))[0]


def prior_note() -> str:
    """How the prior was made, from its own card: the minutes it trained, and how many on real footage."""
    minutes = training_minutes_by_data(load_prior(str(pick_device()))[1])
    if not minutes["footage"]:
        return f"trained {minutes['procedural']:.0f} min on made-up clips"
    return f"trained {sum(minutes.values()):.0f} min, {minutes['footage']:.0f} of them on real footage"


def model_for(choice, fitted: dict | None) -> tuple:
    """(model, working side, name) for the model chosen: the prior, or this session's fitted copy (which
    works at the fit's working side; kept on the CPU between calls, it runs on the compute device)."""
    if choice in (None, "", MODELS[0]):
        return prior_model(), WORKING_SIDE, "prior"
    if choice != MODELS[1]:
        raise ExplainerError(f"The model is {MODELS[0]!r} or {MODELS[1]!r}, not {choice!r}.")
    if not fitted:
        raise ExplainerError("Fit the DiT to your clip first (Fit the DiT to your clip), or choose the prior.")
    return moved_to(fitted["model"], pick_device()), fitted["side"], f"fitted to {fitted['name']}"


def first_run_note(start: str = DENOISE["start"]) -> str:
    """Why the page's first run is the one it shows, for the start it has."""
    return FIRST_RUN_WHY[start]


def sampler_settings(sampler=DENOISE["sampler"], steps=DENOISE["steps"], seed=DENOISE["seed"],
                     start=DENOISE["start"], strength=DENOISE["strength"], eta=DENOISE["eta"]) -> RunSettings:
    """The sampler's settings as the page or an API call hands them over, checked. `start` is where the run
    starts (a name in STARTS) or which frames are given (a name in GIVEN: the rest start from pure noise)."""
    if sampler not in SAMPLERS:
        raise ExplainerError(f"The sampler is one of {', '.join(SAMPLERS)}, not {sampler!r}.")
    if start not in START_CHOICES:
        raise ExplainerError(f"Start from one of {', '.join(map(repr, START_CHOICES))}, not {start!r}.")
    try:
        steps, seed, strength, eta = int(steps), int(seed), float(strength), float(eta)
    except (TypeError, ValueError):
        raise ExplainerError("Steps and seed are whole numbers; strength and eta are numbers.") from None
    if not 2 <= steps <= MAX_STEPS:
        raise ExplainerError(f"Steps must be between 2 and {MAX_STEPS}.")
    if not 0 <= seed < 2**32:
        raise ExplainerError("The seed must be a whole number from 0 to 4294967295.")
    if not 0 < strength <= 1:
        raise ExplainerError("The strength must be above 0 and at most 1.")
    if not 0 <= eta <= 1:
        raise ExplainerError("eta must be between 0 and 1.")
    given = start if start in GIVEN else None
    return RunSettings(sampler=sampler, steps=steps, seed=seed, start="noise" if given else start,
                       strength=strength, eta=options_for(sampler, eta=eta).get("eta", 0.0),  # 0 without eta
                       given=given)


def working_clip(path: str, side: int, reel, patch, window_start=0) -> Clip:
    """The clip cut with the model's tubelet at working size `side`: the clip on show when it already
    is that, else read again from its file (the same window as the clip on show; for an API call's clip,
    the window starting at `window_start`)."""
    on_show = (reel or {}).get("clip")
    if (on_show is not None and reel.get("path") == path and on_show.grid.patch == tuple(patch)
            and side == WORKING_SIDE):
        return on_show
    return common.load_clip(path, frames=CLIP_FRAMES, max_side=side, patch=tuple(patch),
                            **common.window_of(reel, path, window_start))


# --- a run, streamed ---------------------------------------------------------------------------------

RUN_BYTES = 4_000_000  # what one lane of a run may send to the browser, whatever its steps
GUESS_QUALITY = 75     # JPEG quality of the x̂0 strips
NOISY_QUALITIES = (60, 45, 30, 20)  # for the x_t strips: noise, which JPEG cannot squeeze, gets what is left
COMPARE = [("nothing", "none"), ("the other sampler", "sampler"), ("10 vs 50 steps", "steps"),
           ("the prior vs the fitted copy", "model")]


@dataclass
class Lane:
    """One run of a page's denoising, asked for: its model, its settings and its name on screen."""

    model: object
    model_name: str
    settings: RunSettings
    clip: Clip

    @property
    def name(self) -> str:
        return f"{self.settings.sampler.upper()} · {self.settings.steps} steps · {self.model_name}"

    @property
    def frames(self) -> np.ndarray:
        """The working clip the run works on (T, H, W, 3): a still animated is made a clip of its own."""
        return given_clip(self.clip.frames, self.settings.given)

    def given_frames(self) -> tuple[int, ...]:
        """The working frames given clean, () when none are; a mode the clip cannot take is a message."""
        if self.settings.given is None:
            return ()
        frames = self.frames
        grid = self.model.grid(*frames.shape[:3])
        return slice_frames(given_slices(self.settings.given, grid.shape[0]), frames.shape[0], grid.patch[0])

    @property
    def compared(self) -> bool:
        """Whether its generated frames have real frames to be compared with: a still photo animated has none."""
        return not (self.settings.given and is_still(self.clip.frames, self.model.config.patch[0]))


@dataclass
class Run:
    """A finished denoising run as the page keeps it for its later views (the chips and data, where a token
    looks, the video, the exported player): session state, never shared. It names the shared prior rather
    than holding it (`run_model` looks it up again), so the prior's weights never travel with the state."""

    model: object         # "prior", or this session's fitted copy itself (a DiT)
    config: DiTConfig     # that model's shape: its tubelet, blocks and heads
    clip_name: str
    timesteps: list[int]
    x_t: torch.Tensor     # (S, T, H, W, C) float16: exactly what the model saw (an attention map needs it)
    x0_hat: np.ndarray    # (S, T, H, W, 3) uint8: its guess of the clean clip at each step
    settings: dict        # as its Trajectory records them
    summary: dict         # the run as data (the API's answer), with the compared lane's beside it
    facts: str            # the run in chips
    player: str           # the player's whole text, one JSON line per step: what it showed, to export
    video: str | None = None  # the run as a browser-playable .webm


def lanes_for(path: str, settings: RunSettings, model_choice, fitted: dict | None, reel: dict | None,
              compare: str = "none", window_start=0) -> list[Lane]:
    """The run asked for, and the run it is compared with (same clip, same noise seed, one setting changed)."""
    model, side, model_name = model_for(model_choice, fitted)
    lanes = [Lane(model, model_name, settings, working_clip(path, side, reel, model.config.patch, window_start))]
    lanes[0].given_frames()  # a mode the clip cannot take is said before the run begins
    if compare in (None, "", "none"):
        return lanes
    if compare == "sampler":
        other = replace(settings, sampler=next(name for name in SAMPLERS if name != settings.sampler), eta=0.0)
        return lanes + [Lane(model, model_name, other, lanes[0].clip)]
    if compare == "steps":
        other = replace(settings, steps=10 if settings.steps != 10 else 50)
        return lanes + [Lane(model, model_name, other, lanes[0].clip)]
    if compare == "model":  # the other model on the same working clip: both take any size of clip
        model, _, model_name = model_for(MODELS[0] if model_name != "prior" else MODELS[1], fitted)
        return lanes + [Lane(model, model_name, settings, lanes[0].clip)]
    raise ExplainerError(f"Compare with one of {[value for _, value in COMPARE]}, not {compare!r}.")


def frame_ranges(frames) -> str:
    """Working frames (counted from 0) as a person counts them: "1-2", "1-2 and 15-16"."""
    spans: list[list[int]] = []
    for frame in sorted(frames):
        if spans and frame == spans[-1][1] + 1:
            spans[-1][1] = frame
        else:
            spans.append([frame, frame])
    parts = [f"{first + 1}" if first == last else f"{first + 1}-{last + 1}" for first, last in spans]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def given_note(given_frames, frames: int) -> str:
    """What a run was given, in words ("frames 1-2 given, 14 generated from noise"); '' when nothing was."""
    if not given_frames:
        return ""
    return f"frames {frame_ranges(given_frames)} given, {frames - len(given_frames)} generated from noise"


def narration(shown: Shown, before: Shown | None, psnr_known: bool = True) -> str:
    """One plain sentence about this step, from the run's own numbers: how much of what the DiT sees is
    still noise, how far its guess moved since the last step, and at which scale (over the generated frames:
    given ones never change). The first step says what was given."""
    noise = 1 / (1 + shown.snr)
    head = f"Step {shown.index + 1} of {shown.total} (t = {shown.t}): x_t is {noise:.0%} noise"
    if before is None:
        given = given_note(shown.given_frames, shown.x0_hat.shape[0])
        head += f" ({given}, kept clean at every step)" if given else ""
        against = "your clip's real frames" if given else "your clip"
        guess = f" its first guess x̂0 is {shown.psnr_db:.1f} dB from {against}" if psnr_known else ""
        return f"{head};{guess or ' the DiT makes its first guess x̂0'}."
    generated = shown.generated_frames
    rms, coarse = change_between(before.x0_hat[generated], shown.x0_hat[generated],
                                 every=4)  # a quarter of the frames say enough
    if rms < 1.0:
        return f"{head}; its guess barely moved ({rms:.1f} grey levels): the picture has settled."
    if coarse >= 0.6:
        scale = f"{coarse:.0%} of it in the coarse layout (shapes 16 px and larger): big areas of colour still move"
    elif coarse <= 0.35:
        scale = f"only {coarse:.0%} of it in the coarse layout: the change is fine detail, edges and texture"
    else:
        scale = f"{coarse:.0%} of it in the coarse layout: the layout settles while detail sharpens"
    return f"{head}; its guess moved {rms:.1f} grey levels since the last step, {scale}."


def strips(shown: Shown, columns: int, budget: int) -> dict:
    """Both strips of the whole reel at one step as data: URIs within `budget` characters: x̂0 at a fixed
    quality, x_t at the best quality that fits what is left (at half size when none does). Given frames are
    marked in both."""
    marked = shown.given_frames
    guess = figures.image_uri(figures.reel_strip(shown.x0_hat, columns, marked=marked), "jpeg", GUESS_QUALITY)
    noisy = figures.reel_strip(shown.x_t, columns, marked=marked)
    for quality in NOISY_QUALITIES:
        uri = figures.image_uri(noisy, "jpeg", quality)
        if len(uri) + len(guess) <= budget:
            return {"x_t": uri, "x0_hat": guess}
    half = cv2.resize(noisy, (noisy.shape[1] // 2, noisy.shape[0] // 2), interpolation=cv2.INTER_AREA)
    return {"x_t": figures.image_uri(half, "jpeg", NOISY_QUALITIES[-1]), "x0_hat": guess}


def step_line(lane: int, shown: Shown, before: Shown | None, places: list, columns: int, *,
              compared: bool = True) -> dict:
    """One step as the player receives it: both strips of the whole reel, the numbers (no PSNR where there
    are no real frames to compare with), where x_t and x̂0 are on the map, and its sentence."""
    return {"lane": lane, "index": shown.index, "total": shown.total, "t": shown.t,
            "snr": float(f"{shown.snr:.4g}"), "psnr": round(shown.psnr_db, 2) if compared else None,
            **strips(shown, columns, RUN_BYTES // shown.total - 400),
            "at": [[round(v, 4) for v in place] for place in places], "says": narration(shown, before, compared)}


def interleaved(runs: list):
    """Steps of several runs in the order of their progress, so both lanes of a comparison fill in together:
    (lane, step) pairs."""
    pending = {lane: (next(run, None), run) for lane, run in enumerate(runs)}
    while any(step is not None for step, _ in pending.values()):
        lane = min((lane for lane, (step, _) in pending.items() if step is not None),
                   key=lambda n: (pending[n][0].index + 1) / pending[n][0].total)
        step, run = pending[lane]
        yield lane, step
        pending[lane] = (next(run, None), run)


class GeneratedMap:
    """trajectory.PathMap over the generated frames alone: a given frame never moves, so where some are given
    it would only pull every place towards the clip."""

    def __init__(self, clip_frames: np.ndarray, first: Shown):
        self.frames = first.generated_frames
        self.path_map = PathMap(clip_frames[self.frames], first.x_t[self.frames])
        self.clip = self.path_map.clip

    def place(self, reel_uint8: np.ndarray) -> tuple[float, float]:
        return self.path_map.place(reel_uint8[self.frames])


def run_head(lanes: list[Lane], clip_name: str, first: Shown, path_map: GeneratedMap) -> dict:
    """The player's first line: the reel's shape and layout, where the run starts, which frames are given
    (marked in the strips) and whether there are real frames to compare the guesses with, the clip's place
    on the map, the lanes."""
    frames, height, width, _ = lanes[0].frames.shape
    settings = lanes[0].settings
    if settings.given:
        start = START_LABELS[settings.given]
    else:
        start = "pure noise" if settings.start == "noise" else f"your clip, noised to t = {first.t}"
    return {"kind": "run", "clip": clip_name, "frames": frames, "height": height, "width": width,
            "columns": figures.strip_columns(frames, height, width), "gap": 2, "start": start,
            "given": list(first.given_frames), "given_note": given_note(first.given_frames, frames),
            "compared": lanes[0].compared, "clip_at": [round(v, 4) for v in path_map.clip],
            "lanes": [{"name": lane.name, "total": lane.settings.steps} for lane in lanes]}


def stream_denoising(lanes: list[Lane], clip_name: str, still_wanted=lambda: True, *, video: bool = True):
    """Run the lanes, yielding each step as a line of the player's text (a dict, sent as JSON) as soon as it
    is computed; then the finished `Run` (of the first lane, with the others' summaries beside it; its video
    written unless `video` is False). Stops early, yielding nothing more, when `still_wanted()` turns false
    (a newer run was asked for)."""
    clip = lanes[0].frames
    columns = figures.strip_columns(*clip.shape[:3])
    runs = [denoise_steps(lane.model, lane.clip.frames, lane.settings) for lane in lanes]
    lines: list[dict] = []  # what the player receives, kept for the run
    kept: list[list[Shown]] = [[] for _ in lanes]
    places: list[list] = [[] for _ in lanes]  # each step's (x_t, x̂0) on the map
    seconds = [0.0 for _ in lanes]
    path_map = None

    def line_of(lane: int, shown: Shown, before: Shown | None) -> dict:
        places[lane].append((path_map.place(shown.x_t), path_map.place(shown.x0_hat)))
        lines.append(step_line(lane, shown, before, places[lane][-1], columns, compared=lanes[lane].compared))
        return lines[-1]

    clock = time.perf_counter()
    for lane, shown in interleaved(runs):
        seconds[lane] += time.perf_counter() - clock
        if not still_wanted():
            for run in runs:
                run.close()
            return
        before = kept[lane][-1] if kept[lane] else None
        kept[lane].append(shown)
        if path_map is None:
            path_map = GeneratedMap(clip, shown)
            lines.append(run_head(lanes, clip_name, shown, path_map))
            yield lines[-1]
        yield line_of(lane, shown, before)
        clock = time.perf_counter()
    trajectories = [collect(shown, lane.settings) for shown, lane in zip(kept, lanes)]
    summaries = [run_summary(trajectory, lane, clip_name, spent)
                 for trajectory, lane, spent in zip(trajectories, lanes, seconds)]
    summary = summaries[0] if len(lanes) == 1 else {**summaries[0], "compared_with": summaries[1]}
    lines.append({"kind": "done", "seconds": round(sum(seconds), 2),
                  "final_at": [round(v, 4) for v in path_map.place(trajectories[0].final)]})
    yield lines[-1]
    player = "".join(json.dumps(line, separators=(",", ":")) + "\n" for line in lines)
    run = keep_run(trajectories[0], lanes[0], clip_name, summary=summary, player=player)
    if video:
        run.video = run_video(trajectories[0], clip)
    yield run


def keep_run(trajectory: Trajectory, lane: Lane, clip_name: str, *, summary: dict, player: str = "") -> Run:
    """What the page keeps of a run for its later views: its model (the prior by name), every x_t as float16
    (an attention map needs the exact noisy input, not its rounded pixels) and every guess x̂0 as pixels; not
    the pictures of x_t."""
    model = MODELS[0] if lane.model_name == MODELS[0] else lane.model
    return Run(model, lane.model.config, clip_name, list(trajectory.timesteps),
               torch.stack([x.half() for x in trajectory.x_t_float]), trajectory.x0_hat, dict(trajectory.settings),
               summary, run_facts(summary), player)


def run_summary(trajectory: Trajectory, lane: Lane, name: str, seconds: float) -> dict:
    """The run as data, for the API: with `given` (the mode, in its settings), the frames given and how many
    were generated; the guesses' PSNR counts the generated frames only, and is None for a still photo
    animated (no real frames to compare with)."""
    frames = lane.frames
    psnr = [round(p, 3) for p in trajectory.psnr_db] if lane.compared else None
    return {"clip": name, "model": lane.model_name, "working_size": list(frames.shape[:3]),
            "tokens": lane.model.grid(*frames.shape[:3]).tokens, **trajectory.settings,
            "given_frames": list(trajectory.given_frames),
            "generated_frames": frames.shape[0] - len(trajectory.given_frames),
            "model_calls": len(trajectory.timesteps), "seconds": round(seconds, 2),
            "timesteps": list(trajectory.timesteps), "x0_hat_psnr_db": psnr,
            "snr": [float(f"{s:.4g}") for s in trajectory.snr]}


def start_fact(summary: dict) -> str:
    """The run's start as a chip: pure noise, the clip at its strength, or the mode and what it gave."""
    if summary.get("given"):
        given = given_note(summary["given_frames"], summary["working_size"][0])
        return fact("start", START_LABELS[summary["given"]], f"{given}; t = {summary['timesteps'][0]}")
    start = ("pure noise" if summary["start"] == "noise" else f"your clip, strength {summary['strength']:g}")
    return fact("start", start, f"t = {summary['timesteps'][0]}")


def guess_fact(summary: dict) -> str:
    """How close the last guess came to the clip, on the generated frames; a still photo has nothing to
    compare them with."""
    psnr = summary["x0_hat_psnr_db"]
    if psnr is None:
        return fact("last guess x̂0", "no real frames", "a still photo: nothing to compare the generated "
                    "frames with", "fr-key")
    against = "your clip's real frames" if summary.get("given") else "your clip"
    return fact("last guess x̂0", f"{psnr[-1]:.1f} dB", f"vs {against} (first {psnr[0]:.1f} dB)", "fr-key")


def run_facts(summary: dict) -> str:
    """The run in chips: which model, from where (and what was given), how long, how close the last guess
    came to the clip."""
    frames, height, width = summary["working_size"]
    takes_eta = sampler_takes(summary["sampler"], "eta")
    sampler = summary["sampler"].upper() + (f", η = {summary['eta']:g}" if takes_eta else "")
    return chips([
        fact("model", summary["model"], prior_note() if summary["model"] == "prior" else "this session's copy",
             "fr-name"),
        fact("sampler", sampler, f"seed {summary['seed']}"),
        start_fact(summary),
        fact("DiT calls", f"{summary['model_calls']}", f"in {summary['seconds']:.1f} s"),
        fact("working size", f"{width} × {height}", f"{frames} frames, {summary['tokens']:,} tokens"),
        guess_fact(summary)])


def run_video(trajectory: Trajectory, frames: np.ndarray) -> str:
    """The run as a browser-playable video (x_t | x̂0, a step a frame), in this request's own folder, at the
    working size of its frames (T, H, W, 3) (the page enlarges it with crisp pixels; small clips are doubled)."""
    scale = 1 if frames.shape[2] >= 96 else 2
    path = write_trajectory_video(trajectory, common.request_folder() / "denoising.webm", scale=scale)
    return str(path)


# --- where one token looks ---------------------------------------------------------------------------

@dataclass(frozen=True)
class AttentionChoices:
    """What the attention controls offer: steps 1..steps, blocks 1..blocks, heads 1..heads, tokens
    0..tokens-1, and where they start."""

    steps: int
    blocks: int
    heads: int
    tokens: int
    step: int
    block: int
    token: int


def attention_choices(steps: int, blocks: int, heads: int, grid: PatchGrid) -> AttentionChoices:
    """Start at the middle step, the last block, and the centre token of the middle time slice."""
    gt, gh, gw = grid.shape
    return AttentionChoices(steps, blocks, heads, grid.tokens, steps // 2 + 1, blocks,
                            grid.token_at(gt // 2, gh // 2, gw // 2))


def first_attention_choices() -> AttentionChoices:
    """The attention controls before any run: the shipped prior's blocks and heads (the default model's
    when its weights cannot be read) over the page's first sample at its working size."""
    try:
        config = load_prior("cpu")[0].config
    except ExplainerError:
        config = dit_default()
    _, _, height, width, _, _ = SAMPLES[DEFAULT_SAMPLE]
    _, ph, pw = config.patch
    grid = padded_grid(CLIP_FRAMES, *fit_size(height, width, WORKING_SIDE, ph, pw), config.patch)
    return attention_choices(DENOISE["steps"], config.depth, config.heads, grid)


def run_model(run: Run):
    """The run's model on the device the page computes on: the prior looked up again, or the fitted copy."""
    return prior_model() if run.model == MODELS[0] else moved_to(run.model, pick_device())


def run_grid(run: Run) -> PatchGrid:
    """The run's tubelet grid, from its model's shape alone (no model is touched)."""
    frames, height, width = run.x0_hat.shape[1:4]
    return padded_grid(frames, height, width, run.config.patch, run.config.channels)


def run_attention_choices(run: Run) -> AttentionChoices:
    return attention_choices(len(run.timesteps), run.config.depth, run.config.heads, run_grid(run))


def _run_of(run: Run | None) -> Run:
    if not run:
        raise ExplainerError("Press Denoise first: attention is read from a denoising run.")
    return run


def attention_view(run, step, block, head, token) -> tuple[str, np.ndarray]:
    """Where token `token` looks at sampler step `step` in block `block` (both counted from 1), for one
    head or the mean of them: (figure JSON, the clickable frame of the token's time slice)."""
    model, grid = run_model(_run_of(run)), run_grid(run)
    try:
        step, block, token = int(step), int(block), int(token)
    except (TypeError, ValueError):
        raise ExplainerError("Step, block and token are whole numbers.") from None
    if not (1 <= step <= len(run.timesteps) and 1 <= block <= len(model.blocks) and 0 <= token < grid.tokens):
        raise ExplainerError(f"This run has steps 1-{len(run.timesteps)}, blocks 1-{len(model.blocks)} and "
                             f"tokens 0-{grid.tokens - 1}.")
    heads = model.config.heads
    if str(head) not in ["mean"] + [str(n) for n in range(1, heads + 1)]:
        raise ExplainerError(f"Heads: 'mean' or a head from 1 to {heads}.")
    t = run.timesteps[step - 1]
    weights = attention_map(model, run.x_t[step - 1], t, block - 1, token)  # (heads, gt, gh, gw)
    looks = weights.mean(0) if str(head) == "mean" else weights[int(head) - 1]  # (gt, gh, gw)
    it, ih, iw = grid.index(token)
    frames = run.x0_hat[step - 1][::grid.patch[0]]  # the first frame of every time slice of the guess
    heads_name = f"the mean of its {heads} heads" if str(head) == "mean" else f"head {head}"
    title, phone_title = figures.attention_titles(token=token, step=step, t=t, block=block, heads=heads_name)
    fig = figures.attention_panels(frames, looks, grid.patch, (it, ih, iw), title, phone_title=phone_title)
    return figures.to_json(fig), figures.patch_picker(frames[it], grid.patch, (ih, iw))


def token_at(run, token, x: int, y: int) -> int:
    """A click at pixel (x, y) of the picker frame -> the token under it, in the same time slice as `token`."""
    grid = run_grid(_run_of(run))
    it, _, _ = grid.index(min(max(int(token), 0), grid.tokens - 1))
    _, ph, pw = grid.patch
    scale = figures.overlay_scale(grid.height, grid.width)
    row = min(grid.shape[1] - 1, int(y) // (ph * scale))
    col = min(grid.shape[2] - 1, int(x) // (pw * scale))
    return grid.token_at(it, row, col)
