"""The registry of check types: how an exercise declared in YAML becomes calls and verdicts.

A check type is one `CheckType` subclass here, registered with @register under the name an
exercise's `type:` gives: which fields its `check:` block takes, how one declared case becomes
concrete calls (a `CasePlan`), the driver that makes those calls (a worker.py function; the
worker finds it through this registry too), and any verdict beyond comparing each recorded
value with the reference's. Layer-like exercises, functions of arrays, numerical_gradient (a
function of a callable) and a scalar autograd engine cover the bank.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

import numpy as np

from drill.grader.cases import Case, SpecError, case_rng, make_arrays, parse_cases
from drill.grader.compare import (
    ROWS_SHOWN,
    Difference,
    Observed,
    index_text,
    is_low_precision,
    number,
    numbers_apart,
)
from drill.grader.records import Key
from drill.grader.results import CheckKind
from drill.grader.worker import (
    PROBE_FUNCTIONS,
    ExpressionError,
    Recorder,
    drive_autograd,
    drive_function,
    drive_layer,
    drive_numerical_gradient,
    parse_expression,
)
from drill.text import excerpt

# A central difference with this step is accurate to ~1e-10 on smooth layers in float64,
# far below the tolerance, while wrong gradients are typically off by order one.
PROBE_EPS = 1e-5
GRADCHECK_RTOL = 1e-4
# Tensors this small are also checked one element at a time, to point at a wrong entry, when
# the check along a random direction finds one.
ELEMENT_PROBE_LIMIT = 32


@dataclass
class CasePlan:
    """One case made concrete: the driver's instructions and the arrays they name."""

    case: Case
    call: dict[str, Any]
    arrays: dict[str, np.ndarray]

    def without_probes(self) -> dict[str, Any]:
        return {**self.call, "probes": []} if "probes" in self.call else self.call


def _check_fields(check: dict[str, Any], required: set[str], optional: set[str]) -> None:
    unknown = set(check) - required - optional - {"type"}
    if unknown:
        raise SpecError(
            f"unknown field {excerpt(sorted(unknown)[0])} for check type {excerpt(check['type'])}"
        )
    missing = required - set(check)
    if missing:
        raise SpecError(f"check type {excerpt(check['type'])} needs '{sorted(missing)[0]}'")


def _names(check: dict[str, Any], key: str) -> list[str]:
    value = check[key]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise SpecError(f"'{key}' must be a list of names")
    return value


def _scalar_values(names: list[str], case: Case, arrays: dict[str, Any]) -> dict[str, Any]:
    """Case variables passed as plain arguments (ints where they are whole numbers)."""
    values = {}
    for name in names:
        if name in arrays:
            continue
        if name not in case.variables:
            raise SpecError(f"case {excerpt(case.name)} has no array or variable {excerpt(name)}")
        value = case.variables[name]
        values[name] = int(value) if float(value).is_integer() else float(value)
    return values


@dataclass(frozen=True)
class Verdict:
    """A check a check type adds beyond comparing each value with the reference's."""

    name: str
    kind: CheckKind
    difference: Difference | None


class CheckType(ABC):
    """One kind of check, registered once with @register under the name `type:` gives it.

    It validates its `check:` block, makes each declared case a concrete plan, runs a plan's
    calls through `drive` (in the worker for a submission, in drill for the reference and
    the known mistakes), and may add verdicts of its own.
    """

    name: ClassVar[str]

    @abstractmethod
    def validate(self, check: dict[str, Any]) -> list[Case]:
        """The declared cases; SpecError when the block is not well formed."""

    @abstractmethod
    def plan(self, exercise_id: str, check: dict[str, Any], case: Case, reference: Any) -> CasePlan:
        """One case made concrete, its arrays generated (the reference may size some)."""

    @staticmethod
    @abstractmethod
    def drive(
        entry: Any, call: Mapping[str, Any], arrays: Mapping[str, Any], rec: Recorder
    ) -> None:
        """Make the calls of one case on `entry`, recording what they produce in `rec`."""

    def verdicts(self, plan: CasePlan, user: dict[Key, Observed]) -> list[Verdict]:
        """Verdicts beyond comparing with the reference; none by default."""
        return []


