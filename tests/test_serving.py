"""The page served to many visitors at once, as a hosted link is: every test talks to a real server on
127.0.0.1 through gradio_client or plain HTTP.

Eight visitors at once each get their own clip's answer while the model pool runs one job at a time; a
flood past the queue bound is told to try again; odd uploads work and bad ones get a readable message
after which the page keeps working; a 1080p minute-long upload stays under 1.5 GB of server memory;
temporary files go; the server serves no file outside its assets and cache, binds loopback by default,
loads the model once, reads weights with safetensors only, and has the samples' shipped answers in hand
before its first visitor.

Latencies and the peak memory are printed and written to tests/screenshots/serving.json.
"""
import inspect
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import tokenize
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

gradio_client = pytest.importorskip("gradio_client")
httpx = pytest.importorskip("httpx")

from gradio_client import handle_file  # noqa: E402
from gradio_client.exceptions import AppError  # noqa: E402
from gradio_client.utils import QueueError  # noqa: E402
from servers import HOST, free_port, wait_until_up  # noqa: E402
from test_clip import BAD_INPUTS  # noqa: E402  (the clip reader's own bad inputs, all of them)

from explainer import clip as clip_module  # noqa: E402
from explainer import device, files, page, scenes, serve, weights  # noqa: E402
from explainer.page import views  # noqa: E402
from explainer.video import write_webm  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
REPORT = REPO / "tests" / "screenshots" / "serving.json"
QUEUE_SIZE = 10             # the test server's bound: room for eight visitors, a flood overflows it
SMALL_LIMIT = "2mb"         # the test server's largest upload
PEAK_RSS_LIMIT = 1.5e9      # bytes, for the 1080p minute-long clip
DENOISE_STEPS = 4           # sampler steps of each visitor's denoising run from noise (the point is many visitors)
# Eight visitors' clips, (frames, height, width): every size, aspect and length different.
VISITOR_CLIPS = [(12, 72, 128), (10, 128, 72), (8, 96, 96), (6, 48, 160), (14, 160, 48), (4, 64, 112),
                 (16, 90, 120), (9, 80, 60)]


# --- helpers -------------------------------------------------------------------------------------------

def wait_for(condition, timeout: float, what):
    """Poll `condition` until it holds; `what` (text, or a function giving text) says what was awaited."""
    deadline = time.time() + timeout
    while not condition():
        if time.time() > deadline:
            raise AssertionError(f"timed out waiting for {what() if callable(what) else what}")
        time.sleep(0.05)


def summary_of(outputs) -> dict:
    """The "numbers, as data" output of /dissect, found by its name among the page's clip views (the session's
    clip is not part of the API)."""
    from explainer.page.sections.film_reel_section import CLIP_VIEWS

    names = [name for name in CLIP_VIEWS if name != "reel"]
    assert len(outputs) == len(names)
    return outputs[names.index("reel_summary")]


def record(**values):
    """Add measurements to tests/screenshots/serving.json (kept between the tests of a run)."""
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    report = json.loads(REPORT.read_text()) if REPORT.exists() else {}
    report.update(values)
    REPORT.write_text(json.dumps(report, indent=2) + "\n")


def readable(message) -> bool:
    """A message a person can read: words, short, and no traceback or code."""
    text = str(message or "")
    return (8 < len(text) < 400 and "Traceback" not in text and 'File "' not in text
            and "verbose error reporting" not in text and "Exception(" not in text)


def call_raw(url: str, api_name: str, data: list, timeout: float = 60.0) -> tuple[str, object]:
    """Call an event through Gradio's plain HTTP API (no client library): ("complete", outputs) or
    ("error", its message, None when the server sent none)."""
    started = httpx.post(f"{url}gradio_api/call/{api_name}", json={"data": data}, timeout=timeout)
    started.raise_for_status()
    deadline, event = time.time() + timeout, None
    with httpx.stream("GET", f"{url}gradio_api/call/{api_name}/{started.json()['event_id']}",
                      timeout=timeout) as stream:
        for line in stream.iter_lines():  # heartbeats keep coming: the deadline bounds the wait
            if time.time() > deadline:
                break
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and event in ("complete", "error"):
                payload = json.loads(line.split(":", 1)[1].strip() or "null")
                return event, payload.get("error") if isinstance(payload, dict) else payload
    raise AssertionError(f"/{api_name} gave no answer in {timeout:.0f} s")


def dissect_inputs(file_data: dict) -> list:
    """Every input of /dissect, the plain HTTP API taking no defaults: the file, then the page's settings."""
    return [file_data, *(page.DEFAULTS[name] for name in views.CLIP_SETTINGS)]


def server_file(path) -> dict:
    """A FileData naming a path on the server (what a crafted API call can send)."""
    return {"path": str(path), "meta": {"_type": "gradio.FileData"}}


