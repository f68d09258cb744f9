"""The grader on real solution files: the reference, correct variants, buggy and hostile code."""

from __future__ import annotations

import json
import os
import sys
import textwrap
from pathlib import Path

import pytest
from seed import SEED_FIVE
from typer.testing import CliRunner

from drill.bank import load_bank
from drill.cli import app
from drill.grader.grade import grade, mistaken_source
from drill.grader.records import Key

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "solutions" / "backprop.py"
VARIANTS = Path(__file__).resolve().parent / "fixtures" / "variants"

runner = CliRunner()


@pytest.fixture(scope="module")
def bank():
    return load_bank()


def run_grade(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["grade", *args])
    return result.exit_code, result.output


def grade_json(path: Path, *args: str) -> tuple[int, dict]:
    result = runner.invoke(app, ["grade", str(path), "--json", *args])
    return result.exit_code, json.loads(result.stdout)


def write(tmp_path: Path, source: str, name: str = "solution.py") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(source))
    return path


def by_id(report: dict) -> dict[str, dict]:
    return {exercise["id"]: exercise for exercise in report["exercises"]}


# --- the reference and correct variants ----------------------------------------------------


def test_reference_gets_full_marks_on_every_exercise(bank):
    report = grade(REFERENCE, bank, list(bank.exercises.values()))
    failed = {e.id: e.message for e in report.exercises if e.status != "passed"}
    assert failed == {}
    assert report.points == report.max_points > 0
    assert report.exit_code == 0


@pytest.mark.parametrize("variant", sorted(VARIANTS.glob("*.py")), ids=lambda p: p.stem)
def test_correct_variants_written_differently_pass(variant, bank):
    exercises = [bank.exercises[name] for name in SEED_FIVE]
    report = grade(variant, bank, exercises)
    assert {e.id: e.status for e in report.exercises} == dict.fromkeys(SEED_FIVE, "passed")


def test_json_report_has_exactly_the_documented_shape():
    code, report = grade_json(REFERENCE, "--only", "linear", "--only", "relu")
    assert code == 0
    assert set(report) >= {"exercises", "points", "max_points"}
    assert [e["id"] for e in report["exercises"]] == ["linear", "relu"]
    for exercise in report["exercises"]:
        assert set(exercise) >= {"id", "status", "message", "points", "max_points", "checks"}
        assert exercise["status"] == "passed"
        assert exercise["points"] == exercise["max_points"]
        assert all(check["passed"] for check in exercise["checks"])
    assert report["points"] == report["max_points"] == 15


# --- known mistakes -----------------------------------------------------------------------


def all_mistakes():
    return [
        pytest.param(exercise, mistake, id=f"{exercise.id}-{mistake.id}")
        for exercise in load_bank().exercises.values()
        for mistake in exercise.mistakes
    ]


@pytest.mark.parametrize(("exercise", "mistake"), all_mistakes())
def test_every_known_mistake_fails_with_its_own_message(exercise, mistake, bank, tmp_path):
    path = write(tmp_path, mistaken_source(REFERENCE, mistake))
    report = grade(path, bank, [exercise])
    (result,) = report.exercises
    assert result.status in ("failed", "error")
    assert mistake.message in result.message
    assert report.exit_code == 1


def test_a_new_mistake_is_recognised_without_grader_code(bank, tmp_path):
    """Swapping the sign of grad_input is not in the bank: it fails, but unnamed."""
    source = REFERENCE.read_text().replace(
        "return grad_output @ self.W.T", "return -(grad_output @ self.W.T)"
    )
    report = grade(write(tmp_path, source), bank, [bank.exercises["linear"]])
    (result,) = report.exercises
    assert result.status == "failed"
    failing = {c.name: c for c in result.checks if not c.passed}
    assert "grad_input" in failing and failing["grad_input"].mistake is None
    assert "elements differ" in failing["grad_input"].message
    assert failing["grad_input"].rows, "a few obtained/expected values are shown"


def test_backward_inconsistent_with_own_forward_is_told_apart(bank, tmp_path):
    """A forward that is wrong while backward agrees with it: the message says fix forward."""
    source = REFERENCE.read_text().replace(
        "return x @ self.W + self.b", "return 2 * (x @ self.W) + self.b"
    )
    source = source.replace(
        "self.grad_W = self.x.T @ grad_output", "self.grad_W = 2 * self.x.T @ grad_output"
    )
    source = source.replace("return grad_output @ self.W.T", "return 2 * grad_output @ self.W.T")
    report = grade(write(tmp_path, source), bank, [bank.exercises["linear"]])
    (result,) = report.exercises
    checks = {c.name: c.passed for c in result.checks}
    assert checks["output"] is False
    assert checks["gradient check of grad_W"] is True
    assert result.message.startswith("forward is wrong (backward agrees with it")