CHECK_TYPES: dict[str, CheckType] = {}
_Registered = TypeVar("_Registered", bound=type[CheckType])


def register(cls: _Registered) -> _Registered:
    """Make a check type available to exercises under its name."""
    CHECK_TYPES[cls.name] = cls()
    return cls


@register
class LayerCheck(CheckType):
    """A class with forward(x) and backward(grad_output), parameters given to its constructor.

    Besides comparing with the reference, the gradient of every float input and parameter
    is checked against the submission's own forward along one random direction u: the
    directional derivative ⟨grad, u⟩ against (f(p + εu) − f(p − εu)) / 2ε with f = ⟨v, forward⟩.
    This costs two forward calls per tensor whatever its size.
    """

    name = "layer"
    drive = staticmethod(drive_layer)

    def validate(self, check: dict[str, Any]) -> list[Case]:
        _check_fields(check, {"init", "input", "arrays", "cases"}, {"grads", "grad_input"})
        _names(check, "init")
        grads = check.get("grads", {})
        if (
            not isinstance(grads, dict)
            or not all(name in check["init"] for name in grads)
            or not all(isinstance(v, str) and v.isidentifier() for v in grads.values())
        ):
            raise SpecError("'grads' must map constructor arguments to gradient attributes")
        if not isinstance(check["input"], str):
            raise SpecError("'input' must be the name of an array")
        if not isinstance(check.get("grad_input", True), bool):
            raise SpecError("'grad_input' must be true or false")
        cases = parse_cases(check)
        for case in cases:
            if check["input"] not in case.arrays:
                raise SpecError(f"the input {excerpt(check['input'])} is not a declared array")
        return cases

    def plan(self, exercise_id: str, check: dict[str, Any], case: Case, reference: Any) -> CasePlan:
        rng = case_rng(exercise_id, case.index)
        arrays = make_arrays(case, rng)
        init = check["init"]
        values = _scalar_values(init, case, arrays)
        init_args = [arrays[n].copy() if n in arrays else values[n] for n in init]
        output = np.asarray(reference(*init_args).forward(arrays[check["input"]].copy()))
        arrays["grad_output"] = rng.normal(size=output.shape)
        probes = []
        if case.gradcheck:
            targets = [check["input"], *check.get("grads", {})]
            for target in targets:
                if arrays[target].dtype.kind != "f":
                    continue  # integer inputs such as embedding indices have no gradient
                direction = f"direction for {target}"
                arrays[direction] = rng.normal(size=arrays[target].shape)
                probes.append({"target": target, "direction": direction, "eps": PROBE_EPS})
                if arrays[target].size <= ELEMENT_PROBE_LIMIT:
                    probes += [
                        {"target": target, "element": i, "eps": PROBE_EPS}
                        for i in range(arrays[target].size)
                    ]
        call = {
            "init": init,
            "input": check["input"],
            "grads": check.get("grads", {}),
            "grad_input": check.get("grad_input", True),
            "values": values,
            "probes": probes,
            # The worker skips a target's element probes when its directional probe agrees
            # with backward within a tenth of the tolerance judged here.
            "pinpoint_above": GRADCHECK_RTOL / 10,
        }
        return CasePlan(case, call, arrays)

    def verdicts(self, plan: CasePlan, user: dict[Key, Observed]) -> list[Verdict]:
        """The gradient check of the submission's backward against its own forward."""
        findings = []
        for index, probe in enumerate(plan.call["probes"]):
            if "direction" not in probe:
                continue
            target = probe["target"]
            name = "grad_input" if target == plan.call["input"] else plan.call["grads"][target]
            check_name = f"gradient check of {name}"
            grad = user.get(Key.result(name))
            if grad is None or grad.kind != "array":
                continue  # the comparison with the reference already reports this
            direction = plan.arrays[probe["direction"]]
            coarse = _low_precision_probe(plan, user, index)
            if coarse is not None:
                summary = (
                    f"lost precision: your forward returns {coarse}, too coarse for central "
                    f"differences with ε = {probe['eps']:g} to check {name}; compute in float64"
                )
                findings.append(Verdict(check_name, "gradient check", Difference(summary)))
                continue
            numeric = _directional(plan, user, index)
            if numeric is None or grad.value.shape != direction.shape:
                continue
            analytic = float(np.sum(grad.value * direction))
            scale = max(abs(numeric), abs(analytic), 1e-3 * float(np.linalg.norm(direction)))
            relative = abs(numeric - analytic) / scale
            passed = relative <= GRADCHECK_RTOL or not np.isfinite(numeric)
            difference = None
            if not passed:
                summary = (
                    f"backward does not match your own forward for {name}: along a random "
                    f"direction u, ⟨{name}, u⟩ = {number(analytic)} but central differences "
                    f"of forward give {number(numeric)} (relative difference {relative:.1e})"
                )
                difference = _pinpoint(plan, user, target, name, grad.value, summary)
            findings.append(Verdict(check_name, "gradient check", difference))
        return findings


