"""The bundled samples' answers: shipped in assets/answers/ at the page's default settings and current,
read at start without working anything out, and at other settings worked out once and kept.

Staleness is caught by working each sample's answer out again and comparing it with what ships, value by
value, rather than by a fingerprint of what an answer depends on: that would have to list the sample
files, the weights, every module from the clip reader to the figures and the versions of OpenCV, Plotly
and Pillow, and would still fire on a comment. Working it out again catches exactly a change a visitor
would see. Numbers compare within a float tolerance and pictures within a few levels of 255, so that the
test holds on another CPU; on the machine that wrote them they are the same to the byte.
"""
import base64
import io
import json
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from explainer import page  # noqa: F401  (the page's sections register how an answer is worked out)
from explainer.assets import SAMPLES, sample_file
from explainer.clip import Clip
from explainer.page import sample_answers, show_clip

REBUILD = "python -m explainer sample-answers"


@pytest.fixture
def fresh_state(tmp_path, monkeypatch):
    """Nothing kept yet, and pictures written under a temp root of the test's own."""
    monkeypatch.setenv("FILM_REEL_TEMP", str(tmp_path / "root"))
    monkeypatch.setattr(sample_answers, "_shipped", {})
    monkeypatch.setattr(sample_answers, "_sample_answers", {})
    return tmp_path


# --- comparing an answer with what ships -------------------------------------------------------------------

def picture_differences(shipped: np.ndarray, fresh: np.ndarray, where: str, most: int, mean: float) -> list[str]:
    if shipped.shape != fresh.shape:
        return [f"{where}: a picture of {shipped.shape} ships, {fresh.shape} is drawn today"]
    gap = np.abs(shipped.astype(int) - fresh.astype(int))
    return [f"{where}: pixels differ by up to {gap.max()} (mean {gap.mean():.2f})"] \
        if gap.max() > most or gap.mean() > mean else []


def embedded_picture(uri: str) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))).convert("RGB"))


def typed_array(value: dict) -> np.ndarray:
    """A Plotly typed array ({"dtype": "f4", "bdata": base64, ...}) as numbers."""
    return np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"])).astype(float)


def leaf_differences(shipped, fresh, where: str) -> list[str]:
    """Two leaves of a figure's JSON: numbers within a float tolerance, embedded pictures within a few
    levels (a JPEG of pictures a level apart), anything else the same."""
    if isinstance(fresh, float) and isinstance(shipped, (int, float)):
        same = math.isclose(shipped, fresh, rel_tol=1e-4, abs_tol=1e-6) or math.isnan(shipped) == math.isnan(fresh) == 1
        return [] if same else [f"{where}: {shipped} != {fresh}"]
    if isinstance(fresh, str) and fresh.startswith("data:image/") and isinstance(shipped, str):
        return picture_differences(embedded_picture(shipped), embedded_picture(fresh), where, most=24, mean=1.0)
    if shipped == fresh:
        return []
    shipped, fresh = str(shipped), str(fresh)
    at = next((index for index, (a, b) in enumerate(zip(shipped, fresh)) if a != b), min(len(shipped), len(fresh)))
    return [f"{where}: ...{shipped[max(0, at - 30):at + 50]!r} ships, ...{fresh[max(0, at - 30):at + 50]!r} today"]


def json_differences(shipped, fresh, where: str) -> list[str]:
    """Where a figure's JSON that ships differs from today's."""
    if isinstance(fresh, dict) and "bdata" in fresh and isinstance(shipped, dict) and "bdata" in shipped:
        a, b = typed_array(shipped), typed_array(fresh)
        same = a.shape == b.shape and np.allclose(a, b, rtol=1e-4, atol=1e-5, equal_nan=True)
        return [] if same and shipped.get("shape") == fresh.get("shape") else [f"{where}: numbers differ"]
    if isinstance(fresh, dict) and isinstance(shipped, dict):
        if set(fresh) != set(shipped):
            return [f"{where}: keys {sorted(set(shipped) ^ set(fresh))} differ"]
        return [line for key in fresh for line in json_differences(shipped[key], fresh[key], f"{where}.{key}")]
    if isinstance(fresh, list) and isinstance(shipped, list):
        if len(fresh) != len(shipped):
            return [f"{where}: {len(shipped)} items ship, {len(fresh)} today"]
        return [line for index, (a, b) in enumerate(zip(shipped, fresh))
                for line in json_differences(a, b, f"{where}[{index}]")]
    return leaf_differences(shipped, fresh, where)


