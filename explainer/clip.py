"""Clip in: any video or still image a person uploads becomes a small stack of frames at native aspect ratio.

Nothing the container says is trusted: frames are counted by decoding, and sampled evenly over what was
really decoded. Decoding is bounded (resolution, frame count, wall time) so a huge or endless upload costs
a bounded amount of memory and time; past the frame budget the clip is sampled over the part decoded.
"""
from __future__ import annotations

import bisect
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import av
import cv2
import numpy as np

from .errors import ClipError
from .patches import DEFAULT_PATCH, PatchGrid, fit_size, pad_frames

# Limits of what is decoded (documented in the README).
MAX_FILE_BYTES = 1 << 30           # 1 GiB on disk
MAX_SOURCE_SIDE = 8192             # widest or tallest frame decoded (8K video is 7680 wide)
MAX_SOURCE_PIXELS = 8192 * 4608    # about 38 Mpx a frame
MAX_DECODE_FRAMES = 3600           # frames decoded at most: 2 min at 30 fps; a longer clip is sampled over these
MAX_DECODE_SECONDS = 30.0          # wall-time budget for decoding; the clip is sampled over what was decoded
MAX_FRAMES = 256                   # frames a person may ask for
MAX_WORKING_SIDE = 1024

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff"}
_IMAGE_MAGIC = (b"\x89PNG", b"\xff\xd8\xff", b"BM", b"II*\x00", b"MM\x00*")


@dataclass
class SourceInfo:
    """What the uploaded file really held, as measured while decoding it."""

    width: int
    height: int
    fps: float                 # frames per second used for timing (the container's, when it is plausible)
    frames_decoded: int        # frames actually decoded, not the container's claim
    duration_s: float
    kind: str = "video"        # "video", "animation" or "image"
    reported_frames: float = 0.0  # the container's claimed frame count, kept to show how far off it was
    rotation: int = 0          # degrees of rotation metadata applied
    truncated: bool = False    # decoding stopped at the budget before the end of the clip

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class Clip:
    """The working clip: uint8 RGB frames (T, H, W, 3), where they came from, and how they are patched."""

    frames: np.ndarray
    source: SourceInfo
    grid: PatchGrid
    frame_indices: list[int] = field(default_factory=list)  # source frame of each working frame
    times_s: list[float] = field(default_factory=list)


def load_clip(path, *, frames: int = 16, max_side: int = 128, patch=DEFAULT_PATCH,
              max_decode_frames: int = MAX_DECODE_FRAMES, max_decode_seconds: float = MAX_DECODE_SECONDS) -> Clip:
    """Read `path`, sample `frames` frames evenly, resize to native aspect with sides multiple of the patch."""
    pt, ph, pw = _check_settings(frames, max_side, patch)
    path = _check_file(path)
    if _looks_like_still_image(path):
        rgb_frames, indices, source = _read_image_frames(path, frames)
    else:
        rgb_frames, indices, source = _read_video(path, frames, max_decode_frames, max_decode_seconds)
    height, width = fit_size(source.height, source.width, max_side, ph, pw)
    stack = np.stack([_resize(frame, height, width) for frame in rgb_frames])
    stack = pad_frames(stack, pt)  # a clip shorter than whole tubelets repeats its last frame
    indices = indices + [indices[-1]] * (len(stack) - len(indices))
    fps = source.fps if source.fps > 0 else 1.0
    return Clip(frames=stack, source=source, grid=PatchGrid(len(stack), height, width, (pt, ph, pw)),
                frame_indices=indices, times_s=[round(i / fps, 4) for i in indices])


def _check_settings(frames, max_side, patch):
    if len(patch) != 3 or min(patch) < 1:
        raise ClipError(f"the patch size must be three positive numbers (frames, height, width), got {patch}")
    pt, ph, pw = (int(p) for p in patch)
    if not 1 <= frames <= MAX_FRAMES:
        raise ClipError(f"frames must be between 1 and {MAX_FRAMES}, got {frames}")
    if frames % pt:
        raise ClipError(f"frames ({frames}) must be a multiple of the temporal patch size ({pt})")
    if not max(ph, pw) <= max_side <= MAX_WORKING_SIDE:
        raise ClipError(f"the working size must be between the patch size and {MAX_WORKING_SIDE} px, got {max_side}")
    return pt, ph, pw


