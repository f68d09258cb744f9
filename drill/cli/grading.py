"""Grading code: drill init, grade (one file, --watch, a class), check and gradebook."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from drill.cli.common import (
    EXIT_FAILED,
    EXIT_UNUSABLE,
    BankOption,
    app,
    complete_exercise_id,
    fail,
    json_option,
    load,
    progress_store,
)
from drill.limits import DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT

MAX_JOBS = 256  # files graded at once, each in a worker of its own
# What a --json error of one file carries besides "error": a report's fields, empty.
NO_REPORT = {"exercises": [], "points": 0, "max_points": 0}

if TYPE_CHECKING:
    from drill.bank import Bank, Exercise
    from drill.grader.results import GradeReport
    from drill.grader.runner import GradingSession

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
            callback=json_option,
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
        fail(message, **NO_REPORT)

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
            typer.echo(json.dumps({"error": message, **NO_REPORT}, ensure_ascii=False))
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
