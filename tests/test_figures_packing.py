"""Patch n' Pack on the page: the numbers worked out by hand, first-fit decreasing packs whole clips within
the budget, the attention mask is block diagonal, and the figure draws them within the JSON budget."""
import base64
import json

import numpy as np
import pytest

from explainer import figures
from explainer.figures.packing import first_fit_decreasing, mask_cells
from explainer.patches import PatchGrid, fit_size

PATCH = (2, 8, 8)


def page_clips(height=720, width=1280):
    """A visitor's clip at the page's working size (16 frames, longer side 128), then the four samples."""
    size = fit_size(height, width, 128, 8, 8)
    return [("your clip", PatchGrid(16, *size, PATCH)), *figures.sample_grids(PATCH)]


def decode(value) -> np.ndarray:
    """A Plotly JSON array: a plain list, or a base64 typed array."""
    if isinstance(value, dict) and "bdata" in value:
        array = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
        shape = value.get("shape")
        if shape is not None:
            array = array.reshape([int(n) for n in shape.split(",")] if isinstance(shape, str) else shape)
        return array
    return np.asarray(value)


# --- the numbers --------------------------------------------------------------------------------------

def test_a_16_9_clip_by_hand():
    numbers = figures.packing_numbers([("wide", PatchGrid(16, 72, 128, PATCH))])
    clip = numbers["clips"][0]
    assert clip["tokens"] == 8 * 9 * 16 == 1152 and clip["grid"] == [8, 9, 16]
    assert clip["crop_share_lost"] == pytest.approx(7 / 16)  # the centre square keeps 72/128 = 9/16
    assert clip["crop_pixels_lost"] == 16 * (72 * 128 - 72 * 72)
    assert numbers["packed"] == dict(sequences=1, slots=2048, padding=2048 - 1152, padding_share=896 / 2048)
    assert numbers["bucketed"]["padding"] == 896


def test_the_samples_at_the_working_size():
    clips = dict(figures.sample_grids(PATCH))
    assert [(grid.frames, grid.height, grid.width) for grid in clips.values()] == [
        (16, 72, 128), (16, 128, 72), (16, 128, 128), (2, 72, 128)]  # the still's one frame fills a tubelet
    assert [grid.tokens for grid in clips.values()] == [1152, 1152, 2048, 144]


def test_the_page_numbers_by_hand():
    numbers = figures.packing_numbers(page_clips())
    assert numbers["tokens"] == 3 * 1152 + 2048 + 144
    # longest first: the square fills a sequence; three 1,152-token clips cannot share one; the still
    # joins the first of them (the visitor's)
    assert [sequence["names"] for sequence in numbers["sequences"]] == [
        ["square"], ["your clip", "still image"], ["wide"], ["tall"]]
    assert numbers["packed"]["sequences"] == 4 and numbers["packed"]["padding"] == 4 * 2048 - 5648
    assert numbers["bucketed"]["sequences"] == 5 and numbers["bucketed"]["padding"] == 5 * 2048 - 5648
    crop = numbers["square_crop"]
    lost = 3 * 16 * 72 * 56 + 2 * 72 * 56  # each 16:9 or 9:16 frame loses a 72 x 56 strip; the square none
    assert crop["pixels_lost"] == lost and crop["pixels"] == 3 * 16 * 72 * 128 + 16 * 128 * 128 + 2 * 72 * 128
    assert crop["share_lost"] == pytest.approx(lost / crop["pixels"])
    assert [clip["crop_share_lost"] for clip in numbers["clips"]] == pytest.approx([7 / 16] * 3 + [0, 7 / 16])


def test_first_fit_decreasing_by_hand():
    # longest first, each into the first sequence with room
    assert first_fit_decreasing([5, 4, 3, 3, 2, 1], 8) == [[0, 2], [1, 3, 5], [4]]
    assert first_fit_decreasing([3, 9, 3], 8) == [[1], [0, 2]]  # the 9 is over the budget: alone


@pytest.mark.parametrize("seed", range(20))
def test_packing_keeps_clips_whole_and_within_the_budget(seed):
    rng = np.random.default_rng(seed)
    budget = int(rng.integers(8, 64))
    lengths = [int(n) for n in rng.integers(1, budget + 10, int(rng.integers(1, 14)))]
    packed = first_fit_decreasing(lengths, budget)
    assert sorted(item for sequence in packed for item in sequence) == list(range(len(lengths)))  # each once
    for sequence in packed:
        used = sum(lengths[item] for item in sequence)
        assert used <= budget or len(sequence) == 1  # only a clip over the budget overflows, on its own
    for item, length in enumerate(lengths):
        if length > budget:
            assert [item] in packed


