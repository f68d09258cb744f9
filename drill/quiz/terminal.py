"""The quiz at a real terminal: Rich draws the cards, prompt_toolkit reads the answers.

On a terminal the answer line edits like a shell's (arrows, Home/End, Backspace and Delete
anywhere, Up/Down through earlier answers, Esc Enter for a new line) under a bottom toolbar
whose clock ticks every second, and a rating is one key. Without a terminal, answers are read
as plain lines, so a quiz can be scripted through a pipe; prompt_toolkit is then never
imported.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import IO, TYPE_CHECKING

from rich.console import Console
from rich.rule import Rule
from rich.text import Text

from drill.quiz.judge import Outcome, number_examples
from drill.quiz.render import answer_card, clock_text, hint_card, question_card, summary
from drill.quiz.session import (
    HINT_COMMAND,
    QUIT_COMMAND,
    RATING_KEYS,
    SKIP_COMMAND,
    QuestionRecord,
)
from drill.text import visible

if TYPE_CHECKING:
    from prompt_toolkit import PromptSession
    from prompt_toolkit.key_binding import KeyPressEvent
    from prompt_toolkit.output import Output

    from drill.bank import Question

COMMANDS_FOOTER = (
    f"{HINT_COMMAND} hint · {SKIP_COMMAND} skip · {QUIT_COMMAND} quit (alone on the line)"
    " · Ctrl-C ends"
)
LINE_FOOTER = f"Enter submits · {COMMANDS_FOOTER}"
EDITOR_FOOTER = f"Enter submits · Esc Enter new line · ↑↓ earlier answers · {COMMANDS_FOOTER}"
RATING_PROMPT = "Rate: 1 again · 2 hard · 3 good · 4 easy · q quit › "
ANSWER_PROMPT = "› "

# Often enough that the clock never shows a second late by more than half a second.
_CLOCK_REFRESH_SECONDS = 0.5


def answer_guide(question: Question) -> str:
    """One line on how to answer `question`; its examples never give the answer away."""
    if question.kind == "choice":
        return "Answer with letter(s), e.g. B or A,C; an empty line shows the answer."
    if question.kind == "numeric":
        examples = number_examples(question)
        return (
            f"Answer with a number or arithmetic{', ' if examples else ''}{examples}; "
            "an empty line shows the answer."
        )
    if question.formula is not None:
        names = [answer.name for answer in question.formula.answers]
        if len(names) == 1:
            return (
                f"Answer with a NumPy expression for {names[0]} (np. optional, e.g. "
                "G * np.exp(X)); an empty line shows the answer."
            )
        return (
            f"Answer with NumPy expressions for {'; '.join(names)} on one line, separated "
            "by ';' (np. optional); an empty line shows the answer."
        )
    return "Type notes if you like; Enter shows the answer."


class TerminalQuiz:
    """The QuizUser of a real session, drawing with Rich on `console` (prompts included) and
    reading `sys.stdin`."""

    def __init__(self, console: Console, clock: Callable[[], float]) -> None:
        self.console = console
        self.clock = clock
        self.stdin_is_terminal = sys.stdin.isatty()
        self.interactive = self.stdin_is_terminal and console.is_terminal
        self._new_question = False
        if self.interactive:
            # Made now, not at the first answer: importing prompt_toolkit takes a moment, and
            # keys typed while the first question is on screen must reach its prompt.
            self._answers = answer_session(console.file)
            self._ratings = rating_session(console.file)

    # -- output ------------------------------------------------------------------------------

    def show_question(self, question: Question, position: int, total: int) -> None:
        self._new_question = True
        self.console.print()
        self.console.print(Rule(f"Question {position} of {total}"))
        self.console.print(question_card(question))
        self.console.print()
        self.console.print(Text(answer_guide(question), style="dim"))
        self.console.print(Text(EDITOR_FOOTER if self.interactive else LINE_FOOTER, style="dim"))

    def show_hint(self, question: Question, number: int) -> None:
        self.console.print(hint_card(question, number))

    def show_notice(self, message: str) -> None:
        # Notices quote typed text and bank text (a formula mistake's message).
        self.console.print(Text(visible(message), style="yellow"))

    def show_verdict(self, question: Question, outcome: Outcome) -> None:
        if outcome == "right":
            self.console.print(Text("✓ Right.", style="bold green"))
        else:
            self.console.print(Text("✗ Wrong.", style="bold red"))

    def reveal(self, question: Question) -> None:
        self.console.print(Rule("Answer"))
        self.console.print(answer_card(question))
        self.console.print()

    def show_next_review(self, due: datetime) -> None:
        from drill.progress import clock

        self.console.print(
            Text(f"Next review {clock.describe_due(due, clock.now())}.", style="dim")
        )

    def show_summary(self, records: Sequence[QuestionRecord]) -> None:
        self.console.print()
        self.console.print(summary(records, self.console.width))

    # -- input -------------------------------------------------------------------------------

    def read_answer(self, question: Question, started_at: float) -> str | None:
        budget = question.time * 60
        if not self.interactive:
            clocks = "".join(text for _, text in self.clocks(self.clock() - started_at, budget))
            return self._read_line(f"[{clocks.strip()}] › ")
        if self._new_question:
            # Keys typed before the question appeared (the Enter after a one-key rating) were
            # meant for the previous screen; they must not submit an empty answer here.
            self._new_question = False
            drop_typeahead(self._answers)
        try:
            return self._answers.prompt(
                ANSWER_PROMPT,
                bottom_toolbar=lambda: self.clocks(self.clock() - started_at, budget),
            )
        except EOFError:
            return None

    def clocks(self, elapsed: float, budget: int) -> list[tuple[str, str]]:
        """The clock line, as prompt_toolkit fragments: the question's time and budget."""
        return clock_fragments(elapsed, budget)

    def read_rating(self) -> str | None:
        if not self.interactive:
            return self._read_line(RATING_PROMPT)
        try:
            key = self._ratings.prompt(RATING_PROMPT)
        except EOFError:
            return None
        chosen = RATING_KEYS.get(key.strip().lower())
        if chosen is not None:
            self.console.print(Text(f"→ {chosen}", style="bold"))
        return key

    def _read_line(self, prompt: str) -> str | None:
        self.console.print(Text(prompt, style="bold"), end="")
        line = sys.stdin.readline()
        if not self.stdin_is_terminal or not line:
            # Nothing echoed the input (a pipe) or the line never ended (EOF): end it ourselves.
            self.console.print()
        return line.rstrip("\r\n") if line else None


