"""The statistics `evaluate` compares samples from pure noise with real clips by."""
import numpy as np
import pytest

from explainer.evaluate import frame_correlation, spectral_slope


def power_law_frames(slope: float, frames: int = 3, size: int = 96, seed: int = 0) -> np.ndarray:
    """Grey frames whose power spectrum falls as f^slope, in [-1, 1], (T, H, W, 3)."""
    rng = np.random.default_rng(seed)
    fy, fx = np.meshgrid(np.fft.fftfreq(size), np.fft.fftfreq(size), indexing="ij")
    radius = np.maximum(np.hypot(fy, fx), 1 / size)
    clip = []
    for _ in range(frames):
        spectrum = (rng.normal(size=(size, size)) + 1j * rng.normal(size=(size, size))) * radius ** (slope / 2)
        frame = np.fft.ifft2(spectrum).real
        clip.append(np.repeat((frame / np.abs(frame).max())[..., None], 3, axis=-1))
    return np.stack(clip).astype(np.float32)


@pytest.mark.parametrize(("slope", "within"), [(-2.0, 0.2), (-3.0, 0.2), (-3.5, 0.25), (-5.0, 0.5)])
def test_the_spectral_slope_reads_back_a_known_power_law(slope, within):
    """Closest where natural footage lies (-2 to -3.5); a window's leakage bends very steep spectra."""
    assert spectral_slope(power_law_frames(slope)) == pytest.approx(slope, abs=within)


def test_smoother_frames_have_a_steeper_slope():
    assert spectral_slope(power_law_frames(-4.5)) < spectral_slope(power_law_frames(-2.5)) - 1


def test_frame_correlation_is_one_for_a_still_shot_and_near_zero_for_fresh_noise():
    still = np.repeat(power_law_frames(-3.0, frames=1), 4, axis=0)
    assert frame_correlation(still) == pytest.approx(1.0)
    noise = np.random.default_rng(1).uniform(-1, 1, (4, 32, 32, 3)).astype(np.float32)
    assert abs(frame_correlation(noise)) < 0.1
    assert np.isnan(frame_correlation(still[:1]))


# --- real clips are cut as the page cuts them ---------------------------------------------------------

def numbered_scene(count: int, height: int = 36, width: int = 64) -> np.ndarray:
    """Frames whose every pixel is the frame's number (so a cut can be read back from its pixels)."""
    return np.repeat(np.arange(count, dtype=np.uint8), height * width * 3).reshape(count, height, width, 3)


def numbers(clip) -> list[int]:
    """Each frame's number, back from [-1, 1]."""
    return [round((float(frame.mean()) + 1) * 127.5) for frame in np.asarray(clip)]


def test_the_held_out_scene_is_a_window_at_the_page_frame_rate(monkeypatch):
    from explainer import clip as clip_module
    from explainer import data
    from explainer.clip import WindowSettings
    from explainer.evaluate import held_out_footage

    monkeypatch.setattr(data, "held_out_frames", lambda: numbered_scene(55))
    monkeypatch.setattr(clip_module, "clip_frame_rate", lambda path: 25.0)  # as bikes.mp4
    name, clip, cut = held_out_footage()
    assert name == "bikes[187:242] (held out)" and clip.shape[0] == 16
    assert cut == {"window": [187, 217], "stride": 2} and numbers(clip) == list(range(0, 31, 2))
    _, clip, cut = held_out_footage(window=WindowSettings(start_s=0.4, stride=1))  # 0.4 s in: frame 10
    assert cut == {"window": [197, 212], "stride": 1} and numbers(clip) == list(range(10, 26))
    _, clip, cut = held_out_footage(window=WindowSettings(start_frame=50))  # moved back to fit
    assert cut["window"] == [211, 241] and numbers(clip) == list(range(24, 55, 2))
    _, clip, cut = held_out_footage(window=WindowSettings(spread=True))
    assert cut == {"window": [188, 240], "stride": 3} and numbers(clip)[0] == 1 and numbers(clip)[-1] == 53


def test_real_clips_are_windows_unless_spread(tmp_path):
    import cv2

    from explainer.clip import WindowSettings
    from explainer.evaluate import real_clips

    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 20, (64, 36))
    for frame in numbered_scene(60):
        writer.write(frame)
    writer.release()
    real, cuts = real_clips([path])
    assert cuts == {"clip.avi": {"window": [0, 30], "stride": 2}}
    assert real[0][0] == "clip.avi" and np.allclose(numbers(real[0][1]), range(0, 31, 2), atol=2)
    real, cuts = real_clips([path], window=WindowSettings(spread=True))
    assert cuts == {"clip.avi": {"window": [1, 58], "stride": 4}}
