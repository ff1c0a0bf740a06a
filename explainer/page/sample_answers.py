"""The bundled samples' answers: every view a sample fills in at some settings, worked out once and then
the same for every visitor who asks.

Every visitor opens the page on a sample at the page's default settings, so those answers ship in
`assets/answers/`, one file a sample and its pictures beside it, written by `python -m explainer
sample-answers`: a server reads them at start instead of working them out while its first visitors wait.
Answers at other settings are worked out on demand, one at a time, and the latest SAMPLE_ANSWERS kept.

What works an answer out belongs to the sections that show it; they hand it over with `register` (so this
module needs none of them). An answer is a tuple or a dict of values. A picture (an array) is kept as a PNG
file that Gradio serves as a static file (no copy into its cache per visitor; the browser keeps it); the
session's clip ({"path": ..., "clip": Clip}) ships as the tubelet it was cut with and is read again at load
(a quick decode, not a dissection); every other value (HTML, figure JSON, data) ships as JSON, as it is.
"""
from __future__ import annotations

import contextlib
import functools
import gzip
import hashlib
import json
import shutil
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import gradio as gr
import numpy as np
from PIL import Image

from .. import files
from ..assets import ASSETS, SAMPLES, sample_file
from ..clip import Clip
from ..errors import ExplainerError
from . import show_clip, views

SHIPPED = ASSETS / "answers"   # the answers at the page's default settings, one `NAME.json.gz` a sample
SAMPLE_ANSWERS = 24            # answers worked out on demand kept, for as many settings

_compute: Callable | None = None          # (sample name, settings) -> the answer; see `register`
_shipped: dict[tuple, tuple | dict] = {}  # read from SHIPPED at start, kept for the life of the process
_sample_answers: dict[tuple, tuple | dict] = {}  # worked out on demand; the oldest goes first
_dissecting = threading.Lock()            # one sample is worked out at a time; answers kept are read beside it


def register(compute: Callable) -> None:
    """Hand over what works out a sample's answer: `compute(name, settings)`, settings in the order (or
    under the names) `views.clip_settings` gives them; it returns every view's value, pictures as arrays."""
    global _compute
    _compute = compute


def default_settings():
    """The settings every visitor's page opens with: the shipped answers' settings."""
    return views.clip_settings(views.DEFAULT_VIEW)


def _key(name: str, settings) -> tuple:
    return name, tuple(settings.items() if isinstance(settings, Mapping) else settings)


# --- answers, kept -----------------------------------------------------------------------------------

def sample_answer(name: str, settings) -> tuple | dict:
    """Every view of a bundled sample at these settings: shipped, or worked out once, then the same answer
    for every visitor who asks. Each visitor gets their own copy of its dicts (a component's update, the
    session's clip): Gradio takes the value out of an update it sends, which would empty the kept one."""
    answer = _kept_answer(name, settings)
    return _rebuilt(answer, [dict(value) if isinstance(value, dict) else value for _, value in _items(answer)])


def _kept_answer(name: str, settings):
    key = _key(name, settings)
    answer = _kept(key)
    if answer is None:
        with _dissecting:
            answer = _kept(key)
            if answer is None:
                answer = kept_pictures(name, fresh_answer(name, settings))
                if len(_sample_answers) >= SAMPLE_ANSWERS:
                    _sample_answers.pop(next(iter(_sample_answers)), None)  # the oldest goes
                _sample_answers[key] = answer
    return answer


def _kept(key: tuple):
    answer = _shipped.get(key)
    return _sample_answers.get(key) if answer is None else answer


def fresh_answer(name: str, settings) -> tuple | dict:
    """A sample's answer worked out now, as the sections give it (pictures as arrays); not kept."""
    if _compute is None:
        raise RuntimeError("no section has registered how a sample's answer is worked out (import explainer.page)")
    return _compute(name, settings)


def _items(answer) -> list[tuple]:
    """(label, value) of each value of an answer: its position in a tuple, its name in a dict."""
    return list(answer.items() if isinstance(answer, Mapping) else enumerate(answer))


def _rebuilt(answer, values: list):
    """`values` in the container `answer` came in."""
    return dict(zip(answer, values)) if isinstance(answer, Mapping) else tuple(values)


def kept_pictures(name: str, answer):
    """The answer with each picture written once as a static PNG file (its path in place of the array)."""
    return _rebuilt(answer, [as_static_picture(value, f"{name}-{label}") for label, value in _items(answer)])


def sample_pictures_dir() -> Path:
    """Where the samples' kept pictures are written, once each: served by Gradio as static files (no
    copy into its cache per visitor; the browser keeps them), never swept, gone with the temp root."""
    folder = files.temp_root() / "samples"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def as_static_picture(value, name: str):
    """A picture (an array) as a PNG file in the samples' folder, named by its content; anything else as is."""
    if not isinstance(value, np.ndarray):
        return value
    picture = Image.fromarray(value)
    path = sample_pictures_dir() / f"{name}-{hashlib.sha1(value.tobytes()).hexdigest()[:16]}.png"
    if not path.exists():
        staging = path.with_suffix(f".{threading.get_ident()}.part")
        picture.save(staging, format="png")
        staging.replace(path)
    return str(path)


