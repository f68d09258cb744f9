"""The progress store: every review, grade and mock interview, in one SQLite file.

Where: `$DRILL_HOME/progress.sqlite3` when DRILL_HOME is set, else `progress.sqlite3` in the
user data folder for "drill" (platformdirs). Each write is committed at once (WAL journal, a
busy timeout), so a killed drill keeps everything recorded before, and two drill processes
can write at the same time. A file drill cannot use — corrupt, from a newer drill, or not
writable — raises ProgressError naming the file and what to do; it is never reset silently.

Public API (stable; the quiz, `drill grade`, `drill grade --watch` and `drill interview`
call it):

    open_store(path: Path | None = None) -> Store          # a context manager
    store_path() -> Path                                   # where open_store() looks
    ProgressError                                          # str(error) is the user message

    Store.record_review(question_id, rating, outcome="none", seconds=0.0, hints_used=0,
                        source="quiz", when=None) -> datetime
        One review of a question. `rating` is what the user chose (again/hard/good/easy, or
        "none" when they gave none); `outcome` the auto-scored verdict (right/wrong/none). A
        wrong outcome is reviewed as "again" whatever the rating; with no rating, right is
        "good" and anything else "again". Returns the next due time.
    Store.record_grade(grades: Sequence[ExerciseGrade],
                       exercise_questions: Mapping[str, Sequence[str]],
                       when=None) -> dict[str, datetime]
        One graded round of one or more exercises. The first grade of a local day that
        finds a code question due is a review of it (see `record_grade`). Returns the next
        due time of each question reviewed. `exercise_questions(bank)` builds the mapping.
    Store.record_interview(scorecard: Mapping[str, Any], when=None) -> str
        A mock interview's JSON-ready scorecard with at least started, questions (a list
        of per-question dicts), points, max_points and minutes. Returns its id.

    Store.cards() -> dict[str, CardRecord]       # per reviewed question: fsrs card, counts
    Store.first_reviews(source) -> dict[str, datetime]  # when `source` first reviewed each
    Store.reviews() -> list[Review]              # oldest first
    Store.grades() -> list[GradeRecord]          # oldest first
    Store.interviews() -> list[dict]             # scorecards, oldest first
    Store.export() -> dict                       # the full history, JSON-ready
    Store.merge(data: Mapping, source: str) -> dict[str, int]   # import; idempotent
    Store.reset() -> None                        # forget everything

Times are timezone-aware and kept in UTC; `when=None` means drill.progress.clock.now().
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from fsrs import Card, State

from drill.progress import clock
from drill.progress.schedule import REVIEW_RATINGS, ReviewRating, review, worst
from drill.text import excerpt

if TYPE_CHECKING:
    from drill.bank import Bank

FILE_NAME = "progress.sqlite3"
EXPORT_FORMAT = "drill-progress"
EXPORT_VERSION = 1
BUSY_TIMEOUT_SECONDS = 30.0

Source = Literal["quiz", "grade", "interview"]
SOURCES: tuple[Source, ...] = ("quiz", "grade", "interview")
GRADE_STATUSES = ("passed", "failed", "error", "timeout", "missing")
FAILED_STATUSES = ("failed", "error", "timeout")
SELF_RATINGS = (*REVIEW_RATINGS, "none")
# Bounds on what an imported export may hold: drill wrote nothing before 2000.
_EARLIEST_RECORD = datetime(2000, 1, 1, tzinfo=timezone.utc)
_LARGEST_COUNT = 10**9
_LONGEST_TEXT = 200  # ids, names and times

# Forward migrations: MIGRATIONS[n] holds the statements from user_version n to n + 1.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE reviews (
            id TEXT PRIMARY KEY,          -- random, so merging exports never doubles a review
            question_id TEXT NOT NULL,
            reviewed_at TEXT NOT NULL,    -- ISO 8601, UTC
            source TEXT NOT NULL,         -- quiz, grade or interview
            self_rating TEXT NOT NULL,    -- what the user chose: again, hard, good, easy, none
            rating TEXT NOT NULL,         -- what the scheduler was given: again to easy
            outcome TEXT NOT NULL,        -- quiz: right, wrong, none - grade: passed, failed
            seconds REAL NOT NULL,
            hints_used INTEGER NOT NULL
        )""",
        "CREATE INDEX reviews_by_question ON reviews (question_id, reviewed_at)",
        # Derived from the reviews (replayed after an import), kept to spare a replay per run.
        """CREATE TABLE cards (
            question_id TEXT PRIMARY KEY,
            card TEXT NOT NULL,           -- fsrs Card.to_dict() as JSON
            reviews INTEGER NOT NULL,
            lapses INTEGER NOT NULL,      -- "again" given in the review state
            last_rating TEXT NOT NULL
        )""",
        """CREATE TABLE grades (
            id TEXT PRIMARY KEY,
            round TEXT NOT NULL,          -- the exercises graded together share a round
            exercise_id TEXT NOT NULL,
            graded_at TEXT NOT NULL,
            status TEXT NOT NULL,         -- passed, failed, error, timeout or missing
            points REAL NOT NULL,
            max_points INTEGER NOT NULL
        )""",
        "CREATE INDEX grades_by_exercise ON grades (exercise_id, graded_at)",
        """CREATE TABLE interviews (
            id TEXT PRIMARY KEY,
            recorded_at TEXT NOT NULL,
            scorecard TEXT NOT NULL       -- JSON
        )""",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)


