"""Command-line surface: unknown flags are the subcommand's error (with a hint where one helps),
every flag's default shows in ``--help``, ``demo --device cuda`` without CUDA fails first, and
``python -m clip2point`` without the package installed says how to install it."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
import torch

from clip2point.cli import COMMANDS, build_parser, main


def test_render_device_says_what_render_uses(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["render", "--out", str(tmp_path / "out"), "--device", "cuda"])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2
    assert "clip2point render: error: unrecognized arguments: --device cuda; render has no --device" in err
    assert err.startswith("usage: clip2point render") and not (tmp_path / "out").exists()


def _actions(parser: argparse.ArgumentParser) -> list[tuple[argparse.ArgumentParser, argparse.Action]]:
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                found += _actions(child)
        else:
            found.append((parser, action))
    return found


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_help_names_every_default(command: str) -> None:
    _, parser = build_parser([command])
    for owner, action in _actions(parser):
        if not action.option_strings or action.default in (None, argparse.SUPPRESS) or isinstance(action.default, bool):
            continue
        formatter = owner._get_formatter()
        formatter.add_argument(action)
        text = formatter.format_help()
        assert "default" in text, f"clip2point {command} {action.option_strings[0]}: no default in its help: {text}"


def test_demo_device_cuda_without_cuda_fails_before_any_stage(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 0)
    assert main(["demo", "--out", str(tmp_path / "demo"), "--device", "cuda"]) == 2
    assert "--device 'cuda': no CUDA device is available" in capsys.readouterr().err
    assert not (tmp_path / "demo").exists()


def test_python_m_from_a_checkout_without_the_package_says_to_install(tmp_path: Path) -> None:
    import subprocess
    import sys

    repo = Path(__file__).resolve().parents[1]
    # -S: no site-packages, so the checkout's clip2point/ is found but not the installed stages
    done = subprocess.run([sys.executable, "-S", "-m", "clip2point", "render", "--help"], cwd=repo,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "clip2point is not installed for this Python" in done.stderr and "quickstart.sh" in done.stderr
