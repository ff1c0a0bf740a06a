"""Packed training (`train --pack`): sequences of clips of mixed shapes, the per-clip loss, the CLI."""
import json

import torch

from explainer.bench import randomised
from explainer.cli import main
from explainer.diffusion import get_schedule, packed_diffusion_loss
from explainer.dit import build_dit
from explainer.train import PackedDiT, PackedSequences, ProceduralBuckets, augment, tokens_of

BUDGET = 256  # tokens: at max_side 32 a still is 4-16 tokens, a 16-frame clip 32-128


def test_a_packed_sequence_keeps_to_the_budget_and_mixes_shapes():
    sequences = iter(PackedSequences(ProceduralBuckets(1, seed=0, max_side=32), BUDGET))
    packed = [next(sequences) for _ in range(6)]
    for sequence in packed:
        used = sum(tokens_of(clip.shape) for clip in sequence)
        assert used <= BUDGET and used + 128 > BUDGET  # full, up to what the next clip would need
        assert all(clip.dim() == 4 and clip.shape[-1] == 3 for clip in sequence)
    assert all(len({tuple(clip.shape) for clip in sequence}) > 1 for sequence in packed)
    frames = {clip.shape[0] for sequence in packed for clip in sequence}
    assert frames == {1, 16}  # stills and clips, side by side
    # every clip of the one-clip stream, in order: none dropped, so shapes are drawn as buckets draw them
    one_by_one = iter(ProceduralBuckets(1, seed=0, max_side=32))
    assert all(torch.equal(clip, next(one_by_one)[0]) for sequence in packed for clip in sequence)


def test_augment_treats_one_clip_as_a_batch_of_one():
    clip = torch.randn(4, 8, 16, 3)
    for seed in range(4):
        alone = augment(clip, torch.Generator().manual_seed(seed))
        batched = augment(clip[None], torch.Generator().manual_seed(seed))[0]
        assert torch.equal(alone, batched)


def test_packed_loss_is_the_mean_of_each_clips_own_loss_and_every_clip_gets_gradient():
    """One packed step's loss and gradients equal those of the same clips, t and noise run through separate
    forwards; the loss is the mean over clips of each clip's MSE (a still counts as much as a clip)."""
    model = randomised(build_dit("tiny", seed=1), seed=1)  # noise on every weight: zero gates would hide faults
    generator = torch.Generator().manual_seed(0)
    clips = [torch.rand(shape, generator=generator) * 2 - 1  # wide, tall, square, a still image
             for shape in [(4, 16, 32, 3), (3, 32, 16, 3), (2, 16, 16, 3), (1, 24, 24, 3)]]
    schedule = get_schedule("linear")
    packed_inputs = []

    def packed(noisy, t):  # the training wrapper, keeping its inputs to see their gradients
        packed_inputs.extend(x.requires_grad_() for x in noisy)
        return PackedDiT(model)(noisy, t)

    loss = packed_diffusion_loss(packed, schedule, clips, torch.Generator().manual_seed(7))
    loss.backward()
    packed_grads = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()

    per_clip = []

    def separate(noisy, t):  # the same t and noise (same generator), each clip through its own forward
        guesses = [model(x[None], step)[0] for x, step in zip(noisy, t)]
        per_clip.extend(((guess - clip) ** 2).mean() for guess, clip in zip(guesses, clips))
        return guesses

    reference = packed_diffusion_loss(separate, schedule, clips, torch.Generator().manual_seed(7))
    reference.backward()
    assert abs(loss.item() - torch.stack(per_clip).mean().item()) < 1e-5
    assert abs(loss.item() - reference.item()) < 1e-5
    pixel_mean = sum(e * c.numel() for e, c in zip(per_clip, clips)) / sum(c.numel() for c in clips)
    assert abs(loss.item() - pixel_mean.item()) > 1e-3  # the weighting is per clip, not per pixel
    for packed_grad, (name, parameter) in zip(packed_grads, model.named_parameters()):
        assert torch.allclose(packed_grad, parameter.grad, atol=1e-5, rtol=1e-4), name
    assert all(x.grad is not None and x.grad.abs().sum() > 0 for x in packed_inputs)


def test_train_pack_runs_from_the_command_line_and_its_card_says_so(tmp_path, capsys):
    assert main(["train", "--config", "tiny", "--pack", "--pack-tokens", str(BUDGET), "--steps", "2",
                 "--max-side", "32", "--warmup", "1", "--out", str(tmp_path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["steps"] == 2 and report["tokens_per_s"] > 0
    card = json.loads((tmp_path / "dit.json").read_text())
    assert card["settings"]["pack"] is True and card["settings"]["pack_tokens"] == BUDGET
    assert "packed" in card["data"] and card["training_steps"] == 2