def _probe_outputs(
    plan: CasePlan, user: dict[Key, Observed], index: int
) -> tuple[Observed | None, Observed | None]:
    """Forward's outputs with probe `index`'s target shifted up and down."""
    target = plan.call["probes"][index]["target"]
    return user.get(Key.probed(target, index, 1)), user.get(Key.probed(target, index, -1))


def _low_precision_probe(plan: CasePlan, user: dict[Key, Observed], index: int) -> str | None:
    """The dtype of probe `index`'s forward outputs when it is narrower than float64."""
    for value in _probe_outputs(plan, user, index):
        if value is not None and value.kind == "array" and is_low_precision(value.value):
            return str(value.value.dtype)
    return None


def _directional(plan: CasePlan, user: dict[Key, Observed], index: int) -> float | None:
    """⟨grad_output, forward(p + εu) − forward(p − εu)⟩ / 2ε from probe `index`, if usable.

    Outputs that are not floats (a boolean mask, integers) are left to the output check.
    """
    grad_output = plan.arrays["grad_output"]
    plus, minus = _probe_outputs(plan, user, index)
    for value in (plus, minus):
        if (
            value is None
            or value.kind != "array"
            or value.value.dtype.kind != "f"
            or value.value.shape != grad_output.shape
        ):
            return None
    eps = plan.call["probes"][index]["eps"]
    difference = plus.value.astype(float) - minus.value.astype(float)
    return float(np.sum(grad_output * difference)) / (2 * eps)


def _pinpoint(
    plan: CasePlan,
    user: dict[Key, Observed],
    target: str,
    name: str,
    grad: np.ndarray,
    summary: str,
) -> Difference:
    """On a small tensor, the entries where backward and per-element differences disagree."""
    numeric = np.full(grad.shape, np.nan)
    for index, probe in enumerate(plan.call["probes"]):
        if probe["target"] == target and "element" in probe:
            value = _directional(plan, user, index)
            numeric.flat[probe["element"]] = np.nan if value is None else value
    if np.isnan(numeric).all():
        return Difference(summary)
    error = np.abs(grad - numeric) / np.maximum(np.abs(numeric), 1e-3)
    error = np.where(np.isnan(error), -1.0, error)
    worst = sorted(np.ndindex(*grad.shape), key=lambda i: -error[i])[:ROWS_SHOWN]
    worst = [i for i in worst if error[i] > GRADCHECK_RTOL] or worst[:1]
    summary += f"; the largest mismatch is {name}{index_text(worst[0])}"
    rows = [(index_text(i), *numbers_apart(grad[i], numeric[i])) for i in worst]
    return Difference(summary, rows)


