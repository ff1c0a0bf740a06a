"""The page as an API (gradio_client against an in-process server): a sample and a real clip are
dissected, the amoeba and noise follow their settings, and a bad upload is a readable error after which
the page keeps working. The DiT denoises a clip file (the same seed, the same run; SDEdit from the clip),
fits a copy of itself to a clip, and any figure leaves as a standalone HTML file."""
import json
import re
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

gradio_client = pytest.importorskip("gradio_client")

from servers import running_page  # noqa: E402

from explainer import figures, page  # noqa: E402

FIGURES = ["tube", "compress_latent", "compress_reels", "volume", "token", "sequence", "crop", "noise", "packing"]


@pytest.fixture(scope="module")
def url():
    with running_page() as address:
        yield address


@pytest.fixture()
def client(url):
    return gradio_client.Client(url, verbose=False)


def named(outputs) -> dict:
    """The outputs of /dissect by the names the page gives them (`film_reel_section.CLIP_VIEWS`, less the
    session's clip, which is not part of the API), under the short names these tests use."""
    from explainer.page.sections.film_reel_section import CLIP_VIEWS

    short = {"reel_facts": "facts", "reel_summary": "summary", "cut_frame": "cut", "patch_stats": "stats",
             "token_story": "token", "token_sequence": "sequence"}
    names = [short.get(name, name) for name in CLIP_VIEWS if name != "reel"]
    assert len(outputs) == len(names)
    return dict(zip(names, outputs))


def check_figures(result: dict):
    for name in FIGURES:
        payload = json.loads(result[name])
        assert payload["layout"]["height"] > 0, name
        assert figures.json_bytes(result[name]) <= figures.MAX_FIGURE_BYTES, name
    assert figures.frame_count(result["tube"]) == len(result["summary"]["frame_indices"]) > 1
    assert figures.frame_count(result["noise"]) > 1


def test_the_api_names_every_event(client):
    endpoints = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    for name in ("/dissect", "/sample_wide", "/sample_tall", "/sample_square", "/patches", "/amoeba",
                 "/place", "/noise", "/load_sample", "/denoise", "/attention", "/pick_patch", "/fit",
                 "/claims", "/figure_html", "/compress"):
        assert name in endpoints, name
    # parameters carry the names a person reads in the API docs, not generic ones
    exported = [p["parameter_name"] for p in endpoints["/figure_html"]["parameters"]]
    assert exported[:2] == ["which", "centre_x"] and "schedule" in exported and "token" in exported
    # and so do the outputs: every one carries its component's label, none a generic "value_N"
    for name, endpoint in endpoints.items():
        for output in endpoint["returns"]:
            assert output["label"] and not re.fullmatch(r"value_\d+", output["label"]), (name, output)
    assert [r["label"] for r in endpoints["/noise"]["returns"]] == ["noising"]
    for name in ("/patches", "/sample_wide"):
        assert [p["parameter_name"] for p in endpoints[name]["parameters"]][:3] == ["pt", "ph", "pw"], name


def test_the_attention_controls_follow_the_shipped_prior():
    from explainer.page.show_run import first_attention_choices
    from explainer.weights import load_prior

    config = load_prior("cpu")[0].config
    choices = first_attention_choices()
    assert (choices.blocks, choices.heads, choices.block) == (config.depth, config.heads, config.depth)
    # the first sample (640 x 360) at the working size: 8 x 9 x 16 tokens, starting at the centre one
    assert (choices.tokens, choices.token) == (1152, (4 * 9 + 4) * 16 + 8)


def test_dissect_a_bundled_sample(client):
    result = named(client.predict(gradio_client.handle_file(page.sample_file("tall")), api_name="/dissect"))
    summary = result["summary"]
    assert summary["source"]["width"] < summary["source"]["height"]  # a tall clip stays tall
    assert summary["working_size"][0] == 16 and summary["tokens"] > 0
    assert "working size" in result["facts"]
    check_figures(result)


def test_a_sample_button(client):
    result = named(client.predict(api_name="/sample_square"))
    assert "sample_square.webm" in result["facts"]
    assert result["summary"]["working_size"][1] == result["summary"]["working_size"][2]
    check_figures(result)


