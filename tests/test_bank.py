"""The bank loader and schema: every problem names its file (and line when it can)."""

from __future__ import annotations

import time
import tracemalloc
from pathlib import Path

import pytest
from typer.testing import CliRunner

from drill.bank import BankError, BankIssue, UnknownId, load_bank, resolve
from drill.cli import app

FIXTURE_BANK = Path(__file__).parent / "fixtures" / "bank"

CONCEPT = """\
format_version: 1
id: q
title: A question
topic: backprop
difficulty: easy
time: 2
companies: []
kind: concept
prompt: What is asked?
answer: The answer.
key_points: [one point]
hints: [one hint]
"""

CHOICE = """\
format_version: 1
id: pick
title: Pick one
topic: backprop
difficulty: medium
time: 1
companies: [Google]
kind: choice
prompt: Which one?
options: [first, second]
correct: [B]
answer: The second.
key_points: [it is the second]
hints: [not the first]
"""

EXERCISE = """\
format_version: 1
id: relu_backward
title: ReLU backward
topic: backprop
entry: ReLU
points: 5
order: 1
stub: "class ReLU: ..."
check:
  type: layer
mistakes: []
"""


def write_bank(root: Path, files: dict[str, str]) -> Path:
    """A bank folder under `root` holding `files` (paths relative to the bank)."""
    bank = root / "bank"
    for relative, text in files.items():
        path = bank / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return bank


def only_issue(bank: Path) -> BankIssue:
    with pytest.raises(BankError) as caught:
        load_bank(bank)
    assert len(caught.value.issues) == 1, caught.value.issues
    return caught.value.issues[0]


def line_of(text: str, start: str) -> int:
    """The 1-based number of the line of `text` that begins with `start`."""
    return next(n for n, line in enumerate(text.splitlines(), 1) if line.startswith(start))


def test_unknown_field_is_named_with_its_line(tmp_path: Path) -> None:
    text = CONCEPT + "colour: blue\n"
    bank = write_bank(tmp_path, {"backprop/q.yaml": text})
    issue = only_issue(bank)
    assert issue.path == bank / "backprop" / "q.yaml"
    assert "unknown field 'colour'" in issue.message
    assert issue.line == line_of(text, "colour:")
    assert str(issue).startswith(f"{bank / 'backprop' / 'q.yaml'}:{issue.line}: ")