def test_backward_not_matching_own_forward_fails_the_gradient_check(bank, tmp_path):
    source = REFERENCE.read_text().replace(
        "return grad_output * self.mask", "return grad_output * self.mask * 0.5"
    )
    report = grade(write(tmp_path, source), bank, [bank.exercises["relu"]])
    (result,) = report.exercises
    failing = {c.name: c.message for c in result.checks if not c.passed}
    assert "backward does not match your own forward" in failing["gradient check of grad_input"]
    assert "output" not in failing


def test_a_wrong_entry_of_a_small_gradient_is_pointed_at(bank, tmp_path):
    source = REFERENCE.read_text().replace(
        "        self.grad_W = self.x.T @ grad_output\n",
        "        self.grad_W = self.x.T @ grad_output\n        self.grad_W[0, 1] *= 1.5\n",
    )
    report = grade(write(tmp_path, source), bank, [bank.exercises["linear"]])
    (result,) = report.exercises
    check = next(c for c in result.checks if c.name == "gradient check of grad_W")
    assert "the largest mismatch is grad_W[0, 1]" in check.message
    assert check.rows[0][0] == "[0, 1]"


def test_an_error_is_named_as_a_known_mistake_only_where_that_mistake_raises_alike(bank, tmp_path):
    # Using W for Wᵀ raises ValueError in backward on the non-square cases only.
    transposed = REFERENCE.read_text().replace(
        "return grad_output @ self.W.T", "return grad_output @ self.W"
    )
    report = grade(write(tmp_path, transposed, "transposed.py"), bank, [bank.exercises["linear"]])
    assert report.exercises[0].message.startswith("grad_input multiplies by W instead of Wᵀ")
    # A ValueError in backward on every case is another mistake, whatever its type.
    always = REFERENCE.read_text().replace(
        "return grad_output @ self.W.T", "raise ValueError('not yet')"
    )
    report = grade(write(tmp_path, always, "always.py"), bank, [bank.exercises["linear"]])
    (result,) = report.exercises
    assert result.status == "error"
    assert result.message.startswith("backward raised ValueError: not yet (case: ")


def test_element_probes_run_only_for_a_gradient_the_random_direction_finds_wrong(bank):
    """Two forward calls each, they serve only to point at a wrong entry: the worker skips
    them where backward agrees along the random direction."""
    from drill.grader.grade import prepare, reference_module
    from drill.grader.worker import Recorder, drive_layer

    plan = prepare(bank, bank.exercises["linear"]).plans[0]  # W 3×5, b 5, x 4×3
    Linear = reference_module(REFERENCE).Linear

    class OneEntryOff(Linear):
        def backward(self, grad_output):
            grad_input = super().backward(grad_output)
            self.grad_W[0, 1] *= 1.5
            return grad_input

    def probed_elements(entry) -> set[str]:
        recorder = Recorder(str(REFERENCE))
        drive_layer(entry, plan.call, plan.arrays, recorder)
        return {
            probe["target"]
            for index, probe in enumerate(plan.call["probes"])
            if "element" in probe
            and Key.probed(probe["target"], index, 1).wire() in recorder.values
        }

    assert {p["target"] for p in plan.call["probes"] if "element" in p} == {"W", "b", "x"}
    assert probed_elements(Linear) == set()
    assert probed_elements(OneEntryOff) == {"W"}


PER_ROW_AND_FLOAT = """
    import numpy as np

    def numerical_gradient(f, x, eps=1e-5):
        grad = np.zeros_like(x)
        for row in range(x.shape[0]):  # perturbs a whole row at once
            saved = x[row].copy()
            x[row] = saved + eps
            up = f(x)
            x[row] = saved - eps
            down = f(x)
            x[row] = saved
            grad[row] = (up - down) / (2 * eps)
        return grad

    def gradient_check(analytical, numerical, rtol=1e-4):
        error = np.abs(analytical - numerical) / (np.abs(analytical) + np.abs(numerical) + 1e-8)
        return float(error.max())  # a number, not a verdict
"""


