"""Run every benchmark in this folder (`make bench`); each prints its own figures."""

import subprocess
import sys
from pathlib import Path

here = Path(__file__).resolve().parent
failed = 0
for script in sorted(here.glob("bench_*.py")):
    print(f"== {script.stem}", flush=True)
    failed |= subprocess.call([sys.executable, str(script)]) != 0
sys.exit(1 if failed else 0)
