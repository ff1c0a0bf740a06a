"""The ZeroGPU mark (explainer/page/gpu.py): with a stand-in `spaces` package whose GPU records what it
marked and the seconds each call asks for, and carries every answer across a process boundary as ZeroGPU
does (pickled, then unpickled); and without the package (the handlers stay as they are). The page's own
handlers run through the stand-in: what they hand back holds no tensor or module off the CPU, and a run
names the shared prior rather than carrying its weights."""
from __future__ import annotations

import inspect
import json
import os
import pickle
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import gradio as gr
import numpy as np
import pytest
import torch
from torch import nn

from explainer.assets import sample_file
from explainer.dit import build_dit
from explainer.page import gpu, show_run
from explainer.page.sections import claims_section, denoising_section, fit_section
from explainer.weights import load_prior

ROOT = Path(__file__).resolve().parents[1]

# the stand-in: `spaces.GPU` as the real one is called (a task, or keyword arguments then a task), marking
# a generator with a generator and calling a callable duration with the call's own arguments; every answer
# (a return, each yield) reaches the caller pickled and unpickled, as it crosses ZeroGPU's process boundary
STAND_IN = textwrap.dedent('''
    import functools, inspect, pickle, types

    def make():
        spaces = types.ModuleType("spaces")
        spaces.marked, spaces.asked = [], []

        def GPU(task=None, *, duration=None, size=None):
            def mark(fn):
                spaces.marked.append((fn, duration))

                def ask(args, kwargs):
                    spaces.asked.append((fn.__name__, duration(*args, **kwargs) if callable(duration) else duration))

                def crossed(answer):
                    return pickle.loads(pickle.dumps(answer))

                if inspect.isgeneratorfunction(fn):
                    @functools.wraps(fn)
                    def stream(*args, **kwargs):
                        ask(args, kwargs)
                        for answer in fn(*args, **kwargs):
                            yield crossed(answer)
                    return stream

                @functools.wraps(fn)
                def call(*args, **kwargs):
                    ask(args, kwargs)
                    return crossed(fn(*args, **kwargs))
                return call
            return mark(task) if callable(task) else mark

        spaces.GPU = GPU
        return spaces
''')


def stand_in() -> types.ModuleType:
    namespace: dict = {}
    exec(STAND_IN, namespace)
    return namespace["make"]()


@pytest.fixture
def spaces(monkeypatch):
    module = stand_in()
    monkeypatch.setitem(sys.modules, "spaces", module)
    return module


@pytest.fixture
def no_spaces(monkeypatch):
    monkeypatch.setitem(sys.modules, "spaces", None)  # `import spaces` raises ImportError


# --- without the package -----------------------------------------------------------------------------

def test_without_spaces_a_handler_is_returned_as_it_is(no_spaces):
    def handler(steps=50):
        return steps

    assert gpu.spaces_module() is None
    assert gpu.on_gpu(gpu.run_seconds)(handler) is handler
    assert gpu.on_gpu(30)(handler) is handler


@pytest.mark.skipif(gpu.spaces_module() is not None, reason="the spaces package is installed here")
def test_the_sections_handlers_are_unwrapped_where_spaces_is_absent():
    for handler in (denoising_section.denoise_clip, denoising_section.denoise_on_page,
                    denoising_section.attention_views, denoising_section.attention_after_run,
                    fit_section.fit_to_clip, claims_section.claims_on_clip):
        assert not hasattr(handler, "__wrapped__"), handler.__name__


# --- with a stand-in ---------------------------------------------------------------------------------

def test_a_fixed_duration_is_asked_as_whole_seconds(spaces):
    def handler(run, token):
        return run + token

    marked = gpu.on_gpu(10)(handler)
    (task, seconds), = spaces.marked
    assert inspect.unwrap(task) is handler and seconds == 10  # the handler, its answers handed back for the page
    assert marked(1, 2) == 3
    assert spaces.asked == [("handler", 10)]


