"""The parent side of grading: start the worker, enforce limits, trust nothing it sends.

The submission runs in processes of the worker's (worker.py), sandboxed where the kernel
allows (sandbox.py). Each exercise runs in a child of its own; its deadline is set once, on
this process's clock, when we ask for it, and nothing the child writes can extend it. Results
come back on a pipe we create for that one exercise, in the format of wire.py, and are
validated before anything else sees them; nothing is unpickled. When the child has finished,
timed out or died, the worker's supervisor kills every process left in its namespace.

Where the kernel gives PID namespaces, the worker serves several lanes, each a supervisor
with a control socket and a namespace of its own, and exercises run on them side by side.

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

from drill.limits import BLAS_THREAD_VARIABLES

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
# Exercises run at once, each in a PID namespace of its own, where the kernel allows: one a
# core, two at most (the parent needs a little CPU too).
DEFAULT_LANES = max(1, min(2, os.cpu_count() or 1))


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
    seconds: float = 0.0  # from the parent's asking to the outcome


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
    """The worker's supervisor died or broke the control protocol (on `channel`'s lane)."""

    def __init__(self, message: str, channel: Channel) -> None:
        super().__init__(message)
        self.channel = channel


class Channel:
    """One lane's control socket: commands out, answers in, every frame validated."""

    def __init__(self, control: socket.socket, describe_death: Callable[[], str]) -> None:
        self.control = control
        self.runs = 0  # runs asked of this lane's supervisor, numbered as it does
        self._describe_death = describe_death
        # Made on the first answer: wire.py imports NumPy, which must not delay our start.
        self._reader: FrameReader | None = None
        self._pending: list[dict[str, Any]] = []  # messages read but not yet handed out
        self._sending = threading.Lock()  # GradingSession.interrupt() sends from another thread

    def send(self, fd: int | None = None, **message: Any) -> None:
        from drill.grader import wire

        try:
            with self._sending:
                socket.send_fds(self.control, [wire.frame(message)], [] if fd is None else [fd])
        except OSError as error:
            raise WorkerGone(f"it stopped listening ({error.strerror})", self) from None

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
                raise WorkerGone(self._describe_death(), self)
            self._reader = self._reader or wire.FrameReader()
            try:
                frames = self._reader.feed(data)
                self._pending.extend(wire.parse_control(header) for header, _ in frames)
            except wire.WireError as error:
                raise WorkerGone(f"it sent malformed data ({error})", self) from None
        return self._pending.pop(0)


class Worker:
    """The worker process and one control socket a lane; started early, so that its
    start-up overlaps ours. It may serve fewer lanes than asked (see GradingSession)."""

    def __init__(self, solution: Path, workdir: Path, memory_bytes: int, lanes: int = 1) -> None:
        pairs = [socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM) for _ in range(lanes)]
        env = dict(os.environ)
        env.update({name: "1" for name in BLAS_THREAD_VARIABLES})
        command = [
            sys.executable,
            "-I",
            "-B",  # no bytecode beside the submission (or anywhere else) from the worker
            "-c",
            BOOT,
            str(PACKAGE_ROOT),
            str(os.getpid()),
            ",".join(str(theirs.fileno()) for _, theirs in pairs),
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
            pass_fds=tuple(theirs.fileno() for _, theirs in pairs),
            cwd=workdir,
            env=env,
            start_new_session=True,
        )
        for _, theirs in pairs:
            theirs.close()
        self.channels = [Channel(ours, self._describe_death) for ours, _ in pairs]

    def _describe_death(self) -> str:
        try:
            return _describe_exit(self.process.wait(timeout=2))
        except subprocess.TimeoutExpired:
            return _describe_exit(None)

    def stop(self) -> None:
        """Kill the worker; everything it started dies with it (namespace or death signal).

        Killed before its sockets are closed: a worker that sees them close takes drill for
        dead and removes the folder drill still uses.
        """
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        for channel in self.channels:
            channel.control.close()
        self.process.wait()


def check_source(solution: Path) -> None:
    """Refuse a file that cannot be Python source at all; a syntax error is found by the
    worker, which compiles the file anyway (compiling it here too costs every grade)."""
    try:
        source = solution.read_bytes()
    except OSError as error:
        raise Ungradeable(f"cannot read {solution}: {error.strerror or error}") from None
    if b"\0" in source:
        raise Ungradeable(
            f"{solution.name} contains NUL bytes, so it is not a Python source file "
            "(a binary, or text saved as UTF-16?)"
        )


