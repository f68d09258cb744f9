"""Safe reading and evaluation of typed expressions: what is accepted computes the right
thing, the usual escapes are refused in one line, and nothing can build a huge value."""

from __future__ import annotations

import time

import numpy as np
import pytest

from drill.formula.evaluate import MAX_ELEMENTS, EvaluationError, evaluate, shape_text
from drill.formula.syntax import MAX_DEPTH, MAX_LENGTH, Rejected, read

SIZES = {"N": 5, "D": 3, "M": 4}
RNG = np.random.default_rng(7)
ARRAYS = {
    "X": RNG.normal(size=(5, 3)),
    "W": RNG.normal(size=(3, 4)),
    "G": RNG.normal(size=(5, 4)),
    "v": RNG.normal(size=(3,)),
}


def run(text: str) -> np.ndarray:
    return evaluate(read(text, ARRAYS, SIZES), text, ARRAYS, SIZES)


X, W, G, v = ARRAYS["X"], ARRAYS["W"], ARRAYS["G"], ARRAYS["v"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("X.T @ G", X.T @ G),
        ("(G.T @ X).T", X.T @ G),
        ("np.einsum('nd,nm->dm', X, G)", X.T @ G),
        ("numpy.dot(X.T, G)", X.T @ G),
        ("matmul(X, W)", X @ W),
        ("G.sum(axis=0)", G.sum(axis=0)),
        ("np.sum(G, 0, keepdims=True)", G.sum(axis=0, keepdims=True)),
        ("G.mean(axis=(0, 1))", G.mean()),
        ("G / N", G / 5),
        ("X ** 2 - 2 * X + 1", (X - 1) ** 2),
        ("-X + +X", np.zeros_like(X)),
        ("np.where(X > 0, X, 0)", np.maximum(X, 0)),
        ("G * (X @ W > 0)", G * (X @ W > 0)),
        ("X[:, None, :].reshape(N, D)", X),
        ("X.reshape((D, N)).transpose()", X.reshape(3, 5).T),
        ("X[1:3, ::-1]", X[1:3, ::-1]),
        ("X[..., 0]", X[:, 0]),
        ("X[-1]", X[-1]),
        ("np.outer(v, v)", np.outer(v, v)),
        ("diag(v)", np.diag(v)),
        ("eye(D) @ v", v),
        ("stack([v, v], axis=1)", np.stack([v, v], axis=1)),
        ("concatenate([X, X])", np.concatenate([X, X])),
        ("swapaxes(X, 0, 1)", X.T),
        ("clip(X, -0.5, 0.5)", np.clip(X, -0.5, 0.5)),
        ("maximum(X, 0) + minimum(X, 0)", X),
        ("exp(log(abs(X) + 1)) - 1", np.abs(X)),
        ("sqrt(square(X))", np.abs(X)),
        ("tanh(X) * sign(X)", np.tanh(X) * np.sign(X)),
        ("X.var(axis=0) + X.std(axis=0) + X.max() + X.min() + X.prod()", None),
        ("ones_like(X) * zeros_like(X)", np.zeros_like(X)),
        ("log1p(X ** 2)", np.log1p(X**2)),
        ("einsum('ij->', X)", np.sum(X)),
        ("einsum('nd,nd', X, X)", np.sum(X * X)),
    ],
)
def test_accepted_expressions_compute_what_numpy_computes(text: str, expected) -> None:
    if expected is None:
        expected = X.var(axis=0) + X.std(axis=0) + X.max() + X.min() + X.prod()
    np.testing.assert_allclose(run(text), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("().__class__.__bases__[0].__subclasses__()", "not allowed"),
        ("X.__class__", "attribute .__class__ is not allowed"),
        ("X.__array_interface__", "attribute .__array_interface__ is not allowed"),
        ("__import__('os')", "calling __import__() is not allowed"),
        ("__import__('os').system('true')", "the method .system() is not allowed"),
        ("eval('1')", "calling eval() is not allowed"),
        ("np.load('x.npy')", "np.load is not allowed"),
        ("np.__dict__", "attribute .__dict__ is not allowed"),
        ("X.tofile('out')", "the method .tofile() is not allowed"),
        ("'abc'", "text in quotes is only allowed as the subscripts of einsum"),
        ("[x for x in X]", "a comprehension is not allowed"),
        ("lambda: X", "lambda is not allowed"),
        ("X if N else G", "'if … else' is not allowed"),
        ("X and G", "'and'/'or'"),
        ("(y := X)", "':=' is not allowed"),
        ("{1: X}", "a dict is not allowed"),
        ("f'{X}'", "an f-string is not allowed"),
        ("10**10**10", "an exponent must be a number from -8 to 8"),
        ("X ** G", "an exponent must be a number"),
        ("X ** 1000", "an exponent must be a number"),
        ("99999999 * X", "whole numbers larger than"),
        ("eye(10**9)", "a whole number (or a size name) is needed here"),
        ("X.reshape(10**9)", "a whole number (or a size name) is needed here"),
        ("eye(100000)", "whole numbers larger than 10000 are not allowed"),
        ("X.sum(axis=-100000)", "whole numbers larger than 10000 are not allowed"),
        ("X.sum(dtype=object)", "keyword 'dtype=' is not allowed"),
        ("np.sum(*X)", "'*' unpacking is not allowed"),
        ("np.sum(**X)", "'**' unpacking is not allowed"),
        ("np.einsum('nd;nm', X, G)", "einsum's subscripts must be letters"),
        ("np.einsum(X, G)", "einsum's first argument is its subscripts"),
        ("np.einsum('nd,nm->dm', X)", "name 2 operands but 1 given"),
        ("Z @ X", "unknown name 'Z'; this question's names are"),
        ("np", "'np' can only be called or used as a prefix"),
        ("sum", "'sum' can only be called"),
        ("X < G < W", "only one comparison"),
        ("not X", "only unary + and − are allowed"),
        ("X // 2", "only + − * / ** and @ are allowed"),
        ("X[G]", "an index must be a whole number, a slice such as 1:3, None or ..."),
        ("X +", "not a valid expression"),
        ("", "the expression is empty"),
        ("1j * X", "is not allowed here"),
        ("True * X", "is not allowed here"),
        ("exp(X, X)", "exp() is given too many arguments"),
        ("where(X)", "where() needs more arguments"),
        ("stack(X)", "stack() takes a list of arrays"),
        ("stack([" + ", ".join(["X"] * 9) + "])", "at most 8 items"),
    ],
)
def test_disallowed_constructs_are_refused_in_one_line(text: str, says: str) -> None:
    with pytest.raises(Rejected) as caught:
        read(text, ARRAYS, SIZES)
    assert says in caught.value.message
    assert "\n" not in caught.value.message


