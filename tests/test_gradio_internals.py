"""The Gradio internals explainer/serve.py replaces at run time, held to the pinned release.

`serve.atomic_image_cache` replaces `gradio.processing_utils.save_pil_to_cache` (a rewrite of it that
writes atomically) and `serve.shared_session_configs` wraps `gradio.blocks.BlocksConfig.config_for_block`
(each component's config worked out once). Both rely on what a Gradio release may change without notice,
so the release is pinned in pyproject.toml, requirements.txt and README's sdk_version, and these tests fail
when the installed Gradio is another release, when what is replaced changes (its signature or its source),
or when Gradio starts to call it in a way the replacement would not reach. Each failure says what to
re-check; once re-checked, update the fingerprint here and the pin in all three places.

The replacements' behaviour is tested too: here for the shared configs, in test_serving.py for the cache.
"""
import ast
import hashlib
import inspect
import re
from pathlib import Path

import gradio
import pytest
from gradio import blocks, processing_utils

from explainer import serve

REPO = Path(__file__).resolve().parents[1]
GRADIO = Path(gradio.__file__).resolve().parent
PINNED = "6.31.0"

# what is replaced, as of the pinned release: (module file, dotted name, signature, sha256 of its source)
REPLACED = {
    "save_pil_to_cache": ("processing_utils.py", "save_pil_to_cache",
                          "(img: Image.Image, cache_dir: str, name: str='image', format: str='webp') -> str",
                          "ceb91f9ba2ca86f22f86ac2fb80600a8d4d714130746b8b95257741f239d4564"),
    "config_for_block": ("blocks.py", "BlocksConfig.config_for_block",
                         "(_id: int, rendered_ids: list[int], block: Block | Component, "
                         "renderable: Renderable | None=None) -> dict",
                         "667ad7b39a0d6e86be042b99b3a75220511336ec0bc18b48c450478bb8135a31"),
    # not replaced, but `shared_session_configs` relies on it: a session writes a new value into the props
    # of its own copy of a config, one level deep (a shallow copy of "props" is enough)
    "_update_value_in_config": ("state_holder.py", "SessionState._update_value_in_config",
                                "(self, key: int, value: Any)",
                                "89f3ec69a692d68ea427e7b8aa9b65ec704048063eebe737112c0a9f345d6753"),
}
RECHECK = {
    "save_pil_to_cache": "serve.atomic_image_cache rewrites this function's body: carry any change over "
                         "(its arguments, how it names and hashes the file), keeping the write atomic",
    "config_for_block": "serve.shared_session_configs keeps what this returns for each block the page built: "
                        "check it still depends on nothing but the block (no per-session or per-request input)",
    "_update_value_in_config": "serve.shared_session_configs hands each caller a copy of a config with its "
                               "own 'props' dict: check a session still writes only config['props'][...]",
}


def _definition(file: str, dotted: str) -> ast.FunctionDef:
    """A function's definition in the installed Gradio's source (a class's method as Class.method)."""
    node: ast.AST = ast.parse((GRADIO / file).read_text())
    for part in dotted.split("."):
        node = next(child for child in node.body
                    if isinstance(child, (ast.FunctionDef, ast.ClassDef)) and child.name == part)
    return node


def _source(file: str, dotted: str) -> str:
    return ast.get_source_segment((GRADIO / file).read_text(), _definition(file, dotted))


def _signature(file: str, dotted: str) -> str:
    """The signature as written in the source (not read from the live function, which serve may have
    replaced in this process)."""
    definition = _definition(file, dotted)
    returns = f" -> {ast.unparse(definition.returns)}" if definition.returns else ""
    return f"({ast.unparse(definition.args)}){returns}"


def _fingerprint(file: str, dotted: str) -> str:
    return hashlib.sha256(_source(file, dotted).encode()).hexdigest()


# --- the pinned release --------------------------------------------------------------------------------

def test_gradio_is_the_pinned_release_everywhere_it_is_named():
    project = re.findall(r'^\s*"(gradio(?![_-]client)[^"]*)"', (REPO / "pyproject.toml").read_text(), re.M)
    requirements = (REPO / "requirements.txt").read_text().splitlines()
    front_matter = (REPO / "README.md").read_text().split("---")[1]
    assert project == [f"gradio=={PINNED}"], f"pyproject.toml must pin gradio=={PINNED}: {project}"
    assert f"gradio=={PINNED}" in requirements, "requirements.txt must pin the same Gradio as pyproject.toml"
    assert re.search(rf"^sdk_version:\s*{re.escape(PINNED)}\s*$", front_matter, re.M), \
        "README's sdk_version (the Gradio a Space runs) must be the pinned release"
    assert gradio.__version__ == PINNED, (
        f"Gradio {gradio.__version__} is installed, the project is pinned to {PINNED}. serve.py replaces "
        "Gradio internals: run this file against the new release and re-check what it reports before moving "
        "the pin.")


# --- what is replaced ----------------------------------------------------------------------------------

@pytest.mark.parametrize("name", REPLACED)
def test_what_serve_replaces_is_unchanged_since_the_pinned_release(name):
    file, dotted, signature, fingerprint = REPLACED[name]
    where = f"gradio/{file}: {dotted}"
    assert _signature(file, dotted) == signature, (
        f"{where} now takes {_signature(file, dotted)} (was {signature} in Gradio {PINNED}). "
        f"Re-check: {RECHECK[name]}.")
    assert _fingerprint(file, dotted) == fingerprint, (
        f"{where} changed since Gradio {PINNED} (source sha256 {_fingerprint(file, dotted)}). "
        f"Re-check: {RECHECK[name]}; then record the new fingerprint here.")


