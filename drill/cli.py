"""The `drill` command line: thin commands over the bank, the quiz and the grader.

Heavy modules (NumPy, the grader, Rich views) are imported inside command bodies so that
`drill --help` and `drill list` start fast. Domain errors become one message on stderr and
an exit code: 1 for a failed check or grade, 2 for input drill cannot use.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from drill.limits import DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT
from drill.progress import DEFAULT_NEW_PER_DAY

if TYPE_CHECKING:
    from datetime import datetime

    from rich.console import Console

    from drill.bank import Bank, Exercise, Question
    from drill.grader.results import GradeReport
    from drill.grader.runner import GradingSession
    from drill.progress.store import Store
    from drill.quiz.session import Filters

EXIT_FAILED = 1
EXIT_UNUSABLE = 2
EXIT_INTERNAL = 3
MAX_JOBS = 256  # files graded at once, each in a worker of its own
# Set by the scripts of drill completion when the shell asks drill for completions.
COMPLETE_VARIABLE = "_DRILL_COMPLETE"

app = typer.Typer(
    name="drill",
    help=(
        "Interview practice for the backpropagation round.\n\n"
        "Quiz yourself against the clock (drill quiz), read hints and answers "
        "(drill hint, drill reveal), then write backward() code and have it graded "
        "(drill init, drill grade). Rehearse the whole round with drill interview."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Plain help: Typer's Rich help formatter alone costs more than the whole of drill --help.
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _print_version(wanted: bool) -> None:
    if wanted:
        from drill import __version__

        typer.echo(f"drill {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """The options given before a command (the help text is the one given to `app`)."""
    global _errors_as_json
    _errors_as_json = False  # until the command's own --json says otherwise


BankOption = Annotated[
    Path | None,
    typer.Option(
        "--bank",
        help="Question bank folder to use instead of the built-in one.",
        file_okay=False,
        show_default=False,
    ),
]


# Whether the command was given --json, set as that option is parsed (and reset for every
# run by _root): its errors then also go to stdout, as one JSON object for the script reading.
_errors_as_json = False


def _json_option(wanted: bool) -> bool:
    """The callback of every --json option."""
    global _errors_as_json
    _errors_as_json = wanted
    return wanted


def fail(message: str, code: int = EXIT_UNUSABLE, **json_fields: object) -> NoReturn:
    """Print one error line and leave with `code`; under --json, first print the JSON object
    {"error": message, **json_fields} on stdout.

    The message may quote a submission or a bank (an import-time traceback, a file name), so
    its control characters are shown, not sent; JSON escapes them.
    """
    from drill.text import visible

    if _errors_as_json:
        import json

        typer.echo(json.dumps({"error": message, **json_fields}))
    typer.echo(f"drill: {visible(message)}", err=True)
    raise typer.Exit(code)


def load(
    bank_dir: Path | None, complain: Callable[[str], NoReturn] = fail, cached: bool = False
) -> Bank:
    """The bank, or a clear message and exit code 2 when it cannot be loaded.

    `complain` says it and exits (drill grade --json passes one that prints a JSON object).
    `cached` lets an unchanged bank's data come from drill's cache (drill grade does).
    """
    from drill.bank import BankError, load_bank
    from drill.bank.loader import bank_cache_path, default_bank_dir
    from drill.text import plural

    if bank_dir is not None and not bank_dir.exists():
        complain(f"no such bank folder: {bank_dir}")
    root = default_bank_dir() if bank_dir is None else bank_dir
    try:
        return load_bank(root, bank_cache_path(root) if cached else None)
    except BankError as error:
        count = len(error.issues)
        lines = "\n".join(f"  {issue}" for issue in error.issues[:20])
        more = f"\n  … and {count - 20} more" if count > 20 else ""
        command = "drill check" if bank_dir is None else f"drill check {bank_dir}"
        complain(
            f"the question bank has {plural(count, 'problem')}; run '{command}':\n{lines}{more}"
        )


# -- Browsing the bank and the quiz ---------------------------------------------------------


class Difficulty(str, Enum):
    """The values of drill.bank.schema.DIFFICULTIES, spelled out so `drill --help` need not
    import the bank; tests/test_cli.py keeps the two equal."""

    easy = "easy"
    medium = "medium"
    hard = "hard"


class Kind(str, Enum):
    """The values of drill.bank.schema.KINDS (kept equal by tests/test_cli.py)."""

    concept = "concept"
    derivation = "derivation"
    code = "code"
    choice = "choice"
    numeric = "numeric"
    formula = "formula"


TopicOption = Annotated[
    str | None,
    typer.Option(
        "--topic",
        help="Only questions of this topic, i.e. of this folder of the bank (e.g. backprop).",
        show_default=False,
    ),
]
DifficultyOption = Annotated[
    Difficulty | None,
    typer.Option("--difficulty", help="Only questions of this difficulty.", case_sensitive=False),
]
CompanyOption = Annotated[
    str | None,
    typer.Option(
        "--company",
        help="Only questions tagged with this company (letter case does not matter).",
        show_default=False,
    ),
]
KindOption = Annotated[
    Kind | None,
    typer.Option(
        "--kind",
        help=(
            "Only questions of this kind; choice, numeric and formula answers are checked at once."
        ),
        case_sensitive=False,
    ),
]


def _bank_for_completion(ctx: typer.Context) -> Bank | None:
    """The bank a command line being completed uses, or None when it cannot be loaded."""
    from drill.bank import BankError, load_bank

    folder = ctx.params.get("bank_dir")  # still text while the line is being completed
    try:
        return load_bank(None if folder is None else Path(folder))
    except BankError:
        return None


def complete_question_id(ctx: typer.Context, incomplete: str) -> list[tuple[str, str]]:
    """The question ids starting with what was typed, each with its title (shell completion)."""
    bank = _bank_for_completion(ctx)
    if bank is None:
        return []
    from drill.text import visible

    return [
        (q.id, visible(q.title)) for q in bank.questions.values() if q.id.startswith(incomplete)
    ]


def complete_exercise_id(ctx: typer.Context, incomplete: str) -> list[tuple[str, str]]:
    """The exercise ids starting with what was typed, each with its title (shell completion)."""
    bank = _bank_for_completion(ctx)
    if bank is None:
        return []
    from drill.text import visible

    return [
        (e.id, visible(e.title)) for e in bank.exercises.values() if e.id.startswith(incomplete)
    ]


QuestionIdArgument = Annotated[
    str,
    typer.Argument(
        help="A question id, or any unique start of one (see 'drill list').",
        show_default=False,
        autocompletion=complete_question_id,
    ),
]


def _filters(
    topic: str | None, difficulty: Difficulty | None, company: str | None, kind: Kind | None
) -> Filters:
    from drill.quiz.session import Filters

    return Filters(
        topic=topic,
        difficulty=None if difficulty is None else difficulty.value,
        company=company,
        kind=None if kind is None else kind.value,
    )


def _question(bank: Bank, query: str) -> Question:
    """The question `query` names or uniquely starts; exit 2 with suggestions otherwise."""
    from drill.bank import UnknownId, resolve

    try:
        return bank.questions[resolve(query, bank.questions, "question")]
    except UnknownId as error:
        fail(error.describe())


@app.command("list")
def list_questions(
    topic: TopicOption = None,
    difficulty: DifficultyOption = None,
    company: CompanyOption = None,
    kind: KindOption = None,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            callback=_json_option,
            help="Print a JSON list with the same fields instead of a table.",
        ),
    ] = False,
    bank_dir: BankOption = None,
) -> None:
    """List the questions: id, title, difficulty, time budget, companies and kind.

    Filters combine, e.g. --company google --kind choice.
    """
    from drill.quiz.session import matching

    questions = matching(
        load(bank_dir).questions.values(), _filters(topic, difficulty, company, kind)
    )
    if as_json:
        import json

        fields = [
            {
                "id": question.id,
                "title": question.title,
                "difficulty": question.difficulty,
                "time": question.time,
                "companies": list(question.companies),
                "kind": question.kind,
            }
            for question in questions
        ]
        typer.echo(json.dumps(fields, indent=2))
        return
    from drill.quiz.render import make_console, questions_listing

    console = make_console()
    if questions:
        console.print(questions_listing(questions, console.width), soft_wrap=True)
    else:
        console.print("No questions match these filters; drop one to see more.")


@app.command()
def show(question_id: QuestionIdArgument, bank_dir: BankOption = None) -> None:
    """Show a question's prompt and details (never its answer; see 'drill reveal')."""
    from drill.quiz.render import make_console, question_card, where_to_look

    question = _question(load(bank_dir), question_id)
    console = make_console()
    console.print(question_card(question))
    console.print(where_to_look(question))


