"""The one clock of the progress store: every "now" comes from here, so tests can move it.

Call it as `clock.now()` (not `from drill.progress.clock import now`), so that a test's
monkeypatch of `drill.progress.clock.now` reaches every caller.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone


def now() -> datetime:
    """The current time, timezone-aware, in UTC (the form the store keeps)."""
    return datetime.now(timezone.utc)


def local_day(moment: datetime) -> date:
    """The user's calendar day at `moment`: "today" follows the local time zone, not UTC."""
    return moment.astimezone().date()


def utc(moment: datetime) -> datetime:
    """`moment` in UTC; a naive datetime is refused, since its zone would be a guess."""
    if moment.tzinfo is None:
        raise ValueError(f"{moment!r} has no time zone")
    return moment.astimezone(timezone.utc)


def describe_due(due: datetime, when: datetime) -> str:
    """When `due` comes, seen from `when`: "now", "in 10 minutes", "in 4 days"…"""
    delta = due - when
    if delta <= timedelta(0):
        return "now"
    minutes = round(delta / timedelta(minutes=1))
    if minutes < 60:
        return f"in {max(minutes, 1)} minute{'s' if minutes > 1 else ''}"
    hours = round(delta / timedelta(hours=1))
    if hours < 24:
        return f"in {hours} hour{'s' if hours > 1 else ''}"
    days = round(delta / timedelta(days=1))
    return f"in {days} day{'s' if days > 1 else ''}"
