"""The page in headless Chromium: it loads on the bundled sample, the amoeba cut animates in the browser
(Plotly frames, Play to the last frame), a sample button and an uploaded real clip run, a bad upload is a
readable message after which the page keeps working, and it fits a phone. Screenshots of the desktop
(1280 px) and phone (390 px) page go to tests/screenshots/, with the measured click-to-animation time."""
import contextlib
import io
import json
import shutil
import time
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.browser

playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright (python) is not installed")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None:
    pytest.skip("no chromium on PATH (Debian's chromium package drives these tests)", allow_module_level=True)

from conftest import CHROMIUM_ARGS  # noqa: E402

SHOTS = Path(__file__).resolve().parent / "screenshots"
ARGS = CHROMIUM_ARGS
FIGURE_IDS = ["amoeba-tube", "compress-latent", "compress-reels", "tubelet-volume", "crop-vs-native", "packing",
              "token-story", "token-sequence", "noising"]
TIMEOUT_MS = 60_000


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
    # each figure says what it shows to a screen reader: its title
    labels = tab.evaluate("() => [...document.querySelectorAll('.fr-plot')].filter((el) => el.data)"
                          ".map((el) => [el.getAttribute('role'), el.getAttribute('aria-label')])")
    assert len(labels) >= len(FIGURE_IDS), labels
    assert all(role == "figure" and label and label != "a figure" for role, label in labels), labels
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


def denoise_state(tab) -> dict:
    """What the denoising player shows, read at one instant: the steps received, the step on show, and the step
    that the title, the slider and each picture show."""
    return tab.evaluate("""() => {
        const root = document.querySelector('#denoising [data-steps]');
        if (!root) return {};
        const title = root.querySelector('.fr-dn-title');
        return {...root.dataset, title: title && title.dataset.step, titleText: title && title.textContent,
                slider: root.querySelector('.fr-dn-slider').value,
                pictures: [...root.querySelectorAll('.fr-dn-strip img')].map(img => ({
                    step: img.dataset.step, lane: img.dataset.lane, kind: img.dataset.kind,
                    loaded: img.complete && img.naturalWidth > 0}))}; }""")


def picture_spread(tab, selector: str) -> float:
    """The spread (standard deviation) of the grey values of what the screen shows at `selector`: a blank
    or one-colour picture spreads about 0."""
    from PIL import Image

    # the page's pixels where the picture is, as they are now: an element screenshot would first wait for the
    # picture to hold still, which a streaming player on a slowed CPU may not do for many seconds
    box = tab.locator(selector).first.evaluate("""e => { e.scrollIntoView({block: 'nearest'});
        const r = e.getBoundingClientRect();
        return {x: r.left + window.scrollX, y: r.top + window.scrollY, width: r.width, height: r.height}; }""")
    assert box["width"] >= 1 and box["height"] >= 1, f"{selector} has no area: {box}"
    shot = tab.screenshot(clip=box, full_page=True)
    return float(np.asarray(Image.open(io.BytesIO(shot)).convert("L"), np.float32).std())


def assert_in_step(tab) -> dict:
    """Title, slider and every picture of the first lane show the same step, and both pictures have pixels."""
    state = denoise_state(tab)
    lane0 = [picture for picture in state["pictures"] if picture["lane"] == "0"]
    assert len(lane0) == 2 and all(picture["loaded"] for picture in lane0), state
    assert {picture["step"] for picture in lane0} == {state["title"]} and state["slider"] == state["step"], state
    for kind in ("x_t", "x0_hat"):
        spread = picture_spread(tab, f"#denoising .fr-dn-{kind} img")
        assert spread > 8, f"the {kind} picture looks blank (spread {spread:.1f}) at step {state['step']}"
    return state


