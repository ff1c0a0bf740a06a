import shutil
import struct
import subprocess
import sys
import zlib

import cv2
import numpy as np
import pytest
from PIL import Image

from explainer.clip import even_targets, load_clip, nearest_frame
from explainer.errors import ClipError
from explainer.patches import pad_frames


def moving_frames(count=24, height=90, width=160):
    """A bright square sliding right over a gradient, so frame order is visible in the pixels."""
    frames = np.zeros((count, height, width, 3), np.uint8)
    frames[..., 2] = np.linspace(0, 200, width, dtype=np.uint8)[None, None, :]
    for t in range(count):
        x = int(t * (width - 20) / max(1, count - 1))
        frames[t, height // 3: height // 3 + 20, x: x + 20] = (255, 255, 0)
    return frames


def write_video(path, frames, fourcc, fps=24):
    height, width = frames.shape[1:3]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (width, height))
    assert writer.isOpened(), f"OpenCV cannot write {fourcc} here"
    for frame in frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    return path


def square_column(frame):
    """Column of the yellow square's centre in a working frame."""
    yellow = (frame[..., 0] > 180) & (frame[..., 1] > 180) & (frame[..., 2] < 120)
    return np.nonzero(yellow)[1].mean()


@pytest.mark.parametrize("suffix, fourcc", [(".mp4", "mp4v"), (".avi", "MJPG"), (".mkv", "MJPG"),
                                            (".mov", "mp4v"), (".webm", "VP90")])
def test_reads_common_containers_and_samples_in_order(tmp_path, suffix, fourcc):
    path = write_video(tmp_path / f"clip{suffix}", moving_frames(), fourcc)
    clip = load_clip(path, frames=8)
    assert clip.frames.shape == (8, 72, 128, 3) and clip.frames.dtype == np.uint8
    assert clip.source.width == 160 and clip.source.height == 90
    assert clip.source.frames_decoded == 24
    assert clip.source.fps == pytest.approx(24, rel=0.05)
    assert clip.source.duration_s == pytest.approx(1.0, rel=0.05)
    columns = [square_column(f) for f in clip.frames]
    assert all(a < b for a, b in zip(columns, columns[1:])), "frames out of order"
    # evenly spread over the whole clip, first span to last
    assert clip.frame_indices[0] <= 2 and clip.frame_indices[-1] >= 21


def test_animated_gif_is_a_clip(tmp_path):
    frames = moving_frames(12, 120, 160)
    path = tmp_path / "anim.gif"
    Image.fromarray(frames[0]).save(path, save_all=True, append_images=[Image.fromarray(f) for f in frames[1:]],
                                    duration=50, loop=0)
    clip = load_clip(path, frames=4)
    assert clip.source.frames_decoded == 12 and clip.source.kind == "animation"
    assert clip.frames.shape == (4, 96, 128, 3)
    columns = [square_column(f) for f in clip.frames]
    assert columns == sorted(columns)


def test_even_targets_are_span_centres():
    assert even_targets(3, 8) == [0.0, 1.0, 2.0]  # fewer frames than wanted: all of them
    assert even_targets(24, 8) == [1.0, 4.0, 7.0, 10.0, 13.0, 16.0, 19.0, 22.0]
    targets = even_targets(100, 7)
    assert all(b - a > 1 for a, b in zip(targets, targets[1:]))
    assert [nearest_frame(t) for t in (0.49, 0.5, 2.5, 2.51)] == [0, 1, 3, 3]  # halfway: the later frame


@pytest.mark.parametrize("count, wanted", [(16, 8), (24, 8), (10, 4)])
def test_animations_through_pillow_sample_the_frames_a_video_would(tmp_path, count, wanted):
    """An APNG is read by Pillow, an AVI by FFmpeg; both pick the frame nearest each span's centre, ties
    (16 frames into 8) included."""
    frames = moving_frames(count, 48, 64)
    video = load_clip(write_video(tmp_path / "clip.avi", frames, "MJPG"), frames=wanted)
    apng = tmp_path / "clip.png"
    Image.fromarray(frames[0]).save(apng, save_all=True, append_images=[Image.fromarray(f) for f in frames[1:]],
                                    duration=40)
    animation = load_clip(apng, frames=wanted)
    assert animation.source.kind == "animation" and animation.source.frames_decoded == count
    assert animation.frame_indices == video.frame_indices == [nearest_frame(t) for t in even_targets(count, wanted)]


