"""How fast the drill command starts and lists a large bank (run by `make bench`).

Targets: `drill --help` within 1.5× of a bare `python -c "import typer"`, measured side by
side; `drill --help`, `drill list` and `drill show` never import NumPy; `drill list` over a
bank of 2,000 questions in under a second. Exits 1 when any target is missed.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HELP_RATIO_TARGET = 1.5
LIST_SECONDS_TARGET = 1.0
STARTUP_RUNS = 15
LIST_RUNS = 5
BANK_SIZE = 2000

DRILL = str(Path(sys.executable).with_name("drill"))

QUESTION = """\
format_version: 1
id: {id}
title: Generated question number {n}
topic: backprop
difficulty: {difficulty}
time: {time}
companies: [Google, Meta]
kind: concept
prompt: |
  Explain the backward pass of layer {n}: what it receives, what it returns, and the shape
  of every gradient it computes for X (N×D), W (D×M) and b (M).
answer: |
  The layer receives ∂L/∂Y of shape (N×M). It returns ∂L/∂X = ∂L/∂Y · Wᵀ, of shape (N×D),
  and keeps ∂L/∂W = Xᵀ · ∂L/∂Y (D×M) and ∂L/∂b = Σₙ ∂L/∂Y (M) for its update.

  ```python
  def backward(self, dY):
      self.dW = self.X.T @ dY
      self.db = dY.sum(axis=0)
      return dY @ self.W.T
  ```
key_points:
  - ∂L/∂X = ∂L/∂Y · Wᵀ
  - ∂L/∂W = Xᵀ · ∂L/∂Y
  - ∂L/∂b sums ∂L/∂Y over the batch
hints:
  - Write the shape under every term.
  - Which products give a (D×M) result?
"""


def seconds(command: list[str]) -> float:
    """Wall time of one run of `command`, which must succeed."""
    start = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def help_startup() -> bool:
    # Interleaved, so all commands see the same machine load. Typer's Rich help formatter is
    # timed on its own because it is most of the cost of `drill --help`.
    commands = {
        "drill --help": [DRILL, "--help"],
        "python -c 'import typer'": [sys.executable, "-c", "import typer"],
        "python -c 'import typer.rich_utils'": [sys.executable, "-c", "import typer.rich_utils"],
    }
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(STARTUP_RUNS):
        for name, command in commands.items():
            times[name].append(seconds(command))
    medians = {name: statistics.median(runs) for name, runs in times.items()}
    for name, median in medians.items():
        print(f"{name:<36} median {median * 1000:6.1f} ms over {STARTUP_RUNS} runs")
    ratio = medians["drill --help"] / medians["python -c 'import typer'"]
    ok = ratio <= HELP_RATIO_TARGET
    print(f"drill --help / import typer = {ratio:.2f}× (target ≤ {HELP_RATIO_TARGET}×): ", end="")
    print("ok" if ok else "MISSED")
    return ok


def imported_modules(args: list[str]) -> set[str]:
    """Every module the command imports, from Python's -X importtime report."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "drill", *args],
        capture_output=True,
        text=True,
        check=True,
    )
    return {
        line.rsplit("|", 1)[1].strip()
        for line in done.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }


def numpy_free(bank: Path) -> bool:
    ok = True
    for args in (["--help"], ["list", "--bank", str(bank)], ["show", "q0001", "--bank", str(bank)]):
        modules = imported_modules(args)
        heavy = sorted(name for name in modules if name.split(".")[0] == "numpy")
        verdict = "no numpy" if not heavy else f"IMPORTS {heavy[0]} and {len(heavy) - 1} more"
        print(f"drill {args[0]:<7} {len(modules):4d} modules imported, {verdict}")
        ok &= not heavy
    return ok


def write_bank(root: Path) -> None:
    topic = root / "backprop"
    topic.mkdir(parents=True)
    difficulties = ("easy", "medium", "hard")
    for n in range(1, BANK_SIZE + 1):
        question_id = f"q{n:04d}"
        text = QUESTION.format(id=question_id, n=n, difficulty=difficulties[n % 3], time=1 + n % 15)
        (topic / f"{question_id}.yaml").write_text(text, encoding="utf-8")


def large_listing(bank: Path) -> bool:
    subprocess.run([DRILL, "check", str(bank)], stdout=subprocess.DEVNULL, check=True)
    median = statistics.median(
        seconds([DRILL, "list", "--bank", str(bank)]) for _ in range(LIST_RUNS)
    )
    ok = median < LIST_SECONDS_TARGET
    print(
        f"drill list, {BANK_SIZE} questions: median {median:.2f} s over {LIST_RUNS} runs "
        f"(target < {LIST_SECONDS_TARGET:.0f} s): {'ok' if ok else 'MISSED'}"
    )
    return ok


def main() -> int:
    results = [help_startup()]
    with tempfile.TemporaryDirectory() as folder:
        bank = Path(folder) / "bank"
        write_bank(bank)
        results += [numpy_free(bank), large_listing(bank)]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
