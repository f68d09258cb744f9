"""Hostile submissions against the sandbox and the parent: each attack changes nothing.

Every submission here is the reference solution with one attack added to one exercise
(usually Linear's forward). The attack must fail or cost only its own exercise: the other
exercise (ReLU) is still graded, the exit code is never 3, drill's and the user's files are
untouched, and nothing the submission started is left running.
"""

from __future__ import annotations

import json
import os
import py_compile
import re
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from processes import namespace_pids, processes_mentioning, status, wait_until
from typer.testing import CliRunner

import drill
from drill.cli import app
from drill.grader import sandbox
from drill.grader.runner import DEFAULT_LANES, open_session

if not sys.platform.startswith("linux"):
    pytest.skip("the sandbox is Linux's", allow_module_level=True)

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = (ROOT / "solutions" / "backprop.py").read_text()
TWO = ["--only", "linear", "--only", "relu"]
LANDLOCK = sandbox.landlock_abi() > 0
needs_landlock = pytest.mark.skipif(not LANDLOCK, reason="this kernel has no Landlock")


def _seccomp_works() -> bool:
    child = os.fork()
    if child == 0:
        try:
            sandbox.deny_sockets()
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM).close()
        except PermissionError:
            os._exit(0)
        except BaseException:
            os._exit(1)
        os._exit(1)
    return os.waitstatus_to_exitcode(os.waitpid(child, 0)[1]) == 0


needs_seccomp = pytest.mark.skipif(not _seccomp_works(), reason="no seccomp filter here")
runner = CliRunner()


def submission(tmp_path: Path, attack: str, where: str = "self.x = x\n") -> Path:
    """The reference with `attack` (a block of statements) run in Linear.forward."""
    assert REFERENCE.count(where) == 1
    body = textwrap.indent(textwrap.dedent(attack).strip() + "\n", " " * 8)
    path = tmp_path / "solution.py"
    path.write_text(REFERENCE.replace(where, where + body))
    return path


def grade_json(path: Path, *args: str) -> tuple[int, dict]:
    result = runner.invoke(app, ["grade", str(path), "--json", *TWO, *args])
    return result.exit_code, json.loads(result.stdout)


def statuses(report: dict) -> dict[str, str]:
    return {e["id"]: e["status"] for e in report["exercises"]}


def message(report: dict, exercise: str) -> str:
    return next(e["message"] for e in report["exercises"] if e["id"] == exercise)


def output(report: dict, exercise: str) -> str:
    return next(e["output"] for e in report["exercises"] if e["id"] == exercise)


# --- the filesystem ---------------------------------------------------------------------


@needs_landlock
def test_drills_own_files_cannot_be_opened_for_writing(tmp_path):
    target = Path(drill.__file__).parent / "grader" / "compare.py"
    before = target.read_bytes()
    # Append mode writes nothing by itself: the test does no harm if the sandbox fails.
    path = submission(
        tmp_path,
        f"""
        try:
            open({str(target)!r}, "a").close()
            print("OPENED")
        except OSError as error:
            print("refused:", type(error).__name__)
        """,
    )
    code, report = grade_json(path)
    assert "refused: PermissionError" in output(report, "linear")
    assert statuses(report) == {"linear": "passed", "relu": "passed"}
    assert target.read_bytes() == before
    assert code == 0


@needs_landlock
def test_writing_beside_the_solution_or_outside_scratch_is_refused(tmp_path):
    outside = tmp_path / "outside.txt"
    path = submission(tmp_path, f"open({str(outside)!r}, 'w').write('x')")
    code, report = grade_json(path)
    assert statuses(report) == {"linear": "error", "relu": "passed"}
    assert "PermissionError" in message(report, "linear")
    assert not outside.exists()
    assert code == 1


def test_scratch_is_writable_and_removed_afterwards(tmp_path):
    path = submission(
        tmp_path,
        """
        import os, tempfile
        with open("scratch.txt", "w") as handle:
            handle.write("notes")
        with tempfile.NamedTemporaryFile(delete=False) as handle:
            handle.write(b"more")
        print("wrote in", os.getcwd())
        """,
    )
    with open_session(path, timeout=30, memory_mb=2048) as session:
        workdir = session.workdir
        from drill.bank import load_bank
        from drill.grader.grade import grade_session

        bank = load_bank()
        report = grade_session(session, bank, [bank.exercises["linear"]])
    assert report.exercises[0].status == "passed"
    assert str(workdir) in report.exercises[0].output
    assert not workdir.exists()