def _check_file(path) -> Path:
    path = Path(path)
    if not path.exists():
        raise ClipError(f"no such file: {path.name}")
    if not path.is_file():
        raise ClipError(f"{path.name} is not a file")
    size = path.stat().st_size
    if size == 0:
        raise ClipError(f"{path.name} is empty (0 bytes)")
    if size > MAX_FILE_BYTES:
        raise ClipError(f"{path.name} is {size / 2**20:.0f} MB; the limit is {MAX_FILE_BYTES / 2**20:.0f} MB")
    return path


def _looks_like_still_image(path: Path) -> bool:
    """By content first (a PNG named .mp4 is still a PNG), then by name. GIFs go the video way."""
    with open(path, "rb") as handle:
        head = handle.read(16)
    if head.startswith(b"GIF8"):
        return False
    if head.startswith(_IMAGE_MAGIC) or (head[:4] == b"RIFF" and head[8:12] == b"WEBP"):
        return True
    return path.suffix.lower() in IMAGE_SUFFIXES and not _is_video_container(head)


def _is_video_container(head: bytes) -> bool:
    mp4, matroska, avi = head[4:8] == b"ftyp", head.startswith(b"\x1a\x45\xdf\xa3"), head[:4] == b"RIFF"
    return mp4 or matroska or (avi and head[8:11] == b"AVI")


def _check_dimensions(width: int, height: int, name: str):
    if width < 1 or height < 1:
        raise ClipError(f"{name} has no picture (frame size {width}x{height})")
    if max(width, height) > MAX_SOURCE_SIDE or width * height > MAX_SOURCE_PIXELS:
        raise ClipError(f"{name} is {width}x{height} px; the largest frame decoded is "
                        f"{MAX_SOURCE_SIDE} px a side and {MAX_SOURCE_PIXELS / 1e6:.0f} Mpx")


def _declared_size(path: Path):
    """(width, height) as a PNG, GIF, BMP or YUV4MPEG header states it, or None: to tell a person that a
    file the decoders refused was refused for its size."""
    import re
    import struct

    with open(path, "rb") as handle:
        head = handle.read(64)
    if head.startswith(b"\x89PNG") and head[12:16] == b"IHDR":
        return struct.unpack(">II", head[16:24])
    if head.startswith(b"GIF8"):
        return struct.unpack("<HH", head[6:10])
    if head.startswith(b"BM") and len(head) >= 26:
        width, height = struct.unpack("<ii", head[18:26])
        return width, abs(height)
    match = re.match(rb"YUV4MPEG2 (?:\S+ )*?W(\d+) H(\d+)", head)
    return (int(match[1]), int(match[2])) if match else None


def _unreadable(path: Path) -> ClipError:
    size = _declared_size(path)
    if size is not None:
        _check_dimensions(*size, path.name)  # raises with the size limit if that is what went wrong
    return ClipError(f"{path.name} is not a video or image that can be read "
                     "(try mp4, webm, mov, avi, mkv, gif, png or jpg)")


