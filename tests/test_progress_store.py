"""The progress store on its own: recording, scheduling, grade reviews, safety, export/import."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from fsrs import Card, Rating, Scheduler

from drill.progress.clock import describe_due
from drill.progress.store import (
    SCHEMA_VERSION,
    ExerciseGrade,
    ProgressError,
    Store,
    open_store,
    store_path,
)

START = datetime(2026, 3, 2, 14, 0, tzinfo=timezone.utc)  # 09:00 in the tests' local zone
LINEAR = {"linear": ["linear-backward-code"], "relu": ["relu-code", "mixed-code"]}


def fsrs_dues(ratings: list[tuple[Rating, datetime]]) -> list[datetime]:
    """The due dates the fsrs library gives for these reviews, computed directly."""
    scheduler = Scheduler(enable_fuzzing=False)
    card = Card(card_id=1, due=ratings[0][1])
    dues = []
    for rating, when in ratings:
        card, _ = scheduler.review_card(card, rating, when)
        dues.append(card.due)
    return dues


# -- where and how it is kept -----------------------------------------------------------------


def test_the_store_lives_in_drill_home(drill_home: Path) -> None:
    assert store_path() == drill_home / "progress.sqlite3"
    with open_store() as store:
        store.record_review("q", "good", when=START)
    db = sqlite3.connect(drill_home / "progress.sqlite3")
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("SELECT question_id FROM reviews").fetchall() == [("q",)]


def test_drill_home_may_start_with_a_tilde(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DRILL_HOME", "~/drill-practice")
    assert store_path() == Path.home() / "drill-practice" / "progress.sqlite3"


def test_without_drill_home_the_user_data_folder_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    import platformdirs

    monkeypatch.delenv("DRILL_HOME")
    expected = platformdirs.user_data_path("drill", appauthor=False) / "progress.sqlite3"
    assert store_path() == expected


def test_reviews_survive_closing_and_reopening(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "folder" / "p.sqlite3"
    with open_store(path) as store:
        store.record_review("q", "hard", "right", seconds=42.5, hints_used=2, when=START)
    with open_store(path) as store:
        [review] = store.reviews()
    assert (review.question_id, review.self_rating, review.rating) == ("q", "hard", "hard")
    assert (review.outcome, review.seconds, review.hints_used) == ("right", 42.5, 2)
    assert review.reviewed_at == START
    assert review.reviewed_at.tzinfo is not None


# -- scheduling ---------------------------------------------------------------------------------


def test_due_dates_follow_fsrs() -> None:
    times = [START, START + timedelta(minutes=12), START + timedelta(days=3)]
    ratings = [Rating.Good, Rating.Good, Rating.Easy]
    with open_store() as store:
        dues = [
            store.record_review("q", rating.name.lower(), when=when)
            for rating, when in zip(ratings, times)
        ]
        card = store.cards()["q"]
    assert dues == fsrs_dues(list(zip(ratings, times)))
    assert dues[-1] - times[-1] >= timedelta(days=3)
    assert (card.reviews, card.lapses, card.last_rating) == (3, 0, "easy")


def test_a_wrong_answer_is_again_whatever_the_rating() -> None:
    with open_store() as store:
        due = store.record_review("q", "easy", "wrong", when=START)
        [review] = store.reviews()
    assert (review.self_rating, review.rating) == ("easy", "again")
    assert due == fsrs_dues([(Rating.Again, START)])[0]
    assert due - START == timedelta(minutes=1)


@pytest.mark.parametrize(
    ("outcome", "scheduled"), [("right", "good"), ("none", "again"), ("wrong", "again")]
)
def test_without_a_rating_the_outcome_decides(outcome: str, scheduled: str) -> None:
    with open_store() as store:
        due = store.record_review("q", "none", outcome, when=START)
        [review] = store.reviews()
    assert (review.self_rating, review.rating) == ("none", scheduled)
    assert due == fsrs_dues([(Rating[scheduled.capitalize()], START)])[0]


def test_again_in_the_review_state_is_a_lapse() -> None:
    with open_store() as store:
        store.record_review("q", "good", when=START)
        store.record_review("q", "good", when=START + timedelta(minutes=15))
        assert store.cards()["q"].card.state.name == "Review"
        store.record_review("q", "again", when=START + timedelta(days=3))
        store.record_review("q", "again", when=START + timedelta(days=3, minutes=11))
        card = store.cards()["q"]
    assert (card.reviews, card.lapses, card.last_rating) == (4, 1, "again")


def test_unknown_ratings_are_a_programming_error() -> None:
    with open_store() as store, pytest.raises(ValueError, match="unknown rating"):
        store.record_review("q", "great")


# -- grades as reviews --------------------------------------------------------------------------


def grade(status: str, exercise: str = "linear") -> ExerciseGrade:
    return ExerciseGrade(exercise, status, 5.0 if status == "passed" else 0.0, 5)


def test_a_first_pass_is_good_and_reviews_every_code_question_naming_it() -> None:
    with open_store() as store:
        dues = store.record_grade([grade("passed", "relu")], LINEAR, when=START)
        reviews = store.reviews()
    assert set(dues) == {"relu-code", "mixed-code"}
    assert {(r.question_id, r.rating, r.source, r.outcome) for r in reviews} == {
        ("relu-code", "good", "grade", "passed"),
        ("mixed-code", "good", "grade", "passed"),
    }
    assert dues["relu-code"] == fsrs_dues([(Rating.Good, START)])[0]


def test_only_the_first_grade_of_a_local_day_is_a_review(local_zone: str) -> None:
    with open_store() as store:
        assert store.record_grade([grade("failed")], LINEAR, when=START)
        # Due again a minute later, but the day's review is spent: status only.
        later = START + timedelta(hours=3)
        assert store.record_grade([grade("passed")], LINEAR, when=later) == {}
        # 23:59 local is still the same day, although it is the next day in UTC.
        late = datetime(2026, 3, 3, 4, 59, tzinfo=timezone.utc)
        assert store.record_grade([grade("passed")], LINEAR, when=late) == {}
        next_morning = datetime(2026, 3, 3, 5, 1, tzinfo=timezone.utc)
        assert store.record_grade([grade("passed")], LINEAR, when=next_morning)
        ratings = [r.rating for r in store.reviews()]
        grades = store.grades()
    assert ratings == ["again", "good"]
    assert [g.status for g in grades] == ["failed", "passed", "passed", "passed"]


def test_a_pass_after_failed_attempts_since_the_last_review_is_hard() -> None:
    with open_store() as store:
        store.record_grade([grade("passed")], LINEAR, when=START)
        store.record_grade([grade("passed")], LINEAR, when=START + timedelta(days=1))
        card = store.cards()["linear-backward-code"].card
        assert card.due > START + timedelta(days=2)
        # Failing before it is due is no review, but it is an attempt that counts later.
        early = card.due - timedelta(hours=12)
        assert store.record_grade([grade("timeout")], LINEAR, when=early) == {}
        assert store.record_grade([grade("passed")], LINEAR, when=card.due)
        ratings = [r.rating for r in store.reviews()]
    assert ratings == ["good", "good", "hard"]


def test_stubs_review_nothing_and_the_worst_exercise_counts() -> None:
    both = {"linear": ["two-part"], "relu": ["two-part"]}
    with open_store() as store:
        assert store.record_grade([grade("missing")], both, when=START) == {}
        store.record_grade([grade("passed"), grade("error", "relu")], both, when=START)
        [review] = store.reviews()
        grades = store.grades()
    assert (review.question_id, review.rating, review.outcome) == ("two-part", "again", "failed")
    assert len({g.round for g in grades}) == 2
    assert [g.status for g in grades] == ["missing", "passed", "error"]


def test_an_interview_scorecard_round_trips() -> None:
    scorecard = {
        "started": START.isoformat(),
        "questions": [{"id": "q", "verdict": "right", "seconds": 50, "hints": 1}],
        "points": 1,
        "max_points": 3,
        "minutes": 45,
    }
    with open_store() as store:
        store.record_interview(scorecard, when=START)
        assert store.interviews() == [scorecard]
        with pytest.raises(ValueError, match="minutes"):
            store.record_interview({k: v for k, v in scorecard.items() if k != "minutes"})


# -- files drill cannot use ---------------------------------------------------------------------


def test_a_corrupt_database_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "progress.sqlite3"
    garbage = b"this is not SQLite at all\n" * 200
    path.write_bytes(garbage)
    with pytest.raises(ProgressError) as raised, open_store(path):
        pass
    message = str(raised.value)
    assert str(path) in message
    assert "damaged" in message and "Move it aside" in message
    assert path.read_bytes() == garbage


def test_a_database_from_a_newer_drill_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "progress.sqlite3"
    with open_store(path) as store:
        store.record_review("q", "good", when=START)
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(ProgressError, match="newer drill") as raised, open_store(path):
        pass
    assert str(path) in str(raised.value)
    db = sqlite3.connect(path)
    assert db.execute("SELECT COUNT(*) FROM reviews").fetchone()[0] == 1


def test_a_home_that_cannot_be_created_is_reported(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with (
        pytest.raises(ProgressError, match="it is a file, not a folder") as raised,
        open_store(blocker / "progress.sqlite3"),
    ):
        pass
    assert "DRILL_HOME" in str(raised.value)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes read-only files anyway")
def test_a_read_only_database_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "progress.sqlite3"
    with open_store(path) as store:
        store.record_review("q", "good", when=START)
    path.chmod(0o444)
    tmp_path.chmod(0o555)
    try:
        with pytest.raises(ProgressError, match="cannot write"), open_store(path):
            pass
    finally:
        tmp_path.chmod(0o755)


# -- export, reset, import ----------------------------------------------------------------------


def populate(store: Store) -> None:
    when = START
    for day in range(4):
        when = START + timedelta(days=day)
        store.record_review("a", "good", "right", 30, when=when)
        store.record_review("b", "again" if day % 2 else "hard", "none", 60, 1, when=when)
    store.record_grade([grade("failed"), grade("passed", "relu")], LINEAR, when=when)
    store.record_interview(
        {"started": when.isoformat(), "questions": [], "points": 0, "max_points": 3, "minutes": 45}
    )


def snapshot(store: Store) -> tuple:
    cards = {
        k: (v.card.to_dict(), v.reviews, v.lapses, v.last_rating) for k, v in store.cards().items()
    }
    return cards, store.reviews(), store.grades(), store.interviews()


def test_export_reset_import_gives_back_the_same_history(tmp_path: Path) -> None:
    with open_store() as store:
        populate(store)
        before = snapshot(store)
        exported = json.loads(json.dumps(store.export()))
        store.reset()
        assert snapshot(store) == ({}, [], [], [])
        added = store.merge(exported, "backup.json")
        # 8 quiz reviews and the grade round's reviews of its three code questions
        assert added == {"reviews": 11, "grades": 2, "interviews": 1}
        assert snapshot(store) == before
        assert store.merge(exported, "backup.json") == {"reviews": 0, "grades": 0, "interviews": 0}
        assert snapshot(store) == before


def test_importing_merges_two_histories(tmp_path: Path) -> None:
    with open_store(tmp_path / "laptop.sqlite3") as laptop:
        laptop.record_review("a", "good", when=START)
        from_laptop = laptop.export()
    with open_store() as store:
        store.record_review("a", "good", when=START + timedelta(minutes=20))
        store.merge(from_laptop, "laptop.json")
        card = store.cards()["a"]
    assert card.reviews == 2
    assert (
        card.card.due
        == fsrs_dues([(Rating.Good, START), (Rating.Good, START + timedelta(minutes=20))])[-1]
    )


def _export_with_review(**fields: object) -> dict[str, object]:
    """An export of one valid review with `fields` changed."""
    review = {
        "id": "r",
        "question_id": "sigmoid-max-slope",
        "reviewed_at": "2026-01-01T10:00:00+00:00",
        "source": "quiz",
        "self_rating": "good",
        "rating": "good",
        "outcome": "right",
        "seconds": 3.0,
        "hints_used": 0,
    }
    return {"format": "drill-progress", "version": 1, "reviews": [{**review, **fields}]}


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ([], "lacks"),
        ({"format": "drill-progress", "version": 99}, "version 99"),
        ({"format": "drill-progress", "version": 1, "reviews": {}}, "'reviews' must be a list"),
        (
            {"format": "drill-progress", "version": 1, "reviews": [{"id": "x"}]},
            "review 1: 'question_id'",
        ),
        (
            {
                "format": "drill-progress",
                "version": 1,
                "grades": [
                    {
                        "id": "g",
                        "round": "r",
                        "exercise_id": "linear",
                        "graded_at": "yesterday",
                        "status": "passed",
                        "points": 5,
                        "max_points": 5,
                    }
                ],
            },
            "grade 1: 'graded_at' is not an ISO 8601 time",
        ),
        (_export_with_review(seconds=10**400), "review 1: 'seconds' is not a number from 0"),
        (_export_with_review(seconds=-1.0), "review 1: 'seconds' is not a number from 0"),
        (_export_with_review(hints_used=2**70), "review 1: 'hints_used' is not a number"),
        (_export_with_review(question_id="q" * 1000), "'question_id' is longer than 200"),
        (
            _export_with_review(reviewed_at="9999-12-31T23:59:59+00:00"),
            "review 1: 'reviewed_at' (9999-12-31) is not between 2000 and today",
        ),
        (
            _export_with_review(reviewed_at="2026-01-01T10:00:00"),
            "review 1: 'reviewed_at' is not an ISO 8601 time with a zone",
        ),
        (
            {
                "format": "drill-progress",
                "version": 1,
                "interviews": [
                    {
                        "id": "i",
                        "recorded_at": "2026-01-01T10:00:00+00:00",
                        "scorecard": {"started": 7, "questions": 5, "points": "x"},
                    }
                ],
            },
            "interview 1's scorecard: 'started'",
        ),
        ({"format": "drill-progress", "version": 10**400}, "version 1000"),
    ],
)
def test_a_bad_export_is_refused_without_changes(data: object, problem: str) -> None:
    with open_store() as store:
        store.record_review("q", "good", when=START)
        with pytest.raises(ProgressError, match="not a drill progress export") as raised:
            store.merge(data, "mine.json")  # type: ignore[arg-type]
        assert problem in str(raised.value)
        assert "mine.json" in str(raised.value)
        assert len(store.reviews()) == 1
        assert len(raised.value.args[0]) < 200


# -- two writers ----------------------------------------------------------------------------------

WRITER = """
import sys, time
from pathlib import Path
from drill.progress.store import open_store
name, count, gate = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
with open_store() as store:
    (gate / f"ready-{name}").touch()
    while not (gate / "go").exists():  # both start writing at the same moment
        time.sleep(0.001)
    for number in range(count):
        store.record_review(f"{name}-{number % 5}", "good", "right", 1.0)
        store.record_review("shared", "hard", "none", 1.0)
