"""Frames -> a .webm a browser plays (PyAV, VP9), and the bundled sample clips written that way."""
import av
import cv2
import numpy as np
import pytest

from explainer import video
from explainer.assets import ASSETS, SAMPLES, sample_file
from explainer.errors import ExplainerError
from explainer.scenes import make_clip
from explainer.video import write_webm


def read_frames(path):
    capture = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame[..., ::-1])
    capture.release()
    return np.stack(frames)


def mean_frame_change(clip):
    return float(np.abs(np.diff(clip.astype(np.float32), axis=0)).mean())


def test_write_webm_round_trip(tmp_path):
    clip = make_clip(6, 40, 64, seed=4)
    path = write_webm(tmp_path / "clip.webm", clip, fps=8)
    frames = read_frames(path)
    assert frames.shape == clip.shape
    assert np.abs(frames.astype(int) - clip).mean() < 8         # lossy, but close


def test_write_webm_pads_odd_sizes_and_writes_one_frame(tmp_path):
    frames = read_frames(write_webm(tmp_path / "odd.webm", make_clip(1, 33, 47, seed=2)))
    assert frames.shape == (1, 34, 48, 3)


def test_write_webm_refuses_bad_input(tmp_path):
    with pytest.raises(ExplainerError):
        write_webm(tmp_path / "clip.webm", np.zeros((2, 8, 8, 3), np.float32))
    with pytest.raises(ExplainerError):
        write_webm(tmp_path / "clip.mp4", np.zeros((2, 8, 8, 3), np.uint8))


def test_write_webm_says_when_the_encoder_fails_and_leaves_no_file(tmp_path, monkeypatch):
    def no_encoder(*args, **kwargs):
        raise av.FFmpegError(1, "no such encoder")

    monkeypatch.setattr(video.av, "open", no_encoder)
    with pytest.raises(ExplainerError, match="VP9"):
        write_webm(tmp_path / "clip.webm", np.zeros((2, 8, 8, 3), np.uint8))
    assert not (tmp_path / "clip.webm").exists()


def test_the_same_frames_make_the_same_bytes(tmp_path):
    clip = make_clip(4, 32, 48, seed=6)
    first, second = write_webm(tmp_path / "a.webm", clip), write_webm(tmp_path / "b.webm", clip)
    assert first.read_bytes() == second.read_bytes()


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_bundled_samples_read_back(name):
    filename, frames, height, width, _, _ = SAMPLES[name]
    path = ASSETS / filename
    assert path.stat().st_size < 1.5e6
    clip = read_frames(path)
    assert clip.shape == (frames, height, width, 3)
    assert clip.astype(np.float32).std() > 30 and mean_frame_change(clip) > 1.0


def test_a_missing_sample_is_made_from_its_scene(tmp_path, monkeypatch):
    import explainer.assets as assets

    monkeypatch.setattr(assets, "ASSETS", tmp_path / "no-assets")
    monkeypatch.setattr(assets.tempfile, "tempdir", str(tmp_path))
    made = sample_file("square")
    assert made.is_relative_to(tmp_path) and made.name == SAMPLES["square"][0]
    assert read_frames(made).shape == (48, 320, 320, 3)
