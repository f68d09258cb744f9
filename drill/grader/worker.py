"""The grading worker: runs a submission in processes of its own, inside a sandbox.

The parent (runner.py) starts `main` in a fresh interpreter (`python -I -B`). It imports
NumPy and drill's drivers once, enters new user, network and PID namespaces where the
kernel allows, and becomes the supervisor: the init of that PID namespace (or a child
subreaper). For each exercise the parent asks for, the supervisor forks a child that
confines itself (limits, Landlock), imports the submission afresh, runs the exercise's
calls through a driver and sends plain data back on a pipe of the parent's (see wire.py).
When the parent ends the exercise, the supervisor kills every process left in the sandbox.
Nothing here computes a verdict; the parent decides everything.

The drivers are also imported by the parent, to run the reference and the known mistakes
through exactly the same calls.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import importlib.util
import json
import operator
import os
import resource
import select
import shutil
import signal
import socket
import sys
import traceback
from collections.abc import Callable, Iterable, Mapping
from types import CodeType
from typing import Any, NoReturn

import numpy as np

from drill.grader import sandbox, wire
from drill.grader.records import Key, Stage
from drill.grader.wire import MISSING as _MISSING
from drill.grader.wire import encode, limit, type_name

# Like wire.py's, this module's functions keep the builtins as drill imported them: the
# submission's patches of len, isinstance, str… cannot reach the recording of its results.
__builtins__ = dict(vars(builtins))

OUTPUT_LIMIT = 4000  # characters of a submission's printed output kept per exercise
TRACEBACK_LIMIT = 4000


class Stop(Exception):
    """Raised inside a driver after an error was recorded: the case cannot go on."""


class ResultsTooLarge(Exception):
    """The arrays an exercise returned are more than drill takes back from one exercise."""

    def __init__(self, size: int) -> None:
        super().__init__(
            f"{size >> 20} MiB of arrays, more than the {wire.PAYLOAD_LIMIT >> 20} MiB drill "
            "takes back from one exercise"
        )


class Recorder:
    """What one case produced: named values and, at most, one error.

    In the worker (`solution_file` given) every exception a call raises is the submission's,
    SystemExit and KeyboardInterrupt included: its process has no terminal to be interrupted
    from. In drill's own process only Exception is caught, so that Ctrl-C stays Ctrl-C.
    """

    def __init__(self, solution_file: str | None) -> None:
        self.values: dict[str, Any] = {}
        self.error: dict[str, str] | None = None
        self.solution_file = solution_file
        self._caught = Exception if solution_file is None else BaseException

    def put(self, key: Key, value: Any) -> None:
        self.values[key.wire()] = value

    def run(self, stage: Stage, call: Callable[[], Any]) -> Any:
        try:
            return call()
        except self._caught as exc:  # the submission's own failure, recorded for the parent
            self.fail(stage, exc)
            raise Stop from None

    def fail(self, stage: str, exc: BaseException) -> None:
        """Record `exc` as the case's error; `stage` is a Stage, or "reading NAME"."""
        self.error = {
            "stage": stage,
            "type": type_name(exc),
            "text": limit(_message(exc), 500),
            "traceback": _user_traceback(exc, self.solution_file),
        }


def _message(exc: BaseException) -> str:
    """str(exc), or why it cannot be read: its __str__ may raise or return a non-string."""
    try:
        return str.__str__(str(exc))
    except BaseException as error:
        try:
            why = f"{type_name(error)}: {str.__str__(str(error))}"
        except BaseException:
            why = type_name(error)
        return f"(its message cannot be read: {why})"


def _user_traceback(exc: BaseException, solution_file: str | None) -> str:
    """The traceback lines that belong to the submission, not to drill."""
    frames = traceback.extract_tb(exc.__traceback__)
    own = [f for f in frames if solution_file is None or f.filename == solution_file]
    last = f"{type_name(exc)}: {_message(exc)}\n"
    return limit("".join(traceback.format_list(own)) + last, TRACEBACK_LIMIT)


def _copy(value: Any) -> Any:
    return value.copy() if isinstance(value, np.ndarray) else value


