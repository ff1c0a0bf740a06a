"""The three claims measured on a clip: the crop copy fits on the centre square alone, at its own positions;
the frames-apart copy's attention never crosses a time slice; flicker and region PSNR are what they say; the
next patch made one after another has the later slices absent from each call's sequence, starts each slice
from the noise the all-at-once run gave it and keeps the given frames; `python -m explainer claims` prints
the JSON (with its next_patch object), says a square clip has nothing to lose, and turns bad input into one
error line."""
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from explainer.claims import (
    NOTHING_TO_LOSE,
    ONE_SLICE,
    Box,
    Claims,
    border_changes,
    centre_square,
    claim_steps,
    fit_on_crop,
    fit_time_slices,
    flicker,
    frame_changes,
    next_patch_steps,
    region_psnr,
)
from explainer.cli import main
from explainer.dit import DiT, DiTConfig, build_dit
from explainer.fit import FitSettings, fit_clip

PATCH = (2, 8, 8)
NOT_A_CLIP = str(Path(__file__).resolve().parents[1] / "README.md")


def finish(generator):
    """Run a generator that yields progress to the end; -> (what it yielded, what it returned)."""
    yielded = []
    try:
        while True:
            yielded.append(next(generator))
    except StopIteration as stop:
        return yielded, stop.value


def record_forwards(monkeypatch) -> list[dict]:
    """Every DiT forward from now on, as {shape, offset, time_slices}."""
    calls, forward = [], DiT.forward

    def recording(self, x, t, *args, **kwargs):
        calls.append({"shape": tuple(x.shape), "offset": kwargs.get("offset", 0),
                      "time_slices": kwargs.get("time_slices", False)})
        return forward(self, x, t, *args, **kwargs)

    monkeypatch.setattr(DiT, "forward", recording)
    return calls


def moving_frames(count=8, height=24, width=40) -> np.ndarray:
    """A square sliding right over a gradient."""
    frames = np.zeros((count, height, width, 3), np.uint8)
    frames[..., 2] = np.linspace(0, 200, width, dtype=np.uint8)[None, None, :]
    for t in range(count):
        x = t * (width - 8) // max(1, count - 1)
        frames[t, height // 3: height // 3 + 8, x: x + 8] = (255, 255, 0)
    return frames


def test_the_centre_square_takes_the_sides_of_a_wide_clip_top_and_bottom_of_a_tall_one_and_all_of_a_square():
    assert centre_square(32, 56, PATCH) == Box(0, 16, 32, 32)  # 24 columns unseen, on tubelet borders
    assert centre_square(64, 32, PATCH) == Box(16, 0, 32, 32)
    assert centre_square(40, 40, PATCH) == Box(0, 0, 40, 40)
    outside = Box(0, 16, 32, 32).sides(32, 56)
    assert outside[:, :16].all() and outside[:, 48:].all() and not outside[:, 16:48].any()


def test_the_crop_copy_fits_on_the_centre_square_alone_at_its_own_positions(monkeypatch):
    model = build_dit("tiny")
    x0 = torch.rand(4, 16, 32, 3) * 2 - 1
    box = centre_square(16, 32, model.config.patch)
    assert box == Box(0, 8, 16, 16)
    x0[:, :, :8] = float("nan")  # were the sides ever read, the loss and the weights would be NaN
    x0[:, :, 24:] = float("nan")
    calls = record_forwards(monkeypatch)
    _, fit = finish(fit_on_crop(model, x0, box, seconds=60, steps=3, seed=0, done=0.0, share=1.0))
    assert fit.steps == 3 and len(calls) == 3
    assert all(call["shape"][2:4] == (16, 16) and call["offset"] == (0, 0, 1) for call in calls)
    assert all(math.isfinite(loss) for loss in fit.losses)
    assert all(torch.isfinite(p).all() for p in fit.model.parameters())
    assert isinstance(fit.model, DiT)  # generates at the native shape, its positions those of the full frame
    # the same clip fitted natively does read the sides: the check above can fail
    assert not math.isfinite(fit_clip(model, x0, FitSettings(steps=1)).losses[0])


def seeded_one_block_model() -> DiT:
    """One block with every weight random (a fresh DiT's adaLN-Zero blocks are the identity)."""
    model = DiT(DiTConfig(depth=1, width=32, heads=2, margin=2))
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.3)
    return model.eval()