def upload_raw(url: str, name: str, data: bytes) -> httpx.Response:
    """Upload bytes under any file name, as a browser or a crafted request would."""
    return httpx.post(f"{url}gradio_api/upload", files=[("files", (name, data, "application/octet-stream"))],
                      timeout=60)


class Watch:
    """Wraps the page's clip reader: counts calls, the most running at once, and can hold them."""

    def __init__(self):
        self.lock, self.active, self.most, self.calls = threading.Lock(), 0, 0, 0
        self.open = threading.Event()
        self.open.set()

    def __call__(self, *args, **kwargs):
        with self.lock:
            self.active += 1
            self.calls += 1
            self.most = max(self.most, self.active)
        try:
            self.open.wait(60)
            return clip_module.load_clip(*args, **kwargs)
        finally:
            with self.lock:
                self.active -= 1


class Served:
    """A running test server: its URL, the Blocks, its temp root, and what was counted while it ran."""

    def __init__(self, url, demo, root, watch, prior_loads, downloads):
        self.url, self.demo, self.root, self.watch, self.prior_loads = url, demo, root, watch, prior_loads
        self.downloads = downloads

    @property
    def uploads(self) -> Path:
        return self.root / "gradio"

    def client(self):
        """A new visitor (its own session); it downloads outputs as a browser would, outside the root."""
        return gradio_client.Client(self.url, verbose=False, download_files=str(self.downloads))


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """The page as `python app.py` serves it (same flags, same start), on loopback, in this process."""
    root = tmp_path_factory.mktemp("film-reel-temp")
    prior_loads = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FILM_REEL_TEMP", str(root))
        patch.setenv("GRADIO_TEMP_DIR", str(root / "gradio"))
        load_weights = weights.load_weights
        patch.setattr(weights, "load_weights", lambda *a, **k: prior_loads.append(a) or load_weights(*a, **k))
        weights.load_prior.cache_clear()
        watch = Watch()
        patch.setattr(page.common, "load_clip", watch)  # every clip the page reads
        files.use_temp_root()
        demo = page.build_demo()
        port = free_port()
        args = serve.parse_args(["--host", HOST, "--port", str(port), "--max-file-size", SMALL_LIMIT,
                                 "--queue-size", str(QUEUE_SIZE)])
        sweeper = serve.start(demo, args, quiet=True, **page.launch_options())
        watch.most = 0  # the start read the samples' clips side by side (their shipped answers): no visitor's job
        url = f"http://{HOST}:{port}/"
        try:
            wait_until_up(url)
            yield Served(url, demo, root, watch, prior_loads, tmp_path_factory.mktemp("downloads"))
        finally:
            sweeper.stop()
            demo.close()
    weights.load_prior.cache_clear()  # its model was loaded through the counting wrapper


@pytest.fixture(scope="module")
def visitor_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("visitors")
    files = []
    for seed, (frames, height, width) in enumerate(VISITOR_CLIPS):
        pixels = scenes.make_clip(frames, height, width, seed=seed)
        files.append(write_webm(folder / f"visitor-{seed}.webm", pixels, fps=8))
    return files


def endpoints(served) -> dict:
    return served.client().view_api(print_info=False, return_format="dict")["named_endpoints"]


# --- many visitors at once -----------------------------------------------------------------------------

@pytest.mark.slow
def test_eight_visitors_at_once_each_get_their_own_clip(served, visitor_files):
    """Eight sessions upload eight different clips at the same moment; each gets its own clip's answer,
    and the model pool runs one job at a time. Then each runs the model once more: /denoise where the
    page has it, otherwise a second /dissect."""
    second = "/denoise" if "/denoise" in endpoints(served) else "/dissect"
    start = threading.Barrier(len(visitor_files), timeout=60)

    def visit(index: int) -> dict:
        client = served.client()
        upload = handle_file(str(visitor_files[index]))
        start.wait()
        latencies, began = [], time.perf_counter()
        summary = summary_of(client.predict(upload, api_name="/dissect"))
        latencies.append(time.perf_counter() - began)
        began = time.perf_counter()
        if second == "/denoise":
            again = client.predict(upload, steps=DENOISE_STEPS, start="noise", api_name="/denoise")[2]
        else:
            again = summary_of(client.predict(upload, api_name="/dissect"))
        latencies.append(time.perf_counter() - began)
        return {"summary": summary, "again": again, "latencies": latencies}

    calls_before = served.watch.calls
    with ThreadPoolExecutor(len(visitor_files)) as pool:
        results = list(pool.map(visit, range(len(visitor_files)), timeout=240))

    for (frames, height, width), path, result in zip(VISITOR_CLIPS, visitor_files, results):
        source = result["summary"]["source"]
        assert (source["width"], source["height"], source["frames_decoded"]) == (width, height, frames)
        working_frames, working_height, working_width = result["summary"]["working_size"]
        assert working_frames == min(16, frames + frames % 2)  # up to 16, whole 2-frame tubelets
        assert abs(working_width / working_height - width / height) < 0.2 * width / height  # its own shape
        if second == "/denoise":  # the run is of this visitor's clip, at the size /dissect gave it
            assert result["again"]["clip"] == path.name
            assert result["again"]["working_size"] == result["summary"]["working_size"]
            assert result["again"]["model_calls"] == DENOISE_STEPS
        else:
            assert result["again"]["source"] == source
    assert served.watch.calls - calls_before >= len(visitor_files)
    assert served.watch.most == 1, "the model pool ran two clips at once"
    assert served.demo._queue.event_queue_per_concurrency_id[serve.MODEL_POOL].concurrency_limit == 1
    assert len(served.prior_loads) <= 1, "the model was loaded more than once"

    latencies = sorted(t for result in results for t in result["latencies"])
    p50, p95 = (float(np.percentile(latencies, q)) for q in (50, 95))
    print(f"\n{len(latencies)} requests from {len(results)} visitors at once ({second} second): "
          f"p50 {p50:.2f} s, p95 {p95:.2f} s, slowest {latencies[-1]:.2f} s")
    record(visitors=len(results), requests=len(latencies), second_request=second,
           latency_p50_s=round(p50, 3), latency_p95_s=round(p95, 3), latency_max_s=round(latencies[-1], 3))