def test_dissect_a_real_clip(client, real_clip_path):
    result = named(client.predict(gradio_client.handle_file(str(real_clip_path)), api_name="/dissect"))
    source = result["summary"]["source"]
    assert (source["width"], source["height"]) == (320, 240)
    assert result["summary"]["working_size"] == [16, 96, 128]
    check_figures(result)
    # the clip packed beside the samples and a still: itself first, with its own tokens, whole in one sequence
    numbers = json.loads(result["packing"])["layout"]["meta"]["numbers"]
    mine = numbers["clips"][0]
    assert mine["name"] == real_clip_path.name and mine["tokens"] == result["summary"]["tokens"] == 8 * 12 * 16
    assert [clip["name"] for clip in numbers["clips"][1:]] == ["wide", "tall", "square", "still image"]
    assert numbers["packed"]["padding"] < numbers["bucketed"]["padding"]


def test_a_bad_upload_is_a_readable_error_and_the_page_keeps_working(client, tmp_path):
    bad = tmp_path / "holiday.mp4"
    bad.write_bytes(b"this is not a video at all" * 40)
    with pytest.raises(gradio_client.exceptions.AppError) as caught:
        client.predict(gradio_client.handle_file(str(bad)), api_name="/dissect")
    message = str(caught.value)
    assert "holiday.mp4" in message and "Traceback" not in message
    result = named(client.predict(gradio_client.handle_file(page.sample_file("wide")), api_name="/dissect"))
    check_figures(result)


def test_patch_size_refits_the_clip(client):
    client.predict(gradio_client.handle_file(page.sample_file("wide")), api_name="/dissect")
    result = named(client.predict(4, 16, 16, api_name="/patches"))
    summary = result["summary"]
    assert summary["patch"] == [4, 16, 16]
    frames, height, width = summary["working_size"]
    assert height % 16 == 0 and width % 16 == 0
    assert summary["tokens"] == frames // 4 * height // 16 * width // 16


def test_the_amoeba_and_the_noise_follow_their_settings(client):
    client.predict(gradio_client.handle_file(page.sample_file("wide")), api_name="/dissect")
    cut, tube, volume, stats, token, sequence = client.predict(0.2, 0.3, 0.15, 7, api_name="/amoeba")
    assert json.loads(token)["layout"]["meta"]["token"] != json.loads(sequence)["layout"]["meta"]["tokens"]
    first = json.loads(volume)["layout"]["meta"]["token"]
    _, _, moved, *_ = client.predict(0.8, 0.7, 0.15, 7, api_name="/amoeba")
    assert json.loads(moved)["layout"]["meta"]["token"] != first
    noise = json.loads(client.predict("cosine", 999, api_name="/noise"))
    assert noise["layout"]["meta"]["schedule"] == "cosine" and 999 in noise["layout"]["meta"]["timesteps"]
    assert noise["layout"]["title"]["text"].startswith("t = 999")


def test_the_amoeba_without_a_clip_asks_for_one(url):
    fresh = gradio_client.Client(url, verbose=False)
    with pytest.raises(gradio_client.exceptions.AppError, match="Open a clip first"):
        fresh.predict(0.5, 0.5, 0.3, 0, api_name="/amoeba")


def compressed(outputs) -> dict:
    """The outputs of /compress by name."""
    names = ["latent", "reels", "stats", "data", "times"]
    assert len(outputs) == len(names)
    return dict(zip(names, outputs))


