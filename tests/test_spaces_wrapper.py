"""The ZeroGPU mark (explainer/page/gpu.py): with a stand-in `spaces` package whose GPU records what it
marked and the seconds each call asks for, and without the package (the handlers stay as they are)."""
from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import gradio as gr
import pytest

from explainer.page import gpu
from explainer.page.sections import claims_section, denoising_section, fit_section

ROOT = Path(__file__).resolve().parents[1]

# the stand-in: `spaces.GPU` as the real one is called (a task, or keyword arguments then a task), marking
# a generator with a generator and calling a callable duration with the call's own arguments
STAND_IN = textwrap.dedent('''
    import functools, inspect, types

    def make():
        spaces = types.ModuleType("spaces")
        spaces.marked, spaces.asked = [], []

        def GPU(task=None, *, duration=None, size=None):
            def mark(fn):
                spaces.marked.append((fn, duration))

                def ask(args, kwargs):
                    spaces.asked.append((fn.__name__, duration(*args, **kwargs) if callable(duration) else duration))

                if inspect.isgeneratorfunction(fn):
                    @functools.wraps(fn)
                    def stream(*args, **kwargs):
                        ask(args, kwargs)
                        yield from fn(*args, **kwargs)
                    return stream

                @functools.wraps(fn)
                def call(*args, **kwargs):
                    ask(args, kwargs)
                    return fn(*args, **kwargs)
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
    assert spaces.marked == [(handler, 10)]
    assert marked(1, 2) == 3
    assert spaces.asked == [("handler", 10)]


def test_a_fit_asks_for_its_budget_and_its_regenerations(spaces):
    marked = gpu.on_gpu(gpu.fit_seconds)(fit_section.fit_to_clip)
    (task, duration), = spaces.marked
    assert task is fit_section.fit_to_clip and callable(duration)  # ZeroGPU takes a duration worked out per call
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