def start_denoising(tab, *, start: str | None = None) -> float:
    """Press Denoise (from `start`: 'clip' or 'noise' when given); the in-page time of the press."""
    if start is not None:
        tab.locator("#start label", has_text="pure noise" if start == "noise" else "your clip").first.click()
    runs = int(denoise_state(tab).get("runs") or 0)
    tab.locator("#denoise-button").scroll_into_view_if_needed()
    tab.evaluate("() => document.querySelector('#denoise-button').addEventListener('click', "
                 "() => { window.frPressedAt = performance.now(); }, {capture: true, once: true})")
    tab.click("#denoise-button")
    tab.wait_for_function(f"() => {{ const e = document.querySelector('#denoising [data-steps]'); "
                          f"return e && Number(e.dataset.runs) > {runs} && Number(e.dataset.step) >= 0 "
                          "&& e.dataset.firstShownRun === e.dataset.runs; }", timeout=TIMEOUT_MS)
    return tab.evaluate("() => (Number(document.querySelector('#denoising [data-steps]').dataset.firstShownAt)"
                        " - window.frPressedAt) / 1000")


def wait_done(tab, timeout=120_000):
    tab.wait_for_function("() => document.querySelector('#denoising [data-steps]')?.dataset.done === '1' && "
                          "document.querySelector('#denoising [data-steps]').dataset.step === "
                          "String(Number(document.querySelector('#denoising [data-steps]').dataset.steps) - 1)",
                          timeout=timeout)


def watch_a_run(tab, *, start: str = "noise") -> float:
    """A whole run watched: pictures checked mid-run (while it still streams in) and at the end; the
    seconds from the press to the first step on screen."""
    first = start_denoising(tab, start=start)
    tab.wait_for_function("() => Number(document.querySelector('#denoising [data-steps]').dataset.steps) >= 3",
                          timeout=TIMEOUT_MS)
    middle = assert_in_step(tab)
    assert middle["done"] == "0" or int(middle["steps"]) >= 3
    wait_done(tab)
    end = assert_in_step(tab)
    assert end["steps"] == end["total"] and "computing" not in end["titleText"]
    return first


def screenshot_from_denoising(tab, path: Path):
    """The page from the Denoising heading to the end, after every figure there is drawn."""
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


def throttled(tab, rate: float):
    """Chromium's CPU slowed `rate` times (a phone's pace at 4), through the DevTools protocol."""
    session = tab.context.new_cdp_session(tab)
    session.send("Emulation.setCPUThrottlingRate", {"rate": rate})
    return session


def test_denoising_streams_every_step_and_its_video_plays(reel_tab):
    tab = reel_tab
    first = watch_a_run(tab, start="clip")  # the page's first run: the clip, noised part-way
    record_timing("press Denoise (default run, wide sample) -> first step on screen", first)
    tab.wait_for_function("() => { const v = document.querySelector('#trajectory-video video');"
                          " return v && v.readyState >= 2; }", timeout=TIMEOUT_MS)
    video = video_state(tab)
    assert video["ready"] >= 2 and video["error"] is None and video["src"].endswith(".webm") and video["width"] > 0
    wait_drawn(tab, "attention", 1)
    assert "DIT CALLS" in tab.inner_text("#run-facts").upper()
    # replay: back to the first step with the slider, then Play walks the steps with the pictures in step
    tab.locator("#denoising .fr-dn-slider").fill("0")
    tab.wait_for_function("() => document.querySelector('#denoising [data-steps]').dataset.step === '0'")
    assert_in_step(tab)
    tab.locator("#denoising .fr-dn-play").click()
    tab.wait_for_function("() => Number(document.querySelector('#denoising [data-steps]').dataset.step) >= 5",
                          timeout=30_000)
    assert_in_step(tab)
    # a frame of the strip, enlarged
    tab.locator("#denoising .fr-dn-x0_hat img").click(position={"x": 5, "y": 5})
    assert tab.locator("#denoising .fr-dn-zoom").is_visible()
    assert picture_spread(tab, "#denoising .fr-dn-canvases canvas >> nth=1") > 8
    assert not tab.errors


def test_denoising_pictures_never_go_blank_on_a_slow_device(reel_tab):
    """Three runs from pure noise, the CPU throttled 4x for two of them: every check finds both pictures
    with pixels and in step with the title and the slider, mid-run and at the end."""
    tab = reel_tab
    watch_a_run(tab)
    session = throttled(tab, 4)
    try:
        for _ in range(2):
            seconds = watch_a_run(tab)
        record_timing("press Denoise (pure noise, CPU throttled 4x) -> first step on screen", seconds)
    finally:
        session.send("Emulation.setCPUThrottlingRate", {"rate": 1})
    assert not tab.errors