@needs_landlock
def test_a_planted_pyc_for_the_references_is_neither_written_nor_trusted(tmp_path):
    """A submission plants bytecode for the references; drill compiles them from source."""
    bank = tmp_path / "bank"
    shutil.copytree(ROOT / "questions", bank / "questions")
    shutil.copytree(ROOT / "solutions", bank / "solutions")
    cache = bank / "solutions" / "__pycache__"
    shutil.rmtree(cache, ignore_errors=True)
    planted = cache / f"backprop.{sys.implementation.cache_tag}.pyc"
    wrong = "self.grad_b = grad_output.mean(axis=0)"
    # Bytecode of a reference with the submission's own mistake, never checked against the
    # source ("unchecked hash"): trusting it would turn the mistake into "passed".
    forged = tmp_path / "forged.py"
    forged.write_text(REFERENCE.replace("self.grad_b = grad_output.sum(axis=0)", wrong))
    mode = py_compile.PycInvalidationMode.UNCHECKED_HASH
    py_compile.compile(str(forged), cfile=str(tmp_path / "forged.pyc"), invalidation_mode=mode)
    forged_bytes = (tmp_path / "forged.pyc").read_bytes()
    attack = f"""
        import os
        try:
            os.makedirs({str(cache)!r}, exist_ok=True)
            open({str(planted)!r}, "wb").write({forged_bytes!r})
            print("PLANTED")
        except OSError as error:
            print("refused:", type(error).__name__)
    """
    path = submission(tmp_path, attack, where="self.x = x\n")
    source = path.read_text().replace("self.grad_b = grad_output.sum(axis=0)", wrong)
    path.write_text(source)
    bank_args = ["--bank", str(bank / "questions")]
    code, report = grade_json(path, *bank_args)
    assert "refused: PermissionError" in output(report, "linear")
    assert not planted.exists()
    assert statuses(report)["linear"] == "failed"
    # Even when the bytecode is there (planted by anything else), the verdict holds.
    cache.mkdir(exist_ok=True)
    shutil.copy(tmp_path / "forged.pyc", planted)
    code, report = grade_json(path, *bank_args)
    assert statuses(report)["linear"] == "failed"
    assert code == 1


def test_no_bytecode_is_written_beside_the_solution(tmp_path):
    (tmp_path / "helper.py").write_text("def double(v):\n    return 2 * v\n")
    path = submission(tmp_path, "import helper\nassert helper.double(2) == 4")
    code, report = grade_json(path)
    assert statuses(report) == {"linear": "passed", "relu": "passed"}
    assert not (tmp_path / "__pycache__").exists()
    assert code == 0


# --- the network ------------------------------------------------------------------------


def test_connecting_to_a_local_port_fails(tmp_path):
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    port = listener.getsockname()[1]
    accepted = []

    def accept() -> None:
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except TimeoutError:
                continue

    stop = threading.Event()
    thread = threading.Thread(target=accept)
    thread.start()
    try:
        path = submission(
            tmp_path,
            f"""
            import socket
            try:
                socket.create_connection(("127.0.0.1", {port}), timeout=5).close()
                print("CONNECTED")
            except OSError as error:
                print("refused:", type(error).__name__)
            """,
        )
        code, report = grade_json(path)
    finally:
        stop.set()
        thread.join()
        listener.close()
    assert "refused:" in output(report, "linear")
    assert accepted == []
    assert statuses(report) == {"linear": "passed", "relu": "passed"}
    assert report["sandbox"]["network"] != "none"
    assert code == 0


# --- processes --------------------------------------------------------------------------


