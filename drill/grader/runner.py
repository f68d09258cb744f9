"""The parent side of grading: start the worker, enforce limits, trust nothing it sends.

The submission runs in processes of the worker's (worker.py), sandboxed where the kernel
allows (sandbox.py). Each exercise runs in a child of its own; its deadline is set once, on
this process's clock, when we ask for it, and nothing the child writes can extend it. Results
come back on a pipe we create for that one exercise, in the format of wire.py, and are
validated before anything else sees them; nothing is unpickled. When the child has finished,
timed out or died, the worker's supervisor kills every process left in the sandbox.

NumPy is imported only when results arrive, so the worker starts before the parent pays for
its own imports and the two overlap.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from drill.grader.wire import FrameReader

# The worker imports drill from the same place as we do, whatever sys.path it starts with.
PACKAGE_ROOT = Path(__file__).resolve().parent.parent.parent
BOOT = (
    "import sys; sys.path.insert(0, sys.argv[1]); "
    "import drill.grader.worker as w; w.main(sys.argv[2:])"
)
# Starting Python and NumPy is drill's own work, not the submission's: it gets a deadline of
# its own, generous enough for a loaded machine, so --timeout measures only the user's code.
STARTUP_TIMEOUT = 60.0
CLEANUP_TIMEOUT = 10.0  # for the supervisor to kill what a run left, before drill exits
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


class Ungradeable(Exception):
    """The submission cannot be graded at all (missing, syntax error, dies at import…)."""


# What became of an exercise's run: it ran (its cases came back), its entry is missing, it
# ran out of time, or its process died or sent what drill cannot read.
RunStatus = Literal["ran", "missing", "timeout", "crashed"]


@dataclass
class RunOutcome:
    """What became of one exercise in the worker."""

    status: RunStatus
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


class WorkerGone(Exception):
    """The worker's supervisor died or broke the control protocol."""


class Worker:
    """The worker process and its control socket; started early so its start-up overlaps ours."""

    def __init__(self, solution: Path, workdir: Path, memory_bytes: int) -> None:
        self.control, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        # Made on the first answer: wire.py imports NumPy, which must not delay our start.
        self._reader: FrameReader | None = None
        self._pending: list[dict[str, Any]] = []  # messages read but not yet handed out
        self._sending = threading.Lock()  # GradingSession.interrupt() sends from another thread
        env = dict(os.environ)
        env.update({name: "1" for name in THREAD_VARIABLES})
        command = [
            sys.executable,
            "-I",
            "-B",  # no bytecode beside the submission (or anywhere else) from the worker
            "-c",
            BOOT,
            str(PACKAGE_ROOT),
            str(os.getpid()),
            str(theirs.fileno()),
            str(solution),
            str(workdir / "plan"),
            str(workdir / "scratch"),
            str(memory_bytes),
        ]
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            pass_fds=(theirs.fileno(),),
            cwd=workdir,
            env=env,
            start_new_session=True,
        )
        theirs.close()

    def send(self, fd: int | None = None, **message: Any) -> None:
        from drill.grader import wire

        try:
            with self._sending:
                socket.send_fds(self.control, [wire.frame(message)], [] if fd is None else [fd])
        except OSError as error:
            raise WorkerGone(f"it stopped listening ({error.strerror})") from None

    def has_pending(self) -> bool:
        """A message has already been read, so select() would not announce it."""
        return bool(self._pending)

    def receive(self, deadline: float) -> dict[str, Any] | None:
        """The next control message, or None when the deadline passes first."""
        from drill.grader import wire

        while not self._pending:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([self.control], [], [], remaining)[0]:
                return None
            try:
                data = self.control.recv(1 << 16)
            except OSError:
                data = b""
            if not data:
                raise WorkerGone(_describe_exit(self._exit_code()))
            self._reader = self._reader or wire.FrameReader()
            try:
                frames = self._reader.feed(data)
                self._pending.extend(wire.parse_control(header) for header, _ in frames)
            except wire.WireError as error:
                raise WorkerGone(f"it sent malformed data ({error})") from None
        return self._pending.pop(0)

    def _exit_code(self) -> int | None:
        try:
            return self.process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            return None

    def stop(self) -> None:
        """Kill the worker; everything it started dies with it (namespace or death signal).

        Killed before its socket is closed: a worker that sees the socket close takes drill
        for dead and removes the folder drill still uses.
        """
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.control.close()
        self.process.wait()