def test_a_redrawn_player_keeps_its_pictures_on_show(reel_tab):
    """The page may draw the player's box afresh mid-run. The player moves into the new box with its
    pictures: the next step to arrive finds both of lane 0's pictures on show, the same run going on."""
    tab = reel_tab
    start_denoising(tab, start="noise")
    tab.wait_for_function("() => Number(document.querySelector('#denoising [data-steps]').dataset.steps) >= 2",
                          timeout=TIMEOUT_MS)
    found = tab.evaluate("""() => new Promise((resolve) => {
        const root = document.querySelector('#denoising [data-steps]');
        const steps = Number(root.dataset.steps), runs = root.dataset.runs;
        const seen = () => ({runs, done: root.dataset.done, runsNow: root.dataset.runs,
            pictures: [...root.querySelectorAll('.fr-dn-strip img[data-lane="0"]')].map(img => ({
                step: img.dataset.step || null, src: Boolean(img.getAttribute('src'))}))});
        const box = root.querySelector('.fr-denoise');
        box.replaceWith(box.cloneNode(false));  // what a redraw leaves: an empty box
        // read as soon as the next step is taken in, before any picture could be decoded afresh
        new MutationObserver((_, observer) => {
            if (Number(root.dataset.steps) <= steps) return;
            observer.disconnect();
            resolve(seen());
        }).observe(root, {attributes: true, attributeFilter: ['data-steps']});
        setTimeout(() => resolve({...seen(), timedOut: true}), 30000);
    })""")
    assert not found.get("timedOut") and found["done"] == "0", found
    assert found["runsNow"] == found["runs"], found  # the same run, not a new one
    assert len(found["pictures"]) == 2, found
    assert all(picture["step"] is not None and picture["src"] for picture in found["pictures"]), found
    assert_in_step(tab)
    wait_done(tab)
    end = assert_in_step(tab)
    assert end["steps"] == end["total"]
    assert not tab.errors


def test_pressing_denoise_again_stops_the_older_run(reel_tab):
    tab = reel_tab
    start_denoising(tab, start="noise")
    runs = int(denoise_state(tab)["runs"])
    tab.click("#denoise-button")  # while the first is still streaming in
    tab.wait_for_function(f"() => Number(document.querySelector('#denoising [data-steps]').dataset.runs) > {runs}",
                          timeout=TIMEOUT_MS)
    wait_done(tab)
    assert denoise_state(tab)["steps"] == "50"
    assert not tab.errors


def test_leaving_the_page_stops_its_run(browser, url, monkeypatch):
    """A visitor who closes the page mid-run frees the model: Gradio's queue stops the run's generator
    once the page's connection is gone (the server here is this process, so the steps it still computes
    are counted)."""
    from explainer.page import show_run

    computed = []
    strips = show_run.strips
    monkeypatch.setattr(show_run, "strips", lambda *args, **kwargs: computed.append(1) or strips(*args, **kwargs))
    leaving = desktop_page(browser, url)
    wait_drawn(leaving, "amoeba-tube", 1)
    leaving.evaluate("() => { const steps = document.querySelector('#steps input[type=number]'); "
                     "steps.value = '50'; steps.dispatchEvent(new Event('input', {bubbles: true})); "
                     "steps.dispatchEvent(new Event('change', {bubbles: true})); }")
    start_denoising(leaving, start="noise")
    assert computed, "the run's steps are not counted"
    leaving.context.close()
    time.sleep(4)  # the server hears of the closed page, and the run reaches its next step
    stopped_at = len(computed)
    time.sleep(3)
    assert len(computed) == stopped_at < 50, (stopped_at, len(computed))