def value_differences(shipped, fresh, where: str) -> list[str]:
    """Where one value of a shipped answer (as the page reads it) differs from the value worked out today."""
    if isinstance(fresh, np.ndarray):
        return picture_differences(np.asarray(Image.open(shipped)), fresh, where, most=2, mean=0.05)
    if isinstance(fresh, dict) and isinstance(fresh.get("clip"), Clip):
        same = shipped["path"] == fresh["path"] and shipped["clip"].grid == fresh["clip"].grid
        return [] if same and np.array_equal(shipped["clip"].frames, fresh["clip"].frames) else \
            [f"{where}: the session's clip differs"]
    if isinstance(fresh, str) and fresh.startswith("{") and isinstance(shipped, str):
        return json_differences(json.loads(shipped), json.loads(fresh), where)
    return leaf_differences(shipped, fresh, where)


def answer_differences(shipped, fresh) -> list[str]:
    labels = list(fresh) if isinstance(fresh, dict) else range(len(fresh))
    if (list(shipped) if isinstance(shipped, dict) else range(len(shipped))) != labels:
        return ["the answer's views are not the ones that ship"]
    return [line for label in labels for line in value_differences(shipped[label], fresh[label], f"[{label!r}]")]


# --- the shipped answers ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name", SAMPLES)
def test_the_shipped_answer_is_what_the_page_works_out_today(fresh_state, name):
    assert (sample_answers.SHIPPED / f"{name}.json.gz").exists(), f"no shipped answer for {name}: run {REBUILD}"
    key, shipped = sample_answers.read_shipped(name)
    settings = sample_answers.default_settings()
    assert key == sample_answers._key(name, settings), \
        f"the {name} answer ships for other settings than the page's defaults: run {REBUILD}"
    differences = answer_differences(shipped, sample_answers.fresh_answer(name, settings))
    assert not differences, f"assets/answers/ is stale for {name}: run {REBUILD}\n" + "\n".join(differences[:12])


def test_the_shipped_answers_are_small():
    total = sum(path.stat().st_size for path in sample_answers.SHIPPED.iterdir())
    assert total < 5e6, f"{total / 1e6:.1f} MB ship in assets/answers/"
    assert {path.name.split("-")[0].split(".")[0] for path in sample_answers.SHIPPED.iterdir()} == set(SAMPLES)


def test_a_server_reads_the_shipped_answers_without_working_any_out(fresh_state, monkeypatch):
    def never(name, settings):
        raise AssertionError(f"{name} was worked out, not read")

    monkeypatch.setattr(sample_answers, "_compute", never)
    assert sample_answers.load_shipped() == list(SAMPLES)
    sample_answers.warm_samples()  # what the server does next: nothing left to work out
    for name in SAMPLES:
        answer = sample_answers.sample_answer(name, sample_answers.default_settings())
        pictures = [value for value in (answer.values() if isinstance(answer, dict) else answer)
                    if isinstance(value, str) and value.endswith(".png")]
        assert pictures
        for path in pictures:  # served from the samples' static folder, the very bytes that ship
            assert path.startswith(str(sample_answers.sample_pictures_dir()))
            assert Path(path).read_bytes() == (sample_answers.SHIPPED / Path(path).name).read_bytes()
        clip = next(value for value in (answer.values() if isinstance(answer, dict) else answer)
                    if isinstance(value, dict) and "clip" in value)
        assert clip["path"] == str(sample_file(name)) and isinstance(clip["clip"], Clip)


def test_an_unreadable_shipped_answer_is_worked_out_when_asked_for(fresh_state, capsys):
    folder = fresh_state / "answers"
    folder.mkdir()
    (folder / f"{next(iter(SAMPLES))}.json.gz").write_bytes(b"not gzip")
    assert sample_answers.load_shipped(folder) == []
    assert "could not be read" in capsys.readouterr().out


# --- answers worked out on demand ----------------------------------------------------------------------------

def small_answer(name, settings):
    """A stand-in for a section's answer: a picture, HTML, data, and the session's clip."""
    clip = show_clip.open_clip(str(sample_file(name)), (2, 8, 8))
    picture = np.full((4, 6, 3), len(str(settings)) % 256, np.uint8)
    return ({"path": str(sample_file(name)), "clip": clip}, picture, f"<b>{name}</b>", {"settings": list(settings)})


