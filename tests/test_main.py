"""The console entry point: drill's own failures end with one line and exit code 3."""

from __future__ import annotations

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