def test_two_settings_compared_from_the_same_noise(reel_tab):
    tab = reel_tab
    tab.locator("#compare input").click()
    tab.get_by_role("option", name="the other sampler").click()
    start_denoising(tab, start="noise")
    wait_done(tab)
    state = denoise_state(tab)
    lanes = {picture["lane"] for picture in state["pictures"]}
    assert lanes == {"0", "1"} and all(picture["loaded"] for picture in state["pictures"])
    assert picture_spread(tab, "#denoising .fr-dn-lane >> nth=1") > 8
    names = tab.locator("#denoising .fr-dn-lane-name").all_inner_texts()
    assert "DDIM" in names[0] and "DDPM" in names[1]
    tab.locator("#compare input").click()
    tab.get_by_role("option", name="nothing").click()


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
    assert tab.locator("#model-choice").is_visible()  # the Denoising section now offers the fitted copy
    assert not tab.locator("#exported").is_visible()  # no empty file box before there is a file
    tab.click("#export-button")
    tab.locator("#exported a").first.wait_for(timeout=TIMEOUT_MS)
    screenshot_from_denoising(tab, SHOTS / "from_denoising_desktop.png")
    assert not tab.errors


def test_denoising_fit_and_claims_fit_a_phone(browser, url):
    with phone_page(browser, url) as phone:
        steps = phone.locator("#steps input[type=number]")  # a short run: this test is about the layout
        steps.fill("10")
        steps.press("Enter")
        session = throttled(phone, 4)  # a phone's pace
        watch_a_run(phone, start="clip")
        session.send("Emulation.setCPUThrottlingRate", {"rate": 1})
        phone.wait_for_function("() => { const v = document.querySelector('#trajectory-video video');"
                                " return v && v.readyState >= 2; }", timeout=TIMEOUT_MS)
        screenshot_from_denoising(phone, SHOTS / "from_denoising_phone.png")
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390 + 1
        width = phone.evaluate("() => document.querySelector('#denoising .fr-dn-x0_hat img').clientWidth")
        assert width >= 600, width  # the reel is swiped along at twice the screen's width, inside its own box


# --- 8. three claims --------------------------------------------------------------------------------------

CLAIM_FIGURES = ["crop-claim", "flicker-claim", "frame-changes", "next-patch-claim", "next-patch-changes"]


def screenshot_section(tab, heading: str, path: Path):
    """The page from the heading that reads `heading` down to the next section's heading."""
    box = tab.evaluate(f"""() => {{
        const headings = [...document.querySelectorAll('h2')];
        const at = headings.findIndex(e => e.innerText.includes({json.dumps(heading)}));
        const top = headings[at].getBoundingClientRect().top + window.scrollY - 8;
        const next = headings[at + 1];
        const bottom = next ? next.getBoundingClientRect().top + window.scrollY - 8 : document.body.scrollHeight;
        return [top, bottom]; }}""")
    SHOTS.mkdir(exist_ok=True)
    tab.screenshot(path=str(path), full_page=True, clip={"x": 0, "y": box[0], "width": tab.evaluate(
        "document.documentElement.scrollWidth"), "height": box[1] - box[0]})


def press_claims(tab, seconds: int | None = None, timeout: int = 180_000):
    """Set each fit's budget (when given), press Test the three claims, wait for its five figures."""
    if seconds is not None:
        budget = tab.locator("#claims-seconds input[type=number]")
        budget.fill(str(seconds))
        budget.press("Enter")
        tab.wait_for_function(f"() => document.querySelector('#claims-budget').innerText.includes('{seconds} s each')",
                              timeout=TIMEOUT_MS)
    tab.locator("#claims-button").scroll_into_view_if_needed()
    draws = {elem_id: int(drawn(tab, elem_id).get("draws") or 0) for elem_id in CLAIM_FIGURES}
    tab.click("#claims-button")
    for elem_id in CLAIM_FIGURES:
        tab.locator(f"#{elem_id}").scroll_into_view_if_needed(timeout=timeout)
        wait_drawn(tab, elem_id, draws[elem_id] + 1, timeout=timeout)


