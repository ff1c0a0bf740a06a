"""The Compressed section in headless Chromium, on the default sample at desktop width (1280 px) and on a
phone (390 px): the latent's four channels and the three reels (your clip, decoded, the error map) are drawn
with pixels (not blank), Play runs through the latent frames, the chips say what compression buys, and the
network's times arrive after the pictures. Screenshots of the section go to tests/screenshots/."""
import shutil

import pytest

pytestmark = pytest.mark.browser

playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright (python) is not installed")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None:
    pytest.skip("no chromium on PATH (Debian's chromium package drives these tests)", allow_module_level=True)

from test_browser import (  # noqa: E402
    SHOTS,
    TIMEOUT_MS,
    desktop_page,
    drawn,
    phone_page,
    picture_spread,
    player,
    screenshot_section,
    wait_drawn,
    wait_frame,
)

FIGURES = {"compress-latent": 4, "compress-reels": 3}  # each figure's pictures, one a panel


def open_section(tab):
    """Scroll to the section and wait for both figures and the times."""
    tab.locator("#compress-latent").scroll_into_view_if_needed(timeout=TIMEOUT_MS)
    for elem_id in FIGURES:
        tab.locator(f"#{elem_id}").scroll_into_view_if_needed()
        wait_drawn(tab, elem_id, 1)
    tab.wait_for_function("() => document.querySelector('#compress-times').innerText.includes('DECODE')"
                          " || document.querySelector('#compress-times').innerText.includes('decode')",
                          timeout=TIMEOUT_MS)
    tab.wait_for_timeout(400)


def assert_pictures_shown(tab):
    """Every panel of both figures has pixels: the error map may be dark where the decoder did well, so it
    needs only some spread; the others show the clip or its latent."""
    for elem_id, panels in FIGURES.items():
        tab.locator(f"#{elem_id}").scroll_into_view_if_needed()
        assert tab.locator(f"#{elem_id} .fr-plot .imagelayer image").count() == panels, elem_id
        for n in range(panels):
            spread = picture_spread(tab, f"#{elem_id} .fr-plot .imagelayer image >> nth={n}")
            least = 1.0 if (elem_id, n) == ("compress-reels", 2) else 6.0
            assert spread > least, f"{elem_id} picture {n} looks blank (spread {spread:.1f})"


def assert_words(tab):
    stats = tab.inner_text("#compress-stats")
    assert "tokens of pixels" in stats.lower() and "cheaper" in stats and "640 × 360" in stats, stats
    words = tab.locator("h2", has_text="Compressed").locator("xpath=..").inner_text()
    assert "reads pixel patches, not latent ones" in words and "24 pixel values" in words, words


def test_the_section_draws_and_plays_on_the_desktop(browser, url):
    tab = desktop_page(browser, url)
    try:
        open_section(tab)
        assert int(drawn(tab, "compress-latent")["frames"]) == 8 and int(drawn(tab, "compress-reels")["frames"]) == 16
        assert_pictures_shown(tab)
        assert_words(tab)
        screenshot_section(tab, "Compressed", SHOTS / "compressed_desktop.png")
        before = picture_spread(tab, "#compress-latent .fr-plot .imagelayer image >> nth=0")
        tab.locator("#compress-latent .updatemenu-button").first.click()  # ▶ Play
        wait_frame(tab, "compress-latent", "7")
        after = picture_spread(tab, "#compress-latent .fr-plot .imagelayer image >> nth=0")
        assert before != after, "the latent's first channel shows the same pixels at its last frame"
        assert not tab.errors
    finally:
        tab.context.close()


def test_the_section_fits_a_phone(browser, url):
    with phone_page(browser, url) as phone:
        open_section(phone)
        assert_pictures_shown(phone)
        overflow = phone.evaluate("document.documentElement.scrollWidth")
        assert overflow <= 390 + 1, f"the page is {overflow} px wide on a 390 px phone"
        for elem_id in FIGURES:
            box = phone.locator(f"#{elem_id} .fr-plot").bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= 391, (elem_id, box)
        # the phone's layout: the latent's channels two by two (two rows of panels)
        tops = phone.evaluate(f"""() => [...{player('compress-latent')}.querySelectorAll('.imagelayer image')]
            .map((image) => Math.round(image.getBoundingClientRect().top))""")
        assert len(set(tops)) == 2, tops
        screenshot_section(phone, "Compressed", SHOTS / "compressed_phone.png")