@pytest.mark.slow
def test_a_fit_does_not_keep_other_visitors_waiting(served, visitor_files):
    """A fit trains for its whole budget; meanwhile another visitor's clip is read and denoised."""
    fitting = served.client().submit(handle_file(str(visitor_files[0])), 20, 0, api_name="/fit")
    wait_for(lambda: fitting.status().code.name in ("PROCESSING", "PROGRESS", "ITERATING"), 60,
             lambda: f"the fit to start (it is {fitting.status().code.name})")
    other, upload = served.client(), handle_file(str(visitor_files[1]))
    began = time.perf_counter()
    summary = summary_of(other.predict(upload, api_name="/dissect"))
    run = other.predict(upload, steps=DENOISE_STEPS, api_name="/denoise")[2]
    waited = time.perf_counter() - began
    assert not fitting.done(), "the other visitor waited for the whole fit"
    assert run["clip"] == visitor_files[1].name and run["working_size"] == summary["working_size"]
    fit = fitting.result(timeout=180)[3]
    assert fit["clip"] == visitor_files[0].name and fit["steps"] > 0
    assert served.demo._queue.event_queue_per_concurrency_id[serve.FIT_POOL].concurrency_limit == 1
    print(f"\n/dissect + /denoise during a 20 s fit: {waited:.2f} s")
    record(dissect_and_denoise_during_fit_s=round(waited, 3))


@pytest.mark.slow
def test_a_flood_past_the_queue_bound_is_told_to_try_again(served, tmp_path):
    """With one job running and the queue full, the next request is refused with "try again"; the
    accepted ones all finish, and the page works afterwards."""
    tiny = write_webm(tmp_path / "tiny.webm", scenes.make_clip(2, 32, 48, seed=11))
    upload = handle_file(str(tiny))
    dissect_index = next(fn._id for fn in served.demo.fns.values() if fn.api_name == "dissect")
    client = served.client()
    served.watch.open.clear()  # hold the model pool's job
    try:
        running = client.submit(upload, api_name="/dissect")
        wait_for(lambda: served.watch.active == 1, 30, "the first job to start")
        waiting = [client.submit(upload, api_name="/dissect") for _ in range(QUEUE_SIZE)]
        wait_for(lambda: len(served.demo._queue) == QUEUE_SIZE, 30, "the queue to fill")
        with pytest.raises(QueueError) as refused:
            client.submit(upload, api_name="/dissect").result(timeout=30)
        assert "try again" in str(refused.value).lower()
        raw = httpx.post(f"{served.url}gradio_api/queue/join", timeout=30,
                         json={"data": [], "fn_index": dissect_index, "session_hash": "flood"})
        assert raw.status_code == 503 and "Queue is full" in raw.json()["detail"]
        print(f"\nqueue full: client says {str(refused.value)!r}; HTTP {raw.status_code} {raw.json()['detail']!r}")
        record(queue_full_client=str(refused.value), queue_full_http=f"{raw.status_code} {raw.json()['detail']}")
    finally:
        served.watch.open.set()
    for job in [running, *waiting]:
        assert summary_of(job.result(timeout=120))["source"]["width"] == 48
    assert summary_of(served.client().predict(upload, api_name="/dissect"))["tokens"] > 0


# --- odd and bad uploads -------------------------------------------------------------------------------

