"""The scheduled quiz: recording as it goes, due-first order across days, kill safety."""

from __future__ import annotations

import re
import signal
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from fakes import FakeClock, ScriptedPerson
from fsrs import Card, Rating, Scheduler
from pty_screen import DrillTerminal
from rich.cells import cell_len
from typer.testing import CliRunner, Result

from drill.bank import load_bank
from drill.cli import app
from drill.progress.store import open_store
from drill.quiz.session import QuizSession

if TYPE_CHECKING:
    from conftest import Clock

FIXTURE_BANK = Path(__file__).parent / "fixtures" / "bank"
QUESTIONS = load_bank(FIXTURE_BANK).questions
PLAIN = {"NO_COLOR": "1", "COLUMNS": "100", "FORCE_COLOR": None, "TTY_COMPATIBLE": None}


# -- the loop with a fake recorder --------------------------------------------------------------


class Recorder:
    def __init__(self, due: datetime) -> None:
        self.due = due
        self.calls: list[tuple[str, str, str, float, int]] = []

    def record_review(
        self, question_id: str, rating: str, outcome: str, seconds: float, hints_used: int
    ) -> datetime:
        self.calls.append((question_id, rating, outcome, seconds, hints_used))
        return self.due


def run_session(ids: list[str], script: list[str]) -> tuple[Recorder, ScriptedPerson]:
    clock = FakeClock(0.0)
    recorder = Recorder(datetime.fromisoformat("2030-01-01T00:00:00+00:00"))
    user = ScriptedPerson(script, clock, seconds_per_read=5.0)
    QuizSession([QUESTIONS[i] for i in ids], user, clock, recorder).run()
    return recorder, user


def test_each_rating_is_recorded_when_given_and_its_return_announced() -> None:
    recorder, user = run_session(
        ["chain-rule-basics", "relu-gradient-choice"], ["?", "notes", "g", "b", "4"]
    )
    assert recorder.calls == [
        ("chain-rule-basics", "good", "none", 10.0, 1),
        ("relu-gradient-choice", "easy", "right", 5.0, 0),
    ]
    assert user.shown("next review") == [recorder.due, recorder.due]


class Steps:
    """A recorder whose questions come back after the given delays, one a rating in turn."""

    def __init__(self, start: datetime, delays: list[timedelta]) -> None:
        self.start = start
        self.delays = delays
        self.asked: list[str] = []

    def record_review(
        self, question_id: str, rating: str, outcome: str, seconds: float, hints_used: int
    ) -> datetime:
        self.asked.append(question_id)
        return self.start + self.delays.pop(0)


def test_a_question_due_back_within_the_session_is_asked_again_at_its_end() -> None:
    start = datetime.fromisoformat("2030-01-01T00:00:00+00:00")
    # chain-rule-basics: again (back in 1 min), good (10 min), good (3 days); relu: 4 days.
    minute, day = timedelta(minutes=1), timedelta(days=1)
    steps = Steps(start, [minute, 4 * day, 10 * minute, 3 * day])
    script = ["notes", "a", "b", "4", "notes", "g", "notes", "g", "never read"]
    clock = FakeClock()
    user = ScriptedPerson(script, clock)
    ids = ["chain-rule-basics", "relu-gradient-choice"]
    session = QuizSession(
        [QUESTIONS[i] for i in ids], user, clock, steps, lambda: start + 20 * minute
    )
    records = session.run()
    assert steps.asked == ["chain-rule-basics", "relu-gradient-choice", *["chain-rule-basics"] * 2]
    assert user.shown("question") == [  # the count grows as questions come back
        ("chain-rule-basics", 1, 2),
        ("relu-gradient-choice", 2, 3),
        ("chain-rule-basics", 3, 3),
        ("chain-rule-basics", 4, 4),
    ]
    assert [r.rating for r in records] == ["again", "easy", "good", "good"]
    assert user.script == ["never read"]


