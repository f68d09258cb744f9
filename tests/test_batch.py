"""Grading a class: a generated class in a temporary folder, graded through the command line.

The class mixes a correct file, known mistakes (one of them made twice), a partial file, a
hang, a crash, an attack and two files that cannot be graded at all. Every row of the
gradebook and every JSON line is checked against `drill grade` run on that file alone.
"""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import sys
import textwrap
import threading
from contextlib import contextmanager
from pathlib import Path

import pexpect
import pytest
from processes import namespace_pids, processes_mentioning, wait_until
from seed import SEED_FIVE
from typer.testing import CliRunner

import drill.grader.batch
import drill.grader.grade
import drill.grader.gradebook
from drill.bank import load_bank
from drill.cli import app
from drill.grader.batch import ClassRun, Submission, summarise
from drill.grader.grade import mistaken_source, prepare
from drill.grader.results import CheckResult, ExerciseResult, GradeReport
from drill.progress.store import open_store

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "solutions" / "backprop.py"
ONLY = [f"--only={name}" for name in SEED_FIVE]
TIMEOUT = ["--timeout", "2"]  # the hang costs 2 s; a correct exercise takes a few ms

runner = CliRunner()


@pytest.fixture(scope="module")
def bank():
    return load_bank()


def known_mistake(bank, exercise_id: str, mistake_id: str) -> str:
    exercise = bank.exercises[exercise_id]
    mistake = next(m for m in exercise.mistakes if m.id == mistake_id)
    return mistaken_source(REFERENCE, mistake)


def with_tail(tail: str) -> str:
    """The reference with some definitions replaced by later ones."""
    return REFERENCE.read_text() + "\n\n" + textwrap.dedent(tail)


HANG = """
class ReLU:
    def forward(self, x):
        while True:
            pass
"""
CRASH = """
import os

def softmax_cross_entropy_backward(logits, y_true):
    os._exit(7)
"""
# Tries to rewrite every other submission, forge results on inherited descriptors, flood the
# terminal with escape sequences, then kills its own process group.
ATTACK = """
import os, signal
from pathlib import Path

def numerical_gradient(f, x, eps=1e-5):
    for other in Path(__file__).parent.glob("*.py"):
        try:
            other.write_text("raise SystemExit")
        except OSError:
            pass
    for fd in range(3, 64):
        try:
            os.write(fd, b'{"event": "done", "exercise": "linear", "result": {}}\\n')
        except OSError:
            pass
    print("\\x1b]0;owned\\x07\\x1b[2J passed" * 1000)
    os.killpg(os.getpgid(0), signal.SIGKILL)
"""
PARTIAL = """
def numerical_gradient(f, x, eps=1e-5):
    raise NotImplementedError

def gradient_check(analytical, numerical, rtol=1e-4):
    raise NotImplementedError
"""

HOSTILE = {"f_hang.py", "g_crash.py", "h_attack.py"}
UNGRADEABLE = {"i_syntax.py", "j_import_error.py"}


@pytest.fixture(scope="module")
def class_dir(tmp_path_factory, bank) -> Path:
    folder = tmp_path_factory.mktemp("class")
    sources = {
        "a_correct.py": REFERENCE.read_text(),
        "b_bias_mean.py": known_mistake(bank, "linear", "bias-mean"),
        "b_bias_mean_again.py": known_mistake(bank, "linear", "bias-mean"),
        "c_relu_at_zero.py": known_mistake(bank, "relu", "gradient-at-zero"),
        "d_sign_flipped.py": known_mistake(
            bank, "softmax_cross_entropy_backward", "target-minus-prediction"
        ),
        "e_partial.py": with_tail(PARTIAL),
        "f_hang.py": with_tail(HANG),
        "g_crash.py": with_tail(CRASH),
        "h_attack.py": with_tail(ATTACK),
        "i_syntax.py": "def linear(:\n",
        "j_import_error.py": "import numpy\nraise RuntimeError('no grading today')\n",
    }
    for name, source in sources.items():
        (folder / name).write_text(source)
    (folder / "notes.txt").write_text("not a submission")
    return folder


def files_of(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.py"))


def snapshot(folder: Path) -> dict[str, str]:
    return {path.name: path.read_text() for path in files_of(folder)}


def grade_class(*args: str) -> tuple[int, list[dict], str]:
    """Exit code, the JSON lines and the stderr of one `drill grade ... --json`."""
    result = runner.invoke(app, ["grade", *args, *ONLY, *TIMEOUT, "--json"])
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    return result.exit_code, lines, result.stderr


def read_csv(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(), newline="")))