def _png(path, height, width):
    pixels = np.zeros((height, width, 3), np.uint8)
    pixels[..., 0] = np.arange(width) * 255 // max(1, width - 1)
    Image.fromarray(pixels).save(path, format="PNG", compress_level=1)
    return path


def _webm(path, frames, height, width):
    written = write_webm(path.with_suffix(".webm"), scenes.make_clip(frames, height, width, seed=7))
    return written if written == path else written.replace(path)


def _gif(path, frames, height, width):
    pictures = [Image.fromarray(frame) for frame in scenes.make_clip(frames, height, width, seed=5)]
    pictures[0].save(path, format="GIF", save_all=True, append_images=pictures[1:], duration=80, loop=0)
    return path


ODD_UPLOADS = {  # name: (make it in a folder, the source (width, height, frames) it must report)
    "single frame": (lambda d: _webm(d / "one.webm", 1, 48, 64), (64, 48, 1)),
    "8K UHD image": (lambda d: _png(d / "uhd.png", 4320, 7680), (7680, 4320, 1)),
    "8K-wide video": (lambda d: _webm(d / "wide8k.webm", 4, 64, 7680), (7680, 64, 4)),
    "image named .mp4": (lambda d: _png(d / "photo.mp4", 120, 200), (200, 120, 1)),
    "video named .png": (lambda d: _webm(d / "movie.png", 6, 72, 128), (128, 72, 6)),
    "gif named .jpg": (lambda d: _gif(d / "loop.jpg", 5, 60, 80), (80, 60, 5)),
}


@pytest.mark.parametrize("name", ODD_UPLOADS)
def test_odd_uploads_work(served, tmp_path, name):
    make, (width, height, frames) = ODD_UPLOADS[name]
    path = make(tmp_path)
    assert path.stat().st_size < 1_000_000  # small in bytes, however large in pixels
    summary = summary_of(served.client().predict(handle_file(str(path)), api_name="/dissect"))
    source = summary["source"]
    assert (source["width"], source["height"], source["frames_decoded"]) == (width, height, frames)
    assert summary["tokens"] > 0 and 0 < min(summary["working_size"][1:]) <= max(summary["working_size"][1:]) <= 128


def test_bad_uploads_get_a_readable_message_and_the_page_keeps_working(served, tmp_path, visitor_files):
    """Every bad input of the clip reader's tests, uploaded (or named, for what cannot be uploaded), plus a
    crafted call naming a file the server never received; then the same and a new session still work."""
    answers, client = {}, served.client()
    makers = {**BAD_INPUTS, "gigantic video named .mkv":
              lambda d: BAD_INPUTS["gigantic video"](d).rename(d / "huge.mkv") or d / "huge.mkv"}
    for name, make in makers.items():
        folder = tmp_path / name.replace(" ", "-")
        folder.mkdir()
        path = make(folder)
        if path.is_file():
            with pytest.raises(AppError) as caught:
                client.predict(handle_file(str(path)), api_name="/dissect")
            answers[name] = str(caught.value)
        else:  # a missing file or a folder cannot be uploaded: name it in a crafted API call instead
            answers[name] = call_raw(served.url, "dissect", dissect_inputs(server_file(path)))

    print("\nbad inputs and what each answered:")
    for name, answer in answers.items():
        print(f"  {name}: {answer}")
    record(bad_inputs={name: str(answer) for name, answer in answers.items()})
    for name, answer in answers.items():
        if isinstance(answer, tuple):  # Gradio refuses a path it never received before the page sees it
            event, message = answer
            assert event == "error" and (message is None or readable(message)), f"{name}: {answer!r}"
        else:
            assert readable(answer), f"{name}: {answer!r}"

    good = handle_file(str(visitor_files[0]))
    assert summary_of(client.predict(good, api_name="/dissect"))["tokens"] > 0
    assert summary_of(served.client().predict(good, api_name="/dissect"))["tokens"] > 0


@pytest.mark.slow
def test_damaged_uploads_read_or_get_a_readable_message_within_the_decode_budget(served, tmp_path, visitor_files):
    """The seeded mutations of the fuzz test (one of each kind a clip), uploaded: each is read or refused
    with a readable message, none holds the model slot past the reader's decode budget, and the page
    keeps working."""
    from test_fuzz import fuzz_cases

    from explainer.clip import MAX_DECODE_SECONDS

    client = served.client()
    outcomes = []
    for path in fuzz_cases(tmp_path)[::2]:
        began = time.perf_counter()
        try:
            summary = summary_of(client.predict(handle_file(str(path)), api_name="/dissect"))
            outcome = f"read, {summary['tokens']} tokens"
        except AppError as refused:
            assert readable(str(refused)), f"{path.name}: {refused!r}"
            outcome = f"refused: {refused}"
        seconds = time.perf_counter() - began
        assert seconds < MAX_DECODE_SECONDS + 15, f"{path.name} held the slot {seconds:.0f} s"
        outcomes.append((path.name, outcome, round(seconds, 1)))
    print("\ndamaged uploads:", *outcomes, sep="\n  ")
    assert summary_of(client.predict(handle_file(str(visitor_files[0])), api_name="/dissect"))["tokens"] > 0