def _read_video(path: Path, wanted: int, max_decode_frames: int, max_decode_seconds: float):
    """Count the frames by demuxing (cheap, and true whatever the header claims), then decode once up to
    the last frame needed, keeping the frame nearest each of `wanted` evenly spaced targets."""
    try:
        container = av.open(str(path))
    except (av.FFmpegError, OSError, ValueError):
        return _read_image_frames(path, wanted)  # not a container FFmpeg knows; maybe an odd image
    with container:
        if not container.streams.video:
            raise ClipError(f"{path.name} has no video track")
        stream = container.streams.video[0]
        if stream.codec_context is None:  # a codec FFmpeg does not know, or a damaged codec id
            raise ClipError(f"{path.name}: its video track's codec is unknown or damaged, so it cannot be "
                            "decoded (try re-encoding it as H.264 mp4 or VP9 webm)")
        kind = "animation" if "gif" in container.format.name else "video"
        _check_dimensions(stream.codec_context.width, stream.codec_context.height, path.name)
        presentation, truncated = _presentation_times(container, stream, max_decode_frames)
        if not presentation:
            raise ClipError(f"{path.name} holds no video frames")
        targets = even_targets(len(presentation), wanted)
    with av.open(str(path)) as container:  # a fresh read from the start: seeking back is not always possible
        stream = container.streams.video[0]
        best, rotation = _decode_nearest(path, container, stream, presentation, targets,
                                         max_seconds=max_decode_seconds)
    if not best:
        raise ClipError(f"{path.name}: none of its {len(presentation)} frames could be decoded")
    indices = [best[k][0] for k in sorted(best)]
    frames = [best[k][1] for k in sorted(best)]
    fps = _frame_rate(stream, presentation)
    width, height = stream.codec_context.width, stream.codec_context.height
    if rotation % 180:
        width, height = height, width
    source = SourceInfo(width=width, height=height, fps=round(fps, 3), frames_decoded=len(presentation),
                        duration_s=round(len(presentation) / fps, 3), kind=kind,
                        reported_frames=float(stream.frames or 0), rotation=rotation, truncated=truncated)
    return frames, indices, source


def _presentation_times(container, stream, max_frames: int):
    """Sorted presentation timestamps of the video packets: one per frame. Stops at `max_frames`."""
    times, truncated = [], False
    try:
        for packet in container.demux(stream):
            if packet.size == 0:
                continue
            if len(times) >= max_frames:
                truncated = True
                break
            times.append(packet.pts if packet.pts is not None else (packet.dts if packet.dts is not None
                                                                     else len(times)))
    except (av.FFmpegError, OSError):
        pass  # a truncated or damaged file: keep the frames found before the damage
    return sorted(times), truncated


def even_targets(count: int, wanted: int) -> list[float]:
    """Frame positions at the centres of `wanted` equal spans of a clip of `count` frames (every frame when
    there are no more than `wanted`). More frames than wanted puts the targets more than a frame apart."""
    if count <= wanted:
        return [float(i) for i in range(count)]
    return [(k + 0.5) * count / wanted - 0.5 for k in range(wanted)]


def nearest_frame(target: float) -> int:
    """The frame nearest a target position; halfway between two, the later one (as the decoder picks)."""
    return math.floor(target + 0.5)


class _NearestFrames:
    """For each target position, the nearer of the two decoded frames that straddle it (the later one when
    both are as near), each frame converted to RGB once (a frame nearest two targets is converted once)."""

    def __init__(self, targets, name: str):
        self.targets, self.name = targets, name
        self.best, self.converted, self.rotation = {}, {}, 0  # target -> (index, rgb); index -> rgb
        self.previous = None  # the last frame decoded before the current one: (index, frame)

    @property
    def done(self) -> bool:
        return len(self.best) == len(self.targets)

    def keep(self, k: int, index: int, frame):
        if index not in self.converted:
            self.converted[index], self.rotation = _frame_to_rgb(frame, self.name)
        self.best[k] = (index, self.converted[index])

    def see(self, index: int, frame):
        """A frame decoded at presentation index `index`: settle every target it reaches."""
        for k in range(len(self.best), len(self.targets)):
            target = self.targets[k]
            if index < target:
                return
            if self.previous is not None and target - self.previous[0] < index - target:
                self.keep(k, *self.previous)
            else:
                self.keep(k, index, frame)

    def finish(self):
        """The stream ended early: its last frame stands for every target it never reached."""
        if self.previous is not None:
            for k in range(len(self.best), len(self.targets)):
                self.keep(k, *self.previous)