def test_per_row_perturbation_and_a_non_bool_verdict_fail(tmp_path):
    path = write(tmp_path, PER_ROW_AND_FLOAT)
    code, report = grade_json(path, "--only", "numerical_gradient", "--only", "gradient_check")
    assert code == 1
    numerical = by_id(report)["numerical_gradient"]
    assert numerical["status"] == "failed"
    assert numerical["message"].startswith("gradient: ")
    check = by_id(report)["gradient_check"]
    assert check["status"] == "failed"
    assert "expected a bool (True or False)" in check["message"]


# --- partial files and stubs ------------------------------------------------------------


def test_starter_file_grades_as_all_missing_with_exit_zero(tmp_path):
    starter = tmp_path / "starter.py"
    assert runner.invoke(app, ["init", str(starter)]).exit_code == 0
    code, report = grade_json(starter)
    assert code == 0
    assert {e["status"] for e in report["exercises"]} == {"missing"}
    assert report["points"] == 0


def test_partial_file_grades_what_is_there(tmp_path):
    source = REFERENCE.read_text().split("class ReLU:")[0]  # Linear only
    code, report = grade_json(write(tmp_path, source), "--only", "linear", "--only", "relu")
    statuses = {e["id"]: e["status"] for e in report["exercises"]}
    assert statuses == {"linear": "passed", "relu": "missing"}
    assert "ReLU is not defined" in by_id(report)["relu"]["message"]
    assert code == 0


def test_init_never_overwrites_without_force(tmp_path):
    target = write(tmp_path, "# my precious work\n")
    result = runner.invoke(app, ["init", str(target), "--only", "linear"])
    assert result.exit_code == 0
    assert target.read_text().startswith("# my precious work\n")
    forced = runner.invoke(app, ["init", str(target), "--only", "linear", "--force"])
    assert forced.exit_code == 0
    text = target.read_text()
    assert "class Linear:" in text and "raise NotImplementedError" in text
    assert "class ReLU" not in text


def test_init_writes_every_stub_with_shapes(tmp_path, bank):
    target = tmp_path / "all.py"
    assert runner.invoke(app, ["init", str(target)]).exit_code == 0
    text = target.read_text()
    compile(text, str(target), "exec")
    for exercise in bank.exercises.values():
        assert exercise.stub.strip().splitlines()[0] in text


def test_unknown_exercise_gets_a_suggestion():
    code, output = run_grade(str(REFERENCE), "--only", "lineer")
    assert code == 2
    assert "did you mean 'linear'" in output


# --- files that cannot be graded at all ---------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("def f(:\n    pass\n", "syntax error on line 1"),
        ("import sys\nsys.exit(3)\n", "calls sys.exit() while being imported"),
        ("import os\nos._exit(4)\n", "ended the grading process while being imported"),
        ("while True:\n    pass\n", "did not finish within 1 s"),
        ("raise RuntimeError('boom at import')\n", "boom at import"),
    ],
    ids=["syntax-error", "sys-exit", "os-exit", "hang", "exception"],
)
def test_ungradeable_files_exit_2_with_a_clear_message(tmp_path, source, expected):
    path = write(tmp_path, source)
    code, output = run_grade(str(path), "--only", "linear", "--timeout", "1")
    assert code == 2
    assert expected in output
    assert "Traceback" not in output or "boom" in output
    assert "drill/grader" not in output


def test_missing_file_exits_2():
    code, output = run_grade("/nonexistent/solution.py")
    assert code == 2 and "no such file" in output


def test_ungradeable_file_with_json_still_prints_one_json_object(tmp_path):
    path = write(tmp_path, "def f(:\n")
    result = runner.invoke(app, ["grade", str(path), "--json"])
    assert result.exit_code == 2
    assert "syntax error" in json.loads(result.stdout)["error"]


# --- hostile code: each misbehaving exercise costs only itself ---------------------------


HOSTILE_PREFIX = REFERENCE.read_text()


def hostile(tmp_path: Path, replacements: dict[str, str], extra: str = "") -> Path:
    source = HOSTILE_PREFIX
    for old, new in replacements.items():
        assert source.count(old) == 1
        source = source.replace(old, new)
    return write(tmp_path, source + textwrap.dedent(extra))


TWO = ["--only", "linear", "--only", "relu"]


def test_a_hang_is_a_timeout_and_the_rest_is_graded(tmp_path):
    path = hostile(
        tmp_path, {"self.x = x\n": "self.x = x\n        while True:\n            pass\n"}
    )
    code, report = grade_json(path, *TWO, "--timeout", "1")
    assert by_id(report)["linear"]["status"] == "timeout"
    assert by_id(report)["relu"]["status"] == "passed"
    assert code == 1