class ProgressError(Exception):
    """The progress store cannot be used; the message names the file and what to do."""


@dataclass(frozen=True)
class ExerciseGrade:
    """One exercise's result in a graded round, as drill grade reports it."""

    exercise_id: str
    status: str  # passed | failed | error | timeout | missing
    points: float
    max_points: int


@dataclass(frozen=True)
class Review:
    id: str
    question_id: str
    reviewed_at: datetime
    source: str
    self_rating: str
    rating: ReviewRating
    outcome: str
    seconds: float
    hints_used: int


@dataclass(frozen=True)
class GradeRecord:
    id: str
    round: str
    exercise_id: str
    graded_at: datetime
    status: str
    points: float
    max_points: int


@dataclass(frozen=True)
class CardRecord:
    """A reviewed question's fsrs card with the counts the stats show."""

    question_id: str
    card: Card
    reviews: int
    lapses: int
    last_rating: ReviewRating


def store_path() -> Path:
    """$DRILL_HOME/progress.sqlite3, else progress.sqlite3 in the user data folder."""
    home = os.environ.get("DRILL_HOME")
    if home:
        return Path(home).expanduser() / FILE_NAME
    import platformdirs

    return platformdirs.user_data_path("drill", appauthor=False) / FILE_NAME


def exercise_questions(bank: Bank) -> dict[str, list[str]]:
    """Each exercise id → the ids of the code questions that name it (possibly none)."""
    mapping: dict[str, list[str]] = {name: [] for name in bank.exercises}
    for question in bank.questions.values():
        if question.kind == "code":
            for name in question.exercises:
                mapping.setdefault(name, []).append(question.id)
    return mapping


@contextmanager
def open_store(path: Path | None = None) -> Iterator[Store]:
    """Open (creating or migrating) the store at `path`, default `store_path()`."""
    store = Store(store_path() if path is None else path)
    try:
        yield store
    finally:
        store.close()


def _text_time(moment: datetime) -> str:
    return clock.utc(moment).isoformat(timespec="microseconds")


def _parse_time(text: str) -> datetime:
    return clock.utc(datetime.fromisoformat(text))


