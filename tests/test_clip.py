import shutil
import struct
import subprocess
import sys
import zlib

import cv2
import numpy as np
import pytest
from PIL import Image

from explainer.clip import (
    THUMBNAIL_SIDE,
    WindowSettings,
    default_stride,
    even_targets,
    load_clip,
    nearest_frame,
    window_indices,
)
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
    # a window from the start, every second frame of the 24 fps source (about 10 frames a second)
    assert clip.stride == 2 and clip.frame_indices == list(range(0, 16, 2)) and clip.window == (0, 14)
    spread = load_clip(path, frames=8, spread=True)  # evenly over the whole clip, first span to last
    assert spread.frame_indices[0] <= 2 and spread.frame_indices[-1] >= 21
    columns = [square_column(f) for f in spread.frames]
    assert all(a < b for a, b in zip(columns, columns[1:])), "frames out of order"


def test_animated_gif_is_a_clip(tmp_path):
    frames = moving_frames(12, 120, 160)
    path = tmp_path / "anim.gif"
    Image.fromarray(frames[0]).save(path, save_all=True, append_images=[Image.fromarray(f) for f in frames[1:]],
                                    duration=50, loop=0)
    clip = load_clip(path, frames=4)
    assert clip.source.frames_decoded == 12 and clip.source.kind == "animation"
    assert clip.source.fps == pytest.approx(20)
    assert clip.frames.shape == (4, 96, 128, 3)
    assert clip.frame_indices == [0, 2, 4, 6] and clip.stride == 2  # 20 fps: every second frame
    columns = [square_column(f) for f in clip.frames]
    assert columns == sorted(columns)
    expected = [int(t * 140 / 11) + 10 for t in clip.frame_indices]  # the square's centre in source pixels
    assert np.allclose(np.array(columns) * 160 / 128, expected, atol=3)


def test_even_targets_are_span_centres():
    assert even_targets(3, 8) == [0.0, 1.0, 2.0]  # fewer frames than wanted: all of them
    assert even_targets(24, 8) == [1.0, 4.0, 7.0, 10.0, 13.0, 16.0, 19.0, 22.0]
    targets = even_targets(100, 7)
    assert all(b - a > 1 for a, b in zip(targets, targets[1:]))
    assert [nearest_frame(t) for t in (0.49, 0.5, 2.5, 2.51)] == [0, 1, 3, 3]  # halfway: the later frame


@pytest.mark.parametrize("count, wanted", [(16, 8), (24, 8), (10, 4)])
def test_animations_through_pillow_sample_the_frames_a_video_would(tmp_path, count, wanted):
    """An APNG is read by Pillow, an AVI by FFmpeg: both cut the same window (24 and 25 fps: every second
    frame, fewer when the clip is too short for it) and, spread, both pick the frame nearest each span's
    centre, ties (16 frames into 8) included; their thumbnails are the same frames."""
    frames = moving_frames(count, 48, 64)
    avi = write_video(tmp_path / "clip.avi", frames, "MJPG")
    apng = tmp_path / "clip.png"
    Image.fromarray(frames[0]).save(apng, save_all=True, append_images=[Image.fromarray(f) for f in frames[1:]],
                                    duration=40)
    video, animation = (load_clip(path, frames=wanted, thumbnails=5) for path in (avi, apng))
    assert animation.source.kind == "animation" and animation.source.frames_decoded == count
    assert animation.source.fps == 25.0
    expected, stride = window_indices(count, wanted, stride=2)
    assert animation.frame_indices == video.frame_indices == expected
    assert animation.stride == video.stride == stride
    assert animation.thumbnail_indices == video.thumbnail_indices == [nearest_frame(t) for t in even_targets(count, 5)]
    assert animation.thumbnails.shape == video.thumbnails.shape == (5, 48, 64, 3)
    video, animation = (load_clip(path, frames=wanted, spread=True) for path in (avi, apng))
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
    clip = load_clip(rotated, frames=2, thumbnails=3)
    assert clip.source.rotation == 90
    assert (clip.source.width, clip.source.height) == (90, 160)
    assert clip.frames.shape[1:3] == (128, 72)  # portrait, as a phone shows it
    assert clip.thumbnails.shape == (3, 64, 36, 3)  # so are its thumbnails


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
    assert report["window"] == [0, 30] and report["stride"] == 2  # 24 fps: every second frame


