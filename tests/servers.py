"""Starting the page on loopback for the API, browser and serving tests."""
import contextlib

from explainer.page_bench import HOST, free_port, wait_until_up  # noqa: F401  (loopback only)


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
