"""Computing an expression that `syntax.read` accepted, on the question's arrays.

The tree is walked node by node; nothing is handed to `eval`. Every intermediate result is
kept under MAX_ELEMENTS entries, and operations that could build a larger one (broadcasting,
@, outer, einsum, eye, diag) are refused *before* they allocate it. Whole numbers in
arithmetic become floats, so no exponent can build a huge integer.
"""

from __future__ import annotations

import ast
import math
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from drill.formula.syntax import called_function

MAX_ELEMENTS = 100_000
# einsum loops over every combination of its letters; bound that work too.
MAX_EINSUM_WORK = 1_000_000

_BINARY: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: np.add,
    ast.Sub: np.subtract,
    ast.Mult: np.multiply,
    ast.Div: np.divide,
    ast.Pow: np.power,
}
_SYMBOLS = {ast.Add: "+", ast.Sub: "−", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}
_COMPARE: dict[type, Callable[[Any, Any], Any]] = {
    ast.Lt: np.less,
    ast.LtE: np.less_equal,
    ast.Gt: np.greater,
    ast.GtE: np.greater_equal,
    ast.Eq: np.equal,
    ast.NotEq: np.not_equal,
}
_ELEMENTWISE: dict[str, Callable[[Any], Any]] = {
    "exp": np.exp,
    "log": np.log,
    "log1p": np.log1p,
    "sqrt": np.sqrt,
    "square": np.square,
    "tanh": np.tanh,
    "abs": np.abs,
    "sign": np.sign,
    "ones_like": np.ones_like,
    "zeros_like": np.zeros_like,
}
_REDUCTIONS: dict[str, Callable[..., Any]] = {
    "sum": np.sum,
    "mean": np.mean,
    "max": np.max,
    "min": np.min,
    "var": np.var,
    "std": np.std,
    "prod": np.prod,
}


