"""drill grade --watch: grade again each time the file is saved, on a warm worker.

The worker keeps NumPy and drill imported between rounds and the references are computed
once, so a save costs the import of the user's file in a fresh sandboxed child and the
exercise's calls. The file is watched through the operating system's notifications
(watchfiles' notify backend), never by polling. The watch starts before the first round,
so a save made while that round is graded is not missed.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from drill.bank import Bank, Exercise
from drill.grader.grade import grade_session, prepare
from drill.grader.results import GradeReport
from drill.grader.runner import GradingSession, Ungradeable

# Milliseconds of quiet after a change before grading: an editor's save is several events.
SETTLE_MS = 10
GROUP_MS = 500


def watch_and_grade(
    session: GradingSession,
    bank: Bank,
    exercises: list[Exercise],
    on_report: Callable[[GradeReport], None],
    on_error: Callable[[str], None],
) -> None:
    """Grade now and after every save, until Ctrl-C (raised as KeyboardInterrupt).

    A file that cannot be graded (a syntax error, a half-written save, an import that
    fails) goes to `on_error`, and the next save is awaited.
    """
    from watchfiles._rust_notify import RustNotify

    prepared = [prepare(bank, exercise) for exercise in exercises]
    target = session.solution

    def one_round() -> None:
        try:  # a syntax error is reported by the worker, which compiles the file anyway
            report = grade_session(session, bank, exercises, prepared=prepared)
        except Ungradeable as error:
            on_error(f"cannot grade {target.name}: {error}")
            return
        if report.interrupted:
            raise KeyboardInterrupt
        on_report(report)

    # The folder, not the file: editors save by renaming a new file over the old one.
    # Arguments: no debug output, no polling (so no polling delay), not recursive, and
    # permission errors raised.
    with RustNotify([str(target.parent)], False, False, 0, False, False) as notifications:
        one_round()
        while True:
            changes = notifications.watch(GROUP_MS, SETTLE_MS, 0, None)
            if changes == "signal":
                raise KeyboardInterrupt
            if isinstance(changes, set) and any(Path(path) == target for _, path in changes):
                one_round()