def test_padding_repeats_the_last_frame_of_an_array():
    frames = np.arange(3 * 2 * 2 * 3, dtype=np.uint8).reshape(3, 2, 2, 3)
    padded = pad_frames(frames, 2)
    assert padded.shape == (4, 2, 2, 3) and (padded[:3] == frames).all() and (padded[3] == frames[2]).all()
    assert pad_frames(frames, 1) is frames


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".mp4"])  # .mp4: an image under a video's name
def test_still_image_is_a_one_frame_clip(tmp_path, suffix):
    path = tmp_path / f"still{suffix}"
    Image.fromarray(moving_frames(1, 300, 200)[0]).save(path, format="PNG" if suffix != ".jpg" else "JPEG")
    clip = load_clip(path)
    assert clip.source.kind == "image" and clip.source.frames_decoded == 1
    assert clip.frames.shape == (2, 128, 88, 3)  # one frame, repeated to fill a 2-frame tubelet
    assert (clip.frames[0] == clip.frames[1]).all()
    assert clip.grid.shape == (1, 16, 11)


@pytest.mark.parametrize("height, width, expected", [(720, 1280, (72, 128)), (1280, 720, (128, 72)),
                                                     (400, 400, (128, 128)), (200, 640, (40, 128))])
def test_native_aspect_ratio_is_kept_without_cropping(tmp_path, height, width, expected):
    path = tmp_path / "frame.png"
    Image.fromarray(np.full((height, width, 3), 90, np.uint8)).save(path)
    clip = load_clip(path)
    assert clip.frames.shape[1:3] == expected


def test_metadata_that_lies_about_the_frame_count(tmp_path):
    path = write_video(tmp_path / "liar.avi", moving_frames(20), "MJPG")
    data = bytearray(path.read_bytes())
    for tag, offset in ((b"avih", 8 + 16), (b"strh", 8 + 32)):  # dwTotalFrames, dwLength
        at = data.index(tag) + offset
        data[at: at + 4] = struct.pack("<I", 5000)
    path.write_bytes(bytes(data))
    import av
    with av.open(str(path)) as container:
        assert container.streams.video[0].frames == 5000  # the header now claims 5000 frames
    clip = load_clip(path, frames=4)
    assert clip.source.frames_decoded == 20
    assert clip.source.reported_frames == 5000
    assert max(clip.frame_indices) < 20


def test_clip_longer_than_the_decode_budget_is_sampled_over_the_budget(tmp_path):
    path = write_video(tmp_path / "long.avi", moving_frames(40), "MJPG")
    clip = load_clip(path, frames=4, max_decode_frames=10)
    assert clip.source.truncated and clip.source.frames_decoded == 10
    assert max(clip.frame_indices) < 10


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs the ffmpeg binary to tag a rotation")
def test_phone_rotation_metadata_is_honoured(tmp_path):
    plain = write_video(tmp_path / "plain.mp4", moving_frames(8, 90, 160), "mp4v")
    rotated = tmp_path / "rotated.mp4"
    subprocess.run(["ffmpeg", "-y", "-loglevel", "error", "-i", str(plain), "-c", "copy",
                    "-metadata:s:v:0", "rotate=90", str(rotated)], check=True)
    clip = load_clip(rotated, frames=2)
    assert clip.source.rotation == 90
    assert (clip.source.width, clip.source.height) == (90, 160)
    assert clip.frames.shape[1:3] == (128, 72)  # portrait, as a phone shows it


# --- bad input: one error type, a readable message ------------------------------------------------

def png_header(width, height):
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = struct.pack(">I", len(ihdr)) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return b"\x89PNG\r\n\x1a\n" + chunk


def garbage_frames_avi(tmp_path):
    """A valid AVI whose every JPEG frame payload is overwritten with zeros."""
    path = write_video(tmp_path / "garbage.avi", moving_frames(10), "MJPG")
    data = bytearray(path.read_bytes())
    at = data.find(b"00dc")
    while at != -1:
        size = struct.unpack("<I", data[at + 4: at + 8])[0]
        data[at + 8: at + 8 + size] = bytes(size)
        at = data.find(b"00dc", at + 8 + size)
    path.write_bytes(bytes(data))
    return path