def test_a_fit_asks_for_its_budget_and_its_regenerations(spaces):
    marked = gpu.on_gpu(gpu.fit_seconds)(fit_section.fit_to_clip)
    (task, duration), = spaces.marked
    # ZeroGPU takes a duration worked out per call
    assert inspect.unwrap(task) is fit_section.fit_to_clip and callable(duration)
    assert duration(None, 90, 0, None) == 90 + gpu.FIT_EXTRA  # by position, as Gradio calls it
    assert duration(seconds="45") == 45 + gpu.FIT_EXTRA
    assert duration() == fit_section.FIT_SECONDS + gpu.FIT_EXTRA  # the handler's default budget
    assert duration(seconds="soon") == gpu.LONGEST  # the handler itself says what is wrong
    # what Gradio reads: the name, the parameters (progress among them) and that it streams
    assert marked.__name__ == "fit_to_clip"
    assert inspect.signature(marked) == inspect.signature(fit_section.fit_to_clip)
    assert inspect.isgeneratorfunction(marked)


def test_claims_ask_for_three_fits_and_what_they_make(spaces):
    gpu.on_gpu(gpu.claims_seconds)(claims_section.claims_on_clip)
    (_, duration), = spaces.marked
    assert duration(None, 60) == 3 * 60 + gpu.CLAIMS_RUNS + gpu.NEXT_PATCH_RUNS
    assert duration() == 3 * claims_section.CLAIM_SECONDS + gpu.CLAIMS_RUNS + gpu.NEXT_PATCH_RUNS


def test_a_run_asks_by_its_steps_and_the_lane_it_is_compared_with(spaces):
    marked = gpu.on_gpu(gpu.run_seconds)(denoising_section.denoise_on_page)
    (_, duration), = spaces.marked
    per_step = gpu.SECONDS_PER_STEP
    assert duration(None, steps=20, compare="none", sampler="ddim") == gpu.RUN_EXTRA + 20 * per_step
    assert duration(None, steps=20, compare="sampler") == gpu.RUN_EXTRA + 40 * per_step
    assert duration(None, steps=20, compare="steps") == gpu.RUN_EXTRA + 30 * per_step  # 20 beside 10
    assert duration(None, steps=10, compare="steps") == gpu.RUN_EXTRA + 60 * per_step  # 10 beside 50
    assert duration(None, steps="many") == gpu.LONGEST
    assert duration(None, steps=10_000) == gpu.LONGEST  # never more than ZeroGPU lends
    assert inspect.isgeneratorfunction(marked)
    assert list(inspect.signature(marked).parameters) == ["request", "settings"]


def test_a_marked_generator_streams_every_answer_and_asks_once(spaces):
    def handler(steps=3, compare="none"):
        yield from range(int(steps))

    marked = gpu.on_gpu(gpu.run_seconds)(handler)
    assert list(marked(steps=4)) == [0, 1, 2, 3]
    assert spaces.asked == [("handler", gpu.RUN_EXTRA + 4 * gpu.SECONDS_PER_STEP)]


def test_a_generator_stays_a_generator_even_where_the_mark_returns_a_plain_function(monkeypatch):
    plain = types.ModuleType("spaces")

    def GPU(task, *, duration=None):  # a mark that forgets generator-ness
        return lambda *args, **kwargs: task(*args, **kwargs)

    plain.GPU = GPU
    monkeypatch.setitem(sys.modules, "spaces", plain)

    def handler(request: gr.Request = None, **settings):
        yield settings

    marked = gpu.on_gpu(5)(handler)
    assert inspect.isgeneratorfunction(marked)
    assert inspect.signature(marked) == inspect.signature(handler)
    assert list(marked(steps=2)) == [{"steps": 2}]


def test_the_mark_composes_with_answers_by_name(spaces):
    """`wiring.by_name` wraps a marked handler again: Gradio still sees its parameters and a generator."""
    from explainer.page.wiring import Page, by_name

    marked = gpu.on_gpu(gpu.fit_seconds)(fit_section.fit_to_clip)
    wired = by_name(marked, Page(), list(fit_section.FIT_VIEWS))
    assert inspect.isgeneratorfunction(wired)
    assert inspect.signature(wired) == inspect.signature(fit_section.fit_to_clip)
    progress = inspect.signature(wired).parameters["progress"].default
    assert isinstance(progress, gr.Progress)


# --- what crosses back to the page ------------------------------------------------------------------

