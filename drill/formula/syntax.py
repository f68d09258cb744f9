"""Reading a typed expression against a whitelist, without evaluating anything.

An expression is parsed with `ast` and every node is checked: the question's variable and
size names, numbers, arithmetic (+ − * / ** and @), one comparison, `.T`, basic indexing and
slicing, and calls of a fixed set of NumPy functions (the `np.`/`numpy.` prefix optional) or
array methods. Everything else — other attributes, other calls, comprehensions, lambdas,
strings outside einsum, starred arguments, keywords other than axis/keepdims — is rejected
with one line saying what is not allowed. Length, nesting depth, exponents and whole
numbers are bounded so that a rejected or accepted expression is cheap to read.

This module does not import NumPy: the bank loader uses it on every formula question.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from dataclasses import dataclass

from drill.text import plural

MAX_LENGTH = 300
MAX_DEPTH = 32
MAX_SEQUENCE = 8  # items in a list or tuple written in an expression
MAX_EXPONENT = 8
MAX_WHOLE_NUMBER = 10_000
MAX_EINSUM_OPERANDS = 4
NUMPY_PREFIXES = ("np", "numpy")
KEYWORDS = ("axis", "keepdims")
EINSUM_SUBSCRIPTS = re.compile(r"[a-zA-Z]+(,[a-zA-Z]+)*(->[a-zA-Z]*)?")


class Rejected(ValueError):
    """The text is not an expression drill accepts; `message` is one line saying why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Signature:
    """The parameters of a whitelisted function, by kind, and the keywords it takes.

    Kinds: "array" (any expression), "int" (a whole number or a size name), "axis?" (an
    optional axis or tuple of axes), "ints" (the rest: whole numbers, or one tuple of them),
    "subscripts" (einsum's text), "operands" (the rest: one to four arrays), "sequence" (a
    list or tuple of arrays).
    """

    params: tuple[str, ...]
    keywords: tuple[str, ...] = ()


_REDUCTION = Signature(("array", "axis?"), KEYWORDS)
_UNARY = Signature(("array",))
_BINARY = Signature(("array", "array"))
_JOIN = Signature(("sequence", "axis?"), ("axis",))

FUNCTIONS: dict[str, Signature] = {
    **dict.fromkeys(("sum", "mean", "max", "min", "var", "std", "prod"), _REDUCTION),
    **dict.fromkeys(
        ("exp", "log", "log1p", "sqrt", "square", "tanh", "abs", "sign"),
        _UNARY,
    ),
    **dict.fromkeys(("diag", "ones_like", "zeros_like"), _UNARY),
    **dict.fromkeys(("maximum", "minimum", "outer", "dot", "matmul"), _BINARY),
    "where": Signature(("array", "array", "array")),
    "clip": Signature(("array", "array", "array")),
    "einsum": Signature(("subscripts", "operands")),
    "eye": Signature(("int",)),
    "reshape": Signature(("array", "ints")),
    "transpose": Signature(("array", "ints")),
    "swapaxes": Signature(("array", "int", "int")),
    "stack": _JOIN,
    "concatenate": _JOIN,
}
# Array methods are the functions of the same name with the array as first argument.
METHODS = ("sum", "mean", "max", "min", "var", "std", "prod", "reshape", "transpose")
METHODS += ("swapaxes", "clip", "dot")
RESERVED_NAMES = frozenset(FUNCTIONS) | frozenset(NUMPY_PREFIXES)

_COMPARISONS = (ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.Eq, ast.NotEq)
_OPERATORS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow, ast.MatMult)
_FRIENDLY = {
    ast.Lambda: "lambda",
    ast.ListComp: "a comprehension",
    ast.SetComp: "a comprehension",
    ast.DictComp: "a comprehension",
    ast.GeneratorExp: "a generator",
    ast.JoinedStr: "an f-string",
    ast.Dict: "a dict",
    ast.Set: "a set",
    ast.NamedExpr: "':='",
    ast.IfExp: "'if … else'",
    ast.BoolOp: "'and'/'or' (use & or np.where)",
    ast.Await: "await",
    ast.Starred: "'*' unpacking",
}


def function_list() -> str:
    return ", ".join(sorted(FUNCTIONS))


def called_function(node: ast.Call) -> tuple[str, list[ast.expr]]:
    """The whitelisted function a call names and its positional arguments (a method's array
    first); Rejected for any other call."""
    func = node.func
    if isinstance(func, ast.Name) and func.id in FUNCTIONS:
        return func.id, list(node.args)
    if isinstance(func, ast.Attribute):
        base = func.value
        if isinstance(base, ast.Name) and base.id in NUMPY_PREFIXES:
            if func.attr in FUNCTIONS:
                return func.attr, list(node.args)
            raise Rejected(
                f"{base.id}.{func.attr} is not allowed; the functions are {function_list()}"
            )
        if func.attr in METHODS:
            return func.attr, [base, *node.args]
        raise Rejected(f"the method .{func.attr}() is not allowed; methods: {', '.join(METHODS)}")
    if isinstance(func, ast.Name):
        raise Rejected(f"calling {func.id}() is not allowed; the functions are {function_list()}")
    raise Rejected("only whitelisted functions can be called, by name")


