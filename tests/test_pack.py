"""Patch n' Pack: clips of different shapes through the DiT as one sequence give what each gives alone."""
import pytest
import torch

from explainer.bench import block_diagonal_mask, dense_mask_attention, pack_shapes, randomised
from explainer.dit import build_dit, packed_attention
from explainer.weights import load_prior

SHAPES = pack_shapes((2, 8, 8))  # wide, tall and square samples at the working size, and a still image
TIMESTEPS = torch.tensor([10, 300, 600, 950])  # a different t for every clip


def clips(shapes=SHAPES, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return [torch.randn(*shape, 3, generator=generator).clamp(-1, 1) for shape in shapes]


@pytest.fixture(scope="module")
def tiny():
    """A seeded tiny DiT with noise on every weight: adaLN-Zero's zero gates would hide mistakes."""
    return randomised(build_dit("tiny", seed=3), seed=3).eval()


@pytest.fixture(scope="module")
def prior():
    return load_prior()[0]


@torch.inference_mode()
@pytest.mark.parametrize("model_name", ["tiny", "prior"])
def test_packed_forward_is_each_clip_alone(model_name, request):
    model = request.getfixturevalue(model_name)
    inputs = clips()
    packed = model.forward_packed(inputs, TIMESTEPS)
    assert [out.shape for out in packed] == [clip.shape for clip in inputs]
    assert all(out.dtype == torch.float32 for out in packed)
    for clip, t, out in zip(inputs, TIMESTEPS, packed):
        alone = model(clip[None], t)[0]  # (T, H, W, C)
        assert alone.abs().mean() > 1e-2  # the model does something, so a mismatch would show
        assert (out - alone).abs().max() <= 1e-4


@torch.inference_mode()
def test_a_clip_packed_alone_is_its_own_forward(tiny):
    for clip in clips(SHAPES[2:]):  # the square clip, and the still image
        (packed,) = tiny.forward_packed([clip], 400)
        assert packed.shape == clip.shape
        assert (packed - tiny(clip[None], 400)[0]).abs().max() <= 1e-4


@torch.inference_mode()
def test_each_clip_keeps_its_own_timestep(tiny):
    inputs = clips()
    packed = tiny.forward_packed(inputs, TIMESTEPS)
    swapped = tiny.forward_packed(inputs, TIMESTEPS.flip(0))
    assert all((a - b).abs().max() > 1e-3 for a, b in zip(packed, swapped))


@torch.inference_mode()
def test_no_clip_sees_another(tiny):
    inputs = clips()
    before = tiny.forward_packed(inputs, TIMESTEPS)
    inputs[2] = -inputs[2]  # a different square clip
    after = tiny.forward_packed(inputs, TIMESTEPS)
    assert (after[2] - before[2]).abs().max() > 1e-2
    for index in (0, 1, 3):
        assert (after[index] - before[index]).abs().max() <= 1e-6


def test_pack_places_clips_end_to_end_and_masks_block_diagonally(tiny):
    pack = tiny.pack(clips())
    assert pack.lengths == [8 * 9 * 16, 8 * 16 * 9, 8 * 16 * 16, 1 * 9 * 16] and pack.frames == (16, 16, 16, 1)
    assert pack.starts == [0, 1152, 2304, 4352] and pack.tokens == 4496
    mask = block_diagonal_mask(pack.lengths)
    assert mask.shape == (4496, 4496) and mask.sum() == sum(n * n for n in pack.lengths)
    assert mask[1151, 1151] and not mask[1151, 1152] and mask[4352:, 4352:].all() and not mask[4352:, :4352].any()


@torch.inference_mode()
def test_per_clip_attention_is_the_masked_attention():
    pack = build_dit("tiny").pack(clips([(2, 16, 24), (1, 8, 8), (2, 8, 32)]))
    qkv = torch.randn(1, pack.tokens, 3 * 64, generator=torch.Generator().manual_seed(1))
    dense = dense_mask_attention(qkv, block_diagonal_mask(pack.lengths), heads=2)
    assert (packed_attention(qkv, pack, heads=2) - dense).abs().max() <= 1e-5
