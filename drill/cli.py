"""The `drill` command line: thin commands over the bank, the quiz and the grader.

Heavy modules (NumPy, the grader, Rich views) are imported inside command bodies so that
`drill --help` and `drill list` start fast. Domain errors become one message on stderr and
an exit code: 1 for a failed check or grade, 2 for input drill cannot use.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

if TYPE_CHECKING:
    from drill.bank import Bank

EXIT_FAILED = 1
EXIT_UNUSABLE = 2

app = typer.Typer(
    name="drill",
    help=(
        "Interview practice for the backpropagation round.\n\n"
        "Quiz yourself against the clock (drill quiz), read hints and answers "
        "(drill hint, drill reveal), then write backward() code and have it graded "
        "(drill init, drill grade)."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

BankOption = Annotated[
    Path | None,
    typer.Option(
        "--bank",
        help="Question bank folder to use instead of the built-in one.",
        file_okay=False,
        show_default=False,
    ),
]


def fail(message: str, code: int = EXIT_UNUSABLE) -> NoReturn:
    """Print one error line and leave with `code`."""
    typer.echo(f"drill: {message}", err=True)
    raise typer.Exit(code)


def load(bank_dir: Path | None) -> Bank:
    """The bank, or a clear message and exit code 2 when it cannot be loaded."""
    from drill.bank import BankError, load_bank

    try:
        return load_bank(bank_dir)
    except BankError as error:
        count = len(error.issues)
        lines = "\n".join(f"  {issue}" for issue in error.issues[:20])
        more = f"\n  … and {count - 20} more" if count > 20 else ""
        fail(f"the question bank has {count} problem(s); run 'drill check':\n{lines}{more}")


@app.command()
def check(
    bank_dir: Annotated[
        Path | None,
        typer.Argument(
            help="Bank folder to validate (default: the built-in bank).", show_default=False
        ),
    ] = None,
) -> None:
    """Validate a question bank: every file, field, id and exercise. Exits 1 on any problem."""
    from drill.bank import BankError, load_bank

    try:
        bank = load_bank(bank_dir)
    except BankError as error:
        for issue in error.issues:
            typer.echo(str(issue), err=True)
        typer.echo(f"{len(error.issues)} problem(s) found.", err=True)
        raise typer.Exit(EXIT_FAILED) from None
    typer.echo(
        f"{bank.root}: {len(bank.questions)} questions and "
        f"{len(bank.exercises)} exercises, no problems."
    )


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:
        typer.echo("\ndrill: interrupted", err=True)
        raise SystemExit(130) from None
