"""Take it with you, the denoising view's file: the player itself (denoise_player.js) with the run's own
text and plotly.js. The text is kept safe inside <script>; opened offline in headless Chromium, the file shows,
pixel for pixel, the pictures the page's player shows at the same step, in the same colours."""
import contextlib
import io
import json
import re
from types import SimpleNamespace

import numpy as np
import pytest

from explainer import figures
from explainer.errors import ExplainerError
from explainer.page import export, theme

TITLE = "denoising and its trajectory map (7)"


def run_text(steps: int = 3) -> str:
    """A made-up run's text, as the player receives it: its head, a line per step, its end."""
    head = {"kind": "run", "clip": "made-up.webm", "frames": 4, "height": 8, "width": 8, "columns": 2, "gap": 2,
            "start": "pure noise", "clip_at": [0.0, 1.0], "lanes": [{"name": "DDIM · 3 steps · prior", "total": 3}]}
    picture = figures.image_uri(np.full((18, 18, 3), 90, np.uint8), "jpeg", 75)
    lines = [head] + [{"lane": 0, "index": n, "total": steps, "t": 900 - 300 * n, "snr": 0.1 * (n + 1),
                       "psnr": 5.0 + n, "x_t": picture, "x0_hat": picture, "at": [[1.0, 0.0], [0.0, 1.0]],
                       "says": f"step {n + 1}: a </script><!-- <script> sentence & more"} for n in range(steps)]
    return "".join(json.dumps(line, separators=(",", ":")) + "\n" for line in [*lines, {"kind": "done"}])


def embedded(page: str) -> str:
    """The run's text as the exported page carries it, read back as the browser's JSON.parse would."""
    data = re.search(r'<script type="application/json" id="fr-run">(.*?)</script>', page, re.S).group(1)
    return json.loads(data)


def test_the_runs_text_cannot_end_its_script_early():
    text = run_text()
    data = export.script_data(text)
    assert "<" not in data and json.loads(data) == text
    page = export.player_html(text, TITLE)
    assert embedded(page) == text
    # the only ends of scripts are the ends of the page's own scripts: plotly.js, the run, the player
    assert page.count("</script>") == 3 and page.lower().count("<script") == 3


def test_the_denoising_file_holds_the_player_the_run_and_plotly():
    page = export.player_html(run_text(), TITLE)
    assert page.startswith("<!DOCTYPE html>") and f"<title>Film Reel: {TITLE}</title>" in page
    assert page.count(theme.denoise_player_js()) == 1  # the page's own player script, whole, once
    assert theme.PLOTLY_JS.read_text(encoding="utf-8") in page  # plotly.js inside: it works offline
    assert "<script src=" not in page and "<link" not in page
    assert theme.page_css() in page  # style's colours as the variables the player reads
    assert "</script" not in theme.denoise_player_js().lower()  # nothing in the player's script can end it


def test_the_denoising_file_needs_a_run_and_a_known_figure():
    with pytest.raises(ExplainerError, match="Press Denoise first"):
        export.export_html(TITLE, export.OnShow())
    with pytest.raises(ExplainerError, match="Pick a figure"):
        export.export_html("a figure the page never had", export.OnShow())
    page = export.export_html(TITLE, export.OnShow(run=SimpleNamespace(player=run_text())))
    assert embedded(page) == run_text()


# --- in headless Chromium -------------------------------------------------------------------------------

STEP = 2    # the step compared
STEPS = 8   # a short run
WIDTH = 640  # both pictures are drawn this wide, so their pixels line up


def browser_helpers():
    """tests/test_browser.py's helpers (starting Chromium, pressing Denoise, reading the player); skips when
    playwright or chromium is absent."""
    pytest.importorskip("playwright.sync_api", reason="playwright (python) is not installed")
    import test_browser

    return test_browser


def strip_shot(tab, kind: str) -> np.ndarray:
    """The strip `kind` of the player as the screen shows it, WIDTH px wide at the viewport's top left
    corner (so that its pixels fall on whole screen pixels in any page), as an RGB array."""
    from PIL import Image

    height = tab.evaluate(f"""() => {{
        const img = document.querySelector('#denoising .fr-dn-{kind} img');
        img.style.cssText = 'position: fixed; left: 0; top: 0; width: {WIDTH}px; max-width: none; z-index: 9999';
        return Math.floor(img.getBoundingClientRect().height); }}""")
    tab.wait_for_timeout(100)
    shot = tab.screenshot(clip={"x": 0, "y": 0, "width": WIDTH, "height": height})
    tab.evaluate(f"() => {{ document.querySelector('#denoising .fr-dn-{kind} img').style.cssText = ''; }}")
    return np.asarray(Image.open(io.BytesIO(shot)).convert("RGB"), np.int16)


