"""Frames as the prompt: the modes, a timestep per time slice, given frames kept by the sampler, the loss on
generated frames only, training with --given-share, and `denoise --given` from the shell."""
import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from explainer.cli import main
from explainer.diffusion import Given, Start, ddim, ddpm, frame_noise, get_schedule, given_diffusion_loss
from explainer.dit import build_dit, from_given, get_config
from explainer.errors import ExplainerError
from explainer.evaluate import frame_correlation as correlation_of_frames
from explainer.given import GIVEN, animate_still, given_slices, slice_frames
from explainer.given_scores import copy_of_given
from explainer.train import TrainSettings, train
from explainer.trajectory import RunSettings, denoise
from explainer.weights import load_weights, save_weights


def trained_looking(model):
    """A tiny DiT with every weight random, so t and the given slices change what it says."""
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.normal_(0, 0.1)
    return model.eval()


def test_the_registry_gives_the_slices_each_mode_names():
    assert set(GIVEN) == {"animate", "extend", "extend-back", "connect"}
    assert given_slices("animate", 8) == (0,)
    assert given_slices("extend", 8) == (0, 1, 2, 3)
    assert given_slices("extend-back", 8) == (4, 5, 6, 7)
    assert given_slices("connect", 8) == (0, 7)
    assert slice_frames((0, 7), 16) == (0, 1, 14, 15)


@pytest.mark.parametrize("mode", ["extend", "extend-back", "connect", "animate"])
def test_a_one_slice_still_is_refused_in_words(mode):
    with pytest.raises(ExplainerError, match=mode):
        given_slices(mode, 1)


def test_a_still_animated_is_a_clip_whose_first_slice_is_the_photo():
    photo = np.random.default_rng(0).integers(0, 255, (1, 16, 24, 3), dtype=np.uint8)
    clip = animate_still(photo)
    assert clip.shape == (16, 16, 24, 3) and (clip == photo).all()


def test_a_timestep_per_slice_all_equal_is_one_timestep_per_clip():
    model = trained_looking(build_dit("tiny"))
    x, t = torch.randn(2, 16, 16, 24, 3), torch.tensor([500, 120])
    with torch.no_grad():
        per_clip = model(x, t)
        per_slice = model(x, t[:, None].expand(2, 8))
        given = t[:, None].repeat(1, 8)
        given[:, 0] = 0
        with_given = model(x, given)
    assert torch.allclose(per_clip, per_slice, atol=1e-6)
    assert (with_given[:, 2:] - per_clip[:, 2:]).abs().max() > 1e-4  # the others see the given slice's t


@pytest.mark.parametrize(("mode", "expected"), [
    ("animate", [0, 10] + [10] * 14),
    ("extend", [10 * f for f in range(8)] + [70] * 8),
    ("extend-back", [80] * 8 + [10 * f for f in range(8, 16)]),
    ("connect", [10 * f for f in range(16)]),  # frame k of the crossfade from frame 1 to 14 is 10 k
])
def test_a_generated_frame_starts_from_the_nearest_given_frame_or_the_crossfade_of_two(mode, expected):
    clip = np.broadcast_to((10 * np.arange(16, dtype=np.uint8))[:, None, None, None], (16, 4, 6, 3)).copy()
    copy = copy_of_given(clip, slice_frames(given_slices(mode, 8), 16))
    assert copy[:, 0, 0, 0].tolist() == expected and (copy == copy[:, :1, :1, :1]).all()


def test_nothing_given_or_nothing_generated_starts_from_zero():
    x = torch.ones(2, 16, 4, 4, 3)
    assert (from_given(x, torch.full((2, 8), 300), pt=2) == 0).all()
    assert (from_given(x, torch.zeros(2, 8, dtype=torch.long), pt=2) == 0).all()


def test_with_frames_given_the_network_paints_only_the_change():
    """An untrained DiT paints nothing (its last layer is zero): with frames given its guess is the copy,
    with nothing given it is 0. A trained one with `from_given` sees each generated frame's x_t less
    sqrt(alpha_bar) times its start, and adds the start to what it paints; without given frames it is
    the same model as without `from_given`."""
    model = build_dit("tiny").eval()
    x = torch.rand(1, 16, 16, 24, 3) * 2 - 1
    t = torch.full((1, 8), 900)
    t[0, 0] = 0
    with torch.no_grad():
        guess = model(x, t)
        assert torch.allclose(guess[0, 2:], x[0, 1:2].expand(14, -1, -1, -1), atol=1e-6)
        assert (model(x, torch.tensor([900])) == 0).all()
    trained = trained_looking(build_dit("tiny"))
    plain = trained_looking(build_dit(replace(get_config("tiny"), from_given=False)))
    plain.load_state_dict(trained.state_dict())
    with torch.no_grad():
        assert torch.equal(trained(x, torch.tensor([400])), plain(x, torch.tensor([400])))
        start = from_given(x, t, pt=2)
        share = torch.ones(1, 16, 1, 1, 1) * get_schedule().alpha_bar(900).sqrt().float()
        share[:, :2] = 0  # the given slice is seen as it is
        assert torch.allclose(trained(x, t), plain(x - share * start, t) + start, atol=1e-5)


