"""The console entry point: drill's own failures end with one line and exit code 3."""

from __future__ import annotations

import json
import sys

import pytest

import drill.bank
from drill.cli import main


def explode(*args, **kwargs):
    raise RuntimeError("boom")


def test_an_internal_error_is_one_line_without_a_traceback(monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["drill", "list"])
    monkeypatch.setattr(drill.bank, "load_bank", explode)
    monkeypatch.delenv("DRILL_DEBUG", raising=False)
    with pytest.raises(SystemExit) as leaving:
        main()
    assert leaving.value.code == 3
    error = capsys.readouterr().err
    assert "drill: internal error (RuntimeError: boom)" in error
    assert "DRILL_DEBUG=1" in error
    assert "Traceback" not in error


def test_drill_debug_shows_the_traceback(monkeypatch):
    monkeypatch.setattr(sys, "argv", ["drill", "list"])
    monkeypatch.setattr(drill.bank, "load_bank", explode)
    monkeypatch.setenv("DRILL_DEBUG", "1")
    with pytest.raises(RuntimeError, match="boom"):
        main()


def test_numpy_gets_one_blas_thread_unless_the_user_chose(monkeypatch):
    """Set before NumPy loads: a thread pool a core costs every grade tens of ms of CPU."""
    import os

    monkeypatch.setattr(sys, "argv", ["drill", "--version"])
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "")  # so that the test's end restores it
    monkeypatch.delenv("OPENBLAS_NUM_THREADS")
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    with pytest.raises(SystemExit):
        main()
    assert os.environ["OPENBLAS_NUM_THREADS"] == "1"
    assert os.environ["OMP_NUM_THREADS"] == "3"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["grade", "--json"], "Missing argument 'FILE...'."),
        (["grade", "x.py", "--json", "--no-such-option"], "No such option: --no-such-option"),
        (["stats", "--json", "--days"], "No such option: --days"),
    ],
)
def test_a_usage_error_with_json_is_also_one_json_object_on_stdout(
    monkeypatch, capsys, argv, message
):
    monkeypatch.setattr(sys, "argv", ["drill", *argv])
    with pytest.raises(SystemExit) as leaving:
        main()
    assert leaving.value.code == 2
    out, err = capsys.readouterr()
    assert json.loads(out)["error"].startswith(message)
    assert "Usage: drill" in err


def test_a_usage_error_without_json_leaves_stdout_empty(monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["drill", "grade"])
    with pytest.raises(SystemExit) as leaving:
        main()
    assert leaving.value.code == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert "Missing argument 'FILE...'" in err