@pytest.fixture(scope="module")
def whole(class_dir, tmp_path_factory):
    """The whole class graded from its folder with two jobs, and its gradebook."""
    before = snapshot(class_dir)
    book = tmp_path_factory.mktemp("books") / "whole.csv"
    code, lines, stderr = grade_class(str(class_dir), "--jobs", "2", "--gradebook", str(book))
    return {"code": code, "lines": lines, "stderr": stderr, "book": book, "before": before}


@pytest.fixture(scope="module")
def single(class_dir):
    """Each file graded alone by `drill grade FILE --json`, before anything else touches it."""
    reports = {}
    for path in files_of(class_dir):
        result = runner.invoke(app, ["grade", str(path), *ONLY, *TIMEOUT, "--json"])
        reports[path.name] = (result.exit_code, json.loads(result.stdout))
    return reports


def test_every_json_line_is_the_single_file_report_plus_its_file(whole, single, class_dir):
    *reports, last = whole["lines"]
    assert [Path(r["file"]).name for r in reports] == [p.name for p in files_of(class_dir)]
    for report in reports:
        name = Path(report.pop("file")).name
        code, alone = single[name]
        assert report == alone, name
        assert (code == 2) == (name in UNGRADEABLE)
    assert set(last) == {"summary"}


def test_gradebook_rows_and_totals_equal_the_single_file_reports(whole, single, class_dir):
    header, *rows = read_csv(whole["book"])
    columns = ["file", "points", "max_points"]
    for name in SEED_FIVE:
        columns += [f"{name} points", f"{name} status"]
    assert header == columns
    assert [Path(row[0]).name for row in rows] == [p.name for p in files_of(class_dir)]
    for row in rows:
        _, alone = single[Path(row[0]).name]
        if "error" in alone:
            assert row[1:] == ["0", "40", *["0", "ungradeable"] * len(SEED_FIVE)]
            continue
        assert float(row[1]) == pytest.approx(alone["points"])
        assert int(row[2]) == alone["max_points"] == 40
        cells = dict(zip(header, row))
        for exercise in alone["exercises"]:
            assert float(cells[f"{exercise['id']} points"]) == pytest.approx(exercise["points"])
            assert cells[f"{exercise['id']} status"] == exercise["status"]
        assert sum(float(cells[f"{n} points"]) for n in SEED_FIVE) == pytest.approx(float(row[1]))


def test_the_summary_counts_what_the_class_did(whole, single):
    summary = whole["lines"][-1]["summary"]
    graded = {name: report for name, (_, report) in single.items() if "error" not in report}
    assert set(summary) == {
        "submissions",
        "graded",
        "mean_points",
        "max_points",
        "exercises",
        "timed_out",
        "crashed",
        "ungradeable",
        "slowest_exercise",
        "interrupted",
    }
    assert summary["submissions"] == 11
    assert summary["graded"] == len(graded) == 9
    mean = sum(report["points"] for report in graded.values()) / 9
    assert summary["mean_points"] == pytest.approx(mean, abs=0.01)
    assert (summary["max_points"], summary["interrupted"]) == (40, False)
    by_id = {e["id"]: e for e in summary["exercises"]}
    assert list(by_id) == SEED_FIVE
    for exercise_id, exercise in by_id.items():
        results = [
            e for report in graded.values() for e in report["exercises"] if e["id"] == exercise_id
        ]
        passed = sum(e["status"] == "passed" for e in results)
        assert (exercise["passed"], exercise["graded"]) == (passed, 9)
        assert exercise["pass_rate"] == pytest.approx(passed / 9, abs=1e-4)
        mean = sum(e["points"] for e in results) / 9
        assert exercise["mean_points"] == pytest.approx(mean, abs=0.01)
    # Files built with a known mistake are counted under that mistake's message.
    linear = {m["message"]: m["submissions"] for m in by_id["linear"]["mistakes"]}
    assert linear == {"grad_b is the batch mean; the bias gradient sums over the batch": 2}
    relu = by_id["relu"]["mistakes"]
    assert relu == [
        {
            "message": "the gradient at x = 0 must be 0; use the mask x > 0, not x >= 0",
            "submissions": 1,
        }
    ]
    softmax = by_id["softmax_cross_entropy_backward"]["mistakes"]
    assert [m["submissions"] for m in softmax] == [1]
    assert "sign is flipped" in softmax[0]["message"]
    assert [Path(f).name for f in summary["timed_out"]] == ["f_hang.py"]
    assert {Path(f).name for f in summary["crashed"]} == {"g_crash.py", "h_attack.py"}
    assert {Path(u["file"]).name for u in summary["ungradeable"]} == UNGRADEABLE
    assert summary["slowest_exercise"]["id"] == "relu"  # where the hang spent its 2 s
    assert Path(summary["slowest_exercise"]["file"]).name == "f_hang.py"


