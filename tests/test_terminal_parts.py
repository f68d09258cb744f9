"""The pieces of the terminal front ends that need no terminal: clocks and answer guides."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from drill.bank import load_bank
from drill.interview.terminal import TerminalInterviewer
from drill.quiz.terminal import answer_guide, clock_fragments

QUESTIONS = load_bank(Path(__file__).parent / "fixtures" / "bank").questions


def text(fragments: list[tuple[str, str]]) -> str:
    return "".join(part for _, part in fragments)


def test_the_clock_reads_minutes_and_seconds_against_the_budget() -> None:
    assert text(clock_fragments(0.4, 120)) == " 0:00 / 2:00 "
    assert text(clock_fragments(119.9, 120)) == " 1:59 / 2:00 "
    assert text(clock_fragments(754, 900)) == " 12:34 / 15:00 "


def test_over_the_budget_is_said_in_words_and_styled() -> None:
    fragments = clock_fragments(121, 120)
    assert text(fragments) == " 2:01 / 2:00 over the budget "
    assert fragments[0][0] == "class:late"


def test_the_interview_shows_its_own_clock_beside_the_question() -> None:
    view = TerminalInterviewer(
        Console(file=None, force_terminal=False), lambda: 0.0, 45, interview_elapsed=lambda: 2710
    )
    assert text(view.clocks(30, 300)) == (
        " interview 45:10 / 45:00 over the budget · question 0:30 / 5:00 "
    )


def test_each_kind_gets_its_own_guide() -> None:
    assert "letter(s)" in answer_guide(QUESTIONS["softmax-facts"])
    numeric = answer_guide(QUESTIONS["sigmoid-max-slope"])
    assert "number or arithmetic, e.g. 0.5, 3/8 or sqrt(2)/4" in numeric
    assert "Enter shows the answer" in answer_guide(QUESTIONS["chain-rule-basics"])