@register
class FunctionCheck(CheckType):
    """A function of arrays, its return value recorded by a declared structure."""

    name = "function"
    drive = staticmethod(drive_function)

    def validate(self, check: dict[str, Any]) -> list[Case]:
        _check_fields(check, {"args", "returns", "cases"}, {"arrays"})
        _names(check, "args")
        _check_returns(check["returns"])
        return parse_cases(check)

    def plan(self, exercise_id: str, check: dict[str, Any], case: Case, reference: Any) -> CasePlan:
        arrays = make_arrays(case, case_rng(exercise_id, case.index))
        values = _scalar_values(check["args"], case, arrays)
        call = {
            "args": check["args"],
            "kwargs": case.kwargs,
            "returns": check["returns"],
            "values": values,
        }
        return CasePlan(case, call, arrays)


def _check_returns(returns: Any) -> None:
    """A name, a list of structures (a tuple), or a mapping of keys to structures."""
    if isinstance(returns, str):
        return
    if isinstance(returns, list) and returns:
        for item in returns:
            _check_returns(item)
    elif isinstance(returns, dict) and returns:
        for item in returns.values():
            _check_returns(item)
    else:
        raise SpecError(f"'returns' holds {excerpt(returns)}: use names, lists and mappings")


@register
class NumericalGradientCheck(CheckType):
    """numerical_gradient(f, x, eps): called with drill's own smooth probe functions."""

    name = "numerical_gradient"
    drive = staticmethod(drive_numerical_gradient)

    def validate(self, check: dict[str, Any]) -> list[Case]:
        _check_fields(check, {"arrays", "cases"}, set())
        cases = parse_cases(check)
        for case in cases:
            if case.extra.get("function") not in PROBE_FUNCTIONS:
                known = ", ".join(PROBE_FUNCTIONS)
                raise SpecError(f"case {excerpt(case.name)} needs a 'function', one of {known}")
        return cases

    def plan(self, exercise_id: str, check: dict[str, Any], case: Case, reference: Any) -> CasePlan:
        arrays = make_arrays(case, case_rng(exercise_id, case.index))
        call = {"function": case.extra["function"], "kwargs": case.kwargs}
        return CasePlan(case, call, arrays)


@register
class AutogradCheck(CheckType):
    """A scalar autograd class: each case is an expression of named leaves."""

    name = "autograd"
    drive = staticmethod(drive_autograd)

    def validate(self, check: dict[str, Any]) -> list[Case]:
        _check_fields(check, {"cases"}, set())
        cases = parse_cases(check)
        for case in cases:
            inputs = case.extra.get("inputs")
            if not isinstance(case.extra.get("expression"), str) or not isinstance(inputs, dict):
                raise SpecError(f"case {excerpt(case.name)} needs an 'expression' and 'inputs'")
            try:
                parse_expression(case.extra["expression"], inputs)
            except (SyntaxError, ExpressionError) as error:
                problem = error.msg if isinstance(error, SyntaxError) else str(error)
                name = excerpt(case.name)
                raise SpecError(f"case {name}: invalid expression: {problem}") from None
        return cases

    def plan(self, exercise_id: str, check: dict[str, Any], case: Case, reference: Any) -> CasePlan:
        call = {"expression": case.extra["expression"], "inputs": case.extra["inputs"]}
        return CasePlan(case, call, {})


def check_type(check: dict[str, Any]) -> CheckType:
    """The registered check type an exercise's `check:` block names; SpecError if none."""
    try:
        return CHECK_TYPES[check["type"]]
    except KeyError:
        known = ", ".join(CHECK_TYPES)
        raise SpecError(f"unknown check type {excerpt(check['type'])} (known: {known})") from None
