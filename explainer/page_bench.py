"""`python -m explainer bench-page`: how fast the page opens, with the server on this machine.

- Eight visitors (by default) open the page at the same moment, again and again: each makes the API call
  the page makes on load (/load_sample, every section of the bundled sample), timed from the call to the
  last byte of its answer, queue included (read as bytes, not parsed: the server's time, not a
  client's). The p50, p95 and worst of all of them, and the p95 of the first round after the server
  started: the visitors a fresh server meets first, answered from the samples' shipped answers
  (assets/answers/, read at start) or, where none shipped, while they are being worked out.
- In headless Chromium (when playwright and chromium are installed), a fresh visitor's open to the
  first figure drawn (the amoeba cut's animation), and to the Gradio shell (the first section's facts).

Run it with nothing else busy on the machine: every figure is a wall-clock time.
"""
from __future__ import annotations

import json
import math
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def wait_until_up(url: str, timeout: float = 120.0, process: subprocess.Popen | None = None):
    """Wait for the page's API to answer ("Running on local URL" prints before it does); a server
    `process` that exits meanwhile is an error, with the end of what it wrote to `process.log` if any."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if process is not None and process.poll() is not None:
            log = getattr(process, "log", None)
            said = (log.seek(0), log.read()[-2000:])[1] if log is not None else ""
            raise RuntimeError(f"the page's server exited with status {process.returncode}: {said}")
        try:
            urllib.request.urlopen(url + "gradio_api/info", timeout=2)
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"the page did not come up at {url}")


def percentile(values: list[float], share: float) -> float:
    """The value below which `share` of `values` lie (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(share * len(ordered)) - 1))]


def open_once(url: str) -> float:
    """One page-open call through Gradio's REST API (what the page asks for on load), timed from the
    call to the last byte of its answer; the answer is read, not parsed, so the timing is the server's."""
    began = time.perf_counter()
    call = urllib.request.Request(url + "gradio_api/call/load_sample", data=json.dumps({"data": []}).encode(),
                                  headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(call, timeout=120) as answer:
        event = json.loads(answer.read())["event_id"]
    with urllib.request.urlopen(f"{url}gradio_api/call/load_sample/{event}", timeout=120) as stream:
        body = stream.read()
    seconds = time.perf_counter() - began
    if b"event: complete" not in body:
        raise RuntimeError(f"the page-open call failed: {body[:300]!r}")
    return seconds


def opens_at_once(url: str, visitors: int, rounds: int) -> list[list[float]]:
    """Seconds each visitor's page-open call took, round by round, all visitors calling together."""
    def one_open(gate: threading.Barrier) -> float:
        gate.wait()
        return open_once(url)

    rounds_s = []
    for _ in range(rounds):
        gate = threading.Barrier(visitors)
        with ThreadPoolExecutor(visitors) as pool:
            rounds_s.append(list(pool.map(one_open, [gate] * visitors)))
    return rounds_s


def browser_opens(url: str, opens: int) -> dict | None:
    """A fresh headless Chromium page per open: seconds to the first section's facts, and to the first
    figure drawn. None where playwright or chromium is missing."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    if chromium is None:
        return None
    shell, figure = [], []
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
        try:
            for _ in range(opens):
                context = browser.new_context(viewport={"width": 1280, "height": 900})
                tab = context.new_page()
                began = time.perf_counter()
                tab.goto(url, wait_until="commit")
                tab.wait_for_function("() => (document.querySelector('#facts')?.innerText || '').includes('×')",
                                      timeout=120_000, polling=50)
                shell.append(time.perf_counter() - began)
                tab.wait_for_function("() => Number(document.querySelector('#amoeba-tube [data-draws]')"
                                      "?.dataset.draws) >= 1", timeout=120_000, polling=50)
                figure.append(time.perf_counter() - began)
                context.close()
        finally:
            browser.close()
    return {"browser_opens": opens, "browser_facts_s": round(statistics.median(shell), 3),
            "browser_first_figure_s": round(statistics.median(figure), 3)}


def run_page_bench(visitors: int = 8, rounds: int = 5, opens: int = 3, browser: bool = True) -> dict:
    """Serve the page as `python app.py` does, in a process of its own on a free loopback port (so the
    visitors' side of the measurement takes no CPU time from the server's), and time its opening."""
    port = free_port()
    url = f"http://{HOST}:{port}/"
    began = time.perf_counter()
    log = tempfile.TemporaryFile(mode="w+")  # not a pipe: a server that writes much must never block on it
    server = subprocess.Popen([sys.executable, "-c", "from explainer.serve import main; main()",
                               "--host", HOST, "--port", str(port)], stdout=subprocess.DEVNULL, stderr=log, text=True)
    server.log = log
    try:
        wait_until_up(url, process=server)
        up_s = time.perf_counter() - began
        first, *warm = opens_at_once(url, visitors, rounds + 1)
        calls = [seconds for one_round in warm for seconds in one_round]
        result = {
            "visitors": visitors, "rounds": rounds, "server_up_s": round(up_s, 3),
            "first_round_p95_s": round(percentile(first, 0.95), 3),
            "open_p50_s": round(statistics.median(calls), 3),
            "open_p95_s": round(percentile(calls, 0.95), 3),
            "open_max_s": round(max(calls), 3),
        }
        if browser and opens > 0:
            result.update(browser_opens(url, opens) or {"browser_opens": None})
        return result
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
