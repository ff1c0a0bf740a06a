"""Where the app keeps files for visitors: one temp root, swept by age.

Gradio's uploads and cached outputs go in `gradio/` under it, and what the page writes (videos, HTML
downloads) in `work/`, each request in a folder of its own under a generated name (never an upload's).

Each process has a root of its own, so two apps on one machine never see each other's uploads, and it
is deleted when the process ends (normally, on Ctrl-C, or on SIGTERM once `delete_on_termination()` is
in force). A root named by $FILM_REEL_TEMP is the exception: it is kept, and only swept by age.
"""
from __future__ import annotations

import atexit
import contextlib
import functools
import os
import shutil
import signal
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path


def temp_root() -> Path:
    """The one folder the app keeps files in: $FILM_REEL_TEMP when set, else this process's own."""
    chosen = os.environ.get("FILM_REEL_TEMP")
    return Path(chosen).resolve() if chosen else own_root()


@functools.cache
def own_root() -> Path:
    """A fresh film-reel-* folder in the system temp folder for this process, deleted when it exits."""
    root = Path(tempfile.mkdtemp(prefix="film-reel-")).resolve()
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    return root


def delete_on_termination() -> None:
    """Let SIGTERM (how a service manager or a container stops the app) and Ctrl-C end the process through
    normal exit at once, so the exit handlers run and the process's own temp root is deleted. (Left to
    Gradio, Ctrl-C closes the server gracefully, which waits on open connections and running jobs: on a
    busy machine that took over a minute.) Main thread only."""
    def terminate(signum, frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, terminate)
    signal.signal(signal.SIGINT, terminate)


def use_temp_root() -> Path:
    """Put Gradio's upload cache under the temp root (unless GRADIO_TEMP_DIR is set already). Call it
    before building the page: Gradio reads the folder when components and the server are made."""
    root = temp_root()
    os.environ.setdefault("GRADIO_TEMP_DIR", str(root / "gradio"))
    work_dir()
    return root


def work_dir() -> Path:
    """Where the page writes its own files (videos, downloads) for visitors."""
    folder = temp_root() / "work"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def request_dir() -> Path:
    """A fresh folder under the work folder for one request's files that outlive it (a video, an HTML
    file handed to the page); swept once older than the page keeps files."""
    folder = work_dir() / uuid.uuid4().hex
    folder.mkdir()
    return folder


def sweep(folder: Path, age_s: float, recursive: bool = True, keep: set[str] = frozenset()) -> int:
    """Delete files (then folders left empty) under `folder` last changed more than `age_s` ago, or only
    the files directly in it when not `recursive`, except those whose resolved paths are in `keep`; how
    many files went. Never fails: a file that vanished meanwhile or a folder still in use is skipped."""
    removed, now = 0, time.time()
    for here, folders, files in os.walk(folder, topdown=False):  # deepest first; errors are skipped
        if not recursive and Path(here) != Path(folder):
            continue
        for name in files:
            with contextlib.suppress(OSError):
                path = Path(here) / name
                if now - path.lstat().st_mtime > age_s and str(path.resolve()) not in keep:
                    path.unlink()
                    removed += 1
        for name in folders if recursive else ():
            with contextlib.suppress(OSError):
                path = Path(here) / name
                if now - path.lstat().st_mtime > age_s:
                    path.rmdir()  # only when already empty
    return removed


class Sweeper(threading.Thread):
    """Every `every_s` seconds, in the background until stopped: sweeps the work folder, and Gradio's
    upload and output cache when that is the app's own. Gradio's `delete_cache` deletes only the files it
    tracks, and it misses some: gr.File(type="filepath") leaves an empty temp file on every call, an upload
    refused half-way leaves its partial file, and an output sent while the event also updated a
    component's properties (gr.update, gr.skip) is cached through a per-session copy of that component
    whose files Gradio never deletes. `keep()` names the files to leave alone (the page's own initial
    values and examples, which Gradio keeps for as long as the page runs)."""

    def __init__(self, age_s: float, every_s: float, work: Path, uploads: Path | None = None,
                 keep: Callable[[], set[str]] = set):
        super().__init__(name="film-reel-sweeper", daemon=True)
        self.age_s, self.every_s, self.work, self.uploads, self.keep = age_s, every_s, Path(work), uploads, keep
        self.stopped = threading.Event()

    def sweep(self) -> int:
        removed = sweep(self.work, self.age_s)
        if self.uploads is not None:
            removed += sweep(self.uploads, self.age_s, keep={str(Path(p).resolve()) for p in self.keep()})
        return removed

    def run(self):
        while not self.stopped.wait(self.every_s):
            self.sweep()

    def stop(self):
        self.stopped.set()


def sweep_every(age_s: int) -> int:
    """How often to look for old files: often enough that none outlives its age by more than half."""
    return max(1, min(600, age_s // 2))
