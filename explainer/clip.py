"""Clip in: any video or still image a person uploads becomes a small stack of frames at native aspect ratio.

The working clip is a window of consecutive source frames, as a film reel is cut: `frames` frames every
`stride`-th source frame (by default the stride that brings the clip near the frame rates the DiT trained
on, `default_stride`), from `start_frame` on (by default the start of the clip). With `spread`, the frames
lie evenly over the whole file instead. Small thumbnails over the whole clip, for a timeline, come from
the same single decode.

Nothing the container says is trusted: frames are counted by demuxing, and the window is placed within
what is really there. Decoding is bounded (resolution, frame count, wall time) so a huge or endless upload
costs a bounded amount of memory and time; past the frame budget the clip is read over the part decoded.
"""
from __future__ import annotations

import bisect
import math
import time
from collections.abc import Callable
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
MAX_DECODE_FRAMES = 3600           # frames decoded at most: 2 min at 30 fps; a longer clip is read over these
MAX_DECODE_SECONDS = 30.0          # wall-time budget for decoding; the clip is read over what was decoded
MAX_FRAMES = 256                   # frames (working frames, or thumbnails) a person may ask for
MAX_WORKING_SIDE = 1024

# The DiT trains on shots of 25-30 fps footage taken every first, second or third frame (footage.crop_shot):
# 8-30 frames a second. The default stride brings a clip near the slow end of that range, so that 16
# working frames span more than a second and show motion.
WORKING_FPS = 10.0
THUMBNAIL_SIDE = 64                # the longer side of a timeline thumbnail, px

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
    stride: int = 1                      # source frames between working frames (spread: the mean gap, rounded)
    window: tuple[int, int] = (0, 0)     # first and last source frame of the working frames, before padding
    thumbnails: np.ndarray | None = None  # (K, h, w, 3) uint8 over the whole clip, longer side THUMBNAIL_SIDE
    thumbnail_indices: list[int] = field(default_factory=list)  # source frame of each thumbnail


@dataclass(frozen=True)
class WindowSettings:
    """Which source frames become the working clip: a window starting at source frame `start_frame` (or
    `start_s` seconds in, when given), a working frame every `stride` source frames (None: `default_stride`
    of the source's frame rate); or, with `spread`, frames evenly over the whole file (start and stride
    unused). The defaults are the page's: the start of the clip, at the default stride."""

    start_frame: int = 0
    stride: int | None = None
    spread: bool = False
    start_s: float | None = None

    def start_at(self, fps: float) -> int:
        """The source frame the window starts at, for a clip of `fps` frames a second."""
        if self.start_s is None:
            return self.start_frame
        if not (math.isfinite(self.start_s) and self.start_s >= 0):
            raise ClipError(f"the window's start must be 0 s or later, got {self.start_s} s")
        return round(self.start_s * fps)

    def load_kwargs(self, path) -> dict:
        """The settings as `load_clip` takes them for the clip at `path` (a start in seconds turned into the
        source frame it falls on, at the clip's frame rate)."""
        start = self.start_frame if self.start_s is None else self.start_at(clip_frame_rate(path))
        return {"start_frame": start, "stride": self.stride, "spread": self.spread}


@dataclass(frozen=True)
class DecodeLimits:
    """How much of a file is decoded at most; a longer clip is read over the part decoded."""

    max_decode_frames: int = MAX_DECODE_FRAMES
    max_decode_seconds: float = MAX_DECODE_SECONDS


@dataclass(frozen=True)
class _Request:
    frames: int
    window: WindowSettings
    thumbnails: int


def default_stride(fps: float) -> int:
    """Source frames between working frames: the whole number nearest fps / WORKING_FPS (a tie goes to the
    smaller stride, the higher frame rate), at least 1. 25 fps -> 2, 30 fps -> 3, 60 fps -> 6; 15 fps and
    slower -> 1. A still (fps 0) -> 1."""
    if not (math.isfinite(fps) and fps > 0):
        return 1
    return max(1, math.ceil(fps / WORKING_FPS - 0.5))


