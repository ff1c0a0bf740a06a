"""Links to a view: query parameters read into the page's settings (anything not understood is named and
left at its default), written back by "link to this view" for the bundled samples only, and the page
opening on the view a link names, from the samples' answers kept for every visitor."""
from types import SimpleNamespace

import pytest

from explainer.page import layout, sample_answers, views
from explainer.page.sections import film_reel_section, take_it_with_you_section
from explainer.page.show_clip import DEFAULTS
from explainer.page.show_run import DENOISE


def test_a_link_sets_every_setting_it_names_and_leaves_the_rest_at_the_defaults():
    view, ignored = views.view_from_query({"sample": "tall", "pt": "1", "x": "0.25", "t": "500", "start": "noise",
                                           "steps": "20", "sampler": "ddpm", "seed": "7", "compare": "steps"})
    assert ignored == []
    assert (view["sample"], view["pt"], view["centre_x"], view["t"]) == ("tall", 1, 0.25, 500)
    assert (view["start"], view["steps"], view["sampler"], view["noise_seed"], view["compare"]) == \
        ("noise", 20, "ddpm", 7, "steps")
    assert (view["ph"], view["size"], view["strength"], view["eta"]) == \
        (DEFAULTS["ph"], DEFAULTS["size"], DENOISE["strength"], DENOISE["eta"])


@pytest.mark.parametrize("query, named", [
    ({"sample": "../../etc/passwd"}, "sample=../../etc/passwd"),
    ({"pt": "3"}, "pt=3"),                 # not a tubelet size the page offers
    ({"t": "1000"}, "t=1000"),             # past the last timestep
    ({"x": "nan"}, "x=nan"),
    ({"steps": "1e9"}, "steps=1e9"),
    ({"seed": "-1"}, "seed=-1"),
    ({"strength": ""}, "strength="),
    ({"colour": "red"}, "colour (not a setting)"),
])
def test_what_a_link_asks_for_that_the_page_lacks_is_named_and_left_at_its_default(query, named):
    view, ignored = views.view_from_query(query)
    assert ignored == [named]
    assert view == views.DEFAULT_VIEW


def test_a_view_s_link_reopens_the_same_view_and_names_only_what_differs():
    view = dict(views.DEFAULT_VIEW, sample="square", pw=16, centre_y=0.7, schedule="cosine", t=640,
                strength=0.75, eta=0.5, noise_seed=123)
    query = views.view_query(view)
    assert query.startswith("?sample=square&") and "pt=" not in query and "steps=" not in query
    again, ignored = views.view_from_query(dict(pair.split("=") for pair in query[1:].split("&")))
    assert ignored == [] and again == view


def test_only_the_bundled_samples_are_linked():
    from explainer.assets import sample_file

    assert views.sample_on_show(str(sample_file("tall"))) == "tall"
    assert views.sample_on_show("/tmp/gradio/abc/my_holiday.mp4") is None
    assert views.sample_on_show(None) is None


def test_the_page_opens_on_the_view_its_link_names(monkeypatch):
    """open_view: the settings' controls take the link's values, and the sections show that sample at
    those settings (the same answer as pressing its button with them)."""
    request = SimpleNamespace(query_params={"sample": "tall", "pt": "1", "t": "500", "start": "noise"})
    answer = layout.open_view(request)
    assert set(answer) == {*views.VIEW_SETTINGS, *film_reel_section.TOP_VIEWS}
    clip_values = views.clip_settings({**answer, "window_start": 0})
    assert clip_values == dict(pt=1, ph=8, pw=8, centre_x=0.5, centre_y=0.5, size=0.3, shape=0, schedule="linear",
                               t=500, window_start=0)
    assert answer["window_start"]["value"] == 0 and answer["window_start"]["maximum"] == 48 - 16  # the last start
    assert answer["start"] == "noise" and answer["strength"]["visible"] is False  # strength: a clip start only
    state, summary = answer["reel"], answer["reel_summary"]
    assert state["path"].endswith("sample_tall.webm") and summary["patch"] == [1, 8, 8]
    assert summary["working_size"][1] > summary["working_size"][2]  # tall
    below = layout.open_view_below(state, **clip_values)
    assert set(below) == set(film_reel_section.BELOW_VIEWS)
    top = {name: answer[name] for name in film_reel_section.TOP_VIEWS}
    assert {**top, **below} == film_reel_section.open_sample("tall", **clip_values)
    # a second visitor's open is the kept answer, not a new dissect
    monkeypatch.setattr(sample_answers, "fresh_answer", lambda *args, **kwargs: pytest.fail("dissected again"))
    again = layout.open_view(request)
    assert {name: again[name] for name in top} == top and layout.open_view_below(state, **clip_values) == below


def test_a_visitor_s_own_clip_is_never_put_behind_a_link(tmp_path):
    from explainer.assets import sample_file

    values = {setting: views.DEFAULT_VIEW[setting] for setting in views.VIEW_SETTINGS}
    linked = take_it_with_you_section.link_to_view({"path": str(sample_file("wide"))}, **values)
    assert linked == "?sample=wide"
    own = take_it_with_you_section.link_to_view({"path": str(tmp_path / "holiday.mp4")}, **values)
    assert not own.startswith("?") and "never put behind a link" in own
