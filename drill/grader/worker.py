"""The grading worker: runs a submission in a process of its own.

The parent (runner.py) starts this file as a script with `python -I`, so it depends on the
standard library and NumPy only. It imports the submission, waits for the plan, runs each
exercise's calls through a driver, and sends back plain data: JSON lines on an event pipe
and arrays as .npz files. It computes no verdict; the parent decides everything.

The drivers are also imported by the parent, to run the reference and the known mistakes
through exactly the same calls.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import math
import operator
import os
import sys
import traceback
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np

from drill.grader.records import Key, Stage

OUTPUT_LIMIT = 4000  # characters of a submission's printed output kept per exercise
TRACEBACK_LIMIT = 4000


class Stop(Exception):
    """Raised inside a driver after an error was recorded: the case cannot go on."""


class Recorder:
    """What one case produced: named values and, at most, one error."""

    def __init__(self, solution_file: str | None) -> None:
        self.values: dict[str, Any] = {}
        self.error: dict[str, str] | None = None
        self.solution_file = solution_file

    def put(self, key: Key, value: Any) -> None:
        self.values[key.wire()] = value

    def run(self, stage: str, call: Callable[[], Any]) -> Any:
        try:
            return call()
        except Exception as exc:  # the submission's own failure, recorded for the parent
            self.fail(stage, exc)
            raise Stop from None

    def fail(self, stage: str, exc: BaseException) -> None:
        self.error = {
            "stage": stage,
            "type": type(exc).__name__,
            "text": _limit(str(exc), 500),
            "traceback": _user_traceback(exc, self.solution_file),
        }


def _limit(text: str, size: int) -> str:
    return text if len(text) <= size else text[:size] + f"… ({len(text) - size} more characters)"


def _user_traceback(exc: BaseException, solution_file: str | None) -> str:
    """The traceback lines that belong to the submission, not to drill."""
    frames = traceback.extract_tb(exc.__traceback__)
    own = [f for f in frames if solution_file is None or f.filename == solution_file]
    lines = traceback.format_list(own) + traceback.format_exception_only(type(exc), exc)
    return _limit("".join(lines), TRACEBACK_LIMIT)


def _copy(value: Any) -> Any:
    return value.copy() if isinstance(value, np.ndarray) else value


# --- drivers: one per kind of exercise; each fills a Recorder from one case --------------


def _arguments(names: list[str], case: Mapping[str, Any], arrays: Mapping[str, Any]) -> list:
    return [_copy(arrays[name]) if name in arrays else case["values"][name] for name in names]


def drive_layer(entry: Any, case: Mapping[str, Any], arrays: Mapping[str, Any], rec: Recorder):
    """Construct, forward, backward; then forward-only probes for the gradient check."""
    init = case["init"]
    init_args = _arguments(init, case, arrays)
    x = _copy(arrays[case["input"]])
    layer = rec.run("constructor", lambda: entry(*init_args))
    rec.put(Key.result("output"), rec.run("forward", lambda: layer.forward(x)))
    _snapshot(rec, "forward", init, init_args, {case["input"]: x})
    grad_output = _copy(arrays["grad_output"])
    grad_input = rec.run("backward", lambda: layer.backward(grad_output))
    if case["grad_input"]:
        rec.put(Key.result("grad_input"), grad_input)
    for attribute in case["grads"].values():
        rec.put(Key.result(attribute), getattr(layer, attribute, _MISSING))
    _snapshot(rec, "backward", init, init_args, {case["input"]: x, "grad_output": grad_output})
    for index, probe in enumerate(case["probes"]):
        for sign in (1, -1):
            shifted = dict(zip(init, _arguments(init, case, arrays)))
            shifted[case["input"]] = _copy(arrays[case["input"]])
            if "element" in probe:  # one element at a time, to point at a wrong entry
                step = np.zeros(np.shape(shifted[probe["target"]]))
                step.flat[probe["element"]] = sign * probe["eps"]
            else:
                step = sign * probe["eps"] * arrays[probe["direction"]]
            shifted[probe["target"]] = shifted[probe["target"]] + step
            args = [shifted[name] for name in init]
            rec.put(
                Key.probed(probe["target"], index, sign),
                rec.run("probe", lambda a=args, n=shifted: entry(*a).forward(n[case["input"]])),
            )


def drive_function(entry: Any, case: Mapping[str, Any], arrays: Mapping[str, Any], rec: Recorder):
    """Call the function once and record what it returns, by the declared structure."""
    args = _arguments(case["args"], case, arrays)
    result = rec.run("call", lambda: entry(*args, **case["kwargs"]))
    _unpack(result, case["returns"], rec, "")
    _snapshot(rec, "call", case["args"], args, {})


def drive_numerical_gradient(entry: Any, case: Mapping[str, Any], arrays: Mapping[str, Any], rec):
    """Call numerical_gradient on one of drill's probe functions and watch how it calls f."""
    x = _copy(arrays["x"])
    target = PROBE_FUNCTIONS[case["function"]]
    shapes: list[tuple[int, ...]] = []

    def f(point: Any) -> float:
        shapes.append(tuple(np.shape(point)))
        return target(np.asarray(point, dtype=float))

    rec.put(Key.result("gradient"), rec.run("call", lambda: entry(f, x, **case["kwargs"])))
    rec.put(Key.snapshot("x", "call"), x)
    wrong = [s for s in shapes if s != x.shape]
    rec.put(Key.result("calls of f with a wrong shape"), len(wrong))