def drop_typeahead(session: PromptSession[str]) -> None:
    """Forget keys typed but not read yet, by the terminal (POSIX) and by prompt_toolkit."""
    from prompt_toolkit.input.typeahead import clear_typeahead

    try:
        import termios
    except ImportError:  # Windows: prompt_toolkit's own buffer is all there is to clear
        pass
    else:
        termios.tcflush(sys.stdin.fileno(), termios.TCIFLUSH)
    clear_typeahead(session.input)


def clock_fragments(elapsed: float, budget: float) -> list[tuple[str, str]]:
    """The time used against the budget (m:ss / m:ss) as prompt_toolkit fragments, marked in
    words once over the budget."""
    clock = f" {clock_text(elapsed)} / {clock_text(budget)} "
    if elapsed > budget:
        return [("class:late", clock), ("", "over the budget ")]
    return [("", clock)]


def _output(stream: IO[str]) -> Output:
    from prompt_toolkit.output import create_output

    return create_output(stdout=stream)


def answer_session(stream: IO[str]) -> PromptSession[str]:
    """A prompt on `stream` whose Enter submits and Esc Enter (Alt-Enter) starts a new line.

    Up and Down move between the lines of a multi-line answer and, from its first or last
    line, through the answers given earlier in the session. Ctrl-C raises KeyboardInterrupt;
    Ctrl-D on an empty line raises EOFError.
    """
    from prompt_toolkit import PromptSession
    from prompt_toolkit.history import InMemoryHistory
    from prompt_toolkit.key_binding import KeyBindings
    from prompt_toolkit.styles import Style

    bindings = KeyBindings()

    @bindings.add("enter")
    def _submit(event: KeyPressEvent) -> None:
        event.current_buffer.validate_and_handle()

    @bindings.add("escape", "enter")
    def _new_line(event: KeyPressEvent) -> None:
        event.current_buffer.insert_text("\n")

    return PromptSession(
        output=_output(stream),
        history=InMemoryHistory(),
        multiline=True,
        key_bindings=bindings,
        prompt_continuation=lambda width, line_number, soft_wrap: " " * width,
        refresh_interval=_CLOCK_REFRESH_SECONDS,
        style=Style.from_dict({"late": "bold fg:ansired"}),
    )


def rating_session(stream: IO[str]) -> PromptSession[str]:
    """A prompt that returns at once when a rating key or q is pressed; Enter submits too."""
    from prompt_toolkit import PromptSession
    from prompt_toolkit.key_binding import KeyBindings

    bindings = KeyBindings()
    keys = [*RATING_KEYS, QUIT_COMMAND]
    for key in keys + [key.upper() for key in keys if key.isalpha()]:

        @bindings.add(key)
        def _choose(event: KeyPressEvent, key: str = key) -> None:
            event.app.exit(result=key)

    return PromptSession(output=_output(stream), key_bindings=bindings)
