"""Links to a view: the page's settings as query parameters (?sample=tall&pt=1&t=500...), read when the
page opens and written by "link to this view". Only the bundled samples go behind a link: a visitor's own
clip is theirs and never leaves their session.

Names as on screen: `x`, `y`, `size` and `shape` place the amoeba; `seed` is the denoising noise seed. Each
setting is named as the component that holds it (`centre_x`, `noise_seed`), so a view is read from the page
and written back to it by name.
"""
from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlencode

from ..assets import SAMPLES, sample_file
from ..clip import MAX_DECODE_FRAMES
from ..diffusion import SAMPLERS, SCHEDULES
from ..given import GIVEN
from ..trajectory import STARTS
from .show_clip import DEFAULTS, TUBELETS
from .show_run import COMPARE, DEFAULT_SAMPLE, DENOISE, MAX_STEPS


def _choice(options):
    def read(text: str):
        for option in options:
            if text == str(option):
                return option
        raise ValueError
    return read


def _number(kind, low, high):
    def read(text: str):
        value = kind(float(text)) if kind is int and float(text).is_integer() else kind(text)
        if not low <= value <= high:
            raise ValueError
        return value
    return read


# query name -> (setting, reader, default): the order of the settings on the page. The schedules, starts
# (with the given-frames modes: start=animate) and samplers are read from their registries as they are when
# a link is read, so whatever they hold is offered
PARAMETERS = {
    "sample": ("sample", _choice(list(SAMPLES)), DEFAULT_SAMPLE),
    **{name: (name, _choice(choices), DEFAULTS[name]) for name, choices in TUBELETS.items()},
    "x": ("centre_x", _number(float, 0, 1), DEFAULTS["centre_x"]),
    "y": ("centre_y", _number(float, 0, 1), DEFAULTS["centre_y"]),
    "size": ("size", _number(float, 0.05, 0.6), DEFAULTS["size"]),
    "shape": ("shape", _number(int, 0, 99), DEFAULTS["shape"]),
    "schedule": ("schedule", _choice(SCHEDULES), DEFAULTS["schedule"]),
    "t": ("t", _number(int, 0, 999), DEFAULTS["t"]),
    "window": ("window_start", _number(int, 0, MAX_DECODE_FRAMES), DEFAULTS["window_start"]),
    "start": ("start", _choice([*STARTS, *GIVEN]), DENOISE["start"]),  # where a run starts, or what is given
    "strength": ("strength", _number(float, 0.05, 1.0), DENOISE["strength"]),
    "sampler": ("sampler", _choice(SAMPLERS), DENOISE["sampler"]),
    "steps": ("steps", _number(int, 2, MAX_STEPS), DENOISE["steps"]),
    "eta": ("eta", _number(float, 0, 1), DENOISE["eta"]),
    "seed": ("noise_seed", _number(int, 0, 2**32 - 1), DENOISE["seed"]),
    "compare": ("compare", _choice([value for _, value in COMPARE]), DENOISE["compare"]),
}


DEFAULT_VIEW = {setting: default for setting, _, default in PARAMETERS.values()}
VIEW_SETTINGS = tuple(setting for setting, _, _ in PARAMETERS.values() if setting != "sample")
CLIP_SETTINGS = VIEW_SETTINGS[:VIEW_SETTINGS.index("window_start") + 1]  # what a clip's pictures depend on


def clip_settings(view: Mapping) -> dict:
    """The settings a clip's pictures depend on (the tubelet, the amoeba, the noising), from a view."""
    return {setting: view[setting] for setting in CLIP_SETTINGS}


def view_from_query(query: Mapping[str, str]) -> tuple[dict, list[str]]:
    """The view a link asks for: every setting (its own value, or the page's default), and a note for each
    parameter that was not understood (it is left at its default)."""
    view, ignored = dict(DEFAULT_VIEW), []
    for name, text in query.items():
        if name not in PARAMETERS:
            ignored.append(f"{name} (not a setting)")
            continue
        setting, read, _ = PARAMETERS[name]
        try:
            view[setting] = read(str(text).strip())
        except (TypeError, ValueError, OverflowError):
            ignored.append(f"{name}={text}")
    return view, ignored


def sample_on_show(path: str | None) -> str | None:
    """Which bundled sample the clip on show is (None for a visitor's own clip)."""
    for name in SAMPLES:
        if path and str(sample_file(name)) == str(path):
            return name
    return None


def view_query(view: Mapping) -> str:
    """The query string of a view: the sample, then every setting that differs from the page's default."""
    pairs = []
    for name, (setting, _, default) in PARAMETERS.items():
        value = view.get(setting, default)
        if name == "sample" or value != default:
            pairs.append((name, f"{value:g}" if isinstance(value, float) else str(value)))
    return "?" + urlencode(pairs)
