"""What list, show, hint and reveal print, through the CLI: bank text is shown, never obeyed."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from drill.cli import app

FIXTURES = Path(__file__).parent / "fixtures"
HOSTILE_BANK = FIXTURES / "hostile_bank"
PLAIN = {"NO_COLOR": "1", "COLUMNS": "100", "FORCE_COLOR": None, "TTY_COMPATIBLE": None}
# What each escape sequence of the hostile fixture looks like once made visible.
SHOWN = {
    "title": r"Title \x1b]0;pwned-title\x07 here",
    "company": r"Evil \x1b[2J Corp",
    "prompt": r"Clipboard \x1b]52;c;cGF5bG9hZA==\x07 then [bold red]not markup[/] here",
    "option": r"A. Wipe \x1b[2J the screen",
    "hint": r"Hint \x1b]52;c;aGludA==\x07 text",
    "answer": r"Answer \x1b[35mmagenta\x1b[0m text",
    "key point": r"Point \x1b]0;pwned-point\x07",
}


def drill(*args: str, bank: Path, env: dict[str, str | None] | None = None) -> Result:
    return CliRunner().invoke(app, [*args, "--bank", str(bank)], env={**PLAIN, **(env or {})})


@pytest.mark.parametrize(
    ("args", "fields"),
    [
        (["list"], []),
        (["show", "escape"], ["title", "company", "prompt", "option"]),
        (["hint", "escape"], ["hint"]),
        (["reveal", "escape"], ["title", "answer", "key point"]),
    ],
)
@pytest.mark.parametrize("colour", [False, True])
def test_escape_sequences_in_bank_text_are_shown_not_sent(
    args: list[str], fields: list[str], colour: bool
) -> None:
    env = {"NO_COLOR": None, "FORCE_COLOR": "1"} if colour else {}
    result = drill(*args, bank=HOSTILE_BANK, env=env)
    assert result.exit_code == 0, result.output
    out = result.stdout
    # No OSC (title, clipboard), no screen clearing and no colour the bank asked for.
    for sent in ("\x1b]", "\x07", "\x1b[2J", "\x1b[35m"):
        assert sent not in out
    if not colour:
        assert "\x1b" not in out
    plain = out if not colour else _without_sgr(out)
    for field in fields:
        assert SHOWN[field] in plain, field


def _without_sgr(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def test_list_shows_escaped_titles_and_companies() -> None:
    out = drill("list", bank=HOSTILE_BANK).stdout
    assert r"Title \x1b]0;pwned-" in out
    assert r"\x1b[2J" in out
    assert "\x1b" not in out


def test_reveal_marks_every_option_of_a_choice_question() -> None:
    out = drill("reveal", "escape", bank=HOSTILE_BANK).stdout
    assert r"✗ A. Wipe \x1b[2J the screen" in out
    assert "✓ B. A plain option" in out


LIGHT_IMPORTS = """
import sys
from drill.cli import app
try:
    app(sys.argv[1:])
except SystemExit as leaving:
    assert leaving.code in (0, None), leaving.code
print("prompt_toolkit imported:", "prompt_toolkit" in sys.modules)
"""


@pytest.mark.parametrize(
    ("args", "piped"),
    [
        (["--help"], ""),
        (["list", "--bank", str(HOSTILE_BANK)], ""),
        (["reveal", "esc", "--bank", str(HOSTILE_BANK)], ""),
        # A quiz without a terminal reads plain lines.
        (["quiz", "--seed", "1", "--bank", str(HOSTILE_BANK)], "b\n3\n"),
    ],
)
def test_only_a_quiz_at_a_terminal_imports_prompt_toolkit(args: list[str], piped: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", LIGHT_IMPORTS, *args],
        input=piped,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "prompt_toolkit imported: False"