def test_an_ungradeable_file_gives_exit_2_and_is_named(whole, class_dir):
    assert whole["code"] == 2
    names = ["a_correct.py", "f_hang.py", "i_syntax.py", "j_import_error.py"]
    files = [str(class_dir / name) for name in names]
    result = runner.invoke(app, ["grade", *files, *ONLY, *TIMEOUT], env={"COLUMNS": "300"})
    assert result.exit_code == 2
    lines = result.stdout.splitlines()
    named = [line for line in lines if line.startswith("cannot grade ")]
    assert named[0] == (
        f"cannot grade {files[2]}: i_syntax.py has a syntax error on line 1: invalid syntax"
    )
    assert named[1] == (
        f"cannot grade {files[3]}: j_import_error.py raised an exception while being imported:"
    )
    assert "RuntimeError: no grading today" in result.stdout
    timed_out = [line for line in lines if line.startswith("Timed out: ")]
    assert timed_out == [f"Timed out: {class_dir / 'f_hang.py'}"]


def test_a_graded_class_exits_0_whatever_the_scores(class_dir):
    files = [str(class_dir / "b_bias_mean.py"), str(class_dir / "e_partial.py")]
    code, lines, stderr = grade_class(*files)
    assert code == 0
    reports = lines[:-1]
    assert [Path(r["file"]).name for r in reports] == ["b_bias_mean.py", "e_partial.py"]
    assert all(r["points"] < r["max_points"] and "error" not in r for r in reports)
    assert stderr == ""  # no progress bar without a terminal


def test_the_attack_costs_its_own_submission_only(whole, class_dir, tmp_path):
    assert snapshot(class_dir) == whole["before"]
    calm = [p for p in files_of(class_dir) if p.name not in HOSTILE]
    book = tmp_path / "calm.csv"
    code, _, _ = grade_class(*map(str, calm), "--gradebook", str(book))
    assert code == 2
    rows = {row[0]: row for row in read_csv(whole["book"])[1:]}
    calm_rows = read_csv(book)[1:]
    assert len(calm_rows) == len(calm)
    for row in calm_rows:
        assert rows[row[0]] == row


def test_the_order_is_the_same_with_one_job_and_with_two(whole, class_dir, tmp_path):
    book = tmp_path / "one-job.csv"
    grade_class(str(class_dir), "--jobs", "1", "--gradebook", str(book))
    assert book.read_text() == whole["book"].read_text()


def test_merging_the_gradebooks_of_two_halves_gives_the_whole(whole, class_dir, tmp_path):
    files = [str(p) for p in files_of(class_dir)]
    halves = [tmp_path / "first.csv", tmp_path / "second.csv"]
    for part, book in zip((files[:5], files[5:]), halves):
        grade_class(*part, "--gradebook", str(book))
    merged = tmp_path / "all.csv"
    result = runner.invoke(app, ["gradebook", "merge", *map(str, halves), "-o", str(merged)])
    assert result.exit_code == 0, result.output
    assert merged.read_text() == whole["book"].read_text()


# --- merge: gradebooks that do not fit together ---------------------------------------------


