import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

REPO = Path(__file__).resolve().parents[1]
TESTDATA = REPO.parent / "shared" / "testdata"


@pytest.fixture
def real_clip_path():
    """A real clip from the shared test set beside the checkout, when it is there."""
    path = TESTDATA / "realshort.mp4"
    if not path.exists():
        pytest.skip(f"real test clips not present at {TESTDATA}")
    return path


@pytest.fixture
def clip_files(tmp_path):
    """A small 16-frame video and a photo of random pixels: (video path, photo path)."""
    import cv2
    import numpy as np

    rng = np.random.default_rng(0)
    video = tmp_path / "clip.mp4"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 10, (64, 48))
    for frame in rng.integers(0, 255, (16, 48, 64, 3), dtype=np.uint8):
        writer.write(frame)
    writer.release()
    photo = tmp_path / "photo.png"
    cv2.imwrite(str(photo), rng.integers(0, 255, (48, 64, 3), dtype=np.uint8))
    return video, photo


@pytest.fixture
def footage_dir():
    """The real footage `python -m explainer data` fetched, when it is there."""
    from explainer.data import cache_dir

    folder = cache_dir()
    if not (folder / "sources.json").exists():
        pytest.skip(f"no real footage at {folder}: run `python -m explainer data`")
    return folder


# --- the page in headless Chromium (the browser tests' shared fixtures) --------------------------------

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-quic", "--no-first-run"]


@pytest.fixture(scope="module")
def url():
    """The page served in this process, on loopback, its bundled samples made first."""
    from servers import running_page

    from explainer import page

    for name in page.SAMPLES:  # made before any clock starts, if the assets are missing
        page.sample_file(name)
    with running_page() as address:
        yield address


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium (Debian's, driven by Playwright), or a skip saying what is missing."""
    playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright (python) is not installed")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("no chromium on PATH (Debian's chromium package drives the browser tests)")
    with playwright_api.sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield launched
        launched.close()
