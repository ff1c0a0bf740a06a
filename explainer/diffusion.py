"""The diffusion process: noise schedules, the forward process q(x_t | x_0), and samplers that walk back.

A schedule is alpha_bar_t ("alphas_cumprod") for t = 0..999: the share of the clean clip's signal left
at step t, so x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps. The samplers are generators: each
step yields a `Step` with t, x_t and the model's guess of the clean clip x0_hat, the very frames the page
animates. The model is any function model(x_t, t) -> x0_hat (the explainer's DiT predicts x0), or one
that predicts the noise eps with `predicts="eps"`.

A schedule is one function and one line of SCHEDULES, a sampler one function and one line of SAMPLERS:
the page, its links and the command line offer what the registries hold. Weights are sampled with the
schedule they were trained with (`schedule_of`).
"""
from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cached_property

import torch

from .device import cpu_generator

# (x_t (B, ...), t (B,) long) -> prediction, a new tensor each call (with frames given, the sampler writes
# them into it)
Model = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


# --- schedules ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Schedule:
    """A noise schedule: betas and their running product alpha_bar, float64, one entry per step."""

    name: str
    betas: torch.Tensor  # (steps,)

    @cached_property
    def alphas_cumprod(self) -> torch.Tensor:
        return torch.cumprod(1 - self.betas, dim=0)  # (steps,)

    @cached_property
    def _alpha_bar_from_minus_one(self) -> torch.Tensor:
        return torch.cat([torch.ones(1, dtype=torch.float64), self.alphas_cumprod])  # index 0 is t = -1

    @property
    def steps(self) -> int:
        return len(self.betas)

    def alpha_bar(self, t) -> torch.Tensor:
        """alpha_bar at integer step(s) t; 1.0 (no noise) for t < 0, the end of a trajectory."""
        t = torch.as_tensor(t, dtype=torch.long).clamp(min=-1)
        return self._alpha_bar_from_minus_one[t + 1]

    def snr(self, t) -> torch.Tensor:
        """Signal-to-noise ratio alpha_bar / (1 - alpha_bar) at step(s) t."""
        alpha_bar = self.alpha_bar(t)
        return alpha_bar / (1 - alpha_bar)


def linear_schedule(steps: int = 1000, beta_start: float = 1e-4, beta_end: float = 0.02) -> Schedule:
    """DDPM's and DiT's schedule: betas evenly spaced from 1e-4 to 0.02 over 1000 steps."""
    return Schedule("linear", torch.linspace(beta_start, beta_end, steps, dtype=torch.float64))


def cosine_schedule(steps: int = 1000, max_beta: float = 0.999) -> Schedule:
    """Nichol & Dhariwal's cosine schedule (diffusers' "squaredcos_cap_v2"): alpha_bar follows a squared
    cosine, so noise arrives more gently at both ends."""
    def alpha_bar(s):
        return math.cos((s + 0.008) / 1.008 * math.pi / 2) ** 2

    betas = [min(1 - alpha_bar((i + 1) / steps) / alpha_bar(i / steps), max_beta) for i in range(steps)]
    return Schedule("cosine", torch.tensor(betas, dtype=torch.float64))


SCHEDULES = {"linear": linear_schedule, "cosine": cosine_schedule}  # the page, its links and the command line
DEFAULT_SCHEDULE = "linear"  # what weights whose card names no schedule were trained with


def get_schedule(name: str = DEFAULT_SCHEDULE) -> Schedule:
    if name not in SCHEDULES:
        raise KeyError(f"unknown schedule {name!r}; choose from {sorted(SCHEDULES)}")
    return SCHEDULES[name]()


def schedule_of(model) -> Schedule:
    """The schedule a model's weights were trained with, and so the one to sample them with: its
    `schedule` name (a DiT loaded from weights carries its card's), else the default."""
    return get_schedule(getattr(model, "schedule", DEFAULT_SCHEDULE))


# --- the forward process -----------------------------------------------------------------------------