def test_dissect_reports_the_window_it_was_told(numbered_clip):
    import json

    for flags, window, stride in ((["--start-s", "2.5"], [50, 80], 2), (["--start-frame", "130", "--stride", "1"],
                                                                         [124, 139], 1)):
        done = run_cli("dissect", numbered_clip, "--json", *flags)
        assert done.returncode == 0, done.stderr
        report = json.loads(done.stdout)
        assert (report["window"], report["stride"]) == (window, stride)
        assert report["frame_indices"] == list(range(window[0], window[1] + 1, stride))
    done = run_cli("dissect", numbered_clip)
    assert "source frames 0-30, every second frame (10 frames a second)" in done.stdout
    done = run_cli("dissect", numbered_clip, "--start-frame", "-5")
    assert done.returncode == 2 and done.stderr.startswith("error: the window's start")


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
    # 30 fps asks for every third frame; 36 frames hold 16 only every second one
    assert clip.stride == 2 and clip.frame_indices == list(range(0, 31, 2))


# --- the working clip is a window of consecutive frames ----------------------------------------------

BITS = 9  # a frame's number, drawn as bands across the picture: up to 511 frames


def numbered_frames(count, height=96, width=288):
    """Frames whose number is drawn into their pixels: BITS vertical bands, white for a 1 bit, black for a
    0, most significant bit on the left; a grey strip below moves so the clip is not a slideshow."""
    frames = np.zeros((count, height, width, 3), np.uint8)
    band = width // BITS
    for n in range(count):
        for bit in range(BITS):
            if n >> (BITS - 1 - bit) & 1:
                frames[n, : height * 3 // 4, bit * band:(bit + 1) * band] = 255
        frames[n, height * 3 // 4:, (n * 5) % width:] = 128
    return frames


def read_numbers(frames):
    """The number drawn into each frame (any size): the mean of each band's middle, top half."""
    height, width = frames.shape[1:3]
    centres = [int((bit + 0.5) * width / BITS) for bit in range(BITS)]
    bright = frames[:, : height // 2, centres, :].mean(axis=(1, 3)) > 128  # (T, BITS)
    return [int("".join("1" if b else "0" for b in row), 2) for row in bright]


def write_h264(path, frames, fps=20):
    """An H.264 mp4 with B-frames (non-reference frames the reader may skip), through PyAV's libx264."""
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.height, stream.width = frames.shape[1:3]
        stream.pix_fmt = "yuv420p"
        # three B-frames between every two P-frames, none of them a reference: frames the reader may skip
        stream.options = {"crf": "18", "preset": "veryfast", "g": "48",
                          "x264-params": "bframes=3:b-adapt=0:b-pyramid=none"}
        for picture in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")))
        container.mux(stream.encode())
    return path


@pytest.fixture(scope="module")
def numbered_clip(tmp_path_factory):
    """7 s at 20 fps: 140 numbered frames."""
    return write_h264(tmp_path_factory.mktemp("numbered") / "numbered.mp4", numbered_frames(140))


def test_frame_numbers_survive_encoding_and_resizing(numbered_clip):
    frames = numbered_frames(140)
    assert read_numbers(frames) == list(range(140))
    assert read_numbers(np.stack([cv2.resize(f, (64, 21), interpolation=cv2.INTER_AREA) for f in frames])) == \
        list(range(140))


def test_default_stride_brings_a_clip_near_ten_frames_a_second():
    assert [default_stride(fps) for fps in (0, -1, float("nan"), 8, 12, 15, 20, 24, 25, 29.97, 30, 50, 60)] == \
        [1, 1, 1, 1, 1, 1, 2, 2, 2, 3, 3, 5, 6]


def test_window_indices():
    assert window_indices(140, 16, stride=2) == (list(range(0, 31, 2)), 2)
    assert window_indices(140, 16, start_frame=50, stride=2) == (list(range(50, 81, 2)), 2)
    assert window_indices(140, 16, start_frame=200, stride=2) == (list(range(109, 140, 2)), 2)  # moved back
    assert window_indices(20, 16, stride=3) == (list(range(16)), 1)  # too short for the stride: the largest that fits
    assert window_indices(40, 16, start_frame=5, stride=3) == (list(range(5, 36, 2)), 2)
    assert window_indices(40, 16, start_frame=20, stride=3) == (list(range(9, 40, 2)), 2)
    assert window_indices(10, 16, start_frame=4, stride=3) == (list(range(10)), 1)  # shorter than the window: all
    assert window_indices(5, 1, start_frame=9, stride=3) == ([4], 3)


def test_default_working_clip_is_sixteen_consecutive_frames_at_the_stride(numbered_clip):
    clip = load_clip(numbered_clip)
    assert clip.source.fps == 20 and clip.source.frames_decoded == 140
    assert clip.stride == 2 and clip.window == (0, 30)
    assert clip.frame_indices == list(range(0, 31, 2))
    assert read_numbers(clip.frames) == clip.frame_indices  # the pixels are those very frames
    assert clip.times_s == [i / 20 for i in clip.frame_indices]
    assert clip.thumbnails is None and clip.thumbnail_indices == []


@pytest.mark.parametrize("start, stride, expected", [(50, None, range(50, 81, 2)), (51, 1, range(51, 67)),
                                                     (7, 3, range(7, 53, 3)), (1000, None, range(109, 140, 2)),
                                                     (130, 1, range(124, 140)), (0, 20, range(0, 136, 9))])
def test_the_window_moves_and_is_moved_back_to_fit(numbered_clip, start, stride, expected):
    clip = load_clip(numbered_clip, start_frame=start, stride=stride)
    assert clip.frame_indices == list(expected) and clip.window == (expected[0], expected[-1])
    assert clip.stride == expected.step
    assert read_numbers(clip.frames) == clip.frame_indices


def test_a_window_settings_object_is_what_load_clip_takes(numbered_clip):
    settings = WindowSettings(start_frame=40, stride=1)
    assert load_clip(numbered_clip, **settings.load_kwargs(numbered_clip)).frame_indices == list(range(40, 56))
    settings = WindowSettings(start_s=2.5)  # 20 fps: frame 50
    assert load_clip(numbered_clip, **settings.load_kwargs(numbered_clip)).frame_indices == list(range(50, 81, 2))
    with pytest.raises(ClipError):
        WindowSettings(start_s=-1).load_kwargs(numbered_clip)


def test_the_frame_rate_is_read_without_decoding(numbered_clip, tmp_path):
    from explainer.clip import clip_frame_rate

    assert clip_frame_rate(numbered_clip) == 20
    still = tmp_path / "still.png"
    Image.fromarray(moving_frames(1)[0]).save(still)
    assert clip_frame_rate(still) == 0
    with pytest.raises(ClipError):
        clip_frame_rate(put(tmp_path / "notes.mp4", b"not a video\n" * 50))


def test_thumbnails_cover_the_whole_clip_from_the_same_decode(numbered_clip):
    clip = load_clip(numbered_clip, start_frame=60, thumbnails=12)
    assert clip.frame_indices == list(range(60, 91, 2)) and read_numbers(clip.frames) == clip.frame_indices
    assert clip.thumbnails.shape == (12, 21, THUMBNAIL_SIDE, 3) and clip.thumbnails.dtype == np.uint8
    assert clip.thumbnail_indices == [nearest_frame(t) for t in even_targets(140, 12)]
    assert clip.thumbnail_indices[0] < 140 / 12 and clip.thumbnail_indices[-1] > 140 - 140 / 12
    assert read_numbers(clip.thumbnails) == clip.thumbnail_indices


def test_spread_is_frames_evenly_over_the_whole_clip(numbered_clip):
    clip = load_clip(numbered_clip, spread=True, start_frame=50, stride=1)  # start and stride unused
    assert clip.frame_indices == [nearest_frame(t) for t in even_targets(140, 16)]
    assert read_numbers(clip.frames) == clip.frame_indices  # the nearest frames themselves, none skipped
    assert clip.window == (clip.frame_indices[0], clip.frame_indices[-1]) and clip.stride == 9  # the mean gap


@pytest.mark.parametrize("count, expected_frames, expected_indices", [(10, 10, list(range(10))),
                                                                      (9, 10, list(range(9)) + [8]),
                                                                      (20, 16, list(range(3, 19)))])
def test_a_short_clip_uses_every_frame_or_a_smaller_stride(tmp_path, count, expected_frames, expected_indices):
    clip = load_clip(write_h264(tmp_path / "short.mp4", numbered_frames(count)), start_frame=3)
    assert clip.frames.shape[0] == expected_frames  # padded to whole 2-frame tubelets
    assert clip.frame_indices == expected_indices and clip.stride == 1
    assert read_numbers(clip.frames) == expected_indices


@pytest.mark.parametrize("kwargs", [{"start_frame": -1}, {"stride": 0}, {"stride": 1.5}, {"thumbnails": -2},
                                    {"thumbnails": 1000}])
def test_bad_window_settings_raise_readable_errors(numbered_clip, kwargs):
    with pytest.raises(ClipError) as raised:
        load_clip(numbered_clip, **kwargs)
    assert str(raised.value) and len(str(raised.value)) < 200


def test_a_still_has_one_thumbnail_and_a_one_frame_window(tmp_path):
    path = tmp_path / "still.png"
    Image.fromarray(moving_frames(1, 300, 200)[0]).save(path)
    clip = load_clip(path, thumbnails=12, start_frame=5)
    assert clip.frame_indices == [0, 0] and clip.window == (0, 0) and clip.stride == 1
    assert clip.thumbnails.shape == (1, 64, 43, 3) and clip.thumbnail_indices == [0]


def test_the_decode_budget_bounds_the_window(numbered_clip):
    clip = load_clip(numbered_clip, start_frame=100, max_decode_frames=60)
    assert clip.source.truncated and clip.source.frames_decoded == 60
    assert clip.frame_indices == list(range(29, 60, 2))
    assert read_numbers(clip.frames) == clip.frame_indices


@pytest.mark.parametrize("codec", ["libx264", "libvpx-vp9"])
def test_kept_frames_are_exactly_what_a_full_decode_gives(tmp_path, codec):
    """Skipping frames nothing refers to must not change a kept frame by a single value."""
    import av

    from explainer.clip import _frame_to_rgb, _resize

    frames = numbered_frames(60)
    path = tmp_path / ("clip.mp4" if codec == "libx264" else "clip.webm")
    if codec == "libx264":
        write_h264(path, frames)
    else:
        with av.open(str(path), "w") as container:
            stream = container.add_stream(codec, rate=20)
            stream.height, stream.width = frames.shape[1:3]
            stream.pix_fmt = "yuv420p"
            for picture in frames:
                container.mux(stream.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")))
            container.mux(stream.encode())
    with av.open(str(path)) as container:
        every = [_frame_to_rgb(frame, "clip")[0] for frame in container.decode(video=0)]
    clip = load_clip(path, start_frame=21, thumbnails=5)
    assert clip.frame_indices == list(range(21, 52, 2))
    height, width = clip.frames.shape[1:3]
    for index, frame in zip(clip.frame_indices, clip.frames):
        assert np.array_equal(frame, _resize(every[index], height, width)), index


def test_real_gif(real_clip_path):
    """newtonscradle.gif: 36 frames at 50 fps ask for every fifth frame and hold 16 only every second."""
    path = real_clip_path.parent / "newtonscradle.gif"
    if not path.exists():
        pytest.skip(f"{path.name} not present beside {real_clip_path.name}")
    clip = load_clip(path, thumbnails=6)
    assert clip.source.kind == "animation" and clip.source.fps == 50 and clip.source.frames_decoded == 36
    assert clip.stride == 2 and clip.window == (0, 30) and clip.frames.shape == (16, 96, 128, 3)
    assert clip.thumbnails.shape == (6, 48, 64, 3) and clip.thumbnail_indices == [3, 9, 15, 21, 27, 33]
