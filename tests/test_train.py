import dataclasses
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch
from conftest import TESTDATA

from explainer.diffusion import SCHEDULES, get_schedule, sample_timesteps
from explainer.dit import DiT, build_dit
from explainer.errors import ExplainerError
from explainer.evaluate import evaluate, evaluate_clip, gaussian_blur, timestep_for_snr
from explainer.fit import FitSettings, fit_clip, regenerate
from explainer.pixels import psnr_db, to_unit
from explainer.scenes import make_clip
from explainer.train import ProceduralBuckets, TrainSettings, learning_rate, train
from explainer.trajectory import RunSettings, denoise_steps
from explainer.weights import PRIOR, load_checkpoint, load_weights, save_checkpoint, save_weights, training_minutes


def test_weights_round_trip_with_sidecar(tmp_path):
    model = build_dit("tiny", seed=3)
    torch.nn.init.normal_(model.final.linear.weight)  # not all zeros, so the comparison means something
    path = save_weights(model, tmp_path / "w.safetensors", {"training_steps": 7})
    loaded, card = load_weights(path)
    assert card["training_steps"] == 7 and card["config"]["width"] == model.config.width
    for (name, a), (_, b) in zip(model.state_dict().items(), loaded.state_dict().items()):
        assert torch.equal(a, b), name
    assert path.read_bytes()[8:9] == b"{"  # a safetensors header, not a pickle


def test_a_card_from_before_tiles_loads_as_margin_zero(tmp_path):
    path = save_weights(DiT(dataclasses.replace(build_dit("tiny").config, margin=0)), tmp_path / "w.safetensors")
    card = json.loads(path.with_suffix(".json").read_text())
    del card["config"]["margin"]  # as written before the config had the field
    path.with_suffix(".json").write_text(json.dumps(card))
    assert load_weights(path)[0].config.margin == 0


def test_training_minutes_add_up_the_whole_lineage():
    card = {"wall_time_s": 600.0, "init": {"wall_time_s": 480.0, "init": {"wall_time_s": 120.0}}}
    assert training_minutes(card) == pytest.approx(20.0)
    assert training_minutes({"wall_time_s": 90.0}) == pytest.approx(1.5)


def test_training_minutes_split_by_what_each_run_trained_on():
    from explainer.weights import training_minutes_by_data

    card = {"wall_time_s": 600.0, "settings": {"data": "footage"},
            "init": {"wall_time_s": 480.0, "settings": {"data": "procedural"}, "init": {"wall_time_s": 120.0}}}
    assert training_minutes_by_data(card) == pytest.approx({"footage": 10.0, "procedural": 10.0})


@pytest.mark.parametrize("damage", ["truncate", "garbage", "no sidecar", "bad sidecar"])
def test_damaged_weights_fail_with_a_clear_message(tmp_path, damage):
    path = save_weights(build_dit("tiny"), tmp_path / "w.safetensors")
    if damage == "truncate":
        path.write_bytes(path.read_bytes()[:1000])
    elif damage == "garbage":
        path.write_bytes(b"\x00" * 5000)
    elif damage == "no sidecar":
        path.with_suffix(".json").unlink()
    else:
        path.with_suffix(".json").write_text("{not json")
    with pytest.raises(ExplainerError) as raised:
        load_weights(path)
    assert path.name in str(raised.value) or "sidecar" in str(raised.value)


def test_shipped_prior_loads_offline():
    if not PRIOR.exists():
        pytest.skip("no prior shipped in assets/")
    model, card = load_weights(PRIOR)
    assert card["prediction"] == "x0" and card["training_steps"] > 0 and "command" in card
    assert PRIOR.stat().st_size <= 20 * 2**20


def test_shipped_prior_beats_the_classical_denoisers():
    """The prior's bar. On real footage it never trained on (the test clips where present, the held-out
    scene where `python -m explainer data` has fetched it) its x̂0 beats the best Gaussian blur by at least
    0.5 dB and non-local means at every noise level. On held-out procedural clips, whose margins are thin
    now that it trains mostly on real footage, it beats non-local means and stays within 0.5 dB of the
    best blur."""
    if not PRIOR.exists():
        pytest.skip("no prior shipped in assets/")
    from explainer.data import cache_dir

    model = load_weights(PRIOR)[0]
    procedural = evaluate(model)["rows"]
    real = [TESTDATA / name for name in ("realshort.mp4", "newtonscradle.gif") if (TESTDATA / name).exists()]
    fetched = (cache_dir() / "sources.json").exists()
    footage = evaluate(model, real, count=0, footage=fetched)["rows"]
    assert len(procedural) == 12 and len(footage) == 3 * (len(real) + fetched)
    short = [(r["clip"], r["snr"], r["dit_psnr_db"], r["blur_psnr_db"], r["nlm_psnr_db"]) for r in footage
             if not (r["dit_psnr_db"] >= r["blur_psnr_db"] + 0.5 and r["dit_psnr_db"] > r["nlm_psnr_db"])]
    short += [(r["clip"], r["snr"], r["dit_psnr_db"], r["blur_psnr_db"], r["nlm_psnr_db"]) for r in procedural
              if not (r["dit_psnr_db"] > r["blur_psnr_db"] - 0.5 and r["dit_psnr_db"] > r["nlm_psnr_db"])]
    assert not short, short


