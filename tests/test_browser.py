"""The page in headless Chromium: it loads on the bundled sample, the amoeba cut animates in the browser
(Plotly frames, Play to the last frame), a sample button and an uploaded real clip run, a bad upload is a
readable message after which the page keeps working, and it fits a phone. Screenshots of the desktop
(1280 px) and phone (390 px) page go to tests/screenshots/, with the measured click-to-animation time."""
import contextlib
import json
import shutil
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright (python) is not installed")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None:
    pytest.skip("no chromium on PATH (Debian's chromium package drives these tests)", allow_module_level=True)

from servers import running_page  # noqa: E402

from explainer import page as explainer_page  # noqa: E402

SHOTS = Path(__file__).resolve().parent / "screenshots"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--disable-quic", "--no-first-run"]
FIGURE_IDS = ["amoeba-tube", "tubelet-volume", "crop-vs-native", "token-story", "token-sequence", "noising"]
TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def url():
    for name in explainer_page.SAMPLES:  # made before the clock starts, if the assets are missing
        explainer_page.sample_file(name)
    with running_page() as address:
        yield address


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as driver:
        chromium = driver.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


def desktop_page(browser, url):
    """A new 1280 px desktop page (its own session) opened on `url`; page errors and failed figures are
    collected in its `errors`."""
    opened = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    opened.errors = []
    opened.on("pageerror", lambda error: opened.errors.append(f"{error}: {(error.stack or '')[:400]}"))
    opened.on("console", lambda message: opened.errors.append(message.text)
              if message.type == "error" and "figure could not be drawn" in message.text else None)
    opened.goto(url)
    return opened


@pytest.fixture(scope="module")
def tab(browser, url):
    """One page at desktop width, opened on the default sample, that the tests below use in turn (as one
    person would); console errors are collected."""
    opened = desktop_page(browser, url)
    wait_drawn(opened, "amoeba-tube", 1)
    yield opened
    opened.context.close()


# --- probes -------------------------------------------------------------------------------------------

def player(elem_id: str) -> str:
    return f"document.querySelector('#{elem_id} [data-draws]')"


def drawn(tab, elem_id: str) -> dict:
    return tab.evaluate(f"() => {{ const e = {player(elem_id)}; return e ? {{...e.dataset}} : {{}}; }}")


def wait_drawn(tab, elem_id: str, draws: int, timeout=TIMEOUT_MS):
    tab.wait_for_function(f"() => {{ const e = {player(elem_id)}; return e && Number(e.dataset.draws) >= {draws}; }}",
                          timeout=timeout)


def wait_frame(tab, elem_id: str, name: str, timeout=30_000):
    tab.wait_for_function(f"() => {player(elem_id)}.dataset.frame === '{name}'", timeout=timeout)


def plot_state(tab, elem_id: str) -> dict:
    return tab.evaluate(f"""() => {{
        const gd = {player(elem_id)}.querySelector('.fr-plot');
        return {{frames: gd._transitionData._frames.length,
                 visible: gd._fullData.filter(t => t.type === 'mesh3d' && t.visible === true).length,
                 pieces: gd._fullData.filter(t => t.type === 'mesh3d').length}};
    }}""")


def scroll_through(tab):
    """Figures are drawn as they come near the viewport: scroll down the page, then back up."""
    height = tab.evaluate("document.body.scrollHeight")
    for y in range(0, height + 800, 700):
        tab.evaluate(f"window.scrollTo(0, {y})")
        tab.wait_for_timeout(150)
    for elem_id in FIGURE_IDS:
        wait_drawn(tab, elem_id, 1)
    tab.evaluate("window.scrollTo(0, 0)")


def click_picture(tab, elem_id: str, x: float, y: float):
    """Click an image component at (x, y), fractions of its width and height, once its picture has loaded
    (Gradio ignores clicks on a picture whose pixels have not arrived: it cannot say which pixel was hit)."""
    picture = tab.locator(f"#{elem_id} img").first
    # looked up afresh on every poll: Gradio replaces the <img> when a new picture arrives, and a handle to
    # the old one would never finish loading; Gradio's picture is loading="lazy", so the new one is brought
    # into view too, or the browser may never fetch it
    tab.wait_for_function(f"() => {{ const img = document.querySelector('#{elem_id} img'); "
                          "if (!img) return false; if (img.complete && img.naturalWidth > 0) return true; "
                          "img.scrollIntoView({block: 'center'}); return false; }", timeout=TIMEOUT_MS,
                          polling=250)
    picture.scroll_into_view_if_needed()
    box = picture.bounding_box()
    picture.click(position={"x": box["width"] * x, "y": box["height"] * y})


