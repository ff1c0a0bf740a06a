"""Fitting the DiT to one clip: a copy of the prior trained on that clip alone for a time budget, and what
it then makes from pure noise. The page's section 7 and `python -m explainer fit` both use it.
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
from .diffusion import Schedule, diffusion_loss, generate, get_schedule
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


def fit_clip(model: DiT, clip: torch.Tensor, *, seconds: float = 60.0, steps: int | None = None, seed: int = 0,
             lr: float = 7e-4, batch: int = 2, high_noise_bias: float = 0.5, schedule: Schedule | None = None,
             parts: str = "all", decay: float = 1.0,
             callback: Callable[[int, float, float], None] | None = None) -> FitResult:
    """Fine-tune a copy of `model` on one clip (T, H, W, C) in [-1, 1] for a wall-time (or step) budget.

    Each step noises `batch` copies of the clip (two: on a CPU more, smaller steps learn a clip faster than
    fewer, larger ones) to random timesteps bent towards high noise — where a model
    must remember the clip rather than read it off its input — and regresses x0. `callback(step, loss,
    elapsed)` is called after every step (the page draws a live loss curve from it). `parts` picks the
    weights that train; `decay` is where the learning rate ends, as a fraction of `lr`, by a cosine over the
    budget (1: constant)."""
    schedule = schedule or get_schedule("linear")
    device = next(model.parameters()).device
    fitted = copy.deepcopy(model).train().requires_grad_(False)
    parameters = trainable(fitted, parts)
    for parameter in parameters:
        parameter.requires_grad_(True)
    optimizer = torch.optim.AdamW(parameters, lr=lr, weight_decay=0.0, betas=(0.9, 0.99))
    generator = cpu_generator(seed)
    x0 = clip.to(device).unsqueeze(0).expand(batch, *clip.shape)
    losses, step, started = [], 0, time.perf_counter()
    while True:
        elapsed = time.perf_counter() - started
        if (steps is not None and step >= steps) or (steps is None and elapsed >= seconds):
            break
        spent = min(1.0, step / steps if steps is not None else elapsed / seconds)
        warm = min(1.0, (step + 1) / 20) * (decay + (1 - decay) * 0.5 * (1 + math.cos(math.pi * spent)))
        for group in optimizer.param_groups:
            group["lr"] = lr * warm
        loss = diffusion_loss(fitted, schedule, x0, generator, high_noise_bias=high_noise_bias)
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


def fit_on_thread(model: DiT, clip: torch.Tensor, *, name: str = "fit", **options) -> FitThread:
    """Start `fit_clip(model, clip, **options)` on a thread of its own, so that its caller can report
    progress (and notice a visitor who left) while it trains."""
    running = FitThread(None, [], {}, threading.Event())

    def callback(step, loss, elapsed):
        running.log.append((step, loss, elapsed))
        if running.stopping.is_set():
            raise _Stopped

    def work():
        try:
            running.result["fit"] = fit_clip(model, clip, callback=callback, **options)
        except _Stopped:
            pass
        except Exception as error:  # handed to the caller's thread by `outcome`
            running.result["error"] = error

    running.thread = threading.Thread(target=work, name=name, daemon=True)
    running.thread.start()
    return running


def regenerate(model: DiT, shape, *, steps: int = 50, seed: int = 0, schedule: Schedule | None = None) -> torch.Tensor:
    """A seeded DDIM run from pure noise: what the model 'remembers' of a clip of `shape`. -> (T, H, W, C)."""
    device = next(model.parameters()).device
    clip = generate(model, schedule or get_schedule("linear"), shape=(1, *shape), steps=steps, seed=seed,
                    clip_x0=True, device=device)
    return clip[0].clamp(-1, 1).cpu()
