"""The page's layout: a section is a module plus one line in `layout.SECTIONS`, numbered by its place there,
with its components and events by name."""
import shutil
import types

import gradio as gr
import pytest

from explainer.page import layout
from explainer.page.adapters import section
from explainer.page.wiring import Page

THROWAWAY_TITLE = "A section added in one line"


def throwaway_section() -> types.ModuleType:
    """A section module as the layout takes one: a title, and a build that declares a component by name."""
    module = types.ModuleType("explainer.page.sections.throwaway_section")
    module.TITLE = THROWAWAY_TITLE

    def build(page: Page, number: int) -> None:
        with section(number, module.TITLE, "Here only to show that a section takes one line to add."):
            page.add(throwaway_words=gr.Markdown("nothing to see", elem_id="throwaway-words"))

    module.build = build
    return module


def headings(demo: gr.Blocks) -> list[str]:
    """The section headings of a built page, in order."""
    return [block.value for block in demo.blocks.values()
            if isinstance(block, gr.Markdown) and "fr-num" in str(block.value)]


def test_every_section_is_numbered_by_its_place_in_the_layout():
    found = headings(layout.build_demo())
    assert len(found) == len(layout.SECTIONS)
    for number, (heading, module) in enumerate(zip(found, layout.SECTIONS), 1):
        assert f"<span class='fr-num'>{number}</span>" in heading and module.TITLE in heading


def test_the_figures_menu_names_each_figure_with_its_section_s_number(monkeypatch):
    monkeypatch.setattr(layout, "SECTIONS", [*layout.SECTIONS[:2], throwaway_section(), *layout.SECTIONS[2:]])
    demo = layout.build_demo()
    menu = next(block for block in demo.blocks.values() if getattr(block, "elem_id", None) == "which-figure")
    choices = dict(menu.choices)
    assert choices["the amoeba cut (2)"] == "tube"                   # before the new section: as it was
    assert choices["the latent clip (4)"] == "latent"                # after it: one further down
    assert choices["the tubelets in the clip (5)"] == "volume"
    assert choices["denoising and its trajectory map (8)"] == "denoising" and menu.value == "denoising"
    assert list(choices.values()) == ["tube", "latent", "decoded", "volume", "crop", "token", "sequence", "noise",
                                      "denoising", "attention", "loss", "regeneration"]


@pytest.mark.browser
def test_a_section_added_in_one_line_is_on_the_page_with_its_number(monkeypatch):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright (python) is not installed")
    if chromium is None:
        pytest.skip("no chromium on PATH (Debian's chromium package drives this test)")
    from servers import running_page

    # the one line: the throwaway section after the amoeba cut
    monkeypatch.setattr(layout, "SECTIONS", [*layout.SECTIONS[:2], throwaway_section(), *layout.SECTIONS[2:]])
    with running_page() as url, playwright_api.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
        tab = browser.new_page(viewport={"width": 1280, "height": 900})
        tab.goto(url)
        tab.wait_for_selector("#throwaway-words", timeout=60_000)
        shown = tab.eval_on_selector_all(".fr-num", "spans => spans.map(s => s.parentElement.textContent)")
        browser.close()
    assert shown[2] == f"3{THROWAWAY_TITLE}"
    assert shown[3].startswith("4Compressed")  # the sections after it move down one
    assert shown[4].startswith("5Spacetime patches")
    assert len(shown) == len(layout.SECTIONS) and shown[-1].startswith(f"{len(shown)}Take it with you")