def drive_autograd(entry: Any, case: Mapping[str, Any], arrays: Mapping[str, Any], rec: Recorder):
    """Build the case's expression from the submission's Value class and run backward()."""
    tree = parse_expression(case["expression"], case["inputs"])
    leaves = rec.run("constructor", lambda: {k: entry(v) for k, v in case["inputs"].items()})
    out = rec.run("expression", lambda: evaluate_expression(tree, dict(leaves)))
    rec.run("backward", out.backward)
    rec.put(Key.result("data"), rec.run("expression", lambda: out.data))
    for name, leaf in leaves.items():
        rec.put(Key.result(f"{name}.grad"), getattr(leaf, "grad", _MISSING))


# --- autograd expressions: arithmetic over named leaves, never eval ------------------------

AUTOGRAD_METHODS = frozenset({"relu", "tanh", "exp"})
_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
}
_UNARY: dict[type[ast.unaryop], Callable[[Any], Any]] = {
    ast.USub: operator.neg,
    ast.UAdd: operator.pos,
}


class ExpressionError(ValueError):
    """An autograd expression uses something outside its small arithmetic language."""


def parse_expression(text: str, leaves: Iterable[str]) -> ast.expr:
    """The checked tree of an autograd expression; SyntaxError or ExpressionError otherwise.

    Allowed: the case's leaves, names bound by `name := …` earlier in the expression, int and
    float literals, + - * / ** and unary - +, and the calls v.relu(), v.tanh(), v.exp().
    """
    tree = ast.parse(text, mode="eval").body
    _check_expression(tree, set(leaves))
    return tree


def _check_expression(node: ast.AST, bound: set[str]) -> None:
    """Walk `node` in evaluation order; `bound` gains the names := binds."""
    if isinstance(node, ast.Constant):
        if type(node.value) not in (int, float):
            raise ExpressionError(f"only numbers may be literals, not {node.value!r:.40}")
    elif isinstance(node, ast.Name):
        if node.id not in bound:
            raise ExpressionError(f"'{node.id}' is neither an input nor bound earlier by :=")
    elif isinstance(node, ast.NamedExpr):
        _check_expression(node.value, bound)
        if node.target.id.startswith("_"):
            raise ExpressionError(f"'{node.target.id}' may not be bound")
        bound.add(node.target.id)
    elif isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        _check_expression(node.left, bound)
        _check_expression(node.right, bound)
    elif isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        _check_expression(node.operand, bound)
    elif (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in AUTOGRAD_METHODS
        and not node.args
        and not node.keywords
    ):
        _check_expression(node.func.value, bound)
    else:
        what = type(node).__name__
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            what = f"calling .{node.func.attr}(…)"
        elif isinstance(node, ast.Attribute):
            what = f"the attribute .{node.attr}"
        allowed = ", ".join(f".{name}()" for name in sorted(AUTOGRAD_METHODS))
        raise ExpressionError(
            f"{what} is not allowed; use inputs, numbers, + - * / **, unary -, := and {allowed}"
        )