class Store:
    """An open progress database. Use open_store() rather than constructing one directly."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except FileExistsError:  # mkdir found a file, or a link to one, where the folder goes
            raise ProgressError(
                f"cannot keep progress in {path.parent}: it is a file, not a folder; set "
                "DRILL_HOME to a folder (drill creates it if it does not exist)"
            ) from None
        except OSError as error:
            raise self._unwritable(error.strerror or str(error)) from None
        with self._guard():
            self._db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
        try:
            with self._guard():
                self._migrate()
        except BaseException:
            self._db.close()
            raise

    def close(self) -> None:
        self._db.close()

    # -- errors --------------------------------------------------------------------------------

    def _unwritable(self, reason: str) -> ProgressError:
        return ProgressError(
            f"cannot write the progress database {self.path} ({reason}); make the file and "
            "its folder writable, or set DRILL_HOME to a writable folder"
        )

    @contextmanager
    def _guard(self) -> Iterator[None]:
        """Turn SQLite's errors into one ProgressError saying what to do."""
        try:
            yield
        except sqlite3.Error as error:
            reason = str(error)
            if isinstance(error, sqlite3.OperationalError):
                if "locked" in reason or "busy" in reason:
                    raise ProgressError(
                        f"the progress database {self.path} stayed locked by another drill "
                        f"for {BUSY_TIMEOUT_SECONDS:g} s; close it and try again"
                    ) from None
                if any(word in reason for word in ("readonly", "unable to open", "I/O", "full")):
                    raise self._unwritable(reason) from None
            raise ProgressError(
                f"the progress database {self.path} is damaged ({reason}); nothing was changed. "
                f"Move it aside (e.g. rename it to {self.path.name}.broken) and drill starts a "
                "new one; 'drill progress import' restores an export into it"
            ) from None

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One transaction that holds the write lock from its first read, committed at once."""
        with self._guard():
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _use_wal(self) -> None:
        """Switch the file to WAL, waiting out another drill that is switching it too.

        Two drills opening a new file at once both read it, then both ask for the exclusive
        lock the switch needs; SQLite sees the deadlock and fails one of them at once, without
        the busy timeout, so that one tries again until the other has finished.
        """
        deadline = time.monotonic() + BUSY_TIMEOUT_SECONDS
        while True:
            try:
                self._db.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) or time.monotonic() > deadline:
                    raise
            time.sleep(0.02)

    def _migrate(self) -> None:
        self._use_wal()
        # With WAL, NORMAL still survives any crash or kill of drill itself (only a power cut
        # can drop the last commits), and a commit need not wait for the disk, so a writer
        # holds the lock for moments and a second drill is never kept waiting long.
        self._db.execute("PRAGMA synchronous = NORMAL")
        # Taking the write lock first means two drills starting at once never both migrate,
        # and a file that cannot be written is found now, not at the first answer.
        with self._write() as db:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise ProgressError(
                    f"the progress database {self.path} was written by a newer drill "
                    f"(schema {version}; this drill knows {SCHEMA_VERSION}); upgrade drill, "
                    "or set DRILL_HOME to another folder to use this version"
                )
            for step in range(version, SCHEMA_VERSION):
                for statement in MIGRATIONS[step]:
                    db.execute(statement)
            if version < SCHEMA_VERSION:
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    # -- writing ----------------------------------------------------------------------------

    def record_review(
        self,
        question_id: str,
        rating: str,
        outcome: str = "none",
        seconds: float = 0.0,
        hints_used: int = 0,
        source: Source = "quiz",
        when: datetime | None = None,
    ) -> datetime:
        """Record one review and reschedule the question; returns its next due time (UTC).

        `rating` is the user's (again/hard/good/easy, or none); a "wrong" `outcome` is
        reviewed as "again" whatever it is. Without a rating, a "right" outcome counts as
        "good" and anything else as "again".
        """
        if rating not in SELF_RATINGS:
            raise ValueError(f"unknown rating {rating!r}")
        if source not in SOURCES:
            raise ValueError(f"unknown source {source!r}")
        scheduled = _scheduled_rating(rating, outcome)
        moment = clock.now() if when is None else when
        with self._write() as db:
            return self._review(
                db, question_id, moment, source, rating, scheduled, outcome, seconds, hints_used
            )

    def record_grade(
        self,
        grades: Sequence[ExerciseGrade],
        exercise_questions: Mapping[str, Sequence[str]],
        when: datetime | None = None,
    ) -> dict[str, datetime]:
        """Record a graded round; review the code questions it settles. Next due per question.

        Every exercise's grade is kept (its status and best score). A round is also a review
        of each code question naming a graded exercise (not a stub) when the question is due
        and has had no grade review yet that local day: "again" if the exercise failed,
        errored or timed out; "hard" if it passed after failed attempts since the question's
        last review; "good" if it passed at the first try. When a question names several
        exercises of the round, the worst of their grades counts.
        """
        moment = clock.now() if when is None else when
        for grade in grades:
            if grade.status not in GRADE_STATUSES:
                raise ValueError(f"unknown grade status {grade.status!r}")
        round_id = uuid.uuid4().hex
        due_times: dict[str, datetime] = {}
        with self._write() as db:
            db.executemany(
                "INSERT INTO grades VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        uuid.uuid4().hex,
                        round_id,
                        grade.exercise_id,
                        _text_time(moment),
                        grade.status,
                        grade.points,
                        grade.max_points,
                    )
                    for grade in grades
                ],
            )
            settled: dict[str, list[ReviewRating]] = {}
            for grade in grades:
                if grade.status == "missing":
                    continue
                for question_id in exercise_questions.get(grade.exercise_id, ()):
                    settled.setdefault(question_id, []).append(
                        self._grade_rating(db, question_id, grade, round_id)
                    )
            for question_id, ratings in settled.items():
                if not self._grade_review_due(db, question_id, moment):
                    continue
                rating = worst(ratings)
                outcome = "failed" if rating == "again" else "passed"
                due_times[question_id] = self._review(
                    db, question_id, moment, "grade", "none", rating, outcome, 0.0, 0
                )
        return due_times

    def _grade_rating(
        self, db: sqlite3.Connection, question_id: str, grade: ExerciseGrade, round_id: str
    ) -> ReviewRating:
        if grade.status != "passed":
            return "again"
        stored = self._card(db, question_id)
        last_review = None if stored is None else stored.card.last_review
        since = "" if last_review is None else _text_time(last_review)
        failures = db.execute(
            "SELECT COUNT(*) FROM grades WHERE exercise_id = ? AND round != ? AND graded_at > ?"
            f" AND status IN ({', '.join('?' * len(FAILED_STATUSES))})",
            (
                grade.exercise_id,
                round_id,
                since,
                *FAILED_STATUSES,
            ),
        ).fetchone()[0]
        return "hard" if failures else "good"

    def _grade_review_due(self, db: sqlite3.Connection, question_id: str, moment: datetime) -> bool:
        """Whether a grade at `moment` reviews the question: it is due, and the day's first."""
        stored = self._card(db, question_id)
        if stored is not None and stored.card.due > clock.utc(moment):
            return False
        # Local days are at most 14 hours away from UTC ones, so two days back is enough.
        recent = db.execute(
            "SELECT reviewed_at FROM reviews WHERE question_id = ? AND source = 'grade'"
            " AND reviewed_at >= ?",
            (question_id, _text_time(moment - timedelta(days=2))),
        ).fetchall()
        today = clock.local_day(moment)
        return all(clock.local_day(_parse_time(row[0])) != today for row in recent)

    def record_interview(self, scorecard: Mapping[str, Any], when: datetime | None = None) -> str:
        """Keep a mock interview's scorecard (JSON-ready); returns the id it is stored under."""
        missing = {"started", "questions", "points", "max_points", "minutes"} - set(scorecard)
        if missing:
            raise ValueError(f"scorecard lacks {', '.join(sorted(missing))}")
        if not isinstance(scorecard["questions"], list):
            raise ValueError("scorecard 'questions' must be a list")
        text = json.dumps(scorecard, ensure_ascii=False, allow_nan=False)
        interview_id = uuid.uuid4().hex
        moment = clock.now() if when is None else when
        with self._write() as db:
            db.execute(
                "INSERT INTO interviews VALUES (?, ?, ?)",
                (interview_id, _text_time(moment), text),
            )
        return interview_id

    def _review(
        self,
        db: sqlite3.Connection,
        question_id: str,
        moment: datetime,
        source: str,
        self_rating: str,
        rating: ReviewRating,
        outcome: str,
        seconds: float,
        hints_used: int,
    ) -> datetime:
        db.execute(
            "INSERT INTO reviews VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                uuid.uuid4().hex,
                question_id,
                _text_time(moment),
                source,
                self_rating,
                rating,
                outcome,
                float(seconds),
                int(hints_used),
            ),
        )
        updated = _reviewed(self._card(db, question_id), question_id, rating, clock.utc(moment))
        _save_card(db, updated)
        return updated.card.due

    # -- reading ----------------------------------------------------------------------------

    def _card(self, db: sqlite3.Connection, question_id: str) -> CardRecord | None:
        row = db.execute(
            "SELECT question_id, card, reviews, lapses, last_rating FROM cards"
            " WHERE question_id = ?",
            (question_id,),
        ).fetchone()
        return None if row is None else _card_record(row)

    def cards(self) -> dict[str, CardRecord]:
        """The card of every question reviewed at least once, by question id."""
        with self._guard():
            rows = self._db.execute(
                "SELECT question_id, card, reviews, lapses, last_rating FROM cards"
            ).fetchall()
        return {row[0]: _card_record(row) for row in rows}

    def first_reviews(self, source: Source) -> dict[str, datetime]:
        """When each question first reviewed by `source` (the quiz, say) had that review."""
        with self._guard():
            # With MIN(), SQLite takes the row's other bare columns from the row of the minimum.
            rows = self._db.execute(
                "SELECT question_id, MIN(reviewed_at), source FROM reviews GROUP BY question_id"
            ).fetchall()
        return {question: _parse_time(first) for question, first, by in rows if by == source}

    def reviews(self) -> list[Review]:
        """Every review, oldest first."""
        with self._guard():
            rows = self._db.execute("SELECT * FROM reviews ORDER BY reviewed_at, rowid").fetchall()
        return [
            Review(
                id=row[0],
                question_id=row[1],
                reviewed_at=_parse_time(row[2]),
                source=row[3],
                self_rating=row[4],
                rating=row[5],
                outcome=row[6],
                seconds=row[7],
                hints_used=row[8],
            )
            for row in rows
        ]

    def grades(self) -> list[GradeRecord]:
        """Every exercise grade, oldest first."""
        with self._guard():
            rows = self._db.execute("SELECT * FROM grades ORDER BY graded_at, rowid").fetchall()
        return [
            GradeRecord(
                id=row[0],
                round=row[1],
                exercise_id=row[2],
                graded_at=_parse_time(row[3]),
                status=row[4],
                points=row[5],
                max_points=row[6],
            )
            for row in rows
        ]

    def interviews(self) -> list[dict[str, Any]]:
        """Every stored interview scorecard, oldest first."""
        with self._guard():
            rows = self._db.execute(
                "SELECT scorecard FROM interviews ORDER BY recorded_at, rowid"
            ).fetchall()
        return [json.loads(row[0]) for row in rows]

    # -- export, import, reset ----------------------------------------------------------------

    def export(self) -> dict[str, Any]:
        """The whole history as one JSON-ready object (cards are derived, so not included)."""
        with self._guard():
            interviews = self._db.execute(
                "SELECT id, recorded_at, scorecard FROM interviews ORDER BY recorded_at, rowid"
            ).fetchall()
        return {
            "format": EXPORT_FORMAT,
            "version": EXPORT_VERSION,
            "exported": _text_time(clock.now()),
            "reviews": [
                {**asdict(r), "reviewed_at": _text_time(r.reviewed_at)} for r in self.reviews()
            ],
            "grades": [{**asdict(g), "graded_at": _text_time(g.graded_at)} for g in self.grades()],
            "interviews": [
                {"id": row[0], "recorded_at": row[1], "scorecard": json.loads(row[2])}
                for row in interviews
            ],
        }

    def merge(self, data: Mapping[str, Any], source: str) -> dict[str, int]:
        """Add the export's records this store lacks; returns how many of each were new.

        Records are matched by id, so importing the same file twice changes nothing. Cards
        are then replayed from the merged reviews. `source` names the file in messages.
        """
        reviews, grades, interviews = _parse_export(data, source)
        with self._write() as db:
            before = {table: _count(db, table) for table in ("reviews", "grades", "interviews")}
            db.executemany(
                "INSERT OR IGNORE INTO reviews VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", reviews
            )
            db.executemany("INSERT OR IGNORE INTO grades VALUES (?, ?, ?, ?, ?, ?, ?)", grades)
            db.executemany("INSERT OR IGNORE INTO interviews VALUES (?, ?, ?)", interviews)
            added = {table: _count(db, table) - before[table] for table in before}
            if added["reviews"]:
                _replay_cards(db)
        return added

    def reset(self) -> None:
        """Forget every review, grade and interview (the schema stays)."""
        with self._write() as db:
            for table in ("reviews", "cards", "grades", "interviews"):
                db.execute(f"DELETE FROM {table}")


