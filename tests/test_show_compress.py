"""The Compressed section's Gradio-free parts: what compression buys the DiT (tokens and attention, counted
by hand here), the latent's channels in false colour (one animation frame per latent frame, pictures that
show the latent, one colour range for all frames), the decoded reels and their error map, and the section's
views of a bundled sample and of a still photo."""
import base64
import io
import json

import numpy as np
import pytest
from PIL import Image

from explainer import figures
from explainer.compress import VAE_WEIGHTS
from explainer.figures import style
from explainer.page import show_clip, show_compress
from explainer.vae import VAEConfig

needs_weights = pytest.mark.skipif(not VAE_WEIGHTS.exists(), reason=f"no autoencoder weights at {VAE_WEIGHTS}")


def picture(uri: str) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))).convert("RGB"), np.int16)


def pictures_of(figure_json: str) -> list[list[np.ndarray]]:
    """Every frame's pictures (its traces' sources), frame by frame."""
    payload = json.loads(figure_json)
    return [[picture(trace["source"]) for trace in frame["data"]] for frame in payload["frames"]]


# --- what compression buys ----------------------------------------------------------------------------

def test_a_720p_clip_of_14_seconds_counts_its_tokens_from_pixels_and_from_the_latent():
    savings = show_compress.compression_savings(420, 720, 1280, (2, 8, 8))
    # pixels: 420/2 x 720/8 x 1280/8 tubelets; latent 210 x 180 x 320, cut the same: 105 x 23 (22.5 up) x 40
    assert savings["pixel_tokens"] == 210 * 90 * 160 == 3_024_000
    assert savings["latent"] == [210, 180, 320] and savings["latent_tokens"] == 105 * 23 * 40 == 96_600
    assert savings["tokens_fewer"] == pytest.approx(3_024_000 / 96_600, abs=0.01)
    assert savings["attention_cheaper"] == pytest.approx((3_024_000 / 96_600) ** 2, abs=0.1)  # about 980x


def test_a_still_is_one_frame_and_odd_sizes_round_up_to_whole_tubelets():
    still = show_compress.compression_savings(1, 48, 64, (2, 8, 8))
    assert still["pixel_tokens"] == 1 * 6 * 8 and still["latent"] == [1, 12, 16]
    assert still["latent_tokens"] == 1 * 2 * 2 and still["attention_cheaper"] == 144.0
    odd = show_compress.compression_savings(5, 30, 50, (4, 16, 16))
    assert odd["pixel_tokens"] == 2 * 2 * 4 and odd["latent"] == [3, 8, 13] and odd["latent_tokens"] == 1 * 1 * 1


def test_the_savings_follow_the_network_s_shape():
    wider = VAEConfig(space=8, time=4)
    savings = show_compress.compression_savings(16, 64, 64, (1, 1, 1), wider)
    assert savings["latent"] == [4, 8, 8] and savings["pixel_tokens"] == 16 * 64 * 64
    assert savings["tokens_fewer"] == 256 and show_compress.values_per_number(VAEConfig()) == 24


# --- the figures --------------------------------------------------------------------------------------

def test_the_colour_scale_runs_from_its_first_colour_to_its_last():
    shades = figures.scale_colours(np.array([0.0, 0.5, 1.0, 2.0]), style.VALUE_SCALE)
    assert shades[0].tolist() == list(style.hex_rgb(style.VALUE_SCALE[0][1]))
    assert shades[1].tolist() == list(style.hex_rgb(style.RAISED))  # 0 in the latent: the middle colour
    assert shades[2].tolist() == shades[3].tolist() == list(style.hex_rgb(style.VALUE_SCALE[-1][1]))


def test_the_error_map_is_dark_where_the_clips_agree_and_pale_where_they_do_not():
    clip = np.full((2, 8, 8, 3), 100, np.uint8)
    decoded = clip.copy()
    decoded[1, :4] = 250
    errors = figures.error_map(clip, decoded)
    assert errors.shape == (2, 8, 8, 3)
    assert (errors[0] == style.hex_rgb(style.FILM)).all() and (errors[1, 4:] == style.hex_rgb(style.FILM)).all()
    assert (errors[1, :4] == style.hex_rgb(style.ERROR_SCALE[-1][1])).all()


