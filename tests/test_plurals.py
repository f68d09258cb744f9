"""Counts on the quiz's and the interview's summary screens read as English: "1 hint"."""

from __future__ import annotations

from rich.console import Console

from drill.quiz.render import summary
from drill.quiz.session import QuestionRecord


def rendered(records: list[QuestionRecord], width: int) -> str:
    console = Console(width=width, record=True, no_color=True)
    console.print(summary(records, width))
    return console.export_text()


def test_the_quiz_summary_counts_one_question_and_one_hint_in_the_singular():
    one = [QuestionRecord("sigmoid", 30.0, 60, "right", "good", 1)]
    text = rendered(one, width=40)  # narrow: one block per question, hints spelled out
    assert "1 question: 1 right" in text
    assert "1 hint\n" in text
    assert "(s)" not in text


def test_the_quiz_summary_counts_several_in_the_plural():
    two = [
        QuestionRecord("sigmoid", 30.0, 60, "right", "good", 3),
        QuestionRecord("chain", 30.0, 60, "wrong", "again", 0),
    ]
    text = rendered(two, width=40)
    assert "2 questions: 1 right, 1 wrong" in text
    assert "3 hints" in text and "0 hints" in text
