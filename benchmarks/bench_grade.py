"""How long `drill grade` takes (sandbox on), against a pytest baseline run side by side.

The baseline is a plain pytest file running three NumPy central-difference checks (Linear,
ReLU, softmax cross-entropy), which this script writes itself, run the way a user's own
harness would: in a virtual environment holding only pytest and NumPy, created once under
the user's cache folder and reused (installed from the configured package index, offline
where that index is local). When that environment cannot be made, the dev environment's
pytest runs with every plugin disabled instead. The script prints which.

Both sides run with Python's bytecode cache on, as an installed package has it: the
measured commands run without PYTHONDONTWRITEBYTECODE (which a dev shell may set, making
every run compile drill's modules from source), after one warm-up run of each. The script
prints that too. drill's sandbox still writes no bytecode beside the solution or the
references.

Targets: grading the seed's five exercises of solutions/backprop.py takes at most 1.0x the
baseline's wall time, grading the whole bank at most 1.4x. Runs are interleaved and the
medians compared. Exits 1 when a target is missed.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from common import BIN, REFERENCE, SEED_FIVE

ROUNDS = 9
SEED_TARGET = 1.0
ALL_TARGET = 1.4
BASELINE_VENV = (
    Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "drill-bench" / "pytest-numpy"
)

BASELINE_TEST = """
import numpy as np


def central_difference(f, x, eps=1e-6):
    grad = np.zeros_like(x)
    for i in range(x.size):
        saved = x.flat[i]
        x.flat[i] = saved + eps
        up = f()
        x.flat[i] = saved - eps
        down = f()
        x.flat[i] = saved
        grad.flat[i] = (up - down) / (2 * eps)
    return grad


def test_linear():
    rng = np.random.default_rng(0)
    x, W, b = rng.normal(size=(4, 3)), rng.normal(size=(3, 5)), rng.normal(size=5)
    g = rng.normal(size=(4, 5))
    loss = lambda: float(np.sum((x @ W + b) * g))
    np.testing.assert_allclose(central_difference(loss, W), x.T @ g, rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(central_difference(loss, b), g.sum(axis=0), rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(central_difference(loss, x), g @ W.T, rtol=1e-5, atol=1e-8)


def test_relu():
    rng = np.random.default_rng(1)
    x, g = rng.normal(size=(4, 5)), rng.normal(size=(4, 5))
    loss = lambda: float(np.sum(np.maximum(x, 0) * g))
    np.testing.assert_allclose(central_difference(loss, x), g * (x > 0), rtol=1e-5, atol=1e-8)


def test_softmax_cross_entropy():
    rng = np.random.default_rng(2)
    z, y = rng.normal(size=(4, 3)), np.eye(3)[[0, 2, 1, 1]]

    def loss():
        shifted = z - z.max(axis=1, keepdims=True)
        log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        return float(-np.sum(y * log_p))

    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(central_difference(loss, z), p - y, rtol=1e-5, atol=1e-8)
"""


def wall_time(command: list[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"benchmark command failed: {' '.join(command)}\n{result.stdout}{result.stderr}")
    return elapsed


def baseline_pytest() -> tuple[list[str], dict[str, str], str]:
    """The pytest command of the baseline, its environment, and a line saying which it is."""
    pytest = BASELINE_VENV / "bin" / "pytest"
    if not pytest.exists():
        made = subprocess.run(
            f"{sys.executable} -m venv {BASELINE_VENV} && "
            f"{BASELINE_VENV / 'bin' / 'pip'} install --quiet --disable-pip-version-check "
            "pytest numpy",
            shell=True,
            capture_output=True,
            text=True,
        )
        if made.returncode != 0:
            env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
            return [str(BIN / "pytest")], env, "dev venv, every plugin disabled"
    return (
        [str(pytest)],
        dict(os.environ),
        f"clean venv with only pytest and NumPy ({BASELINE_VENV})",
    )


def with_bytecode_cache(env: dict[str, str]) -> dict[str, str]:
    """`env` with Python's bytecode cache on, as a normal installation runs."""
    return {name: value for name, value in env.items() if name != "PYTHONDONTWRITEBYTECODE"}


def main() -> int:
    pytest, pytest_env, which = baseline_pytest()
    print(f"pytest baseline: {which}")
    print("bytecode cache: on for both sides (PYTHONDONTWRITEBYTECODE unset), warmed once")
    with tempfile.TemporaryDirectory(prefix="drill-bench-") as folder:
        workdir = Path(folder)
        (workdir / "test_baseline.py").write_text(textwrap.dedent(BASELINE_TEST))
        baseline = [*pytest, "-q", "-p", "no:cacheprovider", "test_baseline.py"]
        drill = [str(BIN / "drill"), "grade", str(REFERENCE)]
        seed = [*drill, *(f"--only={name}" for name in SEED_FIVE)]
        # Every grade is recorded: keep the runs out of the user's own progress.
        drill_env = {**os.environ, "DRILL_HOME": str(workdir / "home")}
        commands = {
            "pytest baseline": (baseline, with_bytecode_cache(pytest_env)),
            "drill grade (seed five)": (seed, with_bytecode_cache(drill_env)),
            "drill grade (all)": (drill, with_bytecode_cache(drill_env)),
        }
        for command, env in commands.values():
            wall_time(command, workdir, env)  # warm the file and bytecode caches
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(ROUNDS):
            for name, (command, env) in commands.items():
                times[name].append(wall_time(command, workdir, env))
        sandbox = subprocess.run(
            [*drill, "--only=relu", "--json"], capture_output=True, text=True, env=drill_env
        ).stdout
    print(f"sandbox: {json.loads(sandbox)['sandbox']}")
    medians = {name: statistics.median(values) for name, values in times.items()}
    for name, value in medians.items():
        print(f"{name:26} median {value * 1000:7.0f} ms over {ROUNDS} runs")
    seed_ratio = medians["drill grade (seed five)"] / medians["pytest baseline"]
    full_ratio = medians["drill grade (all)"] / medians["pytest baseline"]
    ok_seed, ok_full = seed_ratio <= SEED_TARGET, full_ratio <= ALL_TARGET
    verdict = {True: "ok", False: "MISSED"}
    print(
        f"seed five / baseline = {seed_ratio:.2f}  (target <= {SEED_TARGET:.2f}) {verdict[ok_seed]}"
    )
    print(
        f"all / baseline       = {full_ratio:.2f}  (target <= {ALL_TARGET:.2f}) {verdict[ok_full]}"
    )
    return 0 if ok_seed and ok_full else 1


if __name__ == "__main__":
    sys.exit(main())