def test_a_clip_deleted_before_it_is_read_again_is_a_readable_message(served, visitor_files, tmp_path):
    """The missing-file case as it happens on a server: the upload a session is showing has been swept
    (it outlived --keep-files) when the visitor cuts it again."""
    upload = tmp_path / f"vanishing-{os.getpid()}.webm"
    shutil.copy(visitor_files[3], upload)
    client = served.client()
    client.predict(handle_file(str(upload)), api_name="/dissect")
    for stored in served.uploads.rglob(upload.name):
        stored.unlink()
    with pytest.raises(AppError) as caught:
        client.predict(4, 16, 16, api_name="/patches")
    assert readable(caught.value) and upload.name in str(caught.value)
    print(f"\nswept while shown: {caught.value}")
    record(swept_while_shown=str(caught.value))
    assert summary_of(client.predict(handle_file(str(visitor_files[3])), api_name="/dissect"))["tokens"] > 0


def test_an_upload_over_the_size_limit_is_refused_with_413(served):
    too_big = bytes(3 * 2**20)  # over the test server's 2 MB
    answer = upload_raw(served.url, "long-holiday.mp4", too_big)
    assert answer.status_code == 413
    assert readable(answer.text) and "size" in answer.text.lower()
    print(f"\nover the limit: HTTP {answer.status_code} {answer.text!r}")
    record(over_size_limit=f"{answer.status_code} {answer.text}")
    assert upload_raw(served.url, "small.mp4", b"tiny").status_code == 200  # the route still takes files


# --- nothing unsafe ------------------------------------------------------------------------------------

def test_weights_are_never_unpickled():
    """No torch.load, pickle or the like anywhere in the package: weights come from safetensors only."""
    banned = {"pickle", "cPickle", "dill", "joblib", "cloudpickle", "marshal", "shelve"}
    for source in sorted((REPO / "explainer").rglob("*.py")):
        names = [t.string for t in tokenize.generate_tokens(io.StringIO(source.read_text()).readline)
                 if t.type in (tokenize.NAME, tokenize.OP)]
        calls = ["".join(names[i:i + 3]) for i in range(len(names) - 2)]
        assert not banned & set(names), source.name
        assert "torch.load" not in calls and "allow_pickle=" not in calls, source.name
    assert weights.PRIOR.suffix == ".safetensors"


@pytest.mark.parametrize("name", ["../../evil.mp4", "..\\..\\evil.mp4", "/etc/cron.d/evil.mp4",
                                  "clip <b>\"x\"</b> & ; $(touch pwned) 'é'.webm"])
def test_an_upload_name_never_becomes_a_path_the_app_writes(served, visitor_files, name):
    data = Path(visitor_files[2]).read_bytes()
    answer = upload_raw(served.url, name, data)
    assert answer.status_code == 200
    stored = Path(answer.json()[0]).resolve()
    assert stored.is_relative_to(served.uploads.resolve()), stored  # inside Gradio's upload cache
    assert stored.read_bytes() == data
    event, outputs = call_raw(served.url, "dissect", dissect_inputs(server_file(stored)))
    assert event == "complete", outputs
    assert '<b>"x"</b>' not in outputs[1]  # the name is shown as text, never as markup
    assert not (served.root.parent / "evil.mp4").exists() and not Path("/etc/cron.d/evil.mp4").exists()
    for written in served.root.rglob("*"):  # a file named after the upload exists only as the upload
        if "evil" in written.name or "pwned" in written.name:
            assert written.is_relative_to(served.uploads), written
    assert not list(Path.cwd().glob("*pwned*")) and not list(served.root.parent.glob("*evil*"))


@pytest.mark.parametrize("target", ["/etc/passwd", "{uploads}/../../../../../../etc/passwd",
                                    "..%2F..%2F..%2F..%2F..%2F..%2Fetc%2Fpasswd", "{repo}/explainer/page.py",
                                    "{repo}/assets/dit_prior.safetensors", "%2Fproc%2Fself%2Fenviron"])
def test_the_server_serves_no_file_outside_its_assets_and_cache(served, target):
    path = target.format(uploads=served.uploads, repo=REPO)
    for route in ("gradio_api/file=", "file=", "gradio_api/file/"):
        answer = httpx.get(served.url + route + path, timeout=30)
        assert answer.status_code in (403, 404), (route, path, answer.status_code)
        assert "root:" not in answer.text and "import gradio" not in answer.text


