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

__all__ = ["load_clip", "OPEN_A_CLIP", "clip_path", "clip_on_show", "source_path", "fact", "chips",
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
