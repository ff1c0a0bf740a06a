"""The page's components by name, and events that take and answer them by name.

Each section declares its components under names (as on screen: `filmstrip`, `token_story`, `sampler`), and
wires its events with those names. A handler takes the page's settings as keyword arguments named as the
components are (`pt=`, `sampler=`: the same names the API offers) and answers with a dict of new values by
name; a view it leaves out keeps what it shows. No handler counts outputs or pads them with skips.
"""
from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable

import gradio as gr


class Page:
    """The components of the page by name, and the number of each section in the page's order."""

    def __init__(self):
        self.views: dict[str, gr.components.Component] = {}
        self.sections: list = []  # the section modules, in page order: a section's number is its place here

    def add(self, **views) -> None:
        for name, view in views.items():
            if name in self.views:
                raise ValueError(f"two components of the page are named {name!r}")
            self.views[name] = view

    def __getitem__(self, name: str):
        return self.views[name]

    def __contains__(self, name: str) -> bool:
        return name in self.views

    def all(self, names: Iterable[str]) -> list:
        return [self.views[name] for name in names]

    def on(self, triggers, fn: Callable | None, *, inputs: Iterable[str] = (), settings: Iterable[str] | dict = (),
           outputs: Iterable[str] = (), **options):
        """An event: `fn` gets the components `inputs` in order, then `settings` as keyword arguments of the
        same names, and answers with a dict by name (or, with a single output, the bare value)."""
        outputs = list(outputs)
        return gr.on(triggers, by_name(fn, self, outputs), self.all(inputs), self.all(outputs),
                     inputs_kwargs=self.keywords(settings), **options)

    def then(self, event, fn: Callable | None, *, inputs: Iterable[str] = (), settings: Iterable[str] | dict = (),
             outputs: Iterable[str] = (), success: bool = False, **options):
        """An event that follows `event` (once it is done, or only when it succeeded)."""
        outputs = list(outputs)
        follow = event.success if success else event.then
        return follow(by_name(fn, self, outputs), self.all(inputs), self.all(outputs),
                      inputs_kwargs=self.keywords(settings), **options)

    def keywords(self, settings: Iterable[str] | dict[str, str]) -> dict | None:
        """Keyword inputs: a parameter for each name, or {parameter: component name} where they differ."""
        pairs = settings.items() if isinstance(settings, dict) else ((name, name) for name in settings)
        return {parameter: self.views[name] for parameter, name in pairs} or None


def by_name(fn: Callable | None, page: Page, outputs: list[str]) -> Callable | None:
    """`fn`, answering Gradio by component where it answers by name. Keeps `fn`'s signature (Gradio reads it
    for the progress bar, the request and the API's parameter names)."""
    if fn is None or len(outputs) < 2:
        return fn
    name = getattr(fn, "__name__", repr(fn))

    def components(answer):
        if isinstance(answer, dict) and not answer:  # nothing new: every view keeps what it shows
            return [gr.skip() for _ in outputs]
        if not isinstance(answer, dict):
            raise TypeError(f"{name} answers {len(outputs)} views by name, with a dict")
        unknown = set(answer) - set(outputs)
        if unknown:
            raise KeyError(f"{name} answered views that are not its outputs: {sorted(unknown)}")
        return {page[name]: value for name, value in answer.items()}

    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def stream(*args, **kwargs):
            for answer in fn(*args, **kwargs):
                yield components(answer)
        return stream

    @functools.wraps(fn)
    def call(*args, **kwargs):
        return components(fn(*args, **kwargs))
    return call
