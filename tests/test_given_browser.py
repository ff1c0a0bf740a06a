"""Frames as the prompt, in headless Chromium: a photo uploaded switches "start from" to animate, and
animates from pure noise on the desktop and at a phone's width with the CPU throttled 4x; its given frames
are marked in the strips (the mark's colour at the frame's edge, not at a generated frame's), the player
says what was given, the PSNR plot says a photo has no real frames to compare with, and both pictures
have pixels at every step. Screenshots of section 6 go to tests/screenshots/."""
import base64
import contextlib
import io
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.browser

pytest.importorskip("playwright.sync_api", reason="playwright (python) is not installed")

from test_browser import (  # noqa: E402  (skips the module where there is no Chromium)
    SHOTS,
    TIMEOUT_MS,
    assert_in_step,
    denoise_state,
    desktop_page,
    start_denoising,
    throttled,
    upload,
    wait_done,
)

from explainer.figures.denoising import GIVEN_BORDER, GIVEN_MARK  # noqa: E402
from explainer.figures.style import hex_rgb  # noqa: E402

STEPS = 12  # enough steps to watch the run stream in, few enough for a throttled phone


@pytest.fixture(scope="module")
def photo(tmp_path_factory) -> Path:
    """A still photo: a frame of the wide sample at its full size, as a PNG."""
    from PIL import Image

    from explainer import page
    from explainer.clip import load_clip

    frame = load_clip(page.sample_file("wide"), frames=2, max_side=640).frames[0]
    path = tmp_path_factory.mktemp("photo") / "photo.png"
    Image.fromarray(frame).save(path)
    return path


def strip_pixels(tab, kind: str) -> np.ndarray:
    """The strip picture the player shows for `kind` (x_t or x0_hat), decoded: (H, W, 3) uint8."""
    from PIL import Image

    uri = tab.evaluate(f"() => document.querySelector('#denoising .fr-dn-{kind} img').src")
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))).convert("RGB"))


def edge_colour(strip: np.ndarray, head: dict, frame: int) -> np.ndarray:
    """The mean colour of the left border of working frame `frame` in a strip at the working size."""
    row, col = divmod(frame, head["columns"])
    top, left = row * (head["height"] + head["gap"]), col * (head["width"] + head["gap"])
    middle = slice(top + head["height"] // 3, top + 2 * head["height"] // 3)
    return strip[middle, left:left + GIVEN_BORDER].reshape(-1, 3).astype(np.float32).mean(0)


def assert_given_marked(tab, head: dict, tolerance: float = 40):
    """The given frames carry the mark's colour at their edge in the x̂0 strip (each channel within
    `tolerance` levels); a generated frame does not."""
    strip = strip_pixels(tab, "x0_hat")
    mark = np.asarray(hex_rgb(GIVEN_MARK), np.float32)
    for frame in head["given"]:
        assert np.abs(edge_colour(strip, head, frame) - mark).max() < tolerance, f"frame {frame} is not marked"
    generated = next(f for f in range(head["frames"]) if f not in head["given"])
    assert np.abs(edge_colour(strip, head, generated) - mark).max() > tolerance, "a generated frame is marked"


def set_steps(tab, steps: int):
    field = tab.locator("#steps input[type=number]")
    field.fill(str(steps))
    field.press("Enter")


def animate_the_photo(tab, photo: Path, shot: Path):
    """Upload the photo, check "start from" switched to animate, run it with the CPU throttled 4x, and check
    the pictures at every step, the marks, the player's words and the plot."""
    upload(tab, photo)
    tab.wait_for_function("() => [...document.querySelectorAll('#start input')].some(i => i.checked && "
                          "i.closest('label').innerText.includes('animate'))", timeout=TIMEOUT_MS)
    set_steps(tab, STEPS)
    session = throttled(tab, 4)
    try:
        start_denoising(tab)
        tab.wait_for_function("() => Number(document.querySelector('#denoising [data-steps]').dataset.steps) >= 3",
                              timeout=TIMEOUT_MS)
        assert_in_step(tab)
        wait_done(tab, timeout=240_000)
        for step in range(STEPS):  # scrubbed back through the run: no step is ever blank
            tab.locator("#denoising .fr-dn-slider").fill(str(step))
            tab.wait_for_function(f"() => document.querySelector('#denoising [data-steps]').dataset.step === "
                                  f"'{step}'")
            state = assert_in_step(tab)
            assert state["title"] == str(step)
    finally:
        session.send("Emulation.setCPUThrottlingRate", {"rate": 1})
    assert denoise_state(tab)["steps"] == str(STEPS)
    head = given_head(tab)
    assert head["given"] == [0, 1] and head["frames"] == 16 and head["compared"] is False
    assert_given_marked(tab, head)
    said = tab.inner_text("#denoising .fr-dn-given")
    assert "animate the first frames" in said and "frames 1-2 given, 14 generated from noise" in said
    assert "no real frames" in tab.inner_text("#denoising .fr-dn-curve")
    assert "animate the first frames" in tab.inner_text("#run-facts")
    tab.locator("#denoising").scroll_into_view_if_needed()
    tab.wait_for_timeout(500)
    SHOTS.mkdir(exist_ok=True)
    tab.locator("#denoising").screenshot(path=str(shot))


def given_head(tab) -> dict:
    """The reel's layout and its given frames, as the player received them in the run's first line."""
    return tab.evaluate("() => JSON.parse(document.querySelector('#denoising [data-steps]').dataset.head)")


@contextlib.contextmanager
def phone_tab(browser, url):
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=1, is_mobile=True,
                                  has_touch=True)
    phone = context.new_page()
    phone.errors = []
    phone.on("pageerror", lambda error: phone.errors.append(str(error)))
    try:
        phone.goto(url)
        phone.wait_for_function("() => (document.querySelector('#facts') || {innerText: ''}).innerText"
                                ".includes('640')", timeout=TIMEOUT_MS)
        yield phone
    finally:
        context.close()