def test_the_first_visitors_are_answered_from_the_shipped_answers(served, monkeypatch):
    """The server reads the samples' answers at the page's default settings (assets/answers/) before it
    takes a visitor: opening the page on any sample works nothing out."""
    from explainer.page import sample_answers

    defaults = sample_answers.default_settings()
    assert all(sample_answers._key(name, defaults) in sample_answers._shipped for name in page.SAMPLES)

    def never(name, settings):
        raise AssertionError(f"the {name} sample was worked out while a visitor waited")

    monkeypatch.setattr(sample_answers, "_compute", never)
    for name in page.SAMPLES:  # what a link to any sample opens on
        sample_answers.sample_answer(name, defaults)
    event, outputs = call_raw(served.url, "load_sample", [])
    assert event == "complete", outputs


def test_the_shipped_answers_are_read_before_the_server_takes_a_visitor(monkeypatch):
    """`serve.start` has every sample's shipped answer in hand when it launches the server, not later on
    a thread of its own that a first visitor could overtake."""
    import gradio as gr
    from gradio.blocks import BlocksConfig

    from explainer.page import sample_answers

    monkeypatch.setattr(sample_answers, "_shipped", {})
    monkeypatch.setenv("FILM_REEL_TEMP", str(Path(os.environ.get("TMPDIR", "/tmp")) / "film-reel-start-test"))
    at_launch = {}
    monkeypatch.setattr(gr.Blocks, "launch", lambda self, **options: at_launch.update(sample_answers._shipped))
    monkeypatch.setattr(files.Sweeper, "start", lambda self: None)
    monkeypatch.setattr(serve, "warm_samples", lambda: None)
    monkeypatch.setattr(BlocksConfig, "config_for_block", inspect.getattr_static(BlocksConfig, "config_for_block"))
    with gr.Blocks() as demo:
        gr.Markdown("a page")
    serve.start(demo, serve.parse_args(["--port", str(free_port())]))
    defaults = sample_answers.default_settings()
    assert {sample_answers._key(name, defaults) for name in page.SAMPLES} <= set(at_launch)


def test_the_page_s_own_assets_are_still_served(served):
    answer = httpx.get(f"{served.url}gradio_api/file={page.PLOTLY_JS}", timeout=30)
    assert answer.status_code == 200 and len(answer.content) > 1_000_000


def test_a_crafted_call_cannot_read_a_server_file(served):
    for path in ("/etc/passwd", REPO / "README.md", REPO / "assets"):
        event, message = call_raw(served.url, "dissect", dissect_inputs(server_file(path)))
        assert event == "error" and "root:" not in str(message) and "Film Reel" not in str(message)


def test_the_default_bind_is_loopback_and_hosting_is_explicit(monkeypatch):
    monkeypatch.delenv("GRADIO_SERVER_NAME", raising=False)
    assert serve.parse_args([]).host == "127.0.0.1"
    assert serve.parse_args(["--host", "0.0.0.0"]).host == "0.0.0.0"
    defaults = serve.parse_args([])
    assert (defaults.queue_size, defaults.max_file_size) == (serve.QUEUE_SIZE, serve.MAX_FILE_SIZE)

    import gradio as gr

    seen = {}

    def fake_launch(self, **options):
        seen.update(options, max_size=self._queue.max_size)
        self.share_url, self.local_url = None, "http://127.0.0.1:7860/"

    monkeypatch.setenv("FILM_REEL_TEMP", str(Path(os.environ.get("TMPDIR", "/tmp")) / "film-reel-bind-test"))
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(Path(os.environ.get("TMPDIR", "/tmp")) / "film-reel-bind-test"))
    monkeypatch.setattr(gr.Blocks, "launch", fake_launch)
    monkeypatch.setattr(gr.Blocks, "block_thread", lambda self: None)
    monkeypatch.setattr(files.Sweeper, "start", lambda self: None)
    serve.main([])
    assert seen["server_name"] == "127.0.0.1" and seen["max_size"] == serve.QUEUE_SIZE
    assert seen["max_file_size"] == serve.MAX_FILE_SIZE and seen["share"] is False


# --- bounded resources ---------------------------------------------------------------------------------

def test_the_model_is_loaded_once_per_process():
    weights.load_prior.cache_clear()
    first, _ = weights.load_prior("cpu")
    second, _ = weights.load_prior("cpu")
    assert first is second and weights.load_prior.cache_info().misses == 1
    assert serve.warm_model() == device.pick_device().type
    assert weights.load_prior.cache_info().misses == (1 if device.pick_device().type == "cpu" else 2)