def check_syntax(solution: Path) -> None:
    """Compile (never run) the submission here, for a clear message on a syntax error."""
    try:
        source = solution.read_bytes()
    except OSError as error:
        raise Ungradeable(f"cannot read {solution}: {error.strerror or error}") from None
    if b"\0" in source:
        raise Ungradeable(
            f"{solution.name} contains NUL bytes, so it is not a Python source file "
            "(a binary, or text saved as UTF-16?)"
        )
    try:
        compile(source, str(solution), "exec")
    except SyntaxError as error:
        text = (error.text or "").strip()
        shown = f"\n    {text}" if text else ""
        raise Ungradeable(
            f"{solution.name} has a syntax error on line {error.lineno}: {error.msg}{shown}"
        ) from None
    except ValueError as error:
        raise Ungradeable(f"{solution.name} is not a Python source file: {error}") from None


def open_session(
    solution: Path, timeout: float, memory_mb: int, strict: bool = False, watching: bool = False
) -> GradingSession:
    """Check that the file can be graded at all, then start its worker.

    When `watching`, a syntax error is left for each round to report: the next save may fix it.
    """
    resolved = checked_path(solution)
    if not watching:
        check_syntax(resolved)
    return GradingSession(resolved, timeout, memory_mb << 20, strict)


def checked_path(solution: Path) -> Path:
    """The solution's resolved path; Ungradeable with a message naming what is wrong."""
    try:
        resolved = solution.resolve(strict=True)
    except (OSError, RuntimeError) as error:  # RuntimeError: a symlink loop on Python < 3.13
        if isinstance(error, RuntimeError) or getattr(error, "errno", None) == 40:
            raise Ungradeable(f"{solution} is a symbolic link that loops back on itself") from None
        if isinstance(error, FileNotFoundError):
            raise Ungradeable(f"no such file: {solution}") from None
        raise Ungradeable(f"cannot open {solution}: {error.strerror or error}") from None
    if resolved.is_dir():
        raise Ungradeable(f"{solution} is a folder; give the path of your solution file")
    if not resolved.is_file():
        raise Ungradeable(f"{solution} is not a regular file")
    return resolved