def window_indices(count: int, frames: int, *, start_frame: int = 0, stride: int = 1) -> tuple[list[int], int]:
    """The source frames of a window of `frames` frames, `stride` apart, from `start_frame`, in a clip of
    `count` frames -> (indices, the stride used). A clip of no more than `frames` frames gives every frame
    (stride 1); a clip too short for the stride gets the largest stride that fits; a window that would run
    past the end is moved back until it ends on the last frame."""
    if count <= frames:
        return list(range(count)), 1
    if frames > 1:
        stride = max(1, min(stride, (count - 1) // (frames - 1)))
    span = (frames - 1) * stride + 1
    start = min(start_frame, count - span)
    return list(range(start, start + span, stride)), stride


def load_clip(path, *, frames: int = 16, max_side: int = 128, patch=DEFAULT_PATCH, start_frame: int = 0,
              stride: int | None = None, spread: bool = False, thumbnails: int = 0, **limits) -> Clip:
    """Read `path` into a working clip of `frames` frames: a window of consecutive frames `stride` apart from
    source frame `start_frame` (or, with `spread`, frames evenly over the whole file), resized to native
    aspect with sides multiple of the patch. `thumbnails` > 0 also keeps that many small frames evenly over
    the whole clip. `limits`: the fields of DecodeLimits (max_decode_frames, max_decode_seconds)."""
    pt, ph, pw = _check_settings(frames, max_side, patch)
    request = _Request(frames, _check_window(WindowSettings(start_frame, stride, spread)), _check_count(thumbnails))
    limits = DecodeLimits(**limits)
    path = _check_file(path)
    if _looks_like_still_image(path):
        read = _read_image_frames(path, request, limits)
    else:
        read = _read_video(path, request, limits)
    height, width = fit_size(read.source.height, read.source.width, max_side, ph, pw)
    stack = np.stack([_resize(frame, height, width) for frame in read.frames])
    stack = pad_frames(stack, pt)  # a clip shorter than whole tubelets repeats its last frame
    indices = read.indices + [read.indices[-1]] * (len(stack) - len(read.indices))
    fps = read.source.fps if read.source.fps > 0 else 1.0
    return Clip(frames=stack, source=read.source, grid=PatchGrid(len(stack), height, width, (pt, ph, pw)),
                frame_indices=indices, times_s=[round(i / fps, 4) for i in indices], stride=read.stride,
                window=(read.indices[0], read.indices[-1]), thumbnails=_thumbnail_stack(read),
                thumbnail_indices=read.thumbnail_indices)


def clip_frame_rate(path) -> float:
    """The frame rate `load_clip` times the clip at, without decoding a picture (0 for a still image): to
    turn a start in seconds into a start frame."""
    path = _check_file(path)
    if not _looks_like_still_image(path):
        try:
            with av.open(str(path)) as container:
                if container.streams.video:
                    stream = container.streams.video[0]
                    presentation, _ = _presentation_times(container, stream, MAX_DECODE_FRAMES)
                    if presentation:
                        return round(_frame_rate(stream, presentation), 3)
        except (av.FFmpegError, OSError, ValueError):
            pass  # not a container FFmpeg knows: read as an image, as load_clip would
    try:
        from PIL import Image

        with Image.open(path) as image:
            return _pillow_fps(image) if getattr(image, "n_frames", 1) > 1 else 0.0
    except (OSError, ValueError, EOFError, SyntaxError):
        raise _unreadable(path) from None


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


def _check_window(window: WindowSettings) -> WindowSettings:
    if int(window.start_frame) != window.start_frame or window.start_frame < 0:
        raise ClipError(f"the window's start frame must be a whole number, 0 or more, got {window.start_frame}")
    if window.stride is not None and (int(window.stride) != window.stride or window.stride < 1):
        raise ClipError(f"the stride must be a whole number of source frames, 1 or more, got {window.stride}")
    return window


def _check_count(thumbnails) -> int:
    if int(thumbnails) != thumbnails or not 0 <= thumbnails <= MAX_FRAMES:
        raise ClipError(f"thumbnails must be between 0 and {MAX_FRAMES}, got {thumbnails}")
    return int(thumbnails)


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


# --- which frames to keep ------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Plan:
    """Which source frames to keep, once the frames are counted: the working frames' positions (whole
    frames for a window, span centres when spread) and the thumbnails', and the stride between working
    frames."""

    targets: list[float]
    stride: int
    thumbnail_targets: list[float]

    @property
    def wanted(self) -> set[int]:
        """Every source frame a target picks when all frames are there."""
        return {nearest_frame(t) for t in (*self.targets, *self.thumbnail_targets)}


def _plan(count: int, fps: float, request: _Request) -> _Plan:
    window = request.window
    thumbnail_targets = even_targets(count, request.thumbnails) if request.thumbnails else []
    if window.spread:
        targets = even_targets(count, request.frames)
        picks = [nearest_frame(t) for t in targets]
        gap = round((picks[-1] - picks[0]) / (len(picks) - 1)) if len(picks) > 1 else 1
        return _Plan(targets, max(1, gap), thumbnail_targets)
    stride = window.stride if window.stride is not None else default_stride(fps)
    picks, stride = window_indices(count, request.frames, start_frame=int(window.start_frame), stride=int(stride))
    return _Plan([float(i) for i in picks], stride, thumbnail_targets)


def even_targets(count: int, wanted: int) -> list[float]:
    """Frame positions at the centres of `wanted` equal spans of a clip of `count` frames (every frame when
    there are no more than `wanted`). More frames than wanted puts the targets more than a frame apart."""
    if count <= wanted:
        return [float(i) for i in range(count)]
    return [(k + 0.5) * count / wanted - 0.5 for k in range(wanted)]


def nearest_frame(target: float) -> int:
    """The frame nearest a target position; halfway between two, the later one (as the decoder picks)."""
    return math.floor(target + 0.5)


@dataclass
class _Read:
    """What a reader kept: full-size working frames and thumbnails (RGB), their source frames, the source."""

    frames: list[np.ndarray]
    indices: list[int]
    source: SourceInfo
    stride: int
    thumbnails: list[np.ndarray] = field(default_factory=list)
    thumbnail_indices: list[int] = field(default_factory=list)


# --- videos and GIFs, through FFmpeg ----------------------------------------------------------------------

def _read_video(path: Path, request: _Request, limits: DecodeLimits) -> _Read:
    """Count the frames by demuxing (cheap, and true whatever the header claims), place the window in
    them, then decode once up to the last frame needed."""
    try:
        container = av.open(str(path))
    except (av.FFmpegError, OSError, ValueError):
        return _read_image_frames(path, request, limits)  # not a container FFmpeg knows; maybe an odd image
    with container:
        stream = _video_stream(container, path)
        kind = "animation" if "gif" in container.format.name else "video"
        presentation, truncated = _presentation_times(container, stream, limits.max_decode_frames)
        if not presentation:
            raise ClipError(f"{path.name} holds no video frames")
        fps = _frame_rate(stream, presentation)
        plan = _plan(len(presentation), fps, request)
    with av.open(str(path)) as container:  # a fresh read from the start: seeking back is not always possible
        stream = container.streams.video[0]
        working, thumbs = _decode_nearest(path, container, stream, presentation, plan,
                                          max_seconds=limits.max_decode_seconds)
    if not working.best:
        raise ClipError(f"{path.name}: none of its {len(presentation)} frames could be decoded")
    width, height = stream.codec_context.width, stream.codec_context.height
    if working.rotation % 180:
        width, height = height, width
    source = SourceInfo(width=width, height=height, fps=round(fps, 3), frames_decoded=len(presentation),
                        duration_s=round(len(presentation) / fps, 3), kind=kind,
                        reported_frames=float(stream.frames or 0), rotation=working.rotation, truncated=truncated)
    frames, indices = working.kept()
    thumbnails, thumbnail_indices = thumbs.kept()
    return _Read(frames, indices, source, plan.stride, thumbnails, thumbnail_indices)


def _video_stream(container, path: Path):
    if not container.streams.video:
        raise ClipError(f"{path.name} has no video track")
    stream = container.streams.video[0]
    if stream.codec_context is None:  # a codec FFmpeg does not know, or a damaged codec id
        raise ClipError(f"{path.name}: its video track's codec is unknown or damaged, so it cannot be "
                        "decoded (try re-encoding it as H.264 mp4 or VP9 webm)")
    _check_dimensions(stream.codec_context.width, stream.codec_context.height, path.name)
    return stream


def _packet_time(packet, fallback: int):
    return packet.pts if packet.pts is not None else (packet.dts if packet.dts is not None else fallback)


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
            times.append(_packet_time(packet, len(times)))
    except (av.FFmpegError, OSError):
        pass  # a truncated or damaged file: keep the frames found before the damage
    return sorted(times), truncated


class _NearestFrames:
    """For each target position, the nearer of the two decoded frames that straddle it (the later one when
    both are as near), each frame converted to RGB at `size_for`'s size once (a frame nearest two targets
    is converted once)."""

    def __init__(self, targets, name: str, size_for: Callable[[int, int], tuple[int, int]]):
        self.targets, self.name, self.size_for = targets, name, size_for
        self.best, self.converted, self.rotation = {}, {}, 0  # target -> (index, rgb); index -> rgb
        self.previous = None  # the last frame decoded before the current one: (index, frame)

    @property
    def done(self) -> bool:
        return len(self.best) == len(self.targets)

    def keep(self, k: int, index: int, frame):
        if index not in self.converted:
            self.converted[index], self.rotation = _frame_to_rgb(frame, self.name, self.size_for)
        self.best[k] = (index, self.converted[index])

    def see(self, index: int, frame):
        """A frame decoded at presentation index `index`: settle every target it reaches."""
        for k in range(len(self.best), len(self.targets)):
            target = self.targets[k]
            if index < target:
                break
            if self.previous is not None and target - self.previous[0] < index - target:
                self.keep(k, *self.previous)
            else:
                self.keep(k, index, frame)
        self.previous = (index, frame)

    def finish(self):
        """The stream ended early: its last frame stands for every target it never reached."""
        if self.previous is not None:
            for k in range(len(self.best), len(self.targets)):
                self.keep(k, *self.previous)

    def kept(self) -> tuple[list[np.ndarray], list[int]]:
        """(frames, their source indices), in the targets' order."""
        return [self.best[k][1] for k in sorted(self.best)], [self.best[k][0] for k in sorted(self.best)]


def _frames_in_order(container, stream, presentation, wanted: set[int]):
    """The stream's frames as decoded, in presentation order. A frame nothing refers to (a non-reference
    frame) is not decoded unless it is wanted: the decision is made per packet, so every wanted frame is
    the exact source frame while the frames around it cost nothing."""
    context = stream.codec_context
    for packet in container.demux(stream):
        time_stamp = _packet_time(packet, None)
        index = bisect.bisect_left(presentation, time_stamp) if time_stamp is not None else None
        context.skip_frame = "DEFAULT" if index is None or index in wanted else "NONREF"
        yield from packet.decode()


def _decode_nearest(path, container, stream, presentation, plan: _Plan, *, max_seconds):
    """Decode in presentation order, up to the last frame needed, keeping for each target the nearer of the
    two decoded frames that straddle it: the working frames (RGB, at most MAX_WORKING_SIDE a side) and the
    thumbnails (THUMBNAIL_SIDE on the longer side). Only those frames are converted."""
    stream.thread_type = "AUTO"
    working = _NearestFrames(plan.targets, path.name, _working_size)
    thumbs = _NearestFrames(plan.thumbnail_targets, path.name, _thumbnail_size)
    started = time.perf_counter()
    try:
        for decoded, frame in enumerate(_frames_in_order(container, stream, presentation, plan.wanted)):
            index = bisect.bisect_left(presentation, frame.pts) if frame.pts is not None else decoded
            working.see(index, frame)
            thumbs.see(index, frame)
            if (working.done and thumbs.done) or time.perf_counter() - started > max_seconds:
                break
    except (av.FFmpegError, OSError):
        pass  # damaged data after some good frames: use those
    working.finish()
    thumbs.finish()
    return working, thumbs


def _working_size(width: int, height: int) -> tuple[int, int]:
    """A decoded frame's size for the working frames: as it is, or shrunk to MAX_WORKING_SIDE."""
    scale = min(1.0, MAX_WORKING_SIDE / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def _thumbnail_size(width: int, height: int) -> tuple[int, int]:
    """A thumbnail's size: the longer side THUMBNAIL_SIDE, the aspect ratio kept."""
    scale = THUMBNAIL_SIDE / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def _frame_to_rgb(frame, name: str, size_for=_working_size):
    """An upright RGB copy of a decoded frame, at the size `size_for` gives its stored size."""
    _check_dimensions(frame.width, frame.height, name)
    width, height = size_for(frame.width, frame.height)
    rgb = frame.reformat(width=width, height=height, format="rgb24", interpolation="AREA").to_ndarray()
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


# --- stills and animations FFmpeg cannot open, through Pillow -------------------------------------------

def _pillow_fps(image) -> float:
    """An animation's frame rate from its first frame's duration (100 ms when it states none)."""
    return round(1000 / float(image.info.get("duration", 100) or 100), 3)


def _read_image_frames(path: Path, request: _Request, limits: DecodeLimits) -> _Read:
    """Still images, and animations FFmpeg cannot open (APNG, animated WebP), through Pillow. The size is
    checked from the header, before any pixel is decoded."""
    from PIL import Image

    try:
        with Image.open(path) as image:
            _check_dimensions(image.width, image.height, path.name)
            count = getattr(image, "n_frames", 1)
            fps = _pillow_fps(image) if count > 1 else 0.0
            plan = _plan(min(count, limits.max_decode_frames), fps, request)
            pictures = _pillow_pictures(image, sorted(plan.wanted), still=count == 1)
    except ClipError:
        raise
    except Image.DecompressionBombError:
        raise ClipError(f"{path.name} is too large an image to decode; the largest frame decoded is "
                        f"{MAX_SOURCE_SIDE} px a side and {MAX_SOURCE_PIXELS / 1e6:.0f} Mpx") from None
    except (OSError, ValueError, EOFError, SyntaxError):
        raise _unreadable(path) from None
    indices = [nearest_frame(t) for t in plan.targets]
    thumbnail_indices = [nearest_frame(t) for t in plan.thumbnail_targets]
    first = pictures[indices[0]]
    source = SourceInfo(width=first.shape[1], height=first.shape[0], fps=fps, frames_decoded=count,
                        duration_s=round(count / fps, 3) if fps else 0.0, kind="animation" if count > 1 else "image",
                        reported_frames=float(count), truncated=count > limits.max_decode_frames)
    thumbnails = [_resize(pictures[i], *reversed(_thumbnail_size(first.shape[1], first.shape[0])))
                  for i in thumbnail_indices]
    return _Read([pictures[i] for i in indices], indices, source, plan.stride, thumbnails, thumbnail_indices)


def _pillow_pictures(image, indices: list[int], *, still: bool) -> dict[int, np.ndarray]:
    """The frames at `indices` as RGB arrays; a still photo turned upright by its EXIF orientation."""
    from PIL import ImageOps

    pictures = {}
    for index in indices:
        image.seek(index)
        upright = ImageOps.exif_transpose(image) if still else image  # phone photos
        pictures[index] = np.asarray(upright.convert("RGB"))
    return pictures


def _thumbnail_stack(read: _Read) -> np.ndarray | None:
    """The thumbnails as one (K, h, w, 3) array, each at the size the upright source gives a thumbnail."""
    if not read.thumbnails:
        return None
    width, height = _thumbnail_size(read.source.width, read.source.height)
    return np.stack([_resize(picture, height, width) for picture in read.thumbnails])


def _resize(frame: np.ndarray, height: int, width: int) -> np.ndarray:
    shrinking = frame.shape[0] > height or frame.shape[1] > width
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC
    return cv2.resize(frame, (width, height), interpolation=interpolation)
