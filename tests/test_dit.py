"""The DiT: shapes on odd grids, adaLN-Zero's zero start, the two attention paths, positions, and a fit."""
import dataclasses
import json
from dataclasses import asdict

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from explainer.device import compute_dtype, cpu_bf16, pick_device
from explainer.dit import (
    CONFIGS,
    DiT,
    DiTConfig,
    build_dit,
    count_params,
    forward_flops,
    get_config,
    position_embedding,
    tiles_to_clip,
)
from explainer.patches import PatchGrid, pad_frames, unpatchify
from explainer.weights import widen_tiles


def jiggle(module: torch.nn.Module, seed: int = 0, std: float = 0.05) -> torch.nn.Module:
    """Give every parameter small random values, so zero-initialised branches do something."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.add_(torch.randn(p.shape, generator=generator) * std)
    return module


def clip(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed)).clamp(-1, 1)


def test_config_round_trips_through_json():
    for name in CONFIGS:
        config = get_config(name)
        assert DiTConfig(**json.loads(json.dumps(asdict(config)))) == config


def test_config_rejects_width_not_divisible_by_heads():
    with pytest.raises(ValueError):
        DiTConfig(width=100, heads=3)


@pytest.mark.parametrize("shape, patch", [
    ((1, 16, 24), (1, 8, 8)),  # a still image with a pt = 1 config
    ((1, 16, 24), (2, 8, 8)),  # a still image with the default tubelet: repeated to 2 frames
    ((3, 16, 16), (2, 8, 8)),  # odd frame count: the last frame repeated
    ((4, 48, 16), (2, 8, 8)),  # tall
    ((2, 8, 64), (2, 8, 8)),  # wide
])
def test_output_has_the_input_shape_on_odd_grids(shape, patch):
    model = jiggle(DiT(DiTConfig(depth=1, width=32, heads=2, patch=patch)))
    x = clip(2, *shape, 3)
    out = model(x, torch.tensor([3, 700]))
    assert out.shape == x.shape and out.dtype == torch.float32 and out.abs().sum() > 0


def test_still_image_is_a_clip_that_does_not_move():
    model = jiggle(build_dit("tiny"))
    image = clip(1, 1, 16, 16, 3)
    assert torch.allclose(model(image, 100), model(image.repeat(1, 2, 1, 1, 1), 100)[:, :1], atol=1e-6)


def test_unmatched_height_is_refused():
    with pytest.raises(ValueError):
        build_dit("tiny")(clip(1, 2, 12, 16, 3), 0)


def test_untrained_model_outputs_exactly_zero():
    model = build_dit("tiny")
    assert torch.equal(model(clip(2, 4, 16, 24, 3), torch.tensor([0, 999])), torch.zeros(2, 4, 16, 24, 3))


def test_timestep_changes_the_output():
    model = jiggle(build_dit("tiny"))
    x = clip(1, 2, 16, 16, 3)
    assert not torch.allclose(model(x, 10), model(x, 900))


@pytest.mark.parametrize("margin", [0, 2])
def test_a_token_only_moves_its_own_tile_before_training(margin):
    """At initialisation the blocks are identities, so the final layer maps token i to tile i alone: its
    tubelet grown by `margin` pixels each side, in its own frames. A scrambled cut or overlap-add would spread a
    change elsewhere."""
    model = DiT(dataclasses.replace(build_dit("tiny").config, margin=margin))
    torch.nn.init.normal_(model.final.linear.weight, std=0.1)
    grid = PatchGrid(4, 24, 32, model.config.patch)
    x = clip(1, 4, 24, 32, 3)
    changed = x.clone()
    token = grid.token_at(1, 1, 2)  # away from the frame's edges
    frames, rows, cols = grid.pixels(token)
    changed[0, frames, rows, cols] += 0.5
    difference = (model(changed, 5) - model(x, 5)).abs()[0]  # (T, H, W, C)
    inside = torch.zeros_like(difference, dtype=torch.bool)
    inside[frames, rows.start - margin:rows.stop + margin, cols.start - margin:cols.stop + margin] = True
    assert difference[inside].max() > 1e-3 and difference[~inside].max() == 0
    if margin:  # and the margin really is painted
        assert difference[frames, rows.start - margin:rows.start].max() > 1e-4


def test_margin_zero_paints_exactly_what_was_cut():
    grid = PatchGrid(4, 16, 24, (2, 8, 8))
    tokens = torch.randn(2, grid.tokens, grid.token_dim)
    assert torch.equal(tiles_to_clip(tokens, grid, 0), unpatchify(tokens, grid))


def test_overlapping_tiles_add_up_where_they_overlap():
    """Every tile all ones, margin 1: a pixel is covered by one tile inside its patch, two along a seam
    between two patches, four where four patches meet; at the frame's edge the margin falls outside."""
    grid, margin = PatchGrid(2, 16, 24, (2, 8, 8)), 1
    tile = 2 * (8 + 2 * margin) ** 2 * 3
    cover = tiles_to_clip(torch.ones(1, grid.tokens, tile), grid, margin)[0, 0, :, :, 0]  # (H, W)
    assert cover.shape == (16, 24)
    assert cover[3, 3] == 1 and cover[3, 7] == cover[3, 8] == 2 and cover[7, 8] == cover[8, 7] == 4
    assert cover[0, 0] == 1 and cover[0, 7] == 2


