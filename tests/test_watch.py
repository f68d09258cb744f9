"""drill grade --watch, driven by editing a real file and reading the JSON lines it prints."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from processes import processes_mentioning, wait_until

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = (ROOT / "solutions" / "backprop.py").read_text()
MEAN_BIAS = REFERENCE.replace(
    "self.grad_b = grad_output.sum(axis=0)", "self.grad_b = grad_output.mean(axis=0)"
)
GUARD = 90  # seconds: only against a hung test, never a measurement
ONLY = ["--only", "linear"]


def save(path: Path, text: str) -> None:
    """Save as editors do: write a temporary file, then rename it over the old one."""
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text)
    os.replace(temporary, path)


class Watch:
    """`drill grade FILE --watch --json --only linear` in a subprocess, its lines in a queue."""

    def __init__(self, path: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "drill", "grade", str(path), "--watch", "--json", *ONLY],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.put(line)

    def next_report(self) -> dict:
        try:
            line = self.lines.get(timeout=GUARD)
        except queue.Empty:
            self.process.kill()
            pytest.fail(f"no report; drill said: {self.process.stderr.read()[-2000:]}")
        assert line.endswith("\n") and line.count("\n") == 1  # one round, one line
        return json.loads(line)


def status(report: dict) -> str:
    return report["exercises"][0]["status"]


def test_each_save_prints_one_json_report_and_ctrl_c_exits_130(tmp_path):
    path = tmp_path / "solution.py"
    path.write_text(REFERENCE)
    watch = Watch(path)
    try:
        assert status(watch.next_report()) == "passed"
        save(path, MEAN_BIAS)
        failed = watch.next_report()
        assert status(failed) == "failed"
        assert "sums over the batch" in failed["exercises"][0]["message"]
        cut = REFERENCE.index("def backward") + len("def back")
        save(path, REFERENCE[:cut])  # a half-written file
        assert "syntax error" in watch.next_report()["error"]
        save(path, REFERENCE)
        assert status(watch.next_report()) == "passed"
        assert watch.lines.empty()
        watch.process.send_signal(signal.SIGINT)
        assert watch.process.wait(timeout=GUARD) == 130
    finally:
        watch.process.kill()
        watch.process.wait()
    assert wait_until(lambda: not processes_mentioning(str(path)), limit=20)
    exported = subprocess.run(
        [sys.executable, "-m", "drill", "progress", "export", "-"],
        capture_output=True,
        text=True,
        timeout=GUARD,
    )
    assert len(json.loads(exported.stdout)["grades"]) == 3  # every graded round, not the error


def test_a_file_broken_from_the_start_waits_for_a_good_save(tmp_path):
    path = tmp_path / "solution.py"
    path.write_text("def forward(:\n")
    watch = Watch(path)
    try:
        assert "syntax error on line 1" in watch.next_report()["error"]
        save(path, REFERENCE)
        assert status(watch.next_report()) == "passed"
    finally:
        watch.process.send_signal(signal.SIGINT)
        code = watch.process.wait(timeout=GUARD)
    assert code == 130


@pytest.mark.parametrize("missing", ["absent.py"])
def test_watching_a_missing_file_fails_at_once(tmp_path, missing):
    result = subprocess.run(
        [sys.executable, "-m", "drill", "grade", str(tmp_path / missing), "--watch"],
        capture_output=True,
        text=True,
        timeout=GUARD,
    )
    assert result.returncode == 2
    assert "no such file" in result.stderr


def test_a_broken_save_quoting_an_escape_sequence_shows_it_without_sending_it(tmp_path):
    """The syntax error quotes the line, which sets the window title if sent raw."""
    path = tmp_path / "solution.py"
    path.write_text("title = '\x1b]0;pwned\x07' +\n")
    process = subprocess.Popen(
        [sys.executable, "-m", "drill", "grade", str(path), "--watch", *ONLY],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(
        target=lambda: [lines.put(line) for line in process.stdout], daemon=True
    ).start()
    shown = []
    try:
        while not shown or "Waiting for the next save" not in shown[-1]:
            shown.append(lines.get(timeout=GUARD))
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=GUARD)
    text = "".join(shown)
    assert "syntax error on line 1" in text
    assert "\x1b" not in text and "\x07" not in text
    assert "\\x1b]0;pwned\\x07" in text
