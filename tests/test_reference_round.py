"""The rest-of-the-round references in solutions/backprop.py against independent computations.

Gradients are compared with central differences of a scalar loss written from scratch here
(plain formulas and explicit loops, never the reference's own forward); forward values with a
second formulation.
"""

import math
import warnings

import numpy as np
import pytest
from oracle import assert_close, central_diff, load_reference


@pytest.fixture(scope="module")
def ref():
    return load_reference("backprop_reference_round")


@pytest.fixture
def rng():
    return np.random.default_rng(2024)


def logistic(z):
    return 1.0 / (1.0 + np.exp(-z))


# Sigmoid + binary cross-entropy with logits


@pytest.mark.parametrize("soft", [False, True], ids=["hard-targets", "soft-targets"])
def test_sigmoid_bce_with_logits(ref, rng, soft):
    z = rng.normal(scale=2.0, size=(3, 5))
    y = rng.uniform(size=(3, 5)) if soft else rng.integers(0, 2, size=(3, 5)).astype(float)

    def loss():
        p = logistic(z)
        return np.mean(-y * np.log(p) - (1 - y) * np.log(1 - p))

    value, grad = ref.sigmoid_bce_with_logits_backward(z, y)
    assert math.isclose(value, loss(), rel_tol=1e-12)
    assert_close(grad, central_diff(loss, z))


def test_sigmoid_bce_with_logits_is_exact_and_quiet_at_1000(ref):
    z = np.array([1000.0, -1000.0, 1000.0, -1000.0])
    y = np.array([0.0, 1.0, 1.0, 0.0])
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        value, grad = ref.sigmoid_bce_with_logits_backward(z, y)
    # Confidently wrong costs |z| = 1000 each, confidently right costs 0: the mean is 500.
    assert value == pytest.approx(500.0)
    assert_close(grad, np.array([1.0, -1.0, 0.0, 0.0]) / 4)


# Dropout


def test_dropout_in_training(ref, rng):
    p = 0.3
    x, G = rng.normal(size=(4, 6)), rng.normal(size=(4, 6))
    mask = (rng.uniform(size=(4, 6)) >= p).astype(float)

    layer = ref.Dropout(p, mask, True)
    out = layer.forward(x)
    expected = np.array(
        [[x[i, j] / 0.7 if mask[i, j] else 0.0 for j in range(6)] for i in range(4)]
    )
    assert_close(out, expected)
    grad = layer.backward(G)
    assert_close(grad, central_diff(lambda: np.sum(ref.Dropout(p, mask, True).forward(x) * G), x))


def test_dropout_keeps_the_expected_activation(ref):
    """Inverted scaling: averaged over many masks, E[output] = x."""
    p = 0.25
    masks = np.random.default_rng(7).uniform(size=(200_000, 1)) >= p
    out = ref.Dropout(p, masks.astype(float), True).forward(np.full((200_000, 1), 3.0))
    assert out.mean() == pytest.approx(3.0, abs=0.02)


def test_dropout_in_evaluation_is_the_identity(ref, rng):
    x, G = rng.normal(size=(2, 3)), rng.normal(size=(2, 3))
    mask = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    layer = ref.Dropout(0.5, mask, False)
    assert_close(layer.forward(x), x)
    assert_close(layer.backward(G), G)


# GELU (the exact erf form)


def test_gelu(ref, rng):
    x, G = rng.normal(scale=2.0, size=(3, 4, 2)), rng.normal(size=(3, 4, 2))
    # Φ(x) through erfc, a different library function from the reference's erf.
    cdf = np.vectorize(lambda v: 0.5 * math.erfc(-v / math.sqrt(2.0)))(x)
    layer = ref.GELU()
    assert_close(layer.forward(x), x * cdf)
    assert_close(layer.backward(G), central_diff(lambda: np.sum(ref.GELU().forward(x) * G), x))


def test_gelu_known_values(ref):
    out = ref.GELU().forward(np.array([0.0, 1.0, -1.0, 10.0, -10.0]))
    # Φ(1) = 0.8413447460685429
    assert_close(out, [0.0, 0.8413447460685429, -(1 - 0.8413447460685429), 10.0, 0.0])


# LogSoftmax


def test_log_softmax(ref, rng):
    x, G = rng.normal(size=(2, 3, 5)), rng.normal(size=(2, 3, 5))
    layer = ref.LogSoftmax()
    assert_close(layer.forward(x), np.log(np.exp(x) / np.exp(x).sum(axis=-1, keepdims=True)))
    grad = layer.backward(G)
    assert_close(grad, central_diff(lambda: np.sum(ref.LogSoftmax().forward(x) * G), x))


def test_log_softmax_is_finite_at_1000(ref):
    x = np.array([[1000.0, -1000.0, 999.0]])
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise"):
        warnings.simplefilter("error")
        out = ref.LogSoftmax().forward(x)
    log_norm = 1000.0 + math.log(1.0 + math.exp(-1.0))
    assert_close(out, [[1000.0 - log_norm, -1000.0 - log_norm, 999.0 - log_norm]])


