"""drill interview through the CLI (piped input) and through a pseudo-terminal, end to end."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from pty_screen import DrillTerminal
from rich.cells import cell_len
from typer.testing import CliRunner, Result

from drill.cli import app
from drill.progress.store import open_store

FIXTURES = Path(__file__).parent / "fixtures"
FIXTURE_BANK = FIXTURES / "bank"
CORRECT_LINEAR = (FIXTURES / "solutions" / "backprop.py").read_text()
PLAIN = {"NO_COLOR": "1", "COLUMNS": "120", "FORCE_COLOR": None, "TTY_COMPATIBLE": None}
# With seed 1 the fixture bank deals chain-rule-basics (concept), mse-gradient (derivation),
# linear-backward-code (code), sigmoid-max-slope (numeric), then a choice question.


def interview(*args: str, input: str) -> Result:
    return CliRunner().invoke(
        app,
        ["interview", "--bank", str(FIXTURE_BANK), "--seed", "1", *args],
        input=input,
        env=PLAIN,
    )


def stored() -> list[dict]:
    with open_store() as store:
        return store.interviews()


def test_a_piped_interview_is_scored_shown_and_stored(tmp_path: Path) -> None:
    answers = tmp_path / "answers"
    result = interview(
        "--questions", "5", "--dir", str(answers),
        input="my notes\n3\n?\n2(ŷ − y)/N\n2\n?\ns\nsqrt(1/16)\nq\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "interview 0:00 / 45:00 · question 0:00 / 3:00" in out
    assert "Hint 1 of 1" in out
    assert f"Answer in {answers / 'linear_backward_code.py'}" in out
    assert "✓ Right." in out
    assert "Interview scorecard" in out
    assert "Total: 2.5 of 5 points in 0:0" in out
    assert "ended early" in out
    [card] = stored()
    assert card["ended"] == "quit"
    assert card["minutes"] == 45
    assert (card["points"], card["max_points"]) == (2.5, 5)
    assert [(q["id"], q["verdict"], q["result"], q["hints_used"]) for q in card["questions"]] == [
        ("chain-rule-basics", "self-rated", "good", 0),
        ("mse-gradient", "self-rated", "hard", 1),
        ("linear-backward-code", "skipped", "not graded", 1),
        ("sigmoid-max-slope", "auto-scored", "right", 0),
        (card["questions"][4]["id"], "skipped", "not answered", 0),
    ]
    stats = CliRunner().invoke(app, ["stats", "--json"], env=PLAIN)
    assert stats.exit_code == 0, stats.output
    [shown] = json.loads(stats.stdout)["interviews"]
    assert (shown["points"], shown["max_points"], shown["minutes"]) == (2.5, 5, 45)
    # The starter was written as drill init writes it.
    assert "raise NotImplementedError" in (answers / "linear_backward_code.py").read_text()


def test_a_code_answer_is_graded_and_an_existing_file_kept(tmp_path: Path) -> None:
    answer = tmp_path / "linear_backward_code.py"
    answer.write_text(CORRECT_LINEAR)
    result = interview("--dir", str(tmp_path), input="x\n4\ny\n1\ndone\n")
    assert result.exit_code == 0, result.output
    assert answer.read_text() == CORRECT_LINEAR
    assert re.search(r"linear_backward\s+✓ passed", result.stdout)
    [card] = stored()
    assert card["ended"] == "finished"
    assert card["questions"][2]["result"] == "10 of 10 points"
    assert (card["points"], card["max_points"]) == (2.0, 3)
    # The grade and the two self-ratings are kept as drill grade and drill quiz keep them.
    with open_store() as store:
        grades = store.grades()
        reviews = store.reviews()
    assert [(g.exercise_id, g.status) for g in grades] == [("linear_backward", "passed")]
    assert [(r.question_id, r.self_rating, r.source) for r in reviews][:2] == [
        ("chain-rule-basics", "easy", "interview"),
        ("mse-gradient", "again", "interview"),
    ]


def test_json_prints_only_the_stored_scorecard_on_stdout(tmp_path: Path) -> None:
    result = interview("--dir", str(tmp_path), "--json", input="x\n3\nq\n")
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert "Question 1 of 3" in result.stderr
    [card] = stored()
    assert printed == card
    assert printed["started"].endswith("+00:00")


def test_without_dir_a_new_dated_folder_is_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clock: object
) -> None:
    monkeypatch.chdir(tmp_path)
    for _ in range(2):
        assert interview(input="x\n3\nx\n3\ns\n").exit_code == 0
    # The test clock stands at 2 March 2026, local time.
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "interview-2026-03-02",
        "interview-2026-03-02-2",
    ]
    assert (tmp_path / "interview-2026-03-02" / "linear_backward_code.py").exists()


def test_an_unusable_store_stops_the_interview_before_it_starts(
    tmp_path: Path, drill_home: Path
) -> None:
    (drill_home / "progress.sqlite3").write_bytes(b"garbage" * 300)
    result = interview("--dir", str(tmp_path), input="x\n3\n")
    assert result.exit_code == 2
    assert "Question 1" not in result.stdout


@pytest.mark.parametrize(
    "args", [["--questions", "0"], ["--minutes", "0"], ["--difficulty", "extreme"]]
)
def test_bad_options_exit_2(args: list[str]) -> None:
    assert interview(*args, input="").exit_code == 2


def test_an_interview_at_a_terminal_end_to_end(tmp_path: Path) -> None:
    screen = DrillTerminal(
        "interview", "--bank", str(FIXTURE_BANK), "--seed", "1", "--dir", str(tmp_path),
        "--minutes", "30",
    )  # fmt: skip
    screen.see("Question 1 of 3")
    screen.see("interview 0:00 / 30:00 · question 0:00 / 3:00")
    screen.type("a composition of functions\r")
    screen.see("Rate:")
    screen.type("3")
    screen.see("Question 2 of 3")
    screen.see("question 0:00 / 5:00")
    screen.type("?\r")
    screen.see("Hint 1 of 1")
    screen.type("2(ŷ − y)/N\r")
    screen.see("Rate:")
    screen.type("4")
    screen.see("Question 3 of 3")
    screen.see("question 0:00 / 15:00")
    answer = tmp_path / "linear_backward_code.py"
    screen.see("Answer in")
    assert "raise NotImplementedError" in answer.read_text()
    screen.type("done\r")
    screen.see("missing")  # the untouched starter is graded as not attempted
    screen.see("grade it again", timeout=60)
    answer.write_text(CORRECT_LINEAR)
    screen.type("done\r")
    screen.see("Interview scorecard", timeout=60)
    status, text = screen.finish()
    assert status == 0
    assert re.search(r"linear-backward-code\s+│ 0:\d\d / 15:00\s+│ graded\s+│ 10 of 10", text)
    assert "Total: 3 of 3 points in" in text
    [card] = stored()
    assert [q["hints_used"] for q in card["questions"]] == [0, 1, 0]
    assert card["minutes"] == 30


def test_ctrl_c_ends_the_interview_with_the_scorecard_so_far(tmp_path: Path) -> None:
    screen = DrillTerminal(
        "interview", "--bank", str(FIXTURE_BANK), "--seed", "1", "--dir", str(tmp_path)
    )
    screen.see("question 0:00 / 3:00")
    screen.type("notes\r")
    screen.see("Rate:")
    screen.type("2")
    screen.see("question 0:00 / 5:00")
    screen.type("half a deriv")
    screen.see("› half a deriv")
    screen.child.sendintr()
    status, text = screen.finish()
    assert status == 130
    assert "Traceback" not in text
    assert "Interview scorecard" in text
    assert "interrupted" in text
    [card] = stored()
    assert card["ended"] == "interrupted"
    assert [(q["id"], q["result"]) for q in card["questions"]] == [
        ("chain-rule-basics", "hard"),
        ("mse-gradient", "not answered"),
    ]


def test_help_explains_the_interview() -> None:
    result = CliRunner().invoke(app, ["interview", "--help"], env=PLAIN)
    assert result.exit_code == 0
    words = " ".join(result.stdout.split())
    for phrase in ["--questions", "--minutes", "--difficulty", "--dir", "--json", "typing done"]:
        assert phrase in words


def test_a_narrow_terminal_gets_one_block_per_question(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["interview", "--bank", str(FIXTURE_BANK), "--seed", "1", "--dir", str(tmp_path)],
        input="x\n3\n?\ny\n2\ns\n",
        env={**PLAIN, "COLUMNS": "40"},
    )
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.stdout
    assert max(cell_len(line) for line in result.stdout.splitlines()) <= 40
    assert re.search(
        r"mse-gradient\n  0:0\d / 5:00 · self-rated · hard\n  1 hint · 0.5 / 1 points\n",
        result.stdout,
    )
