"""Starting the page on loopback for the API, browser and serving tests."""
import contextlib
import socket
import time
import urllib.request

HOST = "127.0.0.1"  # every server in the tests listens on loopback only


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def wait_until_up(url: str, timeout: float = 60.0, process=None):
    """Wait for the API to answer ("Running on local URL" prints before it does)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the server exited with status {process.returncode}")
        try:
            urllib.request.urlopen(url + "gradio_api/info", timeout=2)
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"the page did not come up at {url}")


@contextlib.contextmanager
def running_page(max_file_size: str = "20mb"):
    """The page served in this process; yields its address."""
    from explainer import page

    demo = page.build_demo()
    port = free_port()
    demo.queue().launch(server_name=HOST, server_port=port, prevent_thread_lock=True, quiet=True,
                        max_file_size=max_file_size, **page.launch_options())
    address = f"http://{HOST}:{port}/"
    try:
        wait_until_up(address)
        yield address
    finally:
        demo.close()
