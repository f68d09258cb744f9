"""drill stats and drill exercises: the figures against an independent computation, the JSON
shapes, and the pictures without colour on a narrow terminal."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from fsrs import Card, Rating, Scheduler
from rich.cells import cell_len
from typer.testing import CliRunner, Result

from drill.bank import load_bank
from drill.cli import app
from drill.progress.stats import Stats, compute
from drill.progress.store import ExerciseGrade, open_store
from drill.progress.view import SHADES, _month_labels, shade

if TYPE_CHECKING:
    from conftest import Clock

FIXTURE_BANK = Path(__file__).parent / "fixtures" / "bank"
BANK = load_bank(FIXTURE_BANK)
PLAIN = {"NO_COLOR": "1", "COLUMNS": "100", "FORCE_COLOR": None, "TTY_COMPATIBLE": None}
LOCAL = timezone(timedelta(hours=-5))  # the zone the clock fixture sets

# (question, rating, local time): a history with a gap, an old review, a question that left
# the bank, and a review late in the evening (the next day in UTC).
HISTORY = [
    ("chain-rule-basics", "again", datetime(2026, 1, 20, 10, 0, tzinfo=LOCAL)),
    ("chain-rule-basics", "good", datetime(2026, 2, 26, 9, 0, tzinfo=LOCAL)),
    ("chain-rule-basics", "good", datetime(2026, 2, 26, 9, 20, tzinfo=LOCAL)),
    ("retired-question", "easy", datetime(2026, 2, 26, 9, 30, tzinfo=LOCAL)),
    ("sigmoid-max-slope", "easy", datetime(2026, 2, 28, 23, 30, tzinfo=LOCAL)),
    ("mse-gradient", "hard", datetime(2026, 3, 1, 8, 0, tzinfo=LOCAL)),
    ("mse-gradient", "good", datetime(2026, 3, 1, 8, 30, tzinfo=LOCAL)),
    ("relu-gradient-choice", "again", datetime(2026, 3, 2, 8, 0, tzinfo=LOCAL)),
]


def expected_cards() -> dict[str, Card]:
    """The fsrs cards of HISTORY, computed with the library directly."""
    scheduler = Scheduler(enable_fuzzing=False)
    cards: dict[str, Card] = {}
    for question, rating, when in HISTORY:
        moment = when.astimezone(timezone.utc)
        card = cards.get(question, Card(card_id=1, due=moment))
        cards[question], _ = scheduler.review_card(card, Rating[rating.capitalize()], moment)
    return cards


def record_history() -> None:
    with open_store() as store:
        for question, rating, when in HISTORY:
            store.record_review(question, rating, "none", 30.0, when=when)
        for status, points, day in (("failed", 4.0, 1), ("passed", 10.0, 2), ("missing", 0, 2)):
            store.record_grade(
                [ExerciseGrade("linear_backward", status, points, 10)],
                {},
                when=datetime(2026, 3, day, 12, 0, tzinfo=LOCAL),
            )
        store.record_interview(
            {
                "started": "2026-03-01T10:00:00-05:00",
                "questions": [{"id": "chain-rule-basics", "verdict": "good"}],
                "points": 2,
                "max_points": 3,
                "minutes": 38,
            }
        )


def figures(when: datetime) -> Stats:
    with open_store() as store:
        return compute(BANK, store, when)


def test_the_counts_follow_the_history(clock: Clock) -> None:
    record_history()
    now = clock.moment  # Monday 2 March 2026, 09:00 local
    stats = figures(now)
    cards = expected_cards()
    in_bank = {q: card for q, card in cards.items() if q in BANK.questions}
    today = date(2026, 3, 2)

    def local(moment: datetime) -> date:
        return moment.astimezone(LOCAL).date()

    assert stats.reviews == len(HISTORY)
    assert stats.due_now == sum(card.due <= now for card in in_bank.values())
    assert stats.due_today == sum(local(card.due) <= today for card in in_bank.values())
    assert stats.due_this_week == sum(
        local(card.due) <= today + timedelta(days=6) for card in in_bank.values()
    )
    assert stats.due_now >= 1  # relu-gradient-choice, failed an hour ago
    assert stats.new_left == len(BANK.questions) - len(in_bank)
    # Practice on 26 Feb, 28 Feb (23:30 local), 1 and 2 March: a streak of three days.
    assert stats.streak_days == 3
    recent = [rating for _, rating, when in HISTORY if when > now - timedelta(days=30)]
    assert stats.retention_30d == pytest.approx(
        sum(rating != "again" for rating in recent) / len(recent)
    )
    by_day = Counter(max(local(card.due), today) for card in in_bank.values())
    days = [today + timedelta(days=offset) for offset in range(14)]
    assert stats.forecast == [(day, by_day[day]) for day in days]
    assert stats.calendar[date(2026, 2, 28)] == 1
    assert stats.calendar[date(2026, 3, 1)] == 2
    assert stats.calendar[date(2026, 2, 27)] == 0
    assert min(stats.calendar) == date(2026, 3, 2) - timedelta(weeks=19)
    assert stats.calendar[date(2026, 1, 20)] == 1  # older than 30 days, within 20 weeks


def test_mastery_is_the_mean_predicted_recall(clock: Clock) -> None:
    record_history()
    stats = figures(clock.moment)
    scheduler = Scheduler(enable_fuzzing=False)
    cards = expected_cards()

    def recall(question_id: str) -> float:
        card = cards.get(question_id)
        return 0.0 if card is None else scheduler.get_card_retrievability(card, clock.moment)

    for group in ("topic", "kind"):
        members: dict[str, list[str]] = {}
        for question in BANK.questions.values():
            members.setdefault(getattr(question, group), []).append(question.id)
        expected = {name: sum(map(recall, ids)) / len(ids) for name, ids in members.items()}
        assert stats.mastery(group) == pytest.approx(expected)
    assert stats.mastery("topic")["losses"] > 0.5


def test_the_streak_survives_a_day_not_yet_practised(clock: Clock) -> None:
    record_history()
    assert figures(clock.advance(days=1)).streak_days == 3
    assert figures(clock.advance(days=1)).streak_days == 0


def test_exercises_take_their_best_and_ignore_stubs(clock: Clock) -> None:
    record_history()
    [linear] = figures(clock.moment).exercises
    assert (linear.status, linear.best_points, linear.attempts) == ("passed", 10.0, 2)
    assert linear.last_graded == datetime(2026, 3, 2, 17, 0, tzinfo=timezone.utc)


def test_nothing_recorded_gives_zeros_and_no_retention(clock: Clock) -> None:
    stats = figures(clock.moment)
    assert (stats.reviews, stats.due_now, stats.streak_days) == (0, 0, 0)
    assert stats.retention_30d is None
    assert stats.new_left == len(BANK.questions)
    assert [e.status for e in stats.exercises] == ["not_attempted"]


@pytest.mark.parametrize(
    ("count", "busiest", "level"),
    [(0, 5, 0), (1, 8, 1), (2, 8, 1), (3, 8, 2), (8, 8, 4), (1, 1, 4)],
)
def test_calendar_shades_grow_with_the_count(count: int, busiest: int, level: int) -> None:
    assert shade(count, busiest) == level


def mondays_from(first: date, weeks: int = 20) -> list[date]:
    return [first + timedelta(weeks=n) for n in range(weeks)]


@pytest.mark.parametrize(
    ("cell", "expected"),
    [(1, ["Aug", "Sep", "Oct", "Nov"]), (2, ["Jul", "Aug", "Sep", "Oct", "Nov"])],
)
def test_every_month_that_starts_in_the_calendar_is_labelled(cell: int, expected: list) -> None:
    # The grid starts on the last Monday of July: Aug starts two weeks later. Side by side,
    # July's label would cover the column where August's belongs, so July gives way.
    labels = _month_labels(mondays_from(date(2026, 7, 20)), cell)
    assert labels.split() == expected
    assert labels.index("Aug") == 2 * cell


def test_the_first_month_keeps_its_label_when_there_is_room() -> None:
    labels = _month_labels(mondays_from(date(2026, 7, 6)), 1)  # Aug starts 4 columns in
    assert labels.split() == ["Jul", "Aug", "Sep", "Oct", "Nov"]


# -- through the command line ---------------------------------------------------------------


def drill(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(
        app, [*args, "--bank", str(FIXTURE_BANK)], env={**PLAIN, **(env or {})}
    )


def test_stats_json_has_exactly_the_documented_shape(clock: Clock) -> None:
    record_history()
    result = drill("stats", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert list(data) == [
        "reviews",
        "due_now",
        "new_left",
        "streak_days",
        "retention_30d",
        "questions",
        "exercises",
        "interviews",
    ]
    assert (data["reviews"], data["streak_days"]) == (len(HISTORY), 3)
    assert isinstance(data["retention_30d"], float)
    assert [q["id"] for q in data["questions"]] == list(BANK.questions)
    for question in data["questions"]:
        assert list(question) == ["id", "state", "due", "reviews", "lapses", "last_rating"]
        assert question["state"] in ("new", "learning", "review", "relearning")
        if question["state"] == "new":
            assert (question["due"], question["reviews"], question["last_rating"]) == (
                None,
                0,
                None,
            )
        else:
            assert datetime.fromisoformat(question["due"]).tzinfo is not None
    mse = next(q for q in data["questions"] if q["id"] == "mse-gradient")
    assert (mse["reviews"], mse["last_rating"]) == (2, "good")
    assert data["exercises"] == [
        {
            "id": "linear_backward",
            "status": "passed",
            "best_points": 10.0,
            "max_points": 10,
            "attempts": 2,
            "last_graded": "2026-03-02T17:00:00+00:00",
        }
    ]
    assert data["interviews"] == [
        {
            "started": "2026-03-01T10:00:00-05:00",
            "questions": [{"id": "chain-rule-basics", "verdict": "good"}],
            "points": 2,
            "max_points": 3,
            "minutes": 38,
        }
    ]


def test_stats_reads_without_colour_in_40_columns(clock: Clock) -> None:
    record_history()
    result = drill("stats", env={"COLUMNS": "40"})
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "\x1b" not in out
    assert max(cell_len(line) for line in out.splitlines()) <= 40
    assert re.search(r"Reviews done\s+8", out)
    assert re.search(r"Streak\s+3 days", out)
    assert "Mastery by topic" in out and "Mastery by kind" in out
    forecast = re.findall(r"^(\w{3} \d\d \w{3})\s+(\d+)", out, flags=re.MULTILINE)
    assert len(forecast) == 14
    assert forecast[0][0] == "Mon 02 Mar"
    calendar = [
        line for line in out.splitlines() if re.match(r"^(Mon |Wed |Fri |Sun |    )[·░▒▓█]", line)
    ]
    assert len(calendar) == 7
    assert all(set(line[4:]) <= set(SHADES) for line in calendar)
    # Thursday 26 February is the busiest day (3 reviews), Sunday 1 March had 2, today 1.
    assert [calendar[3][-1], calendar[6][-1], calendar[0][-1]] == ["█", "▓", "▒"]
    assert "2026-03-01 10:00 2 / 3 points 1 question 38 min" in " ".join(out.split())


def test_a_scorecard_with_control_characters_is_shown_not_obeyed(clock: Clock) -> None:
    with open_store() as store:
        store.record_interview(
            {"started": "\x1b[2Jsoon", "questions": [], "points": 0, "max_points": 1, "minutes": 1}
        )
    result = drill("stats")
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.stdout
    assert "\\x1b[2Jsoon" in result.stdout


def test_on_a_wide_terminal_calendar_days_stand_apart(clock: Clock) -> None:
    record_history()
    result = drill("stats", env={"COLUMNS": "100"})
    assert result.exit_code == 0, result.output
    rows = [
        line
        for line in result.stdout.splitlines()
        if re.match(r"^(Mon |Wed |Fri |Sun |    )[·░▒▓█]", line)
    ]
    assert len(rows) == 7
    cells = [row[4:].split(" ") for row in rows]
    assert [len(week) for week in cells] == [20, 19, 19, 19, 19, 19, 19]
    assert [cells[3][-1], cells[6][-1], cells[0][-1]] == ["█", "▓", "▒"]


def test_exercises_lists_every_exercise_with_the_users_results(clock: Clock) -> None:
    record_history()
    result = drill("exercises", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [
        {
            "id": "linear_backward",
            "title": "Backward pass of a Linear layer",
            "points": 10,
            "order": 1,
            "status": "passed",
            "best_points": 10.0,
            "max_points": 10,
            "attempts": 2,
            "last_graded": "2026-03-02T17:00:00+00:00",
        }
    ]
    for columns in ("100", "40"):
        result = drill("exercises", env={"COLUMNS": columns})
        assert result.exit_code == 0, result.output
        assert "linear_backward" in result.stdout
        assert "✓ passed" in result.stdout
        assert "10 / 10" in result.stdout
        assert "2026-03-02" in result.stdout
        assert max(cell_len(line) for line in result.stdout.splitlines()) <= int(columns)


def test_a_damaged_store_makes_stats_exit_2(drill_home: Path) -> None:
    (drill_home / "progress.sqlite3").write_bytes(b"garbage" * 300)
    for command in ("stats", "exercises"):
        result = drill(command)
        assert result.exit_code == 2
        assert "damaged" in result.stderr
        assert result.stdout == ""
        # With --json the error is also one JSON object on stdout; the next run without
        # --json, in the same process, prints none.
        as_json = drill(command, "--json")
        assert as_json.exit_code == 2
        assert "damaged" in json.loads(as_json.stdout)["error"]
        assert drill(command).stdout == ""


LIGHT = """
import sys
from drill.cli import app
for args in (["stats"], ["exercises"], ["progress", "path"], ["--version"]):
    try:
        app(args)
    except SystemExit as leaving:
        assert leaving.code in (0, None), (args, leaving.code)
print("heavy modules:", sorted(m for m in ("numpy", "drill.grader") if m in sys.modules))
"""


def test_stats_and_progress_commands_do_not_import_numpy() -> None:
    done = subprocess.run([sys.executable, "-c", LIGHT], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "heavy modules: []"
