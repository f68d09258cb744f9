"""The data model of the bank: questions and graded exercises, validated strictly.

Validation works on the plain mapping that YAML produced. Each problem is reported as a
`Problem` naming the field, so the loader can attach the file and line.
"""

from __future__ import annotations

import dataclasses
import keyword
import math
import re
from dataclasses import dataclass
from typing import Any

from drill.formula.syntax import RESERVED_NAMES, Rejected, read
from drill.text import excerpt

FORMAT_VERSION = 1
DIFFICULTIES = ("easy", "medium", "hard")
KINDS = ("concept", "derivation", "code", "choice", "numeric", "formula")
QUESTION_ID = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")
EXERCISE_ID = re.compile(r"[a-z][a-z0-9_]*")


class Problem(Exception):
    """One thing wrong with one field of one file."""

    def __init__(self, field: str | None, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class FormulaMistake:
    """A known wrong expression for one asked gradient, and what to tell the user."""

    expression: str
    message: str


@dataclass(frozen=True)
class FormulaAnswer:
    """One gradient a formula question asks for: `name` is what the user may label it with
    (dW), `label` how the prompt writes it (∂L/∂W), `reference` a correct expression."""

    name: str
    label: str
    reference: str
    mistakes: tuple[FormulaMistake, ...]


@dataclass(frozen=True)
class ExerciseLink:
    """A graded exercise whose reference solution must agree with the formula's references:
    `inputs` binds formula variables to the exercise's arrays (or the reference's recorded
    values), `answers` binds answer names to the values the reference records."""

    exercise: str
    inputs: tuple[tuple[str, str], ...]
    answers: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Formula:
    """The setting of a formula question: variables generated as graded exercises' arrays are
    (`variables`, declarations as in a check's `arrays`), variables computed from them
    (`derived`, in order), the concrete dimension sizes, and the asked gradients."""

    variables: dict[str, dict[str, Any]] = dataclasses.field(hash=False)
    derived: tuple[tuple[str, str], ...]
    sizes: tuple[tuple[str, int], ...]
    answers: tuple[FormulaAnswer, ...]
    checked_against: ExerciseLink | None = None

    def names(self) -> list[str]:
        """Every array name an expression may use: the variables, then the derived ones."""
        return [*self.variables, *(name for name, _ in self.derived)]


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
    formula: Formula | None = None


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
    *("variables", "derived", "sizes", "answers", "checked_against"),
}
_KIND_ONLY_FIELDS = {
    "options": "choice",
    "correct": "choice",
    "value": "numeric",
    "tolerance": "numeric",
    "variables": "formula",
    "derived": "formula",
    "sizes": "formula",
    "answers": "formula",
    "checked_against": "formula",
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
    elif kind == "formula":
        extra = {"formula": _parse_formula(data)}
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


_ANSWER_FIELDS = {"name", "label", "reference", "mistakes"}
_LINK_FIELDS = {"exercise", "inputs", "answers"}


def _mapping(data: dict[str, Any], field_name: str) -> dict[Any, Any]:
    value = _require(data, field_name)
    if not isinstance(value, dict) or not value:
        raise Problem(field_name, f"'{field_name}' must be a non-empty mapping")
    return value


def _name(field_name: str, name: Any, taken: set[str]) -> str:
    if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
        raise Problem(field_name, f"{name!r} in '{field_name}' is not a usable name")
    if name in RESERVED_NAMES:
        raise Problem(field_name, f"'{name}' in '{field_name}' is the name of a function")
    if name in taken:
        raise Problem(field_name, f"'{name}' in '{field_name}' is already used")
    taken.add(name)
    return name


def _expression(field_name: str, where: str, text: Any, names: list[str], sizes: list[str]) -> str:
    if not isinstance(text, str) or not text.strip():
        raise Problem(field_name, f"{where} must be an expression")
    try:
        read(text, names, sizes)
    except Rejected as rejected:
        raise Problem(field_name, f"{where}: {rejected.message}") from None
    return text.strip()


def _parse_formula(data: dict[str, Any]) -> Formula:
    taken: set[str] = set()
    sizes = {}
    for name, value in _mapping(data, "sizes").items():
        _name("sizes", name, taken)
        if isinstance(value, bool) or not isinstance(value, int) or not 2 <= value <= 64:
            raise Problem("sizes", f"size '{name}' must be a whole number from 2 to 64")
        sizes[name] = value
    if len(set(sizes.values())) != len(sizes):
        raise Problem("sizes", "sizes must differ from each other, so a transposed answer shows")
    variables = {}
    for name, declaration in _mapping(data, "variables").items():
        _name("variables", name, taken)
        shape = declaration.get("shape") if isinstance(declaration, dict) else None
        if not isinstance(shape, list) or not all(
            (isinstance(d, str) and d in sizes) or (type(d) is int and d > 0) for d in shape
        ):
            raise Problem(
                "variables",
                f"variable '{name}' needs a 'shape': a list of size names or whole numbers",
            )
        variables[name] = declaration
    names = list(variables)
    derived = []
    raw_derived = data.get("derived", {})
    if not isinstance(raw_derived, dict):
        raise Problem("derived", "'derived' must map names to expressions")
    for name, text in raw_derived.items():
        _name("derived", name, taken)
        derived.append((name, _expression("derived", f"derived '{name}'", text, names, [*sizes])))
        names.append(name)
    answers = _require(data, "answers")
    if not isinstance(answers, list) or not answers:
        raise Problem("answers", "'answers' must be a non-empty list")
    parsed = [_parse_answer(i, item, names, [*sizes]) for i, item in enumerate(answers)]
    if len({answer.name for answer in parsed}) != len(parsed):
        raise Problem("answers", "two answers have the same name")
    link = None
    if "checked_against" in data:
        link = _parse_link(data["checked_against"], variables, [a.name for a in parsed])
    return Formula(
        variables=variables,
        derived=tuple(derived),
        sizes=tuple(sizes.items()),
        answers=tuple(parsed),
        checked_against=link,
    )


def _parse_answer(index: int, data: Any, names: list[str], sizes: list[str]) -> FormulaAnswer:
    where = f"answers[{index}]"
    if not isinstance(data, dict):
        raise Problem("answers", f"{where} must be a mapping with name, label, reference, mistakes")
    unknown = set(data) - _ANSWER_FIELDS
    if unknown:
        raise Problem("answers", f"{where} has unknown field '{sorted(unknown)[0]}'")
    try:
        name = _text(data, "name")
        label = _text(data, "label")
        mistakes = _require(data, "mistakes")
    except Problem as problem:
        raise Problem("answers", f"{where}: {problem.message}") from None
    if not name.isidentifier():
        raise Problem("answers", f"{where}: the name {name!r} is not a usable name")
    reference = _expression("answers", f"{where}.reference", data.get("reference"), names, sizes)
    if not isinstance(mistakes, list) or not mistakes:
        raise Problem("answers", f"{where}.mistakes must be a non-empty list")
    parsed = []
    for number, mistake in enumerate(mistakes):
        spot = f"{where}.mistakes[{number}]"
        if not isinstance(mistake, dict) or set(mistake) != {"expression", "message"}:
            raise Problem("answers", f"{spot} needs exactly 'expression' and 'message'")
        message = mistake["message"]
        if not isinstance(message, str) or not message.strip():
            raise Problem("answers", f"{spot}.message must be text")
        expression = _expression(
            "answers", f"{spot}.expression", mistake["expression"], names, sizes
        )
        parsed.append(FormulaMistake(expression, message.strip()))
    return FormulaAnswer(name, label, reference, tuple(parsed))


def _parse_link(data: Any, variables: dict[str, Any], answers: list[str]) -> ExerciseLink:
    if not isinstance(data, dict) or set(data) != _LINK_FIELDS:
        raise Problem(
            "checked_against", "'checked_against' needs exactly exercise, inputs, answers"
        )
    exercise = data["exercise"]
    if not isinstance(exercise, str) or not EXERCISE_ID.fullmatch(exercise):
        raise Problem("checked_against", f"{exercise!r} is not an exercise id")
    pairs = {}
    for field_name, allowed in (("inputs", list(variables)), ("answers", answers)):
        mapping = data[field_name]
        if not isinstance(mapping, dict) or not mapping:
            raise Problem("checked_against", f"checked_against.{field_name} must be a mapping")
        for key, value in mapping.items():
            if key not in allowed or not isinstance(value, str):
                raise Problem(
                    "checked_against",
                    f"checked_against.{field_name}: '{key}' must be one of {', '.join(allowed)} "
                    "and name a value of the exercise",
                )
        pairs[field_name] = tuple(mapping.items())
    if set(dict(pairs["inputs"])) != set(variables):
        raise Problem("checked_against", "checked_against.inputs must bind every variable")
    return ExerciseLink(exercise, pairs["inputs"], pairs["answers"])
