"""Section 8, the two claims on the page: the words follow the numbers, the figures show the reels with the
crop's border, the budget is said before a run, and a bundled sample answers from its shipped files."""
import json

import numpy as np
import pytest

from explainer import claims, figures
from explainer.dit import build_dit
from explainer.errors import ExplainerError
from explainer.page import show_claims as page_claims


def crop_summary(native_sides, cropped_sides, note=None) -> dict:
    return {"native": {"centre_psnr_db": 20.0, "sides_psnr_db": native_sides},
            "cropped": {"centre_psnr_db": 19.5, "sides_psnr_db": cropped_sides},
            "box": {"top": 0, "left": 16, "height": 32, "width": 32}, "note": note}


def test_the_crop_verdict_follows_the_numbers():
    assert "worse" in page_claims.crop_words(crop_summary(20.0, 15.5)) and "4.5 dB" in \
        page_claims.crop_words(crop_summary(20.0, 15.5))
    assert "does not show" in page_claims.crop_words(crop_summary(15.0, 18.0))
    assert "about equally" in page_claims.crop_words(crop_summary(18.0, 17.6))
    assert "square" in page_claims.crop_words(crop_summary(None, None, note=claims.NOTHING_TO_LOSE))


def test_the_flicker_verdict_follows_the_numbers():
    def words(clip, together, apart):
        return page_claims.flicker_words({"clip_change": clip, "spacetime_change": together,
                                          "frames_apart_change": apart})

    assert words(5.0, 6.0, 9.0).startswith("Frames denoised apart flicker")
    assert "no flicker shows" in words(5.0, 9.0, 6.0)
    assert "about as much" in words(5.0, 6.0, 6.2)
    assert "nothing to flicker" in words(0.2, 0.4, 0.5)


def test_the_budget_is_said_before_a_run_and_bad_settings_are_readable():
    assert "3 fits of 30 s" in page_claims.budget_words(30) and "2 fits" in page_claims.budget_words(30, square=True)
    for seconds, seed in ((0, 0), (999, 0), (30, -1), ("many", 0)):
        with pytest.raises(ExplainerError):
            page_claims.claim_settings(seconds, seed)


@pytest.fixture(scope="module")
def measured():
    """Both claims measured for real, with a tiny model and a few steps, on a wide clip with a moving square."""
    frames = np.zeros((4, 16, 48, 3), np.uint8)
    for k in range(4):
        frames[k, 4:12, 4 + 6 * k:12 + 6 * k] = (230, 120, 40)
    model = build_dit("tiny", seed=3)
    *_, result = claims.claim_steps(frames, model, steps=2, sampling_steps=3, seed=1)
    return result


def test_the_page_shows_both_claims_with_the_crop_border(measured):
    shown = page_claims.shown_claims(measured)
    crop = json.loads(shown.crop)
    box = measured.summary["crop"]["box"]
    outlines = crop["layout"]["shapes"]
    assert len(outlines) == 3 and all(o["line"]["dash"] == "dash" for o in outlines)
    assert outlines[0]["x0"] == box["left"] - 0.5 and outlines[0]["x1"] == box["left"] + box["width"] - 0.5
    captions = [a["text"] for a in crop["layout"]["annotations"]]
    assert f"{measured.summary['crop']['cropped']['sides_psnr_db']:.1f} dB" in captions[2]
    assert figures.frame_count(shown.crop) == figures.frame_count(shown.flicker) == 4
    changes = json.loads(shown.changes)
    assert [trace["y"] for trace in changes["data"]] == [measured.summary["frames"]["per_frame"][name]
                                                         for name in ("clip", "spacetime", "frames_apart")]
    assert "Crop vs native." in shown.verdict and "Frames apart vs spacetime." in shown.verdict
    for fig in (shown.crop, shown.flicker, shown.changes):
        assert figures.json_bytes(fig) <= figures.MAX_FIGURE_BYTES


def test_shipped_answers_read_back_as_they_were_saved(measured, tmp_path):
    claims.save_claims(measured, tmp_path / "wide")
    back = claims.load_claims(tmp_path / "wide")
    assert back.summary == json.loads(json.dumps(measured.summary))
    for name, reel in measured.reels.items():  # the pictures come back as shown: JPEG at quality 92
        assert back.reels[name].shape == reel.shape, name
        error = np.abs(back.reels[name].astype(np.float32) - reel).mean()
        assert error < 6, (name, error)
    assert np.abs(back.reels["clip"].astype(np.float32) - back.reels["native"]).mean() > 6  # rows kept apart


@pytest.mark.parametrize("name", ["wide", "tall", "square"])
def test_each_bundled_sample_answers_at_once_from_its_shipped_files(name):
    from explainer.assets import sample_file

    updates = list(page_claims.test_claims(str(sample_file(name)), page_claims.CLAIM_SECONDS,
                                           page_claims.SHIPPED_SEED))
    assert len(updates) == 1 and isinstance(updates[0], page_claims.ClaimsShown)  # no fit ran
    summary = updates[0].summary
    assert summary["steps"] == 300 and summary["clip"] == sample_file(name).name
    assert "300 training steps per copy" in updates[0].verdict  # the page says how the answer was made
    assert (summary["crop"]["note"] is not None) == (name == "square")