def facts_text(tab) -> str:
    return tab.inner_text("#facts")


def record_timing(name: str, seconds: float):
    SHOTS.mkdir(exist_ok=True)
    path = SHOTS / "timings.json"
    timings = json.loads(path.read_text()) if path.exists() else {}
    timings[name] = round(seconds, 3)
    path.write_text(json.dumps(timings, indent=2))
    print(f"{name}: {seconds:.2f} s")


def upload(tab, path):
    tab.set_input_files("#clip-file input[type=file]", str(path))


# --- tests --------------------------------------------------------------------------------------------

def test_the_amoeba_cut_animates_and_play_reaches_the_last_frame(tab):
    state = plot_state(tab, "amoeba-tube")
    assert state["frames"] > 1 and state["frames"] == state["pieces"]
    last = str(state["frames"] - 1)
    wait_frame(tab, "amoeba-tube", last)  # the autoplay after drawing stacks every piece
    # back to the first frame, as a person dragging the slider to the start would
    tab.evaluate(f"() => Plotly.animate({player('amoeba-tube')}.querySelector('.fr-plot'), ['0'], "
                 "{mode: 'immediate', frame: {duration: 0, redraw: true}, transition: {duration: 0}})")
    wait_frame(tab, "amoeba-tube", "0")
    assert plot_state(tab, "amoeba-tube")["visible"] == 1
    tab.locator("#amoeba-tube .updatemenu-button").first.click()  # ▶ Play
    wait_frame(tab, "amoeba-tube", last)
    assert plot_state(tab, "amoeba-tube")["visible"] == state["frames"]
    # Play at the last frame starts again from the first
    tab.locator("#amoeba-tube .updatemenu-button").first.click()
    tab.wait_for_function(f"() => Number({player('amoeba-tube')}.dataset.frame) < {last}", timeout=10_000)
    wait_frame(tab, "amoeba-tube", last)
    assert not tab.errors


def test_every_section_draws_on_the_desktop(tab):
    scroll_through(tab)
    assert int(drawn(tab, "noising")["frames"]) > 1
    assert "640 × 360" in facts_text(tab)
    SHOTS.mkdir(exist_ok=True)
    tab.wait_for_timeout(500)
    tab.screenshot(path=str(SHOTS / "desktop_1280.png"), full_page=True)
    assert not tab.errors


def test_a_sample_button_runs_and_its_animation_shows_quickly(tab):
    draws = int(drawn(tab, "amoeba-tube")["draws"])
    started = time.monotonic()
    tab.click("#sample-tall")
    wait_drawn(tab, "amoeba-tube", draws + 1)
    tab.wait_for_function(f"() => Number({player('amoeba-tube')}.dataset.frames) > 1")
    record_timing("click tall sample -> amoeba animation drawn", time.monotonic() - started)
    assert "270 × 480" in facts_text(tab)
    assert plot_state(tab, "amoeba-tube")["frames"] > 1
    assert time.monotonic() - started < 30  # a sanity bound; the number itself is reported, not asserted


def test_a_click_on_the_frame_places_the_amoeba(tab):
    draws = int(drawn(tab, "amoeba-tube")["draws"])
    click_picture(tab, "cut-frame", 0.25, 0.75)
    wait_drawn(tab, "amoeba-tube", draws + 1)
    centre_x = float(tab.locator("#centre-x input[type=number]").input_value())
    centre_y = float(tab.locator("#centre-y input[type=number]").input_value())
    assert centre_x == pytest.approx(0.25, abs=0.06) and centre_y == pytest.approx(0.75, abs=0.06)


def test_an_uploaded_real_clip_runs(tab, real_clip_path):
    draws = int(drawn(tab, "amoeba-tube")["draws"])
    started = time.monotonic()
    upload(tab, real_clip_path)
    wait_drawn(tab, "amoeba-tube", draws + 1)
    record_timing("upload realshort.mp4 -> amoeba animation drawn", time.monotonic() - started)
    assert "320 × 240" in facts_text(tab)
    assert plot_state(tab, "amoeba-tube")["frames"] > 1
    assert not tab.errors


