"""Reading a bank folder: every YAML file parsed, validated, and cross-checked.

A bank is a folder of topic folders. `<topic>/<id>.yaml` are questions and
`<topic>/exercises/<id>.yaml` are graded exercises. The reference solutions of a topic live
in `solutions/<topic>.py` beside the bank folder.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml

from drill.bank.schema import Exercise, Problem, Question, parse_exercise, parse_question
from drill.text import excerpt

# libyaml's C loader is several times faster; fall back to the pure-Python one without it.
_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


# Deeper nesting than any bank needs only serves to exhaust the stack.
MAX_DEPTH = 40


class _Loader(_BaseLoader):  # type: ignore[misc, valid-type]
    """The safe loader with string keys only, each given once, and integers that fit a float."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, str):
                raise yaml.constructor.ConstructorError(
                    None, None, f"the key {excerpt(key)} is not text", key_node.start_mark
                )
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"the key {excerpt(key)} appears twice", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int:
        try:
            value = super().construct_yaml_int(node)
            float(value)
        except (ValueError, OverflowError):  # beyond a float, or too many digits to convert
            raise yaml.constructor.ConstructorError(
                None, None, f"the integer {excerpt(node.value)} is too large", node.start_mark
            ) from None
        return value


_Loader.add_constructor("tag:yaml.org,2002:int", _Loader.construct_yaml_int)


def _check_structure(text: str) -> None:
    """Refuse anchors, aliases and deep nesting from the event stream, before building data.

    An alias repeats a whole subtree: a few hundred bytes of nested aliases stand for
    billions of values, so they are refused before anything is built from them.
    """
    depth = 0
    for event in yaml.parse(text, Loader=_Loader):
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise yaml.MarkedYAMLError(
                problem="anchors and aliases (& and *) are not allowed in bank files",
                problem_mark=event.start_mark,
            )
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise yaml.MarkedYAMLError(
                    problem=f"nested more than {MAX_DEPTH} levels deep",
                    problem_mark=event.start_mark,
                )
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


T = TypeVar("T")


@dataclass(frozen=True)
class BankIssue:
    """One problem in one file, ready to print as `path:line: message`."""

    path: Path
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else str(self.path)
        return f"{where}: {self.message}"


class BankError(Exception):
    """The bank cannot be used as it is; `issues` says why, file by file."""

    def __init__(self, issues: list[BankIssue]) -> None:
        super().__init__("\n".join(str(issue) for issue in issues))
        self.issues = issues


@dataclass
class Bank:
    root: Path
    questions: dict[str, Question] = field(default_factory=dict)
    exercises: dict[str, Exercise] = field(default_factory=dict)
    sources: dict[str, Path] = field(default_factory=dict)

    def solutions_dir(self) -> Path:
        return self.root.parent / "solutions"

    def reference_path(self, exercise: Exercise) -> Path:
        return self.solutions_dir() / f"{exercise.topic}.py"


def default_bank_dir() -> Path:
    """The bank shipped with drill: packaged data when installed, the checkout otherwise."""
    package = Path(__file__).resolve().parent.parent
    packaged = package / "_data" / "questions"
    return packaged if packaged.is_dir() else package.parent / "questions"


def _line_of(text: str, field_name: str | None) -> int | None:
    """The 1-based line of a top-level key, found only when an error needs it."""
    if field_name is None:
        return None
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.YAMLError:
        return None
    if isinstance(node, yaml.MappingNode):
        for key, _ in node.value:
            if getattr(key, "value", None) == field_name:
                return key.start_mark.line + 1
    return None


def _read(path: Path, parse: Callable[[Any], T], issues: list[BankIssue]) -> T | None:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        issues.append(BankIssue(path, f"cannot read file: {error}"))
        return None
    try:
        _check_structure(text)
        data = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        problem = getattr(error, "problem", None) or "not valid YAML"
        line = mark.line + 1 if mark is not None else None
        issues.append(BankIssue(path, f"invalid YAML: {problem}", line))
        return None
    try:
        return parse(data)
    except Problem as problem:
        issues.append(BankIssue(path, problem.message, _line_of(text, problem.field)))
        return None


def _yaml_files(folder: Path) -> Iterable[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())


def load_bank(root: Path | None = None) -> Bank:
    """Load and validate every file of the bank at `root`; raise BankError listing all problems."""
    root = default_bank_dir() if root is None else root
    if not root.is_dir():
        raise BankError([BankIssue(root, "no such bank folder")])
    bank = Bank(root=root)
    issues: list[BankIssue] = []
    topics = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    for topic in topics:
        for path in _yaml_files(topic):
            question = _read(path, parse_question, issues)
            if question is not None:
                _add(bank.questions, question, path, topic.name, bank.sources, issues)
        exercise_dir = topic / "exercises"
        if exercise_dir.is_dir():
            for path in _yaml_files(exercise_dir):
                exercise = _read(path, parse_exercise, issues)
                if exercise is not None:
                    _add(bank.exercises, exercise, path, topic.name, bank.sources, issues)
    _cross_check(bank, issues)
    bank.exercises = dict(sorted(bank.exercises.items(), key=lambda item: item[1].order))
    if issues:
        raise BankError(issues)
    if not bank.questions:
        raise BankError([BankIssue(root, "the bank holds no questions")])
    return bank


def _add(
    table: dict[str, Any],
    item: Question | Exercise,
    path: Path,
    topic: str,
    sources: dict[str, Path],
    issues: list[BankIssue],
) -> None:
    what = "question" if isinstance(item, Question) else "exercise"
    source_key = f"{what}:{item.id}"
    if item.id in table:
        first = sources[source_key]
        issues.append(BankIssue(path, f"duplicate {what} id '{item.id}' (also in {first})"))
        return
    if item.topic != topic:
        issues.append(BankIssue(path, f"topic '{item.topic}' does not match folder '{topic}'"))
    if path.stem != item.id:
        issues.append(BankIssue(path, f"file name must be '{item.id}.yaml' to match its id"))
    table[item.id] = item
    sources[source_key] = path


def _cross_check(bank: Bank, issues: list[BankIssue]) -> None:
    for question in bank.questions.values():
        for name in question.exercises:
            if name not in bank.exercises:
                path = bank.sources[f"question:{question.id}"]
                issues.append(BankIssue(path, f"names exercise '{name}', which the bank lacks"))
