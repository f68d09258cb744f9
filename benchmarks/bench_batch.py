"""How fast and how lean `drill grade DIR` grades a class (run by `make bench`).

A class of 200 files is generated: correct files (the reference and two differently written
variants), every known mistake of the seed's five exercises, partial files with stubs left,
and hostile ones (a hang, a crash, a giant allocation, an output flood, forged results on
inherited descriptors, a syntax error, an exception at import). It is graded with
`--jobs 2 --timeout 2` on the seed's five exercises, while the process tree of drill is
sampled for its total resident memory.

Targets: at least 5 submissions per second; at most 1 GiB of resident memory for drill and
all its children together at any moment. Exits 1 when a target is missed.

A submission that fills memory slowly may use up to --memory (2048 MiB by default) per job,
so the memory target is for a class like this one, whose blow-up asks for too much at once.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from common import REFERENCE, ROOT, SEED_FIVE

sys.path.insert(0, str(ROOT))

from drill.bank import load_bank
from drill.grader.grade import mistaken_source

DRILL = str(Path(sys.executable).with_name("drill"))
VARIANTS = sorted((ROOT / "tests" / "fixtures" / "variants").glob("*.py"))
CLASS_SIZE = 200
JOBS = 2
TIMEOUT = 2.0  # seconds per exercise: what each hang costs
RATE_TARGET = 5.0  # submissions per second
MEMORY_TARGET = 1 << 30  # bytes of resident memory, drill and its children together

HOSTILE = {
    "hang": "class ReLU:\n    def forward(self, x):\n        while True:\n            pass\n",
    "crash": "import os\ndef softmax_cross_entropy_backward(z, y):\n    os._exit(9)\n",
    "giant": "import numpy as np\ndef gradient_check(a, n, rtol=1e-4):\n"
    "    return np.ones((1 << 20, 1 << 20))\n",
    "flood": "def gradient_check(a, n, rtol=1e-4):\n    print('\\x1b[2J' * 10**6)\n",
    "forged": "import os\ndef numerical_gradient(f, x, eps=1e-5):\n"
    "    for fd in range(3, 64):\n        try:\n"
    '            os.write(fd, b\'{"event": "done", "exercise": "linear"}\\n\')\n'
    "        except OSError:\n            pass\n    return x\n",
}
PARTIAL = (
    "def numerical_gradient(f, x, eps=1e-5):\n    raise NotImplementedError\n\n"
    "def gradient_check(analytical, numerical, rtol=1e-4):\n    raise NotImplementedError\n"
)


def generate_class(folder: Path) -> None:
    """CLASS_SIZE files, cycling through the kinds so that each appears many times."""
    bank = load_bank()
    reference = REFERENCE.read_text()
    kinds: list[str] = [reference, *(path.read_text() for path in VARIANTS)]
    for name in SEED_FIVE:
        kinds += [mistaken_source(REFERENCE, m) for m in bank.exercises[name].mistakes]
    kinds.append(reference + "\n\n" + PARTIAL)
    kinds += [reference + "\n\n" + tail for tail in HOSTILE.values()]
    kinds += ["def linear(:\n", "raise ImportError('no grading today')\n"]
    for number in range(CLASS_SIZE):
        (folder / f"student_{number:03d}.py").write_text(kinds[number % len(kinds)])


def tree_rss(root: int) -> int:
    """Resident bytes of `root` and all its descendants, read from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        stack.extend(children.get(pid, []))
        try:
            with open(f"/proc/{pid}/statm") as handle:
                total += int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except OSError:
            pass
    return total


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="drill-bench-class-") as name:
        folder = Path(name)
        generate_class(folder)
        command = [DRILL, "grade", str(folder), "--jobs", str(JOBS), "--json"]
        command += ["--timeout", f"{TIMEOUT:g}"]
        command += [f"--only={exercise}" for exercise in SEED_FIVE]
        peak = 0
        load = os.getloadavg()[0]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        stopped = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not stopped.wait(0.02):
                peak = max(peak, tree_rss(process.pid))

        sampler = threading.Thread(target=sample)
        sampler.start()
        stdout, stderr = process.communicate()
        elapsed = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        stopped.set()
        sampler.join()
    lines = [json.loads(line) for line in stdout.splitlines()]
    if process.returncode not in (0, 2) or len(lines) != CLASS_SIZE + 1:
        print(f"drill grade failed ({process.returncode}): {stderr.decode()[-2000:]}")
        return 1
    summary = lines[-1]["summary"]
    rate = CLASS_SIZE / elapsed
    print(
        f"{CLASS_SIZE} files, --jobs {JOBS}, {os.cpu_count()} cores: {elapsed:.1f} s, "
        f"{rate:.1f} submissions/s (target >= {RATE_TARGET:g})"
    )
    print(
        f"graded {summary['graded']}, not graded {len(summary['ungradeable'])}, timed out "
        f"{len(summary['timed_out'])}, crashed {len(summary['crashed'])}"
    )
    # CPU time hardly depends on what else the machine runs, so it estimates the rate on idle
    # cores. Processes killed inside a sandbox may escape the count, so each timeout is
    # counted as TIMEOUT seconds of one job's time instead.
    cpu = sum(getattr(after, f) - getattr(before, f) for f in ("ru_utime", "ru_stime"))
    busy = (cpu + len(summary["timed_out"]) * TIMEOUT) / JOBS
    print(
        f"CPU time of drill and its children: {cpu / CLASS_SIZE * 1000:.0f} ms per submission; "
        f"on {JOBS} idle cores about {CLASS_SIZE / busy:.1f} submissions/s "
        f"(load average at the start: {load:.1f})"
    )
    print(f"peak resident memory, drill and children: {peak / 2**20:.0f} MiB (target <= 1024)")
    ok = rate >= RATE_TARGET and peak <= MEMORY_TARGET
    print("ok" if ok else "MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