@app.command()
def hint(
    question_id: QuestionIdArgument,
    number: Annotated[
        int | None,
        typer.Option(
            "--number",
            "-n",
            min=1,
            help="Which hint to show (default 1); hints go from gentle to revealing.",
            show_default=False,
        ),
    ] = None,
    show_all: Annotated[bool, typer.Option("--all", help="Show every hint at once.")] = False,
    bank_dir: BankOption = None,
) -> None:
    """Show a hint for a question: the first one, hint N with --number N, or all with --all."""
    from drill.quiz.render import hint_card, make_console

    if show_all and number is not None:
        fail("use either --number or --all, not both")
    question = _question(load(bank_dir), question_id)
    from drill.text import plural

    count = len(question.hints)
    if number is not None and number > count:
        fail(f"question '{question.id}' has {plural(count, 'hint')}; ask for --number 1 to {count}")
    numbers = range(1, count + 1) if show_all else [number or 1]
    console = make_console()
    for shown in numbers:
        console.print(hint_card(question, shown))


@app.command()
def reveal(question_id: QuestionIdArgument, bank_dir: BankOption = None) -> None:
    """Reveal a question's model answer, with the correct option(s) or value and key points."""
    from drill.quiz.render import answer_card, make_console, title_line

    question = _question(load(bank_dir), question_id)
    console = make_console()
    console.print(title_line(question))
    console.print(answer_card(question))


