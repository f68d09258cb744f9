"""Practising over weeks: drill interview, stats, exercises, progress and completion."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from drill.cli.common import (
    COMPLETE_VARIABLE,
    EXIT_FAILED,
    BankOption,
    DifficultyOption,
    app,
    fail,
    json_option,
    load,
    progress_store,
)
from drill.cli.grading import record_grades
from drill.limits import DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT

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
            callback=json_option,
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


@app.command()
def stats(
    as_json: Annotated[
        bool,
        typer.Option(
            "--json", callback=json_option, help="Print one JSON object instead of the pictures."
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
            "--json", callback=json_option, help="Print a JSON list with the same fields."
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
