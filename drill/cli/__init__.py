"""The `drill` command line: thin commands over the bank, the quiz and the grader.

Heavy modules (NumPy, the grader, Rich views) are imported inside command bodies so that
`drill --help` and `drill list` start fast. Domain errors become one message on stderr and
an exit code: 1 for a failed check or grade, 2 for input drill cannot use.
"""

from __future__ import annotations

import typer

from drill.cli.common import COMPLETE_VARIABLE, EXIT_INTERNAL, Difficulty, Kind, app

# Each module registers its commands on `app` as it is imported: in this order, the order of
# drill --help.
# isort: off
from drill.cli import questions  # noqa: F401
from drill.cli import grading  # noqa: F401
from drill.cli import practice  # noqa: F401

# isort: on

__all__ = ["Difficulty", "Kind", "app", "main", "run"]


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