@app.command()
def quiz(
    question_ids: Annotated[
        list[str] | None,
        typer.Argument(
            help="Ask exactly these questions (ids or unique starts of ids), in this order.",
            metavar="ID...",
            show_default=False,
            autocompletion=complete_question_id,
        ),
    ] = None,
    topic: TopicOption = None,
    difficulty: DifficultyOption = None,
    company: CompanyOption = None,
    kind: KindOption = None,
    count: Annotated[
        int | None,
        typer.Option(
            "--count",
            min=1,
            help="Ask at most this many questions (default: every one chosen).",
            show_default=False,
        ),
    ] = None,
    new_per_day: Annotated[
        int,
        typer.Option(
            "--new",
            min=0,
            help="At most this many never-seen questions a day in a scheduled quiz.",
        ),
    ] = DEFAULT_NEW_PER_DAY,
    shuffle: Annotated[
        bool,
        typer.Option(
            "--all",
            help="Every matching question in random order, whether due or not.",
        ),
    ] = False,
    seed: Annotated[
        int | None,
        typer.Option(
            "--seed",
            help="Shuffle with this seed (implies --all): the same seed asks the same "
            "questions in the same order.",
            show_default=False,
        ),
    ] = None,
    bank_dir: BankOption = None,
) -> None:
    """Take a timed quiz: the reviews due first, most overdue first, then new questions.

    New questions come easiest first, at most --new a day (first seen in the quiz). A
    question due back within 20 minutes (a learning step: 1 minute after "again") is asked
    again before the end. When nothing is due, it says when the next review is. --all asks
    every matching question in random order instead, and naming questions asks exactly
    those. Every rating is saved at once (see drill progress).

    Each question shows its time budget and a running clock. Type your answer (a letter or
    letters for choice questions, a number for numeric ones, a NumPy expression for formula
    ones, several separated by ';') or any notes, and press Enter: choice, numeric and
    formula answers are marked right or wrong at once, then the model answer is shown and
    you rate yourself: 1 again, 2 hard, 3 good, 4 easy (or a, h, g, e). A wrong answer
    counts as again whatever you rate. Then it says when the question comes back.

    On an otherwise empty answer line, ? shows the next hint, s skips the question and q
    ends the quiz. Ctrl-C or the end of input also ends it. A summary table of time, outcome,
    rating and hints closes every session.

    Without a terminal, answers are read line by line, e.g.
    printf 'b\\ng\\nq\\n' | drill quiz --kind choice
    """
    import time

    from drill.quiz.render import make_console
    from drill.quiz.session import QuizSession, pick
    from drill.quiz.terminal import TerminalQuiz

    bank = load(bank_dir)
    filters = _filters(topic, difficulty, company, kind)
    console = make_console()
    again_before = None  # a scheduled quiz asks again what falls due before it ends
    with progress_store() as store:
        if question_ids:
            chosen_otherwise = (topic, difficulty, company, kind, seed)
            if shuffle or any(option is not None for option in chosen_otherwise):
                fail("either name questions or choose them with filters, --all or --seed")
            chosen = [_question(bank, query) for query in question_ids]
            questions = list({question.id: question for question in chosen}.values())
        elif shuffle or seed is not None:
            questions = pick(bank.questions.values(), filters, seed=seed)
            if not questions:
                fail("no questions match these filters; 'drill list' shows what the bank holds")
        else:
            questions = _scheduled(store, bank, filters, new_per_day, count, console)
            again_before = _learn_ahead
        questions = questions[:count]
        view = TerminalQuiz(console, time.monotonic)
        session = QuizSession(questions, view, time.monotonic, store, again_before)
        try:
            session.run()
        except KeyboardInterrupt:
            view.show_summary(session.records)
            raise typer.Exit(130) from None
        view.show_summary(session.records)


def _learn_ahead() -> datetime:
    from drill.progress import clock
    from drill.progress.schedule import LEARN_AHEAD

    return clock.now() + LEARN_AHEAD


def _scheduled(
    store: Store,
    bank: Bank,
    filters: Filters,
    new_per_day: int,
    count: int | None,
    console: Console,
) -> list[Question]:
    """The due and new questions a scheduled quiz asks; when none, say why and exit 0."""
    from drill.progress import clock
    from drill.progress.schedule import first_reviewed_today, plan
    from drill.progress.view import plan_summary

    candidates = [question for question in bank.questions.values() if filters.accepts(question)]
    if not candidates:
        fail("no questions match these filters; 'drill list' shows what the bank holds")
    now = clock.now()
    cards = {question_id: stored.card for question_id, stored in store.cards().items()}
    # Only the quiz's own first reviews use up its allowance: a question first met in a grade
    # or an interview was not the quiz's to hold back. Nor does one that left the bank.
    first_reviews = store.first_reviews("quiz")
    introduced = first_reviewed_today(
        (first_reviews[q] for q in bank.questions if q in first_reviews), now
    )
    chosen = plan(candidates, cards, introduced, new_per_day, now).first(count)
    console.print(plan_summary(chosen, new_per_day, now))
    if chosen.questions:
        return chosen.questions
    raise typer.Exit(0)


ExerciseOption = Annotated[
    list[str] | None,
    typer.Option(
        "--only",
        help="Only this exercise (an id or a unique prefix; repeat for several).",
        show_default=False,
        autocompletion=complete_exercise_id,
    ),
]


def _exercises(
    bank: Bank, only: list[str] | None, complain: Callable[[str], NoReturn] = fail
) -> list[Exercise]:
    """The exercises named by --only (all of them without it), or exit 2 for an unknown id."""
    from drill.bank import UnknownId, select

    try:
        return [bank.exercises[name] for name in select(bank.exercises, only or [])]
    except UnknownId as error:
        complain(error.describe())


@app.command()
def init(
    file: Annotated[
        Path, typer.Argument(help="Where to write the starter file, e.g. solution.py.")
    ],
    only: ExerciseOption = None,
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite FILE with a fresh starter if it exists.")
    ] = False,
    bank_dir: BankOption = None,
) -> None:
    """Write a starter solution file: every exercise as a stub with its signature and shapes.

    Fill in the stubs, then run drill grade FILE. When FILE exists, the stubs of the chosen
    exercises it does not define yet are added at its end, e.g. drill init solution.py
    --only relu; what it already has is left alone. Only --force replaces the file.
    """
    from drill.grader.starter import StarterUnreadable, write_starter
    from drill.text import plural

    bank = load(bank_dir)
    exercises = _exercises(bank, only)
    if not exercises:
        fail("this bank has no graded exercises")
    existed = file.exists()
    try:
        added = write_starter(file, exercises, force=force)
    except StarterUnreadable:
        fail(f"{file} is not UTF-8 text, so drill cannot add to it; pass --force to replace it")
    except OSError as error:
        fail(f"cannot write {file}: {error.strerror or error}")
    added_ids = {exercise.id for exercise in added}
    kept = [exercise.id for exercise in exercises if exercise.id not in added_ids]
    if kept:
        typer.echo(f"{file} already has {', '.join(kept)}: left as it is.")
    if not added:
        return
    names = ", ".join(exercise.id for exercise in added)
    verb = "Added to" if existed and not force else "Wrote"
    typer.echo(f"{verb} {file}: {plural(len(added), 'exercise stub')}: {names}")
    them = "it" if len(added) == 1 else "them"
    typer.echo(f"Next: fill {them} in, then run  drill grade {file}")