def test_compress_a_bundled_sample_and_a_still(client, clip_files):
    sample = compressed(client.predict(gradio_client.handle_file(page.sample_file("tall")), api_name="/compress"))
    assert figures.frame_count(sample["latent"]) == 8 and figures.frame_count(sample["reels"]) == 16
    assert sample["data"]["latent_shape"] == [8, 32, 18, 4] and sample["data"]["values_per_latent"] == 24
    assert sample["data"]["whole_clip"]["width"] == 270 and "tokens of latent" in sample["stats"]
    assert "encode" in sample["times"] and "decode" in sample["times"]
    _, photo = clip_files
    still = compressed(client.predict(gradio_client.handle_file(str(photo)), api_name="/compress"))
    assert figures.frame_count(still["latent"]) == 1 and figures.frame_count(still["reels"]) == 1
    assert still["data"]["latent_shape"][0] == 1 and "your still" in still["stats"]
    # the tubelet the DiT's tokens are counted with is the page's setting
    coarse = compressed(client.predict(gradio_client.handle_file(str(photo)), pt=1, ph=16, pw=16, api_name="/compress"))
    assert coarse["data"]["whole_clip"]["patch"] == [1, 16, 16]
    assert coarse["data"]["whole_clip"]["pixel_tokens"] < still["data"]["whole_clip"]["pixel_tokens"]


def test_compress_a_bad_file_is_a_readable_error(client, tmp_path):
    bad = tmp_path / "holiday.mp4"
    bad.write_bytes(b"this is not a video at all" * 40)
    with pytest.raises(gradio_client.exceptions.AppError) as caught:
        client.predict(gradio_client.handle_file(str(bad)), api_name="/compress")
    assert "holiday.mp4" in str(caught.value) and "Traceback" not in str(caught.value)


def test_share_says_clearly_when_there_is_no_link(monkeypatch, capsys, tmp_path):
    import gradio as gr

    from explainer import serve

    # main() points Gradio's cache at its temp root through the environment: undone after this test, so
    # the server the other tests share keeps accepting uploads
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "gradio"))
    monkeypatch.setenv("FILM_REEL_TEMP", str(tmp_path))

    def fake_launch(self, **options):
        assert options["share"] is True and options["server_name"] == "127.0.0.1"
        self.share_url, self.local_url = None, "http://127.0.0.1:7860/"

    monkeypatch.setattr(gr.Blocks, "launch", fake_launch)
    monkeypatch.setattr(gr.Blocks, "block_thread", lambda self: None)
    serve.main(["--share"])
    assert "No public link" in capsys.readouterr().out


# --- 6-8. denoising, fitting, taking it with you -------------------------------------------------------

def denoised(outputs) -> dict:
    """The outputs of /denoise by name (the session's run is state, not part of the API)."""
    names = ["trajectory", "chips", "summary", "step", "block", "token", "attention", "token_frame", "video"]
    assert len(outputs) == len(names)
    return dict(zip(names, outputs))


def steps_of(text: str) -> list[dict]:
    """The steps in the player's text (one JSON line per step, between a line about the run and one when done)."""
    lines = [json.loads(line) for line in text.splitlines()]
    assert lines[0]["kind"] == "run" and lines[-1]["kind"] == "done"
    return lines[1:-1]


def video_frames(path) -> tuple[str, int]:
    """The codec of a video file and the frames it really holds (decoded, not the header's claim)."""
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return stream.codec_context.name, sum(1 for _ in container.decode(stream))


def test_the_tokens_section_shows_the_trained_embedding():
    from explainer.page.show_clip import Amoeba
    from explainer.weights import load_prior

    prior, _ = load_prior("cpu")
    weight, bias = page.tubelet_embedding((2, 8, 8))
    assert np.array_equal(weight, prior.embed.weight.numpy()) and np.array_equal(bias, prior.embed.bias.numpy())
    assert "trained" in page.embedding_name((2, 8, 8)) and "untrained" in page.embedding_name((1, 4, 4))
    story = json.loads(page.show_tubelet(page.load_clip(page.sample_file("wide")), Amoeba())[2])
    assert any("trained linear layer" in (a.get("text") or "") for a in story["layout"]["annotations"])


