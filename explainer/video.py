"""Frames -> a video file a browser plays: VP9 in WebM, written with PyAV (the library that also reads clips).

Bit-exact muxing, so the same frames always make the same bytes (the bundled samples are rebuilt this way).
"""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from .errors import ExplainerError

QUALITY = 30  # VP9 constant quality (lower is better, 0-63): sharp enough for pixel-sized detail


def write_webm(path, frames, fps: float = 8, *, fast: bool = False) -> Path:
    """Write RGB uint8 frames (T, H, W, 3) as a VP9 .webm; `fast` uses the encoder's real-time mode
    (a few times quicker, somewhat larger files), for videos made while a visitor waits.

    VP9 stores colour at half resolution (yuv420p), so it needs even sizes: an odd height or width is
    padded by repeating the last row or column, and such a clip reads back one pixel larger.
    """
    path = Path(path)
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8 or len(frames) == 0:
        raise ExplainerError(f"write_webm needs uint8 RGB frames (T, H, W, 3), got {frames.dtype} {frames.shape}")
    if path.suffix.lower() != ".webm":
        raise ExplainerError(f"write_webm writes VP9 .webm files; {path.name} has another extension")
    _, height, width, _ = frames.shape
    frames = np.pad(frames, ((0, 0), (0, height % 2), (0, width % 2), (0, 0)), mode="edge")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with av.open(str(path), "w", format="webm", options={"fflags": "+bitexact"}) as container:
            stream = container.add_stream("libvpx-vp9", rate=Fraction(fps).limit_denominator(1001))
            stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], "yuv420p"
            stream.options = {"crf": str(QUALITY), "b:v": "0", "row-mt": "1",
                              **({"deadline": "realtime", "cpu-used": "8"} if fast else
                                 {"deadline": "good", "cpu-used": "4"})}
            for frame in frames:
                container.mux(stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")))
            container.mux(stream.encode())  # flush the encoder
    except (av.FFmpegError, ValueError) as error:
        path.unlink(missing_ok=True)
        raise ExplainerError(f"could not write a VP9 .webm to {path.name} ({error})") from None
    return path
