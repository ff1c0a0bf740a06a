"""Section 8, the three claims on the page: the words follow the numbers on every branch, the figures show
the reels with the crop's border and the next patch's slice borders, the budget is said before a run, and a
bundled sample answers from its shipped files."""
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


def way(across, within, psnr=(12.0, 12.0, 11.0, 11.0), calls=50, seen=(8, 8), seconds=4.0) -> dict:
    return {"across_slices": across, "within_slices": within, "per_frame_change": [across, within, across],
            "psnr_db": list(psnr), "dit_calls": calls, "slices_per_call": list(seen), "seconds": seconds}


def next_patch(together, apart, clip=(5.0, 5.0), together_psnr=(12.0, 12.0, 11.0, 11.0),
               apart_psnr=(12.0, 12.0, 11.0, 11.0)) -> dict:
    return {"frames_per_slice": 2, "given_slices": [0], "generated_frames": [2, 3, 4, 5],
            "clip": way(*clip), "all_at_once": way(*together, psnr=together_psnr, seen=(4, 4)),
            "one_after_another": way(*apart, psnr=apart_psnr, calls=150, seen=(2, 4), seconds=12.0), "note": None}


def test_the_next_patch_verdict_follows_the_numbers():
    words = page_claims.next_patch_words
    shows = words(next_patch(together=(6.0, 5.0), apart=(14.0, 5.0)))  # a seam of 9 levels against 1
    assert shows.startswith("Written one slice after another, the clip jumps at the slice borders")
    assert "does not show" not in shows
    assert "14.0 across vs 5.0 within" in shows and "6.0 across vs 5.0 within" in shows
    assert "150 DiT calls, each seeing 2 to 4 slices, in 12 s" in shows and "50 calls of 4 slices in 4 s" in shows
    reverse = words(next_patch(together=(14.0, 5.0), apart=(6.0, 5.0)))
    assert reverse.startswith("On this clip the claim does not show: one after another jumped less")
    even = words(next_patch(together=(6.0, 5.0), apart=(6.2, 5.0)))
    assert even.startswith("On this clip the claim does not show: both ways jump about as much")
    still = words(next_patch(together=(0.2, 0.1), apart=(0.3, 0.1), clip=(0.1, 0.1)))
    assert still.startswith("Neither way nor your clip changes") and "does not show" not in still
    assert "one time slice" in words({"note": claims.ONE_SLICE})
    assert "Not measured" in words(None)


def test_the_drift_words_follow_the_psnr_of_the_first_and_last_generated_slices():
    def drift(together, apart):
        return page_claims.drift_words(next_patch((6.0, 5.0), (6.0, 5.0), together_psnr=together, apart_psnr=apart))

    assert drift((12, 12, 11.5, 11.5), (12, 12, 9, 9)).startswith("One after another drifted further")
    assert "12.0 to 9.0 dB one after another" in drift((12, 12, 11.5, 11.5), (12, 12, 9, 9))
    assert drift((12, 12, 9, 9), (12, 12, 11.5, 11.5)).startswith("All at once drifted further")
    assert drift((12, 12, 11, 11), (12, 12, 10.5, 10.5)).startswith("Both drifted about as far")


def test_the_budget_is_said_before_a_run_and_bad_settings_are_readable():
    assert "3 fits of 30 s" in page_claims.budget_words(30) and "2 fits" in page_claims.budget_words(30, square=True)
    assert f"{page_claims.NEXT_PATCH_CALLS} DiT calls" in page_claims.budget_words(30)
    assert "about 155 s" in page_claims.budget_words(30)  # 3 x 30 + 15 + the next patch's 50
    for seconds, seed in ((0, 0), (999, 0), (30, -1), ("many", 0)):
        with pytest.raises(ExplainerError):
            page_claims.claim_settings(seconds, seed)


@pytest.fixture(scope="module")
def measured():
    """The claims measured for real, with a tiny model and a few steps, on a wide clip with a moving square."""
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
    assert "All at once vs the next patch." in shown.verdict
    assert page_claims.next_patch_words(measured.summary["next_patch"]) in shown.verdict
    for fig in (shown.crop, shown.flicker, shown.changes, shown.next_patch, shown.next_changes):
        assert figures.json_bytes(fig) <= figures.MAX_FIGURE_BYTES


def test_the_next_patch_figure_marks_every_slice_border_and_the_given_slice(measured):
    shown = page_claims.shown_claims(measured)
    figure = json.loads(shown.next_patch)
    assert len(figure["data"]) == 3 and all(trace["type"] == "image" for trace in figure["data"])
    boxes = figure["layout"]["shapes"]
    assert len(boxes) == 3 * 2  # 4 frames: two slices of two frames on each of three reels
    given = [box for box in boxes if box["line"]["width"] == 3]
    assert len(given) == 3 and all(box["x0"] == -0.5 and box["x1"] == 2 * 48 - 0.5 for box in given)
    captions = [a["text"] for a in figure["layout"]["annotations"]]
    summary = measured.summary["next_patch"]
    assert f"{summary['one_after_another']['dit_calls']} DiT calls" in captions[2]
    assert "all at once" in captions[1] and "one after another" in captions[2]
    changes = json.loads(shown.next_changes)
    assert [trace["y"] for trace in changes["data"]] == [
        summary["clip"]["per_frame_change"], summary["all_at_once"]["per_frame_change"],
        summary["one_after_another"]["per_frame_change"]]
    assert [trace["name"] for trace in changes["data"]] == ["your clip", "all at once", "one after another"]


def test_an_answer_without_the_next_patch_still_shows_the_other_claims(measured):
    older = claims.Claims({key: value for key, value in measured.summary.items() if key != "next_patch"},
                          {name: measured.reels[name] for name in claims.REELS[:5]})
    shown = page_claims.shown_claims(older)
    assert shown.next_patch is None and shown.next_changes is None and "Not measured" in shown.verdict


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
    assert summary["next_patch"]["same_noise"] is True and updates[0].next_patch is not None
    assert "All at once vs the next patch." in updates[0].verdict


def test_the_api_answers_a_bundled_sample_with_the_next_patch():
    """/claims with a clip file: the bare values, the next patch's two figures and its numbers among them."""
    from explainer.assets import sample_file
    from explainer.page.sections import claims_section

    *_, answer = claims_section.claims_on_clip(str(sample_file("wide")), page_claims.CLAIM_SECONDS,
                                               page_claims.SHIPPED_SEED)
    assert set(answer) == set(claims_section.CLAIM_VIEWS)
    assert json.loads(answer["next_patch_claim"])["layout"]["meta"]["kind"] == "next_patch_claim"
    assert json.loads(answer["next_patch_changes"])["layout"]["meta"]["kind"] == "next_patch_changes"
    next_patch = answer["claims_data"]["next_patch"]
    assert next_patch["all_at_once"]["dit_calls"] < next_patch["one_after_another"]["dit_calls"]
    assert len(next_patch["one_after_another"]["psnr_db"]) == len(next_patch["generated_frames"]) == 14