def open_session(
    solution: Path,
    timeout: float,
    memory_mb: int,
    strict: bool = False,
    watching: bool = False,
    lanes: int = DEFAULT_LANES,
) -> GradingSession:
    """Check that the file can be graded at all, then start its worker.

    When `watching`, a file that is not Python source is left for each round to report:
    the next save may fix it. `lanes` is how many exercises may run at once.
    """
    resolved = checked_path(solution)
    if not watching:
        check_source(resolved)
    return GradingSession(resolved, timeout, memory_mb << 20, strict, lanes)


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
    """Grades the planned exercises of one submission, one sandboxed child per exercise,
    up to `lanes` of them at once."""

    def __init__(
        self, solution: Path, timeout: float, memory_bytes: int, strict: bool, lanes: int = 1
    ) -> None:
        self.solution = solution
        self.timeout = timeout
        self.memory_bytes = memory_bytes
        self.strict = strict
        self.sandbox: dict[str, str] = {}  # known once the worker is ready
        self._tmp = tempfile.TemporaryDirectory(prefix="drill-grade-", ignore_cleanup_errors=True)
        self.workdir = Path(self._tmp.name)
        for name in ("plan", "scratch"):
            (self.workdir / name).mkdir()
        self._lanes_asked = max(1, lanes)
        self._worker: Worker | None = self._new_worker()
        self._ready = False  # the current worker has said it is ready
        self.lanes: list[Channel] = []  # the current worker's lanes, once it is ready
        self._plan = ""  # the plan's JSON, as last written to the plan folder
        self._plan_loaded = False  # the current worker has loaded that plan
        self.imported = False  # once the file has been imported in the sandbox
        self._closed = False  # by close() or interrupt()
        self._starting = threading.Lock()

    def _new_worker(self) -> Worker:
        return Worker(self.solution, self.workdir, self.memory_bytes, self._lanes_asked)

    def close(self) -> None:
        """Have each supervisor kill what its last run left, then stop the worker.

        Killing the worker alone would do in a PID namespace, which dies with it; a child
        subreaper's orphans would outlive it.
        """
        self._closed = True
        if self._worker is not None:
            if self._ready:
                with contextlib.suppress(WorkerGone):
                    for channel in self.lanes:
                        channel.send(command="end")
                    for channel in self.lanes:
                        self._await_clean(channel)
            self._worker.stop()
            self._worker = None
        self._tmp.cleanup()

    def interrupt(self) -> None:
        """Stop grading from another thread: the runs in progress end as stopped, no other
        starts, and the grading thread then closes the session as usual. Only that thread
        reads the worker's answers."""
        with self._starting:
            self._closed = True
            if self._worker is not None and self._ready:
                for channel in self.lanes:
                    with contextlib.suppress(WorkerGone):
                        channel.send(command="end")

    def _await_clean(self, channel: Channel) -> None:
        deadline = time.monotonic() + CLEANUP_TIMEOUT
        while True:
            message = channel.receive(deadline)
            if message is None:
                return
            if message.get("event") == "clean" and message.get("run") == channel.runs:
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

        Each lane runs one exercise at a time, and is given the next as soon as its last
        has an outcome, so that the lanes work while we judge. A session can run several
        times (drill grade --watch): the worker stays warm, and reloads the plan and the
        submission's source at the start of each run.
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
        waiting = list(ids)  # not started yet, in plan order
        outcomes: dict[str, RunOutcome] = {}
        active: dict[Channel, Run] = {}
        starting: list[str] = []  # the exercise being started, while it is

        def fill_lanes() -> None:
            """Give each idle lane the next exercise, unless interrupted."""
            for channel in self.lanes:
                if channel in active or not waiting:
                    continue
                starting[:] = waiting[:1]
                run = self._start(channel, waiting[0], on_start)
                starting.clear()
                if run is None:
                    return
                active[channel] = run
                waiting.pop(0)

        try:
            for exercise_id in ids:
                while exercise_id not in outcomes:
                    try:
                        fill_lanes()
                        if not active:  # interrupted before this exercise started
                            return
                        for channel, outcome in _next_outcomes(active):
                            run = active.pop(channel)
                            run.close()
                            outcome.seconds = time.monotonic() - run.started
                            outcomes[run.exercise] = outcome
                            # The supervisor handles commands in order: this lane's next
                            # run can be asked for at once; its `clean` is then old news.
                            channel.send(command="end")
                        fill_lanes()  # before we judge, so that the lanes work meanwhile
                    except WorkerGone as error:
                        lost = starting[0] if starting else None
                        starting.clear()
                        worker = self._recover(worker, error, active, waiting, lost, outcomes)
                yield exercise_id, outcomes.pop(exercise_id)
        finally:
            for run in active.values():  # Ctrl-C or an import failure: `end` stops them
                run.close()

    def _recover(
        self,
        worker: Worker,
        error: WorkerGone,
        active: dict[Channel, Run],
        waiting: list[str],
        starting: str | None,
        outcomes: dict[str, RunOutcome],
    ) -> Worker:
        """A supervisor died. Only drill's own code runs there, so this is rare (a kernel
        without signal scoping lets a submission kill it): the exercise on its lane, or the
        one being started, crashed; the other lanes' exercises are run again."""
        lost = RunOutcome("crashed", detail=f"the grading process died: {error}")
        again = []
        for channel, run in active.items():
            run.close()
            if channel is error.channel:
                outcomes[run.exercise] = lost
            else:
                again.append(run.exercise)
        active.clear()
        if starting is not None and starting not in outcomes:
            outcomes[starting] = lost
            waiting.remove(starting)
        waiting[:0] = again
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
                channels = self._worker.channels
                first = self._await_ready(channels[0])
                self.sandbox = _protections(first.get("sandbox"))
                served = first.get("lanes")
                count = served if type(served) is int and 1 <= served <= len(channels) else 1
                for channel in channels[1:count]:
                    self._await_ready(channel)
                self.lanes = channels[:count]
                self._ready = True
            for channel in self.lanes:
                channel.send(command="load", plan=not self._plan_loaded)
            self._plan_loaded = True
        except WorkerGone as error:
            raise Ungradeable(f"the grading process did not start ({error})") from None
        missing = _missing(self.sandbox)
        if missing and self.strict:
            raise Ungradeable(
                f"--strict: this system does not offer {', '.join(missing)} to the grader"
            )
        return self._worker

    def _await_ready(self, channel: Channel) -> dict[str, Any]:
        message = channel.receive(time.monotonic() + STARTUP_TIMEOUT)
        if message is None:
            raise WorkerGone(f"no answer within {STARTUP_TIMEOUT:g} s", channel)
        if message.get("event") != "ready":
            raise WorkerGone(f"it sent '{message.get('event')}' instead of 'ready'", channel)
        return message

    def _start(
        self, channel: Channel, exercise_id: str, on_start: Callable[[str], None]
    ) -> Run | None:
        """Start one exercise in a fresh child on `channel`'s lane, with a deadline set here
        and now; None once interrupted."""
        read_end, write_end = os.pipe()
        try:
            with self._starting:  # before interrupt()'s `end`, or not at all
                if self._closed:
                    os.close(read_end)
                    return None
                channel.runs += 1
                channel.send(fd=write_end, command="run", exercise=exercise_id)
        except WorkerGone:
            os.close(read_end)
            raise
        finally:
            # Closed exactly once: a second close could hit another thread's new descriptor.
            os.close(write_end)
        on_start(exercise_id)
        return Run(self, channel, read_end, exercise_id, self.timeout)


