"""How long `drill grade --watch` takes from a save to the complete verdict.

A copy of solutions/backprop.py is watched with --json; each round saves a changed copy
(a new comment, renamed over the old file as editors do) and times until the round's JSON
line arrives. Targets (medians): 150 ms for --only linear, 400 ms for the seed's five.
Exits 1 when a target is missed.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import BIN, REFERENCE, SEED_FIVE

ROUNDS = 15
TARGETS = {"--only linear": (["linear"], 0.150), "seed five": (SEED_FIVE, 0.400)}


def save(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text)
    os.replace(temporary, path)


def save_to_verdict(exercises: list[str], folder: Path) -> list[float]:
    path = folder / "solution.py"
    path.write_text(REFERENCE.read_text())
    only = [f"--only={name}" for name in exercises]
    env = {**os.environ, "DRILL_HOME": str(folder / "home")}
    process = subprocess.Popen(
        [str(BIN / "drill"), "grade", str(path), "--watch", "--json", *only],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        process.stdout.readline()  # the first round, at start
        times = []
        for number in range(ROUNDS):
            time.sleep(0.2)  # let the previous round's clean-up finish, as between real saves
            start = time.perf_counter()
            save(path, f"{REFERENCE.read_text()}\n# save {number}\n")
            report = json.loads(process.stdout.readline())
            times.append(time.perf_counter() - start)
            if report.get("points") != report.get("max_points"):
                sys.exit(f"the reference did not pass: {report}")
        return times
    finally:
        process.terminate()
        process.wait()


def main() -> int:
    ok = True
    with tempfile.TemporaryDirectory(prefix="drill-bench-watch-") as folder:
        for name, (exercises, target) in TARGETS.items():
            workdir = Path(folder) / name.replace(" ", "-")
            workdir.mkdir()
            median = statistics.median(save_to_verdict(exercises, workdir))
            met = median <= target
            ok &= met
            verdict = "ok" if met else "MISSED"
            print(
                f"save -> verdict, {name:14} median {median * 1000:5.0f} ms over {ROUNDS} saves"
                f"  (target <= {target * 1000:.0f} ms) {verdict}"
            )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
