"""Attacks on drill grade that tests/test_hostile.py does not make.

Here a submission attacks through the values it returns (objects whose conversions raise,
NumPy subclasses, views too large to copy), through the interpreter it shares with drill's
code in the worker (patched builtins and modules), and through its process (threads left
running, signals to everything it can reach, the controlling terminal). Each attack may cost
its own exercise, nothing more: the verdict stays right, drill never crashes (exit 3), the
other exercise (ReLU) is still graded, and nothing it started outlives grading.
"""

from __future__ import annotations

import json
import signal
import sys
import textwrap
from pathlib import Path

import pexpect
import pytest
from typer.testing import CliRunner

from drill.cli import app

if not sys.platform.startswith("linux"):
    pytest.skip("the sandbox is Linux's", allow_module_level=True)

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = (ROOT / "solutions" / "backprop.py").read_text()
TWO = ["--only", "linear", "--only", "relu"]
runner = CliRunner()


def attack_file(folder: Path, name: str, attack: str) -> Path:
    """The reference solution with `attack` (module-level code) appended."""
    path = folder / f"{name}.py"
    path.write_text(REFERENCE + "\n\n" + textwrap.dedent(attack).strip() + "\n")
    return path


def forward_returning(expression: str, setup: str = "") -> str:
    """An attack: `setup`, then Linear whose forward returns `expression` (y is the right one)."""
    return (
        "import numpy as np\n"
        + textwrap.dedent(setup).strip()
        + textwrap.dedent(
            f"""
        _Reference = Linear
        class Linear(_Reference):
            def forward(self, x):
                y = super().forward(x)
                return {expression}
        """
        )
    )


def statuses(report: dict) -> dict[str, str]:
    return {exercise["id"]: exercise["status"] for exercise in report["exercises"]}


def message(report: dict, exercise_id: str) -> str:
    return next(e["message"] for e in report["exercises"] if e["id"] == exercise_id)


# --- returned values that misbehave when drill's worker reads them ----------------------

# name: (attack, Linear's status, words its message must contain)
RETURNED = {
    "float whose __float__ raises SystemExit": (
        forward_returning(
            "_Float(1.0)",
            """
            class _Float(float):
                def __float__(self):
                    raise SystemExit(3)
            """,
        ),
        "error",
        "reading output raised SystemExit: 3",
    ),
    "str whose __len__ raises KeyboardInterrupt": (
        forward_returning(
            "_Text('y')",
            """
            class _Text(str):
                def __len__(self):
                    raise KeyboardInterrupt
            """,
        ),
        "failed",
        "is text (y)",
    ),
    "ndarray subclass whose dtype raises GeneratorExit": (
        forward_returning(
            "y.view(_Array)",
            """
            class _Array(np.ndarray):
                @property
                def dtype(self):
                    raise GeneratorExit
            """,
        ),
        "error",
        "reading output raised GeneratorExit",
    ),
    "class whose metaclass hides its name": (
        forward_returning(
            "_Hidden()",
            """
            class _Meta(type):
                @property
                def __name__(cls):
                    raise KeyboardInterrupt
            class _Hidden(metaclass=_Meta):
                pass
            """,
        ),
        "failed",
        "is a _Hidden",
    ),
    "object whose __array__, __float__ and __eq__ raise": (
        forward_returning(
            "_Liar()",
            """
            class _Liar:
                def __array__(self, *args, **kwargs):
                    raise KeyboardInterrupt
                __float__ = __len__ = __eq__ = __array__
            """,
        ),
        "failed",
        "_Liar",
    ),
    "zero-stride view of 10^12 elements": (
        forward_returning("np.broadcast_to(np.float64(1.0), (10**6, 10**6))"),
        "error",
        "used more than 2048 MiB",
    ),
    "integer beyond the float range": (
        forward_returning("10**5000"),
        "failed",
        "is an integer too large for a float",
    ),
    "backward raising GeneratorExit": (
        """
        _Reference = Linear
        class Linear(_Reference):
            def backward(self, grad_output):
                raise GeneratorExit("stopped")
        """,
        "error",
        "backward raised GeneratorExit: stopped",
    ),
    "gradient attribute that raises KeyboardInterrupt": (
        """
        _Reference = Linear
        class Linear(_Reference):
            @property
            def grad_W(self):
                raise KeyboardInterrupt
            @grad_W.setter
            def grad_W(self, value):
                pass
        """,
        "error",
        "backward raised KeyboardInterrupt",
    ),
    "unbounded recursion in forward": (
        forward_returning("_deeper(0)", "def _deeper(n):\n    return _deeper(n + 1)"),
        "error",
        "RecursionError",
    ),
    "exception whose __str__ raises it again": (
        """
        class _Loop(Exception):
            def __str__(self):
                raise _Loop()
        _Reference = Linear
        class Linear(_Reference):
            def forward(self, x):
                raise _Loop()
        """,
        "error",
        "forward raised _Loop: (its message cannot be read",
    ),
    "exception whose __str__ is not text": (
        """
        class _Odd(Exception):
            def __str__(self):
                return 42
        _Reference = Linear
        class Linear(_Reference):
            def forward(self, x):
                raise _Odd()
        """,
        "error",
        "forward raised _Odd: (its message cannot be read: TypeError: __str__ returned non-string",
    ),
    "forward raising SystemExit": (
        forward_returning("exit(4)"),
        "error",
        "forward raised SystemExit: 4",
    ),
    "big-endian output": (
        forward_returning("np.asarray(y, dtype='>f8')"),
        "passed",
        "all checks passed",
    ),
    "big-endian wrong output": (
        forward_returning("np.asarray(2 * y, dtype='>f8')"),
        "failed",
        "output",
    ),
    "300 MB output, once": (
        forward_returning(
            "y if _calls.append(1) or len(_calls) > 1 else np.ones((40_000, 1_000))",
            "_calls = []",
        ),
        "error",
        "returning the results raised ResultsTooLarge: 305 MiB of arrays, more than the 256 MiB",
    ),
    "NaN hidden under a masked array": (
        forward_returning("np.ma.masked_array(np.where(y > 0, np.nan, y), mask=y > 0)"),
        "failed",
        "NaN",
    ),
}