def test_a_bad_upload_is_a_readable_message_and_the_page_keeps_working(tab, tmp_path):
    bad = tmp_path / "holiday.mp4"
    bad.write_bytes(b"this is not a video at all" * 40)
    upload(tab, bad)
    message = tab.get_by_text("holiday.mp4 is not a video", exact=False).first
    message.wait_for(timeout=TIMEOUT_MS)
    assert "Traceback" not in tab.inner_text("body")
    SHOTS.mkdir(exist_ok=True)
    tab.screenshot(path=str(SHOTS / "bad_upload.png"))
    draws = int(drawn(tab, "amoeba-tube")["draws"])
    tab.click("#sample-square")
    wait_drawn(tab, "amoeba-tube", draws + 1)
    assert "320 × 320" in facts_text(tab)


@contextlib.contextmanager
def phone_page(browser, url):
    """The page on a 390 px wide touch screen, with the default sample loaded."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=1, is_mobile=True,
                                  has_touch=True)
    phone = context.new_page()
    try:
        phone.goto(url)
        phone.wait_for_function("() => (document.querySelector('#facts') || {innerText: ''}).innerText.includes('640')",
                                timeout=TIMEOUT_MS)
        yield phone
    finally:
        context.close()


def test_the_page_fits_a_phone(browser, url):
    with phone_page(browser, url) as phone:
        scroll_through(phone)  # on a phone the figures are drawn as they scroll into view
        overflow = phone.evaluate("document.documentElement.scrollWidth")
        assert overflow <= 390 + 1, f"the page is {overflow} px wide on a 390 px phone"
        heights = phone.evaluate(f"() => {player('amoeba-tube')}.querySelector('.fr-plot').clientHeight")
        assert heights < 540  # the phone layout of the figure applied
        SHOTS.mkdir(exist_ok=True)
        phone.wait_for_timeout(500)
        phone.screenshot(path=str(SHOTS / "phone_390.png"), full_page=True)


# --- 6-8. denoising, fitting, taking it with you -------------------------------------------------------

@pytest.fixture(scope="module")
def reel_tab(browser, url):
    """A fresh desktop page on the default sample, for the DiT's sections (its own session: its own run
    and fitted model)."""
    opened = desktop_page(browser, url)
    opened.wait_for_function("() => (document.querySelector('#facts') || {innerText: ''}).innerText.includes('640')",
                             timeout=TIMEOUT_MS)
    yield opened
    opened.context.close()


def video_state(tab) -> dict:
    return tab.evaluate("""() => { const v = document.querySelector('#trajectory-video video');
        return v ? {ready: v.readyState, error: v.error && v.error.code, width: v.videoWidth,
                    src: v.currentSrc} : {}; }""")


def denoise_and_wait(tab) -> float:
    """Press Denoise and wait until the run is drawn with its steps as animation frames; when it was
    pressed (time.monotonic)."""
    tab.locator("#denoise-button").scroll_into_view_if_needed()
    started = time.monotonic()
    tab.click("#denoise-button")
    tab.wait_for_function(f"() => {{ const e = {player('denoising')}; return e && Number(e.dataset.frames) > 1; }}",
                          timeout=TIMEOUT_MS)
    return started


def screenshot_sections_6_to_8(tab, path: Path):
    """The page from section 6's heading to the end, after every figure there is drawn."""
    height = tab.evaluate("document.body.scrollHeight")
    for y in range(0, height + 800, 700):
        tab.evaluate(f"window.scrollTo(0, {y})")
        tab.wait_for_timeout(100)
    tab.wait_for_timeout(800)
    top = tab.evaluate("""() => {
        const heading = [...document.querySelectorAll('h2')].find(e => e.innerText.includes('Denoising'));
        return heading.getBoundingClientRect().top + window.scrollY - 8; }""")
    width = tab.evaluate("document.documentElement.scrollWidth")
    SHOTS.mkdir(exist_ok=True)
    tab.screenshot(path=str(path), full_page=True,
                   clip={"x": 0, "y": top, "width": width, "height": tab.evaluate("document.body.scrollHeight") - top})


def test_denoising_plays_its_steps_and_its_video_plays(reel_tab):
    tab = reel_tab
    started = denoise_and_wait(tab)
    record_timing("click Denoise (50-step DDIM, 1152 tokens) -> trajectory drawn", time.monotonic() - started)
    assert int(drawn(tab, "denoising")["frames"]) == 50
    tab.wait_for_function("() => { const v = document.querySelector('#trajectory-video video');"
                          " return v && v.readyState >= 2; }", timeout=TIMEOUT_MS)
    record_timing("click Denoise -> its video ready to play", time.monotonic() - started)
    video = video_state(tab)
    assert video["ready"] >= 2 and video["error"] is None and video["src"].endswith(".webm") and video["width"] > 0
    # back to the first step, then Play walks the steps
    tab.evaluate(f"() => Plotly.animate({player('denoising')}.querySelector('.fr-plot'), ['0'], "
                 "{mode: 'immediate', frame: {duration: 0, redraw: true}, transition: {duration: 0}})")
    wait_frame(tab, "denoising", "0")
    tab.locator("#denoising .updatemenu-button").first.click()  # ▶ Play
    tab.wait_for_function(f"() => Number({player('denoising')}.dataset.frame) >= 5", timeout=30_000)
    wait_drawn(tab, "attention", 1)
    assert "DIT CALLS" in tab.inner_text("#run-facts").upper()
    assert not tab.errors