@needs_landlock
def test_the_supervisor_cannot_be_traced_nor_its_descriptors_taken(tmp_path):
    """Its control socket would carry the next exercise's result pipe: Landlock keeps a
    confined process from ptrace and pidfd_getfd on anything outside its domain."""
    path = submission(
        tmp_path,
        """
        import ctypes, os
        libc = ctypes.CDLL(None, use_errno=True)
        supervisor = os.getppid()
        pidfd = libc.syscall(434, supervisor, 0)  # pidfd_open
        taken = [fd for fd in range(64) if libc.syscall(438, pidfd, fd, 0) >= 0]  # pidfd_getfd
        traced = libc.ptrace(16, supervisor, 0, 0) == 0  # PTRACE_ATTACH
        print("taken", taken, "traced", traced)
        """,
    )
    code, report = grade_json(path)
    assert code == 0
    assert "taken [] traced False" in output(report, "linear")


def test_detached_sleepers_do_not_outlive_grading(tmp_path):
    marker = str(tmp_path)  # in every command line below: the worker's and the sleepers'
    path = submission(
        tmp_path,
        f"""
        import os, subprocess, sys
        subprocess.Popen(
            [sys.executable, "-c", "import time; time.sleep(300)", {marker!r}],
            start_new_session=True,
        )
        if os.fork() == 0:  # a double fork out of a new session, sleeping as a copy of us
            os.setsid()
            if os.fork() == 0:
                import time
                time.sleep(300)
            os._exit(0)
        """,
    )
    code, report = grade_json(path)
    assert statuses(report) == {"linear": "passed", "relu": "passed"}
    assert wait_until(lambda: not processes_mentioning(marker), limit=10)
    assert code == 0


def test_two_exercises_run_at_once_and_ending_one_spares_the_other(tmp_path):
    """Linear ends (and its lane is cleaned up) while ReLU is still sleeping in another."""
    if DEFAULT_LANES < 2:
        pytest.skip("one core: one lane")
    timed = """
        import time
        if "{flag}" not in globals():  # the first call only
            globals()["{flag}"] = True
            print(f"start {time.monotonic()}")
            time.sleep({pause})
            print(f"end {time.monotonic()}")
        """
    path = submission(tmp_path, timed.replace("{pause}", "1").replace("{flag}", "linear_slept"))
    source = path.read_text()
    relu_attack = timed.replace("{pause}", "3").replace("{flag}", "relu_slept")
    relu = textwrap.indent(textwrap.dedent(relu_attack).strip(), " " * 8)
    path.write_text(source.replace("self.mask = x > 0\n", f"self.mask = x > 0\n{relu}\n"))
    code, report = grade_json(path, "--timeout", "60")
    if report["sandbox"]["processes"] != "pid namespace":
        pytest.skip("lanes need PID namespaces")
    assert statuses(report) == {"linear": "passed", "relu": "passed"}
    spans = {}
    for name in ("linear", "relu"):
        text = output(report, name)
        starts = [float(t) for t in re.findall(r"start ([0-9.]+)", text)]
        ends = [float(t) for t in re.findall(r"end ([0-9.]+)", text)]
        spans[name] = (min(starts), max(ends))
    assert spans["relu"][0] < spans["linear"][1]  # ReLU began before Linear was over
    assert spans["linear"][1] < spans["relu"][1]  # and was still running after it
    assert code == 0


def _lane_inits(marker: str) -> dict[int, list[int]]:
    """Each lane's supervisor (the init of a nested PID namespace) → its live children."""
    processes = processes_mentioning(marker)
    parents = {pid: int(status(pid).get("PPid", "0")) for pid in processes}
    inits = [pid for pid in processes if namespace_pids(pid)[2:] == ["1"]]
    return {init: [pid for pid, parent in parents.items() if parent == init] for init in inits}


