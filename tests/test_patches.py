import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from explainer.patches import (
    PatchGrid,
    amoeba_cut,
    amoeba_mask,
    amoeba_tokens,
    fit_size,
    patchify,
    square_crop_vs_native,
    unpatchify,
)


@st.composite
def grids(draw) -> PatchGrid:
    """A grid of 1-4 x 1-5 x 1-5 tubelets of 1-3 frames x 1-6 x 1-6 pixels, of 1-4 channels."""
    pt, ph, pw = draw(st.integers(1, 3)), draw(st.integers(1, 6)), draw(st.integers(1, 6))
    gt, gh, gw = draw(st.integers(1, 4)), draw(st.integers(1, 5)), draw(st.integers(1, 5))
    return PatchGrid(gt * pt, gh * ph, gw * pw, (pt, ph, pw), draw(st.integers(1, 4)))


@settings(max_examples=60, deadline=None)
@given(grid=grids(), batch=st.integers(0, 2), use_torch=st.booleans(), seed=st.integers(0, 2**16))
def test_unpatchify_inverts_patchify_exactly(grid, batch, use_torch, seed):
    shape = (batch,) * (batch > 0) + (grid.frames, grid.height, grid.width, grid.channels)
    clip = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    clip = torch.from_numpy(clip) if use_torch else clip
    tokens = patchify(clip, grid.patch)
    assert tuple(tokens.shape[-2:]) == (grid.tokens, grid.token_dim)
    back = unpatchify(tokens, grid)
    assert (back == clip).all()


def test_token_covers_the_pixels_the_grid_says():
    grid = PatchGrid(4, 16, 24, (2, 8, 8))
    clip = np.arange(4 * 16 * 24 * 3).reshape(4, 16, 24, 3)
    tokens = patchify(clip, grid.patch)
    for token in (0, 5, grid.tokens - 1):
        frames, rows, cols = grid.pixels(token)
        assert sorted(tokens[token]) == sorted(clip[frames, rows, cols].ravel())
        assert grid.token_at(*grid.index(token)) == token


def test_grid_rejects_sizes_the_patch_does_not_divide():
    with pytest.raises(ValueError):
        PatchGrid(16, 70, 128, (2, 8, 8))


@pytest.mark.parametrize("height, width", [(720, 1280), (1080, 1920), (1920, 1080), (480, 640), (500, 500),
                                           (240, 320), (100, 1000), (1000, 100), (37, 53)])
def test_fit_size_keeps_aspect_within_one_patch_and_never_exceeds_max(height, width):
    h, w = fit_size(height, width, 128, 8, 8)
    assert h % 8 == 0 and w % 8 == 0 and max(h, w) <= 128
    # the exact-aspect width for this height lies within one patch of the chosen width
    assert abs(w - h * width / height) <= 8 or abs(h - w * height / width) <= 8


def test_fit_size_16_9_is_128_by_72():
    assert fit_size(720, 1280, 128, 8, 8) == (72, 128)


def test_amoeba_mask_is_seeded_smooth_and_placed():
    mask = amoeba_mask(72, 128, center=(0.25, 0.5), size=0.3, seed=3)
    assert (mask == amoeba_mask(72, 128, center=(0.25, 0.5), size=0.3, seed=3)).all()
    assert not (mask == amoeba_mask(72, 128, center=(0.25, 0.5), size=0.3, seed=4)).all()
    ys, xs = np.nonzero(mask)
    assert abs(xs.mean() - 0.25 * 128) < 6 and abs(ys.mean() - 0.5 * 72) < 6
    area = mask.mean()
    assert 0.5 * np.pi * (0.3 * 72) ** 2 / (72 * 128) < area < 1.6 * np.pi * (0.3 * 72) ** 2 / (72 * 128)
    # not a circle: the radius wobbles
    assert not (mask == amoeba_mask(72, 128, center=(0.25, 0.5), size=0.3, seed=3, lobes=0)).all()


def test_amoeba_cut_keeps_the_same_pixels_in_every_frame():
    frames = np.random.default_rng(0).integers(0, 256, (6, 32, 48, 3), dtype=np.uint8)
    mask = amoeba_mask(32, 48, seed=1)
    rows, cols, pieces = amoeba_cut(frames, mask)
    assert len(rows) == len(cols) == mask.sum() and mask[rows, cols].all()
    assert list(zip(rows, cols)) == sorted(zip(rows, cols))  # reading order: row by row
    assert pieces.shape == (6, mask.sum(), 3) and pieces.dtype == frames.dtype
    for t in (0, 5):  # every frame's piece is that frame's pixels inside the amoeba
        assert (pieces[t] == frames[t][mask]).all()


def test_amoeba_tokens_are_the_tubelets_the_mask_touches():
    grid = PatchGrid(4, 32, 48, (2, 8, 8))
    mask = np.zeros((32, 48), bool)
    mask[9, 17] = True  # one pixel in grid cell (1, 2)
    assert list(amoeba_tokens(grid, mask)) == [grid.token_at(0, 1, 2), grid.token_at(1, 1, 2)]


def test_square_crop_keeps_less_of_a_wide_frame_than_native_patches():
    comparison = square_crop_vs_native(72, 128, 16)
    assert comparison["area_kept"] == pytest.approx(72 / 128)
    assert comparison["native_tokens"] == 8 * 9 * 16
    assert comparison["crop_tokens"] == 8 * 9 * 9
    assert comparison["crop_box"] == (0, 28, 72, 72)