def test_the_model_runs_on_cuda_when_present_and_the_cpu_otherwise(monkeypatch):
    import torch

    assert device.pick_device().type == ("cuda" if torch.cuda.is_available() else "cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert device.pick_device().type == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert device.pick_device().type == "cuda" and device.pick_device("cpu").type == "cpu"


def test_request_folders_have_generated_names_under_the_work_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("FILM_REEL_TEMP", str(tmp_path))
    first, second = files.request_dir(), files.request_dir()
    assert first.parent == second.parent == tmp_path.resolve() / "work" == files.work_dir()
    assert first != second and len(first.name) == 32 and first.is_dir()


def test_each_process_has_its_own_temp_root_unless_one_is_named(monkeypatch):
    monkeypatch.delenv("FILM_REEL_TEMP", raising=False)
    code = "from explainer import files; print(files.temp_root())"
    roots = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
                            ).stdout.strip() for _ in range(2)]
    assert roots[0] != roots[1] and all(Path(root).name.startswith("film-reel-") for root in roots)
    assert not any(Path(root).exists() for root in roots), "a process's own root outlived it"
    assert files.temp_root() == files.temp_root()  # one root for the life of a process
    monkeypatch.setenv("FILM_REEL_TEMP", "/somewhere/chosen")
    assert files.temp_root() == Path("/somewhere/chosen")


