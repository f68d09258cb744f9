"""A formula question in the interactive quiz, through a real pseudo-terminal."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from pty_screen import DrillTerminal

if sys.platform == "win32":
    pytest.skip("pseudo-terminals need a POSIX system", allow_module_level=True)

FORMULA_BANK = Path(__file__).parent / "fixtures" / "formula_bank"
# The first formula answer imports NumPy in the child; on a loaded machine that takes a while.
PATIENCE = 60


def test_formula_answers_are_refused_judged_and_explained_in_a_terminal() -> None:
    quiz = DrillTerminal(
        "quiz", "--bank", str(FORMULA_BANK), "--seed", "1", "--count", "1", columns=120
    )
    quiz.see("Both parameter gradients of a linear layer", timeout=PATIENCE)
    quiz.see("separated by ';'", timeout=PATIENCE)
    quiz.see("0:00 / 3:00", timeout=PATIENCE)  # the answer line is ready
    quiz.type("X.__class__; G\r")
    quiz.see("dW: the attribute .__class__ is not allowed; only .T is", timeout=PATIENCE)
    quiz.type("dW = np.einsum('nd,nm->dm', X, G); db = G.mean(axis=0)\r")
    quiz.see("✗ Wrong.", timeout=PATIENCE)
    quiz.see("db: averaged; the bias gradient sums over the batch", timeout=PATIENCE)
    quiz.see("Rate:", timeout=PATIENCE)
    quiz.type("2")
    status, screen = quiz.finish(timeout=PATIENCE)
    assert status == 0
    assert "dW: right" in screen
    assert re.search(r"linear-dw-db\s+│ 0:\d\d / 3:00\s+│ wrong\s+│ hard", screen)