@app.command()
def grade(
    solutions: Annotated[
        list[Path],
        typer.Argument(
            help="Your solution file, e.g. one from drill init; or a class's files and "
            "folders (every *.py in a folder).",
            metavar="FILE...",
            show_default=False,
        ),
    ],
    only: ExerciseOption = None,
    timeout: Annotated[
        str,
        typer.Option(
            help="Seconds each exercise may run before it is stopped (0.1 to 3600).",
            metavar="SECONDS",
        ),
    ] = f"{DEFAULT_TIMEOUT:g}",
    memory: Annotated[
        str,
        typer.Option(
            help="Memory cap for your code's process, in MiB (256 to 1048576).", metavar="MIB"
        ),
    ] = str(DEFAULT_MEMORY_MB),
    strict: Annotated[
        bool | None,
        typer.Option(
            "--strict/--no-strict",
            help="Refuse to grade unless every sandbox protection is available "
            "(the default for a class of files; --no-strict grades it anyway).",
            show_default=False,
        ),
    ] = None,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            callback=_json_option,
            help="Print one JSON object with every result, nothing else (for many files, "
            "one line per file, then one with the summary).",
        ),
    ] = False,
    watch: Annotated[
        bool,
        typer.Option(
            "--watch",
            help="Grade again each time FILE is saved, until Ctrl-C; with --json, one line "
            "per round.",
        ),
    ] = False,
    jobs: Annotated[
        str | None,
        typer.Option(
            "--jobs",
            metavar="N",
            help="With many files: grade this many at once (default: the number of cores).",
            show_default=False,
        ),
    ] = None,
    gradebook: Annotated[
        Path | None,
        typer.Option(
            "--gradebook",
            dir_okay=False,
            metavar="FILE.csv",
            help="Write a CSV gradebook: one row per file, points and status per exercise.",
            show_default=False,
        ),
    ] = None,
    bank_dir: BankOption = None,
) -> None:
    """Grade your backward() implementations against the reference and gradient checks.

    Your file runs in a sandboxed process with a time limit per exercise and a memory cap;
    it can read files but write only a scratch folder, and has no network. Exit code: 0 when
    nothing you attempted failed (stubs count as missing, not failed), 1 when an exercise
    failed, raised or timed out, 2 when the file cannot be graded, 130 on Ctrl-C (after the
    results so far).

    Given several files or a folder, grades each one as above, in parallel, then summarises
    the class; --json prints one line per file and a last one with the summary. Exit code:
    0 when every file was graded, whatever its score; 2 when some file could not be.
    """
    import json
    import os

    def unusable(message: str) -> NoReturn:
        # Under --json, the error object has the report's fields too, empty.
        fail(message, exercises=[], points=0, max_points=0)

    if len(solutions) > 1 or solutions[0].is_dir() or gradebook is not None:
        if watch:
            unusable("--watch follows one file; give it a single solution file, no --gradebook")
        try:
            workers = int(jobs) if jobs is not None else os.cpu_count() or 1
        except ValueError:
            workers = 0
        if not 1 <= workers <= MAX_JOBS:
            unusable(f"--jobs takes a whole number from 1 to {MAX_JOBS}, not {jobs}")
        limits = (timeout, memory, strict is not False)  # a class is untrusted code: strict
        _grade_class(solutions, only, limits, as_json, workers, gradebook, bank_dir)
    solution = solutions[0]
    from drill.grader.runner import Ungradeable, open_session
    from drill.limits import LimitError, parse_memory, parse_timeout

    try:
        limits = parse_timeout(timeout), parse_memory(memory)
    except LimitError as error:
        unusable(str(error))
    try:  # started first: the worker's start-up overlaps all that follows
        session = open_session(solution, *limits, strict=bool(strict), watching=watch)
    except Ungradeable as error:
        unusable(f"cannot grade {solution}: {error}")
    with session:
        if watch:  # rounds are recorded as they come: a store that cannot take them is refused
            _check_store(unusable)
        bank = load(bank_dir, unusable, cached=True)
        exercises = _exercises(bank, only, unusable)
        if not exercises:
            unusable("this bank has no graded exercises")
        from drill.grader.cases import SpecError

        try:
            if watch:
                _watch(session, bank, exercises, as_json)
            report = _grade_with_progress(
                session, bank, exercises, not as_json, lambda: _check_store(unusable)
            )
        except Ungradeable as error:
            unusable(f"cannot grade {solution}: {error}")
        except SpecError as error:
            unusable(f"the bank's exercise declarations are broken ({error}); run 'drill check'")
    missing = _missing_protections(report)
    if missing:
        typer.echo(f"drill: graded without {', '.join(missing)} (see --strict)", err=True)
    if as_json:
        typer.echo(json.dumps(report.to_json()))
    else:
        from rich.console import Console

        from drill.grader.report import render

        render(report, Console(highlight=False))
    record_grades(bank, report)
    if report.interrupted:
        if not as_json:
            typer.echo("Interrupted: the exercises above are all that was graded.", err=True)
        raise typer.Exit(130)
    raise typer.Exit(report.exit_code)