def reachable(value, seen=None):
    """Everything an answer holds, walked independently of `gpu.moved_to`: the answer itself, what its dicts,
    lists, tuples, dataclasses and other objects hold, and every module's parameters and buffers."""
    seen = set() if seen is None else seen
    if id(value) in seen:
        return
    seen.add(id(value))
    yield value
    if isinstance(value, nn.Module):
        yield from value.parameters()
        yield from value.buffers()
        return
    if isinstance(value, dict):
        items = value.values()
    elif isinstance(value, (list, tuple, set)):
        items = value
    elif hasattr(value, "__dict__") and not isinstance(value, type) and not callable(value):
        items = vars(value).values()  # dataclasses and plain objects alike
    else:
        return
    for item in items:
        yield from reachable(item, seen)


def devices(value) -> set[str]:
    """The devices of every tensor an answer holds."""
    return {item.device.type for item in reachable(value) if isinstance(item, torch.Tensor)}


def modules(value) -> list[nn.Module]:
    return [item for item in reachable(value) if isinstance(item, nn.Module)]


def small_run(model) -> show_run.Run:
    """A run as the page keeps one, of two steps on a tiny reel."""
    return show_run.Run(model, model.config, "clip", [900, 500], torch.zeros(2, 2, 8, 8, 3, dtype=torch.float16),
                        np.zeros((2, 2, 8, 8, 3), np.uint8), {}, {}, "", "")


def test_moved_to_reaches_every_tensor_and_module_and_leaves_the_original_alone():
    model = build_dit("tiny")
    answer = {"run": small_run(model), "fitted": {"model": model, "side": 72}, "loss": [torch.ones(3)],
              "pair": (torch.ones(1), "text"), "player": "a line\n"}
    moved = gpu.moved_to(answer, "meta")  # a device other than the CPU that every machine has
    assert devices(moved) == {"meta"}
    assert devices(answer) == {"cpu"}  # the session's own objects stay where they are
    assert isinstance(moved["run"], show_run.Run) and moved["run"].model is not model
    assert moved["player"] == "a line\n" and moved["pair"][1] == "text" and moved["fitted"]["side"] == 72
    assert gpu.moved_to(model, "cpu") is model  # already there: not copied


def test_the_mark_hands_every_answer_back_for_the_page(spaces, monkeypatch):
    monkeypatch.setattr(gpu, "PAGE_DEVICE", torch.device("meta"))  # the page's device, told apart from the CPU

    def stream(steps=2):
        for step in range(steps):
            yield {"x_t": torch.ones(step + 1)}
        yield {"fitted": {"model": nn.Linear(2, 2)}}

    def answer(token=0):
        return {"run": small_run(build_dit("tiny"))}

    streamed = list(gpu.on_gpu(5)(stream)())
    assert len(streamed) == 3 and all(devices(each) == {"meta"} for each in streamed)
    assert devices(gpu.on_gpu(5)(answer)()) == {"meta"}


def test_closing_a_marked_stream_closes_the_handler(spaces):
    """A visitor who leaves closes the stream; the handler's own clean-up (stopping a fit) must still run."""
    closed = []

    def handler():
        try:
            yield from range(10)
        finally:
            closed.append(True)

    stream = gpu.on_gpu(5)(handler)()
    assert next(stream) == 0
    stream.close()
    assert closed == [True]


def quiet(*args, **kwargs):
    """A progress bar nobody watches."""


@pytest.fixture
def marked(spaces):
    """The page's handlers marked with the stand-in, as the page marks them where `spaces` is installed."""
    return types.SimpleNamespace(
        fit=gpu.on_gpu(gpu.fit_seconds)(inspect.unwrap(fit_section.fit_to_clip)),
        claims=gpu.on_gpu(gpu.claims_seconds)(inspect.unwrap(claims_section.claims_on_clip)),
        denoise=gpu.on_gpu(gpu.run_seconds)(inspect.unwrap(denoising_section.denoise_clip)),
        denoise_on_page=gpu.on_gpu(gpu.run_seconds)(inspect.unwrap(denoising_section.denoise_on_page)),
        attention=gpu.on_gpu(gpu.ATTENTION_SECONDS)(inspect.unwrap(denoising_section.attention_views)),
        attention_after_run=gpu.on_gpu(gpu.ATTENTION_SECONDS)(inspect.unwrap(denoising_section.attention_after_run)))


def attention_shown(views: dict) -> bool:
    """Whether an attention answer holds the figure and the clickable frame."""
    figure = views["attention"]
    figure = figure["value"] if isinstance(figure, dict) else figure  # revealed on the page
    return bool(json.loads(figure)["data"]) and "token_frame" in views