def pictures_at(tab, step: int) -> dict:
    """The player (#denoising) on `step`: its title, its sentence, both strips as the screen shows them and
    the colour of the ring around the step on show on its map."""
    tab.locator("#denoising .fr-dn-slider").fill(str(step))
    tab.wait_for_function(f"""() => {{
        const root = document.querySelector('#denoising');
        const title = root.querySelector('.fr-dn-title');
        const pictures = [...root.querySelectorAll('.fr-dn-strip img')];
        return title.dataset.step === '{step}' && pictures.length === 2 && pictures.every(
            (img) => img.dataset.step === '{step}' && img.complete && img.naturalWidth > 0); }}""", timeout=30_000)
    shots = {kind: strip_shot(tab, kind) for kind in ("x_t", "x0_hat")}
    tab.wait_for_function("() => document.querySelector('#denoising .fr-dn-map .main-svg') !== null")
    return {**shots, "title": tab.inner_text("#denoising .fr-dn-title"),
            "says": tab.inner_text("#denoising .fr-dn-says"),
            "ring": tab.evaluate("""() => document.querySelector('#denoising .fr-dn-map')._fullData
                .filter((trace) => trace.line && trace.line.dash === 'dash').map((trace) => trace.line.color)""")}


def exported_file(tab, url: str, folder) -> str:
    """Take it with you's button pressed with the denoising view chosen: the file it makes, fetched to `folder`."""
    import httpx

    assert tab.locator("#which-figure input").input_value() == TITLE
    tab.click("#export-button")
    link = tab.locator("#exported a").first
    link.wait_for(timeout=60_000)
    href = link.get_attribute("href")
    answer = httpx.get(href if href.startswith("http") else url.rstrip("/") + "/" + href.lstrip("/"), timeout=60)
    answer.raise_for_status()
    path = folder / "film-reel-denoising.html"
    path.write_bytes(answer.content)
    return path


@contextlib.contextmanager
def offline_tab(chromium, path):
    """`path` opened in a context with no network: every request but the file itself is refused (and
    recorded in the page's `asked`)."""
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, offline=True)
    asked = []

    def refuse(route):
        if route.request.url.startswith("file:"):
            route.continue_()
        else:
            asked.append(route.request.url)
            route.abort()

    context.route("**/*", refuse)
    tab = context.new_page()
    tab.errors = []
    tab.on("pageerror", lambda error: tab.errors.append(str(error)))
    tab.on("console", lambda message: tab.errors.append(message.text) if message.type == "error" else None)
    tab.asked = asked
    tab.goto(path.as_uri())
    try:
        yield tab
    finally:
        context.close()


@pytest.mark.browser
def test_the_exported_denoising_view_shows_the_players_pictures_offline(tmp_path):
    on_page = browser_helpers()
    from PIL import Image
    from playwright.sync_api import sync_playwright
    from servers import running_page

    shots = on_page.SHOTS  # tests/screenshots/

    with running_page() as url, sync_playwright() as driver:
        chromium = driver.chromium.launch(executable_path=on_page.CHROMIUM, args=on_page.ARGS)
        tab = on_page.desktop_page(chromium, url)
        tab.wait_for_function("() => (document.querySelector('#facts') || {innerText: ''}).innerText"
                              ".includes('640')", timeout=on_page.TIMEOUT_MS)
        steps = tab.locator("#steps input[type=number]")
        steps.fill(str(STEPS))
        steps.press("Enter")
        on_page.start_denoising(tab, start="noise")
        on_page.wait_done(tab)
        on_page.wait_drawn(tab, "attention", 1)  # the views that follow the run have it too
        path = exported_file(tab, url, tmp_path)
        live = pictures_at(tab, STEP)
        shots.mkdir(exist_ok=True)
        tab.locator("#denoising").screenshot(path=str(shots / "export_denoising_on_the_page.png"))
        with offline_tab(chromium, path) as offline:
            offline.wait_for_function(f"() => document.querySelector('#denoising').dataset.done === '1' && "
                                      f"document.querySelector('#denoising').dataset.steps === '{STEPS}'",
                                      timeout=30_000)
            exported = pictures_at(offline, STEP)
            offline.screenshot(path=str(shots / "export_denoising_file.png"), full_page=True)
            assert not offline.errors and not offline.asked, (offline.errors, offline.asked)
        assert not tab.errors
        chromium.close()
    assert exported["title"] == live["title"] and f"step {STEP + 1} of {STEPS}" in live["title"]
    assert exported["says"] == live["says"]
    for kind in ("x_t", "x0_hat"):
        shown, taken = live[kind], exported[kind]
        Image.fromarray(np.concatenate([shown, taken]).astype(np.uint8)).save(shots / f"export_{kind}_page_file.png")
        assert shown.shape == taken.shape and shown.shape[1] == WIDTH, (shown.shape, taken.shape)
        assert shown.std() > 8 and taken.std() > 8, f"the {kind} picture looks blank"
        assert np.abs(shown - taken).mean() < 2, f"the {kind} pictures differ"
    # the step on show is ringed in style's pink on both maps
    assert live["ring"] == exported["ring"] == [figures.PATCH]