def read(text: str, variables: Iterable[str], sizes: Iterable[str] = ()) -> ast.Expression:
    """The parsed expression, checked against the whitelist; Rejected with one line otherwise.

    `variables` are the array names the question declares; `sizes` its dimension names,
    which stand for whole numbers (e.g. N in `G / N`).
    """
    stripped = text.strip()
    if not stripped:
        raise Rejected("the expression is empty")
    if len(stripped) > MAX_LENGTH:
        raise Rejected(f"the expression is longer than {MAX_LENGTH} characters")
    try:
        tree = ast.parse(stripped, mode="eval")
    except SyntaxError as error:
        column = f" at column {error.offset}" if error.offset else ""
        raise Rejected(f"not a valid expression: {error.msg}{column}") from None
    except (ValueError, RecursionError, MemoryError):
        raise Rejected("not a valid expression") from None
    _Checker(frozenset(variables), frozenset(sizes)).check(tree.body, 0)
    return tree


class _Checker:
    def __init__(self, variables: frozenset[str], sizes: frozenset[str]) -> None:
        self.variables = variables
        self.sizes = sizes

    def _known(self) -> str:
        return ", ".join([*sorted(self.variables), *sorted(self.sizes)])

    def check(self, node: ast.expr, depth: int) -> None:
        """An expression whose value is an array or a number."""
        if depth > MAX_DEPTH:
            raise Rejected(f"the expression nests deeper than {MAX_DEPTH} levels")
        inner = depth + 1
        if isinstance(node, ast.Name):
            if node.id in self.variables or node.id in self.sizes:
                return
            if node.id in NUMPY_PREFIXES or node.id in FUNCTIONS:
                raise Rejected(
                    f"'{node.id}' can only be called or used as a prefix, e.g. np.exp(X)"
                )
            raise Rejected(f"unknown name '{node.id}'; this question's names are {self._known()}")
        if isinstance(node, ast.Constant):
            self._number(node)
        elif isinstance(node, ast.UnaryOp):
            if not isinstance(node.op, (ast.USub, ast.UAdd)):
                raise Rejected("only unary + and − are allowed (use np.where for logic)")
            self.check(node.operand, inner)
        elif isinstance(node, ast.BinOp):
            if not isinstance(node.op, _OPERATORS):
                raise Rejected("only + − * / ** and @ are allowed as operators")
            self.check(node.left, inner)
            if isinstance(node.op, ast.Pow):
                self._exponent(node.right)
            else:
                self.check(node.right, inner)
        elif isinstance(node, ast.Compare):
            if len(node.ops) != 1 or not isinstance(node.ops[0], _COMPARISONS):
                raise Rejected("only one comparison (< <= > >= == !=) at a time is allowed")
            self.check(node.left, inner)
            self.check(node.comparators[0], inner)
        elif isinstance(node, ast.Attribute):
            if node.attr != "T":
                raise Rejected(f"the attribute .{node.attr} is not allowed; only .T is")
            self.check(node.value, inner)
        elif isinstance(node, ast.Subscript):
            self.check(node.value, inner)
            self._index(node.slice)
        elif isinstance(node, ast.Call):
            self._call(node, inner)
        else:
            what = _FRIENDLY.get(type(node), type(node).__name__)
            raise Rejected(f"{what} is not allowed in an expression")

    def _number(self, node: ast.Constant) -> None:
        value = node.value
        if isinstance(value, str):
            raise Rejected("text in quotes is only allowed as the subscripts of einsum")
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise Rejected(f"{value!r} is not allowed here; use numbers and the given names")
        if isinstance(value, int) and abs(value) > MAX_WHOLE_NUMBER:
            raise Rejected(f"whole numbers larger than {MAX_WHOLE_NUMBER} are not allowed")

    def _exponent(self, node: ast.expr) -> None:
        operand = node.operand if isinstance(node, ast.UnaryOp) else node
        if (
            isinstance(node, ast.UnaryOp) and not isinstance(node.op, (ast.USub, ast.UAdd))
        ) or not (
            isinstance(operand, ast.Constant)
            and isinstance(operand.value, (int, float))
            and not isinstance(operand.value, bool)
            and abs(operand.value) <= MAX_EXPONENT
        ):
            raise Rejected(f"an exponent must be a number from -{MAX_EXPONENT} to {MAX_EXPONENT}")

    def _whole(self, node: ast.expr) -> None:
        """A whole number: a literal, a negated literal or a size name."""
        if isinstance(node, ast.Name) and node.id in self.sizes:
            return
        operand = node.operand if isinstance(node, ast.UnaryOp) else node
        if isinstance(node, ast.UnaryOp) and not isinstance(node.op, ast.USub):
            operand = None
        if (
            isinstance(operand, ast.Constant)
            and type(operand.value) is int
            and abs(operand.value) <= MAX_WHOLE_NUMBER
        ):
            return
        if isinstance(operand, ast.Constant) and type(operand.value) is int:
            raise Rejected(f"whole numbers larger than {MAX_WHOLE_NUMBER} are not allowed")
        raise Rejected("a whole number (or a size name) is needed here")

    def _axis(self, node: ast.expr) -> None:
        if isinstance(node, ast.Constant) and node.value is None:
            return
        if isinstance(node, ast.Tuple):
            self._sequence_length(node.elts)
            for item in node.elts:
                self._whole(item)
            return
        self._whole(node)

    def _index(self, node: ast.expr) -> None:
        items = node.elts if isinstance(node, ast.Tuple) else [node]
        self._sequence_length(items)
        for item in items:
            if isinstance(item, ast.Slice):
                for part in (item.lower, item.upper, item.step):
                    if part is not None:
                        self._whole(part)
            elif isinstance(item, ast.Constant) and (item.value is None or item.value is ...):
                continue  # a new axis, or every remaining axis
            else:
                try:
                    self._whole(item)
                except Rejected:
                    raise Rejected(
                        "an index must be a whole number, a slice such as 1:3, None or ..."
                    ) from None

    @staticmethod
    def _sequence_length(items: list[ast.expr]) -> None:
        if len(items) > MAX_SEQUENCE:
            raise Rejected(f"at most {MAX_SEQUENCE} items in a list or tuple")

    def _call(self, node: ast.Call, depth: int) -> None:
        name, args = called_function(node)
        signature = FUNCTIONS[name]
        for keyword in node.keywords:
            if keyword.arg is None:
                raise Rejected("'**' unpacking is not allowed")
            if keyword.arg not in signature.keywords:
                allowed = " and ".join(f"{k}=" for k in signature.keywords) or "no keywords"
                raise Rejected(f"keyword '{keyword.arg}=' is not allowed in {name}(); {allowed}")
            if keyword.arg == "keepdims":
                if not (
                    isinstance(keyword.value, ast.Constant) and type(keyword.value.value) is bool
                ):
                    raise Rejected("keepdims= takes True or False")
            else:
                self._axis(keyword.value)
        if any(isinstance(arg, ast.Starred) for arg in args):
            raise Rejected("'*' unpacking is not allowed")
        remaining = list(args)
        for kind in signature.params:
            if kind in ("ints", "operands"):
                self._rest(name, kind, remaining, depth)
                remaining = []
                break
            if not remaining:
                if kind == "axis?":
                    continue
                raise Rejected(f"{name}() needs more arguments")
            arg = remaining.pop(0)
            if kind == "array":
                self.check(arg, depth)
            elif kind == "int":
                self._whole(arg)
            elif kind == "axis?":
                self._axis(arg)
            elif kind == "subscripts":
                self._subscripts(arg)
            elif kind == "sequence":
                if not isinstance(arg, (ast.List, ast.Tuple)) or not arg.elts:
                    raise Rejected(f"{name}() takes a list of arrays, e.g. {name}([A, B])")
                self._sequence_length(arg.elts)
                for item in arg.elts:
                    self.check(item, depth)
        if remaining:
            raise Rejected(f"{name}() is given too many arguments")
        if name == "einsum":
            inputs = args[0].value.split("->")[0].split(",")  # type: ignore[attr-defined]
            if len(inputs) != len(args) - 1:
                raise Rejected(
                    f"einsum's subscripts name {plural(len(inputs), 'operand')} "
                    f"but {len(args) - 1} given"
                )

    def _rest(self, name: str, kind: str, args: list[ast.expr], depth: int) -> None:
        if kind == "operands":
            if not 1 <= len(args) <= MAX_EINSUM_OPERANDS:
                raise Rejected(f"einsum takes 1 to {MAX_EINSUM_OPERANDS} arrays")
            for arg in args:
                self.check(arg, depth)
            return
        if len(args) == 1 and isinstance(args[0], (ast.Tuple, ast.List)):
            args = list(args[0].elts)
        if not args and name == "reshape":
            raise Rejected("reshape() needs the new shape")
        self._sequence_length(args)
        for arg in args:
            self._whole(arg)

    @staticmethod
    def _subscripts(node: ast.expr) -> None:
        if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
            raise Rejected("einsum's first argument is its subscripts in quotes, e.g. 'nd,nm->dm'")
        text = node.value.replace(" ", "")
        if len(text) > 40 or not EINSUM_SUBSCRIPTS.fullmatch(text):
            raise Rejected(
                "einsum's subscripts must be letters, commas and one '->', e.g. 'nd,nm->dm'"
            )