def _watch(
    session: GradingSession, bank: Bank, exercises: list[Exercise], as_json: bool
) -> NoReturn:
    """Grade on every save of the file until Ctrl-C, which exits 130 (drill grade --watch)."""
    import json
    import signal
    import time

    from drill.grader.report import render, watch_heading, watch_problem
    from drill.grader.watch import watch_and_grade
    from drill.quiz.render import make_console

    console = make_console()

    def heading(report: GradeReport | None) -> None:
        console.clear()
        missing = _missing_protections(report) if report else []
        console.print(watch_heading(session.solution.name, time.strftime("%H:%M:%S"), missing))

    def on_report(report: GradeReport) -> None:
        # Ctrl-C waits until the round is kept: once a round is shown, it is recorded.
        pressed: list[int] = []
        previous = signal.signal(signal.SIGINT, lambda number, frame: pressed.append(number))
        try:
            if as_json:
                typer.echo(json.dumps(report.to_json()))  # every control character escaped
            else:
                heading(report)
                render(report, console)
            record_grades(bank, report)
        finally:
            signal.signal(signal.SIGINT, previous)
        if pressed:
            raise KeyboardInterrupt

    def on_error(message: str) -> None:
        if as_json:
            error = {"error": message, "exercises": [], "points": 0, "max_points": 0}
            typer.echo(json.dumps(error, ensure_ascii=False))
        else:
            heading(None)
            console.print(watch_problem(message))

    try:
        watch_and_grade(session, bank, exercises, on_report, on_error)
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
    raise typer.Exit(0)  # the watch ends only on Ctrl-C


def _missing_protections(report: GradeReport) -> list[str]:
    from drill.grader.sandbox import Protections

    return Protections(**report.sandbox).missing() if report.sandbox else []


def _check_store(unusable: Callable[[str], NoReturn]) -> None:
    """Refuse a progress store that could not take the grades (see drill progress)."""
    from drill.progress.store import ProgressError, open_store

    try:
        with open_store():
            pass
    except ProgressError as error:
        unusable(str(error))


def _grade_with_progress(
    session: GradingSession,
    bank: Bank,
    exercises: list[Exercise],
    show: bool,
    check_store: Callable[[], None],
) -> GradeReport:
    """Grade, with a transient status line on stderr naming the exercise being run.

    Once the first exercise has started, this process mostly waits for the sandbox: a thread
    then checks the progress store (the grades are recorded at the end) and imports the
    report's modules. A store that cannot take the grades is refused before any result is
    shown, as check_store() decides.
    """
    import threading

    from rich.console import Console

    from drill.grader.grade import grade_session

    refusals: list[BaseException] = []

    def meanwhile() -> None:
        try:
            check_store()
        except BaseException as refusal:  # typer.Exit: raised again in this thread
            refusals.append(refusal)
        if show:
            import drill.grader.report  # noqa: F401

    console = Console(stderr=True)
    status = console.status("Grading…") if show and console.is_terminal else None
    helper = threading.Thread(target=meanwhile, daemon=True)

    def on_start(exercise_id: str) -> None:
        if helper.ident is None:  # not started yet
            helper.start()
        if status is not None:
            status.update(f"Grading {exercise_id}…")

    try:
        if status is None:
            return grade_session(session, bank, exercises, on_start)
        with status:
            return grade_session(session, bank, exercises, on_start)
    finally:
        if helper.ident is None:  # nothing was graded (an import failure): check it here
            helper.start()
        helper.join()
        if refusals:
            raise refusals[0]


def _grade_class(
    paths: list[Path],
    only: list[str] | None,
    limits: tuple[str, str, bool],
    as_json: bool,
    jobs: int,
    gradebook: Path | None,
    bank_dir: Path | None,
) -> NoReturn:
    """Grade many files as `drill grade FILE` grades one, then summarise the class.

    `limits` are the --timeout and --memory texts and whether to be strict about the sandbox.
    The results are not recorded in the progress store: they are not the user's own.
    """
    import json

    from rich.console import Console

    from drill.grader.batch import ClassGrader, NoSubmissions, Submission, class_files, summarise
    from drill.grader.batch_report import class_progress, render_class
    from drill.grader.cases import SpecError
    from drill.grader.grade import prepare
    from drill.grader.gradebook import write_gradebook
    from drill.grader.sandbox import Protections
    from drill.limits import LimitError, parse_memory, parse_timeout

    def json_line(data: dict) -> None:
        # A file name that is not UTF-8 holds lone surrogates: sent as JSON's \uDCxx escapes.
        text = json.dumps(data, ensure_ascii=False).encode("utf-8", "backslashreplace")
        typer.echo(text.decode("utf-8"))

    timeout_text, memory_text, strict = limits
    try:
        timeout, memory = parse_timeout(timeout_text), parse_memory(memory_text)
    except LimitError as error:
        fail(str(error))
    try:
        files = class_files(paths)
    except NoSubmissions as error:
        fail(str(error))
    if gradebook is not None and not gradebook.parent.is_dir():
        fail(f"cannot write the gradebook {gradebook}: no folder {gradebook.parent}")
    bank = load(bank_dir)
    exercises = _exercises(bank, only, fail)
    if not exercises:
        fail("this bank has no graded exercises")
    try:
        prepared = [prepare(bank, exercise) for exercise in exercises]
    except SpecError as error:
        fail(f"the bank's exercise declarations are broken ({error}); run 'drill check'")

    # JSON lines go out in the order of the files, each as soon as those before it are done.
    finished: dict[int, Submission] = {}
    printed = 0

    def print_ready() -> None:
        nonlocal printed
        while printed in finished:
            json_line(finished.pop(printed).to_json())
            printed += 1

    grader = ClassGrader(prepared, timeout, memory, strict, jobs)
    with class_progress(Console(stderr=True), len(files)) as progress:

        def on_done(index: int, submission: Submission) -> None:
            progress.done(submission)
            if as_json:
                finished[index] = submission
                print_ready()

        run = grader.run(files, on_done)
    summary = summarise(run, prepared)
    sandboxes = [s.report.sandbox for s in run.submissions if s.report and s.report.sandbox]
    missing = Protections(**sandboxes[0]).missing() if sandboxes else []
    if missing:
        typer.echo(f"drill: graded without {', '.join(missing)} (--no-strict)", err=True)
    if as_json:
        for index in sorted(finished):  # after Ctrl-C: those finished past a gap
            json_line(finished[index].to_json())
        json_line({"summary": summary.to_json()})
    else:
        render_class(run.submissions, summary, [e.id for e in exercises], Console(highlight=False))
    if gradebook is not None:
        try:
            columns = [(exercise.id, exercise.points) for exercise in exercises]
            write_gradebook(gradebook, columns, run.submissions)
        except OSError as error:
            fail(f"cannot write the gradebook {gradebook}: {error.strerror or error}")
    if run.interrupted:
        raise typer.Exit(130)
    raise typer.Exit(EXIT_UNUSABLE if summary.ungradeable else 0)