def test_a_lane_whose_supervisor_dies_costs_only_its_exercise(tmp_path):
    """The supervisor of ReLU's lane is killed mid-run (as a submission could do on a kernel
    without Landlock's signal scoping): ReLU crashes, Linear keeps its verdict, nothing stays."""
    if DEFAULT_LANES < 2:
        pytest.skip("one core: one lane")
    path = submission(
        tmp_path, "import time\ntime.sleep(300)", where="self.mask = x > 0\n"
    )  # ReLU hangs in its lane while Linear is graded in the other
    marker = str(path)
    drill_process = subprocess.Popen(
        [sys.executable, "-m", "drill", "grade", marker, *TWO, "--json", "--timeout", "600"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:

        def one_busy_lane() -> bool:
            lanes = _lane_inits(marker)
            return sorted(len(children) > 0 for children in lanes.values()) == [False, True]

        if not wait_until(one_busy_lane):
            pytest.skip("no two lanes here (no nested PID namespaces)")
        time.sleep(1)  # Linear, done in milliseconds, is surely over: the busy lane is ReLU's
        assert wait_until(one_busy_lane)
        [busy] = [init for init, children in _lane_inits(marker).items() if children]
        os.kill(busy, signal.SIGKILL)
        out, err = drill_process.communicate(timeout=120)
    finally:
        drill_process.kill()
        drill_process.wait()
    report = json.loads(out)
    assert statuses(report)["linear"] == "passed"
    assert statuses(report)["relu"] == "error"
    relu = next(e for e in report["exercises"] if e["id"] == "relu")
    assert "grading process died" in relu["message"]
    assert drill_process.returncode == 1, err
    assert wait_until(lambda: not processes_mentioning(marker), limit=20)


def test_killing_its_parent_costs_nothing(tmp_path):
    path = submission(
        tmp_path,
        """
        import os, signal
        for target in (os.getppid(), 1):
            try:
                os.kill(target, signal.SIGKILL)
            except OSError:
                pass
        """,
    )
    code, report = grade_json(path)
    assert statuses(report)["relu"] == "passed"
    assert statuses(report)["linear"] in ("passed", "error")
    assert code in (0, 1)


def default_signals() -> None:
    for number in (signal.SIGINT, signal.SIGHUP, signal.SIGTERM):
        signal.signal(number, signal.SIG_DFL)


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGHUP, signal.SIGKILL])
def test_the_worker_dies_with_drill_and_leaves_no_temporary_folder(tmp_path, how):
    path = submission(tmp_path, "import time\ntime.sleep(300)")
    marker = str(path)
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    drill_process = subprocess.Popen(
        [sys.executable, "-m", "drill", "grade", str(path), *TWO, "--timeout", "600"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "TMPDIR": str(temporary)},
        preexec_fn=default_signals,  # the suite may run under nohup or in the background
    )
    try:
        # The worker, its supervisor and the exercise's child all carry the file's path.
        assert wait_until(lambda: len(processes_mentioning(marker)) >= 3)
        assert len(list(temporary.glob("drill-grade-*"))) == 1
        drill_process.send_signal(how)
        code = drill_process.wait(timeout=60)
        assert code == (-how if how == signal.SIGKILL else 128 + how)
        assert wait_until(lambda: not processes_mentioning(marker), limit=20)
        assert wait_until(lambda: not list(temporary.glob("drill-grade-*")), limit=20)
    finally:
        drill_process.kill()
        drill_process.wait()


def test_a_worker_whose_control_socket_closes_removes_drills_folder(tmp_path):
    """A killed drill's files close before its death signal is sent: the socket closing is
    enough for the worker to take drill for dead (a living drill kills it first)."""
    from drill.grader.runner import Worker

    path = submission(tmp_path, "pass")
    workdir = tmp_path / "drill-grade-test"
    for name in ("plan", "scratch"):
        (workdir / name).mkdir(parents=True)
    worker = Worker(path, workdir, 512 << 20)
    try:
        [channel] = worker.channels
        assert channel.receive(time.monotonic() + 60)["event"] == "ready"
        channel.control.close()  # this process, the worker's "drill", is alive
        assert worker.process.wait(timeout=60) == 0
        assert not workdir.exists()
    finally:
        worker.stop()


