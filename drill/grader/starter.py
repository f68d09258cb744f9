"""Starter files: every chosen exercise as a stub the user fills in.

An existing file is never overwritten unless asked: the exercises it lacks are added at its
end, and an exercise it already defines is left alone.
"""

from __future__ import annotations

import re
from pathlib import Path

from drill.bank import Exercise
from drill.files import write_atomically

HEADER = '''"""Solutions to drill exercises.

Fill in the stubs below, then grade your work:

    drill grade {name}
    drill grade {name} --only {first}

A stub that still raises NotImplementedError is reported as missing, not failed.
"""

import numpy as np
'''


class StarterUnreadable(ValueError):
    """The existing file is not UTF-8 text, so drill cannot tell what it already defines."""


def _stub_block(exercise: Exercise) -> str:
    banner = f"# --- {exercise.id}: {exercise.title} "
    return f"\n\n{banner.ljust(88, '-')}\n\n{exercise.stub.rstrip()}\n"


def starter_text(path: Path, exercises: list[Exercise]) -> str:
    """The whole starter file: a header, then each exercise's stub under a banner."""
    header = HEADER.format(name=path.name, first=exercises[0].id)
    return header + "".join(_stub_block(exercise) for exercise in exercises)


def defines(source: str, entry: str) -> bool:
    """Whether `source` defines the class or function `entry` at its top level.

    Read as text, not parsed, so a file with a syntax error is still understood.
    """
    return (
        re.search(rf"^(?:async\s+def|def|class)\s+{re.escape(entry)}\b", source, re.M) is not None
    )


def write_starter(path: Path, exercises: list[Exercise], force: bool = False) -> list[Exercise]:
    """Write the starter file and return the exercises added to it.

    A new file (or any file with `force`) gets the header and every stub. An existing file
    keeps all its text and gets, at its end, the stubs of the exercises whose entry it does
    not define yet. Raises StarterUnreadable when the existing file is not UTF-8 text.
    """
    if force or not path.exists():
        write_atomically(path, starter_text(path, exercises))
        return list(exercises)
    try:
        existing = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise StarterUnreadable(path) from None
    missing = [exercise for exercise in exercises if not defines(existing, exercise.entry)]
    if missing:
        text = existing.rstrip("\n") + "\n" + "".join(_stub_block(e) for e in missing)
        write_atomically(path, text)
    return missing