def test_a_clip_over_the_budget_gets_a_sequence_of_its_own():
    clips = page_clips(720, 1280)[1:] + [("big", PatchGrid(16, 128, 224, PATCH))]  # 8 x 16 x 28 = 3,584
    numbers = figures.packing_numbers(clips)
    big = numbers["clips"][-1]
    assert big["tokens"] == 3584 and big["over_budget"]
    alone = numbers["sequences"][big["sequence"]]
    assert alone["names"] == ["big"] and alone["length"] == 3584 and alone["padding"] == 0
    assert not any(clip["over_budget"] for clip in numbers["clips"][:-1])


def test_packing_numbers_refuses_nonsense():
    with pytest.raises(ValueError):
        figures.packing_numbers([])
    with pytest.raises(ValueError):
        figures.packing_numbers(page_clips(), budget=0)


# --- the mask -----------------------------------------------------------------------------------------

def test_the_drawn_mask_cell_by_cell_is_the_block_diagonal_mask():
    torch = pytest.importorskip("torch")
    from explainer.bench import block_diagonal_mask

    lengths = [5, 3, 4]
    starts = np.cumsum([0, *lengths])
    expected = np.zeros((12, 12), bool)
    for start, end in zip(starts[:-1], starts[1:]):
        expected[start:end, start:end] = True
    assert np.array_equal(block_diagonal_mask(lengths).numpy(), expected)
    drawn = mask_cells(lengths, sum(lengths), 1)  # one cell a token pair: a clip's number where attention goes
    assert np.array_equal(drawn < len(lengths), expected)
    grids = [grid for _, grid in figures.sample_grids((2, 8, 8), frames=4, max_side=32)]
    lengths = [grid.tokens for grid in grids]
    drawn = mask_cells(lengths, sum(lengths), 1)
    assert torch.equal(torch.from_numpy(drawn < len(lengths)), block_diagonal_mask(lengths))


def test_mask_cells_by_hand():
    cells = mask_cells([32, 16], 64, 16)  # 2 clips: 0, 1; padding 2; masked 3
    assert cells.tolist() == [[0, 0, 3, 2], [0, 0, 3, 2], [3, 3, 1, 2], [2, 2, 2, 2]]


# --- the figure ---------------------------------------------------------------------------------------

def test_figure_draws_the_packing_within_the_budget():
    clips = page_clips()
    fig = figures.packing(clips)
    text = figures.to_json(fig)
    assert figures.json_bytes(text) <= figures.MAX_FIGURE_BYTES
    payload = json.loads(text)
    layout, data = payload["layout"], payload["data"]
    assert layout["height"] > 0 and layout["meta"]["kind"] == "packing"
    bars = [trace for trace in data if trace["type"] == "bar"]
    assert [trace["name"] for trace in bars] == ["square", "your clip", "still image", "wide", "tall", "padding"]
    heatmaps = [trace for trace in data if trace["type"] == "heatmap"]
    assert len(heatmaps) == 1 and heatmaps[0]["name"] == "attention mask"
    # the visitor's sequence by default: the visitor's clip and the still, then padding, 16 tokens a cell
    assert layout["meta"]["sequence"] == 1 and layout["meta"]["cell"] == 16
    assert np.array_equal(decode(heatmaps[0]["z"]), mask_cells([1152, 144], 2048, 16))
    # each strip is its sequence's clips end to end, then its padding
    padding = bars[-1]
    assert list(decode(padding["x"])) == [752, 896, 896] and list(decode(padding["base"])) == [1296, 1152, 1152]
    numbers = figures.packing_numbers(clips)
    assert layout["meta"]["numbers"]["packed"]["padding"] == numbers["packed"]["padding"]
    shown = " ".join(note["text"] for note in layout["annotations"])
    assert "2,544" in shown and "4,592" in shown and "28%" in shown  # the numbers on screen
    assert "phone" in layout["meta"]  # the strips, the mask and the numbers stack on a phone


def test_figure_marks_a_clip_over_the_budget_and_shows_any_sequence():
    clips = [("big", PatchGrid(16, 128, 224, PATCH)), *figures.sample_grids(PATCH)]
    payload = json.loads(figures.to_json(figures.packing(clips, sequence=2)))
    big = next(trace for trace in payload["data"] if trace.get("name") == "big")
    assert "over the budget" in big["hovertemplate"]
    assert payload["layout"]["meta"]["sequence"] == 2
    with pytest.raises(IndexError):
        figures.packing(clips, sequence=9)


def test_a_long_file_name_is_drawn_short():
    name = "a_very_long_holiday_video_name_2024_final.webm"
    payload = json.loads(figures.to_json(figures.packing([(name, PatchGrid(16, 72, 128, PATCH))])))
    drawn = payload["data"][0]["name"]
    assert len(drawn) <= 24 and drawn.endswith("nal.webm") and "…" in drawn
    assert payload["layout"]["meta"]["numbers"]["clips"][0]["name"] == name  # the numbers keep it whole