def test_a_photo_animates_from_noise_with_its_given_frames_marked_on_the_desktop(browser, url, photo):
    tab = desktop_page(browser, url)
    try:
        tab.wait_for_function("() => (document.querySelector('#facts') || {innerText: ''}).innerText"
                              ".includes('640')", timeout=TIMEOUT_MS)
        animate_the_photo(tab, photo, SHOTS / "given_animate_desktop.png")
        assert not tab.errors
    finally:
        tab.context.close()


def test_a_real_clip_extended_from_noise_shows_its_scene_and_scores_the_generated_frames(browser, url,
                                                                                         real_clip_path):
    """The test set's real clip, its first half given (*extend forwards*), run from noise: both pictures
    have pixels, the player says what was given, the run is compared with the real frames, and the given
    frames are marked in the strip."""
    tab = desktop_page(browser, url)
    try:
        upload(tab, real_clip_path)
        tab.wait_for_function("() => (document.querySelector('#facts') || {innerText: ''}).innerText"
                              ".includes('320')", timeout=TIMEOUT_MS)
        tab.locator("#start label", has_text="extend forwards").first.click()
        set_steps(tab, STEPS)
        start_denoising(tab)
        wait_done(tab, timeout=240_000)
        assert_in_step(tab)
        tab.locator("#denoising").scroll_into_view_if_needed()
        tab.wait_for_timeout(500)
        SHOTS.mkdir(exist_ok=True)
        tab.locator("#denoising").screenshot(path=str(SHOTS / "given_extend_realshort_desktop.png"))
        head = given_head(tab)
        assert head["given"] == list(range(8)) and head["frames"] == 16 and head["compared"] is True
        assert "frames 1-8 given, 8 generated from noise" in tab.inner_text("#denoising .fr-dn-given")
        assert_given_marked(tab, head, tolerance=50)  # the JPEG strip bleeds a bright frame into its border
        assert not tab.errors
    finally:
        tab.context.close()


def test_a_photo_animates_from_noise_on_a_slow_phone(browser, url, photo):
    with phone_tab(browser, url) as phone:
        animate_the_photo(phone, photo, SHOTS / "given_animate_phone_390.png")
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390 + 1
        assert not phone.errors