def _scheduled_rating(rating: str, outcome: str) -> ReviewRating:
    """What the scheduler is told: the user's rating, overruled by a wrong answer."""
    if outcome == "wrong":
        return "again"
    if rating == "none":
        return "good" if outcome == "right" else "again"
    return rating  # type: ignore[return-value]  # checked against SELF_RATINGS by the caller


def _count(db: sqlite3.Connection, table: str) -> int:
    return db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]


def _card_record(row: tuple[Any, ...]) -> CardRecord:
    return CardRecord(
        question_id=row[0],
        card=Card.from_dict(json.loads(row[1])),
        reviews=row[2],
        lapses=row[3],
        last_rating=row[4],
    )


def _reviewed(
    stored: CardRecord | None, question_id: str, rating: ReviewRating, when: datetime
) -> CardRecord:
    card = None if stored is None else stored.card
    lapsed = card is not None and card.state == State.Review and rating == "again"
    return CardRecord(
        question_id=question_id,
        card=review(card, question_id, rating, when),
        reviews=(0 if stored is None else stored.reviews) + 1,
        lapses=(0 if stored is None else stored.lapses) + lapsed,
        last_rating=rating,
    )


def _save_card(db: sqlite3.Connection, record: CardRecord) -> None:
    db.execute(
        "INSERT OR REPLACE INTO cards VALUES (?, ?, ?, ?, ?)",
        (
            record.question_id,
            json.dumps(record.card.to_dict()),
            record.reviews,
            record.lapses,
            record.last_rating,
        ),
    )


