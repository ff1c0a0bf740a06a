"""Fitting the DiT to one clip: a copy of the prior trained on that clip alone for a time budget, and what
it then makes from pure noise. The page's fit and `python -m explainer fit` both use it.
"""
from __future__ import annotations

import copy
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from .device import cpu_generator
from .diffusion import Schedule, Start, diffusion_loss, generate, schedule_of
from .dit import DiT

FIT_SIDE = 72  # a fit's working size, the longer side (72x40 for 16:9): fewer tokens buy more steps in the budget


def gradient_step(optimizer: torch.optim.Optimizer, loss: torch.Tensor, parameters, max_norm: float = 1.0):
    """One optimiser step on `loss`, its gradient clipped to `max_norm` (the prior's training run uses it too)."""
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(parameters, max_norm)
    optimizer.step()


@dataclass
class FitResult:
    model: DiT
    steps: int
    seconds: float
    losses: list = field(default_factory=list)


PARTS = ("all", "adaln")  # what a fit trains: every weight, or only the timestep-steered adaLN and final layers


def trainable(model: DiT, parts: str) -> list[torch.nn.Parameter]:
    """The parameters a fit of `parts` trains (the rest stay as the prior has them)."""
    if parts == "all":
        return list(model.parameters())
    if parts == "adaln":
        return [p for name, p in model.named_parameters() if ".adaLN." in name or name.startswith("final.")]
    raise ValueError(f"parts must be one of {PARTS}, got {parts!r}")


@dataclass(frozen=True)
class FitSettings:
    """How a fit trains: for `seconds` of wall time (or `steps` steps, when given), from `seed`, at peak
    learning rate `lr`, on `batch` noised copies of the clip a step, with timesteps bent towards noise by
    `high_noise_bias`; `parts` picks the weights that train (PARTS), and the learning rate ends at `decay`
    times `lr`, by a cosine over the budget (1: constant)."""

    seconds: float = 60.0
    steps: int | None = None
    seed: int = 0
    lr: float = 7e-4
    # two: on a CPU more, smaller steps learn a clip faster than fewer, larger ones
    batch: int = 2
    # towards high noise, where a model must remember the clip rather than read it off its input
    high_noise_bias: float = 0.5
    parts: str = "all"
    decay: float = 1.0

    def spent(self, step: int, elapsed: float) -> float:
        """The share of the budget used after `step` steps and `elapsed` seconds: 1 when it is used up."""
        used, budget = (step, self.steps) if self.steps is not None else (elapsed, self.seconds)
        return 1.0 if used >= budget else used / budget

    def learning_rate(self, step: int, spent: float) -> float:
        """A 20-step warm-up, then the cosine from `lr` to `decay` times it as the budget is `spent`."""
        warm = min(1.0, (step + 1) / 20)
        return self.lr * warm * (self.decay + (1 - self.decay) * 0.5 * (1 + math.cos(math.pi * spent)))


def fit_clip(model: DiT, clip: torch.Tensor, settings: FitSettings = FitSettings(), *,
             schedule: Schedule | None = None,
             callback: Callable[[int, float, float], None] | None = None) -> FitResult:
    """Fine-tune a copy of `model` on one clip (T, H, W, C) in [-1, 1] for the settings' wall-time (or
    step) budget, with the schedule the model was trained with unless one is given.

    Each step noises `settings.batch` copies of the clip to random timesteps bent towards high noise and
    regresses x0. `callback(step, loss, elapsed)` is called after every step (the page draws a live loss
    curve from it)."""
    schedule = schedule or schedule_of(model)
    device = next(model.parameters()).device
    fitted = copy.deepcopy(model).train().requires_grad_(False)
    parameters = trainable(fitted, settings.parts)
    for parameter in parameters:
        parameter.requires_grad_(True)
    optimizer = torch.optim.AdamW(parameters, lr=settings.lr, weight_decay=0.0, betas=(0.9, 0.99))
    generator = cpu_generator(settings.seed)
    x0 = clip.to(device).unsqueeze(0).expand(settings.batch, *clip.shape)
    losses, step, started = [], 0, time.perf_counter()
    while (spent := settings.spent(step, time.perf_counter() - started)) < 1:
        for group in optimizer.param_groups:
            group["lr"] = settings.learning_rate(step, spent)
        loss = diffusion_loss(fitted, schedule, x0, generator, high_noise_bias=settings.high_noise_bias)
        gradient_step(optimizer, loss, parameters)
        step += 1
        losses.append(loss.item())
        if callback is not None:
            callback(step, losses[-1], time.perf_counter() - started)
    return FitResult(fitted.eval().requires_grad_(False), step, time.perf_counter() - started, losses)


class _Stopped(Exception):
    """Raised inside a fit on a thread when its owner asked it to stop."""


@dataclass
class FitThread:
    """`fit_clip` running on a thread: `log` grows by (step, loss, elapsed) after every step; `stop()` ends
    it at its next step; `outcome()`, once the thread is done, is the FitResult (None when stopped), or
    raises what went wrong."""

    thread: threading.Thread | None
    log: list
    result: dict
    stopping: threading.Event

    def stop(self):
        self.stopping.set()

    def outcome(self) -> FitResult | None:
        if "error" in self.result:
            raise self.result["error"]
        return self.result.get("fit")


def fit_on_thread(model: DiT, clip: torch.Tensor, *, name: str = "fit", schedule: Schedule | None = None,
                  **settings) -> FitThread:
    """Start `fit_clip(model, clip, FitSettings(**settings), schedule=schedule)` on a thread of its own, so
    that its caller can report progress (and notice a visitor who left) while it trains."""
    settings = FitSettings(**settings)
    running = FitThread(None, [], {}, threading.Event())

    def callback(step, loss, elapsed):
        running.log.append((step, loss, elapsed))
        if running.stopping.is_set():
            raise _Stopped

    def work():
        try:
            running.result["fit"] = fit_clip(model, clip, settings, schedule=schedule, callback=callback)
        except _Stopped:
            pass
        except Exception as error:  # handed to the caller's thread by `outcome`
            running.result["error"] = error

    running.thread = threading.Thread(target=work, name=name, daemon=True)
    running.thread.start()
    return running


def regenerate(model: DiT, shape, *, steps: int = 50, seed: int = 0, schedule: Schedule | None = None) -> torch.Tensor:
    """A seeded DDIM run from pure noise: what the model 'remembers' of a clip of `shape`, with the schedule
    it was trained with unless one is given. -> (T, H, W, C)."""
    clip = generate(model, schedule or schedule_of(model), Start.noise((1, *shape)), steps=steps, seed=seed,
                    clamp_x0=True)
    return clip[0].clamp(-1, 1).cpu()
