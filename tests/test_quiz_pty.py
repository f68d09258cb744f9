"""The interactive quiz through a real pseudo-terminal: line editing, clock, keys, Ctrl-C."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from pty_screen import BACKSPACE, DELETE, END, ESC_ENTER, HOME, RIGHT, UP, DrillTerminal

if sys.platform == "win32":
    pytest.skip("pseudo-terminals need a POSIX system", allow_module_level=True)

FIXTURES = Path(__file__).parent / "fixtures"
FIXTURE_BANK = FIXTURES / "bank"


def start_quiz(
    *args: str, bank: Path = FIXTURE_BANK, report_terminal: bool = False
) -> DrillTerminal:
    """`drill quiz --bank BANK --seed 1 ARGS` at a terminal."""
    return DrillTerminal(
        "quiz", "--bank", str(bank), "--seed", "1", *args, report_terminal=report_terminal
    )


def test_answer_hint_reveal_rate_and_quit() -> None:
    quiz = start_quiz("--kind", "choice")
    quiz.see("Question 1 of 2")
    quiz.see("Facts about softmax with cross-entropy")
    quiz.see("Enter submits · Esc Enter new line")
    quiz.see("0:00 / 4:00")
    quiz.type("?\r")
    quiz.see("Hint 1 of 2")
    quiz.see("Differentiate the log of the softmax.")
    quiz.type("a,c\r")
    quiz.see("✓ Right.")
    quiz.see("☐ The combined gradient is p − y")
    quiz.see("Rate:")
    quiz.type("3")  # one key, no Enter
    quiz.see("→ good")

    quiz.see("Question 2 of 2")
    quiz.see("0:00 / 2:00")
    quiz.type("x\r")  # refused as no option; the line is kept in the history
    quiz.see("no option X")
    # "x" alone would be refused as no option; Backspace must have removed it.
    quiz.type("xb" + BACKSPACE + BACKSPACE + "d\r")
    quiz.see("✗ Wrong.")
    quiz.see("✓ B. The upstream gradient where the input was positive")
    quiz.see("Rate:")
    quiz.type("q")

    status, screen = quiz.finish()
    assert status == 0
    assert "Session summary" in screen
    assert re.search(r"softmax-facts\s+│ 0:0\d / 4:00\s+│ right\s+│ good\s+│ 1", screen)
    assert re.search(r"relu-gradient-choice\s+│ 0:0\d / 2:00\s+│ wrong\s+│ none\s+│ 0", screen)
    assert "2 questions: 1 right, 1 wrong, 0 skipped" in screen


def test_an_enter_after_a_one_key_rating_does_not_answer_the_next_question() -> None:
    quiz = start_quiz("--kind", "choice")
    quiz.see("0:00 / 4:00")
    quiz.type("a,c\r")
    quiz.see("Rate:")
    quiz.type("3\r")  # the rating takes "3" at once; the Enter is left over
    quiz.see("→ good")
    quiz.see("0:00 / 2:00")
    # Had the Enter submitted an empty answer, "b" would be read as a rating, not judged.
    quiz.type("b\r")
    quiz.see("✓ Right.")
    quiz.see("Rate:")
    quiz.type("q")
    status, _ = quiz.finish()
    assert status == 0


def test_the_clock_ticks_while_nobody_types() -> None:
    quiz = start_quiz("--kind", "choice")
    quiz.see("0:00 / 4:00")
    quiz.see("0:01 / 4:00")
    quiz.see("0:02 / 4:00")
    quiz.type("q\r")
    status, _ = quiz.finish()
    assert status == 0


def test_arrows_home_end_delete_and_backspace_edit_the_middle_of_the_line() -> None:
    quiz = start_quiz("--kind", "choice")
    quiz.see("0:00 / 4:00")
    # softmax-facts wants A and C. Type "bz,c", then: Home, Delete the b, step over the z and
    # Backspace it, Home, type "a", End, type a space: the line is "a,c ".
    quiz.type("bz,c")
    quiz.see("› bz,c")
    quiz.type(HOME + DELETE + RIGHT + BACKSPACE + HOME + "a" + END + " ")
    quiz.see("› a,c")
    quiz.type("\r")
    quiz.see("✓ Right.")
    quiz.see("Rate:")
    quiz.type("q")
    status, screen = quiz.finish()
    assert status == 0
    assert re.search(r"softmax-facts\s+│ 0:0\d / 4:00\s+│ right", screen)


def test_up_recalls_an_earlier_answer_to_edit() -> None:
    quiz = start_quiz("--kind", "numeric")
    quiz.see("The largest slope of the sigmoid")
    quiz.see("0:00 / 2:00")
    quiz.type("1/4 + p\r")
    quiz.see("the name 'p' is not allowed")
    # Up brings the refused answer back; drop its last four characters and submit.
    quiz.type(UP)
    quiz.see("› 1/4 + p")
    quiz.type(BACKSPACE * 4 + "\r")
    quiz.see("✓ Right.")
    quiz.see("Expected value: 0.25 (± 0.001)")
    quiz.see("Rate:")
    quiz.type("E")  # Caps Lock on: still one key
    quiz.see("→ easy")
    status, screen = quiz.finish()
    assert status == 0
    assert re.search(r"sigmoid-max-slope\s+│ 0:0\d / 2:00\s+│ right\s+│ easy\s+│ 0", screen)


def test_esc_enter_starts_a_new_line_of_the_same_answer() -> None:
    quiz = start_quiz("--kind", "choice")
    quiz.see("0:00 / 4:00")
    # "a," alone would be wrong (A only); the answer is right only if "c" joins it.
    quiz.type("a," + ESC_ENTER + "c")
    quiz.see("› a,")
    quiz.see("  c")
    assert "Wrong" not in quiz.text()
    quiz.type("\r")
    quiz.see("✓ Right.")
    quiz.see("Rate:")
    quiz.type("q")
    status, _ = quiz.finish()
    assert status == 0


def test_bad_number_is_refused_then_arithmetic_counts() -> None:
    quiz = start_quiz("--kind", "numeric")
    quiz.see("0:00 / 2:00")
    quiz.type("a quarter\r")
    quiz.see("is not a number")
    quiz.type("0.5 * (1 - 0.5)\r")
    quiz.see("✓ Right.")
    quiz.see("Rate:")
    quiz.type("\r")  # Enter alone is no rating: asked again
    quiz.see("rate with 1-4")
    quiz.type("g")
    quiz.see("→ good")
    status, _ = quiz.finish()
    assert status == 0


def test_ctrl_c_prints_the_summary_and_exits_130() -> None:
    quiz = start_quiz("--kind", "choice")
    quiz.see("0:00 / 4:00")
    quiz.type("s\r")
    quiz.see("Question 2 of 2")
    quiz.see("0:00 / 2:00")
    quiz.type("half an ans")
    quiz.see("› half an ans")
    quiz.child.sendintr()
    status, screen = quiz.finish()
    assert status == 130
    assert "Traceback" not in screen
    assert "Session summary" in screen
    assert re.search(r"softmax-facts\s+│ 0:0\d / 4:00\s+│ skipped", screen)


def test_ctrl_d_on_an_empty_line_ends_the_session() -> None:
    quiz = start_quiz("--topic", "losses")
    quiz.see("0:00 / 5:00")
    quiz.child.sendeof()
    status, screen = quiz.finish()
    assert status == 0
    assert "No questions answered." in screen


@pytest.mark.parametrize("leave", ["ctrl-c", "quit"])
def test_the_terminal_is_restored(leave: str) -> None:
    quiz = start_quiz("--kind", "choice", report_terminal=True)
    quiz.see("0:00 / 4:00")
    if leave == "ctrl-c":
        quiz.type("typing")
        quiz.see("› typing")
        quiz.child.sendintr()
    else:
        quiz.type("a,c\r")
        quiz.see("Rate:")
        quiz.type("q")
    _, screen = quiz.finish()
    code = 130 if leave == "ctrl-c" else 0
    assert f"drill exited {code}; echo True; lines True" in screen


def test_escape_sequences_in_the_bank_reach_the_screen_as_text() -> None:
    quiz = start_quiz(bank=FIXTURES / "hostile_bank")
    quiz.see(r"Title \x1b]0;pwned-title\x07 here")
    quiz.see(r"Clipboard \x1b]52;c;cGF5bG9hZA==\x07 then [bold red]not markup[/] here")
    quiz.see(r"A. Wipe \x1b[2J the screen")
    quiz.see("0:00 / 1:00")
    quiz.type("?\r")
    quiz.see(r"Hint \x1b]52;c;aGludA==\x07 text")
    quiz.type("b\r")
    quiz.see(r"Answer \x1b[35mmagenta\x1b[0m text")
    quiz.see(r"Point \x1b]0;pwned-point\x07")
    quiz.see("Rate:")
    quiz.type("q")
    status, screen = quiz.finish()
    assert status == 0
    # Nothing set the title, wrote the clipboard or cleared the screen: the question is still
    # there above the summary.
    for sent in ("\x1b]0;", "\x1b]52;", "\x1b[2J", "\x1b[35m"):
        assert sent not in quiz.raw
    assert quiz.screen.title == ""
    assert screen.index("Title") < screen.index("Session summary")