@app.command()
def check(
    bank_dir: Annotated[
        Path | None,
        typer.Argument(
            help="Bank folder to validate (default: the built-in bank).", show_default=False
        ),
    ] = None,
) -> None:
    """Validate a question bank: every file, field, id and exercise. Exits 1 on any problem.

    Exercises are checked too: each declaration is well formed, the reference solution runs
    on every case, every known mistake differs from it, and every stub is still a stub.
    Formula questions: each reference computes, each known mistake differs from it, and each
    agrees with the graded exercise it names in checked_against.
    """
    from drill.bank import BankError, load_bank
    from drill.formula.validate import validate_formulas
    from drill.grader.grade import validate_exercises
    from drill.text import plural, visible

    if bank_dir is not None:
        bank_dir = _bank_folder(bank_dir)
    try:
        bank = load_bank(bank_dir)
        problems = [str(issue) for issue in validate_exercises(bank)] + validate_formulas(bank)
    except BankError as error:
        problems = [str(issue) for issue in error.issues]
    if problems:
        for problem in problems:
            typer.echo(visible(problem), err=True)
        typer.echo(f"{plural(len(problems), 'problem')} found.", err=True)
        raise typer.Exit(EXIT_FAILED)
    typer.echo(
        f"{bank.root}: {plural(len(bank.questions), 'question')} and "
        f"{plural(len(bank.exercises), 'exercise')}, no problems."
    )


def _bank_folder(path: Path) -> Path:
    """`path` made absolute (its parent holds the references); exit 2 if it is not a bank.

    A bank folder holds topic folders; its references are in ../solutions. Pointing at the
    project above it, or at one topic inside it, gets the path to use instead.
    """
    folder = path.resolve()
    if (folder / "questions").is_dir():
        fail(f"{path} holds a bank in its questions folder: run 'drill check {path / 'questions'}'")
    if (folder / "exercises").is_dir() or any(folder.glob("*.yaml")):
        fail(f"{path} is one topic of a bank: run 'drill check {folder.parent}'")
    return folder


# -- The mock interview ----------------------------------------------------------------------


@app.command()
def interview(
    questions: Annotated[
        int,
        typer.Option(
            "--questions",
            min=1,
            max=50,
            help="How many questions: the first three are a concept, a derivation and a code "
            "question, then numeric, choice and formula questions join the turn.",
        ),
    ] = 3,
    difficulty: DifficultyOption = None,
    minutes: Annotated[
        int, typer.Option("--minutes", min=1, max=600, help="Time for the whole interview.")
    ] = 45,
    directory: Annotated[
        Path | None,
        typer.Option(
            "--dir",
            file_okay=False,
            help="Folder for code answers (default: a new folder interview-<date> here). "
            "A file already there is kept, never overwritten.",
            show_default=False,
        ),
    ] = None,
    seed: Annotated[
        int | None,
        typer.Option(
            "--seed", help="Choose the questions with this seed, reproducibly.", show_default=False
        ),
    ] = None,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            callback=_json_option,
            help="Print the scorecard as one JSON object on standard output; the interview "
            "itself is drawn on standard error.",
        ),
    ] = False,
    bank_dir: BankOption = None,
) -> None:
    """Run a mock interview: a timed mixed set of questions, like a real backprop round.

    A clock for the whole interview runs beside each question's own budget. Hints come only
    on request (? alone on the line), and each one is noted. A code question is answered in a
    file: its starter is written into --dir, and typing done grades it (again after a fix,
    or s to move on with the grade). s moves to the next question, q or Ctrl-C ends the
    interview early. No new question starts once the time is up: those left score 0.

    It ends with a scorecard: per question the time against its budget, the verdict
    (auto-scored, graded or self-rated), the hints used and the points (one per question);
    then the total. The scorecard is kept in your progress (see drill stats).
    """
    import json
    import time

    from rich.console import Console

    from drill.interview.loop import Interview, pick_interview
    from drill.interview.terminal import TerminalInterviewer, scorecard_view
    from drill.interview.workspace import FileWorkspace, new_directory
    from drill.progress import clock

    bank = load(bank_dir)
    chosen = pick_interview(
        bank.questions.values(),
        questions,
        difficulty=None if difficulty is None else difficulty.value,
        seed=seed,
    )
    if not chosen:
        fail("no questions of this difficulty; 'drill list' shows what the bank holds")
    folder = directory or new_directory(Path.cwd(), clock.now().astimezone().date())
    workspace = FileWorkspace(
        folder,
        bank,
        DEFAULT_TIMEOUT,
        DEFAULT_MEMORY_MB,
        keep=lambda report: record_grades(bank, report),
    )
    console = Console(stderr=as_json, highlight=False)
    view = TerminalInterviewer(
        console, time.monotonic, minutes, interview_elapsed=lambda: session.elapsed()
    )
    with progress_store() as store:
        session = Interview(chosen, minutes, view, workspace, store, time.monotonic, clock.now)
        try:
            scorecard = session.run()
        finally:
            # Shown even when the store refuses it: the candidate keeps what they did.
            console.print()
            console.print(scorecard_view(session.scorecard, console.width))
    if as_json:
        typer.echo(json.dumps(scorecard.to_json(), ensure_ascii=False))
    if scorecard.ended == "interrupted":
        raise typer.Exit(130)