def test_denoise_returns_a_playable_video_and_the_same_seed_gives_the_same_run(client):
    clip = gradio_client.handle_file(page.sample_file("wide"))
    first = denoised(client.predict(clip, "ddim", 8, 3, "noise", 0.6, api_name="/denoise"))
    again = denoised(client.predict(clip, "ddim", 8, 3, "noise", 0.6, api_name="/denoise"))
    other = denoised(client.predict(clip, "ddim", 8, 4, "noise", 0.6, api_name="/denoise"))
    summary = first["summary"]
    assert summary["model_calls"] == 8 and summary["timesteps"][0] == 999 and summary["tokens"] == 1152
    assert steps_of(first["trajectory"]) == steps_of(again["trajectory"])  # every x_t and x̂0, pixel for pixel
    assert summary["x0_hat_psnr_db"] == again["summary"]["x0_hat_psnr_db"]
    assert summary["x0_hat_psnr_db"] != other["summary"]["x0_hat_psnr_db"]
    lines = steps_of(first["trajectory"])
    assert [line["index"] for line in lines] == list(range(8)) and all(line["says"] for line in lines)
    codec, frames = video_frames(first["video"])
    assert first["video"].endswith(".webm") and codec == "vp9" and frames > 8  # a step a frame, then a hold
    attention = json.loads(first["attention"])
    assert attention["layout"]["meta"]["kind"] == "attention" and first["token"] < summary["tokens"]
    # this session's run stays on the server: its attention elsewhere, and a figure to take away
    figure, _ = client.predict(8, 1, "2", 0, api_name="/attention")
    assert json.loads(figure)["layout"]["meta"]["query"] == [0, 0, 0]
    path = client.predict("denoising", api_name="/figure_html")  # the figure by its short name
    text = open(path, encoding="utf-8").read()
    # the player itself with this run's text (tests/test_export.py opens such a file in Chromium)
    assert text.startswith("<!DOCTYPE html>") and "<title>Film Reel" in text and 'id="fr-run"' in text
    assert '\\"index\\":7,' in text  # the run's last step, as JSON inside a JSON string
    assert '<script src="http' not in text and len(text) > 3_000_000  # plotly.js inside: it works offline


@pytest.fixture(scope="module")
def long_720p_clip(tmp_path_factory) -> Path:
    """About 16 s of 1280x720 footage: Big Buck Bunny (from `python -m explainer data`) played three times."""
    from explainer.data import cache_dir

    source = cache_dir() / "bigbuckbunny.mp4"
    if not source.exists() or shutil.which("ffmpeg") is None:
        pytest.skip("needs `python -m explainer data` and ffmpeg")
    path = tmp_path_factory.mktemp("long") / "bunny_720p.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-stream_loop", "2", "-i", str(source), "-an", "-c:v", "libx264",
                    "-preset", "ultrafast", "-crf", "28", str(path)], check=True, timeout=120)
    return path


def test_denoise_streams_its_steps_through_the_api(client, long_720p_clip):
    """/denoise on a 16 s 720p clip: updates arrive while the run is computed, the first long before the last."""
    started = time.perf_counter()
    job = client.submit(gradio_client.handle_file(str(long_720p_clip)), api_name="/denoise")
    first = None
    while not job.done():
        if first is None and job.outputs():
            first = time.perf_counter() - started
        time.sleep(0.01)
    total = time.perf_counter() - started
    updates = job.outputs()
    print(f"\n/denoise, 16 s 720p clip: first update after {first:.2f} s, {len(updates)} updates in {total:.2f} s")
    result = denoised(job.result())
    steps = steps_of(result["trajectory"])
    assert len(steps) == result["summary"]["model_calls"] == 20  # the default: the clip noised to strength 0.4
    assert len(updates) > len(steps) and first < total / 2
    growing = [len(update[0]) for update in updates[:-1]]  # the player's text grows step by step
    assert growing == sorted(growing) and len(set(growing)) > len(steps) // 2


def test_sdedit_starts_from_the_clip_and_keeps_it(client):
    clip = gradio_client.handle_file(page.sample_file("wide"))
    kept = denoised(client.predict(clip, "ddpm", 20, 0, "clip", 0.3, api_name="/denoise"))["summary"]
    assert kept["start"] == "clip" and kept["timesteps"][0] == 299 and kept["model_calls"] == 6
    assert kept["x0_hat_psnr_db"][-1] > 18  # the clip, lightly noised and cleaned, is still the clip
    assert "your clip, strength 0.3" in denoised(client.predict(clip, "ddim", 10, 0, "clip", 0.3,
                                                                api_name="/denoise"))["chips"]