def test_missing_field_is_named(tmp_path: Path) -> None:
    bank = write_bank(tmp_path, {"backprop/q.yaml": CONCEPT.replace("title: A question\n", "")})
    issue = only_issue(bank)
    assert issue.path == bank / "backprop" / "q.yaml"
    assert issue.message == "missing required field 'title'"


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("time: 2", "time: soon", "'time' must be a positive whole number, got 'soon'"),
        ("time: 2", "time: 0", "'time' must be a positive whole number, got 0"),
        ("companies: []", "companies: Google", "'companies' must be a list of text items"),
        ("title: A question", "title: [a, list]", "'title' must be text, got a list"),
        ("difficulty: easy", "difficulty: brutal", "'difficulty' must be one of easy,"),
    ],
)
def test_wrong_type_is_named_with_its_line(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    text = CONCEPT.replace(old, new)
    bank = write_bank(tmp_path, {"backprop/q.yaml": text})
    issue = only_issue(bank)
    assert message in issue.message
    assert issue.line == line_of(text, new.split(":")[0] + ":")


@pytest.mark.parametrize("empty", ['""', "'   '"])
def test_empty_answer_is_rejected(tmp_path: Path, empty: str) -> None:
    text = CONCEPT.replace("answer: The answer.", f"answer: {empty}")
    bank = write_bank(tmp_path, {"backprop/q.yaml": text})
    issue = only_issue(bank)
    assert issue.message == "'answer' is empty"
    assert issue.line == line_of(text, "answer:")


def test_duplicate_id_across_files_names_both_files(tmp_path: Path) -> None:
    bank = write_bank(
        tmp_path,
        {
            "backprop/q.yaml": CONCEPT,
            "other/q.yaml": CONCEPT.replace("topic: backprop", "topic: other"),
        },
    )
    issue = only_issue(bank)
    assert issue.path == bank / "other" / "q.yaml"
    assert issue.message == f"duplicate question id 'q' (also in {bank / 'backprop' / 'q.yaml'})"


def test_invalid_yaml_gives_the_line(tmp_path: Path) -> None:
    text = CONCEPT.replace("prompt: What is asked?", "prompt: [never closed")
    bank = write_bank(tmp_path, {"backprop/q.yaml": text})
    issue = only_issue(bank)
    assert issue.path == bank / "backprop" / "q.yaml"
    assert issue.message.startswith("invalid YAML")
    # The parser notices the open bracket at the next key, one line further down.
    assert issue.line == line_of(text, "prompt:") + 1


def test_unsupported_format_version(tmp_path: Path) -> None:
    bank = write_bank(
        tmp_path, {"backprop/q.yaml": CONCEPT.replace("format_version: 1", "format_version: 2")}
    )
    issue = only_issue(bank)
    assert issue.message == "unsupported format_version 2; this drill reads 1"
    assert issue.line == 1


def test_choice_correct_must_name_an_option(tmp_path: Path) -> None:
    text = CHOICE.replace("correct: [B]", "correct: [C]")
    bank = write_bank(tmp_path, {"backprop/pick.yaml": text})
    issue = only_issue(bank)
    assert issue.message == "'correct' names 'C'; options are A, B"
    assert issue.line == line_of(text, "correct:")


def test_code_question_needs_exercises(tmp_path: Path) -> None:
    bank = write_bank(tmp_path, {"backprop/q.yaml": CONCEPT.replace("kind: concept", "kind: code")})
    issue = only_issue(bank)
    assert issue.path == bank / "backprop" / "q.yaml"
    assert issue.message == "missing required field 'exercises'"


def test_question_naming_a_missing_exercise(tmp_path: Path) -> None:
    text = CONCEPT.replace("kind: concept", "kind: code") + "exercises: [relu_forward]\n"
    bank = write_bank(
        tmp_path, {"backprop/q.yaml": text, "backprop/exercises/relu_backward.yaml": EXERCISE}
    )
    issue = only_issue(bank)
    assert issue.path == bank / "backprop" / "q.yaml"
    assert issue.message == "names exercise 'relu_forward', which the bank lacks"


def test_exercise_check_needs_a_type(tmp_path: Path) -> None:
    text = EXERCISE.replace("  type: layer", "  kind: layer")
    bank = write_bank(
        tmp_path, {"backprop/q.yaml": CONCEPT, "backprop/exercises/relu_backward.yaml": text}
    )
    issue = only_issue(bank)
    assert issue.path == bank / "backprop" / "exercises" / "relu_backward.yaml"
    assert issue.message == "'check' must be a mapping with a 'type'"
    assert issue.line == line_of(text, "check:")


def test_every_bad_file_is_reported_at_once(tmp_path: Path) -> None:
    bank = write_bank(
        tmp_path,
        {
            "backprop/q.yaml": CONCEPT.replace("time: 2", "time: -1"),
            "backprop/pick.yaml": CHOICE.replace("correct: [B]", "correct: [Z]"),
        },
    )
    with pytest.raises(BankError) as caught:
        load_bank(bank)
    assert sorted(issue.path.name for issue in caught.value.issues) == ["pick.yaml", "q.yaml"]


def test_a_valid_bank_loads(tmp_path: Path) -> None:
    bank = write_bank(
        tmp_path,
        {
            "backprop/q.yaml": CONCEPT,
            "backprop/pick.yaml": CHOICE,
            "backprop/exercises/relu_backward.yaml": EXERCISE,
        },
    )
    loaded = load_bank(bank)
    assert sorted(loaded.questions) == ["pick", "q"]
    assert loaded.questions["pick"].options == ("first", "second")
    assert loaded.questions["pick"].correct == ("B",)
    assert loaded.exercises["relu_backward"].check == {"type": "layer"}


def test_the_fixture_bank_loads() -> None:
    bank = load_bank(FIXTURE_BANK)
    assert len(bank.questions) == 6
    assert {q.topic for q in bank.questions.values()} == {"backprop", "losses"}
    sigmoid = bank.questions["sigmoid-max-slope"]
    assert (sigmoid.kind, sigmoid.value, sigmoid.tolerance) == ("numeric", 0.25, 0.001)
    assert bank.questions["linear-backward-code"].exercises == ("linear_backward",)
    assert set(bank.exercises) == {"linear_backward"}


def test_check_command_exits_1_on_a_bad_bank(tmp_path: Path) -> None:
    bank = write_bank(tmp_path, {"backprop/q.yaml": CONCEPT + "colour: blue\n"})
    result = CliRunner().invoke(app, ["check", str(bank)])
    assert result.exit_code == 1
    assert f"{bank / 'backprop' / 'q.yaml'}:13: unknown field 'colour'" in result.stderr
    assert "1 problem found." in result.stderr


def test_check_command_exits_0_on_a_good_bank() -> None:
    result = CliRunner().invoke(app, ["check", str(FIXTURE_BANK)])
    assert result.exit_code == 0, result.output
    assert "6 questions and 1 exercise, no problems." in result.stdout


NAMES = ["sigmoid-max-slope", "softmax-facts", "relu-gradient-choice"]


def test_resolve_takes_an_exact_id_or_a_unique_prefix() -> None:
    assert resolve("softmax-facts", NAMES, "question") == "softmax-facts"
    assert resolve("rel", NAMES, "question") == "relu-gradient-choice"
    assert resolve("si", NAMES, "question") == "sigmoid-max-slope"


def test_an_exact_id_wins_over_a_longer_id_it_begins() -> None:
    names = ["softmax-jacobian-properties", "softmax-jacobian"]
    assert resolve("softmax-jacobian", names, "question") == "softmax-jacobian"
    assert resolve("softmax-jacobian-p", names, "question") == "softmax-jacobian-properties"
    shown = CliRunner().invoke(app, ["show", "softmax-jacobian"])
    assert shown.exit_code == 0, shown.output
    assert "softmax-jacobian-properties" not in shown.output


def test_resolve_refuses_an_ambiguous_prefix() -> None:
    with pytest.raises(UnknownId) as caught:
        resolve("s", NAMES, "question")
    assert caught.value.ambiguous
    assert caught.value.describe() == (
        "'s' matches several questions: sigmoid-max-slope, softmax-facts"
    )


def test_resolve_suggests_close_ids() -> None:
    with pytest.raises(UnknownId) as caught:
        resolve("sigmod-max-slope", NAMES, "question")
    assert caught.value.describe() == (
        "no question with id 'sigmod-max-slope'; did you mean 'sigmoid-max-slope'?"
    )


def test_resolve_without_anything_close_suggests_nothing() -> None:
    with pytest.raises(UnknownId) as caught:
        resolve("zzz", NAMES, "question")
    assert caught.value.describe() == "no question with id 'zzz'"


def test_a_key_given_twice_is_rejected_with_its_line(tmp_path):
    text = CONCEPT + "answer: A second answer.\n"
    bank = write_bank(tmp_path, {"backprop/q.yaml": text})
    issue = only_issue(bank)
    assert "the key 'answer' appears twice" in issue.message
    assert issue.line == len(text.splitlines())


@pytest.mark.parametrize("version", ["true", "1.0", "2"])
def test_format_version_must_be_exactly_the_integer_one(tmp_path, version):
    text = CONCEPT.replace("format_version: 1", f"format_version: {version}")
    issue = only_issue(write_bank(tmp_path, {"backprop/q.yaml": text}))
    assert "unsupported format_version" in issue.message
    assert issue.line == 1


@pytest.mark.parametrize("field", ["value", "tolerance"])
def test_numeric_fields_must_be_finite(tmp_path, field):
    numeric = CONCEPT.replace("kind: concept", "kind: numeric") + "value: 0.25\ntolerance: 0.01\n"
    text = numeric.replace(f"{field}: 0", f"{field}: .nan #")
    issue = only_issue(write_bank(tmp_path, {"backprop/q.yaml": text}))
    assert f"'{field}' must be a finite number" in issue.message
    assert issue.line == line_of(text, f"{field}:")


# --- banks are code, but their YAML is only data ------------------------------------------


def alias_bomb() -> str:
    """Nine levels of nine aliases each: under 500 bytes that stand for 9⁹ strings."""
    levels = ["  - &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for name, below in zip("bcdefghi", "abcdefgh"):
        levels.append(f"  - &{name} [{', '.join(['*' + below] * 9)}]")
    return "format_version:\n" + "\n".join(levels) + "\n" + CONCEPT.split("\n", 1)[1]


def test_an_alias_bomb_fails_fast_and_small(tmp_path):
    text = alias_bomb()
    assert len(text.encode()) < 800
    bank = write_bank(tmp_path, {"backprop/q.yaml": text})
    tracemalloc.start()
    started = time.perf_counter()
    try:
        issue = only_issue(bank)
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "anchors and aliases (& and *) are not allowed" in issue.message
    assert issue.line == 2
    # Expanded, the bomb is minutes of work and gigabytes; refused, it is milliseconds.
    assert elapsed < 5
    assert peak < 20 << 20


def test_an_anchor_alone_is_refused_too(tmp_path):
    text = CONCEPT.replace("title: A question", "title: &t A question")
    issue = only_issue(write_bank(tmp_path, {"backprop/q.yaml": text}))
    assert "anchors and aliases" in issue.message
    assert issue.line == line_of(text, "title:")


@pytest.mark.parametrize("key", ["1", "[a, b]", "{a: 1}", "null", "2.5"])
def test_a_key_that_is_not_text_is_a_bank_error_with_its_line(tmp_path, key):
    text = CONCEPT + f"? {key}\n: value\n"
    issue = only_issue(write_bank(tmp_path, {"backprop/q.yaml": text}))
    assert "is not text" in issue.message
    assert issue.line == len(CONCEPT.splitlines()) + 1


@pytest.mark.parametrize("digits", [400, 5000])
def test_an_integer_too_large_to_convert_is_a_bank_error_with_its_line(tmp_path, digits):
    text = CONCEPT.replace("time: 2", "time: " + "9" * digits)
    issue = only_issue(write_bank(tmp_path, {"backprop/q.yaml": text}))
    assert "is too large" in issue.message
    assert len(issue.message) < 120
    assert issue.line == line_of(text, "time:")


def test_nesting_beyond_any_need_is_refused(tmp_path):
    text = CONCEPT.replace("companies: []", "companies: " + "[" * 200 + "]" * 200)
    issue = only_issue(write_bank(tmp_path, {"backprop/q.yaml": text}))
    assert "nested more than" in issue.message
    assert issue.line == line_of(text, "companies:")


@pytest.mark.parametrize("field", ["title", "difficulty", "format_version"])
def test_an_error_message_quotes_only_an_excerpt_of_a_value(tmp_path, field):
    huge = "{" + ", ".join(f"k{i}: [{'x' * 50}, {i}]" for i in range(2000)) + "}"
    text = "\n".join(
        f"{field}: {huge}" if line.startswith(f"{field}:") else line
        for line in CONCEPT.splitlines()
    )
    issue = only_issue(write_bank(tmp_path, {"backprop/q.yaml": text + "\n"}))
    assert len(issue.message) < 200, issue.message