def test_weights_from_before_the_copy_start_load_as_they_were_and_train_into_it(tmp_path):
    old = build_dit(replace(get_config("tiny"), from_given=False))
    save_weights(old, tmp_path / "old.safetensors")
    assert load_weights(tmp_path / "old.safetensors")[0].config.from_given is False
    card = json.loads((tmp_path / "old.json").read_text())
    del card["config"]["from_given"], card["config"]["shared_noise"]  # a card written before the fields existed
    (tmp_path / "old.json").write_text(json.dumps(card))
    loaded = load_weights(tmp_path / "old.safetensors")[0].config
    assert loaded.from_given is False and loaded.shared_noise == 0.0
    train(TrainSettings(config="tiny", steps=1, batch=1, max_side=16, warmup=1, out=str(tmp_path / "run"),
                        init=str(tmp_path / "old.safetensors"), given_share=1.0, frames_choices=(8,), threads=1))
    config = json.loads((tmp_path / "run" / "dit.json").read_text())["config"]
    assert config["from_given"] is True and config["shared_noise"] == get_config("tiny").shared_noise > 0


def frame_correlation(noise) -> torch.Tensor:
    """`evaluate.frame_correlation` (consecutive frames' luminance) of each clip's noise (B, T, ...) -> (B,)."""
    return torch.tensor([correlation_of_frames(clip.numpy()) for clip in noise], dtype=torch.float32)


def test_mixed_noise_shares_its_share_across_frames_and_keeps_each_frame_unit_gaussian():
    noise = frame_noise((2, 6, 64, 64, 3), torch.Generator().manual_seed(0), 0.75, clips=torch.tensor([True, False]))
    assert torch.allclose(noise.flatten(1).std(1), torch.ones(2), atol=0.03)
    assert torch.allclose(frame_correlation(noise), torch.tensor([0.75, 0.0]), atol=0.03)
    own = frame_noise((2, 6, 4, 4, 3), torch.Generator().manual_seed(1))
    assert torch.equal(own, torch.randn((2, 6, 4, 4, 3), generator=torch.Generator().manual_seed(1)))


def test_generated_frames_share_noise_in_training_and_in_sampling_only_with_frames_given():
    clips = torch.zeros(2, 8, 64, 64, 3)  # x_t is then the noise alone, scaled
    seen = []
    given_diffusion_loss(lambda x_t, t: seen.append(x_t) or x_t, get_schedule(), clips,
                         torch.Generator().manual_seed(0), given=[(0,), ()], pt=2, shared=0.75)
    assert frame_correlation(seen[0][:1, 2:])[0] > 0.7 and abs(frame_correlation(seen[0][1:])[0]) < 0.03
    model = trained_looking(build_dit("tiny"))
    clip = torch.zeros(1, 8, 64, 64, 3)
    given = Given(clip, (0, 1), (0,), 4)
    first = next(ddim(model, get_schedule(), Start.noise(clip.shape, given), steps=2, seed=0)).x_t
    assert frame_correlation(first[:, 2:])[0] > 0.7
    plain = next(ddim(model, get_schedule(), Start.noise(clip.shape), steps=2, seed=0)).x_t
    assert abs(frame_correlation(plain)[0]) < 0.03
    model.config = replace(model.config, shared_noise=0.0)
    own = next(ddim(model, get_schedule(), Start.noise(clip.shape, given), steps=2, seed=0)).x_t
    assert abs(frame_correlation(own[:, 2:])[0]) < 0.03


def test_time_slices_take_a_timestep_per_slice_too():
    model = trained_looking(build_dit("tiny"))
    x, t = torch.randn(1, 8, 16, 16, 3), torch.tensor([300])
    with torch.no_grad():
        assert torch.allclose(model(x, t, time_slices=True), model(x, t[:, None].expand(1, 4), time_slices=True),
                              atol=1e-6)