def test_time_slices_block_attention_across_time_and_full_attention_does_not():
    model = seeded_one_block_model()
    x = torch.randn(1, 4, 16, 16, 3, generator=torch.Generator().manual_seed(1))
    changed = x.clone()
    changed[:, 2:] += 1.0  # only the second time slice (frames 2 and 3)
    with torch.no_grad():
        apart = model(x, 500, time_slices=True), model(changed, 500, time_slices=True)
        full = model(x, 500), model(changed, 500)
        alone = model(x[:, :2], 500), model(x[:, 2:], 500, offset=(1, 0, 0))
    assert torch.allclose(apart[0][:, :2], apart[1][:, :2], atol=1e-6)  # slice one never saw the change
    assert (full[0][:, :2] - full[1][:, :2]).abs().max() > 1e-3  # with full attention it does
    # each slice computes what it would alone, at its own place in time
    assert torch.allclose(apart[0][:, :2], alone[0], atol=1e-5)
    assert torch.allclose(apart[0][:, 2:], alone[1], atol=1e-5)


def test_the_frames_apart_copy_trains_and_samples_with_time_slices(monkeypatch):
    model = build_dit("tiny")
    x0 = torch.rand(4, 16, 16, 3) * 2 - 1
    calls = record_forwards(monkeypatch)
    _, fit = finish(fit_time_slices(model, x0, seconds=60, steps=2, seed=0, done=0.0, share=1.0))
    assert [call["time_slices"] for call in calls] == [True, True]
    calls.clear()
    fit.model(x0[None], torch.tensor([10]))
    assert calls[-1]["time_slices"] is True


def test_flicker_is_the_mean_absolute_change_between_frames_split_at_time_slices():
    clip = np.zeros((4, 2, 2, 3), np.uint8)
    clip[1:] = 10
    clip[3] = 40
    assert frame_changes(clip) == [10.0, 0.0, 30.0]
    reels = {"clip": clip, "spacetime": np.zeros_like(clip), "frames_apart": clip[::-1].copy()}
    found = flicker(reels, pt=2)
    assert found["clip_change"] == pytest.approx(40 / 3, abs=1e-3)
    assert found["spacetime_change"] == 0.0
    assert found["frames_apart_change"] == pytest.approx(40 / 3, abs=1e-3)
    assert found["across_slices"]["clip"] == 0.0  # frame 1 -> 2 is the only pair across two slices
    assert found["within_slices"]["clip"] == 20.0
    assert found["units"] == "pixel levels 0-255"


def test_region_psnr_scores_the_centre_square_and_the_sides_apart():
    clip = torch.zeros(2, 8, 16, 3)
    box = Box(0, 4, 8, 8)
    estimate = clip + 0.2
    estimate[:, :, 4:12] = 0
    scores = region_psnr(estimate, clip, box)
    assert math.isinf(scores["centre_psnr_db"])
    assert scores["sides_psnr_db"] == pytest.approx(10 * math.log10(4 / 0.04), abs=0.01)
    assert region_psnr(estimate, clip, Box(0, 0, 8, 16))["sides_psnr_db"] is None


def test_a_step_budget_gives_the_same_numbers_for_the_same_seed_and_progress_rises_to_one():
    model = build_dit("tiny")
    frames = moving_frames(4, 16, 32)

    def run(seed):
        yielded = list(claim_steps(frames, model, steps=2, seed=seed, sampling_steps=10))
        *progress, claims = yielded
        assert isinstance(claims, Claims)
        fractions = [fraction for fraction, _ in progress]
        assert fractions == sorted(fractions) and fractions[-1] == 1.0
        summary = json.loads(json.dumps(claims.summary))
        summary.pop("wall_seconds")
        for way in ("all_at_once", "one_after_another"):  # times, not numbers the seed decides
            assert summary["next_patch"][way].pop("seconds") >= 0
        return summary, claims.reels

    (first, reels), (again, _), (other, _) = run(0), run(0), run(1)
    assert first == again and first != other
    assert set(reels) == {"clip", "native", "cropped", "spacetime", "frames_apart", "all_at_once",
                          "one_after_another"}
    assert all(reel.shape == frames.shape and reel.dtype == np.uint8 for reel in reels.values())
    assert first["crop"]["box"] == {"top": 0, "left": 8, "height": 16, "width": 16}
    assert first["frames"]["t"] == 499  # strength 0.5 of 10 DDIM steps (999, 899, ..., 99: the sixth)


# --- the next patch -----------------------------------------------------------------------------------

def record_sequences(monkeypatch) -> list[tuple[int, list[int]]]:
    """Every DiT forward from now on, as (frames in its sequence, the timestep of each time slice)."""
    calls, forward = [], DiT.forward

    def recording(self, x, t, *args, **kwargs):
        per_slice = t.reshape(t.shape[0], -1)[0].tolist() if torch.is_tensor(t) else [t]
        calls.append((x.shape[1], per_slice))
        return forward(self, x, t, *args, **kwargs)

    monkeypatch.setattr(DiT, "forward", recording)
    return calls