# -- Progress: the store, statistics ---------------------------------------------------------


@contextmanager
def progress_store() -> Iterator[Store]:
    """The user's progress store; a file drill cannot use becomes one message and exit 2."""
    from drill.progress.store import ProgressError, open_store

    try:
        with open_store() as store:
            yield store
    except ProgressError as error:
        fail(str(error))


def record_grades(bank: Bank, report: GradeReport) -> None:
    """Keep a graded round in the progress store: each exercise's status and score, and a
    review of the code questions it settles (see Store.record_grade)."""
    from drill.progress.store import ExerciseGrade, exercise_questions

    grades = [
        ExerciseGrade(result.id, result.status, result.points, result.max_points)
        for result in report.exercises
    ]
    with progress_store() as store:
        store.record_grade(grades, exercise_questions(bank))


@app.command()
def stats(
    as_json: Annotated[
        bool,
        typer.Option(
            "--json", callback=_json_option, help="Print one JSON object instead of the pictures."
        ),
    ] = False,
    bank_dir: BankOption = None,
) -> None:
    """Your progress: reviews done and due, streak, retention, mastery per topic and kind,
    a 14-day forecast of due reviews, a 20-week practice calendar, and mock interviews."""
    from drill.progress import clock
    from drill.progress.stats import compute

    bank = load(bank_dir)
    with progress_store() as store:
        figures = compute(bank, store, clock.now())
    if as_json:
        import json

        typer.echo(json.dumps(figures.to_json(), ensure_ascii=False, indent=2))
        return
    from drill.progress.view import stats_view
    from drill.quiz.render import make_console

    console = make_console()
    console.print(stats_view(figures, console.width))


@app.command()
def exercises(
    as_json: Annotated[
        bool,
        typer.Option(
            "--json", callback=_json_option, help="Print a JSON list with the same fields."
        ),
    ] = False,
    bank_dir: BankOption = None,
) -> None:
    """Every graded exercise (order, id, title, points) with your status, best score and
    when you last graded it."""
    from drill.progress.stats import exercise_progress

    bank = load(bank_dir)
    with progress_store() as store:
        progress = exercise_progress(bank, store.grades())
    if as_json:
        import json

        typer.echo(json.dumps([e.to_json() for e in progress], ensure_ascii=False, indent=2))
        return
    from drill.progress.view import exercises_view
    from drill.quiz.render import make_console

    console = make_console()
    console.print(exercises_view(progress, console.width))


gradebook_app = typer.Typer(
    help="Gradebooks written by drill grade --gradebook: merge those of several shards.",
    no_args_is_help=True,
)
app.add_typer(gradebook_app, name="gradebook")


@gradebook_app.command("merge")
def gradebook_merge(
    gradebooks: Annotated[
        list[Path],
        typer.Argument(
            help="Gradebooks to merge, in order: their rows follow one another.",
            metavar="GRADEBOOK.csv...",
        ),
    ],
    output: Annotated[
        Path,
        typer.Option("--output", "-o", dir_okay=False, help="The merged gradebook to write."),
    ],
) -> None:
    """Merge the gradebooks of shards of a class into one, e.g. after grading on many machines.

    They must grade the same exercises (same bank and --only options), and each file may
    appear in one of them only. The rows keep the order of the gradebooks as given.
    """
    from drill.files import write_atomically
    from drill.grader.gradebook import GradebookError, merge, to_csv

    try:
        columns, rows = merge(gradebooks)
    except GradebookError as error:
        fail(str(error))
    try:
        write_atomically(output, to_csv(columns, rows))
    except OSError as error:
        fail(f"cannot write {output}: {error.strerror or error}")
    from drill.text import plural

    typer.echo(
        f"Wrote {output}: {plural(len(rows), 'submission')} from "
        f"{plural(len(gradebooks), 'gradebook')}."
    )


progress_app = typer.Typer(
    help="Where your progress is kept; export it, import it, or start again.",
    no_args_is_help=True,
)
app.add_typer(progress_app, name="progress")


@progress_app.command("path")
def progress_path() -> None:
    """Print the progress database's path (set DRILL_HOME to keep it elsewhere)."""
    from drill.progress.store import store_path

    typer.echo(str(store_path()))


@progress_app.command("export")
def progress_export(
    file: Annotated[Path, typer.Argument(help="The JSON file to write, or - for standard output.")],
    force: Annotated[bool, typer.Option("--force", help="Overwrite FILE if it exists.")] = False,
) -> None:
    """Write your whole history (reviews, grades, interviews) to a JSON file."""
    import json

    from drill.files import write_atomically

    with progress_store() as store:
        data = store.export()
    text = json.dumps(data, ensure_ascii=False, indent=1) + "\n"
    if str(file) == "-":
        typer.echo(text, nl=False)
        return
    if file.exists() and not force:
        fail(f"{file} already exists; pass --force to overwrite it")
    try:
        write_atomically(file, text)
    except OSError as error:
        fail(f"cannot write {file}: {error.strerror or error}")
    from drill.text import plural

    typer.echo(
        f"Wrote {file}: {plural(len(data['reviews']), 'review')}, "
        f"{plural(len(data['grades']), 'grade')}, {plural(len(data['interviews']), 'interview')}."
    )