# --- drivers: one per kind of exercise; each fills a Recorder from one case --------------


def _arguments(names: list[str], case: Mapping[str, Any], arrays: Mapping[str, Any]) -> list:
    return [_copy(arrays[name]) if name in arrays else case["values"][name] for name in names]


def drive_layer(
    entry: Any, case: Mapping[str, Any], arrays: Mapping[str, Any], rec: Recorder
) -> None:
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
    for attribute in case["grads"].values():  # a property may raise: part of backward's work
        value = rec.run("backward", lambda a=attribute: getattr(layer, a, _MISSING))
        rec.put(Key.result(attribute), value)
    _snapshot(rec, "backward", init, init_args, {case["input"]: x, "grad_output": grad_output})
    grads = {case["input"]: grad_input} if case["grad_input"] else {}
    for argument, attribute in case["grads"].items():
        grads[argument] = rec.values[Key.result(attribute).wire()]
    settled = set()  # targets whose element probes would show nothing: backward agrees
    for index, probe in enumerate(case["probes"]):
        target = probe["target"]
        if "element" in probe and target in settled:
            continue
        outputs = []
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
            output = rec.run("probe", lambda a=args, n=shifted: entry(*a).forward(n[case["input"]]))
            rec.put(Key.probed(target, index, sign), output)
            outputs.append(output)
        if "direction" in probe and (
            target not in grads
            # The plan's grad_output, as the parent uses: backward may have changed its copy.
            or _agrees_along(
                grads[target],
                outputs,
                arrays["grad_output"],
                arrays[probe["direction"]],
                probe["eps"],
                case,
            )
        ):
            settled.add(target)


def _agrees_along(
    grad: Any,
    outputs: list[Any],
    grad_output: np.ndarray,
    direction: np.ndarray,
    eps: float,
    case: Mapping[str, Any],
) -> bool:
    """Whether backward's `grad`, along `direction`, matches the central difference of the
    forward `outputs` shifted up and down along it, within the plan's "pinpoint_above".

    The parent judges this again from what is sent; here it only decides whether element
    probes, two forward calls each, are worth running to point at a wrong entry.
    """
    try:
        with np.errstate(all="ignore"):
            plus, minus = (np.asarray(output, dtype=np.float64) for output in outputs)
            grad = np.asarray(grad, dtype=np.float64)
            if plus.shape != grad_output.shape or minus.shape != plus.shape:
                return False
            if grad.shape != direction.shape:
                return False
            numeric = float(np.sum(grad_output * (plus - minus))) / (2 * eps)
            analytic = float(np.sum(grad * direction))
    except BaseException:  # no array of numbers: the parent reports what came instead
        return False
    scale = max(abs(numeric), abs(analytic), 1e-3 * float(np.linalg.norm(direction)))
    return abs(numeric - analytic) <= case["pinpoint_above"] * scale


def drive_function(
    entry: Any, case: Mapping[str, Any], arrays: Mapping[str, Any], rec: Recorder
) -> None:
    """Call the function once and record what it returns, by the declared structure."""
    args = _arguments(case["args"], case, arrays)
    result = rec.run("call", lambda: entry(*args, **case["kwargs"]))
    _unpack(result, case["returns"], rec, "")
    _snapshot(rec, "call", case["args"], args, {})


def drive_numerical_gradient(
    entry: Any, case: Mapping[str, Any], arrays: Mapping[str, Any], rec: Recorder
) -> None:
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


def drive_autograd(
    entry: Any, case: Mapping[str, Any], arrays: Mapping[str, Any], rec: Recorder
) -> None:
    """Build the case's expression from the submission's Value class and run backward()."""
    tree = parse_expression(case["expression"], case["inputs"])
    leaves = rec.run("constructor", lambda: {k: entry(v) for k, v in case["inputs"].items()})
    out = rec.run("expression", lambda: evaluate_expression(tree, dict(leaves)))
    rec.run("backward", out.backward)
    rec.put(Key.result("data"), rec.run("expression", lambda: out.data))
    for name, leaf in leaves.items():
        grad = rec.run("backward", lambda v=leaf: getattr(v, "grad", _MISSING))
        rec.put(Key.result(f"{name}.grad"), grad)


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