def test_checkpoint_round_trips_weights_ema_and_optimizer(tmp_path):
    model, ema = build_dit("tiny", seed=1), build_dit("tiny", seed=2)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    model(torch.zeros(1, 2, 16, 16, 3), 500).square().mean().backward()
    torch.nn.init.normal_(model.final.linear.weight)  # a gradient reaches every parameter from here on
    model(torch.rand(1, 2, 16, 16, 3), 500).square().mean().backward()
    optimizer.step()
    path = save_checkpoint(tmp_path / "c" / "checkpoint.safetensors", model, ema, optimizer, step=7,
                           extra={"seconds": 1.5})
    assert not path.with_suffix(".partial").exists()
    model2, ema2 = build_dit("tiny", seed=3), build_dit("tiny", seed=4)
    optimizer2 = torch.optim.AdamW(model2.parameters(), lr=1e-3)
    assert load_checkpoint(path, model2, ema2, optimizer2) == (7, {"seconds": 1.5})
    for a, b in ((model, model2), (ema, ema2)):
        assert all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values()))
    before, after = optimizer.state_dict()["state"], optimizer2.state_dict()["state"]
    assert before.keys() == after.keys() and len(before) > 0
    assert all(torch.equal(before[i][key], after[i][key]) for i in before for key in before[i])


def test_buckets_hold_one_shape_each_and_vary():
    stream = iter(ProceduralBuckets(batch=2, seed=0, max_side=32))
    shapes = {tuple(next(stream).shape) for _ in range(6)}
    assert len(shapes) > 1
    for shape in shapes:
        assert shape[0] == 2 and shape[-1] == 3 and shape[2] % 8 == 0 and shape[3] % 8 == 0


def test_learning_rate_warms_up_then_decays():
    settings = TrainSettings(steps=100, warmup=10, lr=1e-3)
    rates = [learning_rate(settings, s) for s in range(100)]
    assert rates[0] < rates[9] == pytest.approx(1e-3) and rates[-1] < 0.1 * 1e-3


def test_train_writes_weights_and_resumes(tmp_path):
    settings = TrainSettings(config="tiny", steps=4, batch=2, max_side=16, warmup=2, out=str(tmp_path),
                             checkpoint_every=2)
    first = train(settings)
    assert first["steps"] == 4
    card = json.loads((tmp_path / "dit.json").read_text())
    for key in ("config", "training_steps", "data_seed", "final_loss", "wall_time_s", "device", "command"):
        assert key in card
    assert card["device"].startswith("cpu: ") and "threads" in card["device"]  # which CPU, not just "cpu"
    settings.steps = 6
    assert train(settings)["steps"] == 6  # picked up at step 4 from the checkpoint
    assert json.loads((tmp_path / "dit.json").read_text())["training_steps"] == 6


def test_train_from_init_starts_at_those_weights_and_keeps_their_card(tmp_path):
    """Weights made before overlapping tiles (margin 0) continue with --config's tiles, from exactly the
    outputs they had; the card keeps the init's own card as lineage."""
    start = DiT(dataclasses.replace(build_dit("tiny").config, margin=0))
    for parameter in start.parameters():
        torch.nn.init.normal_(parameter, std=0.05)  # not the zero-output initialisation
    init = save_weights(start, tmp_path / "start" / "w.safetensors", {"training_steps": 11, "device": "elsewhere"})
    # lr 0 during warm-up leaves the weights (and the EMA copy) exactly where they started
    settings = TrainSettings(config="tiny", init=str(init), steps=2, batch=1, max_side=16, warmup=100, lr=0.0,
                             out=str(tmp_path / "out"))
    train(settings)
    trained, card = load_weights(tmp_path / "out" / "dit.safetensors")
    assert trained.config == dataclasses.replace(start.config, margin=2) and card["config"]["margin"] == 2
    x, t = to_unit(make_clip(4, 16, 24, seed=2))[None], torch.tensor([300])
    with torch.no_grad():
        assert torch.allclose(trained(x, t), start(x, t), atol=1e-5)
    assert card["init"]["training_steps"] == 11 and card["init"]["device"] == "elsewhere"
    assert card["training_steps"] == 2