@pytest.fixture(scope="module")
def next_patch():
    """The next patch measured with a tiny DiT whose blocks are random (so each call's sequence matters), 3
    DDIM steps a run, on 8 frames (four slices of two): -> (the clip in [-1, 1], summary, reels)."""
    model = seeded_one_block_model()
    x0 = torch.from_numpy(moving_frames(8, 16, 24)).float() / 127.5 - 1
    progress, (summary, reels) = finish(next_patch_steps(model, x0, steps=3, seed=4))
    return x0, summary, reels, progress


def test_one_after_another_sees_only_the_slices_before_the_one_it_makes(monkeypatch):
    model = seeded_one_block_model()
    x0 = torch.from_numpy(moving_frames(8, 16, 24)).float() / 127.5 - 1
    calls = record_sequences(monkeypatch)
    _, (summary, _) = finish(next_patch_steps(model, x0, steps=3, seed=4))
    together, apart = calls[:3], calls[3:]
    steps = [999, 666, 332]  # 3 DDIM steps of 1000, trailing: from pure noise down to a third of the way
    # all at once: every slice in every call, the first given at t = 0, the rest at the step's t
    assert together == [(8, [0, t, t, t]) for t in steps]
    # one after another: slice k (1..3) in a sequence of slices 0..k alone, the later ones absent, the ones
    # before it given at t = 0
    assert apart == [(2 * (k + 1), [0] * k + [t]) for k in (1, 2, 3) for t in steps]
    assert summary["all_at_once"]["dit_calls"] == 3 and summary["one_after_another"]["dit_calls"] == 9
    assert summary["all_at_once"]["slices_per_call"] == [4, 4]
    assert summary["one_after_another"]["slices_per_call"] == [2, 4]
    per_slice = summary["tokens_per_slice"]
    assert per_slice == 2 * 3  # a 16 x 24 frame in 8-pixel tubelets
    assert summary["one_after_another"]["tokens_in_all"] == 3 * (2 + 3 + 4) * per_slice
    assert summary["all_at_once"]["tokens_per_call"] == [4 * per_slice, 4 * per_slice]


def test_both_ways_keep_the_given_slice_and_start_each_slice_from_the_same_noise(next_patch):
    x0, summary, reels, progress = next_patch
    from explainer.pixels import to_pixels

    clip = to_pixels(x0)
    for name in ("all_at_once", "one_after_another"):
        assert reels[name].shape == clip.shape and reels[name].dtype == np.uint8
        assert np.array_equal(reels[name][:2], clip[:2]), name  # the given slice, pixel for pixel
    assert summary["same_noise"] is True
    assert not np.array_equal(reels["all_at_once"][2:], reels["one_after_another"][2:])  # the ways differ
    assert summary["given_slices"] == [0] and summary["generated_frames"] == [2, 3, 4, 5, 6, 7]
    fractions = [fraction for fraction, _ in progress]
    assert fractions == sorted(fractions) and len(progress) == 1 + 3  # all at once, then each slice


def test_the_next_patch_numbers_have_their_keys_and_types(next_patch):
    _, summary, _, _ = next_patch
    json.dumps(summary, allow_nan=False)  # plain JSON, no infinities
    assert summary["units"] == "pixel levels 0-255" and summary["frames_per_slice"] == 2
    assert isinstance(summary["clip"]["across_slices"], float)
    for name in ("all_at_once", "one_after_another"):
        way = summary[name]
        assert isinstance(way["dit_calls"], int) and isinstance(way["seconds"], float) and way["seconds"] >= 0
        assert isinstance(way["across_slices"], float) and isinstance(way["within_slices"], float)
        assert len(way["psnr_db"]) == 6 and all(isinstance(v, float) for v in way["psnr_db"])
        assert way["mean_psnr_db"] == pytest.approx(np.mean(way["psnr_db"]), abs=0.01)
        assert len(way["per_frame_change"]) == 7


def test_border_changes_count_the_pairs_that_reach_a_generated_frame():
    changes = [1.0, 10.0, 2.0, 20.0, 3.0, 30.0, 4.0]  # pairs 1->2, 3->4, 5->6 cross a slice border
    assert border_changes(changes, pt=2, first=2) == {"across_slices": 20.0, "within_slices": 3.0}
    assert border_changes(changes, pt=2, first=0) == {"across_slices": 20.0, "within_slices": 2.5}


def test_a_clip_of_one_slice_has_no_next_patch():
    summary, reels = finish(next_patch_steps(build_dit("tiny"), torch.zeros(2, 16, 16, 3), steps=2))[1]
    assert summary == {"note": ONE_SLICE} and reels == {}