def test_without_again_before_every_question_is_asked_once() -> None:
    start = datetime.fromisoformat("2030-01-01T00:00:00+00:00")
    steps = Steps(start, [timedelta(minutes=1)])
    clock = FakeClock()
    user = ScriptedPerson(["notes", "a", "more"], clock)
    QuizSession([QUESTIONS["chain-rule-basics"]], user, clock, steps).run()
    assert steps.asked == ["chain-rule-basics"]
    assert user.script == ["more"]


def test_a_scheduled_quiz_asks_a_new_question_until_it_leaves_its_learning_steps(
    clock: Clock,
) -> None:
    # FSRS's learning steps: again brings it back in 1 minute, good then in 10, and a second
    # good graduates it to days away, beyond the session.
    result = CliRunner().invoke(
        app,
        ["quiz", "--new", "1", "--bank", str(FIXTURE_BANK)],
        input="\na\n\ng\n\ng\n",
        env=PLAIN,
    )
    assert result.exit_code == 0, result.output
    assert re.findall(r"Question \d of \d", result.stdout) == [
        "Question 1 of 1",
        "Question 2 of 2",
        "Question 3 of 3",
    ]
    with open_store() as store:
        reviews = store.reviews()
        (card,) = store.cards().values()
    assert [r.self_rating for r in reviews] == ["again", "good", "good"]
    assert card.card.due - clock() >= timedelta(days=1)


def test_skips_are_not_reviews_and_quitting_keeps_a_wrong_answer() -> None:
    recorder, user = run_session(["chain-rule-basics", "relu-gradient-choice"], ["s", "a", "q"])
    assert recorder.calls == [("relu-gradient-choice", "none", "wrong", 5.0, 0)]
    assert user.shown("next review") == []


def test_quitting_before_rating_a_right_answer_records_nothing() -> None:
    recorder, _ = run_session(["relu-gradient-choice"], ["b", "q"])
    assert recorder.calls == []


# -- the real command across several days ------------------------------------------------------


def drill(*args: str, input: str = "") -> Result:
    return CliRunner().invoke(app, [*args, "--bank", str(FIXTURE_BANK)], input=input, env=PLAIN)


def asked(output: str) -> list[str]:
    """The ids in the session summary, in the order they were asked."""
    return [
        line.strip().strip("│").split("│")[0].strip()
        for line in output.splitlines()
        if line.startswith("│")
    ]


def stored_dues() -> dict[str, datetime]:
    with open_store() as store:
        return {key: card.card.due for key, card in store.cards().items()}


def fsrs_due(reviews: list[tuple[Rating, datetime]]) -> datetime:
    scheduler = Scheduler(enable_fuzzing=False)
    card = Card(card_id=1, due=reviews[0][1])
    for rating, when in reviews:
        card, _ = scheduler.review_card(card, rating, when)
    return card.due