def evaluate_expression(node: ast.expr, names: dict[str, Any]) -> Any:
    """The value of a tree that parse_expression accepted; `names` gains the := bindings."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        return names[node.id]
    if isinstance(node, ast.NamedExpr):
        names[node.target.id] = evaluate_expression(node.value, names)
        return names[node.target.id]
    if isinstance(node, ast.BinOp):
        left = evaluate_expression(node.left, names)
        return _BINARY[type(node.op)](left, evaluate_expression(node.right, names))
    if isinstance(node, ast.UnaryOp):
        return _UNARY[type(node.op)](evaluate_expression(node.operand, names))
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        return getattr(evaluate_expression(node.func.value, names), node.func.attr)()
    raise ExpressionError(f"{type(node).__name__} was not checked")


def _snapshot(rec: Recorder, stage: Stage, names: list[str], values: list, extra: dict) -> None:
    """Copies of the array arguments after a call, so the parent can see what was modified."""
    for name, value in [*zip(names, values), *extra.items()]:
        if isinstance(value, np.ndarray):
            rec.put(Key.snapshot(name, stage), value.copy())


class _Missing:
    """Marks an attribute the submission never set."""


_MISSING = _Missing()


def _unpack(result: Any, shape: Any, rec: Recorder, where: str) -> None:
    """Record a returned value by the declared structure: a name, a list, or a mapping.

    `where` is the place in the return value, "" for all of it, "[1]['W1']" deeper in.
    """
    if isinstance(shape, str):
        rec.put(Key.result(shape), result)
    elif isinstance(shape, list):
        if not isinstance(result, (tuple, list)) or len(result) != len(shape):
            found = f"expected a tuple of {len(shape)}, got {_kind(result)}"
            rec.put(Key.structure(where), found)
            return
        for index, (item, inner) in enumerate(zip(result, shape)):
            _unpack(item, inner, rec, f"{where}[{index}]")
    else:
        if not isinstance(result, Mapping):
            rec.put(Key.structure(where), f"expected a dict, got {_kind(result)}")
            return
        for key, inner in shape.items():
            _unpack(result.get(key, _MISSING), inner, rec, f"{where}[{key!r}]")


def _kind(value: Any) -> str:
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of {len(value)}"
    return f"a {type(value).__name__}"


# --- probe functions for numerical_gradient: smooth, coupled across elements -------------


def _coupled_cubic(x: np.ndarray) -> float:
    return float(np.sum(x**3) + np.sum(x) ** 2 + np.sum(np.sin(x) * np.roll(x, 1)))


def _row_products(x: np.ndarray) -> float:
    rows = np.atleast_2d(x)
    return float(np.sum(np.exp(0.3 * rows) * rows.sum(axis=-1, keepdims=True)))


PROBE_FUNCTIONS: dict[str, Callable[[np.ndarray], float]] = {
    "coupled_cubic": _coupled_cubic,
    "row_products": _row_products,
}


# --- encoding: values become JSON metadata plus arrays ------------------------------------


def encode(values: Mapping[str, Any], prefix: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Describe every value as plain data; numeric content goes into the arrays dict."""
    meta: dict[str, Any] = {}
    arrays: dict[str, Any] = {}
    for name, value in values.items():
        key = f"{prefix}{len(arrays)}"
        if value is _MISSING:
            meta[name] = {"kind": "missing"}
        elif value is None:
            meta[name] = {"kind": "none"}
        elif isinstance(value, str):
            meta[name] = {"kind": "text", "text": _limit(value, 500)}
        elif isinstance(value, (bool, np.bool_)):
            meta[name] = {"kind": "bool", "value": bool(value)}
        elif isinstance(value, (int, float, np.integer, np.floating)):
            try:
                meta[name] = {"kind": "number", "value": _json_number(float(value))}
            except OverflowError:  # an int beyond any float
                meta[name] = {"kind": "object", "type": "integer too large for a float"}
        elif isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
            # np.array keeps a 0-d array 0-d (ascontiguousarray would make it shape (1,)).
            arrays[key] = np.array(value, order="C")
            meta[name] = {"kind": "array", "key": key, "type": type(value).__name__}
        elif isinstance(value, np.ndarray):  # complex, strings, objects: not numbers drill reads
            meta[name] = {"kind": "object", "type": f"array of dtype {value.dtype}"}
        else:
            meta[name] = {"kind": "object", "type": type(value).__name__}
    return meta, arrays


def _json_number(value: float) -> float | str:
    return value if math.isfinite(value) else repr(value)


# --- the process itself ---------------------------------------------------------------------


