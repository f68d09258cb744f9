"""The data model of the bank: questions and graded exercises, validated strictly.

Validation works on the plain mapping that YAML produced. Each problem is reported as a
`Problem` naming the field, so the loader can attach the file and line.
"""

from __future__ import annotations

import keyword
import math
import re
from dataclasses import dataclass
from typing import Any

from drill.text import excerpt

FORMAT_VERSION = 1
DIFFICULTIES = ("easy", "medium", "hard")
KINDS = ("concept", "derivation", "code", "choice", "numeric")
QUESTION_ID = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")
EXERCISE_ID = re.compile(r"[a-z][a-z0-9_]*")


class Problem(Exception):
    """One thing wrong with one field of one file."""

    def __init__(self, field: str | None, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Question:
    id: str
    title: str
    topic: str
    difficulty: str
    time: int
    companies: tuple[str, ...]
    kind: str
    prompt: str
    answer: str
    key_points: tuple[str, ...]
    hints: tuple[str, ...]
    options: tuple[str, ...] = ()
    correct: tuple[str, ...] = ()
    value: float | None = None
    tolerance: float | None = None
    exercises: tuple[str, ...] = ()


@dataclass(frozen=True)
class Mistake:
    """A known wrong answer: the reference with some text replaced, and what to tell the user."""

    id: str
    message: str
    replace: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Exercise:
    id: str
    title: str
    topic: str
    entry: str
    points: int
    stub: str
    check: dict[str, Any]
    mistakes: tuple[Mistake, ...]
    order: int  # position in starter files and reports, easiest first


def _require(data: dict[str, Any], field: str) -> Any:
    if field not in data:
        raise Problem(field, f"missing required field '{field}'")
    return data[field]


def _text(data: dict[str, Any], field: str) -> str:
    value = _require(data, field)
    if not isinstance(value, str):
        raise Problem(field, f"'{field}' must be text, got {_type_name(value)}")
    if not value.strip():
        raise Problem(field, f"'{field}' is empty")
    return value


def _slug(data: dict[str, Any], field: str, pattern: re.Pattern[str], shape: str) -> str:
    value = _text(data, field)
    if not pattern.fullmatch(value):
        raise Problem(field, f"'{field}' must be {shape}, got {excerpt(value)}")
    return value


def _choice(data: dict[str, Any], field: str, allowed: tuple[str, ...]) -> str:
    value = _require(data, field)
    if value not in allowed:
        raise Problem(field, f"'{field}' must be one of {', '.join(allowed)}, got {excerpt(value)}")
    return value


def _positive_int(data: dict[str, Any], field: str) -> int:
    value = _require(data, field)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise Problem(field, f"'{field}' must be a positive whole number, got {excerpt(value)}")
    return value


def _number(data: dict[str, Any], field: str) -> float:
    value = _require(data, field)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise Problem(field, f"'{field}' must be a number, got {_type_name(value)}")
    if not math.isfinite(value):
        raise Problem(field, f"'{field}' must be a finite number, got {excerpt(value)}")
    return float(value)


def _text_list(data: dict[str, Any], field: str, *, allow_empty: bool = False) -> tuple[str, ...]:
    value = _require(data, field)
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise Problem(field, f"'{field}' must be a list of text items")
    if not allow_empty and not value:
        raise Problem(field, f"'{field}' must not be empty")
    if any(not item.strip() for item in value):
        raise Problem(field, f"'{field}' has an empty item")
    return tuple(value)


def _type_name(value: Any) -> str:
    names = {dict: "a mapping", list: "a list", str: "text", bool: "true/false"}
    if value is None:
        return "nothing"
    return names.get(type(value), f"a {type(value).__name__}")


def _reject_unknown(data: dict[str, Any], allowed: set[str]) -> None:
    for key in data:
        if key not in allowed:
            raise Problem(
                str(key), f"unknown field {excerpt(key)} (allowed: {', '.join(sorted(allowed))})"
            )


def _check_version(data: dict[str, Any]) -> None:
    version = _require(data, "format_version")
    if type(version) is not int or version != FORMAT_VERSION:
        raise Problem(
            "format_version", f"unsupported format_version {excerpt(version)}; this drill reads 1"
        )


_QUESTION_FIELDS = {
    "format_version",
    "id",
    "title",
    "topic",
    "difficulty",
    "time",
    "companies",
    "kind",
    "prompt",
    "answer",
    "key_points",
    "hints",
    "options",
    "correct",
    "value",
    "tolerance",
    "exercises",
}
_KIND_ONLY_FIELDS = {
    "options": "choice",
    "correct": "choice",
    "value": "numeric",
    "tolerance": "numeric",
}


def parse_question(data: Any) -> Question:
    """Build a Question from one file's YAML mapping, or raise the first Problem."""
    if not isinstance(data, dict):
        raise Problem(None, f"a question file must hold a mapping, got {_type_name(data)}")
    _reject_unknown(data, _QUESTION_FIELDS)
    _check_version(data)
    kind = _choice(data, "kind", KINDS)
    for field, owner in _KIND_ONLY_FIELDS.items():
        if field in data and kind != owner:
            raise Problem(field, f"'{field}' belongs to {owner} questions, not {kind}")
    extra: dict[str, Any] = {}
    if kind == "choice":
        options = _text_list(data, "options")
        if len(options) < 2:
            raise Problem("options", "a choice question needs at least two options")
        letters = [chr(ord("A") + i) for i in range(len(options))]
        correct = _text_list(data, "correct")
        for letter in correct:
            if letter not in letters:
                raise Problem(
                    "correct",
                    f"'correct' names {excerpt(letter)}; options are {', '.join(letters)}",
                )
        extra = {"options": options, "correct": correct}
    elif kind == "numeric":
        tolerance = _number(data, "tolerance")
        if tolerance < 0:
            raise Problem("tolerance", "'tolerance' must not be negative")
        extra = {"value": _number(data, "value"), "tolerance": tolerance}
    if kind == "code" or "exercises" in data:
        exercises = _text_list(data, "exercises")
        for name in exercises:
            if not EXERCISE_ID.fullmatch(name):
                raise Problem("exercises", f"{excerpt(name)} is not an exercise id")
        extra["exercises"] = exercises
    return Question(
        id=_slug(data, "id", QUESTION_ID, "a slug of a-z, 0-9 and '-'"),
        title=_text(data, "title"),
        topic=_slug(data, "topic", QUESTION_ID, "a slug of a-z, 0-9 and '-'"),
        difficulty=_choice(data, "difficulty", DIFFICULTIES),
        time=_positive_int(data, "time"),
        companies=_text_list(data, "companies", allow_empty=True),
        kind=kind,
        prompt=_text(data, "prompt"),
        answer=_text(data, "answer"),
        key_points=_text_list(data, "key_points"),
        hints=_text_list(data, "hints"),
        **extra,
    )


_EXERCISE_FIELDS = {
    "format_version",
    "id",
    "title",
    "topic",
    "entry",
    "points",
    "order",
    "stub",
    "check",
    "mistakes",
}
_MISTAKE_FIELDS = {"id", "message", "replace"}


def _parse_mistake(index: int, data: Any) -> Mistake:
    where = f"mistakes[{index}]"
    if not isinstance(data, dict):
        raise Problem("mistakes", f"{where} must be a mapping with id, message and replace")
    unknown = set(data) - _MISTAKE_FIELDS
    if unknown:
        raise Problem("mistakes", f"{where} has unknown field '{sorted(unknown)[0]}'")
    try:
        mistake_id = _slug(data, "id", QUESTION_ID, "a slug")
        message = _text(data, "message")
        pairs = _require(data, "replace")
    except Problem as problem:
        raise Problem("mistakes", f"{where}: {problem.message}") from None
    if not isinstance(pairs, list) or not pairs:
        raise Problem("mistakes", f"{where}.replace must be a non-empty list of {{old, new}}")
    replace = []
    for pair in pairs:
        if (
            not isinstance(pair, dict)
            or set(pair) != {"old", "new"}
            or not all(isinstance(v, str) for v in pair.values())
            or not pair["old"]
        ):
            raise Problem("mistakes", f"{where}.replace items need exactly 'old' and 'new' text")
        replace.append((pair["old"], pair["new"]))
    return Mistake(id=mistake_id, message=message, replace=tuple(replace))


def parse_exercise(data: Any) -> Exercise:
    """Build an Exercise from one file's YAML mapping, or raise the first Problem."""
    if not isinstance(data, dict):
        raise Problem(None, f"an exercise file must hold a mapping, got {_type_name(data)}")
    _reject_unknown(data, _EXERCISE_FIELDS)
    _check_version(data)
    entry = _text(data, "entry")
    if not entry.isidentifier() or keyword.iskeyword(entry):
        raise Problem("entry", f"'entry' must be a Python name, got {excerpt(entry)}")
    check = _require(data, "check")
    if not isinstance(check, dict) or not isinstance(check.get("type"), str):
        raise Problem("check", "'check' must be a mapping with a 'type'")
    mistakes = _require(data, "mistakes")
    if not isinstance(mistakes, list):
        raise Problem("mistakes", "'mistakes' must be a list")
    return Exercise(
        id=_slug(data, "id", EXERCISE_ID, "a Python-style name (a-z, 0-9, _)"),
        title=_text(data, "title"),
        topic=_slug(data, "topic", QUESTION_ID, "a slug"),
        entry=entry,
        points=_positive_int(data, "points"),
        order=_positive_int(data, "order"),
        stub=_text(data, "stub"),
        check=check,
        mistakes=tuple(_parse_mistake(i, m) for i, m in enumerate(mistakes)),
    )