def test_scheduled_sessions_across_days(clock: Clock) -> None:
    day1 = clock.moment
    # Day 1: three new questions, easiest first in bank order.
    result = drill("quiz", "--new", "3", input="\ng\n1/4\ne\n\na\n")
    assert result.exit_code == 0, result.output
    assert "0 reviews due and 3 new questions to see." in result.stdout
    assert asked(result.stdout) == [
        "chain-rule-basics",
        "sigmoid-max-slope",
        "linear-backward-code",
    ]
    easy_due = fsrs_due([(Rating.Easy, day1)])
    days = round((easy_due - day1) / timedelta(days=1))
    assert days >= 2
    shown = re.findall(r"Next review (in [^.]+)\.", result.stdout)
    assert shown == ["in 10 minutes", f"in {days} days", "in 1 minute"]
    assert stored_dues() == {
        "chain-rule-basics": day1 + timedelta(minutes=10),
        "sigmoid-max-slope": easy_due,
        "linear-backward-code": day1 + timedelta(minutes=1),
    }

    # Two hours later: the two short-term reviews, most overdue first; no new ones today.
    later = clock.advance(hours=2)
    result = drill("quiz", "--new", "3", input="\n3\n\n3\n")
    assert result.exit_code == 0, result.output
    assert "2 reviews due and 0 new questions to see." in result.stdout
    assert asked(result.stdout) == ["linear-backward-code", "chain-rule-basics"]
    assert stored_dues()["chain-rule-basics"] == fsrs_due(
        [(Rating.Good, day1), (Rating.Good, later)]
    )
    assert stored_dues()["linear-backward-code"] == later + timedelta(minutes=10)

    # Then nothing is due, and the day's allowance of new questions is spent.
    result = drill("quiz", "--new", "3")
    assert result.exit_code == 0, result.output
    assert "Nothing is due now." in result.stdout
    assert "The next review is in 10 minutes" in result.stdout
    assert "3 new questions wait for another day: at most 3 new a day" in result.stdout
    assert "Session summary" not in result.stdout

    # Day 2: the due review first, then the next new ones; a wrong answer is "again"
    # although it is rated easy, so it comes back in a minute.
    day2 = clock.advance(days=1)
    result = drill("quiz", "--new", "2", input="\n3\nd\ne\n\n3\n")
    assert result.exit_code == 0, result.output
    assert asked(result.stdout) == [
        "linear-backward-code",
        "relu-gradient-choice",
        "softmax-facts",
    ]
    assert "✗ Wrong." in result.stdout
    assert stored_dues()["relu-gradient-choice"] == day2 + timedelta(minutes=1)
    with open_store() as store:
        relu = [r for r in store.reviews() if r.question_id == "relu-gradient-choice"]
    assert [(r.self_rating, r.rating, r.outcome) for r in relu] == [("easy", "again", "wrong")]

    # Filters still apply to what is due: only the losses topic, whose one question is new.
    result = drill("quiz", "--topic", "losses", "--new", "5", input="\n2\n")
    assert asked(result.stdout) == ["mse-gradient"]


def test_count_cuts_the_plan_due_ones_first(clock: Clock) -> None:
    drill("quiz", "--new", "2", input="\na\n1/4\na\n")
    clock.advance(minutes=5)
    result = drill("quiz", "--new", "4", "--count", "3", input="q\n")
    assert "2 reviews due and 1 new question to see." in result.stdout
    assert "Question 1 of 3" in result.stdout


def test_the_new_limit_counts_the_questions_first_seen_today(clock: Clock) -> None:
    drill("quiz", "--new", "1", input="\ng\n")
    result = drill("quiz", "--new", "2", input="\ng\n")
    assert asked(result.stdout) == ["sigmoid-max-slope"]
    result = drill("quiz", "--new", "2")
    assert "4 new questions wait for another day" in result.stdout
    clock.advance(days=1)
    result = drill("quiz", "--new", "2", input="q\n")
    assert "2 reviews due and 2 new questions to see." in result.stdout


def test_questions_first_met_in_a_grade_or_an_interview_leave_the_allowance_alone(
    clock: Clock,
) -> None:
    with open_store() as store:
        store.record_review("linear-backward-code", "good", source="grade", when=clock.moment)
        store.record_review("sigmoid-max-slope", "good", source="interview", when=clock.moment)
        store.record_review("softmax-facts", "good", source="quiz", when=clock.moment)
        first = store.first_reviews("quiz")
    assert first == {"softmax-facts": clock.moment}
    clock.advance(minutes=1)
    result = drill("quiz", "--new", "2", input="q\n")
    assert "0 reviews due and 1 new question to see." in result.stdout


def test_a_question_that_left_the_bank_keeps_its_history_but_is_not_asked(clock: Clock) -> None:
    with open_store() as store:
        store.record_review("retired-question", "again", when=clock.moment)
    clock.advance(hours=1)
    result = drill("quiz", "--new", "1", input="\ng\n")
    assert result.exit_code == 0, result.output
    assert "0 reviews due and 1 new question" in result.stdout
    assert asked(result.stdout) == ["chain-rule-basics"]
    with open_store() as store:
        assert [r.question_id for r in store.reviews()] == ["retired-question", "chain-rule-basics"]