def write_book(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def merge(*args: str):
    return runner.invoke(app, ["gradebook", "merge", *args])


def test_merge_refuses_gradebooks_of_other_exercises(tmp_path):
    a = write_book(tmp_path / "a.csv", "file,points,max_points,relu points,relu status\n")
    b = write_book(tmp_path / "b.csv", "file,points,max_points,linear points,linear status\n")
    result = merge(str(a), str(b), "-o", str(tmp_path / "all.csv"))
    assert result.exit_code == 2
    assert "different columns" in result.stderr
    assert not (tmp_path / "all.csv").exists()


def test_merge_refuses_a_file_graded_in_two_shards(tmp_path):
    text = "file,points,max_points,relu points,relu status\nx.py,5,5,5,passed\n"
    a, b = write_book(tmp_path / "a.csv", text), write_book(tmp_path / "b.csv", text)
    result = merge(str(a), str(b), "-o", str(tmp_path / "all.csv"))
    assert result.exit_code == 2
    assert "x.py is graded in both" in result.stderr


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name,score\nx.py,3\n", "not a drill gradebook"),
        ("file,points,max_points,relu points,relu status\nx.py,5,5\n", "line 2: 3 cells"),
        ("file,points,max_points,relu points,relu status\nx.py,five,5,5,passed\n", "line 2"),
        ("", "is empty"),
    ],
)
def test_merge_names_what_is_wrong_with_a_gradebook(tmp_path, text, message):
    book = write_book(tmp_path / "odd.csv", text)
    result = merge(str(book), "-o", str(tmp_path / "all.csv"))
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_merge_reads_a_gradebook_a_spreadsheet_saved_with_a_byte_order_mark(tmp_path):
    header = "file,points,max_points,relu points,relu status\n"
    plain = write_book(tmp_path / "a.csv", header + "x.py,5,5,5,passed\n")
    marked = tmp_path / "b.csv"
    marked.write_text("\ufeff" + header + "y.py,0,5,0,failed\n", encoding="utf-8")
    result = merge(str(plain), str(marked), "-o", str(tmp_path / "all.csv"))
    assert result.exit_code == 0, result.output
    assert (tmp_path / "all.csv").read_text() == (header + "x.py,5,5,5,passed\ny.py,0,5,0,failed\n")


def test_merge_of_a_missing_file_is_one_clear_message(tmp_path):
    result = merge(str(tmp_path / "nope.csv"), "-o", str(tmp_path / "all.csv"))
    assert result.exit_code == 2
    assert "cannot read" in result.stderr


# --- the command line around a class ---------------------------------------------------------


def test_a_folder_without_submissions_is_refused(tmp_path):
    result = runner.invoke(app, ["grade", str(tmp_path), *ONLY])
    assert result.exit_code == 2
    assert "this one holds no *.py file" in result.stderr


def test_with_json_a_class_level_error_is_one_json_object(tmp_path):
    result = runner.invoke(app, ["grade", str(tmp_path), *ONLY, "--json"])
    assert result.exit_code == 2
    assert json.loads(result.stdout) == {
        "error": f"{tmp_path} is a folder; give the path of your solution file "
        "(a folder is graded as a class, but this one holds no *.py file)"
    }


def test_a_gradebook_that_cannot_be_written_is_refused_before_grading(class_dir, tmp_path):
    book = tmp_path / "no-such-folder" / "grades.csv"
    result = runner.invoke(
        app, ["grade", str(class_dir / "a_correct.py"), "--gradebook", str(book)]
    )
    assert result.exit_code == 2
    assert "cannot write the gradebook" in result.stderr
    assert "Submissions" not in result.stdout


def test_a_gradebook_that_fails_to_write_after_grading_is_a_json_error_too(
    class_dir, tmp_path, monkeypatch
):
    def disk_full(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(drill.grader.gradebook, "write_gradebook", disk_full)
    book = tmp_path / "grades.csv"
    solution = str(class_dir / "a_correct.py")
    result = runner.invoke(
        app, ["grade", solution, "--only=linear", "--gradebook", str(book), "--json"]
    )
    assert result.exit_code == 2
    *graded, summary, error = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["file"] for line in graded] == [solution]
    assert "summary" in summary
    assert error == {"error": f"cannot write the gradebook {book}: No space left on device"}


def test_a_class_is_not_recorded_in_the_graders_own_progress(class_dir):
    code, _, _ = grade_class(str(class_dir / "a_correct.py"), str(class_dir / "b_bias_mean.py"))
    assert code == 0
    with open_store() as store:
        assert store.grades() == []


def test_a_file_name_that_is_not_utf8_is_escaped_in_json_and_the_gradebook(tmp_path):
    folder = tmp_path / "class"
    folder.mkdir()
    odd = os.fsdecode(bytes(folder) + b"/caf\xe9.py")
    Path(odd).write_text(REFERENCE.read_text())
    book = tmp_path / "grades.csv"
    code, lines, _ = grade_class(str(folder), "--gradebook", str(book))
    assert code == 0
    assert lines[0]["file"] == odd  # JSON escapes the name's lone surrogate, losing nothing
    assert read_csv(book)[1][0] == f"{folder}/caf\\xe9.py"