def test_ctrl_c_prints_the_results_so_far_and_leaves_no_worker(tmp_path):
    pexpect = pytest.importorskip("pexpect")
    path = submission(
        tmp_path, "import time\ntime.sleep(300)", where="self.mask = x > 0\n"
    )  # ReLU hangs; Linear is graded first
    child = pexpect.spawn(
        sys.executable,
        ["-m", "drill", "grade", str(path), *TWO, "--timeout", "600"],
        env={**os.environ, "NO_COLOR": "1"},
        dimensions=(40, 100),
        encoding="utf-8",
        timeout=60,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    child.expect("Grading relu")
    child.sendintr()
    child.expect(r"Total: 10 / 10 points")
    child.expect("Interrupted")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130
    assert wait_until(lambda: not processes_mentioning(str(path)), limit=20)


# --- the deadline -----------------------------------------------------------------------


def test_forged_events_cannot_extend_the_deadline(tmp_path):
    path = submission(
        tmp_path,
        """
        import json, os, time
        while True:
            for fd in range(3, 64):
                for event in ({"event": "start", "exercise": "linear"}, {"event": "imported"}):
                    try:
                        os.write(fd, (json.dumps(event) + "\\n").encode())
                    except OSError:
                        pass
            time.sleep(0.05)
        """,
    )
    result = subprocess.run(
        [sys.executable, "-m", "drill", "grade", str(path), "--json", *TWO, "--timeout", "2"],
        capture_output=True,
        text=True,
        timeout=120,  # a guard against a hung test, not a measurement
    )
    report = json.loads(result.stdout)
    assert statuses(report)["linear"] in ("error", "timeout")
    assert statuses(report)["relu"] == "passed"
    assert result.returncode == 1


def test_a_hang_is_cut_at_the_deadline_while_it_sleeps_in_a_child(tmp_path):
    path = submission(
        tmp_path,
        """
        import subprocess, sys
        subprocess.run([sys.executable, "-c", "import time; time.sleep(300)"])
        """,
    )
    code, report = grade_json(path, "--timeout", "1")
    assert statuses(report) == {"linear": "timeout", "relu": "passed"}
    assert code == 1


# --- malformed data on the result pipe: a crash of that exercise, never exit 3 -----------


def done(result: object, arrays: object = None, payload: bytes = b"") -> bytes:
    header = {"event": "done", "result": result, "output": "", "arrays": arrays or {}}
    if payload:
        header["payload"] = len(payload)
    return json.dumps(header).encode() + b"\n" + payload


ONE_ARRAY = {"cases": [{"values": {"output": {"kind": "array", "key": "c0_0"}}, "error": None}]}
MALFORMED = {
    "not-json": b"this is not JSON\n",
    "deep-json": b"[" * 100_000 + b"\n",
    "oversized-line": b"x" * (3 << 20),
    "not-an-object": b"[1, 2, 3]\n",
    "unknown-event": b'{"event": "passed"}\n',
    "list-as-key": done(
        {"cases": [{"values": {"output": {"kind": "array", "key": ["a"]}}, "error": None}]}
    ),
    "huge-integer": json.dumps(
        {
            "event": "done",
            "result": {"cases": [{"values": {"o": {"kind": "number", "value": 10**400}}}]},
        }
    ).encode()
    + b"\n",
    "wrong-types": done({"cases": [{"values": [1, 2], "error": 7}]}),
    "error-of-wrong-type": done({"cases": [{"values": {}, "error": ["x"]}]}),
    "bool-as-number": done({"cases": [{"values": {"o": {"kind": "bool", "value": 1}}}]}),
    "array-not-sent": done(ONE_ARRAY),
    "array-of-objects": done(ONE_ARRAY, {"c0_0": {"dtype": "|O", "shape": [2]}}, b"\0" * 16),
    "size-bomb": done(ONE_ARRAY, {"c0_0": {"dtype": "<f8", "shape": [1 << 40]}}, b"\0" * 64),
    "negative-payload": b'{"event": "done", "result": {}, "payload": -5}\n',
}


@pytest.mark.parametrize("data", list(MALFORMED.values()), ids=list(MALFORMED))
def test_malformed_results_are_a_crash_of_that_exercise(tmp_path, data):
    path = submission(
        tmp_path,
        f"""
        import os
        data = {data!r}
        for fd in range(3, 64):
            try:
                os.write(fd, data)
            except OSError:
                pass
        os._exit(0)
        """,
    )
    code, report = grade_json(path)
    assert statuses(report) == {"linear": "error", "relu": "passed"}
    assert "died" in message(report, "linear")
    assert code == 1


def test_closing_every_descriptor_costs_only_its_exercise(tmp_path):
    path = submission(tmp_path, "import os\nos.closerange(0, 4096)")
    code, report = grade_json(path)
    assert statuses(report) == {"linear": "error", "relu": "passed"}
    assert "before reporting its results" in message(report, "linear")
    assert code == 1


def test_writing_to_the_standard_descriptors_does_not_reach_the_report(tmp_path):
    path = submission(
        tmp_path, "import os\nos.write(1, b'{\"points\": 100}\\n')\nos.write(2, b'noise\\n')"
    )
    code, report = grade_json(path)  # json.loads would fail on anything but one object
    assert statuses(report) == {"linear": "passed", "relu": "passed"}
    assert code == 0


def test_deleting_its_working_directory_costs_nothing(tmp_path):
    path = submission(
        tmp_path,
        """
        import os, shutil
        try:
            here = os.getcwd()
        except OSError:  # already deleted by an earlier call
            here = None
        if here:
            shutil.rmtree(here, ignore_errors=True)
            shutil.rmtree(os.path.dirname(here), ignore_errors=True)
        """,
    )
    code, report = grade_json(path)
    assert statuses(report) == {"linear": "passed", "relu": "passed"}
    assert code == 0


@pytest.mark.parametrize("as_json", [True, False], ids=["json", "text"])
def test_a_lone_surrogate_in_printed_output_is_shown_escaped(tmp_path, as_json):
    path = submission(tmp_path, "print('before \\ud800 after')")
    flags = ["--json"] if as_json else []
    result = subprocess.run(
        [sys.executable, "-m", "drill", "grade", str(path), *TWO, *flags],
        capture_output=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    text = result.stdout.decode("utf-8")  # strict: a raw surrogate would not decode
    if as_json:
        assert json.loads(text)["exercises"][0]["status"] == "passed"
    assert "Traceback" not in result.stderr.decode("utf-8", "replace")


def test_strict_refuses_a_worker_that_reports_a_missing_protection(tmp_path, monkeypatch):
    """As on a kernel without seccomp: the worker's report of what it obtained decides."""
    import drill.grader.runner as runner_module

    reported = runner_module._protections
    monkeypatch.setattr(
        runner_module, "_protections", lambda value: {**reported(value), "network": "namespace"}
    )
    path = submission(tmp_path, "pass")
    strict = runner.invoke(app, ["grade", str(path), "--json", "--strict", *TWO])
    assert strict.exit_code == 2
    error = json.loads(strict.stdout)["error"]
    assert "--strict: this system does not offer isolation from local Unix sockets" in error
    lenient = runner.invoke(app, ["grade", str(path), "--json", *TWO])
    assert lenient.exit_code == 0
    assert "graded without isolation from local Unix sockets" in lenient.stderr


@needs_seccomp
def test_a_local_unix_socket_is_out_of_reach(tmp_path):
    """A pathname socket (a Docker daemon's, an SSH agent's) is a file anyone with the
    rights may connect to, read-only filesystem and network namespace notwithstanding."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
        listener.bind(str(tmp_path / "service.sock"))
        listener.listen(1)
        path = submission(
            tmp_path,
            f"""
            import socket
            try:
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
                    client.connect({str(tmp_path / "service.sock")!r})
                print("CONNECTED")
            except OSError as error:
                print("refused:", type(error).__name__)
            """,
        )
        code, report = grade_json(path)
    assert code == 0
    assert report["sandbox"]["network"] == "seccomp"
    assert "refused: PermissionError" in output(report, "linear")
    assert "CONNECTED" not in json.dumps(report)


def test_the_json_report_says_which_protections_were_in_force(tmp_path):
    path = submission(tmp_path, "pass")
    code, report = grade_json(path)
    assert set(report["sandbox"]) == {"filesystem", "network", "processes"}
    expected = sandbox.Protections(**report["sandbox"]).missing()
    strict = runner.invoke(app, ["grade", str(path), "--json", "--strict", *TWO])
    if expected:
        assert strict.exit_code == 2
        assert "--strict" in json.loads(strict.stdout)["error"]
    else:
        assert strict.exit_code == 0
    assert code == 0


# --- where the kernel offers less -------------------------------------------------------

# Runs drill in a user namespace that may create no further ones: the worker then falls back
# to a child subreaper and Landlock's TCP rules, as on a system without unprivileged
# namespaces.
NO_NAMESPACES = 'echo 0 > /proc/sys/user/max_user_namespaces && exec "$@"'


def without_namespaces(*args: str) -> subprocess.CompletedProcess:
    command = ["unshare", "-Ur", "sh", "-c", NO_NAMESPACES, "sh", sys.executable, "-m", "drill"]
    return subprocess.run([*command, *args], capture_output=True, text=True, timeout=120, cwd=ROOT)


def namespaces_can_be_forbidden() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = ["unshare", "-Ur", "sh", "-c", "echo 0 > /proc/sys/user/max_user_namespaces"]
    return subprocess.run(probe, capture_output=True).returncode == 0


@pytest.mark.skipif(
    not (LANDLOCK and namespaces_can_be_forbidden()),
    reason="needs Landlock and unprivileged user namespaces to simulate their absence",
)
def test_without_namespaces_the_fallbacks_still_contain_the_submission(tmp_path):
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    marker = str(tmp_path)
    path = submission(
        tmp_path,
        f"""
        import os, signal, socket, subprocess, sys
        subprocess.Popen(
            [sys.executable, "-c", "import time; time.sleep(300)", {marker!r}],
            start_new_session=True,
        )
        try:
            socket.create_connection(("127.0.0.1", {port}), timeout=5).close()
            print("CONNECTED")
        except OSError as error:
            print("refused:", type(error).__name__)
        try:
            os.kill(os.getppid(), signal.SIGKILL)
        except OSError as error:
            print("no kill:", type(error).__name__)
        """,
        where="self.mask = x > 0\n",  # ReLU, the last exercise: nothing runs after it
    )
    try:
        result = without_namespaces("grade", str(path), "--json", *TWO)
    finally:
        listener.close()
    report = json.loads(result.stdout)
    assert report["sandbox"] == {
        "filesystem": "landlock",
        "network": "seccomp",  # no socket at all, namespace or not
        "processes": "subreaper",
    }
    assert "graded without" not in result.stderr
    assert "refused: PermissionError" in output(report, "relu")
    assert statuses(report) == {"linear": "passed", "relu": "passed"}
    assert wait_until(lambda: not processes_mentioning(marker), limit=10)


# --- errors before grading: one message, one JSON object with --json, exit 2 -------------


@pytest.mark.parametrize(
    "args",
    [
        ["--jobs", "0"],
        ["--jobs", "many"],
        ["--watch"],
        ["--watch", "--gradebook", "book.csv"],
    ],
    ids=["jobs-0", "jobs-text", "watch-two-files", "watch-gradebook"],
)
def test_with_json_a_refused_command_line_is_one_json_object(tmp_path, args):
    first = submission(tmp_path, "pass")
    second = tmp_path / "other.py"
    second.write_text(REFERENCE)
    files = [str(first)] if "--gradebook" in args else [str(first), str(second)]
    result = runner.invoke(app, ["grade", *files, "--json", *args, "--only", "relu"])
    assert result.exit_code == 2, result.output
    error = json.loads(result.stdout)["error"]  # the whole of stdout is one object
    assert ("--jobs" if "--jobs" in args else "--watch") in error
    assert "Usage" not in result.output


@pytest.mark.parametrize("flags", [[], ["--json"], ["--watch"]], ids=["text", "json", "watch"])
def test_a_corrupt_progress_database_is_refused_before_grading(tmp_path, drill_home, flags):
    database = drill_home / "progress.sqlite3"
    database.write_bytes(b"\x00garbage" * 500)
    path = submission(tmp_path, "pass")
    result = runner.invoke(app, ["grade", str(path), *flags, *TWO])
    assert result.exit_code == 2, result.output
    assert str(database) in result.stderr
    assert "Total" not in result.stdout and "linear" not in result.stdout  # nothing graded
    if flags == ["--json"]:
        assert str(database) in json.loads(result.stdout)["error"]
    assert database.read_bytes() == b"\x00garbage" * 500


def test_with_json_an_unknown_exercise_for_a_class_is_one_json_object(tmp_path):
    first = submission(tmp_path, "pass")
    second = tmp_path / "other.py"
    second.write_text(REFERENCE)
    args = ["grade", str(first), str(second), "--json", "--only", "no-such-exercise"]
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "no-such-exercise" in json.loads(result.stdout)["error"]