def _calls_and_imports(name: str) -> tuple[list[str], list[str]]:
    """Every call of `name` in Gradio's source, as written before the call (`processing_utils.`, `self.`, or
    `` for a bare name), and every module that imports `name` by itself (which a replacement would miss)."""
    calls, imports = [], []
    for path in sorted(GRADIO.rglob("*.py")):
        if "test" in path.relative_to(GRADIO).parts[0]:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        where = str(path.relative_to(GRADIO))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and any(alias.name == name for alias in node.names):
                imports.append(where)
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == name:
                calls.append(f"{where}: {ast.unparse(node.func.value)}.")
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == name:
                calls.append(f"{where}: ")
    return calls, imports


def test_gradio_saves_every_picture_through_the_module_attribute_serve_replaces():
    """`atomic_image_cache` sets `processing_utils.save_pil_to_cache`: a caller that looked the function up
    elsewhere (a from-import, an alias) would write pictures the old way."""
    calls, imports = _calls_and_imports("save_pil_to_cache")
    assert not imports, f"these modules import save_pil_to_cache by name; serve's replacement misses them: {imports}"
    unreached = [call for call in calls
                 if not (call.endswith(": processing_utils.") or call == "processing_utils.py: ")]
    assert not unreached, f"save_pil_to_cache is called where serve's replacement may not reach: {unreached}"
    assert calls, "Gradio no longer calls save_pil_to_cache: serve.atomic_image_cache replaces nothing"


def test_gradio_works_out_configs_through_the_class_attribute_serve_replaces():
    """`shared_session_configs` sets `BlocksConfig.config_for_block`: every caller must look it up on a
    BlocksConfig (`self.` inside it, `self.blocks_config.` in a session), never keep a reference of its own."""
    calls, imports = _calls_and_imports("config_for_block")
    assert not imports
    assert sorted(set(calls)) == ["blocks.py: self.", "state_holder.py: self.blocks_config."], (
        f"config_for_block is called in new ways: {sorted(set(calls))}. Re-check: {RECHECK['config_for_block']}.")
    assert isinstance(inspect.getattr_static(blocks.BlocksConfig, "config_for_block"), staticmethod)


# --- what the replacements do ----------------------------------------------------------------------------

@pytest.fixture
def shared_configs(monkeypatch):
    """A small page with `shared_session_configs` in force; Gradio's own function is put back afterwards."""
    monkeypatch.setattr(blocks.BlocksConfig, "config_for_block",
                        inspect.getattr_static(blocks.BlocksConfig, "config_for_block"))
    with gradio.Blocks() as demo:
        gradio.Markdown("hello")
        gradio.Slider(0, 10, 3, label="how many")
        gradio.Textbox("a", label="words")
    original = getattr(blocks.BlocksConfig.config_for_block, "original", blocks.BlocksConfig.config_for_block)
    serve.shared_session_configs(demo)
    return demo, original


def test_shared_configs_are_the_configs_gradio_works_out(shared_configs):
    demo, original = shared_configs
    for _id, block in demo.blocks.items():
        assert blocks.BlocksConfig.config_for_block(_id, [], block) == original(_id, [], block)


def test_each_session_gets_a_copy_it_may_write_a_value_into(shared_configs):
    """Two sessions of the page: a new value in one session's config is not seen by the other, nor by the
    page (the next session still opens on the value the page was built with)."""
    from gradio.state_holder import SessionState

    demo, _ = shared_configs
    slider = next(_id for _id, block in demo.blocks.items() if isinstance(block, gradio.Slider))
    first, second = SessionState(demo), SessionState(demo)
    first._update_value_in_config(slider, 9)
    assert first.config_values[slider]["props"]["value"] == 9
    assert second.config_values[slider]["props"]["value"] == 3
    assert SessionState(demo).config_values[slider]["props"]["value"] == 3


def test_the_cache_replacement_names_files_as_gradio_does(tmp_path, monkeypatch):
    """Same folder (the hash of the bytes) and file name as Gradio's own function, so cached pictures are
    found where Gradio looks for them."""
    import numpy as np
    from PIL import Image

    ours = processing_utils.save_pil_to_cache
    serve.atomic_image_cache()
    atomic = processing_utils.save_pil_to_cache
    monkeypatch.setattr(processing_utils, "save_pil_to_cache", ours)  # put back whatever was there
    picture = Image.fromarray(np.arange(48 * 64 * 3, dtype=np.uint8).reshape(48, 64, 3))
    gradio_own = _gradio_save_pil_to_cache()
    for options in ({}, {"name": "reel", "format": "png"}):
        expected = gradio_own(picture, str(tmp_path / "gradio"), **options)
        written = atomic(picture, str(tmp_path / "ours"), **options)
        assert Path(written).relative_to(tmp_path / "ours") == Path(expected).relative_to(tmp_path / "gradio")
        assert Path(written).read_bytes() == Path(expected).read_bytes()


def _gradio_save_pil_to_cache():
    """Gradio's own save_pil_to_cache, compiled from its source without its tracing decorator (the live one
    may be serve's)."""
    namespace = dict(vars(processing_utils))
    exec(compile(_source("processing_utils.py", "save_pil_to_cache"), "<gradio>", "exec"), namespace)
    return namespace["save_pil_to_cache"]
