"""The procedural scenes: deterministic, any shape, moving, with the contrast of real footage."""
import numpy as np
import pytest

from explainer.errors import ExplainerError
from explainer.scenes import MOTIONS, make_clip, random_clip_shape


def mean_frame_change(clip):
    return float(np.abs(np.diff(clip.astype(np.float32), axis=0)).mean())


def test_same_seed_same_clip():
    assert np.array_equal(make_clip(8, 40, 64, seed=3), make_clip(8, 40, 64, seed=3))


def test_different_seeds_differ():
    first, second = make_clip(8, 40, 64, seed=1), make_clip(8, 40, 64, seed=2)
    assert np.abs(first.astype(int) - second.astype(int)).mean() > 10


def test_motion_none_is_one_of_the_named_motions():
    for seed in range(3):
        chosen = make_clip(4, 32, 48, seed=seed)
        matches = [m for m in MOTIONS if np.array_equal(chosen, make_clip(4, 32, 48, seed=seed, motion=m))]
        assert len(matches) == 1


@pytest.mark.parametrize("frames, height, width", [
    (16, 72, 128),      # wide 16:9
    (16, 128, 72),      # tall 9:16
    (16, 96, 96),       # square
    (1, 72, 128),       # a still image
    (3, 17, 33),        # odd sides
    (2, 8, 256),        # a thin panorama
    (1, 1, 1),
])
def test_any_shape(frames, height, width):
    for motion in MOTIONS:
        clip = make_clip(frames, height, width, seed=7, motion=motion)
        assert clip.shape == (frames, height, width, 3)
        assert clip.dtype == np.uint8


@pytest.mark.parametrize("motion", MOTIONS)
def test_every_motion_moves(motion):
    for seed in range(3):
        clip = make_clip(16, 48, 64, seed=seed, motion=motion)
        assert mean_frame_change(clip) > 1.0, (motion, seed)


@pytest.mark.parametrize("motion", MOTIONS)
def test_contrast_like_real_footage(motion):
    # real footage has a pixel std of about 64 on 0..255; flat colour fields or pure noise would not pass
    for seed in range(3):
        clip = make_clip(16, 48, 64, seed=seed, motion=motion).astype(np.float32)
        assert 30 < clip.std() < 100
        assert 60 < clip.mean() < 190
        assert np.abs(np.diff(clip, axis=2)).mean() < 40     # neighbours alike: textured, not noise


def test_unknown_motion_and_bad_sizes_are_refused():
    with pytest.raises(ExplainerError, match="motion"):
        make_clip(motion="wobble")
    with pytest.raises(ExplainerError, match="height"):
        make_clip(height=0)


def test_random_clip_shape_gives_multiples_and_varied_aspects():
    rng = np.random.default_rng(0)
    shapes = [random_clip_shape(rng, max_side=128, multiple=8) for _ in range(200)]
    for frames, height, width in shapes:
        assert frames in (1, 16)
        assert height % 8 == 0 and width % 8 == 0
        assert 8 <= min(height, width) and max(height, width) <= 128
    ratios = {round(width / height, 2) for _, height, width in shapes}
    assert any(r > 1.5 for r in ratios) and any(r < 0.67 for r in ratios) and 1.0 in ratios
    assert len(ratios) >= 8
    assert {frames for frames, _, _ in shapes} == {1, 16}
