"""Turning what the user typed into a verdict for choice, numeric and formula questions."""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from drill.bank import Question

Outcome = Literal["right", "wrong", "none", "skipped"]
AUTO_SCORED = ("choice", "numeric", "formula")


@dataclass(frozen=True)
class Verdict:
    """The outcome, and for a wrong formula answer one line per reason drill can give."""

    outcome: Outcome
    reasons: tuple[str, ...] = ()


# Absorbs binary rounding, so that typing exactly value ± tolerance still counts as right;
# relative to the numbers involved, so a tiny tolerance (1e-10 on 6e-8) stays tight.
_FLOAT_SLACK = 1e-9


class InvalidAnswer(ValueError):
    """The text cannot be read as an answer to the question; `message` tells the user why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def option_letters(count: int) -> list[str]:
    """The labels of `count` options: A, B, C…"""
    return [chr(ord("A") + index) for index in range(count)]


def parse_choice(text: str, option_count: int) -> frozenset[str]:
    """The set of option letters in `text`, ignoring case, spaces and commas ("a, C" → {A, C})."""
    letters = re.sub(r"[\s,]+", "", text).upper()
    allowed = option_letters(option_count)
    span = f"{allowed[0]} to {allowed[-1]}"
    if not (letters.isascii() and letters.isalpha()):
        raise InvalidAnswer(f"{text.strip()!r} is not a choice; type letters from {span}, e.g. B")
    unknown = sorted(set(letters) - set(allowed))
    if unknown:
        raise InvalidAnswer(f"no option {', '.join(unknown)}; choose from {span}")
    return frozenset(letters)


# -- numbers and arithmetic -----------------------------------------------------------------

_FUNCTIONS: dict[str, Callable[[float], float]] = {
    "sqrt": math.sqrt,
    "exp": math.exp,
    "log": math.log,
    "ln": math.log,
    "sin": math.sin,
    "cos": math.cos,
    "tanh": math.tanh,
}
_CONSTANTS = {"pi": math.pi, "e": math.e}
_OPERATORS: dict[type[ast.operator], Callable[[float, float], float]] = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.Pow: lambda a, b: _power(a, b),
}
# Typographic operators people paste from the prompt, and ^ for a power.
_SPELLINGS = str.maketrans({"−": "-", "×": "*", "·": "*", "÷": "/", "^": "**"})
# Longer text is no answer anyone types; the bound also keeps the parser's recursion shallow.
_MAX_LENGTH = 200
ALLOWED_ARITHMETIC = "numbers, + - * / **, parentheses, sqrt exp log sin cos tanh, pi and e"


def parse_number(text: str) -> float:
    """The value of a number or an arithmetic expression such as `1/4` or `sqrt(2/576)`.

    Evaluated by walking its syntax tree over numbers, unary ±, + − × ÷ **, parentheses,
    the functions sqrt, exp, log (= ln), sin, cos, tanh and the constants pi and e; nothing
    is executed. Raises InvalidAnswer with a one-line reason for anything else, and for a
    result that is not a finite real number.
    """
    shown = text.strip()
    if len(shown) > _MAX_LENGTH:
        raise InvalidAnswer(f"that answer is too long for a number ({len(shown)} characters)")
    try:
        tree = ast.parse(shown.translate(_SPELLINGS), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        raise InvalidAnswer(
            f"{shown!r} is not a number; write a number or arithmetic with {ALLOWED_ARITHMETIC}"
        ) from None
    try:
        number = _evaluate(tree.body)
    except _NotAllowed as error:
        raise InvalidAnswer(
            f"{shown!r} is not a number: {error} is not allowed; use {ALLOWED_ARITHMETIC}"
        ) from None
    except ZeroDivisionError:
        raise InvalidAnswer(f"{shown!r} is not a number: it divides by zero") from None
    except OverflowError:
        raise InvalidAnswer(f"{shown!r} is too large a number") from None
    except ValueError:
        raise InvalidAnswer(f"{shown!r} is not a real number") from None
    if not math.isfinite(number):
        raise InvalidAnswer(f"{shown!r} is not a finite number")
    return number


class _NotAllowed(Exception):
    """A part of the expression outside the arithmetic drill evaluates; str() names it."""


def _evaluate(node: ast.expr) -> float:
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, int | float):
            raise _NotAllowed(f"the literal {node.value!r}")
        return float(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.UAdd | ast.USub):
        operand = _evaluate(node.operand)
        return -operand if isinstance(node.op, ast.USub) else operand
    if isinstance(node, ast.BinOp):
        operator = _OPERATORS.get(type(node.op))
        if operator is None:
            raise _NotAllowed(f"the operator {_source(node)!r}")
        return _finite(operator(_evaluate(node.left), _evaluate(node.right)))
    if isinstance(node, ast.Name):
        if node.id not in _CONSTANTS:
            raise _NotAllowed(f"the name {node.id!r}")
        return _CONSTANTS[node.id]
    if isinstance(node, ast.Call):
        function = _FUNCTIONS.get(node.func.id) if isinstance(node.func, ast.Name) else None
        if function is None or node.keywords or len(node.args) != 1:
            raise _NotAllowed(f"the call {_source(node)!r}")
        return _finite(function(_evaluate(node.args[0])))
    raise _NotAllowed(repr(_source(node)))


def _power(base: float, exponent: float) -> float:
    # math.pow works on floats and raises OverflowError at once, so 9**9**9 cannot hang.
    if base == 0 and exponent < 0:
        raise ZeroDivisionError
    return math.pow(base, exponent)


def _finite(number: float) -> float:
    """`number`, or OverflowError when a product or sum left the floats' range."""
    if math.isinf(number):
        raise OverflowError
    return number