def test_a_click_on_the_frame_picks_the_token_whose_attention_is_shown(reel_tab):
    tab = reel_tab
    draws = int(drawn(tab, "attention")["draws"])
    before = int(tab.locator("#token input[type=number]").input_value())
    click_picture(tab, "token-frame", 0.05, 0.05)  # the top-left patch
    wait_drawn(tab, "attention", draws + 1)
    after = int(tab.locator("#token input[type=number]").input_value())
    assert after != before and after % (9 * 16) == 0  # row 0, column 0 of the same time slice


def test_fitting_draws_a_live_loss_curve_then_the_comparison(reel_tab):
    tab = reel_tab
    seconds = tab.locator("#fit-seconds input[type=number]")
    seconds.fill("10")
    seconds.press("Enter")
    tab.click("#fit-button")
    wait_drawn(tab, "loss-curve", 1)  # drawn while the fit is still running
    wait_drawn(tab, "regeneration", 1, timeout=120_000)
    assert int(drawn(tab, "loss-curve")["draws"]) >= 2  # it was redrawn as the fit went on
    assert int(drawn(tab, "regeneration")["frames"]) == 16
    assert "FITTED, SAME NOISE" in tab.inner_text("#fit-facts").upper()
    assert tab.locator("#model-choice").is_visible()  # section 6 now offers the fitted copy
    assert not tab.locator("#exported").is_visible()  # no empty file box before there is a file
    tab.click("#export-button")
    tab.locator("#exported a").first.wait_for(timeout=TIMEOUT_MS)
    screenshot_sections_6_to_8(tab, SHOTS / "sections_6_8_desktop.png")
    assert not tab.errors


def test_sections_6_to_8_fit_a_phone(browser, url):
    with phone_page(browser, url) as phone:
        steps = phone.locator("#steps input[type=number]")  # a short run: this test is about the layout
        steps.fill("10")
        steps.press("Enter")
        denoise_and_wait(phone)
        phone.wait_for_function("() => { const v = document.querySelector('#trajectory-video video');"
                                " return v && v.readyState >= 2; }", timeout=TIMEOUT_MS)
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390 + 1
        height = phone.evaluate(f"() => {player('denoising')}.querySelector('.fr-plot').clientHeight")
        assert height >= 600  # the phone layout: pictures above the map
        screenshot_sections_6_to_8(phone, SHOTS / "sections_6_8_phone.png")


# --- for everyone ---------------------------------------------------------------------------------------

def serious_violations(tab) -> list:
    """axe-core's scan of the page as it stands: the rules broken at 'serious' or 'critical' impact."""
    axe = pytest.importorskip("axe_playwright_python.sync_playwright", reason="axe-playwright-python is not installed")
    violations = axe.Axe().run(tab).response["violations"]
    return [(v["id"], v["impact"], [node["target"] for node in v["nodes"]][:3]) for v in violations
            if v["impact"] in ("serious", "critical")]


def test_an_accessibility_scan_finds_nothing_serious_on_desktop_or_phone(browser, url):
    """Every section drawn (scrolled through), then axe-core: no serious or critical violation at either
    width. Gradio leaves a picture shown in a button unnamed; the page names it from its block's label."""
    desktop = desktop_page(browser, url)
    try:
        wait_drawn(desktop, "amoeba-tube", 1)
        scroll_through(desktop)
        assert not serious_violations(desktop)
        named = desktop.evaluate("() => [...document.querySelectorAll('#filmstrip button img, #cut-frame button img')]"
                                 ".map(img => [img.closest('button').getAttribute('aria-label'), img.alt])")
        assert len(named) == 2, named
        assert named and all(label and alt == label for label, alt in named), named
    finally:
        desktop.context.close()
    with phone_page(browser, url) as phone:
        scroll_through(phone)
        assert not serious_violations(phone)