@pytest.fixture(scope="module")
def returned_reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    """Every RETURNED attack graded in one class run: one report per file, by name."""
    folder = tmp_path_factory.mktemp("returned")
    names = {}
    for number, (name, (attack, _, _)) in enumerate(RETURNED.items()):
        names[f"attack{number:02d}.py"] = name
        attack_file(folder, f"attack{number:02d}", attack)
    result = runner.invoke(
        app, ["grade", str(folder), "--json", "--no-strict", "--jobs", "2", *TWO]
    )
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    return {names[Path(line["file"]).name]: line for line in lines if "file" in line}


@pytest.mark.parametrize("name", list(RETURNED))
def test_a_misbehaving_returned_value_costs_its_exercise_only(returned_reports, name):
    _, status, words = RETURNED[name]
    report = returned_reports[name]
    assert statuses(report) == {"linear": status, "relu": "passed"}
    assert words in message(report, "linear") + json.dumps(report["exercises"][0]["checks"])
    assert "died" not in message(report, "linear")  # what went wrong is named, not hidden


# --- the interpreter drill's worker shares with the submission ----------------------------


@pytest.mark.parametrize(
    "patch",
    [
        "import builtins\nbuiltins.len = lambda value: 0",
        "import builtins\nbuiltins.isinstance = lambda value, kind: True",
        "import builtins\nbuiltins.str = lambda *args: 'x'",
        "import builtins\nbuiltins.memoryview = lambda data: b''",
        "import json\njson.dumps = lambda *args, **kwargs: '{}'",
        "import json\njson.JSONEncoder.encode = lambda self, value: '{}'",
        "import os\nos.write = lambda fd, data: len(data)",
        "import numpy as np\nnp.array = np.asarray = np.ascontiguousarray = lambda *a, **k: None",
    ],
    ids=["len", "isinstance", "str", "memoryview", "json.dumps", "encoder", "os.write", "numpy"],
)
def test_patching_what_drills_worker_uses_cannot_reach_the_results(tmp_path, patch):
    """drill's worker bound what it sends results with before the file was imported."""
    path = attack_file(tmp_path, "solution", patch)
    result = runner.invoke(app, ["grade", str(path), "--json", *TWO])
    assert result.exit_code == 0, result.output
    assert statuses(json.loads(result.stdout)) == {"linear": "passed", "relu": "passed"}