@progress_app.command("import")
def progress_import(
    file: Annotated[Path, typer.Argument(help="A file written by drill progress export.")],
) -> None:
    """Merge an export into your progress; importing the same file twice changes nothing."""
    import json

    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except OSError as error:
        fail(f"cannot read {file}: {error.strerror or error}")
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        fail(f"{file} is not a drill progress export: not JSON ({error})")
    except RecursionError:
        fail(f"{file} is not a drill progress export: its JSON is nested too deeply")
    from drill.progress.store import ProgressError

    with progress_store() as store:
        try:
            added = store.merge(data, str(file))
        except ProgressError as error:
            fail(str(error))
    from drill.text import plural

    typer.echo(
        f"Imported from {file}: {plural(added['reviews'], 'new review')}, "
        f"{plural(added['grades'], 'new grade')}, {plural(added['interviews'], 'new interview')}; "
        "the rest was already here."
    )


@progress_app.command("reset")
def progress_reset(
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Forget every review, grade and interview. Asks first unless --yes."""
    from drill.text import plural

    with progress_store() as store:
        if not yes:
            counts = (len(store.reviews()), len(store.grades()), len(store.interviews()))
            question = (
                f"Forget {plural(counts[0], 'review')}, {plural(counts[1], 'grade')} and "
                f"{plural(counts[2], 'interview')} in {store.path}? "
                "('drill progress export FILE' keeps a copy)"
            )
            try:
                confirmed = typer.confirm(question, default=False, err=True)
            except typer.Abort:  # the end of input, or Ctrl-C, at the question
                confirmed = False
            if not confirmed:
                typer.echo(err=True)
                fail("nothing was reset", EXIT_FAILED)
        store.reset()
    typer.echo("Progress reset.")


# -- Shell completion ------------------------------------------------------------------------


class Shell(str, Enum):
    bash = "bash"
    zsh = "zsh"
    fish = "fish"
    powershell = "powershell"
    pwsh = "pwsh"


@app.command()
def completion(
    shell: Annotated[Shell, typer.Argument(help="The shell to complete in.", case_sensitive=False)],
) -> None:
    """Print the script that lets SHELL complete drill's commands, options and choices.

    bash or zsh: add  eval "$(drill completion bash)"  (or zsh) to ~/.bashrc or ~/.zshrc.
    fish: drill completion fish > ~/.config/fish/completions/drill.fish
    """
    # Typer answers the completion requests themselves; this only prints its script for them.
    from typer._completion_shared import get_completion_script

    typer.echo(
        get_completion_script(prog_name="drill", complete_var=COMPLETE_VARIABLE, shell=shell.value)
    )


class Terminated(BaseException):
    """drill got SIGTERM or SIGHUP (args[0]). Not a SystemExit: code that catches the exits
    of bank code it runs must not take it for one."""


def run() -> None:
    """The `drill` command (and python -m drill): main(), then a quicker end of the process."""
    try:
        main()
    finally:
        # What is left is freed with the process. Frozen, it is spared the interpreter's final
        # garbage collections over every module's objects, tens of ms once NumPy is loaded.
        import gc

        gc.freeze()


def main() -> None:
    """Run the command line: Ctrl-C and drill's own bugs end with one line, not a trace.

    Set DRILL_DEBUG=1 to see the traceback of an internal error.
    """
    import os
    import sys

    if COMPLETE_VARIABLE in os.environ:
        # A shell asks for completions (see drill completion). With add_completion off,
        # Typer leaves its completion classes unregistered, so register them for this run.
        from typer._completion_classes import completion_init

        completion_init()
    import signal

    from drill.limits import BLAS_THREAD_VARIABLES

    for name in BLAS_THREAD_VARIABLES:  # before NumPy loads; a user's own setting stays
        os.environ.setdefault(name, "1")

    def end_cleanly(number: int, frame: object) -> None:
        raise Terminated(number)

    # A closed terminal or a kill ends drill as an exit does: cleanup still runs, so no
    # grading worker or temporary folder is left behind.
    for number in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(number, end_cleanly)
    # Typer's own usage errors (a missing argument, an unknown option…); pinned with Typer.
    from typer._click.exceptions import ClickException

    try:
        # The same name, usage line and completion variable under python -m drill. Not
        # standalone, so that a usage error comes here: with --json, it is JSON on stdout too.
        code = app(prog_name="drill", standalone_mode=False)
    except ClickException as error:
        error.show()
        if "--json" in sys.argv[1:]:
            import json

            typer.echo(json.dumps({"error": error.format_message()}))
        raise SystemExit(error.exit_code) from None
    except typer.Abort:
        typer.echo("Aborted!", err=True)
        raise SystemExit(1) from None
    except Terminated as terminated:
        raise SystemExit(128 + terminated.args[0]) from None
    except KeyboardInterrupt:
        typer.echo("\ndrill: interrupted", err=True)
        raise SystemExit(130) from None
    except Exception as error:
        if os.environ.get("DRILL_DEBUG"):
            raise
        typer.echo(
            f"drill: internal error ({type(error).__name__}: {error}); "
            "run again with DRILL_DEBUG=1 for details and please report it",
            err=True,
        )
        raise SystemExit(EXIT_INTERNAL) from None
    # A command's typer.Exit(code), or what it returned: None, for success.
    raise SystemExit(code if isinstance(code, int) else 0)
