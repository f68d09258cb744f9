"""What every command shares: the app, its options, errors and the progress store."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

if TYPE_CHECKING:
    from drill.bank import Bank, Question
    from drill.progress.store import Store
    from drill.quiz.session import Filters

EXIT_FAILED = 1
EXIT_UNUSABLE = 2
EXIT_INTERNAL = 3
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


def json_option(wanted: bool) -> bool:
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


# -- Choosing questions: the filters, ids and their completion --------------------------------


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


def question_filters(
    topic: str | None, difficulty: Difficulty | None, company: str | None, kind: Kind | None
) -> Filters:
    from drill.quiz.session import Filters

    return Filters(
        topic=topic,
        difficulty=None if difficulty is None else difficulty.value,
        company=company,
        kind=None if kind is None else kind.value,
    )


def find_question(bank: Bank, query: str) -> Question:
    """The question `query` names or uniquely starts; exit 2 with suggestions otherwise."""
    from drill.bank import UnknownId, resolve

    try:
        return bank.questions[resolve(query, bank.questions, "question")]
    except UnknownId as error:
        fail(error.describe())


# -- The progress store ----------------------------------------------------------------------


@contextmanager
def progress_store() -> Iterator[Store]:
    """The user's progress store; a file drill cannot use becomes one message and exit 2."""
    from drill.progress.store import ProgressError, open_store

    try:
        with open_store() as store:
            yield store
    except ProgressError as error:
        fail(str(error))
