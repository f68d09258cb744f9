"""Shared fixtures: every test gets its own empty drill home, and may set the clock."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import drill.progress.clock


@pytest.fixture(scope="session", autouse=True)
def shared_drill_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A DRILL_HOME for module-scoped fixtures, which run before any test's own home is set."""
    home = tmp_path_factory.mktemp("drill-home-shared")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DRILL_HOME", str(home))
        yield home


@pytest.fixture(autouse=True)
def drill_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh DRILL_HOME, so no test reads or writes the real user's progress."""
    home = tmp_path_factory.mktemp("drill-home")
    monkeypatch.setenv("DRILL_HOME", str(home))
    return home


class Clock:
    """The time drill.progress sees; tests move it with `advance`."""

    def __init__(self, start: datetime) -> None:
        self.moment = start

    def __call__(self) -> datetime:
        return self.moment

    def advance(self, **amount: float) -> datetime:
        self.moment += timedelta(**amount)
        return self.moment


@pytest.fixture
def local_zone() -> Iterator[str]:
    """The process's local time zone set to UTC−5 without daylight saving."""
    zone = "EST+5"
    previous = os.environ.get("TZ")
    os.environ["TZ"] = zone
    time.tzset()
    yield zone
    if previous is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = previous
    time.tzset()


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch, local_zone: str) -> Clock:
    """drill.progress's clock, stopped at 09:00 local time (14:00 UTC) on 2 March 2026."""
    fake = Clock(datetime(2026, 3, 2, 14, 0, tzinfo=timezone.utc))
    monkeypatch.setattr(drill.progress.clock, "now", fake)
    return fake