# LSTM cell


def lstm_loops(x, h_prev, c_prev, Wx, Wh, b):
    """One LSTM step one sample and one unit at a time, with the four gates named."""
    N, H = h_prev.shape
    h, c = np.zeros((N, H)), np.zeros((N, H))
    for n in range(N):
        pre = x[n] @ Wx + h_prev[n] @ Wh + b
        for k in range(H):
            i = 1 / (1 + math.exp(-pre[k]))
            f = 1 / (1 + math.exp(-pre[H + k]))
            g = math.tanh(pre[2 * H + k])
            o = 1 / (1 + math.exp(-pre[3 * H + k]))
            c[n, k] = f * c_prev[n, k] + i * g
            h[n, k] = o * math.tanh(c[n, k])
    return h, c


def test_lstm_cell(ref, rng):
    N, D, H = 3, 4, 2
    args = {
        "x": rng.normal(size=(N, D)),
        "h_prev": rng.normal(size=(N, H)),
        "c_prev": rng.normal(size=(N, H)),
        "Wx": rng.normal(size=(D, 4 * H)),
        "Wh": rng.normal(size=(H, 4 * H)),
        "b": rng.normal(size=4 * H),
    }
    grad_h, grad_c = rng.normal(size=(N, H)), rng.normal(size=(N, H))

    def loss():
        h, c = lstm_loops(**args)
        return np.sum(h * grad_h) + np.sum(c * grad_c)

    h, c, grads = ref.lstm_cell(*args.values(), grad_h, grad_c)
    h_loops, c_loops = lstm_loops(**args)
    assert_close(h, h_loops)
    assert_close(c, c_loops)
    assert set(grads) == set(args)
    for name, value in args.items():
        assert_close(grads[name], central_diff(loss, value))


# Backpropagation through time


def rnn_loops(x, h0, Wx, Wh, b):
    states, h = [], h0
    for x_t in x:
        h = np.tanh(np.einsum("nd,dh->nh", x_t, Wx) + np.einsum("nk,kh->nh", h, Wh) + b)
        states.append(h)
    return np.stack(states)


@pytest.mark.parametrize("T", [1, 5])
def test_rnn_bptt(ref, rng, T):
    N, D, H = 2, 3, 4
    args = {
        "x": rng.normal(size=(T, N, D)),
        "h0": rng.normal(size=(N, H)),
        "Wx": rng.normal(scale=0.5, size=(D, H)),
        "Wh": rng.normal(scale=0.5, size=(H, H)),
        "b": rng.normal(size=H),
    }
    G = rng.normal(size=(T, N, H))

    hs, grads = ref.rnn_bptt(*args.values(), G)
    assert_close(hs, rnn_loops(**args))
    assert set(grads) == set(args)
    for name, value in args.items():
        assert_close(grads[name], central_diff(lambda: np.sum(rnn_loops(**args) * G), value))


# Causal attention


def causal_attention_loops(Q, K, V):
    """Each query t attends to keys 0 … t only, one batch element and one row at a time."""
    d = Q.shape[-1]
    out = np.zeros(Q.shape[:-1] + V.shape[-1:])
    for idx in np.ndindex(Q.shape[:-2]):
        for t in range(Q.shape[-2]):
            scores = np.array([np.dot(Q[idx][t], K[idx][j]) / math.sqrt(d) for j in range(t + 1)])
            weights = np.exp(scores) / np.sum(np.exp(scores))
            out[idx][t] = weights @ V[idx][: t + 1]
    return out


@pytest.mark.parametrize("batch", [(), (2,), (2, 2)], ids=["no-batch", "batch", "batch-heads"])
def test_causal_attention_backward(ref, rng, batch):
    T, d, dv = 4, 3, 2
    Q, K = rng.normal(size=(*batch, T, d)), rng.normal(size=(*batch, T, d))
    V, G = rng.normal(size=(*batch, T, dv)), rng.normal(size=(*batch, T, dv))

    def loss():
        return np.sum(causal_attention_loops(Q, K, V) * G)

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        dQ, dK, dV = ref.causal_attention_backward(Q, K, V, G)
    assert_close(dQ, central_diff(loss, Q))
    assert_close(dK, central_diff(loss, K))
    assert_close(dV, central_diff(loss, V))
    # The first query sees only itself: its weight is 1 whatever Q, so its gradient is 0.
    assert_close(dQ[..., 0, :], 0.0)


# The model answers of the code questions: their code computes what the reference computes.


def answer_code(question_id: str) -> dict:
    from drill.bank import load_bank

    answer = load_bank().questions[question_id].answer
    source = answer.split("```python\n", 1)[1].split("```", 1)[0]
    namespace: dict = {}
    exec(compile(source, question_id, "exec"), namespace)
    return namespace


def same_results(first, second) -> bool:
    if isinstance(first, dict):
        return first.keys() == second.keys() and all(
            same_results(first[k], second[k]) for k in first
        )
    if isinstance(first, tuple):
        return len(first) == len(second) and all(map(same_results, first, second))
    return bool(np.allclose(first, second, rtol=1e-9, atol=1e-12))