def test_answers_at_other_settings_are_worked_out_once_and_the_latest_kept(fresh_state, monkeypatch):
    calls = []
    monkeypatch.setattr(sample_answers, "_compute", lambda name, settings: calls.append(settings) or
                        ("<p>", np.zeros((2, 2, 3), np.uint8) + len(calls)))
    first = sample_answers.sample_answer("wide", (1, "a"))
    assert sample_answers.sample_answer("wide", (1, "a")) == first and len(calls) == 1  # not worked out again
    assert first[0] == "<p>" and first[1].endswith(".png")  # the picture as a static file
    for index in range(sample_answers.SAMPLE_ANSWERS):
        sample_answers.sample_answer("wide", (2, index))
    assert len(sample_answers._sample_answers) == sample_answers.SAMPLE_ANSWERS
    sample_answers.sample_answer("wide", (1, "a"))
    assert len(calls) == 2 + sample_answers.SAMPLE_ANSWERS, "the oldest answer should have gone"


def test_answers_by_name_and_settings_by_name_are_kept_too(fresh_state, monkeypatch):
    calls = []
    monkeypatch.setattr(sample_answers, "_compute",
                        lambda name, settings: calls.append(name) or {"facts": name, **settings})
    answer = sample_answers.sample_answer("tall", {"pt": 2, "t": 250})
    assert answer == {"facts": "tall", "pt": 2, "t": 250}
    assert sample_answers.sample_answer("tall", {"pt": 2, "t": 250}) == answer and calls == ["tall"]


@pytest.mark.parametrize("named", [False, True], ids=["tuple", "dict"])
def test_a_saved_answer_reads_back_the_same_and_saves_to_the_same_bytes(fresh_state, monkeypatch, named):
    def compute(name, settings):
        answer = small_answer(name, settings)
        return dict(zip(("reel", "filmstrip", "facts", "summary"), answer)) if named else answer

    monkeypatch.setattr(sample_answers, "_compute", compute)
    folder = fresh_state / "answers"
    written = sample_answers.save_shipped(folder)
    again = {path: path.read_bytes() for path in written}
    assert sample_answers.save_shipped(folder) == written
    assert all(path.read_bytes() == data for path, data in again.items()), "saving again changed the files"
    assert sorted(folder.iterdir()) == sorted(written)
    for name in SAMPLES:
        key, shipped = sample_answers.read_shipped(name, folder)
        assert key == sample_answers._key(name, sample_answers.default_settings())
        assert not answer_differences(shipped, compute(name, sample_answers.default_settings()))


def test_a_sample_s_old_pictures_go_when_its_answer_is_saved_again(fresh_state, monkeypatch):
    folder = fresh_state / "answers"
    for level in (10, 20):
        monkeypatch.setattr(sample_answers, "_compute",
                            lambda name, settings, level=level: (np.full((2, 2, 3), level, np.uint8),))
        sample_answers.save_shipped(folder)
    assert len(list(folder.glob("*.png"))) == len(SAMPLES)
    for name in SAMPLES:
        _, (picture,) = sample_answers.read_shipped(name, folder)
        assert np.asarray(Image.open(picture)).max() == 20


def test_one_command_writes_them(fresh_state, monkeypatch, capsys):
    from explainer import cli

    monkeypatch.setattr(sample_answers, "_compute", lambda name, settings: (np.zeros((2, 2, 3), np.uint8), name))
    assert cli.main(["sample-answers", "--dir", str(fresh_state / "answers"), "--json"]) == 0
    said = json.loads(capsys.readouterr().out)
    assert sorted(said["files"]) == sorted(str(path) for path in (fresh_state / "answers").iterdir())
    assert said["bytes"] == sum(path.stat().st_size for path in (fresh_state / "answers").iterdir())
    _, (picture, name) = sample_answers.read_shipped("tall", fresh_state / "answers")
    assert name == "tall" and picture.endswith(".png")


def test_each_visitor_gets_their_own_copy_of_an_answer_s_updates():
    """Gradio takes the value out of a component's update as it sends it: a kept answer must not lose it."""
    from explainer.page import views

    settings = views.clip_settings(views.DEFAULT_VIEW)
    first = sample_answers.sample_answer("wide", settings)
    assert first["window_start"]["value"] == 0
    first["window_start"].pop("value")  # what Gradio does to an update it sends
    again = sample_answers.sample_answer("wide", settings)
    assert again["window_start"]["value"] == 0 and again["window_start"] is not first["window_start"]
