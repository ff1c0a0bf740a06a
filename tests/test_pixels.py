import math

import numpy as np
import pytest
import torch

from explainer.pixels import psnr_db, to_pixels, to_unit


def test_to_pixels_rounds_tensors_as_it_rounds_arrays_and_clips():
    levels = torch.tensor([(k + 0.5) / 127.5 - 1 for k in range(255)] + [-1.7, 1.4, -1.0, 1.0])
    from_tensor, from_array = to_pixels(levels), to_pixels(levels.numpy())
    assert from_tensor.dtype == np.uint8 and np.array_equal(from_tensor, from_array)
    assert from_tensor[-4:].tolist() == [0, 255, 0, 255]


def test_to_pixels_of_a_permuted_tensor_is_in_row_order():
    channels_first = torch.rand(4, 3, 6, 8) * 2 - 1
    frames = channels_first.permute(0, 2, 3, 1)  # (T, H, W, C) as a view, the way the DiT hands back its output
    pixels = to_pixels(frames)
    assert pixels.flags["C_CONTIGUOUS"] and pixels.shape == (4, 6, 8, 3)
    assert np.array_equal(pixels, to_pixels(frames.contiguous().numpy()))


def test_pixels_round_trip_and_psnr():
    pixels = np.random.default_rng(0).integers(0, 256, (2, 5, 7, 3), dtype=np.uint8)
    assert np.array_equal(to_pixels(to_unit(pixels)), pixels)
    clip = to_unit(pixels)
    assert math.isinf(psnr_db(clip, clip))
    assert psnr_db(clip + 0.1, clip) == pytest.approx(10 * math.log10(4 / 0.01), abs=0.3)  # a little is clipped
    assert psnr_db(torch.full_like(clip, 5.0), torch.ones_like(clip)) == math.inf  # clipped to 1 first