def test_fit_returns_both_psnrs(client):
    loss, regeneration, chips, summary, choice = client.predict(
        gradio_client.handle_file(page.sample_file("wide")), 10, 0, api_name="/fit")
    assert summary["steps"] > 0 and summary["working_size"] == [16, 40, 72]  # the fit works at 72 px
    for key in ("prior_psnr_db", "fitted_psnr_db"):
        assert 3 < summary[key] < 60, key
    meta = json.loads(regeneration)["layout"]["meta"]
    assert meta["fitted_psnr_db"] == summary["fitted_psnr_db"] and json.loads(loss)["layout"]["meta"]["done"]
    assert choice == page.MODELS[1]
    # this session now denoises with its fitted copy, at the fit's working size
    run = denoised(client.predict(gradio_client.handle_file(page.sample_file("wide")), "ddim", 5, 0, "noise", 0.6,
                                  0.0, page.MODELS[1], api_name="/denoise"))["summary"]
    assert run["model"].startswith("fitted") and run["working_size"] == [16, 40, 72]


def test_bad_denoising_inputs_are_readable_errors(url):
    fresh = gradio_client.Client(url, verbose=False)
    clip = gradio_client.handle_file(page.sample_file("square"))
    for args, expected in [((clip, "ddim", 10, 0, "clip", 1.5), "maximum"),
                           ((clip, "ddim", 10, 0, "noise", 0.6, 0.0, page.MODELS[1]), "Fit the DiT"),
                           ((None, "ddim", 10, 0, "noise", 0.6), "Open a clip first")]:
        with pytest.raises(gradio_client.exceptions.AppError, match=expected) as caught:
            fresh.predict(*args, api_name="/denoise")
        assert "Traceback" not in str(caught.value)
    with pytest.raises(gradio_client.exceptions.AppError, match="Press Denoise first"):
        fresh.predict(10, 1, "mean", 0, api_name="/attention")


def test_fit_longer_than_the_cap_is_refused_with_a_readable_message():
    import gradio as gr

    from explainer import page

    with pytest.raises(gr.Error) as raised:
        next(page.fit_to_clip("any-clip.webm", seconds=page.FIT_MAX_SECONDS + 1, seed=0))
    assert f"1 to {page.FIT_MAX_SECONDS} seconds" in str(raised.value)


def test_a_newer_press_stops_the_older_run_at_its_next_step():
    from explainer.page import show_run, tickets

    lanes = show_run.lanes_for(page.sample_file("square"), show_run.sampler_settings("ddim", 10, 0, "noise", 1, 0),
                                None, None, None)
    ticket = tickets.new_ticket("a visitor")
    seen = []
    for update in show_run.stream_denoising(lanes, "square", tickets.still_newest("a visitor", ticket)):
        seen.append(update)
        if len(seen) == 4:  # the run's line and three steps: then the visitor presses Denoise again
            tickets.new_ticket("a visitor")
    assert len(seen) == 4 and [line.get("index") for line in seen[1:]] == [0, 1, 2]
    assert tickets.still_newest("someone else", None)()  # an API call has no ticket and always runs


def test_the_narration_comes_from_the_runs_own_numbers():
    from explainer.page import show_run

    lanes = show_run.lanes_for(page.sample_file("wide"), show_run.sampler_settings("ddim", 20, 0, "noise", 1, 0),
                                None, None, None, "steps")
    lines = [line for line in show_run.stream_denoising(lanes, "wide") if isinstance(line, dict) and "says" in line]
    assert {line["lane"] for line in lines} == {0, 1}
    assert [line["index"] for line in lines if line["lane"] == 1] == list(range(10))  # 20 vs 10 steps
    sentences = [line["says"] for line in lines if line["lane"] == 0]
    assert len(set(sentences)) == len(sentences)  # no two steps say the same
    for line in lines:
        assert f"Step {line['index'] + 1} of {line['total']} (t = {line['t']})" in line["says"]
        assert f"{1 / (1 + line['snr']):.0%} noise" in line["says"]
    assert "grey levels" in sentences[5] and "coarse layout" in sentences[5]


