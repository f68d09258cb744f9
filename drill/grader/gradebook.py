"""The gradebook: one CSV row per submission, and merging the gradebooks of several shards.

Columns: file, points, max_points, then for each exercise in the bank's order
"<id> points" and "<id> status". A file that could not be graded has 0 points and the status
"ungradeable" on every exercise.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import TYPE_CHECKING

from drill.files import write_atomically

if TYPE_CHECKING:  # merging needs no grader, nor NumPy
    from drill.grader.batch import Submission

FIXED = ["file", "points", "max_points"]
UNGRADEABLE = "ungradeable"


class GradebookError(Exception):
    """A gradebook that cannot be read or merged."""


def header(exercise_ids: list[str]) -> list[str]:
    columns = list(FIXED)
    for exercise_id in exercise_ids:
        columns += [f"{exercise_id} points", f"{exercise_id} status"]
    return columns


def _number(value: float) -> str:
    return f"{value:g}"


def _file_cell(name: str) -> str:
    """A file name as UTF-8 text: bytes that are not UTF-8 (kept by Python as surrogates)
    written as \\xNN escapes, since a CSV file is text."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def row(submission: Submission, exercises: list[tuple[str, int]]) -> list[str]:
    """One submission's row; `exercises` are the (id, max points) of the columns, in order."""
    max_points = sum(points for _, points in exercises)
    file = _file_cell(submission.file)
    if submission.report is None:
        cells = [file, "0", str(max_points)]
        for _ in exercises:
            cells += ["0", UNGRADEABLE]
        return cells
    results = {result.id: result for result in submission.report.exercises}
    cells = [file, _number(submission.report.points), str(max_points)]
    for exercise_id, _ in exercises:
        result = results[exercise_id]
        cells += [_number(result.points), result.status]
    return cells


def to_csv(columns: list[str], rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(rows)
    return buffer.getvalue()


def write_gradebook(
    path: Path, exercises: list[tuple[str, int]], submissions: list[Submission]
) -> None:
    """Write the gradebook of `submissions` (in their order) to `path`, all at once."""
    rows = [row(submission, exercises) for submission in submissions]
    write_atomically(path, to_csv(header([e for e, _ in exercises]), rows))


def read_gradebook(path: Path) -> tuple[list[str], list[list[str]]]:
    """The header and rows of a gradebook drill wrote; GradebookError naming what is wrong."""
    try:
        # utf-8-sig: a spreadsheet that saved the gradebook may have put a BOM before it.
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or error
        raise GradebookError(f"cannot read {path}: {reason}") from None
    try:
        records = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as error:
        raise GradebookError(f"{path} is not a CSV file: {error}") from None
    if not records:
        raise GradebookError(f"{path} is empty; it is not a drill gradebook")
    columns, rows = records[0], records[1:]
    pairs = columns[len(FIXED) :]
    shaped = (
        columns[: len(FIXED)] == FIXED
        and len(pairs) % 2 == 0
        and all(
            points.endswith(" points") and status == f"{points[: -len(' points')]} status"
            for points, status in zip(pairs[::2], pairs[1::2])
        )
    )
    if not shaped:
        raise GradebookError(
            f"{path} is not a drill gradebook: its first line should read "
            f"'file,points,max_points,<exercise> points,<exercise> status,…'"
        )
    for line, cells in enumerate(rows, start=2):
        if len(cells) != len(columns):
            raise GradebookError(
                f"{path}, line {line}: {len(cells)} cells where the header has {len(columns)}"
            )
        numbers = [cells[1], cells[2], *cells[len(FIXED) :: 2]]
        if not all(_is_number(cell) for cell in numbers):
            raise GradebookError(f"{path}, line {line}: a points cell is not a number")
    return columns, rows


def _is_number(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def merge(paths: list[Path]) -> tuple[list[str], list[list[str]]]:
    """The rows of every gradebook, in the order given; they must grade the same exercises
    and name each file once (two shards that overlap are a mistake worth hearing about)."""
    columns: list[str] | None = None
    first: Path | None = None
    rows: list[list[str]] = []
    seen: dict[str, Path] = {}
    for path in paths:
        theirs, their_rows = read_gradebook(path)
        if columns is None:
            columns, first = theirs, path
        elif theirs != columns:
            raise GradebookError(
                f"{path} and {first} have different columns (other exercises or another "
                "order); grade every shard with the same bank and --only options"
            )
        for cells in their_rows:
            if cells[0] in seen:
                raise GradebookError(f"{cells[0]} is graded in both {seen[cells[0]]} and {path}")
            seen[cells[0]] = path
            rows.append(cells)
    if columns is None:
        raise GradebookError("no gradebook to merge")
    return columns, rows
