"""How long `drill grade` takes, against baselines run side by side on this machine.

Targets:
- grading the seed's five exercises of solutions/backprop.py takes at most 0.6x the wall time
  of a plain pytest file running three NumPy central-difference checks (Linear, ReLU,
  softmax cross-entropy), which this script writes itself;
- grading the whole bank takes at most 2x grading the seed's five.
Runs are interleaved and the medians compared. Exits 1 when a target is missed.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
REFERENCE = ROOT / "solutions" / "backprop.py"
SEED_FIVE = [
    "linear",
    "relu",
    "softmax_cross_entropy_backward",
    "numerical_gradient",
    "gradient_check",
]
ROUNDS = 9

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


def wall_time(command: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"benchmark command failed: {' '.join(command)}\n{result.stdout}{result.stderr}")
    return elapsed


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="drill-bench-") as folder:
        workdir = Path(folder)
        (workdir / "test_baseline.py").write_text(textwrap.dedent(BASELINE_TEST))
        pytest = [str(BIN / "pytest"), "-q", "-p", "no:cacheprovider", "test_baseline.py"]
        drill = [str(BIN / "drill"), "grade", str(REFERENCE)]
        seed = [*drill, *(f"--only={name}" for name in SEED_FIVE)]
        commands = {
            "pytest baseline": pytest,
            "drill grade (seed five)": seed,
            "drill grade (all)": drill,
        }
        for command in commands.values():
            wall_time(command, workdir)  # warm the file cache
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(ROUNDS):
            for name, command in commands.items():
                times[name].append(wall_time(command, workdir))
    medians = {name: statistics.median(values) for name, values in times.items()}
    for name, value in medians.items():
        print(f"{name:26} median {value * 1000:7.0f} ms over {ROUNDS} runs")
    seed_ratio = medians["drill grade (seed five)"] / medians["pytest baseline"]
    full_ratio = medians["drill grade (all)"] / medians["drill grade (seed five)"]
    ok_seed, ok_full = seed_ratio <= 0.6, full_ratio <= 2.0
    verdict = {True: "ok", False: "MISSED"}
    print(f"seed five / pytest baseline = {seed_ratio:.2f}  (target <= 0.60) {verdict[ok_seed]}")
    print(f"all / seed five             = {full_ratio:.2f}  (target <= 2.00) {verdict[ok_full]}")
    return 0 if ok_seed and ok_full else 1


if __name__ == "__main__":
    sys.exit(main())