@pytest.mark.parametrize("sampler", [ddim, ddpm])
def test_the_sampler_never_changes_given_frames(sampler):
    model = trained_looking(build_dit("tiny"))
    clip = torch.rand(1, 8, 16, 16, 3) * 2 - 1
    seen = []

    def watching(x_t, t):
        seen.append(t.clone())
        return model(x_t, t)

    given = Given(clip, (0, 1, 6, 7), (0, 3), 4)
    for step in sampler(watching, get_schedule(), Start.noise(clip.shape, given), steps=5, seed=0):
        for x in (step.x_t, step.x0_hat, step.x_next):
            assert torch.equal(x[:, [0, 1, 6, 7]], clip[:, [0, 1, 6, 7]])
    assert all(t.shape == (1, 4) and (t[:, [0, 3]] == 0).all() and (t[:, 1] > 0).all() for t in seen[:-1])


def test_a_run_marks_its_given_frames_and_scores_only_the_others():
    model = trained_looking(build_dit("tiny"))
    clip = np.random.default_rng(1).integers(0, 255, (8, 16, 16, 3), dtype=np.uint8)
    run = denoise(model, clip, RunSettings(steps=3, given="extend"))
    assert run.given_frames == (0, 1, 2, 3) and run.settings["given"] == "extend"
    assert (run.final[:4] == clip[:4]).all()
    with pytest.raises(ExplainerError, match="noise"):
        RunSettings(start="clip", given="animate")


def test_the_loss_ignores_the_given_frames():
    clips = torch.rand(2, 8, 8, 8, 3) * 2 - 1
    guess = torch.zeros_like(clips, requires_grad=True)
    loss = given_diffusion_loss(lambda x_t, t: guess + 0 * x_t, get_schedule(), clips, torch.Generator().manual_seed(0),
                                given=[(0,), ()], pt=2)
    loss.backward()
    assert (guess.grad[0, :2] == 0).all() and (guess.grad[0, 2:] != 0).any() and (guess.grad[1] != 0).all()


def test_training_with_a_given_share_records_it(tmp_path):
    settings = TrainSettings(config="tiny", steps=3, batch=2, max_side=16, warmup=1, out=str(tmp_path),
                             given_share=1.0, frames_choices=(8,), threads=1)
    report = train(settings)
    card = json.loads((tmp_path / "dit.json").read_text())
    assert report["steps"] == 3 and np.isfinite(report["final_loss"]) and card["given_share"] == 1.0
    with pytest.raises(ExplainerError, match="pack"):
        train(TrainSettings(config="tiny", steps=1, pack=True, given_share=0.5))


KEYS = ("given_slices", "generated_psnr_db", "first_x0_psnr_db", "copy_psnr_db", "unconditioned_psnr_db",
        "generated_change", "clip_change", "generated_smooth_change", "clip_smooth_change")


def test_denoise_given_reports_its_keys(clip_files, capsys):
    video, photo = clip_files
    assert main(["denoise", str(video), "--given", "connect", "--steps", "2", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert all(isinstance(result[key], (int, float, list)) for key in KEYS)
    assert result["given_slices"] == [0, 7] and result["given"] == "connect"
    assert main(["denoise", str(photo), "--given", "animate", "--steps", "2", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["working"][0] == 16 and result["given_slices"] == [0] and result["generated_psnr_db"] is None


@pytest.mark.parametrize("mode", ["connect", "extend"])
def test_a_still_cannot_be_connected_or_extended_from_the_shell(clip_files, capsys, mode):
    _, photo = clip_files
    assert main(["denoise", str(photo), "--given", mode, "--steps", "2", "--json"]) == 2
    assert capsys.readouterr().err.startswith("error:")


def test_evaluate_scores_each_mode_with_medians_and_checks():
    from explainer.evaluate import given_medians
    from explainer.pixels import to_unit

    model = trained_looking(build_dit("tiny"))
    clip = to_unit(np.random.default_rng(2).integers(0, 255, (8, 16, 16, 3), dtype=np.uint8))
    rows = given_medians(model, [("noise", clip)], ["animate", "connect"], seeds=(0, 1), steps=2)
    assert [row["given"] for row in rows] == ["animate", "connect"]
    assert all(isinstance(row[key], bool) for row in rows
               for key in ("learned_the_condition", "recognisable", "moves_like_video"))
    assert all(isinstance(row["copy_psnr_db"], float) for row in rows)