def put(path, data: bytes):
    path.write_bytes(data)
    return path


def unknown_codec_webm(folder):
    """A webm whose codec id is damaged (V_VP9 -> V_QQQ): FFmpeg opens the track but knows no decoder."""
    from explainer.video import write_webm

    path = write_webm(folder / "codec.webm", moving_frames())
    data = path.read_bytes()
    assert data.count(b"V_VP9") == 1
    return put(path, data.replace(b"V_VP9", b"V_QQQ"))


BAD_INPUTS = {
    "missing": lambda d: d / "does-not-exist.mp4",
    "directory": lambda d: d,
    "empty": lambda d: put(d / "empty.mp4", b""),
    "text named mp4": lambda d: put(d / "notes.mp4", b"this is not a video\n" * 50),
    "truncated mp4": lambda d: _truncate(write_video(d / "cut.mp4", moving_frames(), "mp4v"), 0.4),
    "undecodable frames": garbage_frames_avi,
    "unknown codec": unknown_codec_webm,
    "zero-size image": lambda d: put(d / "zero.png", png_header(0, 0)),
    "gigantic image": lambda d: put(d / "huge.png", png_header(100_000, 100_000)),
    "gigantic video": lambda d: put(d / "huge.y4m",
                                    b"YUV4MPEG2 W20000 H20000 F25:1 Ip A1:1 C420jpeg\nFRAME\n" + bytes(64)),
}


def _truncate(path, fraction):
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * fraction)])
    return path


@pytest.mark.parametrize("name", BAD_INPUTS)
def test_bad_input_raises_one_readable_error(tmp_path, name):
    path = BAD_INPUTS[name](tmp_path)
    with pytest.raises(ClipError) as raised:
        load_clip(path)
    message = str(raised.value)
    assert message and "Traceback" not in message and len(message) < 300
    if name.startswith("gigantic"):
        assert "8192 px" in message  # says what the limit is


def test_bad_settings_raise_readable_errors(tmp_path):
    path = write_video(tmp_path / "ok.avi", moving_frames(), "MJPG")
    for kwargs in ({"frames": 15}, {"frames": 0}, {"max_side": 4}, {"patch": (2, 8, 0)}):
        with pytest.raises(ClipError):
            load_clip(path, **kwargs)


# --- the dissect command ----------------------------------------------------------------------------

def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "explainer", *map(str, args)], capture_output=True, text=True,
                          timeout=120)


def test_dissect_json_on_a_16_9_clip(tmp_path):
    import json

    path = write_video(tmp_path / "wide.avi", moving_frames(32, 720, 1280), "MJPG")
    done = run_cli("dissect", path, "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["source"]["width"] == 1280 and report["source"]["frames_decoded"] == 32
    gt, gh, gw = report["grid"]
    assert (gt, report["tokens"]) == (8, gt * gh * gw)
    assert abs(gw / gh - 16 / 9) <= 16 / 9 * (1 / gh + 1 / gw)  # 16:9 within one patch of rounding
    assert {"fps", "duration_s"} <= report["source"].keys() and report["seconds"] > 0
    assert report["patch"] == [2, 8, 8] and report["frames"] == 16


def test_dissect_human_summary(tmp_path):
    path = write_video(tmp_path / "wide.avi", moving_frames(), "MJPG")
    done = run_cli("dissect", path, "--frames", "4", "--patch", "1", "8", "8")
    assert done.returncode == 0 and "tokens" in done.stdout and "no cropping" in done.stdout


@pytest.mark.parametrize("name", ["missing", "empty", "text named mp4", "undecodable frames", "gigantic image"])
def test_dissect_bad_input_prints_one_error_line_and_exits_2(tmp_path, name):
    done = run_cli("dissect", BAD_INPUTS[name](tmp_path))
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and "Traceback" not in done.stderr


def test_real_clip(real_clip_path):
    clip = load_clip(real_clip_path)
    assert clip.source.width == 320 and clip.source.height == 240 and clip.source.frames_decoded == 36
    assert clip.frames.shape == (16, 96, 128, 3)
    assert clip.frames.std() > 20