class GradingSession:
    """Grades the planned exercises of one submission, one sandboxed child per exercise."""

    def __init__(self, solution: Path, timeout: float, memory_bytes: int, strict: bool) -> None:
        self.solution = solution
        self.timeout = timeout
        self.memory_bytes = memory_bytes
        self.strict = strict
        self.sandbox: dict[str, str] = {}  # known once the worker is ready
        self._tmp = tempfile.TemporaryDirectory(prefix="drill-grade-", ignore_cleanup_errors=True)
        self.workdir = Path(self._tmp.name)
        for name in ("plan", "scratch"):
            (self.workdir / name).mkdir()
        self._worker: Worker | None = self._new_worker()
        self._ready = False  # the current worker has said it is ready
        self._plan = ""  # the plan's JSON, as last written to the plan folder
        self._plan_loaded = False  # the current worker has loaded that plan
        self.imported = False  # once the file has been imported in the sandbox
        self.runs = 0  # runs asked of the current worker, numbered as its supervisor does
        self._closed = False  # by close() or interrupt()
        self._starting = threading.Lock()

    def _new_worker(self) -> Worker:
        return Worker(self.solution, self.workdir, self.memory_bytes)

    def close(self) -> None:
        """Have the supervisor kill what the last run left, then stop the worker.

        Killing the worker alone would do in a PID namespace, which dies with it; a child
        subreaper's orphans would outlive it.
        """
        self._closed = True
        if self._worker is not None:
            if self._ready:
                with contextlib.suppress(WorkerGone):
                    self._worker.send(command="end")
                    self._await_clean(self._worker)
            self._worker.stop()
            self._worker = None
        self._tmp.cleanup()

    def interrupt(self) -> None:
        """Stop grading from another thread: the run in progress ends as stopped, no other
        starts, and the grading thread then closes the session as usual. Only that thread
        reads the worker's answers."""
        with self._starting:
            self._closed = True
            worker = self._worker
            if worker is not None and self._ready:
                with contextlib.suppress(WorkerGone):
                    worker.send(command="end")

    def _await_clean(self, worker: Worker) -> None:
        deadline = time.monotonic() + CLEANUP_TIMEOUT
        while True:
            message = worker.receive(deadline)
            if message is None:
                return
            if message.get("event") == "clean" and message.get("run") == self.runs:
                return

    def __enter__(self) -> GradingSession:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def run(
        self,
        plan: dict[str, Any],
        arrays: dict[str, Any],
        on_start: Callable[[str], None] = lambda exercise_id: None,
    ) -> Iterator[tuple[str, RunOutcome]]:
        """Yield (exercise id, outcome) in plan order; raise Ungradeable if import fails.

        A session can run several times (drill grade --watch): the worker stays warm, and
        reloads the plan and the submission's source at the start of each run.
        """
        from drill.grader import wire

        index, chunks = wire.pack_arrays(arrays)
        text = json.dumps({**plan, "arrays": index})
        if text != self._plan:  # a watch's rounds share one plan: written and read once
            with open(self.workdir / "plan" / "plan.bin", "wb") as handle:
                handle.writelines(chunks)
            (self.workdir / "plan" / "plan.json").write_text(text)
            self._plan = text
            self._plan_loaded = False
        self.imported = False
        worker = self._ready_worker()
        ids = [exercise["id"] for exercise in plan["exercises"]]
        following: Run | None = None  # the next exercise, started before this one is judged
        try:
            for position, exercise_id in enumerate(ids):
                # Only drill's own code runs in the supervisor, so losing it is rare (a kernel
                # without signal scoping lets a submission kill it); the rest is graded afresh.
                outcome: RunOutcome | None = None
                try:
                    run = following or self._start(worker, exercise_id, on_start)
                    following = None
                    if run is None:  # interrupted
                        return
                    outcome = run.finish()
                    # The supervisor handles commands in order: the next run can be asked for
                    # at once, and its `clean` is skipped as news of an earlier run.
                    worker.send(command="end")
                    if position + 1 < len(ids):
                        following = self._start(worker, ids[position + 1], on_start)
                except WorkerGone as error:
                    lost = RunOutcome("crashed", detail=f"the grading process died: {error}")
                    outcome = outcome or lost
                    if following is not None:
                        following.close()
                        following = None
                    worker = self._restart(worker)
                yield exercise_id, outcome
        finally:
            if following is not None:  # Ctrl-C or an import failure: `end` stops its child
                following.close()

    def _restart(self, worker: Worker) -> Worker:
        worker.stop()
        self._worker = None
        return self._ready_worker()

    def _ready_worker(self) -> Worker:
        """The worker, started if need be, with the current plan and source loaded."""
        if self._closed:
            raise Ungradeable("grading was stopped")
        try:
            if self._worker is None:
                self._worker = self._new_worker()
                self._ready = self._plan_loaded = False
            if not self._ready:
                self.runs = 0
                self.sandbox = _protections(self._await_ready(self._worker).get("sandbox"))
                self._ready = True
            self._worker.send(command="load", plan=not self._plan_loaded)
            self._plan_loaded = True
        except WorkerGone as error:
            raise Ungradeable(f"the grading process did not start ({error})") from None
        missing = _missing(self.sandbox)
        if missing and self.strict:
            raise Ungradeable(
                f"--strict: this system does not offer {', '.join(missing)} to the grader"
            )
        return self._worker

    def _await_ready(self, worker: Worker) -> dict[str, Any]:

        message = worker.receive(time.monotonic() + STARTUP_TIMEOUT)
        if message is None:
            raise WorkerGone(f"no answer within {STARTUP_TIMEOUT:g} s")
        if message.get("event") != "ready":
            raise WorkerGone(f"it sent '{message.get('event')}' instead of 'ready'")
        return message

    def _start(
        self, worker: Worker, exercise_id: str, on_start: Callable[[str], None]
    ) -> Run | None:
        """Start one exercise in a fresh child, with a deadline set here and now; None once
        interrupted."""
        read_end, write_end = os.pipe()
        try:
            with self._starting:  # before interrupt()'s `end`, or not at all
                if self._closed:
                    os.close(read_end)
                    return None
                self.runs += 1
                worker.send(fd=write_end, command="run", exercise=exercise_id)
        except WorkerGone:
            os.close(read_end)
            raise
        finally:
            # Closed exactly once: a second close could hit another thread's new descriptor.
            os.close(write_end)
        on_start(exercise_id)
        return Run(self, worker, read_end, self.runs, time.monotonic() + self.timeout)