print("done")
"""


def test_two_processes_writing_at_once_lose_nothing(tmp_path: Path) -> None:
    count = 100
    names = ("left", "right")
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(WRITER), name, str(count), str(tmp_path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in names
    ]
    while not all((tmp_path / f"ready-{name}").exists() for name in names):
        for writer in writers:
            if writer.poll() is not None:
                pytest.fail(f"a writer died while starting: {writer.communicate()[1]}")
        time.sleep(0.01)
    (tmp_path / "go").touch()
    for writer in writers:
        out, err = writer.communicate(timeout=300)
        assert writer.returncode == 0, err
        assert out.strip() == "done"
        assert "locked" not in err
    with open_store() as store:
        reviews = store.reviews()
        cards = store.cards()
    assert len(reviews) == 4 * count
    assert cards["shared"].reviews == 2 * count
    assert sum(card.reviews for card in cards.values()) == 4 * count


def test_a_drill_opening_a_new_file_waits_for_another_that_is_opening_it(tmp_path: Path) -> None:
    """The other drill holds the write lock while this one reads the new file and needs the
    exclusive lock to switch it to WAL: SQLite fails that at once rather than waiting."""
    path = tmp_path / "progress.sqlite3"
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    released = threading.Timer(0.5, other.execute, ("COMMIT",))
    released.start()
    try:
        with open_store(path) as store:
            store.record_review("q", "good", "right", 1.0)
    finally:
        released.join()
        other.close()
    with open_store(path) as store:
        assert len(store.reviews()) == 1


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(seconds=-5), "now"),
        (timedelta(seconds=20), "in 1 minute"),
        (timedelta(minutes=10), "in 10 minutes"),
        (timedelta(minutes=59, seconds=40), "in 1 hour"),
        (timedelta(hours=5, minutes=10), "in 5 hours"),
        (timedelta(hours=23, minutes=50), "in 1 day"),
        (timedelta(days=4), "in 4 days"),
    ],
)
def test_due_times_read_naturally(delta: timedelta, text: str) -> None:
    assert describe_due(START + delta, START) == text