def _source(node: ast.expr) -> str:
    return ast.unparse(node)


# Examples for the answer guide, by form; the first of each form that is not the question's
# own answer is shown, so an example never gives the answer away.
_EXAMPLES = (("0.5", "12.5", "-3"), ("3/8", "-40/3"), ("sqrt(2)/4", "exp(3)"))


def number_examples(question: Question) -> str:
    """Ways to write a number, none within tolerance of `question`'s value, e.g.
    "e.g. 0.5, 3/8 or sqrt(2)/4"; empty when the tolerance is so wide that every one is."""
    chosen = []
    for candidates in _EXAMPLES:
        for example in candidates:
            if not _accepts(question, parse_number(example)):
                chosen.append(example)
                break
    if len(chosen) < 2:
        return f"e.g. {chosen[0]}" if chosen else ""
    return f"e.g. {', '.join(chosen[:-1])} or {chosen[-1]}"


def _accepts(question: Question, number: float) -> bool:
    assert question.value is not None and question.tolerance is not None
    slack = _FLOAT_SLACK * max(abs(question.value), question.tolerance)
    return abs(number - question.value) <= question.tolerance + slack


def judge(question: Question, text: str) -> Verdict:
    """Right or wrong for auto-scored kinds; "none" for free-text kinds or no answer.

    Raises InvalidAnswer when an answer cannot be read, so the user can retry.
    """
    if not text.strip() or question.kind not in AUTO_SCORED:
        return Verdict("none")
    if question.kind == "formula":
        return _judge_formula(question, text)
    if question.kind == "choice":
        chosen = parse_choice(text, len(question.options))
        return Verdict("right" if chosen == frozenset(question.correct) else "wrong")
    return Verdict("right" if _accepts(question, parse_number(text)) else "wrong")


def _judge_formula(question: Question, text: str) -> Verdict:
    # Evaluating needs NumPy; only a quiz that reaches a formula question pays for it.
    from drill.formula.evaluate import EvaluationError
    from drill.formula.judge import judge_formula
    from drill.formula.syntax import Rejected
    from drill.grader.cases import SpecError

    try:
        verdict = judge_formula(question, text)
    except Rejected as rejected:
        raise InvalidAnswer(rejected.message) from None
    except (SpecError, EvaluationError) as error:  # the question's own declarations
        raise InvalidAnswer(
            f"this question cannot be judged ({error}); 'drill check' shows why. Type s to skip it."
        ) from None
    return Verdict("right" if verdict.right else "wrong", verdict.reasons)