@pytest.fixture
def wide_clip(tmp_path):
    from explainer.video import write_webm

    return write_webm(tmp_path / "wide.webm", moving_frames(8, 36, 64))


def run_cli(argv, capsys):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_the_cli_prints_the_claims_json(wide_clip, capsys):
    code, out, err = run_cli(["claims", str(wide_clip), "--seconds", "0.3", "--frames", "4", "--max-side", "32",
                              "--json"], capsys)
    assert code == 0, err
    result = json.loads(out)
    for name in ("native", "cropped"):
        for key in ("centre_psnr_db", "sides_psnr_db"):
            assert isinstance(result["crop"][name][key], float)
    for key in ("clip_change", "spacetime_change", "frames_apart_change"):
        assert isinstance(result["frames"][key], float) and result["frames"][key] >= 0
    assert result["seconds"] == 0.3
    assert result["working"] == [4, 16, 32]
    assert result["crop"]["note"] is None
    assert len(result["frames"]["per_frame"]["clip"]) == 3
    assert result["frames"]["clip_change"] > 0  # the square moves
    next_patch = result["next_patch"]  # 4 frames: slice 0 given, slice 1 made both ways
    assert next_patch["all_at_once"]["dit_calls"] == 50 and next_patch["one_after_another"]["dit_calls"] == 50
    for name in ("all_at_once", "one_after_another"):
        way = next_patch[name]
        assert isinstance(way["seconds"], float) and isinstance(way["across_slices"], float)
        assert len(way["psnr_db"]) == 2 and all(isinstance(v, float) for v in way["psnr_db"])
    assert isinstance(next_patch["clip"]["across_slices"], float) and next_patch["same_noise"] is True


def test_the_claims_are_measured_on_the_window_asked_for(wide_clip, capsys):
    code, out, err = run_cli(["claims", str(wide_clip), "--steps", "1", "--frames", "4", "--max-side", "32",
                              "--start-frame", "3", "--stride", "1", "--json"], capsys)
    assert code == 0, err
    result = json.loads(out)
    assert result["window"] == [3, 6] and result["stride"] == 1 and result["working"] == [4, 16, 32]
    code, out, err = run_cli(["claims", str(wide_clip), "--steps", "1", "--frames", "4", "--max-side", "32",
                              "--start-frame", "9", "--stride", "2", "--json"], capsys)
    assert code == 0, err
    assert json.loads(out)["window"] == [1, 7]  # moved back: 8 frames hold four, every second, from frame 1


def test_a_square_clip_has_nothing_to_lose(tmp_path, capsys):
    path = tmp_path / "square.png"
    Image.fromarray(moving_frames(1, 40, 40)[0]).save(path)
    code, out, err = run_cli(["claims", str(path), "--steps", "1", "--max-side", "32", "--json"], capsys)
    assert code == 0, err
    crop = json.loads(out)["crop"]
    assert crop["native"]["sides_psnr_db"] is None and crop["cropped"]["sides_psnr_db"] is None
    assert crop["note"] == NOTHING_TO_LOSE
    assert crop["box"] == {"top": 0, "left": 0, "height": 32, "width": 32}
    assert json.loads(out)["next_patch"] == {"note": ONE_SLICE}  # a photo: nothing after its one slice


@pytest.mark.parametrize("argv, words", [
    (["claims", "no-such-clip.mp4", "--json"], "no such file: no-such-clip.mp4"),
    (["claims", NOT_A_CLIP, "--json"], "not a video or image"),
    (["claims", NOT_A_CLIP, "--steps", "0", "--json"], "steps must be at least 1"),
    (["claims", NOT_A_CLIP, "--seconds", "-5", "--json"], "seconds must be more than 0"),
])
def test_bad_input_is_one_error_line(argv, words, capsys):
    code, out, err = run_cli(argv, capsys)
    assert code == 2 and out == ""
    assert err.startswith("error: ") and words in err and "Traceback" not in err


def test_the_shell_s_words_name_the_next_patch_both_ways():
    from explainer.cli import _claims_summary

    answer = json.loads((Path(__file__).parents[1] / "assets" / "claims" / "wide.json").read_text())
    words = _claims_summary({"path": "wide.webm", **answer})
    made = answer["next_patch"]
    assert f"clip {made['clip']['across_slices']} vs {made['clip']['within_slices']}" in words
    assert f"all at once: {made['all_at_once']['dit_calls']} DiT calls" in words
    assert f"one after another: {made['one_after_another']['dit_calls']} DiT calls" in words
    photo = _claims_summary({"path": "photo.png", **answer, "next_patch": {"note": ONE_SLICE}})
    assert f"the next patch: {ONE_SLICE}" in photo and "DiT calls" not in photo