def test_a_missing_file_among_others_is_named_not_fatal(class_dir, tmp_path):
    code, lines, _ = grade_class(str(class_dir / "a_correct.py"), str(tmp_path / "gone.py"))
    assert code == 2
    assert lines[0]["points"] == 40
    assert lines[1]["file"] == str(tmp_path / "gone.py")
    assert "no such file" in lines[1]["error"]
    assert [u["file"] for u in lines[-1]["summary"]["ungradeable"]] == [str(tmp_path / "gone.py")]


def test_a_file_that_trips_drill_up_costs_that_file_only(class_dir, monkeypatch):
    real = drill.grader.batch.grade_prepared

    def tripping(session, prepared):
        if session.solution.name == "b_bias_mean.py":
            raise RuntimeError("a bug in drill")
        return real(session, prepared)

    monkeypatch.setattr(drill.grader.batch, "grade_prepared", tripping)
    files = [str(class_dir / name) for name in ("a_correct.py", "b_bias_mean.py")]
    code, lines, _ = grade_class(*files, "--jobs", "2")
    assert code == 2
    assert lines[0]["points"] == 40
    assert (
        lines[1]["error"]
        == f"cannot grade {files[1]}: drill's own error (RuntimeError: a bug in drill)"
    )
    assert [u["file"] for u in lines[-1]["summary"]["ungradeable"]] == [files[1]]


def test_the_exercises_are_prepared_once_for_the_whole_class(class_dir, monkeypatch):
    prepared: list[str] = []
    real = drill.grader.grade.prepare

    def counting(bank, exercise):
        prepared.append(exercise.id)
        return real(bank, exercise)

    monkeypatch.setattr(drill.grader.grade, "prepare", counting)
    files = [str(class_dir / name) for name in ("a_correct.py", "c_relu_at_zero.py")]
    result = runner.invoke(app, ["grade", *files, "--only=relu", "--only=linear", "--json"])
    assert result.exit_code == 0
    assert sorted(prepared) == ["linear", "relu"]


@pytest.mark.parametrize(("option", "strict"), [([], True), (["--no-strict"], False)])
def test_a_class_is_graded_strictly_unless_told_otherwise(class_dir, monkeypatch, option, strict):
    asked: list[bool] = []
    real = drill.grader.batch.open_session

    def recording(path, timeout, memory_mb, strict, lanes):
        asked.append(strict)
        return real(path, timeout, memory_mb, strict, lanes=lanes)

    monkeypatch.setattr(drill.grader.batch, "open_session", recording)
    files = [str(class_dir / name) for name in ("a_correct.py", "c_relu_at_zero.py")]
    result = runner.invoke(app, ["grade", *files, "--only=relu", *option])
    assert result.exit_code == 0
    assert asked == [strict, strict]


# --- the summary as plain data ----------------------------------------------------------------


def result(exercise_id: str, status: str, points: float, seconds: float, *mistakes: str):
    checks = [CheckResult(name=f"c{i}", status="failed", mistake=m) for i, m in enumerate(mistakes)]
    out = ExerciseResult(exercise_id, exercise_id, status, "", points, 5, checks)
    out.seconds = seconds
    out.crashed = status == "error" and not mistakes
    return out


def test_summary_counts_each_mistake_once_per_submission_most_frequent_first(bank):
    prepared = [prepare(bank, bank.exercises[name]) for name in ("relu",)]
    run = ClassRun(
        [
            Submission("a.py", GradeReport("a.py", [result("relu", "failed", 2, 0.1, "x", "x")])),
            Submission("b.py", GradeReport("b.py", [result("relu", "failed", 1, 0.3, "y", "x")])),
            Submission("c.py", GradeReport("c.py", [result("relu", "failed", 0, 0.2, "y")])),
            Submission("d.py", GradeReport("d.py", [result("relu", "error", 0, 0.9)])),
            Submission("e.py", GradeReport("e.py", [result("relu", "passed", 5, 0.1)])),
            Submission("f.py", error="syntax error"),
        ]
    )
    summary = summarise(run, prepared)
    (relu,) = summary.exercises
    assert [(m.message, m.submissions) for m in relu.mistakes] == [("x", 2), ("y", 2)]
    assert (relu.passed, relu.graded, relu.mean_points) == (1, 5, 1.6)
    assert summary.crashed == ["d.py"]
    assert summary.timed_out == []
    assert [s.file for s in summary.ungradeable] == ["f.py"]
    assert summary.slowest is not None
    assert (summary.slowest.file, summary.slowest.max_seconds) == ("d.py", 0.9)
    assert summary.slowest.mean_seconds == pytest.approx(0.32)