def test_frames_are_padded_by_repeating_the_last_one():
    x = clip(2, 3, 8, 8, 3)
    padded = pad_frames(x, 2)
    assert padded.shape == (2, 4, 8, 8, 3) and torch.equal(padded[:, :3], x) and torch.equal(padded[:, 3], x[:, 2])
    assert pad_frames(x, 3) is x  # already whole tubelets: untouched
    assert torch.equal(pad_frames(x[:, :1], 4), x[:, :1].expand(-1, 4, -1, -1, -1))


def test_widened_tiles_start_with_the_same_outputs():
    narrow = jiggle(DiT(dataclasses.replace(build_dit("tiny").config, margin=0)), std=0.1)
    wide = widen_tiles(narrow, 2)
    x, t = clip(2, 3, 16, 24, 3), torch.tensor([20, 700])
    assert wide.config.margin == 2 and wide.final.linear.out_features > narrow.final.linear.out_features
    assert torch.allclose(wide(x, t), narrow(x, t), atol=1e-6)
    with pytest.raises(ValueError):
        widen_tiles(wide, 1)


@pytest.mark.parametrize("block", [0, 1])
def test_fused_and_manual_attention_agree(block):
    model = jiggle(build_dit("tiny"), std=0.1)
    x, t = clip(2, 4, 16, 24, 3), torch.tensor([50, 600])
    grid = model.grid(4, 16, 24)
    query = grid.token_at(1, 1, 2)
    captured = {}
    hook = model.blocks[block].attn.qkv.register_forward_hook(lambda m, i, out: captured.setdefault("qkv", out))
    out, weights = model(x, t, attention_of=(block, query))
    hook.remove()
    assert torch.allclose(out, model(x, t), atol=1e-5)
    heads = model.config.heads
    assert weights.shape == (2, heads, grid.tokens)
    assert torch.allclose(weights.sum(-1), torch.ones(2, heads), atol=1e-5)
    # the map is softmax(q k^T / sqrt(d)) of the chosen token, recomputed here from the layer's q and k
    q, k, _ = captured["qkv"].reshape(2, grid.tokens, 3, heads, -1).permute(2, 0, 3, 1, 4)  # 3x (B, h, N, d)
    expected = (q[:, :, query, None] @ k.transpose(-2, -1) / q.shape[-1] ** 0.5)[:, :, 0]  # (B, h, N)
    assert torch.allclose(weights, expected.softmax(-1), atol=1e-5)


def test_attention_of_outside_the_model_is_refused():
    model = build_dit("tiny")
    with pytest.raises(IndexError):
        model(clip(1, 2, 16, 16, 3), 0, attention_of=(2, 0))
    with pytest.raises(IndexError):
        model(clip(1, 2, 16, 16, 3), 0, attention_of=(0, 4))