def assert_claims_shown(tab):
    """The verdict speaks of the three claims, and every reel of the three reel figures has pixels (not
    blank); the next patch's figure boxes every time slice of its reels."""
    verdict = tab.inner_text("#claims-verdict")
    assert "Crop vs native." in verdict and "Frames apart vs spacetime." in verdict, verdict
    assert "All at once vs the next patch." in verdict and "DiT calls" in verdict, verdict
    slices = tab.evaluate("() => document.querySelectorAll('#next-patch-claim .fr-plot .shapelayer path').length")
    assert slices == 3 * 8, slices  # a box round each of the 16 frames' 8 slices, on each of three reels
    for elem_id in ("crop-claim", "flicker-claim", "next-patch-claim"):
        tab.locator(f"#{elem_id}").scroll_into_view_if_needed()
        tab.wait_for_timeout(300)
        images = tab.locator(f"#{elem_id} .fr-plot image")
        assert images.count() == 3, elem_id
        for n in range(3):
            spread = picture_spread(tab, f"#{elem_id} .fr-plot .imagelayer image >> nth={n}")
            assert spread > 4, f"{elem_id} picture {n} looks blank (spread {spread:.1f})"


def test_a_bundled_sample_answers_both_claims_at_once(browser, url):
    tab = desktop_page(browser, url)
    try:
        tab.wait_for_function("() => (document.querySelector('#facts') || {innerText: ''}).innerText.includes('640')",
                              timeout=TIMEOUT_MS)
        started = time.monotonic()
        press_claims(tab)
        record_timing("claims on the wide sample (shipped answer) -> figures drawn", time.monotonic() - started)
        assert_claims_shown(tab)
        assert "shipped" not in tab.inner_text("#claims-verdict")  # the page speaks of the clip, not of files
        screenshot_section(tab, "Three claims", SHOTS / "claims_sample_desktop.png")
        assert not tab.errors
    finally:
        tab.context.close()


def test_the_bundled_answer_with_the_next_patch_fits_a_slow_phone(browser, url):
    with phone_page(browser, url) as phone:
        session = throttled(phone, 4)  # a phone's pace while the answer arrives and is drawn
        press_claims(phone)
        assert_claims_shown(phone)
        session.send("Emulation.setCPUThrottlingRate", {"rate": 1})
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390 + 1
        for elem_id in ("next-patch-claim", "next-patch-changes"):
            width = phone.evaluate(f"() => document.querySelector('#{elem_id} .fr-plot').getBoundingClientRect().width")
            assert width <= 390, (elem_id, width)
        title = phone.evaluate("() => document.querySelector('#next-patch-changes .gtitle').textContent")
        assert title == "change a frame, both ways", title  # the phone's short title, not the desktop's
        screenshot_section(phone, "Three claims", SHOTS / "claims_sample_phone.png")


def test_both_claims_run_live_on_an_uploaded_real_clip_and_fit_a_slow_phone(browser, url, real_clip_path):
    with phone_page(browser, url) as phone:
        upload(phone, real_clip_path)
        phone.wait_for_function("() => document.querySelector('#facts').innerText.includes('320')",
                                timeout=TIMEOUT_MS)
        session = throttled(phone, 4)  # a phone's pace while the answer arrives and is drawn
        press_claims(phone, seconds=5, timeout=600_000)  # three fits, four runs and the next patch's 400 calls
        assert_claims_shown(phone)
        session.send("Emulation.setCPUThrottlingRate", {"rate": 1})
        assert "FRAME-TO-FRAME CHANGE" in phone.inner_text("#claims-verdict").upper()
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390 + 1
        screenshot_section(phone, "Three claims", SHOTS / "claims_real_phone.png")


# --- links to a view --------------------------------------------------------------------------------------

def test_a_link_opens_its_view_and_the_page_writes_the_link_of_the_view_on_show(browser, url):
    """A link naming the tall sample, a 1-frame tubelet, t = 500 and a 20-step run from noise opens the
    page on exactly that; "Link to this view" then gives back an address that names the same view."""
    linked = desktop_page(browser, url + "?sample=tall&pt=1&t=500&start=noise&steps=20")
    try:
        wait_drawn(linked, "amoeba-tube", 1)
        assert "270 × 480" in facts_text(linked)
        checked = linked.evaluate("() => [...document.querySelectorAll('input[type=radio]:checked')]"
                                  ".map(input => input.value)")
        assert "1" in checked and "noise" in checked and "ddim" in checked
        assert linked.input_value("#steps input[type=number]") == "20"
        assert not linked.is_visible("#strength")  # a run from pure noise has no strength
        linked.click("#link-button")
        linked.wait_for_function("() => document.querySelector('#view-link textarea').value.startsWith('http')",
                                 timeout=30_000)
        link = linked.input_value("#view-link textarea")
        assert link.startswith(url.rstrip("/")) and "?sample=tall&" in link
        for part in ("pt=1", "t=500", "start=noise", "steps=20"):
            assert part in link.split("?")[1].split("&"), (part, link)
        assert not linked.errors
    finally:
        linked.context.close()