class EvaluationError(ValueError):
    """The expression is well formed but cannot be computed on these arrays; one line."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def shape_text(shape: tuple[int, ...], sizes: Mapping[str, int]) -> str:
    """A shape with each size written by its name where one name has that value: (N, D)."""
    names: dict[int, list[str]] = {}
    for name, value in sizes.items():
        names.setdefault(value, []).append(name)
    parts = [names[d][0] if len(names.get(d, [])) == 1 else str(d) for d in shape]
    return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"


def evaluate(
    tree: ast.Expression, text: str, arrays: Mapping[str, np.ndarray], sizes: Mapping[str, int]
) -> np.ndarray:
    """The value of an accepted expression: an array of at most MAX_ELEMENTS entries.

    `arrays` binds the question's variables, `sizes` its dimension names; `text` is the
    source the tree was read from, quoted in error messages. Raises EvaluationError.
    """
    evaluator = _Evaluator(text, arrays, sizes)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            value = evaluator.value(tree.body)
        except EvaluationError:
            raise
        except (ValueError, TypeError, IndexError, ArithmeticError) as error:
            first = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise EvaluationError(f"cannot compute it: {first[:160]}") from None
    result = np.asarray(value)
    if result.dtype.kind == "b":
        result = result.astype(float)
    if result.dtype.kind not in "iuf":
        raise EvaluationError(f"it gives {result.dtype} values, not numbers")
    return result.astype(float)


def _one_axis_reduced(shapes: list[tuple[int, ...]]) -> bool:
    """Whether one shape is another with one axis removed, as a reduction without keepdims
    leaves it."""
    for full in shapes:
        for reduced in shapes:
            if len(full) == len(reduced) + 1 and any(
                full[:axis] + full[axis + 1 :] == reduced for axis in range(len(full))
            ):
                return True
    return False


class _Evaluator:
    def __init__(
        self, text: str, arrays: Mapping[str, np.ndarray], sizes: Mapping[str, int]
    ) -> None:
        self.text = text.strip()
        self.arrays = arrays
        self.sizes = sizes

    def _shape(self, shape: tuple[int, ...]) -> str:
        return shape_text(shape, self.sizes)

    def _source(self, node: ast.AST) -> str:
        return ast.get_source_segment(self.text, node) or "part of it"

    def _guard(self, shape: tuple[int, ...], node: ast.AST) -> None:
        if math.prod(shape) > MAX_ELEMENTS:
            raise EvaluationError(
                f"{self._source(node)} would have shape {self._shape(shape)}, more than "
                f"{MAX_ELEMENTS} entries"
            )

    def _broadcast(self, node: ast.AST, *values: Any) -> None:
        shapes = [np.shape(v) for v in values]
        try:
            shape = np.broadcast_shapes(*shapes)
        except ValueError:
            listed = " and ".join(self._shape(s) for s in shapes)
            advice = "; keepdims=True keeps a reduced axis" if _one_axis_reduced(shapes) else ""
            raise EvaluationError(
                f"{self._source(node)}: shapes {listed} do not broadcast together{advice}"
            ) from None
        self._guard(shape, node)

    def value(self, node: ast.expr) -> Any:
        """An array or a float."""
        if isinstance(node, ast.Name):
            if node.id in self.arrays:
                return self.arrays[node.id]
            return float(self.sizes[node.id])
        if isinstance(node, ast.Constant):
            return float(node.value)
        if isinstance(node, ast.UnaryOp):
            operand = self.value(node.operand)
            return -operand if isinstance(node.op, ast.USub) else operand
        if isinstance(node, ast.BinOp):
            return self._binary(node)
        if isinstance(node, ast.Compare):
            left, right = self.value(node.left), self.value(node.comparators[0])
            self._broadcast(node, left, right)
            return _COMPARE[type(node.ops[0])](left, right)
        if isinstance(node, ast.Attribute):  # .T, the only attribute syntax.read lets through
            return np.transpose(self.value(node.value))
        if isinstance(node, ast.Subscript):
            return np.asarray(self.value(node.value))[self._index(node.slice)]
        if isinstance(node, ast.Call):
            return self._call(node)
        raise EvaluationError(f"{type(node).__name__} cannot be evaluated")

    def _binary(self, node: ast.BinOp) -> Any:
        left, right = self.value(node.left), self.value(node.right)
        if isinstance(node.op, ast.MatMult):
            return self._matmul(node, left, right)
        self._broadcast(node, left, right)
        return _BINARY[type(node.op)](left, right)

    def _matmul(self, node: ast.AST, left: Any, right: Any) -> Any:
        a, b = np.shape(left), np.shape(right)
        if not a or not b:
            raise EvaluationError(f"{self._source(node)}: @ needs arrays, not a single number")
        inner_left = a[-1]
        inner_right = b[0] if len(b) == 1 else b[-2]
        if inner_left != inner_right:
            raise EvaluationError(
                f"{self._source(node)}: the inner sizes of {self._shape(a)} @ {self._shape(b)} "
                "differ"
            )
        rows = a[:-1][-1:] if len(a) > 1 else ()
        columns = b[-1:] if len(b) > 1 else ()
        try:
            batch = np.broadcast_shapes(a[:-2], b[:-2])
        except ValueError:
            raise EvaluationError(
                f"{self._source(node)}: the leading axes of {self._shape(a)} and "
                f"{self._shape(b)} do not broadcast"
            ) from None
        self._guard((*batch, *rows, *columns), node)
        return np.matmul(left, right)

    def _whole(self, node: ast.expr) -> int:
        if isinstance(node, ast.Name):
            return self.sizes[node.id]
        if isinstance(node, ast.UnaryOp):
            return -self._whole(node.operand)
        return int(node.value)  # type: ignore[attr-defined]

    def _axis(self, node: ast.expr) -> Any:
        if isinstance(node, ast.Constant) and node.value is None:
            return None
        if isinstance(node, ast.Tuple):
            return tuple(self._whole(item) for item in node.elts)
        return self._whole(node)

    def _index(self, node: ast.expr) -> Any:
        items = node.elts if isinstance(node, ast.Tuple) else [node]
        parts: list[Any] = []
        for item in items:
            if isinstance(item, ast.Slice):
                bounds = [None if p is None else self._whole(p) for p in (item.lower, item.upper)]
                step = None if item.step is None else self._whole(item.step)
                if step == 0:
                    raise EvaluationError(f"{self._source(item)}: a slice step cannot be 0")
                parts.append(slice(bounds[0], bounds[1], step))
            elif isinstance(item, ast.Constant) and (item.value is None or item.value is ...):
                parts.append(item.value)
            else:
                parts.append(self._whole(item))
        return tuple(parts) if isinstance(node, ast.Tuple) else parts[0]

    def _call(self, node: ast.Call) -> Any:
        name, args = called_function(node)
        keywords = {
            k.arg: (k.value.value if k.arg == "keepdims" else self._axis(k.value))  # type: ignore[attr-defined]
            for k in node.keywords
        }
        if name in _REDUCTIONS:
            if len(args) > 1:
                keywords["axis"] = self._axis(args[1])
            return _REDUCTIONS[name](self.value(args[0]), **keywords)
        if name in _ELEMENTWISE:
            return _ELEMENTWISE[name](self.value(args[0]))
        if name == "einsum":
            return self._einsum(node, args[0].value, [self.value(a) for a in args[1:]])  # type: ignore[attr-defined]
        if name in ("stack", "concatenate"):
            items = [self.value(item) for item in args[0].elts]  # type: ignore[attr-defined]
            self._guard((sum(np.size(item) for item in items),), node)
            if len(args) > 1:
                keywords["axis"] = self._axis(args[1])
            return getattr(np, name)(items, **keywords)
        if name in ("reshape", "transpose"):
            rest = args[1:]
            if len(rest) == 1 and isinstance(rest[0], (ast.Tuple, ast.List)):
                rest = rest[0].elts
            whole = tuple(self._whole(item) for item in rest)
            array = self.value(args[0])
            return (
                np.reshape(array, whole)
                if name == "reshape"
                else np.transpose(array, whole or None)
            )
        if name == "eye":
            size = self._whole(args[0])
            if size < 0:
                raise EvaluationError("eye() needs a size of at least 0")
            self._guard((size, size), node)
            return np.eye(size)
        if name == "swapaxes":
            return np.swapaxes(self.value(args[0]), self._whole(args[1]), self._whole(args[2]))
        values = [self.value(arg) for arg in args]
        if name in ("maximum", "minimum", "where", "clip"):
            self._broadcast(node, *values)
            return getattr(np, name)(*values)
        if name == "outer":
            self._guard((np.size(values[0]), np.size(values[1])), node)
            return np.outer(*values)
        if name == "diag":
            if np.ndim(values[0]) == 1:
                self._guard((np.size(values[0]),) * 2, node)
            return np.diag(values[0])
        # dot and matmul
        if name == "dot" and (np.ndim(values[0]) == 0 or np.ndim(values[1]) == 0):
            return np.multiply(*values)
        if name == "dot" and max(np.ndim(v) for v in values) > 2:
            raise EvaluationError("dot of arrays with more than two axes; use @ or einsum")
        return self._matmul(node, *values)

    def _einsum(self, node: ast.AST, subscripts: str, operands: list[Any]) -> Any:
        subscripts = subscripts.replace(" ", "")
        inputs, _, output = subscripts.partition("->")
        letters: dict[str, int] = {}
        for term, operand in zip(inputs.split(","), operands, strict=True):
            shape = np.shape(operand)
            if len(term) != len(shape):
                raise EvaluationError(
                    f"einsum: '{term}' names {len(term)} axes but its array has shape "
                    f"{self._shape(shape)}"
                )
            for letter, size in zip(term, shape, strict=True):
                if letters.setdefault(letter, size) != size:
                    raise EvaluationError(
                        f"einsum: '{letter}' stands for two different sizes, "
                        f"{letters[letter]} and {size}"
                    )
        if "->" in subscripts:
            if set(output) - set(letters) or len(set(output)) != len(output):
                raise EvaluationError(f"einsum: the output '{output}' is not valid")
        else:  # implicit output: the letters used once, in alphabetical order
            output = "".join(sorted(k for k in letters if inputs.count(k) == 1))
        self._guard(tuple(letters[k] for k in output), node)
        if math.prod(letters.values()) > MAX_EINSUM_WORK:
            raise EvaluationError("einsum: this contraction is too large to compute here")
        return np.einsum(subscripts, *operands)
