"""The compression network: shapes (a still is a one-frame clip), the same-count baseline keeps no more numbers
than the latent, SSIM, a training run that resumes, and `compress --json`."""
import json

import numpy as np
import pytest
import torch

from explainer.cli import main
from explainer.compress import baseline_size, compress, frame_pairs, same_count_baseline, ssim
from explainer.train_vae import VAESettings, load_vae, save_vae, train_vae
from explainer.vae import build_vae, kl_to_standard


@pytest.mark.parametrize(("frames", "latent_frames"), [(16, 8), (15, 8), (2, 1), (1, 1)])
def test_a_clip_and_a_still_go_through_and_come_back_their_own_shape(frames, latent_frames):
    model = build_vae("tiny").eval()
    clip = torch.rand(2, frames, 24, 40, 3) * 2 - 1
    latent = model.encode(clip)
    assert latent.shape == (2, latent_frames, 6, 10, 4) == (2, *model.latent_shape(frames, 24, 40))
    assert model.decode(latent, frames).shape == clip.shape


def test_each_pair_of_frames_is_its_own_latent_frame():
    model = build_vae("tiny").eval()
    clip = torch.rand(1, 4, 16, 16, 3) * 2 - 1
    changed = clip.clone()
    changed[:, 3] = -changed[:, 3]  # only the second pair changes
    a, b = model.encode(clip), model.encode(changed)
    assert torch.equal(a[:, 0], b[:, 0]) and not torch.allclose(a[:, 1], b[:, 1])


def test_sizes_that_are_not_multiples_of_four_are_refused():
    with pytest.raises(ValueError, match="multiples of 4"):
        build_vae("tiny").encode(torch.zeros(1, 2, 18, 16, 3))


def test_the_kl_is_zero_at_the_standard_normal_and_positive_elsewhere():
    zeros = torch.zeros(3, 4)
    assert kl_to_standard(zeros, zeros).item() == 0
    assert kl_to_standard(zeros + 1, zeros).item() == pytest.approx(0.5)


@pytest.mark.parametrize(("height", "width", "numbers"), [(72, 128, 18 * 32 * 4), (128, 72, 32 * 18 * 4), (4, 4, 4)])
def test_the_baseline_keeps_no_more_numbers_than_the_latent_and_nearly_as_many(height, width, numbers):
    h, w = baseline_size(height, width, numbers)
    assert h * w * 3 <= numbers and (h + 1) * (w + 1) * 3 > numbers


def test_the_baseline_brings_back_a_still_scene_and_blurs_detail():
    flat = np.full((4, 16, 16, 3), 90, np.uint8)
    assert np.array_equal(same_count_baseline(flat, (2, 4, 4, 4)), flat)
    rng = np.random.default_rng(0)
    noisy = rng.integers(0, 256, (4, 16, 16, 3), dtype=np.uint8)
    assert not np.array_equal(same_count_baseline(noisy, (2, 4, 4, 4)), noisy)
    assert frame_pairs(5) == [[0, 1], [2, 3], [4]]


def test_the_baseline_is_linear_in_time_between_kept_frames():
    ramp = np.stack([np.full((8, 8, 3), 40 * f, np.uint8) for f in range(6)])  # 0, 40, ..., 200
    back = same_count_baseline(ramp, (3, 2, 2, 4))
    # kept frames are pair means at times 0.5, 2.5, 4.5: 20, 100, 180; frame 1 lies a quarter of the way on
    assert back[1, 0, 0, 0] == 40 and back[0, 0, 0, 0] == 20 and back[5, 0, 0, 0] == 180


def test_ssim_is_one_for_the_same_clip_and_lower_for_a_changed_one():
    rng = np.random.default_rng(1)
    clip = np.broadcast_to(np.linspace(30, 220, 32)[None, None, :, None], (2, 32, 32, 3)).astype(np.uint8)
    assert ssim(clip, clip) == pytest.approx(1.0)
    noisy = np.clip(clip.astype(int) + rng.integers(-40, 40, clip.shape), 0, 255).astype(np.uint8)
    assert ssim(noisy, clip) < 0.95