# --- the process itself ---------------------------------------------------------------------

FILE_SIZE_LIMIT = 64 << 20  # bytes in any one file the submission writes
OPEN_FILES_LIMIT = 256


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


def _compile_submission(source: bytes, path: str) -> CodeType | Exception:
    """The submission's code, compiled once for every child (or why it cannot be)."""
    try:
        return compile(source, path, "exec")
    except Exception as error:  # reported by each child as a failure of its import
        return error


def _import_submission(path: str, code: CodeType | Exception) -> Any:
    if isinstance(code, Exception):
        raise code
    spec = importlib.util.spec_from_file_location("submission", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["submission"] = module
    exec(code, module.__dict__)
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
        sent = 0  # bytes of arrays in out_arrays
        for number, case in enumerate(exercise["cases"]):
            rec = Recorder(solution)
            try:
                case_arrays = {name: arrays[key] for name, key in case["arrays"].items()}
                check_type.drive(entry, case, case_arrays, rec)
            except Stop:
                pass
            except BaseException as exc:  # SystemExit and the like: the case cannot go on
                rec.fail("run", exc)
            unreadable: list[tuple[str, BaseException]] = []
            meta, case_out = encode(rec.values, f"c{number}_", unreadable)
            if unreadable and rec.error is None:
                name, error = unreadable[0]
                rec.fail(f"reading {_label(name)}", error)
            size = sum(array.nbytes for array in case_out.values())
            if sent + size > wire.PAYLOAD_LIMIT:  # drill would refuse the whole frame: say why
                meta, case_out = {}, {}
                rec.fail("returning the results", ResultsTooLarge(sent + size))
            else:
                sent += size
            meta_cases.append({"values": meta, "error": rec.error})
            out_arrays.update(case_out)
            if rec.error is not None and rec.error["type"] == "MemoryError":
                break  # the next cases would only run into the cap again, slowly
        return {"cases": meta_cases}, out_arrays, capture.text()
    finally:
        sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__


def _label(wire_key: str) -> str:
    """The name a recorded value is shown by in a message."""
    key = Key.from_wire(wire_key)
    if key is None:
        return wire_key
    return f"forward's output with {key.name} shifted" if key.role == "probe" else key.name


class Supervisor:
    """Drill's trusted process inside the sandbox: forks one child per exercise, cleans up.

    Several supervisors may serve one drill at once, one a lane, each the init of a PID
    namespace of its own (see `_serve_lanes`). Commands arrive on its control socket:
    `load` (compile the submission, and load plan.json and plan.bin when the plan is new,
    before any submission code runs), `run` (with a pipe for the child's frames) and `end`
    (kill every other process in its namespace, then answer `clean`), handled in order, so
    the parent may send the next `run` at once. When the child exits, the parent hears
    `exited` with its status, so a crash is known at once; both answers carry the run's
    number.
    """

    def __init__(self, control: socket.socket, argv: Mapping[str, str], lanes: int = 1) -> None:
        self.control = control
        self.lanes = lanes  # how many supervisors serve drill at once, this one included
        self.solution = argv["solution"]
        self.plan_dir = argv["plan"]
        self.scratch = argv["scratch"]
        # Runs are numbered from 1 again: what a supervisor before us (one that died without
        # cleaning up) left here goes first.
        shutil.rmtree(self.scratch, ignore_errors=True)
        os.makedirs(self.scratch)
        self.memory_bytes = int(argv["memory"])
        self.namespaced = os.getpid() == 1
        abi = sandbox.landlock_abi()
        self.ruleset = -1
        if abi:
            with contextlib.suppress(OSError):
                self.ruleset = sandbox.landlock_ruleset(abi, self.scratch, not self.namespaced)
        landlock = self.ruleset >= 0
        try:
            # On this supervisor, which never opens a socket: every child it forks inherits it.
            sandbox.deny_sockets()
            network = "seccomp"
        except OSError:
            network = "namespace" if self.namespaced else sandbox.NONE
        if network == sandbox.NONE and landlock and abi >= 4:
            network = "landlock (TCP only)"
        processes = "pid namespace" if self.namespaced else sandbox.NONE
        if not self.namespaced and sandbox.become_subreaper():
            processes = "subreaper"
        self.protections = sandbox.Protections(
            filesystem="landlock" if landlock else sandbox.NONE,
            network=network,
            processes=processes,
        )
        self.plan: list[dict[str, Any]] = []
        self.code: CodeType | Exception = RuntimeError("no plan yet")
        self.source: bytes | None = None  # what self.code was compiled from
        self.arrays: dict[str, np.ndarray] = {}
        self.child = 0
        self.child_fd = -1  # a pidfd: readable once the child has exited
        self.runs = 0

    def send(self, **message: Any) -> None:
        self.control.sendall(wire.frame(message))

    def serve(self) -> None:
        """Answer drill's commands until it closes the control socket."""
        # Closed with our answers unread, or while we wrote: a close all the same.
        with contextlib.suppress(ConnectionError):
            self._serve()

    def _serve(self) -> None:
        self.send(event="ready", sandbox=self.protections.as_dict(), lanes=self.lanes)
        # While drill prepares the plan: the first `load` then finds the source compiled.
        self._compile()
        reader = wire.FrameReader()
        received: list[int] = []  # descriptors, in the order of the `run`s that carry them
        while True:
            watched = [self.control] + ([self.child_fd] if self.child_fd >= 0 else [])
            # Without pidfds (not Linux), a child's exit is noticed by looking every 50 ms.
            polling = self.child and self.child_fd < 0
            ready, _, _ = select.select(watched, [], [], 0.05 if polling else None)
            if self.child_fd in ready or polling:
                self._reap_child()
            if self.control not in ready:
                continue
            data, fds, _, _ = socket.recv_fds(self.control, 1 << 16, 8)
            if not data:
                return
            received.extend(fds)
            for header, _ in reader.feed(data):
                message = wire.parse_control(header)
                command = message.get("command")
                if command == "load":
                    self._load(message.get("plan") is True)
                elif command == "run" and received:
                    self._start(message.get("exercise"), received.pop(0))
                elif command == "end":
                    self._end()

    def _load(self, plan: bool) -> None:
        """Compile the submission's current source; reload the plan too when it changed."""
        if plan:
            # Raw bytes and an index, as results travel: a zip member per array was slow.
            with open(os.path.join(self.plan_dir, "plan.json"), encoding="utf-8") as handle:
                stored = json.load(handle)
            with open(os.path.join(self.plan_dir, "plan.bin"), "rb") as handle:
                payload = handle.read()
            self.plan = stored["exercises"]
            self.arrays = wire.load_arrays(stored["arrays"], payload, len(payload))
        self._compile()

    def _compile(self) -> None:
        """Compile the submission's current source, unless it is what was compiled last."""
        try:
            with open(self.solution, "rb") as handle:
                source = handle.read()
        except OSError as error:
            self.code, self.source = error, None
            return
        if source != self.source:
            self.code, self.source = _compile_submission(source, self.solution), source

    def _start(self, exercise_id: Any, fd: int) -> None:
        exercise = next((e for e in self.plan if e["id"] == exercise_id), None)
        self.runs += 1
        workdir = os.path.join(self.scratch, f"run-{self.runs}")
        os.makedirs(workdir)
        supervisor = os.getpid()
        pid = os.fork()
        if pid == 0:
            try:
                self._child(exercise, fd, workdir, supervisor)
            finally:
                os._exit(0)
        os.close(fd)
        self.child = pid
        if hasattr(os, "pidfd_open"):
            self.child_fd = os.pidfd_open(pid)

    def _reap_child(self) -> None:
        """Tell the parent the child's exit status, if it has exited."""
        pid, status = os.waitpid(self.child, os.WNOHANG)
        if not pid:
            return
        if self.child_fd >= 0:
            os.close(self.child_fd)
            self.child_fd = -1
        self.child = 0
        self.send(event="exited", run=self.runs, status=os.waitstatus_to_exitcode(status))

    def _end(self) -> None:
        if self.child_fd >= 0:
            os.close(self.child_fd)
            self.child_fd = -1
        if self.child:  # its own process group: without /proc, that is what can be found
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.child, signal.SIGKILL)
            self.child = 0
        sandbox.kill_descendants()
        shutil.rmtree(os.path.join(self.scratch, f"run-{self.runs}"), ignore_errors=True)
        self.send(event="clean", run=self.runs)

    def _child(self, exercise: dict | None, fd: int, workdir: str, supervisor: int) -> None:
        """Confine this process, import the submission, run one exercise, send the results."""
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # the supervisor's handler is not ours
        sandbox.die_with_parent(lambda: os.getppid() == supervisor)
        os.setpgid(0, 0)
        keep = sorted({fd, self.ruleset} - {-1})
        low = 3
        for kept in keep:  # everything else drill holds: the control socket, the plan files…
            os.closerange(low, kept)
            low = kept + 1
        os.closerange(low, OPEN_FILES_LIMIT * 16)
        _limit_resources(self.memory_bytes)
        os.chdir(workdir)
        for name in ("TMPDIR", "TEMP", "TMP"):
            os.environ[name] = workdir
        if self.ruleset >= 0:
            sandbox.restrict_self(self.ruleset)
            os.close(self.ruleset)
        sys.argv = [self.solution]
        sys.path.insert(0, os.path.dirname(self.solution))
        capture = _Capture()
        sys.stdout = sys.stderr = capture
        try:
            module = _import_submission(self.solution, self.code)
        except SyntaxError as exc:
            shown = f"\n    {exc.text.strip()}" if exc.text and exc.text.strip() else ""
            failure = {"kind": "syntax", "line": exc.lineno, "text": f"{exc.msg}{shown}"}
            wire.send_frame(fd, {"event": "import-failed", **failure, "output": ""})
            return
        except BaseException as exc:  # the submission may raise anything, SystemExit included
            kind = "exit" if isinstance(exc, SystemExit) else "exception"
            trace = _user_traceback(exc, self.solution)
            header = {"event": "import-failed", "kind": kind, "text": trace}
            wire.send_frame(fd, {**header, "output": capture.text()})
            return
        finally:
            sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__
        wire.send_frame(fd, {"event": "imported"})
        if exercise is None:
            return
        meta, out_arrays, output = _run_exercise(module, exercise, self.arrays, self.solution)
        index, chunks = wire.pack_arrays(out_arrays)
        header = {"event": "done", "result": meta, "output": output, "arrays": index}
        wire.send_frame(fd, header, chunks)