class Run:
    """Reading one exercise's pipe and the supervisor's news until an outcome is known."""

    def __init__(
        self, session: GradingSession, worker: Worker, pipe: int, number: int, deadline: float
    ) -> None:
        from drill.grader import wire

        self.session = session
        self.worker = worker
        self.pipe = pipe
        self.number = number  # as the supervisor counts its runs
        self.deadline = deadline
        self.reader = wire.FrameReader()
        self.imported = False  # this run's child has imported the file
        self.pipe_open = True

    def finish(self) -> RunOutcome:
        """The run's outcome, once known; its pipe is closed either way."""
        try:
            return self._outcome()
        finally:
            self.close()

    def close(self) -> None:
        if self.pipe >= 0:
            os.close(self.pipe)
            self.pipe = -1

    def _outcome(self) -> RunOutcome:
        from drill.grader import wire

        while True:
            watched = [self.worker.control] + ([self.pipe] if self.pipe_open else [])
            remaining = self.deadline - time.monotonic()
            if self.worker.has_pending():
                ready = [self.worker.control]
            else:
                ready = select.select(watched, [], [], remaining)[0] if remaining > 0 else []
            if not ready:
                return self._timed_out()
            try:
                if self.pipe in ready and self.pipe_open:
                    found = self._read(os.read(self.pipe, 1 << 16))
                    if found is not None:
                        return found
                if self.worker.control in ready:
                    message = self.worker.receive(time.monotonic() + 1)
                    event = None if message is None else message.get("event")
                    if event not in ("exited", "clean"):
                        raise WorkerGone(f"it sent '{event}' during a run")
                    if message.get("run") == self.number:
                        if event == "clean":  # ended by interrupt()
                            return RunOutcome("crashed", detail="grading was stopped")
                        return self._exited(message.get("status"))
            except wire.WireError as error:
                return RunOutcome("crashed", detail=f"it sent malformed data ({error})")

    def _read(self, chunk: bytes) -> RunOutcome | None:
        if not chunk:
            self.pipe_open = False
            return None
        for header, payload in self.reader.feed(chunk):
            found = self._frame(header, payload)
            if found is not None:
                return found
        return None

    def _frame(self, header: dict[str, Any], payload: bytes) -> RunOutcome | None:
        from drill.grader import wire

        event = header.get("event")
        if event == "imported" and not self.imported:
            self.imported = self.session.imported = True
            return None
        if event == "import-failed" and not self.imported:
            failure = wire.parse_import_failure(header)
            if not self.session.imported:
                raise Ungradeable(_import_failure(self.session.solution, failure))
            return RunOutcome("crashed", detail="importing the file failed this time")
        if event == "done" and self.imported:
            result = wire.parse_done(header, payload, self.session.memory_bytes)
            if result.get("missing"):
                return RunOutcome("missing", output=result["output"])
            return RunOutcome(
                "ran", cases=result["cases"], arrays=result["arrays"], output=result["output"]
            )
        raise wire.WireError(f"an unexpected '{str(event)[:40]}' message")

    def _exited(self, status: Any) -> RunOutcome:
        """The child is gone: read what it left in the pipe, else it died without results."""
        os.set_blocking(self.pipe, False)
        with contextlib.suppress(BlockingIOError):
            while self.pipe_open:
                found = self._read(os.read(self.pipe, 1 << 16))
                if found is not None:
                    return found
        code = status if type(status) is int else None
        if not self.session.imported:
            raise Ungradeable(
                f"{self.session.solution.name} ended the grading process while being imported "
                f"({_describe_exit(code)}); does it call os._exit or crash at import?"
            )
        return RunOutcome("crashed", detail=f"{_describe_exit(code)} before reporting its results")

    def _timed_out(self) -> RunOutcome:
        timeout = self.session.timeout
        if not self.session.imported:
            raise Ungradeable(
                f"importing {self.session.solution.name} did not finish within {timeout:g} s; "
                "does it run something at import time?"
            )
        return RunOutcome("timeout", detail=f"did not finish within {timeout:g} s")


def _protections(value: Any) -> dict[str, str]:
    names = ("filesystem", "network", "processes")
    if not isinstance(value, dict):
        return dict.fromkeys(names, "none")
    return {name: str(value.get(name, "none"))[:40] for name in names}


def _missing(protections: dict[str, str]) -> list[str]:
    from drill.grader.sandbox import Protections

    return Protections(**protections).missing()


def _import_failure(solution: Path, failure: dict[str, Any]) -> str:
    kind = failure["kind"]
    if kind == "syntax":
        return f"{solution.name} has a syntax error on line {failure['line']}: {failure['text']}"
    if kind == "exit":
        return f"{solution.name} calls sys.exit() while being imported:\n{failure['text']}"
    return f"{solution.name} raised an exception while being imported:\n{failure['text']}"
