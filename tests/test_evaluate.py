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
