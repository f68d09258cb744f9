"""The browsing and quiz commands, run through Typer's CliRunner against the fixture bank."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from rich.cells import cell_len
from typer.testing import CliRunner, Result

from drill.bank.schema import DIFFICULTIES, KINDS
from drill.cli import Difficulty, Kind, app

FIXTURE_BANK = Path(__file__).parent / "fixtures" / "bank"
ALL_IDS = [
    "chain-rule-basics",
    "linear-backward-code",
    "mse-gradient",
    "relu-gradient-choice",
    "sigmoid-max-slope",
    "softmax-facts",
]
# Rich must not colour anything, whatever the environment running the tests says.
PLAIN = {"NO_COLOR": "1", "COLUMNS": "100", "FORCE_COLOR": None, "TTY_COMPATIBLE": None}


def drill(*args: str, input: str | None = None, env: dict[str, str | None] | None = None) -> Result:
    """Run `drill ARGS --bank <fixture bank>`."""
    return CliRunner().invoke(
        app, [*args, "--bank", str(FIXTURE_BANK)], input=input, env={**PLAIN, **(env or {})}
    )


def listed_ids(output: str) -> list[str]:
    return [name for name in ALL_IDS if name in output]


# -- list ----------------------------------------------------------------------------------


def test_list_shows_a_table_of_every_question() -> None:
    result = drill("list")
    assert result.exit_code == 0, result.output
    header = result.stdout.splitlines()[0].split()
    assert header == ["id", "title", "difficulty", "time", "companies", "kind"]
    assert listed_ids(result.stdout) == ALL_IDS
    row = next(line for line in result.stdout.splitlines() if "sigmoid-max-slope" in line)
    assert row.split()[-4:] == ["2", "min", "Google", "numeric"]


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (["--difficulty", "hard"], ["mse-gradient", "softmax-facts"]),
        (["--difficulty", "HARD"], ["mse-gradient", "softmax-facts"]),
        (["--kind", "choice"], ["relu-gradient-choice", "softmax-facts"]),
        (["--topic", "losses"], ["mse-gradient"]),
        (
            ["--company", "google", "--difficulty", "easy"],
            ["chain-rule-basics", "sigmoid-max-slope"],
        ),
    ],
)
def test_list_filters(options: list[str], expected: list[str]) -> None:
    result = drill("list", *options)
    assert result.exit_code == 0, result.output
    assert listed_ids(result.stdout) == expected


def test_list_json_has_the_same_fields() -> None:
    result = drill("list", "--json", "--company", "Google")
    assert result.exit_code == 0, result.output
    questions = json.loads(result.stdout)
    assert [q["id"] for q in questions] == [
        "chain-rule-basics",
        "mse-gradient",
        "sigmoid-max-slope",
    ]
    assert questions[2] == {
        "id": "sigmoid-max-slope",
        "title": "The largest slope of the sigmoid",
        "difficulty": "easy",
        "time": 2,
        "companies": ["Google"],
        "kind": "numeric",
    }


def test_list_without_matches_says_so_and_succeeds() -> None:
    result = drill("list", "--company", "Nowhere Inc")
    assert result.exit_code == 0
    assert result.stdout.strip() == "No questions match these filters; drop one to see more."
    assert json.loads(drill("list", "--company", "Nowhere Inc", "--json").stdout) == []


def test_bad_filter_value_exits_2_naming_the_choices() -> None:
    result = drill("list", "--difficulty", "extreme")
    assert result.exit_code == 2
    assert "'extreme' is not one of 'easy', 'medium', 'hard'" in result.stderr


def test_filter_choices_match_the_bank_schema() -> None:
    assert [d.value for d in Difficulty] == list(DIFFICULTIES)
    assert [k.value for k in Kind] == list(KINDS)


def test_a_broken_bank_exits_2(tmp_path: Path) -> None:
    (tmp_path / "backprop").mkdir()
    (tmp_path / "backprop" / "q.yaml").write_text("format_version: 1\nid: q\n")
    result = CliRunner().invoke(app, ["list", "--bank", str(tmp_path)], env=PLAIN)
    assert result.exit_code == 2
    assert "the question bank has 1 problem;" in result.stderr


@pytest.mark.parametrize("command", [["list"], ["quiz", "--all"], ["grade", "solution.py"]])
def test_a_bank_folder_that_does_not_exist_is_named_in_one_line(
    tmp_path: Path, command: list[str]
) -> None:
    solution = tmp_path / "solution.py"
    solution.write_text("")
    missing = tmp_path / "no-such-bank"
    arguments = [str(solution) if word == "solution.py" else word for word in command]
    result = CliRunner().invoke(
        app, [*arguments, "--bank", str(missing)], env=PLAIN, catch_exceptions=False
    )
    assert result.exit_code == 2
    assert result.stderr == f"drill: no such bank folder: {missing}\n"


# -- show, hint, reveal --------------------------------------------------------------------


def test_show_gives_the_prompt_and_options_but_never_the_answer() -> None:
    result = drill("show", "relu")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "The gradient of ReLU" in out
    assert "medium · 2 min · Meta · choice" in out
    assert "What does ReLU pass back to its input" in out
    assert "B. The upstream gradient where the input was positive" in out
    assert "flows through the positive entries" not in out
    assert "The mask comes from the forward input" not in out
    assert "Correct" not in out
    assert "Hints (1): drill hint relu-gradient-choice" in out
    assert "Answer: drill reveal relu-gradient-choice" in out


def test_show_points_code_questions_to_init_and_grade() -> None:
    result = drill("show", "linear-backward-code")
    assert result.exit_code == 0, result.output
    assert "drill init solution.py --only linear_backward" in result.stdout
    assert "drill grade solution.py --only linear_backward" in result.stdout
    assert "self.X.T @ dY" not in result.stdout


def test_hint_shows_the_first_hint_by_default() -> None:
    result = drill("hint", "sigmoid-max-slope")
    assert result.exit_code == 0, result.output
    assert "Hint 1 of 3" in result.stdout
    assert "Write the derivative in terms of p = σ(x)." in result.stdout
    assert "parabola" not in result.stdout


def test_hint_number_picks_one_hint() -> None:
    result = drill("hint", "sigmoid-max-slope", "--number", "2")
    assert result.exit_code == 0, result.output
    assert "Hint 2 of 3" in result.stdout
    assert "p(1 − p) is a parabola in p." in result.stdout
    assert "Write the derivative" not in result.stdout


def test_hint_all_shows_every_hint_in_order() -> None:
    out = drill("hint", "sigmoid-max-slope", "--all").stdout
    positions = [out.index(f"Hint {n} of 3") for n in (1, 2, 3)]
    assert positions == sorted(positions)
    assert "Its vertex is at p = ½." in out


def test_hint_out_of_range_exits_2() -> None:
    result = drill("hint", "sigmoid-max-slope", "--number", "4")
    assert result.exit_code == 2
    assert "has 3 hints; ask for --number 1 to 3" in result.stderr
    assert drill("hint", "sigmoid-max-slope", "--number", "0").exit_code == 2


def test_hint_refuses_number_with_all() -> None:
    result = drill("hint", "sigmoid-max-slope", "--all", "--number", "2")
    assert result.exit_code == 2
    assert "not both" in result.stderr


def test_reveal_shows_answer_code_and_key_points() -> None:
    result = drill("reveal", "chain")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "a product of local derivatives" in out
    assert "for layer in reversed(layers):" in out
    assert "☐ The loss is a composition of layers" in out
    assert "☐ Each layer only needs its local derivative" in out


def test_reveal_gives_the_correct_options_and_value() -> None:
    choice = drill("reveal", "softmax-facts").stdout
    assert "✓ A. The gradient with respect to the logits is p − y" in choice
    assert "✗ B. The gradient depends on the largest logit only" in choice
    assert "✓ C. Subtracting the largest logit does not change the output" in choice
    assert "Expected value: 0.25 (± 0.001)" in drill("reveal", "sigmoid").stdout


@pytest.mark.parametrize("command", ["show", "hint", "reveal"])
def test_unknown_id_exits_2_with_a_suggestion(command: str) -> None:
    result = drill(command, "sigmod-max-slope")
    assert result.exit_code == 2
    assert result.stderr == (
        "drill: no question with id 'sigmod-max-slope'; did you mean 'sigmoid-max-slope'?\n"
    )


def test_ambiguous_prefix_exits_2_listing_the_candidates() -> None:
    result = drill("show", "s")
    assert result.exit_code == 2
    assert "'s' matches several questions: sigmoid-max-slope, softmax-facts" in result.stderr


# -- quiz without a terminal ---------------------------------------------------------------


def summary_rows(output: str) -> list[list[str]]:
    """The cells of the body rows of the session summary table."""
    return [
        [cell.strip() for cell in line.strip().strip("│").split("│")]
        for line in output.splitlines()
        if line.startswith("│")
    ]


def test_quiz_reads_answers_line_by_line() -> None:
    # Seed 1 asks softmax-facts first, then relu-gradient-choice.
    result = drill("quiz", "--kind", "choice", "--seed", "1", input="a,c\n3\nd\n1\n")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.index("Facts about softmax") < out.index("The gradient of ReLU")
    assert "✓ Right." in out
    assert "✗ Wrong." in out
    assert "Session summary" in out
    rows = summary_rows(out)
    assert [row[1].split(" / ")[1] for row in rows] == ["4:00", "2:00"]
    assert [row[:1] + row[2:] for row in rows] == [
        ["softmax-facts", "right", "good", "0"],
        ["relu-gradient-choice", "wrong", "again", "0"],
    ]
    assert "2 questions: 1 right, 1 wrong, 0 skipped" in out


def test_quiz_hint_skip_and_end_of_input() -> None:
    result = drill("quiz", "--topic", "losses", input="?\n?\ns\n")
    assert result.exit_code == 0, result.output
    assert "Hint 1 of 1" in result.stdout
    assert "no more hints for this question" in result.stdout
    [row] = summary_rows(result.stdout)
    assert row[:1] + row[2:] == ["mse-gradient", "skipped", "none", "1"]


def test_quiz_end_of_input_mid_question_still_prints_the_summary() -> None:
    result = drill("quiz", "--kind", "numeric", input="a quarter\n")
    assert result.exit_code == 0, result.output
    assert "is not a number" in result.stdout
    assert "No questions answered." in result.stdout


def test_quiz_count_limits_the_questions() -> None:
    result = drill("quiz", "--count", "1", "--seed", "2", input="\n\n3\n")
    assert result.exit_code == 0, result.output
    assert "Question 1 of 1" in result.stdout
    assert "1 question:" in result.stdout


def test_quiz_without_matches_exits_2() -> None:
    result = drill("quiz", "--company", "Nowhere Inc")
    assert result.exit_code == 2
    assert "no questions match these filters" in result.stderr


# -- plain, narrow output ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "input"),
    [
        (["list"], None),
        (["show", "linear-backward-code"], None),
        (["hint", "sigmoid-max-slope", "--all"], None),
        (["reveal", "chain-rule-basics"], None),
        (["reveal", "softmax-facts"], None),
        (["quiz", "--seed", "1"], "?\nb\n2\n\n3\n1/4\ng\ns\n\n4\n"),
    ],
)
def test_no_colour_and_40_columns(args: list[str], input: str | None) -> None:
    result = drill(*args, input=input, env={"COLUMNS": "40"})
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.stdout
    widest = max(cell_len(line) for line in result.stdout.splitlines())
    assert widest <= 40


def test_narrow_summary_gives_one_block_per_question() -> None:
    result = drill("quiz", "--kind", "numeric", input="1/4\ng\n", env={"COLUMNS": "40"})
    assert result.exit_code == 0, result.output
    assert re.search(
        r"Session summary\nsigmoid-max-slope\n  0:0\d / 2:00 · right · good · 0 hints\n",
        result.stdout,
    )


# -- help and start-up cost ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "phrases"),
    [
        ("list", ["--topic", "--difficulty", "--company", "--kind", "--json", "--bank"]),
        ("show", ["never its answer", "any unique start of one"]),
        ("hint", ["--number", "--all"]),
        ("reveal", ["key points"]),
        ("quiz", ["--count", "--seed", "shows the next hint", "skips", "printf"]),
    ],
)
def test_every_command_explains_itself(command: str, phrases: list[str]) -> None:
    result = CliRunner().invoke(app, [command, "--help"], env=PLAIN)
    assert result.exit_code == 0
    words = " ".join(result.stdout.split())
    for phrase in phrases:
        assert phrase in words


NUMPY_FREE = """
import sys
from drill.cli import app
try:
    app(sys.argv[1:])
except SystemExit as leaving:
    assert leaving.code in (0, None), leaving.code
heavy = sorted(name for name in ("numpy", "drill.grader") if name in sys.modules)
print("heavy modules:", heavy)
"""


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["list", "--bank", str(FIXTURE_BANK)],
        ["show", "relu", "--bank", str(FIXTURE_BANK)],
    ],
)
def test_light_commands_do_not_import_numpy(args: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, "-c", NUMPY_FREE, *args], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "heavy modules: []"