def test_position_embedding_is_cached_and_offset_shifts_indices():
    cpu = torch.device("cpu")
    table = position_embedding(96, (3, 2, 5), (0, 0, 0), cpu)
    assert table is position_embedding(96, (3, 2, 5), (0, 0, 0), cpu)
    assert table.shape == (30, 96) and not table.requires_grad
    # a crop starting at frame-tubelet 1, row 1 sees exactly the full clip's positions for those cells
    crop = position_embedding(96, (2, 1, 5), (1, 1, 0), cpu)
    assert torch.equal(crop, table.reshape(3, 2, 5, 96)[1:, 1:].reshape(-1, 96))


def test_training_after_inference_on_the_same_grid():
    """The cached position table is made outside inference mode, so a later training step can use it."""
    model = jiggle(build_dit("tiny"))
    x = clip(1, 2, 16, 40, 3)
    with torch.inference_mode():
        model(x, 10)
    model(x, 10).square().mean().backward()
    assert model.embed.weight.grad is not None


def test_offset_moves_the_output():
    model = jiggle(build_dit("tiny"))
    x = clip(1, 2, 16, 16, 3)
    assert not torch.allclose(model(x, 10), model(x, 10, offset=(0, 3, 1)))
    assert torch.equal(model(x, 10), model(x, 10, offset=0))


def test_same_seed_same_weights():
    a, b, c = build_dit("tiny", seed=1), build_dit("tiny", seed=1), build_dit("tiny", seed=2)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert not all(torch.equal(p, q) for p, q in zip(a.parameters(), c.parameters()))


def test_flop_count_matches_torch_counter_and_params():
    config = get_config("tiny")
    model = jiggle(build_dit(config))
    x, t, tokens = clip(2, 4, 16, 24, 3), torch.tensor([1, 2]), 2 * 2 * 3

    def counted(**options):
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            model(x, t, **options)
        return counter.get_total_flops()

    # torch's counter skips the fused CPU attention kernel but counts the manual path's two matmuls
    attention = 4 * tokens**2 * config.width * 2  # per block, batch 2
    assert counted() == forward_flops(config, tokens, batch=2) - config.depth * attention
    assert counted(attention_of=(0, 3)) - counted() == attention
    assert abs(count_params(build_dit("default")) - 3.0e6) < 0.1e6


def test_cpu_is_picked_when_asked():
    assert pick_device("cpu").type == "cpu"


def test_opt_in_cpu_bf16_stays_close_to_float32():
    model = jiggle(build_dit("tiny"))
    x = clip(1, 2, 16, 16, 3)
    exact = model(x, 100)
    with cpu_bf16():
        assert compute_dtype("cpu") == torch.bfloat16
        rough, weights = model(x, 100, attention_of=(1, 2))
    assert compute_dtype("cpu") == torch.float32
    assert rough.dtype == weights.dtype == torch.float32
    assert (rough - exact).norm() / exact.norm() < 3e-2


def test_tiny_model_overfits_one_clip():
    """x0-prediction on one clip: the loss at fixed (t, noise) pairs falls by a clear factor in seconds.
    Timesteps stay below 500, where the noisy input still shows the clip."""
    from explainer import diffusion

    torch.manual_seed(0)
    schedule = diffusion.get_schedule("linear")
    ramp = torch.linspace(-1, 1, 16)
    frame, row, col = torch.arange(4.0)[:, None, None, None], ramp[None, :, None, None], ramp[None, None, :, None]
    phase = torch.tensor([0.0, 2.0, 4.0])  # one per colour channel
    target = (0.8 * torch.sin(3 * col + 2 * row + 0.6 * frame + phase))[None]  # (1, 4, 16, 16, 3)
    model = build_dit("tiny")
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    probe_t, probe_noise = torch.tensor([50, 150, 300, 450]), torch.randn(4, *target.shape[1:])

    def loss_at(t, noise):
        noisy = diffusion.add_noise(schedule, target.expand(len(t), -1, -1, -1, -1), noise, t)
        return torch.mean((model(noisy, t) - target) ** 2)

    with torch.no_grad():
        before = loss_at(probe_t, probe_noise).item()
    for _ in range(300):
        loss = loss_at(torch.randint(0, 500, (4,)), torch.randn(4, *target.shape[1:]))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        after = loss_at(probe_t, probe_noise).item()
    assert after < before / 10, (before, after)