FUNCTION_ANSWERS = {
    "bce-with-logits-backward": ("sigmoid_bce_with_logits_backward", [(3, 4), "labels"]),
    "lstm-cell-backward": (
        "lstm_cell",
        [(3, 4), (3, 2), (3, 2), (4, 8), (2, 8), (8,), (3, 2), (3, 2)],
    ),
    "rnn-bptt-backward": ("rnn_bptt", [(4, 3, 2), (3, 5), (2, 5), (5, 5), (5,), (4, 3, 5)]),
    "causal-attention-backward": (
        "causal_attention_backward",
        [(2, 4, 3), (2, 4, 3), (2, 4, 2), (2, 4, 2)],
    ),
}


@pytest.mark.parametrize("question_id", sorted(FUNCTION_ANSWERS))
def test_function_answer_matches_the_reference(ref, rng, question_id):
    name, shapes = FUNCTION_ANSWERS[question_id]
    args = [
        rng.integers(0, 2, size=(3, 4)).astype(float)
        if shape == "labels"
        else rng.normal(size=shape)
        for shape in shapes
    ]
    assert same_results(answer_code(question_id)[name](*args), getattr(ref, name)(*args))


@pytest.mark.parametrize(
    ("question_id", "name", "init"),
    [
        ("gelu-backward", "GELU", ()),
        ("log-softmax-backward", "LogSoftmax", ()),
        ("dropout-backward", "Dropout", (0.3, np.array([[1.0, 0, 1, 1], [0, 1, 1, 0]]), True)),
        ("dropout-backward", "Dropout", (0.3, np.ones((2, 4)), False)),
    ],
)
def test_layer_answer_matches_the_reference(ref, rng, question_id, name, init):
    x, G = rng.normal(size=(2, 4)), rng.normal(size=(2, 4))
    theirs, ours = answer_code(question_id)[name](*init), getattr(ref, name)(*init)
    assert same_results(theirs.forward(x), ours.forward(x))
    assert same_results(theirs.backward(G), ours.backward(G))


# Correct solutions written differently from the reference get full marks.

VARIANTS = """
import math

import numpy as np


def sigmoid_bce_with_logits_backward(logits, targets):
    loss = np.mean(np.logaddexp(0.0, logits) - logits * targets)
    probs = 0.5 * (1.0 + np.tanh(0.5 * logits))
    return loss, (probs - targets) / logits.size


class Dropout:
    def __init__(self, p, mask, training):
        self.keep = 1.0 - p
        self.mask = mask.astype(bool)
        self.training = training

    def forward(self, x):
        return np.where(self.mask, x / self.keep, 0.0) if self.training else x

    def backward(self, grad_output):
        if self.training:
            return np.where(self.mask, grad_output / self.keep, 0.0)
        return grad_output


class GELU:
    def forward(self, x):
        self.x = x
        cdf = np.array([0.5 * math.erfc(-v / math.sqrt(2.0)) for v in x.ravel()])
        self.cdf = cdf.reshape(x.shape)
        return x * self.cdf

    def backward(self, grad_output):
        density = np.exp(-(self.x**2) / 2.0) / math.sqrt(2.0 * math.pi)
        return grad_output * (self.cdf + self.x * density)


class LogSoftmax:
    def forward(self, x):
        self.out = x - np.logaddexp.reduce(x, axis=-1, keepdims=True)
        return self.out

    def backward(self, grad_output):
        total = np.sum(grad_output, axis=-1, keepdims=True)
        return grad_output - np.exp(self.out) * total


def causal_attention_backward(Q, K, V, grad_output):
    T, d = Q.shape[-2], Q.shape[-1]
    future = np.triu(np.ones((T, T)), k=1) * -1e30
    S = np.einsum("...id,...jd->...ij", Q, K) / math.sqrt(d) + future
    P = np.exp(S - S.max(axis=-1, keepdims=True))
    P = P / P.sum(axis=-1, keepdims=True)
    dV = np.einsum("...ij,...io->...jo", P, grad_output)
    dP = np.einsum("...io,...jo->...ij", grad_output, V)
    dS = P * (dP - np.einsum("...ij,...ij->...i", dP, P)[..., None])
    dQ = np.einsum("...ij,...jd->...id", dS, K) / math.sqrt(d)
    dK = np.einsum("...ij,...id->...jd", dS, Q) / math.sqrt(d)
    return dQ, dK, dV
"""


def test_correct_variants_of_the_new_exercises_pass(tmp_path):
    from drill.bank import load_bank
    from drill.grader.grade import grade

    bank = load_bank()
    ids = ["sigmoid_bce_with_logits_backward", "dropout", "gelu", "log_softmax"]
    ids.append("causal_attention_backward")
    path = tmp_path / "variants.py"
    path.write_text(VARIANTS)
    report = grade(path, bank, [bank.exercises[i] for i in ids])
    assert {e.id: (e.status, e.message) for e in report.exercises} == dict.fromkeys(
        ids, ("passed", "all checks passed")
    )
