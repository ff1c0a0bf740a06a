"""What every section's handlers share: the clip on show, the fact chips, a folder for a request's files.

The handlers (reel, denoising, fitting, export) know nothing of Gradio: settings in; figure JSON, HTML
chips, dicts and pictures out; a person's mistake raises ExplainerError.
"""
from __future__ import annotations

import html
from pathlib import Path

from .. import files
from ..clip import load_clip  # every clip the page reads goes through `common.load_clip`
from ..errors import ExplainerError

__all__ = ["load_clip", "OPEN_A_CLIP", "clip_path", "clip_on_show", "source_path", "window_of", "fact", "chips",
           "request_folder"]

OPEN_A_CLIP = "Open a clip first: upload one or pick a sample."


def clip_path(clip_file) -> str:
    """The path of a clip handed to an event: a path, or a FileData payload from the API."""
    if isinstance(clip_file, dict):
        clip_file = clip_file.get("path")
    if not clip_file:
        raise ExplainerError("Upload a clip or pick a sample first.")
    return str(clip_file)


def clip_on_show(reel: dict | None):
    """The clip the page shows now (explainer.clip.Clip); `reel` is the page's session state."""
    if not reel or "clip" not in reel:
        raise ExplainerError(OPEN_A_CLIP)
    return reel["clip"]


def source_path(clip_file, reel: dict | None) -> str:
    """The clip an event works on: the file given (an API call), else the clip on show."""
    if clip_file:
        return clip_path(clip_file)
    if reel and reel.get("path"):
        return reel["path"]
    raise ExplainerError(OPEN_A_CLIP)


def window_of(reel: dict | None, path: str, window_start=0) -> dict:
    """Which frames of the clip at `path` an event works on, as `load_clip` takes them: the window the page
    shows when that clip is on show (its first frame and stride), else the window starting at `window_start`
    at the page's stride (an API call's clip)."""
    on_show = (reel or {}).get("clip")
    if on_show is not None and reel.get("path") == path:
        return {"start_frame": on_show.window[0], "stride": on_show.stride}
    try:
        start = int(window_start or 0)
    except (TypeError, ValueError):
        raise ExplainerError("The window's start is a source frame: a whole number from 0.") from None
    if start < 0:
        raise ExplainerError("The window's start is a source frame: a whole number from 0.")
    return {"start_frame": start, "stride": None}


def fact(label: str, value: str, note: str = "", css: str = "") -> str:
    """One fact chip: a label, a value and a note under it."""
    note = f"<i>{html.escape(note)}</i>" if note else ""
    return (f"<div class='fr-fact {css}'><span>{html.escape(label)}</span><b>{html.escape(value)}</b>"
            f"{note}</div>")


def chips(facts: list[str]) -> str:
    return "<div class='fr-facts'>" + "".join(facts) + "</div>"


def request_folder() -> Path:
    """A fresh folder for one request's files (a video, an HTML file), under the server's swept work folder."""
    return files.request_dir()