@pytest.mark.slow
@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_a_stopped_server_deletes_its_uploads(tmp_path, visitor_files, stop):
    """`python app.py` with no $FILM_REEL_TEMP keeps a visitor's upload in a folder of its own, and that
    folder is gone once the server is stopped by SIGTERM (a service manager) or Ctrl-C."""
    port = free_port()
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "TMPDIR": str(tmp_path)}
    for name in ("FILM_REEL_TEMP", "GRADIO_TEMP_DIR"):
        env.pop(name, None)
    log = (tmp_path / "server.log").open("w")
    server = subprocess.Popen([sys.executable, str(REPO / "app.py"), "--host", HOST, "--port", str(port)],
                              cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        url = f"http://{HOST}:{port}/"
        wait_until_up(url, timeout=180, process=server)
        client = gradio_client.Client(url, verbose=False, download_files=str(tmp_path / "got"))
        client.predict(handle_file(str(visitor_files[0])), api_name="/dissect")
        roots = list(tmp_path.glob("film-reel-*"))
        assert len(roots) == 1 and [p for p in roots[0].rglob("*.webm") if p.is_file()], "the upload is kept"
        server.send_signal(stop)
        assert server.wait(timeout=60) is not None
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(timeout=30)
        log.close()
    assert not roots[0].exists(), f"left behind: {[str(p) for p in roots[0].rglob('*')][:5]}"


@pytest.mark.slow
def test_temporary_files_are_deleted_after_their_age(tmp_path_factory, visitor_files):
    """A server told to keep files 2 s: a visitor's upload, the page's cached outputs, its video and the
    page's own work files are all gone a few seconds later, and the page still works."""
    root = tmp_path_factory.mktemp("short-lived")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FILM_REEL_TEMP", str(root))
        patch.setenv("GRADIO_TEMP_DIR", str(root / "gradio"))
        files.use_temp_root()
        demo = page.build_demo()
        port = free_port()
        args = serve.parse_args(["--host", HOST, "--port", str(port), "--keep-files", "2"])
        sweeper = serve.start(demo, args, quiet=True, **page.launch_options())
        url = f"http://{HOST}:{port}/"
        try:
            wait_until_up(url)
            client = gradio_client.Client(url, verbose=False, download_files=str(tmp_path_factory.mktemp("got")))
            client.predict(handle_file(str(visitor_files[0])), api_name="/dissect")
            if "/denoise" in client.view_api(print_info=False, return_format="dict")["named_endpoints"]:
                client.predict(handle_file(str(visitor_files[0])), steps=2, api_name="/denoise")
            output = files.request_dir() / "result.webm"
            output.write_bytes(b"a result")
            kept = [p for p in root.rglob("*") if p.is_file()]
            assert output in kept and any(p.suffix == ".webm" and p.is_relative_to(root / "gradio") for p in kept)
            wait_for(lambda: not [p for p in root.rglob("*") if p.is_file()], 15,
                     lambda: f"old files to be deleted: {[p for p in root.rglob('*') if p.is_file()]}")
            assert summary_of(client.predict(handle_file(str(visitor_files[1])), api_name="/dissect"))["tokens"]
        finally:
            sweeper.stop()
            demo.close()


def test_the_sweep_spares_the_files_gradio_keeps_and_only_old_ones_go(tmp_path):
    """Gradio's cache is swept whole (its per-session component copies leave files it never deletes),
    except the files the page keeps while it runs; files younger than the age stay."""
    old, kept, young = tmp_path / "a" / "old.png", tmp_path / "b" / "kept.png", tmp_path / "c" / "young.webm"
    for path in (old, kept, young):
        path.parent.mkdir()
        path.write_bytes(b"x")
    past = time.time() - 100
    for path in (old, kept):
        os.utime(path, (past, past))
    sweeper = files.Sweeper(10, 5, tmp_path / "work", tmp_path, keep=lambda: {str(kept)})
    assert sweeper.sweep() == 1
    assert not old.exists() and kept.exists() and young.exists()


def test_image_outputs_are_written_to_the_cache_atomically(tmp_path):
    """Two jobs giving the same picture race on one cache path; a reader must always see a whole file."""
    from gradio import processing_utils

    serve.atomic_image_cache()
    picture = Image.fromarray(np.random.default_rng(0).integers(0, 255, (128, 256, 3), dtype=np.uint8))
    path = Path(processing_utils.save_pil_to_cache(picture, str(tmp_path), format="png"))
    whole, stop = path.read_bytes(), threading.Event()

    def rewrite():
        while not stop.is_set():
            processing_utils.save_pil_to_cache(picture, str(tmp_path), format="png")

    writer = threading.Thread(target=rewrite)
    writer.start()
    try:
        reads = [path.read_bytes() == whole for _ in range(3000)]
    finally:
        stop.set()
        writer.join()
    assert all(reads), f"{reads.count(False)} of {len(reads)} reads saw a partly written file"
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no staging file left behind


def test_request_folders_live_under_the_app_temp_root(tmp_path, monkeypatch):
    """The folders the page writes a request's files in (videos, HTML) are under the temp root, which
    is swept; a folder elsewhere would outlive --keep-files."""
    monkeypatch.setenv("FILM_REEL_TEMP", str(tmp_path))
    folder = page.request_folder()
    assert folder.resolve().is_relative_to(files.temp_root()) and folder.parent == files.work_dir()


@pytest.fixture(scope="session")
def long_1080p_clip(tmp_path_factory):
    """A 1080p, 30 fps, 60 s clip (ffmpeg's testsrc2, x264 ultrafast), made once per test session."""
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is not installed: cannot make the 1080p 60 s clip")
    path = tmp_path_factory.mktemp("long") / "testsrc2-1080p-60s.mp4"
    subprocess.run(["ffmpeg", "-nostdin", "-y", "-loglevel", "error", "-f", "lavfi",
                    "-i", "testsrc2=size=1920x1080:rate=30:duration=60", "-c:v", "libx264",
                    "-preset", "ultrafast", "-crf", "40", "-pix_fmt", "yuv420p", str(path)],
                   check=True, timeout=300)
    return path


def _peak_rss(pid: int) -> int:
    """The kernel's high-water mark of resident memory for a live process (Linux), in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


@pytest.mark.slow
def test_a_1080p_minute_long_upload_stays_under_1_5_gb(tmp_path, long_1080p_clip):
    """`python app.py` in its own process takes the 1080p 60 s clip; its peak resident memory, start to
    end, stays under 1.5 GB."""
    psutil = pytest.importorskip("psutil")
    port = free_port()
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "FILM_REEL_TEMP": str(tmp_path / "root")}
    env.pop("GRADIO_TEMP_DIR", None)
    log = (tmp_path / "server.log").open("w")
    server = subprocess.Popen([sys.executable, str(REPO / "app.py"), "--host", HOST, "--port", str(port),
                               "--max-file-size", "100mb"], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://{HOST}:{port}/"
    sampled, done = [0], threading.Event()

    def sample_rss():
        process = psutil.Process(server.pid)
        while not done.is_set():
            try:
                sampled[0] = max(sampled[0], process.memory_info().rss)
            except psutil.Error:
                return
            done.wait(0.05)

    sampler = threading.Thread(target=sample_rss, daemon=True)
    sampler.start()
    try:
        wait_until_up(url, timeout=180, process=server)
        idle = psutil.Process(server.pid).memory_info().rss  # the page loaded, the model warm
        began = time.perf_counter()
        client = gradio_client.Client(url, verbose=False, download_files=str(tmp_path / "got"))
        summary = summary_of(client.predict(handle_file(str(long_1080p_clip)), api_name="/dissect"))
        seconds = time.perf_counter() - began
        peak = max(sampled[0], _peak_rss(server.pid))
    finally:
        done.set()
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=30)
        log.close()
    source = summary["source"]
    assert (source["width"], source["height"]) == (1920, 1080)
    assert source["frames_decoded"] == 1800 or source["truncated"]
    print(f"\n1080p 60 s clip ({long_1080p_clip.stat().st_size / 1e6:.1f} MB): answered in {seconds:.1f} s, "
          f"server RSS {idle / 1e6:.0f} MB idle, peak {peak / 1e6:.0f} MB")
    record(clip_1080p_60s_mb=round(long_1080p_clip.stat().st_size / 1e6, 1), clip_1080p_60s_seconds=round(seconds, 2),
           clip_1080p_60s_frames_decoded=source["frames_decoded"], server_idle_rss_mb=round(idle / 1e6),
           server_peak_rss_mb=round(peak / 1e6))
    assert peak < PEAK_RSS_LIMIT, f"peak RSS {peak / 1e6:.0f} MB"