def warm_samples() -> None:
    """Every bundled sample's answer at the page's default settings: the shipped ones read, any other
    worked out now, so the first visitors wait for none."""
    load_shipped()
    for name in SAMPLES:
        with contextlib.suppress(gr.Error, ExplainerError):
            sample_answer(name, default_settings())


# --- answers, shipped --------------------------------------------------------------------------------

def _session_clip(value) -> bool:
    return isinstance(value, Mapping) and isinstance(value.get("clip"), Clip)


def _shipped_value(value, name: str, label, folder: Path) -> dict:
    """One value of an answer as it ships: {"picture": file}, {"clip": tubelet} or {"value": JSON}."""
    if isinstance(value, np.ndarray):
        path = Path(as_static_picture(value, f"{name}-{label}"))
        shutil.copyfile(path, folder / path.name)
        return {"picture": path.name}
    if _session_clip(value):
        return {"clip": [int(side) for side in value["clip"].grid.patch]}
    if json.loads(json.dumps(value)) != value:
        raise TypeError(f"{name}'s answer {label!r} does not survive JSON: {type(value).__name__}")
    return {"value": value}


def save_shipped(folder: Path = SHIPPED) -> list[Path]:
    """Work out every bundled sample's answer at the page's default settings and write it to `folder`:
    NAME.json.gz (the settings and every value) and NAME-LABEL-HASH.png (its pictures, as the page shows
    them); a sample's pictures from an earlier answer go. The files written, in order."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name in SAMPLES:
        settings = default_settings()
        answer = fresh_answer(name, settings)
        values = [_shipped_value(value, name, label, folder) for label, value in _items(answer)]
        record = {"sample": name, "settings": dict(settings) if isinstance(settings, Mapping) else list(settings),
                  "names": list(answer) if isinstance(answer, Mapping) else None, "values": values}
        pictures = {folder / value["picture"] for value in values if "picture" in value}
        for old in set(folder.glob(f"{name}-*.png")) - pictures:
            old.unlink()
        path = folder / f"{name}.json.gz"
        path.write_bytes(gzip.compress(json.dumps(record).encode(), compresslevel=9, mtime=0))
        written += [path, *sorted(pictures)]
    return written


def _loaded_value(value: dict, name: str, folder: Path):
    """A shipped value as the page uses it: a picture copied into the static folder (its path), the
    session's clip read again, or the JSON value."""
    if "picture" in value:
        path = sample_pictures_dir() / value["picture"]
        if not path.exists():
            staging = path.with_suffix(f".{threading.get_ident()}.part")
            shutil.copyfile(folder / value["picture"], staging)
            staging.replace(path)
        return str(path)
    if "clip" in value:
        path = str(sample_file(name))
        return {"path": path, "clip": show_clip.open_clip(path, tuple(value["clip"]))}
    return value["value"]


def read_shipped(name: str, folder: Path = SHIPPED) -> tuple[tuple, tuple | dict]:
    """A sample's shipped answer: (its settings key, the answer as `sample_answer` gives it)."""
    folder = Path(folder)
    record = json.loads(gzip.decompress((folder / f"{name}.json.gz").read_bytes()))
    values = [_loaded_value(value, name, folder) for value in record["values"]]
    answer = dict(zip(record["names"], values)) if record["names"] is not None else tuple(values)
    return _key(name, record["settings"]), answer


def _read_or_say(name: str, folder: Path):
    """A sample's shipped answer as `read_shipped` gives it, or None (said) when it cannot be read."""
    try:
        return read_shipped(name, folder)
    except (OSError, ValueError, KeyError, TypeError, ExplainerError) as error:
        print(f"The shipped answer of the {name} sample could not be read ({error}); it is worked out "
              "when first asked for.", flush=True)
        return None


def load_shipped(folder: Path = SHIPPED) -> list[str]:
    """Read the shipped answers for `sample_answer` (those not read yet), the samples side by side (reading
    a clip mostly waits on its decoder); the samples read. A sample with no shipped answer, or an
    unreadable one, is worked out on demand instead."""
    read_before = {name for name, _ in _shipped}
    names = [name for name in SAMPLES if name not in read_before and (Path(folder) / f"{name}.json.gz").exists()]
    with ThreadPoolExecutor(max(1, len(names)), thread_name_prefix="film-reel-answers") as pool:
        read = dict(zip(names, pool.map(functools.partial(_read_or_say, folder=Path(folder)), names)))
    with _dissecting:
        _shipped.update(entry for entry in read.values() if entry is not None)
    return [name for name, entry in read.items() if entry is not None]