def test_a_cleared_environment_and_a_running_thread_change_nothing(tmp_path):
    path = attack_file(
        tmp_path,
        "solution",
        f"""
        import os, threading, time
        os.environ.clear()
        os.environ["PYTHONPATH"] = {str(tmp_path)!r}
        def _spin():
            while True:
                time.sleep(0.01)
        threading.Thread(target=_spin).start()
        """,
    )
    result = runner.invoke(app, ["grade", str(path), "--json", *TWO])
    assert result.exit_code == 0, result.output
    assert statuses(json.loads(result.stdout)) == {"linear": "passed", "relu": "passed"}


# --- the submission's process ------------------------------------------------------------


def test_a_loop_that_ignores_sigterm_and_sigint_is_stopped_at_the_deadline(tmp_path):
    path = attack_file(
        tmp_path,
        "solution",
        """
        import signal
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        _Reference = Linear
        class Linear(_Reference):
            def forward(self, x):
                while True:
                    pass
        """,
    )
    result = runner.invoke(app, ["grade", str(path), "--json", "--timeout", "2", *TWO])
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    assert statuses(report) == {"linear": "timeout", "relu": "passed"}


def test_signalling_every_process_it_can_reach_costs_only_its_exercise(tmp_path):
    path = attack_file(
        tmp_path,
        "solution",
        """
        import os, signal
        _Reference = Linear
        class Linear(_Reference):
            def forward(self, x):
                for deliver in (lambda: os.killpg(0, signal.SIGTERM),
                                lambda: os.kill(-1, signal.SIGTERM)):
                    try:
                        deliver()
                    except OSError:
                        pass
                return super().forward(x)
        """,
    )
    probe = runner.invoke(app, ["grade", str(path), "--json", "--only", "relu"])
    protections = json.loads(probe.stdout)["sandbox"]
    if protections["processes"] != "pid namespace":
        pytest.skip("kill(-1) outside a PID namespace could reach the test run itself")
    result = runner.invoke(app, ["grade", str(path), "--json", *TWO])
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    assert statuses(report) == {"linear": "error", "relu": "passed"}
    assert "SIGTERM" in message(report, "linear")


def test_writing_to_the_controlling_terminal_does_not_reach_it(tmp_path):
    path = attack_file(
        tmp_path,
        "solution",
        """
        try:
            with open("/dev/tty", "w") as terminal:
                terminal.write("\\x1b]0;OWNED\\x07\\x1b[2JFORGED passed\\n")
        except OSError as error:
            print("no terminal:", type(error).__name__)
        """,
    )
    child = pexpect.spawn(
        sys.executable,
        ["-m", "drill", "grade", str(path), "--only", "linear"],
        cwd=str(ROOT),
        encoding="utf-8",
        timeout=120,
        dimensions=(40, 120),
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    child.expect(pexpect.EOF)
    child.close()
    screen = child.before
    assert child.exitstatus == 0, screen
    assert "OWNED" not in screen and "FORGED" not in screen
    assert "passed" in screen


# --- names that try to draw lines of their own ----------------------------------------------


def test_a_file_name_with_a_newline_cannot_forge_a_line_of_the_report(tmp_path):
    forged = "x.py\nforged.py 10 of 10 ✓\n.py"
    attack_file(tmp_path, forged.removesuffix(".py"), "")
    (tmp_path / "honest.py").write_text(REFERENCE)
    wide = {"COLUMNS": "200", "NO_COLOR": "1"}
    result = runner.invoke(app, ["grade", str(tmp_path), "--only", "relu"], env=wide)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert not [line for line in lines if line.lstrip().startswith("forged")]
    assert "x.py\\nforged.py 10 of 10 ✓\\n.py" in result.stdout
    single = runner.invoke(app, ["grade", str(tmp_path / forged), "--only", "relu"], env=wide)
    assert single.exit_code == 0, single.output
    assert not [line for line in single.stdout.splitlines() if line.startswith("forged")]
