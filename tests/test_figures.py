"""The figures: what they draw is the clip's own pixels, animations carry their frames, and every figure
the page sends stays within the JSON budget."""
import base64
import json

import cv2
import numpy as np
import pytest

from explainer import figures
from explainer.patches import PatchGrid, amoeba_mask, amoeba_tokens, patchify, square_crop_vs_native

T, H, W = 16, 72, 128


def synthetic_clip(frames=T, height=H, width=W, seed=0) -> np.ndarray:
    """Smooth colour gradients with a bright square moving across: every pixel's colour is known."""
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:height, 0:width]
    clip = np.zeros((frames, height, width, 3), np.uint8)
    for t in range(frames):
        clip[t, ..., 0] = (xs * 255 // max(1, width - 1))
        clip[t, ..., 1] = (ys * 255 // max(1, height - 1))
        clip[t, ..., 2] = 40 + 10 * t
        left = (t * 5) % max(1, width - 10)
        clip[t, 20:30, left:left + 10] = rng.integers(0, 256, 3)
    return clip


def decode(value):
    """A Plotly JSON array: a plain list, or a base64 typed array {"dtype", "bdata"(, "shape")}."""
    if isinstance(value, dict) and "bdata" in value:
        array = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
        if "shape" in value:
            shape = value["shape"]
            array = array.reshape([int(n) for n in shape.split(",")] if isinstance(shape, str) else shape)
        return array
    return np.asarray(value)


def palette_in(payload) -> np.ndarray:
    """The palette a figure sends as its colour axis, (k, 3)."""
    scale = payload["layout"]["coloraxis"]["colorscale"]
    return np.array([[int(c) for c in colour[4:-1].split(",")] for _, colour in scale])


def image_of(uri: str) -> np.ndarray:
    """The picture inside a data: URI."""
    data = base64.b64decode(uri.split(",", 1)[1])
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)[..., ::-1]


def on_screen(payload) -> list[str]:
    """Every piece of text a figure can show: titles, captions, hover templates, trace text."""
    found = []
    if isinstance(payload, dict):
        for key, value in payload.items():
            if key in ("text", "hovertemplate") and isinstance(value, str):
                found.append(value)
            elif key == "text" and isinstance(value, list):
                found += [str(item) for item in value]
            else:
                found += on_screen(value)
    elif isinstance(payload, list):
        for item in payload:
            found += on_screen(item)
    return found


def assert_calls_the_index_a_token(payload):
    texts = on_screen(payload)
    assert any("token" in text for text in texts)
    assert not [text for text in texts if "patch #" in text or "tubelet #" in text]


# --- colours ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", [0, 1])
def test_palette_keeps_real_colours(seed):
    from explainer.scenes import make_clip

    colours = make_clip(16, 72, 128, seed=seed).reshape(-1, 3)  # a whole clip, 147k pixels
    index, palette = figures.palette_of(colours)
    assert index.dtype == np.uint8 and index.shape == (len(colours),)
    assert palette.dtype == np.uint8 and palette.shape[1] == 3 and len(palette) <= 256
    assert np.array_equal(np.unique(index), np.arange(len(palette)))  # every palette colour is used
    error = np.abs(palette[index].astype(int) - colours.astype(int))
    assert error.mean() < 3 and np.percentile(error, 99) < 16


@pytest.mark.parametrize("count", [1, 4, 256])
def test_palette_of_at_most_256_colours_is_exact(count):
    rng = np.random.default_rng(count)
    distinct = np.unique(rng.integers(0, 256, (count, 3), dtype=np.uint8), axis=0)
    colours = distinct[rng.integers(0, len(distinct), 20000)]
    index, palette = figures.palette_of(colours)
    assert np.array_equal(palette[index], colours)
    assert len(palette) == len(np.unique(colours, axis=0))


def test_palette_scale_puts_each_index_on_its_colour():
    palette = np.array([[1, 2, 3], [200, 100, 0], [9, 9, 9]], np.uint8)
    scale = figures.palette_scale(palette)
    assert [stop for stop, _ in scale] == [0.0, 0.5, 1.0]
    assert scale[1][1] == "rgb(200,100,0)"


# --- 1. the film reel ----------------------------------------------------------------------------------

def test_filmstrip_holds_every_frame_unchanged():
    clip = synthetic_clip()
    reel = figures.filmstrip(clip, [f"{t}" for t in range(T)])
    assert reel.dtype == np.uint8 and reel.ndim == 3
    for frame in (clip[0], clip[-1]):  # each frame appears somewhere, pixel for pixel
        found = cv2.matchTemplate(reel, frame, cv2.TM_SQDIFF)
        row, col = np.unravel_index(found.argmin(), found.shape)
        assert np.array_equal(reel[row:row + H, col:col + W], frame)


def test_amoeba_overlay_keeps_the_cut_and_dims_the_rest():
    clip = synthetic_clip()
    mask = amoeba_mask(H, W, (0.5, 0.5), 0.3, seed=1)
    overlay = figures.amoeba_overlay(clip[0], mask)
    scale = figures.overlay_scale(H, W)
    assert overlay.shape == (H * scale, W * scale, 3)
    centre = (H // 2 * scale + scale // 2, W // 2 * scale + scale // 2)
    assert np.array_equal(overlay[centre], clip[0, H // 2, W // 2])
    assert overlay[1, 1].sum() < clip[0, 0, 0].sum() + 1  # the corner lies outside: dimmed


# --- 2. the amoeba tube --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tube():
    clip = synthetic_clip()
    mask = amoeba_mask(H, W, (0.45, 0.55), 0.3, seed=3)
    fig = figures.amoeba_tube(clip, mask, [f"{t / 12:.2f}s" for t in range(T)])
    return clip, mask, json.loads(figures.to_json(fig))


def test_tube_has_one_piece_and_one_animation_frame_per_video_frame(tube):
    _, _, payload = tube
    pieces = [trace for trace in payload["data"] if trace["type"] == "mesh3d"]
    assert len(pieces) == T
    frames = payload["frames"]
    assert len(frames) == T
    for k, frame in enumerate(frames):  # frame k shows pieces 0..k: the stack grows
        assert [part["visible"] for part in frame["data"]] == [n <= k for n in range(T)]
    assert payload["layout"]["meta"]["autoplay"] is True
    assert len(payload["layout"]["sliders"][0]["steps"]) == T
    assert payload["layout"]["height"] > 0


def test_tube_pieces_carry_the_clips_real_colours(tube):
    clip, mask, payload = tube
    palette = palette_in(payload)
    stride = payload["layout"]["meta"]["pixel_stride"]
    for number in (0, T // 2, T - 1):
        piece = payload["data"][number]
        x, z = decode(piece["x"]), decode(piece["z"])
        i, k = decode(piece["i"]), decode(piece["k"])  # opposite corners of each pixel's square
        colour_index = decode(piece["intensity"])
        assert np.allclose(decode(piece["y"]), number)
        # the centre of each square face -> the pixel it stands for
        cx = (x[i] + x[k]) / 2
        cz = (z[i] + z[k]) / 2
        rows = np.clip(np.floor(H - cz).astype(int), 0, H - 1)
        cols = np.clip(np.floor(cx).astype(int), 0, W - 1)
        if stride == 1:
            assert mask[rows, cols].all()
        drawn = palette[colour_index].astype(int)
        truth = clip[number, rows, cols].astype(int)
        assert np.abs(drawn - truth).mean() < 4 * stride


def test_tube_thins_pixels_to_stay_within_its_budget():
    clip = synthetic_clip()
    mask = np.ones((H, W), bool)  # an amoeba as big as the frame
    payload = json.loads(figures.to_json(figures.amoeba_tube(clip, mask, budget=6000)))
    faces = sum(len(decode(trace["i"])) for trace in payload["data"] if trace["type"] == "mesh3d")
    assert faces <= 2 * 6000
    assert payload["layout"]["meta"]["pixel_stride"] > 1


def test_tube_keeps_one_pixel_of_a_sliver_thinner_than_its_lattice():
    clip = synthetic_clip()
    mask = np.zeros((H, W), bool)
    mask[0] = True  # one row of pixels: with stride 2 the lattice passes through rows 1, 3, ...
    payload = json.loads(figures.to_json(figures.amoeba_tube(clip, mask, budget=600)))
    assert payload["layout"]["meta"]["pixel_stride"] == 2
    palette = palette_in(payload)
    for number in (0, T - 1):
        piece = payload["data"][number]
        assert len(decode(piece["i"])) == 2  # one square, two faces
        assert np.abs(palette[decode(piece["intensity"])[0]].astype(int) - clip[number, 0, W // 2]).max() <= 8


def test_tube_refuses_an_empty_amoeba():
    with pytest.raises(ValueError):
        figures.amoeba_tube(synthetic_clip(), np.zeros((H, W), bool))


# --- 3. spacetime patches ------------------------------------------------------------------------------

def test_tubelet_volume_pulls_out_the_highlighted_tubelets_pixels():
    clip = synthetic_clip()
    grid = PatchGrid(T, H, W, (2, 8, 8))
    mask = amoeba_mask(H, W, (0.5, 0.5), 0.3)
    token = grid.token_at(4, 4, 8)
    payload = json.loads(figures.to_json(figures.tubelet_volume(clip, grid.patch, mask, token)))
    names = [trace.get("name", "") for trace in payload["data"]]
    assert "highlighted tubelet" in names and "the amoeba's tubelets" in names
    assert_calls_the_index_a_token(payload)
    assert f"token #{token}" in payload["data"][names.index("highlighted tubelet")]["hovertemplate"]
    palette = palette_in(payload)
    tubelet = clip[grid.pixels(token)]
    for layer in range(2):
        card = payload["data"][names.index(f"tubelet frame {layer}")]
        colours = palette[decode(card["intensity"])[::2]]  # two faces per pixel, in pixel order
        assert np.abs(colours.astype(int) - tubelet[layer].reshape(-1, 3).astype(int)).mean() < 4
    box = payload["data"][names.index("highlighted tubelet")]
    x, y, z = decode(box["x"]), decode(box["y"]), decode(box["z"])
    assert (x.min(), x.max()) == (64, 72) and (y.min(), y.max()) == (8, 10) and (z.min(), z.max()) == (32, 40)


def test_crop_vs_native_reports_what_the_crop_keeps():
    clip = synthetic_clip()
    payload = json.loads(figures.to_json(figures.crop_vs_native(clip[0], T, (2, 8, 8))))
    facts = square_crop_vs_native(H, W, T, (2, 8, 8))
    meta = payload["layout"]["meta"]
    assert meta["area_kept"] == pytest.approx(facts["area_kept"])
    assert meta["native_tokens"] == 1152 and meta["crop_tokens"] == facts["crop_tokens"]
    pictures = [image_of(trace["source"]) for trace in payload["data"] if trace["type"] == "image"]
    assert len(pictures) == 2
    # outside the square crop the left picture is dimmed; the right one keeps the frame's colours
    assert pictures[0][:, :20].mean() < 0.5 * pictures[1][:, :20].mean()
    assert "phone" in meta  # a wide frame stacks its two pictures on a phone


# --- 4. tokens -----------------------------------------------------------------------------------------

def test_token_story_is_the_linear_layer_plus_position():
    clip = synthetic_clip()
    grid = PatchGrid(T, H, W, (2, 8, 8))
    token = 300
    rng = np.random.default_rng(0)
    weight = rng.normal(size=(24, grid.token_dim)).astype(np.float32)
    bias = rng.normal(size=24).astype(np.float32)
    position = np.sin(np.arange(24, dtype=np.float32))
    tubelet = clip[grid.pixels(token)]
    payload = json.loads(figures.to_json(figures.token_story(tubelet, weight, bias, position, (8, 8, 8),
                                                             token, grid.index(token))))
    heatmaps = [decode(trace["z"]) for trace in payload["data"] if trace["type"] == "heatmap"]
    vector = patchify(clip.astype(np.float32) / 127.5 - 1, grid.patch)[token]  # the DiT's own cut
    rgb = np.stack([row[0] for row in heatmaps[:3]], axis=1).reshape(-1)
    assert np.allclose(rgb, vector, atol=1e-6)
    embedded, pos, total = (row[0] for row in heatmaps[3:])
    assert np.allclose(embedded, weight @ vector + bias, atol=1e-4)
    assert np.allclose(pos, position) and np.allclose(total, embedded + pos, atol=1e-5)
    assert_calls_the_index_a_token(payload)
    assert f"token #{token}" in payload["layout"]["annotations"][0]["text"]


def test_token_sequence_reads_time_major():
    grid = PatchGrid(T, H, W, (2, 8, 8))
    clip = synthetic_clip()
    mask = amoeba_mask(H, W, (0.3, 0.3), 0.2)
    amoeba = amoeba_tokens(grid, mask)
    colours = figures.token_colours(clip, grid.patch)
    assert colours.shape == (grid.tokens, 3)
    expected = patchify(clip.astype(np.float32), grid.patch)[5].reshape(-1, 3).mean(0)
    assert np.abs(colours[5].astype(float) - expected).max() <= 0.5
    payload = json.loads(figures.to_json(figures.token_sequence(grid.shape, colours, amoeba, 7)))
    heatmaps = [decode(trace["z"])[0] for trace in payload["data"] if trace["type"] == "heatmap"]
    time_row, amoeba_row = heatmaps[1], heatmaps[2]
    assert np.all(np.diff(time_row) >= 0) and time_row[-1] == grid.shape[0] - 1
    assert np.array_equal(np.flatnonzero(~np.isnan(amoeba_row)), np.sort(amoeba))
    grid_trace = payload["data"][0]
    assert len(decode(grid_trace["x"])) == grid.tokens
    assert_calls_the_index_a_token(payload)


# --- 5. noising ----------------------------------------------------------------------------------------

def linear_alpha_bar(steps=1000):
    return np.cumprod(1 - np.linspace(1e-4, 0.02, steps))


def test_noising_animates_t_with_the_marker_following():
    strips = [np.full((20, 40, 3), value, np.uint8) for value in (0, 100, 200)]
    timesteps = [0, 500, 999]
    payload = json.loads(figures.to_json(figures.noising(strips, timesteps, linear_alpha_bar(), 1)))
    assert len(payload["frames"]) == 3
    for frame, t in zip(payload["frames"], timesteps):
        image, line, dots = frame["data"]
        assert line["x"] == [t, t]
        assert dots["y"][0] == pytest.approx(linear_alpha_bar()[t])
        assert abs(int(image_of(image["source"]).mean()) - [0, 100, 200][timesteps.index(t)]) < 3
    assert payload["layout"]["sliders"][0]["active"] == 1


def test_frames_grid_lays_frames_out_in_columns():
    clip = synthetic_clip()[:4]
    grid = figures.frames_grid(clip, columns=2, gap=3)
    assert grid.shape == (2 * H + 3, 2 * W + 3, 3)
    assert np.array_equal(grid[H + 3:, W + 3:], clip[3])


def test_sweep_contains_the_chosen_timestep():
    sweep, at = figures.sweep_timesteps(1000, 333)
    assert sweep[0] == 0 and sweep[-1] == 999 and sweep[at] == 333 and sweep == sorted(sweep)


# --- the budget of what the page sends -------------------------------------------------------------

def _page_figures(path, **settings):
    from explainer import page

    *_, outputs = page.dissect(path, **settings)  # the last answer is the complete one, by name
    return [value for value in outputs.values() if isinstance(value, str) and value.startswith("{")]


@pytest.mark.parametrize("sample", ["wide", "tall", "square"])
def test_every_figure_of_a_sample_fits_the_budget(sample):
    from explainer import page

    sent = _page_figures(page.sample_file(sample))
    assert len(sent) == 9  # sections 2-6: the compression's two and the packing figure among them
    for text in sent:
        payload = json.loads(text)
        assert figures.json_bytes(text) <= figures.MAX_FIGURE_BYTES, payload["layout"]["meta"]["kind"]
        assert payload["layout"]["height"] > 0
        if "coloraxis" in payload["layout"]:  # WebGL colour maps hold at most 256 shades
            assert len(payload["layout"]["coloraxis"]["colorscale"]) <= 256


def test_the_smallest_tubelets_still_fit_the_budget():
    from explainer import page

    for text in _page_figures(page.sample_file("wide"), pt=1, ph=4, pw=4, size=0.6):
        assert figures.json_bytes(text) <= figures.MAX_FIGURE_BYTES, json.loads(text)["layout"]["meta"]["kind"]


def test_budget_on_a_real_clip(real_clip_path):
    for text in _page_figures(real_clip_path):
        assert figures.json_bytes(text) <= figures.MAX_FIGURE_BYTES


# --- 6. denoising --------------------------------------------------------------------------------------

def test_the_denoising_player_takes_its_colours_from_style():
    """No colour is named outside style: the page's scripts, its CSS and its theme name none, and the
    player reads style's colours as the CSS variables the page defines before its CSS."""
    import inspect
    import re

    from explainer.page import theme

    hex_colour = re.compile(r"#[0-9a-fA-F]{3}(?:[0-9a-fA-F]{3})?\b|rgba?\(")
    for name in ("denoise_player.js", "plotly_player.js", "accessibility.js", "page.css"):
        assert not hex_colour.search((theme.STATIC / name).read_text()), name
    assert not hex_colour.search(inspect.getsource(theme))
    read = set(re.findall(r"colour\('(\w+)'\)", theme.denoise_player_js()))
    assert {"amoeba", "compared", "patch", "ink", "grid", "muted", "paper", "font"} == read
    css = theme.page_css()
    assert css.index(":root") < css.index(".fr-denoise")  # the variables come first
    for name, colour in figures.style.CSS_COLOURS.items():
        assert f"--fr-{name}: {colour};" in css
    assert read - set(figures.style.CSS_COLOURS) == {"font"} and f"--fr-font: {figures.FONT};" in css


def test_attention_panels_show_every_time_slice_and_mark_the_token():
    rng = np.random.default_rng(0)
    weights = rng.random((8, 9, 16)).astype(np.float32)
    weights /= weights.sum()
    frames = synthetic_clip()[::2]
    fig = figures.attention_panels(frames, weights, (2, 8, 8), (3, 4, 5), "where it looks")
    payload = json.loads(figures.to_json(fig))
    heatmaps = [trace for trace in payload["data"] if trace["type"] == "heatmap"]
    assert len(heatmaps) == 8 and sum(trace["type"] == "image" for trace in payload["data"]) == 8
    for n, trace in enumerate(heatmaps):
        shown = decode(trace["customdata"]).reshape(9, 16, 2)
        assert np.allclose(shown[..., 1], weights[n])  # hover gives the weights themselves
        assert shown[0, 0, 0] == n * 9 * 16  # and the token numbers, time-major
        assert decode(trace["z"]).max() <= 1.0
    assert max(decode(trace["z"]).max() for trace in heatmaps) == pytest.approx(1.0)
    box = payload["layout"]["shapes"][0]
    assert (box["xref"], box["yref"]) == ("x4", "y4")  # the token's own slice is the fourth panel
    assert (box["x0"], box["x1"], box["y0"], box["y1"]) == (39.5, 47.5, 31.5, 39.5)
    shares = [float(a["text"].rsplit("·", 1)[1].strip(" %")) for a in payload["layout"]["annotations"]]
    assert sum(shares) == pytest.approx(100, abs=5)
    assert_calls_the_index_a_token(payload)
    assert figures.json_bytes(fig) <= figures.MAX_FIGURE_BYTES


def test_patch_picker_outlines_the_patch_in_pink():
    frame = np.zeros((72, 128, 3), np.uint8)
    picture = figures.patch_picker(frame, (2, 8, 8), (2, 5))
    scale = figures.overlay_scale(72, 128)
    assert picture.shape == (72 * scale, 128 * scale, 3)
    assert tuple(picture[2 * 8 * scale, 5 * 8 * scale + 4]) == figures.hex_rgb(figures.PATCH)


# --- 7. fitting --------------------------------------------------------------------------------------------

def test_loss_curve_smooths_and_says_how_far_the_budget_is_spent():
    losses = list(np.linspace(0.2, 0.1, 40))
    payload = json.loads(figures.to_json(figures.loss_curve(losses, 12.3, 60)))
    raw, average = payload["data"]
    assert len(decode(raw["y"])) == 40 and decode(average["y"])[0] == pytest.approx(0.2)
    assert "40 steps in 12 s of 60 s" in payload["layout"]["title"]["text"]
    assert payload["layout"]["yaxis"]["type"] == "log"
    assert figures.smooth([1.0, 1.0, 1.0])[-1] == pytest.approx(1.0)


def test_regeneration_plays_the_three_clips_side_by_side():
    clip = synthetic_clip(16, 32, 56)
    prior, fitted = np.zeros_like(clip), clip.copy()
    payload = json.loads(figures.to_json(figures.regeneration(clip, prior, fitted, 8.46, 14.1)))
    assert len(payload["frames"]) == 16 and all(len(frame["data"]) == 3 for frame in payload["frames"])
    texts = [a["text"] for a in payload["layout"]["annotations"]]
    assert "8.5 dB" in texts[1] and "14.1 dB" in texts[2]
    assert payload["layout"]["meta"]["fitted_psnr_db"] == 14.1
    assert figures.json_bytes(json.dumps(payload)) <= figures.MAX_FIGURE_BYTES


def test_a_50_step_denoising_run_of_the_sample_fits_the_budgets():
    """A 50-step run from pure noise on the default sample: what the live player receives (every frame of
    x_t and x̂0 at every step) stays within the run's byte budget, and so does the file section 9 exports of
    it (besides plotly.js); the attention views stay within a figure's."""
    from explainer import page
    from explainer.page import export, show_run, theme

    lanes = show_run.lanes_for(page.sample_file("wide"), show_run.sampler_settings("ddim", 50, 0, "noise", 1.0, 0),
                                None, None, None)
    *lines, done = show_run.stream_denoising(lanes, "sample_wide.webm")
    steps = [line for line in lines if "index" in line]
    assert len(steps) == 50 and [s["index"] for s in steps] == list(range(50))
    sent = sum(len(json.dumps(line)) for line in lines)
    print(f"\n50-step run on the wide sample: {sent / 1e6:.2f} MB sent to the player")
    assert sent <= show_run.RUN_BYTES + 20_000
    first = steps[0]
    assert first["x_t"].startswith("data:image/jpeg;base64,") and first["x0_hat"].startswith("data:image/jpeg;base64,")
    run = done
    assert run.player == "".join(json.dumps(line, separators=(",", ":")) + "\n" for line in lines)
    exported = export.player_html(run.player, "denoising")  # the player, the run's own text and plotly.js
    assert len(exported) <= theme.PLOTLY_JS.stat().st_size + 1.1 * len(run.player) + 100_000
    for head in ("mean", "3"):
        attention, picker = page.attention_view(run, 26, 4, head, 648)
        assert figures.json_bytes(attention) <= figures.MAX_FIGURE_BYTES and picker.ndim == 3


def test_reel_strip_lays_every_frame_in_time_order_on_film():
    clip = synthetic_clip()
    strip = figures.reel_strip(clip, columns=8, gap=2)
    assert strip.shape == (2 * H + 2, 8 * W + 7 * 2, 3)
    for index in (0, 7, 8, 15):
        top, left = (index // 8) * (H + 2), (index % 8) * (W + 2)
        assert np.array_equal(strip[top:top + H, left:left + W], clip[index])
    film = np.asarray(figures.hex_rgb(figures.FILM), np.uint8)
    assert (strip[H:H + 2] == film).all() and (strip[:, W:W + 2] == film).all()
