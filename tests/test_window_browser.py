"""The reel's window in headless Chromium: the film reel shows the whole clip with the window marked, a click
on that timeline moves the window, and every section below it then shows other frames (compared as pixels);
a link with the window's start opens on it."""
import io
import shutil

import numpy as np
import pytest

pytestmark = pytest.mark.browser

playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright (python) is not installed")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None:
    pytest.skip("no chromium on PATH (Debian's chromium package drives these tests)", allow_module_level=True)

from PIL import Image  # noqa: E402
from test_browser import TIMEOUT_MS, click_picture, drawn, wait_drawn  # noqa: E402

# every view below the reel that shows the clip's frames, and how to tell it was drawn again
PICTURES = ["filmstrip", "cut-frame"]
FIGURES = ["amoeba-tube", "compress-latent", "compress-reels", "tubelet-volume", "crop-vs-native", "token-story",
           "noising"]


def shot(tab, elem_id: str) -> np.ndarray:
    """What a person sees of a view: its pixels."""
    target = tab.locator(f"#{elem_id} img").first if elem_id in PICTURES else tab.locator(f"#{elem_id}")
    target.scroll_into_view_if_needed()
    return np.asarray(Image.open(io.BytesIO(target.screenshot())).convert("RGB"), np.int16)


def facts(tab) -> str:
    return tab.inner_text("#facts")


def opened_on_the_sample(browser, address: str):
    tab = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    tab.goto(address)
    for elem_id in FIGURES:
        tab.locator(f"#{elem_id}").scroll_into_view_if_needed()
        wait_drawn(tab, elem_id, 1)
    tab.wait_for_selector("#timeline img", timeout=TIMEOUT_MS)
    return tab


def test_moving_the_window_redraws_every_section_below_with_other_frames(browser, url):
    tab = opened_on_the_sample(browser, url)
    assert "frames 0–15" in facts(tab)
    before = {elem_id: shot(tab, elem_id) for elem_id in PICTURES + FIGURES}
    draws = {elem_id: int(drawn(tab, elem_id)["draws"]) for elem_id in FIGURES}
    click_picture(tab, "timeline", 0.97, 0.5)  # near the end of the clip
    tab.wait_for_function("() => !document.querySelector('#facts').innerText.includes('frames 0–15')",
                          timeout=TIMEOUT_MS)
    for elem_id in FIGURES:
        tab.locator(f"#{elem_id}").scroll_into_view_if_needed()
        wait_drawn(tab, elem_id, draws[elem_id] + 1)
    tab.wait_for_timeout(500)
    assert "frames 32–47" in facts(tab)  # the sample's 48 frames: the last window that fits
    for elem_id in PICTURES + FIGURES:
        after = shot(tab, elem_id)
        assert after.std() > 5, f"{elem_id} is blank"
        same_size = after.shape == before[elem_id].shape
        changed = not same_size or np.abs(after - before[elem_id]).mean() > 0.5
        assert changed, f"{elem_id} shows the same pixels after the window moved"
    tab.context.close()


def test_a_link_with_the_window_s_start_opens_on_it(browser, url):
    tab = opened_on_the_sample(browser, url + "?sample=wide&window=20")
    assert "frames 20–35" in facts(tab)
    assert tab.input_value("#window-start input[type=number]") == "20"
    tab.click("#link-button")
    tab.wait_for_function("() => document.querySelector('#view-link textarea, #view-link input').value"
                          ".includes('window=20')", timeout=TIMEOUT_MS)
    tab.context.close()