def _limit_resources(memory_bytes: int) -> None:
    """Caps for the submission's process; lowering each hard limit too means it stays put."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # an oversized write fails instead of killing
    for kind, value in (
        (resource.RLIMIT_CORE, 0),
        (resource.RLIMIT_AS, memory_bytes),
        (resource.RLIMIT_FSIZE, FILE_SIZE_LIMIT),
        (resource.RLIMIT_NOFILE, OPEN_FILES_LIMIT),
    ):
        _, hard = resource.getrlimit(kind)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)  # an unprivileged process cannot raise it
        with contextlib.suppress(ValueError, OSError):  # e.g. RLIMIT_AS on macOS
            resource.setrlimit(kind, (value, value))


DRILL_GONE = 0  # the exit status of a worker that ended because drill had died


def main(argv: list[str]) -> None:
    """The worker process: argv is parent pid, control fds (one a lane, comma-separated),
    solution, plan, scratch, memory.

    This process is outside the sandbox's rules. When drill dies, even by SIGKILL, it ends
    every process it started and removes drill's temporary folder, which drill itself had
    no chance to remove. It learns of that death from the control sockets closing (drill's
    files close first; a living drill kills the worker before closing its ends) or from the
    SIGTERM the kernel sends then.
    """
    names = ("parent", "controls", "solution", "plan", "scratch", "memory")
    args = dict(zip(names, argv))
    import drill.grader.checks  # noqa: F401  the check types and their drivers, before user code

    parent = int(args["parent"])
    workdir = os.path.dirname(args["plan"])  # drill's temporary folder for this file
    drill_gone = False
    init = 0  # the namespace's first process, once there is one

    def on_term(number: int, frame: Any) -> None:
        # Never raises: an exception from here could cut the cleanup below short.
        nonlocal drill_gone
        if os.getppid() == parent:  # a SIGTERM from anyone else while drill lives: ignored
            return
        drill_gone = True
        if init:  # ends the namespace, so the wait for it returns
            with contextlib.suppress(ProcessLookupError):
                os.kill(init, signal.SIGKILL)

    signal.signal(signal.SIGTERM, on_term)
    outermost = True  # the process drill started, the one to remove drill's folder
    try:
        sandbox.die_with_parent(lambda: os.getppid() == parent, signal.SIGTERM)
        controls = [socket.socket(fileno=int(fd)) for fd in args["controls"].split(",")]
        if sandbox.enter_namespaces():
            init = _fork_init()
            if init:  # outside the namespace only to hold it: its death ends everything inside
                for control in controls:
                    control.close()
                _, status = os.waitpid(init, 0)
                drill_gone = drill_gone or os.waitstatus_to_exitcode(status) == DRILL_GONE
                return
            outermost = False
            # The namespace's init takes no signal it has no handler for from inside it.
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            if len(controls) > 1 and _nesting_works():
                drill_gone = _serve_lanes(controls, args)
                return
        for extra in controls[1:]:  # without a namespace, kill-all cleanup allows one lane
            extra.close()
        Supervisor(controls[0], args).serve()
        drill_gone = True  # serve() returns when the control socket closes
    finally:
        sandbox.kill_descendants()
        if outermost and drill_gone:
            shutil.rmtree(workdir, ignore_errors=True)
        os._exit(DRILL_GONE if drill_gone else 1)


def _fork_init() -> int:
    """Fork the first process of the PID namespace this one's children go to: its pid here,
    0 in it. It dies with this process, which holds the namespace."""
    alive_read, alive_write = os.pipe()
    init = os.fork()
    if init:
        os.close(alive_read)  # alive_write stays open as long as this process lives
        return init
    os.close(alive_write)
    # Our parent lives outside the namespace (getppid() reads 0): it is alive as long as it
    # holds the other end of this pipe open.
    sandbox.die_with_parent(lambda: not select.select([alive_read], [], [], 0)[0])
    return 0


def _serve_lanes(controls: list[socket.socket], args: Mapping[str, str]) -> bool:
    """Serve each control socket with a supervisor of its own; True once drill has gone.

    Each supervisor is the init of a nested PID namespace, so the kill that ends one lane's
    exercise reaches no other lane's. Called in the init of the sandbox's namespace.
    """
    holders = []
    for number, control in enumerate(controls):
        holder = os.fork()
        if holder == 0:
            for other in controls:
                if other is not control:
                    other.close()
            scratch = os.path.join(args["scratch"], f"lane-{number}")
            _hold_lane(control, {**args, "scratch": scratch}, len(controls))
        holders.append(holder)
    for control in controls:
        control.close()
    statuses = [os.waitpid(holder, 0)[1] for holder in holders]
    return any(os.waitstatus_to_exitcode(status) == DRILL_GONE for status in statuses)


def _nesting_works() -> bool:
    """Whether a PID namespace can be made inside this one (a child tries)."""
    probe = os.fork()
    if probe == 0:
        try:
            sandbox.new_pid_namespace()
        except BaseException:
            os._exit(1)
        os._exit(0)
    return os.waitstatus_to_exitcode(os.waitpid(probe, 0)[1]) == 0


def _hold_lane(control: socket.socket, args: Mapping[str, str], lanes: int) -> NoReturn:
    """Make a PID namespace for one lane, its supervisor as init, and wait for its end."""
    status = 1
    try:
        sandbox.die_with_parent(lambda: os.getppid() == 1)
        sandbox.new_pid_namespace()
        init = _fork_init()
        if init:
            control.close()
            status = os.waitstatus_to_exitcode(os.waitpid(init, 0)[1])
            return
        try:
            Supervisor(control, args, lanes).serve()
            status = DRILL_GONE
        finally:
            sandbox.kill_descendants()
            os._exit(status)
    finally:
        os._exit(status)