class _Capture:
    """Stands in for sys.stdout/sys.stderr: keeps the start of what is printed, drops the rest."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.kept = 0
        self.dropped = 0

    def write(self, text: str) -> int:
        text = str(text)
        room = OUTPUT_LIMIT - self.kept
        self.parts.append(text[:room] if room > 0 else "")
        self.kept += min(len(text), max(room, 0))
        self.dropped += max(len(text) - max(room, 0), 0)
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False

    def text(self) -> str:
        tail = f"\n… ({self.dropped} more characters not shown)" if self.dropped else ""
        return "".join(self.parts) + tail


def _limit_resources(memory_bytes: int) -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        memory_bytes = min(memory_bytes, hard)  # an unprivileged process cannot raise it
    # Lowering the hard limit too means the submission cannot lift the cap again.
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))


def _import_submission(path: str) -> Any:
    spec = importlib.util.spec_from_file_location("submission", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["submission"] = module
    spec.loader.exec_module(module)
    return module


def _run_exercise(module: Any, exercise: Mapping[str, Any], arrays: Any, solution: str) -> tuple:
    """Run every case of one exercise; return (metadata, arrays, printed output)."""
    capture = _Capture()
    sys.stdout = sys.stderr = capture
    try:
        entry = getattr(module, exercise["entry"], None)
        if entry is None:
            return {"missing": True}, {}, capture.text()
        from drill.grader.checks import CHECK_TYPES  # already loaded by main

        check_type = CHECK_TYPES[exercise["check_type"]]
        meta_cases: list[dict[str, Any]] = []
        out_arrays: dict[str, Any] = {}
        for number, case in enumerate(exercise["cases"]):
            rec = Recorder(solution)
            try:
                case_arrays = {name: arrays[key] for name, key in case["arrays"].items()}
                check_type.drive(entry, case, case_arrays, rec)
            except Stop:
                pass
            except BaseException as exc:  # SystemExit and the like: the case cannot go on
                rec.fail("run", exc)
            meta, case_out = encode(rec.values, f"c{number}_")
            meta_cases.append({"values": meta, "error": rec.error})
            out_arrays.update(case_out)
            if rec.error is not None and rec.error["type"] == "MemoryError":
                break  # the next cases would only run into the cap again, slowly
        return {"cases": meta_cases}, out_arrays, capture.text()
    finally:
        sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__


def main(argv: list[str]) -> int:
    solution, plan_fd, event_fd, workdir, memory = argv
    import drill.grader.checks  # noqa: F401  the check types and their drivers, before user code

    _limit_resources(int(memory))
    events = os.fdopen(int(event_fd), "w", buffering=1, encoding="utf-8")

    def send(**message: Any) -> None:
        events.write(json.dumps(message) + "\n")

    send(event="ready")  # drill's own start-up is over: the submission's import starts now
    sys.path.insert(0, os.path.dirname(solution))
    capture = _Capture()
    sys.stdout = sys.stderr = capture
    try:
        module = _import_submission(solution)
    except SyntaxError as exc:
        send(event="import-failed", kind="syntax", line=exc.lineno, text=exc.msg, output="")
        return 0
    except BaseException as exc:  # the submission may raise anything, SystemExit included
        kind = "exit" if isinstance(exc, SystemExit) else "exception"
        trace = _user_traceback(exc, solution)
        send(event="import-failed", kind=kind, text=trace, output=capture.text())
        return 0
    finally:
        sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__
    send(event="imported")
    with os.fdopen(int(plan_fd), encoding="utf-8") as plan_pipe:
        if plan_pipe.readline().strip() != "go":
            return 0
    with open(os.path.join(workdir, "plan.json"), encoding="utf-8") as handle:
        plan = json.load(handle)
    with np.load(os.path.join(workdir, "plan.npz"), allow_pickle=False) as stored:
        arrays = {key: stored[key] for key in stored.files}
    for exercise in plan["exercises"]:
        send(event="start", exercise=exercise["id"])
        meta, out_arrays, output = _run_exercise(module, exercise, arrays, solution)
        np.savez(os.path.join(workdir, f"result-{exercise['id']}.npz"), **out_arrays)
        send(event="done", exercise=exercise["id"], result=meta, output=output)
    return 0


if __name__ == "__main__":
    # Run as the module drill.grader.worker, so that the drivers the check types name are the
    # very functions (and their markers the very objects) this process encodes with.
    from drill.grader import worker

    sys.exit(worker.main(sys.argv[1:]))
