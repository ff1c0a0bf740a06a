"""The command line: the train flags are the TrainSettings fields, the README's commands parse, --help shows
defaults and choices, and a refused flag is one error line."""
import re
import shlex
from dataclasses import fields
from pathlib import Path

import pytest

from explainer.cli import build_parser, main, settings_from
from explainer.dit import CONFIGS
from explainer.train import TrainSettings

README = Path(__file__).resolve().parent.parent / "README.md"


def train_settings(argv) -> TrainSettings:
    args = build_parser().parse_args(["train", *argv])
    return settings_from(TrainSettings, args)


def readme_train_commands() -> list[list[str]]:
    """The arguments of every `python -m explainer train` command in the README, continuation lines joined."""
    text = README.read_text().replace("\\\n", " ")
    return [shlex.split(match) for match in re.findall(r"python -m explainer train( [^\n`]*)", text)]


def test_no_flags_give_the_default_settings():
    assert train_settings([]) == TrainSettings()


def test_every_setting_has_a_flag_of_its_type():
    settings = train_settings(["--config", "tiny", "--steps", "7", "--lr", "2e-4", "--noise-bias", "-0.5",
                               "--frames-choices", "1", "4", "8", "--schedule", "cosine", "--max-minutes", "1.5",
                               "--init", "w.safetensors", "--checkpoint-every", "3", "--log-every", "9"])
    assert settings == TrainSettings(config="tiny", steps=7, lr=2e-4, noise_bias=-0.5, frames_choices=(1, 4, 8),
                                     schedule="cosine", max_minutes=1.5, init="w.safetensors", checkpoint_every=3,
                                     log_every=9)



def test_every_setting_shows_in_the_train_help(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = capsys.readouterr().out
    for item in fields(TrainSettings):
        assert "--" + item.name.replace("_", "-") + " " in text and item.metadata["help"].split()[0] in text


def test_readme_training_commands_parse():
    everything = readme_train_commands()
    commands = [argv for argv in everything if train_settings(argv).out.startswith("runs/stage")]  # the recipe
    assert len(commands) >= 6
    given = [train_settings(argv) for argv in everything if train_settings(argv).out.startswith("runs/given")]
    assert given and all(s.given_share > 0 and s.data == "footage" and s.init for s in given)  # frames as the prompt
    compared = {train_settings(argv).out: train_settings(argv) for argv in everything
                if argv not in commands and not train_settings(argv).out.startswith("runs/given")}
    assert set(compared) == {"runs/buckets", "runs/packed"}  # buckets against Patch n' Pack, the same otherwise
    assert compared["runs/packed"].pack and not compared["runs/buckets"].pack
    assert {**vars(compared["runs/packed"]), "pack": False, "out": "", "batch": 0} == \
        {**vars(compared["runs/buckets"]), "pack": False, "out": "", "batch": 0}
    first = train_settings(commands[0])
    assert (first.config, first.batch, first.reuse, first.workers, first.max_minutes) == ("default", 32, 4, 14, 8.0)
    fourth = train_settings(commands[3])
    assert fourth.init == "runs/stage3/dit.safetensors" and fourth.noise_bias == -0.5 and fourth.seed == 3
    on_footage = [train_settings(argv) for argv in commands[4:]]
    assert on_footage and all(s.data == "footage" for s in on_footage)
    assert on_footage[0].init == "runs/stage4/dit.safetensors" and on_footage[-1].init == "runs/stage5/dit.safetensors"


@pytest.mark.parametrize("command", ["dissect", "bench", "denoise", "train", "fit", "evaluate"])
def test_help_shows_defaults_and_choices(command, capsys):
    with pytest.raises(SystemExit) as done:
        main([command, "--help"])
    assert done.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    expected = {"dissect": ["--frames FRAMES working frames: a window of consecutive source frames (default: 16)",
                            "--start-frame N", "(default: 0)", "--start-s SECONDS", "--stride N"],
                "bench": ["{" + ",".join(CONFIGS) + "}", "(default: default)"],
                "denoise": ["{ddim,ddpm}", "{noise,clip}", "(default: ddim)", "(default: 0.6)"],
                "train": ["{" + ",".join(CONFIGS) + "}", "{linear,cosine}", "(default: 20000)", "(default: 1 16)",
                          "(default: runs/prior)", "(default: 0)"],
                "fit": ["(default: 60.0)", "(default: 72)"],
                "evaluate": ["(default: 4)", "--spread", "--start-frame N", "--stride N"]}[command]
    for piece in expected:
        assert piece in text, piece


@pytest.mark.parametrize("argv", [["bench", "--config", "huge"], ["train", "--steps", "many"],
                                  ["denoise", "clip.mp4", "--sampler", "euler"], ["dissect"]])
def test_a_refused_flag_is_one_error_line(argv, capsys):
    assert main(argv) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "--help" in lines[0]


CLIP_COMMANDS = ("dissect", "denoise", "fit", "claims", "evaluate")  # every command that reads a clip


@pytest.mark.parametrize("command", CLIP_COMMANDS)
def test_every_command_that_reads_a_clip_takes_the_window(command):
    from explainer.cli import _window
    from explainer.clip import WindowSettings

    parser = build_parser()
    assert _window(parser.parse_args([command, "clip.mp4"])) == WindowSettings()  # the page's choice
    chosen = _window(parser.parse_args([command, "clip.mp4", "--start-frame", "40", "--stride", "3"]))
    assert (chosen.start_frame, chosen.stride, chosen.start_s) == (40, 3, None)
    assert _window(parser.parse_args([command, "clip.mp4", "--start-s", "2.5"])).start_s == 2.5


def test_a_start_in_frames_and_in_seconds_together_is_refused(capsys):
    assert main(["dissect", "clip.mp4", "--start-frame", "3", "--start-s", "1"]) == 2
    assert "not allowed with" in capsys.readouterr().err


def test_evaluate_can_spread_the_frames():
    from explainer.cli import _window

    assert _window(build_parser().parse_args(["evaluate", "--spread"])).spread
    assert not _window(build_parser().parse_args(["evaluate"])).spread
