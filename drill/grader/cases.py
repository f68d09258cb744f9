"""Test cases declared in an exercise's `check:` block, and the arrays they are made of.

An array is declared by shape and fill; any number in a declaration may instead name a
variable of the case (`shape: [N, D]`, `scale: logit_scale`). Each case is generated from its
own seeded random stream, so a grade is reproducible.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from drill.text import excerpt

# Sizes a test case may ask for: far beyond what a readable case needs, far below any limit.
MAX_DIMENSION = 10_000
FILLS = ("normal", "uniform", "integers", "onehot", "simplex", "softmax", "literal")
ARRAY_FIELDS = {"shape", "fill", "scale", "shift", "low", "high", "zeros", "value"}
CASE_FIELDS = {"name", "arrays", "kwargs", "gradcheck", "function", "expression", "inputs"}


class SpecError(ValueError):
    """The check block of an exercise is not well formed."""


@dataclass(frozen=True)
class Case:
    """One declared case: its description, variables and per-case settings."""

    index: int
    name: str
    variables: dict[str, float]
    arrays: dict[str, dict[str, Any]]
    kwargs: dict[str, Any] = field(default_factory=dict)
    gradcheck: bool = True
    extra: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        shown = ", ".join(f"{k}={_plain(v)}" for k, v in self.variables.items())
        return f"{self.name} ({shown})" if shown else self.name


def _plain(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def parse_cases(check: dict[str, Any]) -> list[Case]:
    """The declared cases, with array declarations merged and validated."""
    base = check.get("arrays", {})
    if not isinstance(base, dict):
        raise SpecError("'arrays' must map names to array declarations")
    raw_cases = check.get("cases")
    if not isinstance(raw_cases, list) or not raw_cases:
        raise SpecError("'cases' must be a non-empty list")
    cases = []
    for index, raw in enumerate(raw_cases):
        if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
            raise SpecError(f"cases[{index}] must be a mapping with a 'name'")
        variables = {k: v for k, v in raw.items() if k not in CASE_FIELDS}
        for key, value in variables.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise SpecError(
                    f"cases[{index}]: {excerpt(key)} is not a known case field or a number"
                )
            if not math.isfinite(value):
                raise SpecError(f"cases[{index}]: {excerpt(key)} must be a finite number")
        overrides = raw.get("arrays", {})
        if not isinstance(overrides, dict):
            raise SpecError(f"cases[{index}].arrays must be a mapping")
        arrays = {name: {**base.get(name, {}), **spec} for name, spec in overrides.items()}
        arrays = {**base, **arrays}
        for name, spec in arrays.items():
            _validate_array(f"cases[{index}] array {excerpt(name)}", spec, variables)
        kwargs = raw.get("kwargs", {})
        if not isinstance(kwargs, dict):
            raise SpecError(f"cases[{index}].kwargs must be a mapping")
        extra = {k: raw[k] for k in ("function", "expression", "inputs") if k in raw}
        cases.append(
            Case(
                index=index,
                name=raw["name"],
                variables=variables,
                arrays=arrays,
                kwargs=kwargs,
                gradcheck=bool(raw.get("gradcheck", True)),
                extra=extra,
            )
        )
    return cases


def _validate_array(where: str, spec: Any, variables: dict[str, float]) -> None:
    if not isinstance(spec, dict):
        raise SpecError(f"{where} must be a mapping")
    unknown = set(spec) - ARRAY_FIELDS
    if unknown:
        raise SpecError(f"{where} has unknown field {excerpt(sorted(unknown)[0])}")
    fill = spec.get("fill", "normal")
    if fill not in FILLS:
        raise SpecError(f"{where}: fill must be one of {', '.join(FILLS)}")
    if fill == "literal":
        if "value" not in spec:
            raise SpecError(f"{where}: a literal array needs a 'value'")
        return
    if not isinstance(spec.get("shape"), list):
        raise SpecError(f"{where} needs a 'shape' list")
    for key in ("shape", "scale", "shift", "low", "high", "zeros"):
        for item in spec.get(key, []) if key == "shape" else [spec.get(key, 0)]:
            if isinstance(item, str) and item not in variables:
                raise SpecError(f"{where}: {excerpt(item)} is not a variable of this case")
            if not isinstance(item, (str, int, float)) or isinstance(item, bool):
                raise SpecError(f"{where}: '{key}' holds {excerpt(item)}, not a number or name")
    for item in spec["shape"]:
        size = variables[item] if isinstance(item, str) else item
        if not float(size).is_integer() or not 0 <= size <= MAX_DIMENSION:
            raise SpecError(
                f"{where}: a shape holds {excerpt(size)}; sizes are whole numbers "
                f"from 0 to {MAX_DIMENSION}"
            )
    if fill == "integers" and ("low" not in spec or "high" not in spec):
        raise SpecError(f"{where}: an integer array needs 'low' and 'high'")


def case_rng(exercise_id: str, case_index: int) -> np.random.Generator:
    """The random stream of one case: the same for every run and every machine."""
    return np.random.default_rng([zlib.crc32(exercise_id.encode()), case_index])


def make_arrays(case: Case, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Every declared array of the case, in declaration order."""
    return {name: _make_array(spec, case.variables, rng) for name, spec in case.arrays.items()}


def _make_array(spec: dict[str, Any], variables: dict[str, float], rng: np.random.Generator):
    def number(key: str, default: float) -> float:
        value = spec.get(key, default)
        return float(variables[value]) if isinstance(value, str) else float(value)

    fill = spec.get("fill", "normal")
    if fill == "literal":
        return np.array(spec["value"], dtype=float)
    shape = tuple(int(variables[d]) if isinstance(d, str) else int(d) for d in spec["shape"])
    if fill == "normal":
        array = rng.normal(size=shape) * number("scale", 1.0) + number("shift", 0.0)
    elif fill == "uniform":
        array = rng.uniform(number("low", 0.0), number("high", 1.0), size=shape)
    elif fill == "integers":
        return rng.integers(int(number("low", 0)), int(number("high", 1)), size=shape)
    elif fill == "onehot":
        labels = rng.integers(0, shape[-1], size=shape[:-1])
        array = np.eye(shape[-1])[labels]
    elif fill == "simplex":
        array = rng.dirichlet(np.ones(shape[-1]), size=shape[:-1])
    else:  # softmax: rows of probabilities with a realistic spread
        logits = rng.normal(size=shape) * number("scale", 1.0)
        exp = np.exp(logits - logits.max(axis=-1, keepdims=True))
        array = exp / exp.sum(axis=-1, keepdims=True)
    zeros = number("zeros", 0.0)
    if zeros > 0:
        array[rng.random(shape) < zeros] = 0.0
    return array