def _decode_nearest(path, container, stream, presentation, targets, *, max_seconds):
    """Decode in presentation order and keep, for each target, the nearer of the two decoded frames that
    straddle it (the later one when both are as near; RGB, at most MAX_WORKING_SIDE a side). Only those frames
    are converted. Long clips skip decoding non-reference frames. -> ({target: (index, rgb)}, rotation)."""
    stream.thread_type = "AUTO"
    if len(presentation) >= 8 * len(targets):
        stream.codec_context.skip_frame = "NONREF"
        stream.codec_context.options = {"skip_loop_filter": "all"}  # invisible once shrunk to working size
    nearest, started = _NearestFrames(targets, path.name), time.perf_counter()
    try:
        for decoded, frame in enumerate(container.decode(stream)):
            index = bisect.bisect_left(presentation, frame.pts) if frame.pts is not None else decoded
            nearest.see(index, frame)
            if nearest.done or time.perf_counter() - started > max_seconds:
                break
            nearest.previous = (index, frame)
    except (av.FFmpegError, OSError):
        pass  # damaged data after some good frames: use those
    nearest.finish()
    return nearest.best, nearest.rotation


def _frame_to_rgb(frame, name: str):
    """An upright RGB copy of a decoded frame, scaled so no side exceeds MAX_WORKING_SIDE."""
    _check_dimensions(frame.width, frame.height, name)
    scale = min(1.0, MAX_WORKING_SIDE / max(frame.width, frame.height))
    rgb = frame.reformat(width=max(1, round(frame.width * scale)), height=max(1, round(frame.height * scale)),
                         format="rgb24", interpolation="AREA").to_ndarray()
    rotation = int(getattr(frame, "rotation", 0) or 0) % 360
    return np.ascontiguousarray(np.rot90(rgb, rotation // 90)), rotation  # counter-clockwise, as stored


def _frame_rate(stream, presentation) -> float:
    """The container's average rate when plausible, else measured from the timestamps."""
    rate = float(stream.average_rate or 0)
    if 0.5 <= rate <= 1000:
        return rate
    span = (presentation[-1] - presentation[0]) * float(stream.time_base or 0)
    if len(presentation) > 1 and span > 0:
        return (len(presentation) - 1) / span
    return 25.0  # nothing to measure by: a common frame rate


def _read_image_frames(path: Path, wanted: int):
    """Still images, and animations FFmpeg cannot open (APNG, animated WebP), through Pillow. The size is
    checked from the header, before any pixel is decoded."""
    from PIL import Image, ImageOps

    try:
        with Image.open(path) as image:
            _check_dimensions(image.width, image.height, path.name)
            count = getattr(image, "n_frames", 1)
            indices = [nearest_frame(t) for t in even_targets(min(count, MAX_DECODE_FRAMES), wanted)]
            frames, durations = [], []
            for index in indices:
                image.seek(index)
                upright = ImageOps.exif_transpose(image) if count == 1 else image  # phone photos
                frames.append(np.asarray(upright.convert("RGB")))
                durations.append(image.info.get("duration", 100) or 100)
    except ClipError:
        raise
    except Image.DecompressionBombError:
        raise ClipError(f"{path.name} is too large an image to decode; the largest frame decoded is "
                        f"{MAX_SOURCE_SIDE} px a side and {MAX_SOURCE_PIXELS / 1e6:.0f} Mpx") from None
    except (OSError, ValueError, EOFError, SyntaxError):
        raise _unreadable(path) from None
    fps = 1000 / float(np.mean(durations))
    kind = "animation" if count > 1 else "image"
    source = SourceInfo(width=frames[0].shape[1], height=frames[0].shape[0], fps=round(fps, 3) if count > 1 else 0.0,
                        frames_decoded=count, duration_s=round(count / fps, 3) if count > 1 else 0.0, kind=kind,
                        reported_frames=float(count))
    return frames, indices, source


def _resize(frame: np.ndarray, height: int, width: int) -> np.ndarray:
    shrinking = frame.shape[0] > height or frame.shape[1] > width
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC
    return cv2.resize(frame, (width, height), interpolation=interpolation)