def test_noise_bias_bends_training_timesteps_either_way():
    def draw(bias):
        return sample_timesteps(20000, 1000, torch.Generator().manual_seed(0), bias).float().mean().item()

    assert draw(-0.5) < 450 < draw(0.0) < 550 < draw(0.5)
    with pytest.raises(ExplainerError):
        train(TrainSettings(config="tiny", noise_bias=1.0, steps=1))


@pytest.mark.skipif(shutil.which("torchrun") is None, reason="torchrun not on PATH")
def test_two_process_cpu_training_with_torchrun(tmp_path):
    done = subprocess.run(["torchrun", "--nproc_per_node", "2", "-m", "explainer", "train", "--config", "tiny",
                           "--steps", "3", "--batch", "1", "--max-side", "16", "--out", str(tmp_path), "--json"],
                          capture_output=True, text=True, timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["processes"] == 2 and report["steps"] == 3
    assert json.loads((tmp_path / "dit.json").read_text())["processes"] == 2


def test_fit_lowers_the_loss_on_one_clip():
    clip = to_unit(make_clip(2, 16, 16, seed=1))
    calls = []
    fit = fit_clip(build_dit("tiny"), clip, FitSettings(steps=60, lr=3e-3, batch=4),
                   callback=lambda *a: calls.append(a))
    assert fit.steps == 60 and len(calls) == 60
    assert np.mean(fit.losses[-10:]) < 0.5 * np.mean(fit.losses[:5])
    regen = regenerate(fit.model, clip.shape, steps=10)
    assert regen.shape == clip.shape and regen.abs().max() <= 1


def test_psnr_of_known_error():
    a = torch.zeros(4, 4)
    assert psnr_db(a, a + 0.2) == pytest.approx(10 * np.log10(4 / 0.04))


def test_snr_levels_map_to_timesteps():
    schedule = get_schedule("linear")
    for snr in (4, 1, 0.25):
        assert float(schedule.snr(timestep_for_snr(schedule, snr))) == pytest.approx(snr, rel=0.03)


def test_evaluation_rows_and_baselines_are_sane():
    clip = to_unit(make_clip(4, 24, 32, seed=5))
    rows = evaluate_clip(build_dit("tiny"), clip, "c", snrs=(1.0,))
    row = rows[0]
    assert {"clip", "snr", "dit_psnr_db", "noisy_psnr_db", "blur_psnr_db", "nlm_psnr_db"} <= row.keys()
    assert row["blur_psnr_db"] > row["noisy_psnr_db"] and row["nlm_psnr_db"] > row["noisy_psnr_db"]


def test_blur_along_time_keeps_a_constant_clip():
    clip = np.full((5, 8, 8, 3), 0.3, np.float32)
    assert np.allclose(gaussian_blur(clip, 1.0, 1.5), 0.3, atol=1e-6)


def test_fit_command_json(tmp_path):
    from explainer.video import write_webm

    weights = save_weights(build_dit("tiny"), tmp_path / "tiny.safetensors")
    clip = write_webm(tmp_path / "c.webm", make_clip(8, 32, 48, seed=2))
    done = subprocess.run([sys.executable, "-m", "explainer", "fit", str(clip), "--steps", "3", "--frames", "4",
                           "--max-side", "32", "--weights", str(weights), "--json"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout)
    assert report["steps"] == 3 and {"seconds", "final_loss", "regen_psnr_db"} <= report.keys()


def test_a_fit_of_the_adaln_parts_leaves_every_other_weight_as_the_prior_has_it():
    from explainer.fit import trainable

    prior = build_dit("tiny", seed=3)
    clip = to_unit(make_clip(2, 16, 16, seed=1))
    fitted = fit_clip(prior, clip, FitSettings(steps=3, parts="adaln", lr=1e-2, decay=0.1)).model
    names = {name for name, p in prior.named_parameters() if any(p is q for q in trainable(prior, "adaln"))}
    assert names and all(".adaLN." in n or n.startswith("final.") for n in names)
    before, after = dict(prior.named_parameters()), dict(fitted.named_parameters())
    changed = {name for name in before if not torch.equal(before[name], after[name])}
    assert changed and changed <= names
    with pytest.raises(ValueError):
        trainable(prior, "some")


# --- the weights decide their schedule -----------------------------------------------------------------

def schedules_walked(calls) -> list[str]:
    """The schedules whose alpha-bars a run of DDIM (eta 0, x̂0 clamped) stepped through, read off the model
    calls (x_t, t, output) it made: each x_t must follow from the call before it. A schedule only the
    sampler's own arithmetic can reveal, not an attribute."""
    walked = []
    for name in SCHEDULES:
        schedule, follows = get_schedule(name), len(calls) > 1
        for (x_t, t, output), (x_next, t_next, _) in zip(calls, calls[1:]):
            alpha_bar, alpha_bar_next = float(schedule.alpha_bar(t)), float(schedule.alpha_bar(t_next))
            x0 = output.clamp(-1, 1)
            eps = (x_t - alpha_bar ** 0.5 * x0) / (1 - alpha_bar) ** 0.5
            follows &= torch.allclose(x_next, alpha_bar_next ** 0.5 * x0 + (1 - alpha_bar_next) ** 0.5 * eps,
                                      atol=1e-4)
        if follows:
            walked.append(name)
    return walked


def recording(model, calls: list):
    """Keep every call of the model as (x_t, t, output)."""
    model.register_forward_hook(lambda module, args, output: calls.append(
        (args[0].detach().clone(), int(args[1].reshape(-1)[0]), output.detach().clone())))
    return model


def test_weights_trained_with_cosine_are_sampled_with_cosine(tmp_path):
    """A tiny model trained through `train` with the cosine schedule, saved and loaded: the page's and the
    CLI's denoising, a fit's regeneration, evaluate and the claims step through cosine's alpha-bars, not
    linear's, with no schedule passed."""
    # lr high and the EMA a copy of the weights, so the model's guesses are not the untrained zeros
    train(TrainSettings(config="tiny", schedule="cosine", steps=3, batch=1, max_side=16, warmup=1, lr=1e-2, ema=0.0,
                        out=str(tmp_path)))
    model, card = load_weights(tmp_path / "dit.safetensors")
    assert card["schedule"] == "cosine" and card["settings"]["schedule"] == "cosine"
    clip = make_clip(4, 16, 24, seed=1)
    calls = []
    recording(model, calls)
    list(denoise_steps(model, clip, RunSettings(steps=5)))  # what the page and `denoise` run
    assert [t for _, t, _ in calls] == [999, 799, 599, 399, 199] and schedules_walked(calls) == ["cosine"]
    assert any(output.abs().max() > 1e-3 for _, _, output in calls)  # the x̂0 term took part
    calls.clear()
    list(denoise_steps(model, clip, RunSettings(steps=5, start="clip", strength=0.6)))
    assert schedules_walked(calls) == ["cosine"]
    calls.clear()
    regenerate(model, to_unit(clip).shape, steps=4)  # what a fit regenerates, before and after
    assert schedules_walked(calls) == ["cosine"]
    calls.clear()
    fitted = fit_clip(model, to_unit(clip), FitSettings(steps=1)).model
    regenerate(fitted, to_unit(clip).shape, steps=4)
    assert len(calls) > 4 and schedules_walked(calls[-4:]) == ["cosine"]
    cosine, linear = get_schedule("cosine"), get_schedule("linear")
    row = evaluate_clip(model, to_unit(clip), "c", snrs=(1.0,))[0]
    assert row["t"] == timestep_for_snr(cosine, 1.0) != timestep_for_snr(linear, 1.0)


def test_claims_use_the_schedule_the_weights_were_trained_with():
    from explainer.claims import claim_steps

    model = build_dit("tiny")
    model.schedule = "cosine"  # as load_weights sets it from a card that says cosine
    *_, claims = claim_steps(make_clip(4, 16, 24, seed=1), model, steps=1, sampling_steps=4)
    frames = claims.summary["frames"]
    assert frames["alpha_bar"] == round(float(get_schedule("cosine").alpha_bar(frames["t"])), 4)
    assert frames["alpha_bar"] != round(float(get_schedule("linear").alpha_bar(frames["t"])), 4)


def test_a_card_without_a_schedule_is_linear_and_an_unknown_one_is_refused(tmp_path):
    path = save_weights(build_dit("tiny"), tmp_path / "w.safetensors")
    card = json.loads(path.with_suffix(".json").read_text())
    assert card["schedule"] == "linear"
    del card["schedule"]  # as written before cards named it
    path.with_suffix(".json").write_text(json.dumps(card))
    assert load_weights(path)[0].schedule == "linear"
    path.with_suffix(".json").write_text(json.dumps({**card, "schedule": "sigmoid"}))
    with pytest.raises(ExplainerError, match="sigmoid"):
        load_weights(path)


def test_shipped_prior_carries_given_frames_forward(real_clip_path):
    """Frames as the prompt, trained into the prior: on a real clip it never trained on, with the first half
    of the window given (one seed, 50-step DDIM from pure noise), the generated half is recognisable (3 dB
    above the same seed with nothing given) and moves like video. The full bars, per mode and over seeds 0-2,
    are `evaluate --given`'s."""
    if not PRIOR.exists():
        pytest.skip("no prior shipped in assets/")
    from explainer.clip import load_clip
    from explainer.given_scores import done_when, score_given
    from explainer.trajectory import RunSettings

    model = load_weights(PRIOR)[0]
    scores = score_given(model, load_clip(real_clip_path).frames, RunSettings(given="extend", seed=0))
    checks = done_when(scores)
    assert checks["recognisable"] and checks["moves_like_video"], {k: v for k, v in scores.items() if k != "run"}