def test_length_and_depth_are_bounded() -> None:
    with pytest.raises(Rejected, match=f"longer than {MAX_LENGTH}"):
        read("X" + " + X" * MAX_LENGTH, ARRAYS, SIZES)
    nested = "exp(" * (MAX_DEPTH + 1) + "X" + ")" * (MAX_DEPTH + 1)
    with pytest.raises(Rejected, match="nests deeper"):
        read(nested, ARRAYS, SIZES)
    with pytest.raises(Rejected):
        read("-" * 250 + "X", ARRAYS, SIZES)
    with pytest.raises(Rejected):
        read("(" * 150 + "X" + ")" * 150, ARRAYS, SIZES)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("eye(1000)", f"more than {MAX_ELEMENTS} entries"),
        ("outer(outer(X, G), outer(G, G))", f"more than {MAX_ELEMENTS} entries"),
        ("outer(G, G)[:, :, None, None] * outer(G, G)", f"more than {MAX_ELEMENTS} entries"),
        ("einsum('ab,cd,ef->', outer(X, G), outer(X, G), outer(X, G))", "too large"),
        ("einsum('ij,kl->ijkl', outer(G, G), outer(G, G))", f"more than {MAX_ELEMENTS}"),
        ("diag(outer(G, G).reshape(-1))", f"more than {MAX_ELEMENTS} entries"),
    ],
)
def test_huge_intermediate_values_are_refused_before_they_are_built(text: str, says: str) -> None:
    started = time.process_time()
    with pytest.raises(EvaluationError) as caught:
        run(text)
    assert says in caught.value.message
    assert time.process_time() - started < 2.0  # refused up front, not after allocating


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("X @ G", "X @ G: the inner sizes of (N, D) @ (N, M) differ"),
        ("X * G", "X * G: shapes (N, D) and (N, M) do not broadcast together"),
        ("X - X.sum(axis=1)", "(N, D) and (N,) do not broadcast together; keepdims=True keeps"),
        ("np.einsum('ndk,nm->dm', X, G)", "'ndk' names 3 axes"),
        ("np.einsum('nd,nm->dk', X, G)", "the output 'dk' is not valid"),
        ("np.einsum('nd,dm->nm', X, G)", "'d' stands for two different sizes"),
        ("X.sum(axis=3)", "cannot compute it: axis 3 is out of bounds"),
        ("X.reshape(N, N)", "cannot compute it"),
        ("X[9]", "cannot compute it"),
        ("X[::0]", "a slice step cannot be 0"),
    ],
)
def test_expressions_that_cannot_be_computed_say_why_in_one_line(text: str, says: str) -> None:
    with pytest.raises(EvaluationError) as caught:
        run(text)
    assert says in caught.value.message
    assert "\n" not in caught.value.message


def test_whole_numbers_in_arithmetic_are_floats_so_powers_stay_cheap() -> None:
    text = "(" * 6 + "8" + "**8)" * 6 + " * X"
    value = run(text)  # an integer this large would take ages to compute; a float overflows
    assert np.isinf(value).any()


def test_shapes_are_written_with_size_names_where_one_name_fits() -> None:
    assert shape_text((3, 4), SIZES) == "(D, M)"
    assert shape_text((5,), SIZES) == "(N,)"
    assert shape_text((15, 1), SIZES) == "(15, 1)"
    assert shape_text((), SIZES) == "()"
    assert shape_text((2, 2), {"A": 2, "B": 2}) == "(2, 2)"
