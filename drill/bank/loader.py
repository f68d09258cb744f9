"""Reading a bank folder: every YAML file parsed, validated, and cross-checked.

A bank is a folder of topic folders. `<topic>/<id>.yaml` are questions and
`<topic>/exercises/<id>.yaml` are graded exercises. The reference solutions of a topic live
in `solutions/<topic>.py` beside the bank folder.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

from drill.bank.schema import Exercise, Problem, Question, parse_exercise, parse_question
from drill.files import write_atomically
from drill.text import excerpt

# Deeper nesting than any bank needs only serves to exhaust the stack.
MAX_DEPTH = 40


@cache
def _yaml_loader() -> Any:
    """The safe loader with string keys only, each given once, and integers that fit a float.

    Built on first use: a bank read from drill grade's cache never needs YAML.
    """
    import yaml

    # libyaml's C loader is several times faster; fall back to the pure-Python one without it.
    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class Loader(base):  # type: ignore[misc, valid-type]
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

    Loader.add_constructor("tag:yaml.org,2002:int", Loader.construct_yaml_int)
    return Loader


def _check_structure(text: str) -> None:
    """Refuse anchors, aliases and deep nesting from the event stream, before building data.

    An alias repeats a whole subtree: a few hundred bytes of nested aliases stand for
    billions of values, so they are refused before anything is built from them.
    """
    import yaml

    depth = 0
    for event in yaml.parse(text, Loader=_yaml_loader()):
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
    import yaml

    if field_name is None:
        return None
    try:
        node = yaml.compose(text, Loader=_yaml_loader())
    except yaml.YAMLError:
        return None
    if isinstance(node, yaml.MappingNode):
        for key, _ in node.value:
            if getattr(key, "value", None) == field_name:
                return key.start_mark.line + 1
    return None


# What _read_data returns for a file it could not read or parse (None is an empty file's data).
_UNREADABLE = object()


def _read_data(path: Path, issues: list[BankIssue]) -> Any:
    """The YAML data of one file, or _UNREADABLE with an issue saying why there is none."""
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        issues.append(BankIssue(path, f"cannot read file: {error}"))
        return _UNREADABLE
    try:
        _check_structure(text)
        return yaml.load(text, Loader=_yaml_loader())
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        problem = getattr(error, "problem", None) or "not valid YAML"
        line = mark.line + 1 if mark is not None else None
        issues.append(BankIssue(path, f"invalid YAML: {problem}", line))
        return _UNREADABLE


def _parse(path: Path, data: Any, parse: Callable[[Any], T], issues: list[BankIssue]) -> T | None:
    try:
        return parse(data)
    except Problem as problem:
        try:
            line = _line_of(path.read_text(encoding="utf-8"), problem.field)
        except (OSError, UnicodeDecodeError):
            line = None
        issues.append(BankIssue(path, problem.message, line))
        return None


def _yaml_files(folder: Path) -> Iterable[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())


def _bank_files(root: Path) -> list[tuple[str, bool, Path]]:
    """(topic, is an exercise, path) of every YAML file of the bank, in loading order."""
    files = []
    topics = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    for topic in topics:
        files += [(topic.name, False, path) for path in _yaml_files(topic)]
        exercise_dir = topic / "exercises"
        if exercise_dir.is_dir():
            files += [(topic.name, True, path) for path in _yaml_files(exercise_dir)]
    return files


def load_bank(root: Path | None = None, cache: Path | None = None) -> Bank:
    """Load and validate every file of the bank at `root`; raise BankError listing all problems.

    With a `cache` file, the YAML data of a bank whose files are all unchanged since it was
    last loaded without a problem is read from that cache instead of parsed again; the schema
    checks still run on it. Any difference, or a cache that cannot be read, means a full load.
    """
    root = default_bank_dir() if root is None else root
    if not root.is_dir():
        raise BankError([BankIssue(root, "no such bank folder")])
    bank = Bank(root=root)
    issues: list[BankIssue] = []
    files = _bank_files(root)
    # Taken before reading: a file saved meanwhile does not match them next time.
    stamps = _stamps(files) if cache is not None else None
    cached = read_bank_cache(cache, root, stamps) if cache is not None and stamps else None
    contents = []
    for index, (topic, is_exercise, path) in enumerate(files):
        data = cached[index] if cached is not None else _read_data(path, issues)
        contents.append(data)
        if data is _UNREADABLE:
            continue  # its issue is recorded
        if is_exercise:
            exercise = _parse(path, data, parse_exercise, issues)
            if exercise is not None:
                _add(bank.exercises, exercise, path, topic, bank.sources, issues)
        else:
            question = _parse(path, data, parse_question, issues)
            if question is not None:
                _add(bank.questions, question, path, topic, bank.sources, issues)
    _cross_check(bank, issues)
    bank.exercises = dict(sorted(bank.exercises.items(), key=lambda item: item[1].order))
    if issues:
        raise BankError(issues)
    if not bank.questions:
        raise BankError([BankIssue(root, "the bank holds no questions")])
    if cache is not None and cached is None and stamps:
        write_bank_cache(cache, root, stamps, contents)
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


# -- The cache of a bank's parsed data --------------------------------------------------------

# Part of every cache's key: a change to what the loader accepts must invalidate old caches.
CACHE_FORMAT = 1


def bank_cache_path(root: Path) -> Path:
    """Where drill grade keeps the parsed data of the bank at `root`.

    $DRILL_HOME/cache when set, else the user cache folder for "drill" (platformdirs); one
    file per bank folder.
    """
    home = os.environ.get("DRILL_HOME")
    if home:
        folder = Path(home).expanduser() / "cache"
    else:
        import platformdirs

        folder = platformdirs.user_cache_path("drill", appauthor=False)
    digest = hashlib.sha256(os.fsencode(root.resolve())).hexdigest()[:16]
    return folder / f"bank-{digest}.json"


def _stamps(files: list[tuple[str, bool, Path]]) -> list[list[Any]] | None:
    """[path, size, mtime_ns] of each file, or None when one cannot be looked at."""
    try:
        return [[str(path), *_size_and_mtime(path)] for _, _, path in files]
    except OSError:
        return None


def _size_and_mtime(path: Path) -> tuple[int, int]:
    status = path.stat()
    return status.st_size, status.st_mtime_ns


def _cache_key(root: Path) -> list[Any]:
    from drill import __version__

    return [CACHE_FORMAT, __version__, str(root.resolve())]


def read_bank_cache(cache: Path, root: Path, stamps: list[list[Any]]) -> list[Any] | None:
    """The cached data of each file, in `stamps`' order, when every file is as it was cached."""
    try:
        stored = json.loads(cache.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        return None
    if not isinstance(stored, dict) or stored.get("key") != _cache_key(root):
        return None
    if stored.get("files") != stamps or not isinstance(stored.get("data"), list):
        return None
    data: list[Any] = stored["data"]
    return data if len(data) == len(stamps) else None


def write_bank_cache(cache: Path, root: Path, stamps: list[list[Any]], data: list[Any]) -> None:
    """Keep the bank's data for the next load, if JSON gives every value back unchanged.

    YAML can build values JSON cannot tell apart (dates, tuples): such a bank is not cached.
    A cache that cannot be written is no error: the next load reads every file again.
    """
    try:
        text = json.dumps({"key": _cache_key(root), "files": stamps, "data": data})
    except (TypeError, ValueError):  # a value JSON has no form for
        return
    if json.loads(text)["data"] != data:
        return
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(cache, text)
    except OSError:
        pass