def _replay_cards(db: sqlite3.Connection) -> None:
    """Rebuild every card from the reviews, in time order."""
    db.execute("DELETE FROM cards")
    cards: dict[str, CardRecord] = {}
    rows = db.execute(
        "SELECT question_id, reviewed_at, rating FROM reviews ORDER BY reviewed_at, rowid"
    )
    for question_id, reviewed_at, rating in rows.fetchall():
        cards[question_id] = _reviewed(
            cards.get(question_id), question_id, rating, _parse_time(reviewed_at)
        )
    for record in cards.values():
        _save_card(db, record)


def _parse_export(
    data: Mapping[str, Any], source: str
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The rows of an export, checked field by field; ProgressError naming `source` if not."""

    def problem(message: str) -> ProgressError:
        return ProgressError(f"{source} is not a drill progress export: {message}")

    if not isinstance(data, Mapping) or data.get("format") != EXPORT_FORMAT:
        raise problem(f'it lacks "format": "{EXPORT_FORMAT}"')
    if data.get("version") != EXPORT_VERSION:
        raise problem(
            f"version {excerpt(data.get('version'))}; this drill reads version {EXPORT_VERSION}"
        )

    def items(key: str) -> list[Mapping[str, Any]]:
        value = data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
            raise problem(f"'{key}' must be a list of objects")
        return value

    def field(item: Mapping[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
        value = item.get(key)
        if not isinstance(value, kind) or isinstance(value, bool):
            raise problem(f"{where}: '{key}' is missing or of the wrong type")
        if isinstance(value, str) and len(value) > _LONGEST_TEXT:
            raise problem(f"{where}: '{key}' is longer than {_LONGEST_TEXT} characters")
        return value

    def count(item: Mapping[str, Any], key: str, where: str, kind: type | tuple[type, ...]) -> Any:
        value = field(item, key, kind, where)
        # SQLite holds 64-bit integers and the scheduler floats: bound what it is given.
        if not 0 <= value <= _LARGEST_COUNT:
            raise problem(f"{where}: '{key}' is not a number from 0 to {_LARGEST_COUNT:,}")
        return value

    def moment(item: Mapping[str, Any], key: str, where: str) -> str:
        try:
            when = clock.utc(datetime.fromisoformat(field(item, key, str, where)))
        except ValueError:
            raise problem(f"{where}: '{key}' is not an ISO 8601 time with a zone") from None
        # The scheduler adds intervals to these times, so a year 9999 would overflow it.
        if not _EARLIEST_RECORD <= when <= latest:
            raise problem(f"{where}: '{key}' ({when:%Y-%m-%d}) is not between 2000 and today")
        return _text_time(when)

    latest = clock.now() + timedelta(days=1)

    def choice(item: Mapping[str, Any], key: str, allowed: Sequence[str], where: str) -> str:
        value = field(item, key, str, where)
        if value not in allowed:
            raise problem(f"{where}: '{key}' must be one of {', '.join(allowed)}")
        return value

    reviews = []
    for number, item in enumerate(items("reviews"), start=1):
        where = f"review {number}"
        reviews.append(
            (
                field(item, "id", str, where),
                field(item, "question_id", str, where),
                moment(item, "reviewed_at", where),
                choice(item, "source", SOURCES, where),
                choice(item, "self_rating", SELF_RATINGS, where),
                choice(item, "rating", REVIEW_RATINGS, where),
                field(item, "outcome", str, where),
                float(count(item, "seconds", where, (int, float))),
                count(item, "hints_used", where, int),
            )
        )
    grades = []
    for number, item in enumerate(items("grades"), start=1):
        where = f"grade {number}"
        grades.append(
            (
                field(item, "id", str, where),
                field(item, "round", str, where),
                field(item, "exercise_id", str, where),
                moment(item, "graded_at", where),
                choice(item, "status", GRADE_STATUSES, where),
                float(count(item, "points", where, (int, float))),
                count(item, "max_points", where, int),
            )
        )
    interviews = []
    for number, item in enumerate(items("interviews"), start=1):
        where = f"interview {number}"
        scorecard = field(item, "scorecard", Mapping, where)
        card_where = f"{where}'s scorecard"
        moment(scorecard, "started", card_where)
        field(scorecard, "questions", list, card_where)
        for key in ("points", "max_points", "minutes"):
            count(scorecard, key, card_where, (int, float))
        interviews.append(
            (
                field(item, "id", str, where),
                moment(item, "recorded_at", where),
                json.dumps(scorecard, ensure_ascii=False),
            )
        )
    return reviews, grades, interviews