def test_os_exit_in_backward_is_an_error_and_the_rest_is_graded(tmp_path):
    path = hostile(
        tmp_path,
        {"self.grad_W = self.x.T": "__import__('os')._exit(9)\n        self.grad_W = self.x.T"},
    )
    code, report = grade_json(path, *TWO)
    assert by_id(report)["linear"]["status"] == "error"
    assert "exited with status 9" in by_id(report)["linear"]["message"]
    assert by_id(report)["relu"]["status"] == "passed"
    assert code == 1


def test_a_segfault_is_an_error_and_the_rest_is_graded(tmp_path):
    crash = "import ctypes\n        ctypes.string_at(0)\n        self.mask = x > 0"
    path = hostile(tmp_path, {"self.mask = x > 0": crash})
    code, report = grade_json(path, *TWO)
    assert by_id(report)["relu"]["status"] == "error"
    assert "SIGSEGV" in by_id(report)["relu"]["message"]
    assert by_id(report)["linear"]["status"] == "passed"
    assert code == 1


def test_a_memory_hog_is_stopped_by_the_cap(tmp_path):
    hog = "self.x = x\n        hoard = [bytearray(1 << 26) for _ in range(64)]\n"
    path = hostile(tmp_path, {"self.x = x\n": hog})
    code, report = grade_json(path, *TWO, "--memory", "512")
    assert by_id(report)["linear"]["status"] == "error"
    assert "used more than 512 MiB" in by_id(report)["linear"]["message"]
    assert by_id(report)["relu"]["status"] == "passed"
    assert code == 1


def test_patching_numpy_and_drill_in_its_process_changes_no_verdict(tmp_path):
    cheat = """
        import numpy, sys
        numpy.allclose = lambda *a, **k: True
        numpy.isclose = lambda a, b, **k: numpy.ones(numpy.shape(a), dtype=bool)
        numpy.array_equal = lambda *a, **k: True
        sys.modules["drill"] = None
    """
    path = hostile(
        tmp_path,
        {"self.grad_b = grad_output.sum(axis=0)": "self.grad_b = 0 * grad_output.sum(axis=0)"},
        cheat,
    )
    code, report = grade_json(path, *TWO)
    assert by_id(report)["linear"]["status"] == "failed"
    assert code == 1


def test_a_fake_report_on_stdout_does_not_reach_the_real_one(tmp_path):
    fake = """
        print('{"exercises": [], "points": 100, "max_points": 100}')
        print("linear  passed  10/10")
    """
    path = hostile(
        tmp_path,
        {
            "self.grad_b = grad_output.sum(axis=0)": (
                "self.grad_b = grad_output.mean(axis=0)\n        print('ALL PASSED')"
            )
        },
        fake,
    )
    code, report = grade_json(path, *TWO)  # json.loads fails on anything but one object
    assert report["points"] < report["max_points"]
    assert "ALL PASSED" in by_id(report)["linear"]["output"]
    assert code == 1


def test_an_output_flood_is_cut_short(tmp_path):
    # Megabytes per forward call in few writes: the flood is large, yet costs the worker well
    # under a fifth of the time limit even on a loaded machine.
    flood = "self.x = x\n        print('x' * 4_000_000)\n        print('y\\n' * 50_000)\n"
    path = hostile(tmp_path, {"self.x = x\n": flood})
    code, report = grade_json(path, *TWO, "--timeout", "30")
    linear = by_id(report)["linear"]
    assert linear["status"] == "passed"
    assert len(linear["output"]) < 10_000 and "more characters not shown" in linear["output"]
    assert code == 0


def test_an_exception_shows_the_users_traceback_not_the_graders(tmp_path):
    path = hostile(
        tmp_path, {"self.grad_b = grad_output.sum(axis=0)": "self.grad_b = grad_output.sum(axis=7)"}
    )
    # Wide enough that the traceback's long temporary path is not folded across lines.
    result = runner.invoke(app, ["grade", str(path), "--only", "linear"], env={"COLUMNS": "400"})
    code, output = result.exit_code, result.output
    assert code == 1
    assert "AxisError" in output
    assert "solution.py" in output
    assert "worker.py" not in output and "drill/grader" not in output


def test_grading_in_a_terminal_shows_progress_then_the_report():
    pexpect = pytest.importorskip("pexpect")
    child = pexpect.spawn(
        sys.executable,
        ["-m", "drill", "grade", str(REFERENCE), "--only", "linear"],
        env={**os.environ, "NO_COLOR": "1"},
        dimensions=(40, 100),
        encoding="utf-8",
        timeout=30,
    )
    child.expect("Grading")
    child.expect(r"Total: 10 / 10 points")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