# --- at a terminal: the progress bar, and Ctrl-C ----------------------------------------------


def spawn_drill(*args: str, cwd: Path) -> pexpect.spawn:
    env = dict(os.environ, COLUMNS="100", LINES="40", TERM="xterm")
    return pexpect.spawn(
        sys.executable,
        ["-m", "drill", *args],
        cwd=str(cwd),
        env=env,
        encoding="utf-8",
        timeout=60,
        dimensions=(40, 100),
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def test_a_terminal_sees_a_progress_bar_and_ctrl_c_keeps_the_results_so_far(tmp_path):
    (tmp_path / "a_correct.py").write_text(REFERENCE.read_text())
    (tmp_path / "b_hang.py").write_text(with_tail(HANG))
    (tmp_path / "c_correct.py").write_text(REFERENCE.read_text())
    book = tmp_path / "grades.csv"
    child = spawn_drill(
        "grade",
        str(tmp_path),
        "--only=relu",
        "--jobs=1",
        "--timeout=600",
        f"--gradebook={book}",
        cwd=tmp_path,
    )
    child.expect(r"Grading.*1/3.*0 with failures")  # a_correct is done; b_hang hangs
    child.sendintr()
    child.expect("Submissions")
    child.expect(r"a_correct\.py")
    child.expect("Interrupted")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130
    assert "c_correct.py" not in child.before
    rows = read_csv(book)[1:]  # the gradebook keeps the files finished before Ctrl-C
    assert [Path(row[0]).name for row in rows] == ["a_correct.py"]


@contextmanager
def grading_a_hang(tmp_path: Path, bank):
    """ReLU (which hangs), then Linear, graded by a thread on one lane, as a class's files are.

    Yields the file, the session, the thread and the list its report goes to, once ReLU's
    child is running; the session is closed on the way out.
    """
    from drill.grader.grade import grade_prepared
    from drill.grader.runner import open_session

    path = tmp_path / "hang.py"
    path.write_text(with_tail(HANG))
    prepared = [prepare(bank, bank.exercises[name]) for name in ("relu", "linear")]
    session = open_session(path, timeout=600, memory_mb=512, lanes=1)
    reports: list = []
    grading = threading.Thread(target=lambda: reports.append(grade_prepared(session, prepared)))
    grading.start()
    try:
        assert wait_until(lambda: session.imported or not grading.is_alive())
        assert grading.is_alive()
        yield path, session, grading, reports
    finally:
        session.close()


def test_interrupting_a_session_from_another_thread_ends_its_run_at_once(tmp_path, bank):
    """What Ctrl-C does to each file being graded: the grading thread gets the run back as
    stopped, starts no other, and no worker is left."""
    with grading_a_hang(tmp_path, bank) as (path, session, grading, reports):
        session.interrupt()
        grading.join(timeout=60)
        assert not grading.is_alive()
    [report] = reports
    assert [result.id for result in report.exercises] == ["relu"]
    assert report.exercises[0].crashed
    assert "grading was stopped" in report.exercises[0].message
    # The worker's own processes die with it, moments after close() returns.
    assert wait_until(lambda: not processes_mentioning(str(path)), limit=30)


def test_after_its_supervisor_dies_the_next_exercise_runs_in_a_fresh_worker(tmp_path, bank):
    """ReLU hangs and its supervisor is killed (as a submission could, on a kernel without
    Landlock's signal scoping): Linear then runs in a new worker, whose supervisor clears
    what the dead one left in the scratch folder."""
    with grading_a_hang(tmp_path, bank) as (path, _session, grading, reports):
        supervisors = [
            pid for pid in processes_mentioning(str(path)) if namespace_pids(pid)[1:] == ["1"]
        ]
        if not supervisors:
            pytest.skip("no PID namespace here: the supervisor is the worker itself")
        os.kill(supervisors[0], signal.SIGKILL)
        grading.join(timeout=120)
        assert not grading.is_alive()
    [report] = reports
    relu, linear = report.exercises
    assert relu.crashed and "grading process died" in relu.message
    assert linear.status == "passed"
