"""The procedural scenes: deterministic, any shape, moving, with the contrast of real footage."""
import numpy as np
import pytest

from explainer.errors import ExplainerError
from explainer.scenes import MOTIONS, make_clip, random_clip_shape
from explainer.scenes.motions import affine, compose, invert
from explainer.scenes.sprites import make_sprite, paint_sprite


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


def test_affine_maps_compose_with_their_inverse_to_the_identity():
    maps = affine(np.array([[10.0, 4.0], [3.0, -2.0]]), np.array([0.3, -1.2]), np.array([1.5, 0.7]), (2.0, 5.0))
    identity = np.broadcast_to(np.eye(2, 3), maps.shape)
    assert np.allclose(compose(maps, invert(maps)), identity)
    assert np.allclose(compose(invert(maps), maps), identity)


def test_a_sprite_paints_only_within_its_reach():
    sprite = make_sprite(np.random.default_rng(4), radius=6)
    frames = np.zeros((2, 40, 40, 3), np.float32)
    middle = (sprite.rgba.shape[0] - 1) / 2
    paint_sprite(frames, sprite, affine([[12.0, 12.0], [27.0, 25.0]], 0, 1, (middle, middle)))
    ys, xs = np.mgrid[:40, :40]
    for frame, (x, y) in zip(frames, [(12, 12), (27, 25)]):
        painted = np.abs(frame).sum(-1) > 0
        assert painted.any()
        assert np.hypot(ys - y, xs - x)[painted].max() <= sprite.reach + 1.5