# --- frames as the prompt: given frames, the rest from pure noise ---------------------------------------

def test_a_mode_through_the_api_keeps_its_given_frames_and_names_the_mode(client):
    clip = gradio_client.handle_file(page.sample_file("wide"))
    run = denoised(client.predict(clip, "ddim", 4, 0, "extend", 0.6, api_name="/denoise"))
    summary = run["summary"]
    assert summary["given"] == "extend" and summary["start"] == "noise"
    assert summary["given_frames"] == list(range(8)) and summary["generated_frames"] == 8
    assert "extend forwards" in run["chips"] and "frames 1-8 given, 8 generated from noise" in run["chips"]
    head, *steps = [json.loads(line) for line in run["trajectory"].splitlines()]
    assert head["given"] == list(range(8)) and head["compared"] is True
    assert "frames 1-8 given" in steps[0]["says"] and all(step["psnr"] is not None for step in steps[:-1])


def test_a_mode_keeps_the_given_frames_pixel_for_pixel_at_every_step():
    from explainer.page import show_run
    from explainer.pixels import to_pixels

    lanes = show_run.lanes_for(page.sample_file("square"), show_run.sampler_settings("ddim", 5, 1, "connect"),
                               None, None, None)
    *lines, run = show_run.stream_denoising(lanes, "square", video=False)
    given = lines[0]["given"]
    clip = lanes[0].frames
    assert given == [0, 1, clip.shape[0] - 2, clip.shape[0] - 1] and run.summary["given"] == "connect"
    for step in range(len(run.timesteps)):  # what the DiT saw and what it guessed: the clip's own frames
        assert np.array_equal(run.x0_hat[step][given], clip[given])
        assert np.array_equal(to_pixels(run.x_t[step][given]), clip[given])
    generated = [f for f in range(clip.shape[0]) if f not in given]
    assert not np.array_equal(run.x0_hat[-1][generated], clip[generated])


def test_a_still_photo_animates_and_cannot_be_connected(client, tmp_path):
    from PIL import Image

    from explainer.clip import load_clip

    photo = tmp_path / "photo.png"
    Image.fromarray(load_clip(page.sample_file("wide"), frames=2).frames[0]).save(photo)
    for mode in ("connect", "extend", "extend-back"):
        with pytest.raises(gradio_client.exceptions.AppError, match="a still photo can only be animated") as caught:
            client.predict(gradio_client.handle_file(str(photo)), "ddim", 4, 0, mode, 0.6, api_name="/denoise")
        assert "Traceback" not in str(caught.value)
    run = denoised(client.predict(gradio_client.handle_file(str(photo)), "ddim", 4, 0, "animate", 0.6,
                                  api_name="/denoise"))
    summary = run["summary"]
    assert summary["working_size"][0] == 16 and summary["given_frames"] == [0, 1] and summary["generated_frames"] == 14
    assert summary["x0_hat_psnr_db"] is None and "no real frames" in run["chips"]
    head, *steps = [json.loads(line) for line in run["trajectory"].splitlines()]
    assert head["compared"] is False and all(step.get("psnr") is None for step in steps)


def test_every_start_has_a_name_on_screen_a_reason_to_be_first_and_a_link():
    from explainer.given import GIVEN
    from explainer.page import show_run, views
    from explainer.trajectory import STARTS

    assert set(show_run.START_LABELS) == set(STARTS) | set(GIVEN) == set(show_run.FIRST_RUN_WHY)
    assert views.view_from_query({"start": "animate"})[0]["start"] == "animate"
    assert show_run.sampler_settings(start="extend-back").given == "extend-back"
    assert show_run.sampler_settings(start="clip").given is None
    assert show_run.first_run_note() == show_run.FIRST_RUN_WHY[show_run.DENOISE["start"]]
    assert show_run.frame_ranges([0, 1, 14, 15]) == "1-2 and 15-16"
