"""The page as an API (gradio_client against an in-process server): a sample and a real clip are
dissected, the amoeba and noise follow their settings, and a bad upload is a readable error after which
the page keeps working."""
import json
import socket
import time
import urllib.request

import pytest

gradio_client = pytest.importorskip("gradio_client")

from explainer import figures, page  # noqa: E402

FIGURES = ["tube", "volume", "token", "sequence", "crop", "noise"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(url: str, timeout: float = 60.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url + "gradio_api/info", timeout=2)
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"the page did not come up at {url}")


@pytest.fixture(scope="module")
def url():
    demo = page.build_demo()
    port = free_port()
    demo.queue().launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True,
                        max_file_size="20mb", **page.launch_options())
    address = f"http://127.0.0.1:{port}/"
    wait_until_up(address)
    yield address
    demo.close()


@pytest.fixture()
def client(url):
    return gradio_client.Client(url, verbose=False)


def named(outputs) -> dict:
    """The outputs of /dissect by name: (filmstrip, facts, summary, cut frame, tube, volume, stats, token,
    sequence, crop, noise); the session state is not part of the API."""
    names = ["filmstrip", "facts", "summary", "cut", "tube", "volume", "stats", "token", "sequence", "crop",
             "noise"]
    assert len(outputs) == len(names)
    return dict(zip(names, outputs))


def check_figures(result: dict):
    for name in FIGURES:
        payload = json.loads(result[name])
        assert payload["layout"]["height"] > 0, name
        assert figures.json_bytes(result[name]) <= figures.MAX_FIGURE_BYTES, name
    assert figures.frame_count(result["tube"]) == len(result["summary"]["frame_indices"]) > 1
    assert figures.frame_count(result["noise"]) > 1


def test_the_api_names_every_event(client):
    endpoints = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    for name in ("/dissect", "/sample_wide", "/sample_tall", "/sample_square", "/patches", "/amoeba",
                 "/place", "/noise", "/load_sample"):
        assert name in endpoints, name


def test_dissect_a_bundled_sample(client):
    result = named(client.predict(gradio_client.handle_file(page.sample_file("tall")), api_name="/dissect"))
    summary = result["summary"]
    assert summary["source"]["width"] < summary["source"]["height"]  # a tall clip stays tall
    assert summary["working_size"][0] == 16 and summary["tokens"] > 0
    assert "working size" in result["facts"]
    check_figures(result)


def test_a_sample_button(client):
    result = named(client.predict(api_name="/sample_square"))
    assert "sample_square.webm" in result["facts"]
    assert result["summary"]["working_size"][1] == result["summary"]["working_size"][2]
    check_figures(result)


def test_dissect_a_real_clip(client, real_clip_path):
    result = named(client.predict(gradio_client.handle_file(str(real_clip_path)), api_name="/dissect"))
    source = result["summary"]["source"]
    assert (source["width"], source["height"]) == (320, 240)
    assert result["summary"]["working_size"] == [16, 96, 128]
    check_figures(result)


def test_a_bad_upload_is_a_readable_error_and_the_page_keeps_working(client, tmp_path):
    bad = tmp_path / "holiday.mp4"
    bad.write_bytes(b"this is not a video at all" * 40)
    with pytest.raises(gradio_client.exceptions.AppError) as caught:
        client.predict(gradio_client.handle_file(str(bad)), api_name="/dissect")
    message = str(caught.value)
    assert "holiday.mp4" in message and "Traceback" not in message
    result = named(client.predict(gradio_client.handle_file(page.sample_file("wide")), api_name="/dissect"))
    check_figures(result)


def test_patch_size_refits_the_clip(client):
    client.predict(gradio_client.handle_file(page.sample_file("wide")), api_name="/dissect")
    result = named(client.predict(4, 16, 16, api_name="/patches"))
    summary = result["summary"]
    assert summary["patch"] == [4, 16, 16]
    frames, height, width = summary["working_size"]
    assert height % 16 == 0 and width % 16 == 0
    assert summary["tokens"] == frames // 4 * height // 16 * width // 16


def test_the_amoeba_and_the_noise_follow_their_settings(client):
    client.predict(gradio_client.handle_file(page.sample_file("wide")), api_name="/dissect")
    cut, tube, volume, stats, token, sequence = client.predict(0.2, 0.3, 0.15, 7, api_name="/amoeba")
    assert json.loads(token)["layout"]["meta"]["token"] != json.loads(sequence)["layout"]["meta"]["tokens"]
    first = json.loads(volume)["layout"]["meta"]["token"]
    _, _, moved, *_ = client.predict(0.8, 0.7, 0.15, 7, api_name="/amoeba")
    assert json.loads(moved)["layout"]["meta"]["token"] != first
    noise = json.loads(client.predict("cosine", 999, api_name="/noise"))
    assert noise["layout"]["meta"]["schedule"] == "cosine" and 999 in noise["layout"]["meta"]["timesteps"]
    assert noise["layout"]["title"]["text"].startswith("t = 999")


def test_the_amoeba_without_a_clip_asks_for_one(url):
    fresh = gradio_client.Client(url, verbose=False)
    with pytest.raises(gradio_client.exceptions.AppError, match="Open a clip first"):
        fresh.predict(0.5, 0.5, 0.3, 0, api_name="/amoeba")


def test_share_says_clearly_when_there_is_no_link(monkeypatch, capsys):
    import gradio as gr

    def fake_launch(self, **options):
        assert options["share"] is True and options["server_name"] == "127.0.0.1"
        self.share_url, self.local_url = None, "http://127.0.0.1:7860/"

    monkeypatch.setattr(gr.Blocks, "launch", fake_launch)
    monkeypatch.setattr(gr.Blocks, "block_thread", lambda self: None)
    page.main(["--share"])
    assert "No public link" in capsys.readouterr().out
