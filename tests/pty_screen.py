"""drill in a real pseudo-terminal, read through a terminal emulator.

prompt_toolkit redraws only the characters that change, so the child's output is fed to a
terminal emulator (pyte) and tests read its screen, as a user would. The emulator also
answers the cursor-position requests a real terminal answers.
"""

from __future__ import annotations

import os
import signal
import sys
import time

import pexpect
import pyte

ROWS, COLUMNS = 40, 100
BACKSPACE = "\x7f"
LEFT, RIGHT, UP = "\x1b[D", "\x1b[C", "\x1b[A"
HOME, END, DELETE = "\x1b[H", "\x1b[F", "\x1b[3~"
ESC_ENTER = "\x1b\r"

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


class DrillTerminal:
    """`drill ARGS` on a terminal of ROWS × `columns` emulated by pyte, with NO_COLOR set.

    With `report_terminal`, a wrapper process prints the terminal modes once drill is done.
    """

    def __init__(self, *args: str, columns: int = COLUMNS, report_terminal: bool = False) -> None:
        env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "FORCE_COLOR")}
        env.update(NO_COLOR="1", TERM="xterm")
        command = ["-m", "drill", *args]
        if report_terminal:
            command = ["-c", TERMINAL_AFTERWARDS, *command]
        self.child = pexpect.spawn(
            sys.executable,
            command,
            env=env,
            dimensions=(ROWS, columns),
            encoding="utf-8",
            # A background job inherits SIGINT ignored; a user's Ctrl-C reaches a default one.
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        child = self.child

        class Screen(pyte.HistoryScreen):
            def write_process_input(self, data: str) -> None:
                child.send(data)  # the terminal's answer to a cursor-position request

        self.columns = columns
        self.screen = Screen(columns, ROWS, history=2000)
        self.stream = pyte.Stream(self.screen)
        self.raw = ""  # every byte drill wrote, escape sequences included
        self.ended = False
        self._seen: dict[str, int] = {}

    def _pump(self, wait: float) -> None:
        try:
            data = self.child.read_nonblocking(65536, timeout=wait)
        except pexpect.TIMEOUT:
            return
        except pexpect.EOF:
            self.ended = True
            return
        self.raw += data
        self.stream.feed(data)

    def lines(self) -> list[str]:
        """Every line shown so far: those scrolled off the top, then the screen."""
        scrolled = [
            "".join(line[column].data for column in range(self.columns))
            for line in self.screen.history.top
        ]
        return [line.rstrip() for line in scrolled + self.screen.display]

    def text(self) -> str:
        return "\n".join(self.lines())

    def see(self, wanted: str, timeout: float = 10) -> None:
        """Wait until `wanted` appears once more than at the last `see` of the same text."""
        before = self._seen.get(wanted, 0)
        deadline = time.monotonic() + timeout
        while True:
            count = self.text().count(wanted)
            if count > before:
                self._seen[wanted] = count
                return
            if self.ended or time.monotonic() > deadline:
                raise AssertionError(f"{wanted!r} never appeared; the screen:\n{self.text()}")
            self._pump(0.05)

    def type(self, text: str) -> None:
        self.child.send(text)

    def finish(self, timeout: float = 20) -> tuple[int | None, str]:
        """Wait for the end; the exit status and everything shown."""
        deadline = time.monotonic() + timeout
        while not self.ended and time.monotonic() < deadline:
            self._pump(0.1)
        assert self.ended, f"drill did not end; the screen:\n{self.text()}"
        self.child.close()
        return self.child.exitstatus, self.text()
