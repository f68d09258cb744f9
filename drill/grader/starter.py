"""Starter files: every chosen exercise as a stub the user fills in."""

from __future__ import annotations

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


class StarterExists(FileExistsError):
    """The target file exists and overwriting was not asked for."""


def starter_text(path: Path, exercises: list[Exercise]) -> str:
    """The whole starter file: a header, then each exercise's stub under a banner."""
    parts = [HEADER.format(name=path.name, first=exercises[0].id)]
    for exercise in exercises:
        banner = f"# --- {exercise.id}: {exercise.title} "
        parts.append(f"\n\n{banner.ljust(88, '-')}\n\n{exercise.stub.rstrip()}\n")
    return "".join(parts)


def write_starter(path: Path, exercises: list[Exercise], force: bool = False) -> None:
    """Write the starter file; never replace an existing file unless `force`."""
    if path.exists() and not force:
        raise StarterExists(path)
    write_atomically(path, starter_text(path, exercises))
