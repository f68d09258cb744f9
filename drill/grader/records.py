"""The names of what a driver records about one case: structured keys, not phrases.

A driver (worker.py) records each value under a `Key`; the verdict code (judge.py, checks.py)
looks values up by `Key` too. On the wire a key travels as one JSON string, written and read
only here. Standard library only: the worker imports this before any submission runs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal, get_args

from drill.grader import plainjson

# result: a value compared with the reference's (output, grad_W, a.grad…);
# snapshot: an array argument as it was after a call, to see whether it was modified;
# structure: a return value not shaped as declared, with what was found instead;
# probe: forward's output with one input shifted, for the gradient check.
Role = Literal["result", "snapshot", "structure", "probe"]
ROLES: frozenset[str] = frozenset(get_args(Role))
# The call a recorded error happened in; "run" is anything outside the submission's calls.
Stage = Literal["constructor", "forward", "backward", "probe", "call", "expression", "run"]
# What a recorded value is, as the wire describes it: an array travels beside the JSON.
ValueKind = Literal["array", "number", "bool", "none", "missing", "text", "object"]
VALUE_KINDS: frozenset[str] = frozenset(get_args(ValueKind))


@dataclass(frozen=True)
class Key:
    """What a recorded value is: its role, the name it concerns, and where it comes from."""

    role: Role
    name: str  # the value, the argument, the place in the return value, or the probed target
    stage: str = ""  # snapshot: the call after which it was taken
    probe: int = -1  # probe: its index among the case's probes
    sign: int = 0  # probe: +1 or -1, the direction of the shift

    @classmethod
    def result(cls, name: str) -> Key:
        return cls("result", name)

    @classmethod
    def snapshot(cls, name: str, stage: Stage) -> Key:
        return cls("snapshot", name, stage=stage)

    @classmethod
    def structure(cls, where: str) -> Key:
        return cls("structure", where)

    @classmethod
    def probed(cls, target: str, index: int, sign: int) -> Key:
        return cls("probe", target, probe=index, sign=sign)

    def wire(self) -> str:
        return plainjson.dumps([self.role, self.name, self.stage, self.probe, self.sign])

    @classmethod
    def from_wire(cls, text: str) -> Key | None:
        """The key `wire()` wrote, or None for anything else."""
        return _parse(text)


# The same keys come back for every case of an exercise, and for every round of a watch:
# each distinct text is parsed once. Keys are immutable, so sharing them is safe.
@lru_cache(maxsize=1 << 14)
def _parse(text: str) -> Key | None:
    try:
        role, name, stage, probe, sign = json.loads(text)
    except (ValueError, TypeError, RecursionError):
        return None
    if (
        role not in ROLES
        or not isinstance(name, str)
        or not isinstance(stage, str)
        or type(probe) is not int
        or sign not in (-1, 0, 1)
        or type(sign) is not int
    ):
        return None
    return Key(role, name, stage, probe, sign)
