"""The parent side of grading: start the worker, enforce limits, collect plain data.

The submission runs in a child process (worker.py) with a memory cap, one BLAS thread and a
time limit per exercise enforced from here. It talks to us through an event pipe (JSON lines)
and .npz files loaded with allow_pickle=False; nothing it sends is unpickled. When an
exercise hangs or kills its process, that exercise is marked and a fresh worker grades the
rest.

NumPy is imported only when results arrive, so the worker starts before the parent pays for
its own imports and the two overlap.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

WORKER = Path(__file__).with_name("worker.py")
EVENT_LINE_LIMIT = 1 << 20  # bytes; a longer line is not from a well-behaved worker
RESULT_FILE_LIMIT = 256 << 20
# Starting Python and NumPy is drill's own work, not the submission's: it gets a deadline of
# its own, generous enough for a loaded machine, so --timeout measures only the user's code.
STARTUP_TIMEOUT = 60.0
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


class Ungradeable(Exception):
    """The submission cannot be graded at all (missing, syntax error, dies at import…)."""


@dataclass
class Outcome:
    """What became of one exercise in the worker."""

    status: str  # ran | missing | timeout | crashed
    cases: list[dict[str, Any]] = field(default_factory=list)
    arrays: dict[str, Any] = field(default_factory=dict)  # name -> numpy array
    output: str = ""
    detail: str = ""


def _describe_exit(code: int | None) -> str:
    if code is None:
        return "it stopped answering"
    if code < 0:
        try:
            return f"it was killed by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"it was killed by signal {-code}"
    return f"it exited with status {code}"


class Worker:
    """One child process grading one submission; started early so its start-up overlaps ours."""

    def __init__(self, solution: Path, workdir: Path, memory_bytes: int) -> None:
        self.workdir = workdir
        plan_read, self._plan_write = os.pipe()
        self._events, event_write = os.pipe()
        env = dict(os.environ)
        env.update({name: "1" for name in THREAD_VARIABLES})
        command = [
            sys.executable,
            "-I",
            str(WORKER),
            str(solution),
            str(plan_read),
            str(event_write),
            str(workdir),
            str(memory_bytes),
        ]
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            pass_fds=(plan_read, event_write),
            cwd=workdir,
            env=env,
            start_new_session=True,
        )
        os.close(plan_read)
        os.close(event_write)
        self._buffer = b""

    def go(self) -> None:
        """Tell the worker that plan.json and plan.npz are in place."""
        with contextlib.suppress(OSError):  # a worker already gone: the event stream says why
            os.write(self._plan_write, b"go\n")
        os.close(self._plan_write)
        self._plan_write = -1

    def next_event(self, deadline: float) -> dict[str, Any] | None:
        """The next event, or None on a timeout; {'event': 'exit'} when the worker is gone."""
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            ready, _, _ = select.select([self._events], [], [], remaining)
            if not ready:
                return None
            chunk = os.read(self._events, 65536)
            if not chunk:
                return {"event": "exit", "detail": _describe_exit(self._wait_briefly())}
            self._buffer += chunk
            if len(self._buffer) > EVENT_LINE_LIMIT and b"\n" not in self._buffer:
                return {"event": "exit", "detail": "it sent malformed data"}
        line, self._buffer = self._buffer.split(b"\n", 1)
        try:
            event = json.loads(line)
        except ValueError:
            return {"event": "exit", "detail": "it sent malformed data"}
        return event if isinstance(event, dict) else {"event": "exit", "detail": "malformed data"}

    def _wait_briefly(self) -> int | None:
        try:
            return self.process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            return None

    def stop(self) -> None:
        """Kill the worker and anything it started."""
        if self._plan_write >= 0:
            os.close(self._plan_write)
            self._plan_write = -1
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        os.close(self._events)


def _load_results(path: Path) -> dict[str, Any]:
    import numpy as np

    if not path.is_file() or path.stat().st_size > RESULT_FILE_LIMIT:
        raise ValueError("missing or oversized result file")
    with np.load(path, allow_pickle=False) as stored:
        return {key: stored[key] for key in stored.files}


def check_syntax(solution: Path) -> None:
    """Compile (never run) the submission here, for a clear message on a syntax error."""
    try:
        source = solution.read_bytes()
    except OSError as error:
        raise Ungradeable(f"cannot read {solution}: {error.strerror or error}") from None
    try:
        compile(source, str(solution), "exec")
    except SyntaxError as error:
        text = (error.text or "").strip()
        shown = f"\n    {text}" if text else ""
        raise Ungradeable(
            f"{solution.name} has a syntax error on line {error.lineno}: {error.msg}{shown}"
        ) from None
    except ValueError as error:  # e.g. null bytes
        raise Ungradeable(f"{solution.name} is not a Python source file: {error}") from None


def open_session(solution: Path, timeout: float, memory_mb: int) -> Session:
    """Check that the file can be graded at all, then start its worker."""
    solution = solution.resolve()
    if not solution.is_file():
        raise Ungradeable(f"no such file: {solution}")
    check_syntax(solution)
    return Session(solution, timeout, memory_mb << 20)


class Session:
    """Grades the planned exercises of one submission, restarting the worker when needed."""

    def __init__(self, solution: Path, timeout: float, memory_bytes: int) -> None:
        self.solution = solution
        self.timeout = timeout
        self.memory_bytes = memory_bytes
        self._tmp = tempfile.TemporaryDirectory(prefix="drill-grade-")
        self.workdir = Path(self._tmp.name)
        self._worker: Worker | None = Worker(solution, self.workdir, memory_bytes)

    def close(self) -> None:
        if self._worker is not None:
            self._worker.stop()
            self._worker = None
        self._tmp.cleanup()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def run(
        self,
        plan: dict[str, Any],
        arrays: dict[str, Any],
        on_start: Callable[[str], None] = lambda exercise_id: None,
    ) -> Iterator[tuple[str, Outcome]]:
        """Yield (exercise id, outcome) in plan order; raise Ungradeable if import fails."""
        import numpy as np

        np.savez(self.workdir / "plan.npz", **arrays)
        pending = list(plan["exercises"])
        while pending:
            worker = self._worker or Worker(self.solution, self.workdir, self.memory_bytes)
            self._worker = worker
            (self.workdir / "plan.json").write_text(json.dumps({"exercises": pending}))
            self._await_import(worker)
            worker.go()
            # Each pass reports every pending exercise or ends at the first timeout or crash;
            # whatever is left goes to a fresh worker.
            for exercise_id, outcome in self._collect(worker, pending, on_start):
                pending = [e for e in pending if e["id"] != exercise_id]
                yield exercise_id, outcome
            worker.stop()
            self._worker = None

    def _await_import(self, worker: Worker) -> None:
        event = worker.next_event(time.monotonic() + STARTUP_TIMEOUT)
        if event is None or event.get("event") != "ready":
            detail = "no answer" if event is None else event.get("detail", "no detail")
            raise Ungradeable(f"the grading process did not start ({detail})")
        event = worker.next_event(time.monotonic() + self.timeout)
        if event is None:
            raise Ungradeable(
                f"importing {self.solution.name} did not finish within {self.timeout:g} s; "
                "does it run something at import time?"
            )
        kind = event.get("event")
        if kind == "imported":
            return
        if kind == "import-failed":
            raise Ungradeable(_import_failure(self.solution, event))
        raise Ungradeable(
            f"{self.solution.name} ended the grading process while being imported "
            f"({event.get('detail', 'no detail')}); does it call os._exit or crash at import?"
        )

    def _collect(
        self, worker: Worker, pending: list[dict[str, Any]], on_start: Callable[[str], None]
    ) -> Iterator[tuple[str, Outcome]]:
        current: str | None = None
        deadline = time.monotonic() + self.timeout
        remaining = [e["id"] for e in pending]
        while remaining:
            event = worker.next_event(deadline)
            if event is None:
                yield (
                    current or remaining[0],
                    Outcome("timeout", detail=f"it did not finish within {self.timeout:g} s"),
                )
                return
            kind = event.get("event")
            if kind == "start" and event.get("exercise") in remaining:
                current = event["exercise"]
                deadline = time.monotonic() + self.timeout
                on_start(current)
            elif kind == "done" and event.get("exercise") == current:
                remaining.remove(current)
                yield current, self._finished(current, event)
                current = None
            else:
                yield (
                    current or remaining[0],
                    Outcome("crashed", detail=event.get("detail", "it sent an unexpected message")),
                )
                return

    def _finished(self, exercise_id: str, event: dict[str, Any]) -> Outcome:
        result = event.get("result")
        output = str(event.get("output", ""))[:8000]
        if not isinstance(result, dict):
            return Outcome("crashed", output=output, detail="it sent malformed data")
        if result.get("missing"):
            return Outcome("missing", output=output)
        try:
            arrays = _load_results(self.workdir / f"result-{exercise_id}.npz")
        except (OSError, ValueError) as error:
            return Outcome("crashed", output=output, detail=f"its results were unreadable: {error}")
        cases = result.get("cases")
        if not isinstance(cases, list):
            return Outcome("crashed", output=output, detail="it sent malformed data")
        return Outcome("ran", cases=cases, arrays=arrays, output=output)


def _import_failure(solution: Path, event: dict[str, Any]) -> str:
    kind = event.get("kind")
    if kind == "syntax":
        return (
            f"{solution.name} has a syntax error on line {event.get('line')}: {event.get('text')}"
        )
    if kind == "exit":
        return f"{solution.name} calls sys.exit() while being imported:\n{event.get('text', '')}"
    return f"{solution.name} raised an exception while being imported:\n{event.get('text', '')}"