def test_compress_reports_scores_shapes_and_times():
    clip = np.random.default_rng(2).integers(0, 256, (4, 16, 24, 3), dtype=np.uint8)
    scores = compress(build_vae("tiny").eval(), clip).scores(clip)
    assert scores["latent_shape"] == [2, 4, 6, 4] and scores["values_per_latent"] == 24
    assert scores["encode_s"] > 0 and scores["decode_s"] > 0 and len(scores["latent_std"]) == 4
    assert 0 < scores["baseline_psnr_db"] < 60 and -1 <= scores["ssim"] <= 1


def test_a_training_run_saves_a_card_and_resumes_where_it_stopped(tmp_path, footage_dir):
    settings = VAESettings(config="tiny", steps=3, batch=2, max_side=16, out=str(tmp_path), checkpoint_every=3,
                           data_dir=str(footage_dir), threads=1)
    first = train_vae(settings)
    assert first["steps"] == 3 and (tmp_path / "checkpoint.safetensors").exists()
    model, card = load_vae(tmp_path / "vae.safetensors")
    assert card["training_steps"] == 3 and card["settings"]["kl_weight"] >= 1e-6 and card["command"]
    again = train_vae(VAESettings(**{**vars(settings), "steps": 5}))
    assert again["steps"] == 5 and load_vae(tmp_path / "vae.safetensors")[1]["training_steps"] == 5


def test_weights_round_trip(tmp_path):
    model = build_vae("tiny").eval()
    save_vae(model, tmp_path / "v.safetensors", {"training_steps": 0})
    loaded, card = load_vae(tmp_path / "v.safetensors")
    clip = torch.rand(1, 2, 8, 8, 3) * 2 - 1
    assert torch.equal(loaded.encode(clip), model.encode(clip)) and card["config"]["latent_channels"] == 4


def test_compress_command_reports_its_keys(tmp_path, capsys, clip_files):
    save_vae(build_vae("tiny").eval(), tmp_path / "v.safetensors", {"training_steps": 0})
    assert main(["compress", str(clip_files[0]), "--weights", str(tmp_path / "v.safetensors"), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    for key in ("psnr_db", "ssim", "baseline_psnr_db", "baseline_ssim", "latent_shape", "values_per_latent",
                "encode_s", "decode_s"):
        assert key in result, key


def test_compress_without_weights_is_one_error_line(tmp_path, capsys, clip_files):
    assert main(["compress", str(clip_files[0]), "--weights", str(tmp_path / "none.safetensors")]) == 2
    assert capsys.readouterr().err.startswith("error: no autoencoder weights")


def test_compress_takes_a_still_as_one_frame(tmp_path, capsys, clip_files):
    save_vae(build_vae("tiny").eval(), tmp_path / "v.safetensors", {"training_steps": 0})
    assert main(["compress", str(clip_files[1]), "--weights", str(tmp_path / "v.safetensors"), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["working"][0] == 1 and result["latent_shape"][0] == 1 and result["values_per_latent"] == 12


def test_the_latent_spread_is_never_wider_than_the_prior():
    model = build_vae("tiny").eval()
    with torch.no_grad():
        model.to_moments.bias[4:] = 50.0  # log-variances far above 0
        _, log_var = model.moments(torch.rand(1, 2, 8, 8, 3))
    assert log_var.max().item() == 0.0


def test_a_spike_in_the_loss_is_skipped_and_an_ordinary_step_is_not():
    from explainer.train_vae import spike

    recent = [0.1] * 60
    assert spike(float("nan"), recent) and spike(5.0, recent) and not spike(0.15, recent)
    assert not spike(5.0, recent[:10])  # too few steps to judge by


def test_two_process_training_with_torchrun(tmp_path, footage_dir):
    import os
    import subprocess

    done = subprocess.run(["torchrun", "--nproc_per_node", "2", "-m", "explainer", "train-vae", "--config", "tiny",
                           "--steps", "3", "--batch", "1", "--max-side", "16", "--data-dir", str(footage_dir),
                           "--out", str(tmp_path), "--json"],
                          capture_output=True, text=True, timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["processes"] == 2 and report["steps"] == 3
    assert json.loads((tmp_path / "vae.json").read_text())["processes"] == 2
