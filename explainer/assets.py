"""What ships in assets/: the bundled sample clips (procedural scenes, VP9 .webm) and the trained prior.

`python -m explainer.assets` rewrites the sample clips; the same bytes every time.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

ASSETS = Path(__file__).resolve().parent.parent / "assets"
PRIOR = ASSETS / "dit_prior.safetensors"
SAMPLE_FPS = 12
# the page's name for each sample: (file, frames, height, width, scene seed, motion); 48 frames at 12 fps
# is a 4 s clip
SAMPLES = {
    "wide": ("sample_wide.webm", 48, 360, 640, 14, "pan"),
    "tall": ("sample_tall.webm", 48, 480, 270, 9, "bounce"),
    "square": ("sample_square.webm", 48, 320, 320, 1, "rotate"),
}


def write_sample(name: str, path) -> Path:
    """Make the sample `name` from its procedural scene and write it to `path`."""
    from .scenes import make_clip
    from .video import write_webm

    _, frames, height, width, seed, motion = SAMPLES[name]
    return write_webm(path, make_clip(frames, height, width, seed=seed, motion=motion), fps=SAMPLE_FPS)


def sample_file(name: str) -> Path:
    """Path of a bundled sample clip; made from its scene (offline) when the asset is missing, once per
    machine."""
    filename = SAMPLES[name][0]
    bundled = ASSETS / filename
    if bundled.exists():
        return bundled
    made = Path(tempfile.gettempdir()) / "film-reel-samples" / filename
    if not made.exists():
        write_sample(name, made.with_suffix(".part.webm")).replace(made)
    return made


def write_samples(folder=ASSETS) -> list[Path]:
    """Rewrite every bundled sample clip in `folder`."""
    return [write_sample(name, Path(folder) / SAMPLES[name][0]) for name in SAMPLES]


if __name__ == "__main__":
    for written in write_samples():
        print(f"{written}: {written.stat().st_size / 1e6:.2f} MB")