def _next_outcomes(active: dict[Channel, Run]) -> list[tuple[Channel, RunOutcome]]:
    """Wait until some of the active runs have an outcome, reading every lane meanwhile (a
    lane left unread could fill its pipe and stall into a false timeout)."""
    from drill.grader import wire

    while True:
        found = []
        now = time.monotonic()
        watched = []
        for channel, run in active.items():
            if run.deadline <= now:
                found.append((channel, run.expire()))
            elif channel.has_pending():
                heard = run.hear(channel.receive(now))
                if heard is not None:
                    found.append((channel, heard))
            else:
                watched += [channel.control] + ([run.pipe] if run.pipe_open else [])
        if found:
            return found
        if not watched:  # every lane has news already read: hear it next turn
            continue
        remaining = min(run.deadline for run in active.values()) - now
        ready = select.select(watched, [], [], max(remaining, 0))[0]
        for channel, run in active.items():
            outcome = None
            try:
                if run.pipe_open and run.pipe in ready:
                    outcome = run.feed()
                if outcome is None and channel.control in ready:
                    outcome = run.hear(channel.receive(time.monotonic() + 1))
            except wire.WireError as error:
                outcome = RunOutcome("crashed", detail=f"it sent malformed data ({error})")
            if outcome is not None:
                found.append((channel, outcome))
        if found:
            return found


class Run:
    """One exercise in a child of a lane's supervisor: its pipe, deadline and outcome."""

    def __init__(
        self,
        session: GradingSession,
        channel: Channel,
        pipe: int,
        exercise: str,
        timeout: float,
    ) -> None:
        from drill.grader import wire

        self.session = session
        self.channel = channel
        self.number = channel.runs  # as the lane's supervisor counts its runs
        self.pipe = pipe
        self.exercise = exercise
        self.started = time.monotonic()
        self.deadline = self.started + timeout
        self.reader = wire.FrameReader()
        self.imported = False  # this run's child has imported the file
        self.pipe_open = True

    def close(self) -> None:
        if self.pipe >= 0:
            os.close(self.pipe)
            self.pipe = -1
            self.pipe_open = False

    def feed(self) -> RunOutcome | None:
        """Read what the child has written; its outcome once its results are complete."""
        return self._read(os.read(self.pipe, 1 << 16))

    def hear(self, message: dict[str, Any] | None) -> RunOutcome | None:
        """A message from the lane's supervisor: news of this run's child, or of an earlier
        run's (ignored)."""
        event = None if message is None else message.get("event")
        if event not in ("exited", "clean"):
            raise WorkerGone(f"it sent '{event}' during a run", self.channel)
        if message.get("run") != self.number:
            return None
        if event == "clean":  # ended by interrupt()
            return RunOutcome("crashed", detail="grading was stopped")
        return self._exited(message.get("status"))

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

    def expire(self) -> RunOutcome:
        """The deadline has passed without an outcome."""
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
