"""A formula question in the interactive quiz, through a real pseudo-terminal."""

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

FORMULA_BANK = Path(__file__).parent / "fixtures" / "formula_bank"
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
# The first formula answer imports NumPy in the child; on a loaded machine that takes a while.
PATIENCE = 60


def test_formula_answers_are_refused_judged_and_explained_in_a_terminal() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "FORCE_COLOR")}
    env.update(NO_COLOR="1", TERM="xterm")
    child = pexpect.spawn(
        sys.executable,
        ["-m", "drill", "quiz", "--bank", str(FORMULA_BANK), "--seed", "1", "--count", "1"],
        env=env,
        dimensions=(40, 120),
        encoding="utf-8",
        timeout=PATIENCE,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    log = io.StringIO()
    child.logfile_read = log
    child.expect_exact("Both parameter gradients of a linear layer")
    child.expect_exact("separated by ';'")
    child.send("X.__class__; G\r")
    child.expect_exact("dW: the attribute .__class__ is not allowed; only .T is")
    child.send("dW = np.einsum('nd,nm->dm', X, G); db = G.mean(axis=0)\r")
    child.expect_exact("✗ Wrong.")
    child.expect_exact("db: averaged; the bias gradient sums over the batch")
    child.expect_exact("Rate:")
    child.send("2")
    child.expect(pexpect.EOF)
    child.close()
    screen = ANSI_ESCAPE.sub("", log.getvalue())
    assert child.exitstatus == 0
    assert "dW: right" in screen
    assert re.search(r"linear-dw-db\s+│ 0:\d\d / 3:00\s+│ wrong\s+│ hard", screen)
