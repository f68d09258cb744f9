"""What the benchmarks share: where things are, and the seed's five exercises."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent  # the dev environment's scripts: drill, pytest
REFERENCE = ROOT / "solutions" / "backprop.py"
# The exercises of the original question sheet, the first targets of the speed figures.
SEED_FIVE = [
    "linear",
    "relu",
    "softmax_cross_entropy_backward",
    "numerical_gradient",
    "gradient_check",
]