# --- for everyone ---------------------------------------------------------------------------------------

def serious_violations(tab) -> list:
    """axe-core's scan of the page as it stands: the rules broken at 'serious' or 'critical' impact."""
    axe = pytest.importorskip("axe_playwright_python.sync_playwright", reason="axe-playwright-python is not installed")
    violations = axe.Axe().run(tab).response["violations"]
    return [(v["id"], v["impact"], [node["target"] for node in v["nodes"]][:3]) for v in violations
            if v["impact"] in ("serious", "critical")]


def test_every_control_is_reached_and_used_from_the_keyboard_with_a_visible_focus(browser, url):
    """Tab alone reaches every visible control of the page, each showing a focus ring (on itself or on
    the label around it); a sample opens with Enter and the timestep moves with the arrow keys."""
    keyboard = desktop_page(browser, url)
    try:
        wait_drawn(keyboard, "amoeba-tube", 1)
        controls = keyboard.evaluate("""() => [...document.querySelectorAll(
                'button, input, select, textarea, a[href], [tabindex]')]
            .filter((e) => e.offsetParent !== null && !e.disabled && e.tabIndex >= 0)
            .map((e, i) => { e.dataset.keyboard = i; return (e.getAttribute('aria-label') || e.textContent
                || e.name || e.type || e.tagName).trim().slice(0, 40); })""")
        assert len(controls) > 40, controls
        reached, unringed = set(), []
        for _ in range(3 * len(controls)):
            keyboard.keyboard.press("Tab")
            where = keyboard.evaluate("""() => { const e = document.activeElement;
                const ring = (x) => x && getComputedStyle(x).outlineStyle !== 'none'
                                     && parseFloat(getComputedStyle(x).outlineWidth) > 0;
                return [e.dataset.keyboard ?? null, ring(e) || ring(e.closest('label')), e === document.body]; }""")
            if where[2] and reached:
                break  # past the last control
            if where[0] is None:
                continue
            reached.add(int(where[0]))
            if not where[1]:
                unringed.append(controls[int(where[0])])
        assert not [name for i, name in enumerate(controls) if i not in reached]
        assert not unringed, unringed
        keyboard.focus("#sample-tall")
        keyboard.keyboard.press("Enter")
        keyboard.wait_for_function("() => document.querySelector('#facts').innerText.includes('270 × 480')",
                                   timeout=TIMEOUT_MS)
        timestep = keyboard.locator("#noising-t input[type=range]")
        before = int(timestep.input_value())
        timestep.focus()
        keyboard.keyboard.press("ArrowRight")
        keyboard.keyboard.press("ArrowRight")
        assert int(timestep.input_value()) == before + 2
    finally:
        keyboard.context.close()


def test_a_visitor_who_asks_for_less_motion_gets_no_autoplay_and_no_transitions(browser, url):
    """prefers-reduced-motion: the figures are drawn but do not play on their own (the amoeba cut stays
    on its first frame until Play), and the page's transitions and spinners are cut to nothing."""
    still = browser.new_context(viewport={"width": 1280, "height": 900}, reduced_motion="reduce").new_page()
    try:
        still.goto(url)
        wait_drawn(still, "amoeba-tube", 1)
        first = drawn(still, "amoeba-tube")["frame"]
        still.wait_for_timeout(2000)
        assert int(drawn(still, "amoeba-tube")["frames"]) > 1 and drawn(still, "amoeba-tube")["frame"] == first
        longest = still.evaluate("""() => Math.max(...[...document.querySelectorAll('*')].flatMap((e) => {
            const style = getComputedStyle(e);
            return [...style.transitionDuration.split(','), ...style.animationDuration.split(',')]
                .map((d) => parseFloat(d) * (d.trim().endsWith('ms') ? 1 : 1000)); }))""")
        assert longest <= 1, longest  # milliseconds
    finally:
        still.context.close()


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