def test_a_run_of_the_prior_names_it_and_crosses_without_its_weights(marked):
    wide = str(sample_file("wide"))
    answers = list(marked.denoise_on_page(reel_state={"path": wide}, steps=2, start="noise"))
    run = answers[-1]["run"]
    assert run.model == "prior" and not modules(answers) and devices(answers) == {"cpu"}
    prior_bytes = sum(p.numel() * p.element_size() for p in load_prior("cpu")[0].parameters())
    own = run.x_t.nbytes + run.x0_hat.nbytes + len(run.player.encode()) + len(run.facts.encode())
    assert len(pickle.dumps(run)) - own < prior_bytes / 50  # beside its pictures and text: next to nothing
    # the page's later views read the run where it crossed to: the model looked up again inside a marked call
    assert attention_shown(marked.attention_after_run(run, 1, 2, "mean", 5))
    delivered = denoising_section.run_delivered(run)  # unmarked: the page's process, no model touched
    assert delivered["att_step"]["maximum"] == 2 and delivered["att_block"]["choices"]


def test_a_fit_crosses_on_the_cpu_and_the_next_run_uses_it(marked):
    wide = str(sample_file("wide"))
    *_, done = marked.fit(wide, seconds=1, seed=0, progress=quiet)
    fitted = done["fitted"]
    assert modules(done) == [fitted["model"]] and devices(done) == {"cpu"}
    *_, ran = marked.denoise(wide, steps=2, start="noise", model_choice=show_run.MODELS[1], fitted=fitted)
    run = ran["run"]
    assert run.summary["model"].startswith("fitted") and run.summary["working_size"] == [16, 40, 72]
    assert modules(ran) == [run.model] and devices(ran) == {"cpu"}  # the fitted copy travels with its run
    assert attention_shown(marked.attention(run, 2, 1, "1", 0))


def test_the_claims_cross_as_plain_data(marked):
    *_, done = marked.claims(str(sample_file("wide")), progress=quiet)  # the shipped answer: at once
    assert set(done) == set(claims_section.CLAIM_VIEWS) and not devices(done) and not modules(done)


# --- the whole page, built with the stand-in --------------------------------------------------------

PAGE_API = textwrap.dedent('''
    import json, sys
    if sys.argv[1] == "stand-in":
        sys.modules["spaces"] = make()
    from explainer.page import build_demo
    demo = build_demo()
    info = demo.get_api_info()
    endpoints = {name: [p["parameter_name"] for p in end["parameters"]]
                 for name, end in info["named_endpoints"].items()}
    spaces = sys.modules.get("spaces")
    marked = sorted(fn.__name__ for fn, _ in spaces.marked) if spaces else []
    print(json.dumps({"endpoints": endpoints, "marked": marked}))
''')


def page_api(how: str) -> dict:
    """The page's API (each endpoint's parameter names) as built in a fresh process, and what was marked."""
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False"}
    block = "import sys\nsys.modules['spaces'] = None\n" if how == "absent" else ""
    script = block + STAND_IN + PAGE_API
    done = subprocess.run([sys.executable, "-c", script, how], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_the_page_marked_for_zerogpu_offers_the_same_api():
    marked, plain = page_api("stand-in"), page_api("absent")
    assert marked["marked"] == sorted(["denoise_clip", "denoise_on_page", "attention_views", "attention_after_run",
                                       "fit_to_clip", "claims_on_clip", "figure_html"])
    assert plain["marked"] == []
    assert marked["endpoints"] == plain["endpoints"]
    for name, parameters in (("/fit", ["clip_file", "seconds", "seed", "window_start"]),
                             ("/claims", ["clip_file", "seconds", "seed", "window_start"])):
        assert marked["endpoints"][name] == parameters
    assert {"clip_file", "sampler", "steps", "compare"} <= set(marked["endpoints"]["/denoise"])
    assert marked["endpoints"]["/attention"] == ["att_step", "att_block", "att_head", "token"]


def test_the_stand_in_marks_like_the_real_decorator_is_called():
    """The stand-in accepts both ways the real `spaces.GPU` is called: `GPU(fn, duration=...)` and
    `GPU(duration=...)(fn)`."""
    module = stand_in()

    def handler():
        return 1

    assert module.GPU(handler, duration=5)() == 1
    assert module.GPU(duration=6)(handler)() == 1
    assert [seconds for _, seconds in module.marked] == [5, 6]