def made_up_latent(frames: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    latent = rng.normal(0, 1, (frames, 6, 10, 4)).astype(np.float32)
    latent[..., 2] *= 5  # a channel of a wider range
    return latent


@pytest.mark.parametrize("frames", [8, 1])
def test_the_latent_plays_one_frame_per_latent_frame_in_pictures_that_show_it(frames):
    latent = made_up_latent(frames)
    fig = figures.latent_channels(latent, [f"frame {k}" for k in range(frames)])
    text = figures.to_json(fig)
    shown = pictures_of(text)
    assert figures.frame_count(text) == frames and all(len(panels) == 4 for panels in shown)
    assert shown[0][0].shape[:2] == (6, 10)
    for panels in shown:
        for channel in panels:
            assert channel.std() > 10, "a channel's picture is blank"
    layout = json.loads(text)["layout"]
    assert bool(layout.get("sliders")) == (frames > 1)  # a still has nothing to play
    ranges = layout["meta"]["ranges"]  # one range a channel, the same for every frame
    assert ranges[2] > 3 * ranges[0]


def test_a_latent_value_of_zero_is_the_middle_colour_in_every_frame():
    latent = made_up_latent(2)
    latent[1] = 0.0
    shown = pictures_of(figures.to_json(figures.latent_channels(latent, ["a", "b"])))
    for channel in shown[1]:
        assert (channel == style.hex_rgb(style.RAISED)).all()


def test_the_decoded_reels_play_every_frame_with_their_scores():
    clip = np.random.default_rng(1).integers(0, 256, (4, 16, 24, 3), dtype=np.uint8)
    scores = dict(psnr_db=21.44, ssim=0.7312, baseline_psnr_db=20.1, baseline_ssim=0.7)
    text = figures.to_json(figures.decoded_reels(clip, clip // 2, scores, ["0s", "1s", "2s", "3s"]))
    payload = json.loads(text)
    assert figures.frame_count(text) == 4
    assert any("21.4 dB" in note["text"] and "SSIM 0.731" in note["text"] for note in payload["layout"]["annotations"])
    assert payload["layout"]["meta"]["baseline_psnr_db"] == 20.1


def test_each_latent_frame_says_which_frames_it_stands_for():
    times = [0.1 * n for n in range(16)]
    labels = show_compress.latent_labels(times, 16, 8)
    assert len(labels) == 8 and labels[0] == "0.00–0.10 s" and labels[-1] == "1.40–1.50 s"
    assert show_compress.latent_labels([0.0], 1, 1) == ["0.00 s"]


# --- the section's views ------------------------------------------------------------------------------

@needs_weights
def test_a_bundled_sample_s_views_come_back():
    from explainer.assets import sample_file

    clip = show_clip.open_clip(str(sample_file("wide")), (2, 8, 8))
    views = show_compress.show_compressed(clip)
    assert figures.frame_count(views["compress_latent"]) == 8 and figures.frame_count(views["compress_reels"]) == 16
    for name in ("compress_latent", "compress_reels"):
        assert figures.json_bytes(views[name]) <= figures.MAX_FIGURE_BYTES, name
    assert views["compress_data"]["latent_shape"] == [8, 18, 32, 4]
    assert views["compress_data"]["values_per_latent"] == 24
    whole = views["compress_data"]["whole_clip"]
    assert (whole["width"], whole["height"], whole["frames"]) == (640, 360, 48)
    assert f"{whole['pixel_tokens']:,}" in views["compress_stats"] and "18,432" in views["compress_stats"]
    assert "encode_s" not in views["compress_data"]  # measured anew on each server: not in a shipped answer
    times = show_compress.show_times(clip)
    assert "encode" in times and "decode" in times and " s<" in times


@needs_weights
def test_a_still_photo_s_views_come_back_with_one_latent_frame(clip_files):
    _, photo = clip_files
    clip = show_clip.open_clip(str(photo), (2, 8, 8))
    views = show_compress.show_compressed(clip)
    assert figures.frame_count(views["compress_latent"]) == 1 and figures.frame_count(views["compress_reels"]) == 1
    assert views["compress_data"]["latent_shape"][0] == 1
    assert "your still (64 × 48)" in views["compress_stats"]
    assert all(channel.std() > 0 for channel in pictures_of(views["compress_latent"])[0])


def test_without_weights_the_section_says_so_and_the_others_go_on(monkeypatch, tmp_path, clip_files):
    from explainer.page.sections import film_reel_section

    monkeypatch.setattr(show_compress, "VAE_WEIGHTS", tmp_path / "absent.safetensors")
    monkeypatch.setattr(show_compress, "_kept", type(show_compress._kept)())
    show_compress.compression_model.cache_clear()
    try:
        video, _ = clip_files
        answer = film_reel_section.clip_answer(str(video), "clip.mp4", show_clip.DEFAULTS)
    finally:
        show_compress.compression_model.cache_clear()
    assert answer["compress_latent"] is None and "no autoencoder weights" in answer["compress_stats"]
    assert figures.frame_count(answer["tube"]) > 1 and answer["volume"]


@needs_weights
def test_a_link_s_view_fills_the_section_too():
    from explainer.assets import sample_file
    from explainer.page import layout, views

    below = layout.open_view_below({"path": str(sample_file("square"))}, **views.clip_settings(views.DEFAULT_VIEW))
    assert figures.frame_count(below["compress_latent"]) == 8 and "tokens of latent" in below["compress_stats"]


@needs_weights
def test_the_section_s_figures_leave_as_files():
    from explainer.assets import sample_file
    from explainer.page import export

    clip = show_clip.open_clip(str(sample_file("wide")), (2, 8, 8))
    for title in ("the latent clip (3)", "decoded vs your clip (3)"):
        page = export.export_html(title, export.OnShow(reel={"path": str(sample_file("wide")), "clip": clip}))
        assert f"<title>Film Reel: {title[:-4]}</title>" in page and "Plotly.addFrames" in page  # it plays
