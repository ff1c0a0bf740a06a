"""The page's handlers that run the DiT, marked for a GPU lent per call (a Hugging Face ZeroGPU Space).

On ZeroGPU a GPU is attached only while a function marked with the `spaces` package's `@spaces.GPU` runs,
for at most the seconds the mark asks for (fewer seconds wait less in ZeroGPU's queue). `on_gpu` is that
mark, with the seconds worked out from the call's own settings (a fit's budget, a run's steps). Where the
`spaces` package is absent the handler is returned as it is, and `spaces.GPU` itself lends nothing anywhere
but on ZeroGPU: on the CPU and on an ordinary GPU the page runs in its own process as unmarked (its answers
handed back on the CPU, as below, where the package is installed).

The mark keeps what Gradio reads of a handler: its signature (the API's parameter names, `gr.Progress`,
`gr.Request`) and whether it is a generator (every yield streams to the page).

On ZeroGPU a marked call runs in a process of its own, and what it answers (every yield, session state
included) is pickled back to the page's process, which must never touch CUDA. So the mark hands back each
answer `for_the_page`: every tensor and module in it on the CPU. A session's state never holds the shared
prior (a run names it, "prior", and looks it up again), so no answer drags the prior's weights along; a
fitted copy travels on the CPU and goes back to the compute device (`moved_to`) when a marked call uses it.
"""
from __future__ import annotations

import contextlib
import copy
import dataclasses
import functools
import importlib
import inspect
from collections.abc import Callable
from itertools import chain

import torch
from torch import nn

# seconds ZeroGPU may lend at most to one call; a longer ask is cut to this
LONGEST = 300


def spaces_module():
    """The `spaces` package, or None where it is not installed."""
    try:
        return importlib.import_module("spaces")
    except ImportError:
        return None


def seconds_for(fn: Callable, duration, args: tuple, kwargs: dict) -> int:
    """The seconds a call of `fn` with these arguments asks for: `duration` itself, or `duration` called with
    the call's arguments by name (defaults filled in), whole and within 1..LONGEST. A call whose settings
    cannot be read asks for LONGEST; the handler itself then says what is wrong."""
    if not callable(duration):
        return _whole(duration)
    try:
        return _whole(duration(**by_name(fn, args, kwargs)))
    except (TypeError, ValueError):
        return LONGEST


def by_name(fn: Callable, args: tuple, kwargs: dict) -> dict:
    """The arguments of a call of `fn` by parameter name, defaults filled in, `**settings` spread out."""
    bound = inspect.signature(fn).bind(*args, **kwargs)
    bound.apply_defaults()
    named = {}
    for name, value in bound.arguments.items():
        spread = bound.signature.parameters[name].kind is inspect.Parameter.VAR_KEYWORD
        named.update(value if spread else {name: value})
    return named


def _whole(seconds) -> int:
    return int(min(LONGEST, max(1, round(float(seconds)))))


def on_gpu(duration: float | Callable[..., float]):
    """Mark a handler that runs the DiT for ZeroGPU, asking for `duration` seconds: a number, or a function
    of the handler's settings by name (it takes the ones it needs and `**_` for the rest). A no-op without
    the `spaces` package."""
    def mark(fn: Callable) -> Callable:
        spaces = spaces_module()
        if spaces is None:
            return fn
        def ask(*args, **kwargs) -> int:  # ZeroGPU calls it with the handler's own arguments
            return seconds_for(fn, duration, args, kwargs)

        seconds = ask if callable(duration) else _whole(duration)
        return _as(fn, spaces.GPU(answering_for_the_page(fn), duration=seconds))
    return mark


def answering_for_the_page(fn: Callable) -> Callable:
    """`fn`, each of its answers (its return, or every yield) handed back `for_the_page`."""
    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def stream(*args, **kwargs):
            with contextlib.closing(fn(*args, **kwargs)) as answers:  # closing this closes the handler
                for answer in answers:
                    yield for_the_page(answer)
        return stream

    @functools.wraps(fn)
    def call(*args, **kwargs):
        return for_the_page(fn(*args, **kwargs))
    return call


def _as(fn: Callable, marked: Callable) -> Callable:
    """`marked` as Gradio must see it: `fn`'s name and signature, and a generator where `fn` is one."""
    if marked is fn:
        return fn
    if inspect.isgeneratorfunction(fn) and not inspect.isgeneratorfunction(marked):
        @functools.wraps(fn)
        def stream(*args, **kwargs):
            yield from marked(*args, **kwargs)
        return stream
    if not hasattr(marked, "__wrapped__"):
        functools.update_wrapper(marked, fn)
    return marked


# --- what crosses back to the page ---------------------------------------------------------------------

PAGE_DEVICE = torch.device("cpu")  # where a marked call's answers live: the page's process never touches CUDA


def for_the_page(value):
    """A marked call's answer as it may cross back to the page's process: every tensor and module in it on
    the CPU."""
    return moved_to(value, PAGE_DEVICE)


def moved_to(value, device: torch.device | str):
    """`value` with every tensor and module in it on `device`, the original untouched: dicts, lists, tuples
    and dataclasses are walked into (new ones made), a module elsewhere is moved as a copy, a tensor with
    `.to`; anything else is itself."""
    device = torch.device(device)
    if isinstance(value, torch.Tensor):
        return value.to(device)
    if isinstance(value, nn.Module):
        there = all(t.device.type == device.type for t in chain(value.parameters(), value.buffers()))
        return value if there else copy.deepcopy(value).to(device)
    if type(value) is dict:
        return {key: moved_to(item, device) for key, item in value.items()}
    if type(value) in (list, tuple):
        return type(value)(moved_to(item, device) for item in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.replace(value, **{field.name: moved_to(getattr(value, field.name), device)
                                             for field in dataclasses.fields(value) if field.init})
    return value


# --- what each marked handler asks for -----------------------------------------------------------------
# Generous bounds: a step of the page's run is a DiT call plus its pictures (JPEG strips, the map), and the
# CPU work around the model does not shrink on a GPU.

SECONDS_PER_STEP = 1.0  # one step of a denoising run, as the page streams it
RUN_EXTRA = 15          # reading the clip, and the run's video written at the end
FIT_EXTRA = 30          # reading the clip, and both models regenerating it (two runs of 50 steps)
CLAIMS_RUNS = 40        # what the claims' three copies make after their fits (four runs of 50 steps)
NEXT_PATCH_RUNS = 40    # the next patch: 400 DiT calls over slices of the clip, none longer than the clip
ATTENTION_SECONDS = 10  # where one token looks: one DiT call that keeps its attention


def run_seconds(steps=50, compare="none", **_) -> float:
    """A denoising run: its steps, and the compared lane's (`show_run.lanes_for`: the same steps, or 10 and
    50 for "steps")."""
    steps = int(steps)
    other = {"none": 0, "": 0, None: 0, "steps": 10 if steps != 10 else 50}.get(compare, steps)
    return RUN_EXTRA + SECONDS_PER_STEP * (steps + other)


def fit_seconds(seconds=60, **_) -> float:
    """A fit: its budget, then both models' regenerations."""
    return float(seconds) + FIT_EXTRA


def claims_seconds(seconds=30, **_) -> float:
    """The claims: three fits of `seconds` each, then what the copies make, and the next patch's runs."""
    return 3 * float(seconds) + CLAIMS_RUNS + NEXT_PATCH_RUNS