def per_sample(values: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """(B,) or () float64 -> broadcastable against `like` (B, ...), in its dtype and device."""
    values = values.to(like.device, like.dtype)
    return values.reshape(values.shape + (1,) * (like.dim() - values.dim()))


def add_noise(schedule: Schedule, x0: torch.Tensor, noise: torch.Tensor, t) -> torch.Tensor:
    """Sample q(x_t | x_0): sqrt(alpha_bar_t) x0 + sqrt(1 - alpha_bar_t) noise. t: one step or (B,)."""
    alpha_bar = per_sample(schedule.alpha_bar(t), x0)
    return alpha_bar.sqrt() * x0 + (1 - alpha_bar).sqrt() * noise


def to_eps(x_t, x0, alpha_bar):
    """The noise implied by a guess of the clean clip."""
    return (x_t - alpha_bar.sqrt() * x0) / (1 - alpha_bar).sqrt()


def to_x0(x_t, eps, alpha_bar):
    """The clean clip implied by a guess of the noise."""
    return (x_t - (1 - alpha_bar).sqrt() * eps) / alpha_bar.sqrt()


# --- the training objective ------------------------------------------------------------------------

def sample_timesteps(batch: int, steps: int, generator, high_noise_bias: float = 0.0) -> torch.Tensor:
    """Uniform timesteps, or bent (t = T u^(1 - bias)): towards the noisy end for bias in (0, 1), where a fit
    most needs them; towards the clean end for a negative bias, where fine detail is learned."""
    u = torch.rand(batch, generator=generator)
    if high_noise_bias:
        u = u ** (1 - high_noise_bias)
    return (u * steps).long().clamp(max=steps - 1)


def noised(schedule: Schedule, x0, t, generator) -> torch.Tensor:
    """x0 noised to step t with fresh noise, drawn on the CPU (so a seed gives the same on every device)."""
    return add_noise(schedule, x0, torch.randn(x0.shape, generator=generator).to(x0.device), t)


def frame_noise(shape, generator, shared: float = 0.0, clips=None) -> torch.Tensor:
    """Unit Gaussian noise for clips (B, T, ...), drawn on the CPU. With `shared` > 0, the frames of each clip
    (of the clips `clips` (B,) bool, else all) have that share of the variance in common (mixed noise, as in
    PYoCo, Ge et al. 2023): a frame's noise is sqrt(shared) times the clip's common draw plus sqrt(1 - shared)
    times its own. Each frame's noise is still unit Gaussian; frames just look alike, so a sampler that
    starts from it paints alike frames alike instead of each with its own texture."""
    own = torch.randn(shape, generator=generator)
    if not shared:
        return own
    common = torch.randn((shape[0], 1, *shape[2:]), generator=generator)
    mixed = shared**0.5 * common + (1 - shared) ** 0.5 * own
    if clips is None:
        return mixed
    return torch.where(torch.as_tensor(clips).reshape(-1, *(1,) * (len(shape) - 1)), mixed, own)


def shared_noise(model) -> float:
    """The share of noise a model's generated frames have in common when frames are given: its config's
    `shared_noise` (0, every frame its own noise, for a model without one)."""
    return getattr(getattr(model, "config", None), "shared_noise", 0.0)


def diffusion_loss(model, schedule: Schedule, x0, generator, *, high_noise_bias: float = 0.0):
    """Noise clean clips to random t, ask the model for x0, score the guess by mean squared error.
    x0 (B, T, H, W, C): clips of one shape, so the plain mean is also the mean of each clip's error."""
    t = sample_timesteps(x0.shape[0], schedule.steps, generator, high_noise_bias)  # (B,) on the CPU
    x_t = noised(schedule, x0, t, generator)
    return torch.mean((model(x_t, t.to(x0.device)) - x0) ** 2)


def given_diffusion_loss(model, schedule: Schedule, x0, generator, *, given: list[tuple[int, ...]], pt: int,
                         high_noise_bias: float = 0.0, shared: float = 0.0):
    """The objective with frames given: clip b's time slices `given[b]` (rows of pt frames; () for none)
    stay clean in x_t and reach the model at t = 0 (a timestep per time slice, (B, gt)), the rest are noised
    to the clip's t (at least 1 in a clip with given slices, as t = 0 is what marks them), their frames
    sharing `shared` of the noise (`frame_noise`); the loss is the mean squared error over the generated
    frames only, so nothing is learned from copying what was given."""
    batch, frames = x0.shape[:2]
    t = sample_timesteps(batch, schedule.steps, generator, high_noise_bias)  # (B,) on the CPU
    has_given = torch.tensor([bool(slices) for slices in given])  # (B,)
    t = torch.where(has_given, t.clamp(min=1), t)  # t = 0 marks given slices
    x_t = add_noise(schedule, x0, frame_noise(x0.shape, generator, shared, has_given).to(x0.device), t)
    slice_of_frame = torch.arange(frames) // pt  # (T,)
    per_slice = t[:, None].repeat(1, -(-frames // pt))  # (B, gt)
    kept = torch.zeros(batch, frames, dtype=torch.bool)  # (B, T): the given frames
    for b, slices in enumerate(given):
        per_slice[b, list(slices)] = 0
        kept[b] = torch.isin(slice_of_frame, torch.tensor(slices, dtype=torch.long))
    kept = kept.to(x0.device).reshape(batch, frames, *(1,) * (x0.dim() - 2))  # (B, T, 1, 1, 1)
    guess = model(torch.where(kept, x0, x_t), per_slice.to(x0.device))
    generated = (~kept).to(x0.dtype).expand_as(x0)
    return ((guess - x0) ** 2 * generated).sum() / generated.sum().clamp(min=1)


def packed_diffusion_loss(model, schedule: Schedule, clips, generator, *, high_noise_bias: float = 0.0):
    """The same objective for clips of different shapes, each (T, H, W, C), that the model takes as one
    packed sequence: `model(noisy_clips, t)` answers a list of guesses. Each clip gets its own t and noise,
    and the loss is the mean over clips of each clip's mean squared error, as in a batch of one shape:
    every clip counts once, a still image as much as a 16-frame clip (a mean over all pixels would let
    one big clip outweigh dozens of stills)."""
    t = sample_timesteps(len(clips), schedule.steps, generator, high_noise_bias)  # (clips,) on the CPU
    x_t = [noised(schedule, clip, step, generator) for clip, step in zip(clips, t)]
    guesses = model(x_t, t.to(clips[0].device))
    return torch.stack([torch.mean((guess - clip) ** 2) for guess, clip in zip(guesses, clips)]).mean()


# --- samplers ----------------------------------------------------------------------------------------

@dataclass
class Step:
    """One step of a trajectory: at timestep t the sample was x_t, the model guessed the clean clip x0_hat,
    and the step moved to x_next (the x_t of the next step; the finished clip after the last)."""

    index: int  # 0 .. total - 1
    total: int
    t: int
    x_t: torch.Tensor
    x0_hat: torch.Tensor
    x_next: torch.Tensor


def sampling_timesteps(schedule: Schedule, steps: int) -> list[int]:
    """`steps` evenly spaced timesteps counting down from the last one ("trailing" spacing, as Lin et al.,
    WACV 2024, advise): 50 of 1000 gives 999, 979, ..., 19, and the sampler steps from the last of them to
    the clean clip. The first call sees pure noise, and the last still sees a little. A DiT this small
    guesses x0 through a bottleneck (a token holds fewer numbers than its patch has pixels), so a call at
    t = 0 paints a nearly clean clip over worse than it came in: ending every run with one (the "leading"
    spacing, 980, ..., 0) took 0.4-1.9 dB off the finished clip in that last step alone."""
    if not 1 <= steps <= schedule.steps:
        raise ValueError(f"steps must be in 1..{schedule.steps}, got {steps}")
    return [round(schedule.steps - i * schedule.steps / steps) - 1 for i in range(steps)]


def next_timestep(timesteps: list[int], index: int) -> int:
    """The timestep a sampler lands on after timesteps[index]: the next one, or -1 (the clean clip)."""
    return timesteps[index + 1] if index + 1 < len(timesteps) else -1


def step_alpha_bars(schedule: Schedule, t: int, t_next: int, like: torch.Tensor):
    """alpha-bar at timestep t and at the timestep the sampler lands on next, each shaped to broadcast
    over `like`."""
    return per_sample(schedule.alpha_bar(t), like), per_sample(schedule.alpha_bar(t_next), like)


def start_index(steps: int, strength: float) -> int:
    """SDEdit: strength in (0, 1] keeps the last round(steps * strength) steps (at least one), so 1.0
    starts at the noisiest timestep and 0.3 only at 30% of the way."""
    if not 0 < strength <= 1:
        raise ValueError(f"strength must be in (0, 1], got {strength}")
    return steps - max(1, min(steps, round(steps * strength)))


@dataclass(frozen=True, eq=False)  # eq=False: a clip tensor has no single truth value to compare by
class Given:
    """Frames given clean (the prompt): `frames` of `clip` (B, T, ...) are in the sample at every step, never
    changed by the sampler, and the model sees their time slices (`slices`, of `time_slices`) at t = 0."""

    clip: torch.Tensor
    frames: tuple[int, ...]
    slices: tuple[int, ...]
    time_slices: int

    def timesteps(self, t: int, batch: int, device) -> torch.Tensor:
        """The step's t for every generated slice (at least 1: t = 0 is what marks a slice given, so a last
        step at t = 0 runs the generated ones at t = 1, a hair more noise) and 0 for the given ones.
        -> (B, time_slices) long."""
        per_slice = torch.full((batch, self.time_slices), max(int(t), 1), dtype=torch.long, device=device)
        per_slice[:, list(self.slices)] = 0
        return per_slice

    @cached_property
    def clean(self) -> torch.Tensor:
        """The given frames, (B, len(frames), ...), cut out once for every step."""
        return self.clip[:, list(self.frames)]

    def put_back(self, x: torch.Tensor) -> torch.Tensor:
        """x with the given frames the clean ones again, written into x itself (a tensor the sampler has just
        made: the step's guess or its next sample; copying it whole every step would cost a run time)."""
        x[:, list(self.frames)] = self.clean.to(x)
        return x


@dataclass(frozen=True, eq=False)  # eq=False: a clip tensor has no single truth value to compare by
class Start:
    """Where a run begins: pure noise of `shape` (B, ...), or (SDEdit) `clip` (B, ...) in [-1, 1] noised to
    the first timestep that `strength` keeps; with `given`, some frames given clean throughout."""

    shape: tuple
    clip: torch.Tensor | None = None
    strength: float = 1.0
    given: Given | None = None

    @classmethod
    def noise(cls, shape, given: Given | None = None) -> Start:
        return cls(tuple(shape), given=given)

    @classmethod
    def noised_clip(cls, clip: torch.Tensor, strength: float) -> Start:
        start_index(1, strength)  # a strength outside (0, 1] fails here, before any model call
        return cls(tuple(clip.shape), clip, strength)


def device_of(model, clip=None) -> torch.device:
    """Where a trajectory lives: on the model's device, else the clip's, else the CPU."""
    if isinstance(model, torch.nn.Module):
        for parameter in model.parameters():
            return parameter.device
    return clip.device if clip is not None else torch.device("cpu")


def noise_source(seed: int | torch.Generator) -> torch.Generator:
    """The generator a run draws its noise from: a CPU generator seeded with `seed`, or `seed` itself when
    it is a generator (a seed gives the same trajectory on every device: noise is drawn on the CPU)."""
    return seed if isinstance(seed, torch.Generator) else cpu_generator(seed)


def begin(model, schedule: Schedule, start: Start, *, steps: int, generator):
    """What every sampler starts from: the timesteps to visit and x_T, pure noise of the start's shape or
    its clip noised to the first kept timestep (SDEdit). -> (timesteps, x_T)."""
    device = device_of(model, start.clip)
    timesteps = sampling_timesteps(schedule, steps)
    noise = step_noise(model, start, generator).to(device)
    if start.clip is None:
        return timesteps, (noise if start.given is None else start.given.put_back(noise))
    timesteps = timesteps[start_index(len(timesteps), start.strength):]
    return timesteps, add_noise(schedule, start.clip.to(device), noise, timesteps[0])


def step_noise(model, start: Start, generator) -> torch.Tensor:
    """Fresh noise of the start's shape: with frames given, the generated frames share the model's share of
    it (`shared_noise`), as in its training; otherwise every frame draws its own."""
    return frame_noise(start.shape, generator, shared_noise(model) if start.given is not None else 0.0)


def predict(model: Model, x_t, t: int, alpha_bar, *, predicts: str, clamp_x0: bool, given: Given | None = None):
    """Call the model once and return (x0_hat, eps_hat), whichever of the two it predicts. With `given`, the
    model sees the given slices at t = 0 and the guess of the given frames is the given frames."""
    if given is None:
        t_batch = torch.full((x_t.shape[0],), t, dtype=torch.long, device=x_t.device)  # (B,)
    else:
        t_batch = given.timesteps(t, x_t.shape[0], x_t.device)  # (B, gt)
    out = model(x_t, t_batch).to(x_t.dtype)
    if given is not None:
        out = given.put_back(out)
    if predicts == "x0":
        x0 = out.clamp(-1, 1) if clamp_x0 else out
        return x0, to_eps(x_t, x0, alpha_bar)
    if predicts == "eps":
        x0 = to_x0(x_t, out, alpha_bar)
        return (x0.clamp(-1, 1) if clamp_x0 else x0), out
    raise ValueError(f"predicts must be 'x0' or 'eps', got {predicts!r}")


def keep_given(x: torch.Tensor, given: Given | None) -> torch.Tensor:
    """A step's result with the given frames put back clean (unchanged without given frames)."""
    return x if given is None else given.put_back(x)


def ddim(model: Model, schedule: Schedule, start: Start, *, steps: int = 50, eta: float = 0.0,
         seed: int | torch.Generator = 0, predicts: str = "x0", clamp_x0: bool = False) -> Iterator[Step]:
    """DDIM (Song et al. 2021), one `Step` per model call, from `start` (pure noise, or a clip noised
    part-way). eta = 0 is deterministic given x_T; eta = 1 is DDPM-like. Noise comes from a CPU generator
    seeded with `seed` (or from `seed` when it is a generator). `clamp_x0` clamps x0_hat to [-1, 1] (and
    derives eps from the clamped guess)."""
    generator = noise_source(seed)
    timesteps, x = begin(model, schedule, start, steps=steps, generator=generator)
    for index, t in enumerate(timesteps):
        with torch.inference_mode():
            alpha_bar, alpha_bar_prev = step_alpha_bars(schedule, t, next_timestep(timesteps, index), x)
            x0, eps = predict(model, x, t, alpha_bar, predicts=predicts, clamp_x0=clamp_x0, given=start.given)
            # sigma_t: eta scales the variance of DDPM's posterior q(x_{t-1} | x_t, x_0)
            sigma = eta * ((1 - alpha_bar_prev) / (1 - alpha_bar) * (1 - alpha_bar / alpha_bar_prev)).sqrt()
            x_next = alpha_bar_prev.sqrt() * x0 + (1 - alpha_bar_prev - sigma**2).sqrt() * eps
            if eta > 0:
                x_next = x_next + sigma * step_noise(model, start, generator).to(x)
            x_next = keep_given(x_next, start.given)
        yield Step(index, len(timesteps), t, x, x0, x_next)
        x = x_next


def ddpm(model: Model, schedule: Schedule, start: Start, *, steps: int | None = None,
         seed: int | torch.Generator = 0, predicts: str = "x0", clamp_x0: bool = False) -> Iterator[Step]:
    """Ancestral DDPM sampling (Ho et al. 2020): each step draws x_{t-1} from the posterior
    q(x_{t-1} | x_t, x0_hat). All of the schedule's steps by default; fewer skip evenly (as DDIM does)."""
    steps = steps or schedule.steps
    generator = noise_source(seed)
    timesteps, x = begin(model, schedule, start, steps=steps, generator=generator)
    for index, t in enumerate(timesteps):
        with torch.inference_mode():
            t_next = next_timestep(timesteps, index)
            alpha_bar, alpha_bar_prev = step_alpha_bars(schedule, t, t_next, x)
            x0, _ = predict(model, x, t, alpha_bar, predicts=predicts, clamp_x0=clamp_x0, given=start.given)
            beta = 1 - alpha_bar / alpha_bar_prev  # the beta of this (possibly skipping) step
            # posterior mean: a blend of the clean-clip guess and the current sample
            mean = (alpha_bar_prev.sqrt() * beta * x0 + (1 - beta).sqrt() * (1 - alpha_bar_prev) * x) / (1 - alpha_bar)
            x_next = mean
            if t_next >= 0:
                variance = ((1 - alpha_bar_prev) / (1 - alpha_bar) * beta).clamp(min=1e-20)
                x_next = mean + variance.sqrt() * step_noise(model, start, generator).to(x)
            x_next = keep_given(x_next, start.given)
        yield Step(index, len(timesteps), t, x, x0, x_next)
        x = x_next


SAMPLERS = {"ddim": ddim, "ddpm": ddpm}  # the page, its links and the command line offer these, in this order


def sampler_takes(sampler: str, setting: str) -> bool:
    """Whether the sampler named `sampler` takes the setting `setting` (DDIM's eta, for one, is not DDPM's)."""
    return setting in inspect.signature(SAMPLERS[sampler]).parameters


def options_for(sampler: str, **settings) -> dict:
    """Of `settings`, those that the sampler named `sampler` takes."""
    return {name: value for name, value in settings.items() if sampler_takes(sampler, name)}


def generate(model: Model, schedule: Schedule, start: Start, *, sampler: str = "ddim", **options) -> torch.Tensor:
    """Run a sampler to the end and return the finished clip (the last step's x_next)."""
    *_, last = SAMPLERS[sampler](model, schedule, start, **options)
    return last.x_next
