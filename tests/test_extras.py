"""A missing optional dependency is one sentence naming the extra to install (exit 2), found
before any work is done or any output folder is made."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from clip2point.cli import main
from clip2point.errors import MissingExtraError
from clip2point.extras import EXTRAS, require, require_all


def _block(monkeypatch: pytest.MonkeyPatch, *modules: str) -> None:
    """Make ``import MODULE`` fail as if it were not installed (Python's own sys.modules marker)."""
    for module in modules:
        monkeypatch.setitem(sys.modules, module, None)


def _one_line_error(capsys: pytest.CaptureFixture, command: str) -> str:
    err = capsys.readouterr().err
    assert err.startswith(f"clip2point {command}: error: ") and err.count("\n") == 1 and "Traceback" not in err
    return err


def test_require_names_the_missing_module_and_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    _block(monkeypatch, "open_clip")
    with pytest.raises(MissingExtraError, match=r"^clip2point pretrain needs open_clip, which is not installed: "
                                                r"run pip install 'clip2point\[train\]'"):
        require("train", "clip2point pretrain")
    require("render", "clip2point render")  # installed: no error


def test_several_extras_are_named_in_one_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    _block(monkeypatch, "pyrender", "open_clip")
    with pytest.raises(MissingExtraError, match=r"open_clip, pyrender, which are not installed: "
                                                r"run pip install 'clip2point\[render,train\]'"):
        require_all({"render": EXTRAS["render"], "train": EXTRAS["train"]}, "clip2point demo")


def test_every_extra_in_the_table_is_declared_in_pyproject() -> None:
    text = (Path(__file__).resolve().parents[1] / "pyproject.toml").read_text()
    for extra in EXTRAS:
        assert f"\n{extra} = [" in text


@pytest.mark.parametrize("backend, module", [("ray", "ray"), ("dask", "distributed")])
def test_render_backend_without_its_package_makes_no_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture, backend: str,
                                                            module: str) -> None:
    _block(monkeypatch, module)
    out = tmp_path / "shards"
    assert main(["render", "--out", str(out), "--backend", backend, "--limit", "1", "--no-progress"]) == 2
    err = _one_line_error(capsys, "render")
    assert f"--backend {backend} needs {module}" in err and "clip2point[cluster]" in err
    assert not out.exists()


def test_pretrain_without_open_clip_makes_no_run_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture) -> None:
    _block(monkeypatch, "open_clip")
    run = tmp_path / "run"
    assert main(["pretrain", "--shards", str(tmp_path / "shards"), "--out", str(run), "--model", "c2p-tiny"]) == 2
    assert "clip2point[train]" in _one_line_error(capsys, "pretrain")
    assert not run.exists()


@pytest.mark.parametrize("command", ["zeroshot", "fewshot"])
def test_evaluation_without_open_clip_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture, command: str) -> None:
    _block(monkeypatch, "open_clip")
    out = tmp_path / "results" / "r.json"
    assert main([command, "--dataset", "shards", "--data", str(tmp_path), "--model", "c2p-tiny",
                 "--out", str(out)]) == 2
    assert "clip2point[eval]" in _one_line_error(capsys, command)
    assert not out.parent.exists()


def test_modelnet_meshes_need_open3d_only_with_its_sampler(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture) -> None:
    _block(monkeypatch, "open3d")
    (tmp_path / "chair" / "test").mkdir(parents=True)
    args = ["zeroshot", "--dataset", "modelnet40", "--data", str(tmp_path), "--model", "c2p-tiny",
            "--out", str(tmp_path / "out" / "r.json")]
    assert main(args) == 2
    assert "needs open3d" in _one_line_error(capsys, "zeroshot")


def test_demo_without_open_clip_stops_before_the_first_stage(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture) -> None:
    _block(monkeypatch, "open_clip")
    assert main(["demo", "--out", str(tmp_path / "demo")]) == 2
    assert "clip2point[train]" in _one_line_error(capsys, "demo")
    assert not (tmp_path / "demo").exists()


def test_pretrain_validation_on_modelnet_meshes_needs_open3d(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture) -> None:
    _block(monkeypatch, "open3d")
    (tmp_path / "mn" / "chair" / "test").mkdir(parents=True)
    assert main(["pretrain", "--shards", str(tmp_path / "shards"), "--out", str(tmp_path / "run"), "--model",
                 "c2p-tiny", "--modelnet40", str(tmp_path / "mn")]) == 2
    assert "--modelnet40 needs open3d" in _one_line_error(capsys, "pretrain") and not (tmp_path / "run").exists()