def test_named_questions_are_asked_exactly_and_recorded() -> None:
    result = drill("quiz", "sigm", "chain-rule-basics", "sigmoid-max-slope", input="1/4\ng\n\n2\n")
    assert result.exit_code == 0, result.output
    assert asked(result.stdout) == ["sigmoid-max-slope", "chain-rule-basics"]
    with open_store() as store:
        assert [(r.question_id, r.rating) for r in store.reviews()] == [
            ("sigmoid-max-slope", "good"),
            ("chain-rule-basics", "hard"),
        ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["quiz", "nope"], "no question with id 'nope'"),
        (["quiz", "chain-rule-basics", "--all"], "either name questions or choose them"),
        (["quiz", "chain-rule-basics", "--kind", "choice"], "either name questions"),
    ],
)
def test_bad_question_choices_exit_2(args: list[str], message: str) -> None:
    result = drill(*args)
    assert result.exit_code == 2
    assert message in result.stderr


def test_all_shuffles_every_match_and_still_records() -> None:
    result = drill("quiz", "--all", "--kind", "choice", "--seed", "1", input="a,c\n3\nb\n4\n")
    assert result.exit_code == 0, result.output
    assert asked(result.stdout) == ["softmax-facts", "relu-gradient-choice"]
    with open_store() as store:
        assert {r.question_id for r in store.reviews()} == {"softmax-facts", "relu-gradient-choice"}


def test_an_unusable_store_stops_the_quiz_before_it_starts(drill_home: Path) -> None:
    (drill_home / "progress.sqlite3").write_bytes(b"garbage" * 300)
    result = drill("quiz")
    assert result.exit_code == 2
    assert "damaged" in result.stderr
    assert "Question 1" not in result.stdout


# -- a real process killed mid-session --------------------------------------------------------


@pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals need a POSIX system")
def test_a_killed_quiz_keeps_every_rating_given_before() -> None:
    quiz = DrillTerminal("quiz", "--bank", str(FIXTURE_BANK))
    quiz.see("Question 1 of 6")
    quiz.see("0:00 / 3:00")
    quiz.type("\r")
    quiz.see("Rate:")
    quiz.type("2")
    quiz.see("Next review in")
    quiz.see("Question 2 of 7")  # due back within minutes: the first comes again at the end
    quiz.see("0:00 / 2:00")
    quiz.type("1/")  # half an answer to the second question, then the kill
    quiz.see("› 1/")
    quiz.child.kill(signal.SIGKILL)
    quiz.finish()
    assert quiz.child.signalstatus == signal.SIGKILL
    with open_store() as store:
        reviews = store.reviews()
        cards = store.cards()
    assert [(r.question_id, r.self_rating, r.source) for r in reviews] == [
        ("chain-rule-basics", "hard", "quiz")
    ]
    assert set(cards) == {"chain-rule-basics"}


def test_scheduled_messages_fit_40_columns_without_colour(clock: Clock) -> None:
    narrow = {**PLAIN, "COLUMNS": "40"}
    runner = CliRunner()
    first = runner.invoke(
        app, ["quiz", "--new", "1", "--bank", str(FIXTURE_BANK)], input="\ng\n", env=narrow
    )
    later = runner.invoke(app, ["quiz", "--new", "1", "--bank", str(FIXTURE_BANK)], env=narrow)
    for result in (first, later):
        assert result.exit_code == 0, result.output
        assert "\x1b" not in result.stdout
        assert max(cell_len(line) for line in result.stdout.splitlines()) <= 40
    assert "Next review in 10 minutes." in first.stdout
    assert "Nothing is due now." in later.stdout
    assert "5 new questions wait" in " ".join(later.stdout.split())
