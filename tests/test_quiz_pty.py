"""The interactive quiz through a real pseudo-terminal: clock, keys, Ctrl-C and the summary."""

from __future__ import annotations

import io
import os
import re
import signal
import sys
from pathlib import Path

import pytest

pexpect = pytest.importorskip("pexpect")
if sys.platform == "win32":
    pytest.skip("pseudo-terminals need a POSIX system", allow_module_level=True)

FIXTURE_BANK = Path(__file__).parent / "fixtures" / "bank"
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
BACKSPACE = "\x7f"


# Runs drill in a child process, then reports whether the terminal is back in line mode.
TERMINAL_AFTERWARDS = """
import signal, subprocess, sys, termios
signal.signal(signal.SIGINT, signal.SIG_IGN)
code = subprocess.call(
    [sys.executable, *sys.argv[1:]],
    preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
)
lflag = termios.tcgetattr(0)[3]
echo, lines = bool(lflag & termios.ECHO), bool(lflag & termios.ICANON)
print(f"drill exited {code}; echo {echo}; lines {lines}")
"""


class Quiz:
    """`drill quiz --bank <fixture> --seed 1 ARGS` on a 40×100 terminal, with a screen log.

    With `report_terminal`, a wrapper process prints the terminal modes once drill is done.
    """

    def __init__(self, *args: str, report_terminal: bool = False) -> None:
        env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "FORCE_COLOR")}
        env.update(NO_COLOR="1", TERM="xterm")
        command = ["-m", "drill", "quiz", "--bank", str(FIXTURE_BANK), "--seed", "1", *args]
        if report_terminal:
            command = ["-c", TERMINAL_AFTERWARDS, *command]
        self.child = pexpect.spawn(
            sys.executable,
            command,
            env=env,
            dimensions=(40, 100),
            encoding="utf-8",
            timeout=5,
            # A background job inherits SIGINT ignored; a user's Ctrl-C reaches a default one.
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        self.log = io.StringIO()
        self.child.logfile_read = self.log

    def see(self, text: str, timeout: float = 5) -> None:
        self.child.expect_exact(text, timeout=timeout)

    def type(self, text: str) -> None:
        self.child.send(text)

    def finish(self) -> tuple[int | None, str]:
        """Wait for the end; the exit status and everything shown, without ANSI codes."""
        self.child.expect(pexpect.EOF)
        self.child.close()
        return self.child.exitstatus, ANSI_ESCAPE.sub("", self.log.getvalue())


def test_answer_hint_reveal_rate_and_quit() -> None:
    quiz = Quiz("--kind", "choice")
    quiz.see("Question 1 of 2")
    quiz.see("Facts about softmax with cross-entropy")
    quiz.see("Enter submits · ? hint · s skip · q quit")
    quiz.see("0:00 / 4:00")
    # Nobody types: the clock must still tick.
    quiz.see("0:01 / 4:00", timeout=3)
    quiz.type("?\r")
    quiz.see("Hint 1 of 2")
    quiz.see("Differentiate the log of the softmax.")
    quiz.type("a,c\r")
    quiz.see("✓ Right.")
    quiz.see("☐ The combined gradient is p − y")
    quiz.see("Rate:")
    quiz.type("3")
    quiz.see("good")

    quiz.see("Question 2 of 2")
    quiz.see("0:00 / 2:00")
    # "x" alone would be refused as no option; Backspace must have removed it.
    quiz.type("xb" + BACKSPACE + BACKSPACE + "d\r")
    quiz.see("✗ Wrong.")
    quiz.see("B. The upstream gradient where the input was positive")
    quiz.see("Rate:")
    quiz.type("q")

    status, screen = quiz.finish()
    assert status == 0
    assert "no option" not in screen
    assert "Session summary" in screen
    assert re.search(r"softmax-facts\s+│ 0:0\d / 4:00\s+│ right\s+│ good\s+│ 1", screen)
    assert re.search(r"relu-gradient-choice\s+│ 0:0\d / 2:00\s+│ wrong\s+│ none\s+│ 0", screen)
    assert "2 question(s): 1 right, 1 wrong, 0 skipped" in screen


def test_ctrl_c_prints_the_summary_and_exits_130() -> None:
    quiz = Quiz("--kind", "choice")
    quiz.see("0:00 / 4:00")
    quiz.type("s\r")
    quiz.see("Question 2 of 2")
    quiz.see("0:00 / 2:00")
    quiz.type("half an ans")
    quiz.see("half an ans")
    quiz.child.sendintr()
    status, screen = quiz.finish()
    assert status == 130
    assert "Traceback" not in screen
    assert "Session summary" in screen
    assert re.search(r"softmax-facts\s+│ 0:0\d / 4:00\s+│ skipped", screen)


def test_bad_number_is_refused_then_a_fraction_counts() -> None:
    quiz = Quiz("--kind", "numeric")
    quiz.see("The largest slope of the sigmoid")
    quiz.see("0:00 / 2:00")
    quiz.type("a quarter\r")
    quiz.see("is not a number")
    quiz.type("1/4\r")
    quiz.see("✓ Right.")
    quiz.see("Expected value: 0.25 (± 0.001)")
    quiz.see("Rate:")
    quiz.type("e")
    quiz.see("easy")
    status, screen = quiz.finish()
    assert status == 0
    assert re.search(r"sigmoid-max-slope\s+│ 0:0\d / 2:00\s+│ right\s+│ easy\s+│ 0", screen)


def test_ctrl_d_on_an_empty_line_ends_the_session() -> None:
    quiz = Quiz("--topic", "losses")
    quiz.see("0:00 / 5:00")
    quiz.child.sendeof()
    status, screen = quiz.finish()
    assert status == 0
    assert "No questions answered." in screen


@pytest.mark.parametrize("leave", ["ctrl-c", "quit"])
def test_the_terminal_is_restored(leave: str) -> None:
    quiz = Quiz("--kind", "choice", report_terminal=True)
    quiz.see("0:00 / 4:00")
    if leave == "ctrl-c":
        quiz.type("typing")
        quiz.see("typing")
        quiz.child.sendintr()
    else:
        quiz.type("a,c\r")
        quiz.see("Rate:")
        quiz.type("q")
    _, screen = quiz.finish()
    code = 130 if leave == "ctrl-c" else 0
    assert f"drill exited {code}; echo True; lines True" in screen
