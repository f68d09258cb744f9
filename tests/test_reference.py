"""Checks every reference in solutions/backprop.py against an independent computation.

Gradients are compared with central differences of a scalar loss built from the forward pass,
usually L = sum(forward(...) * G) for a random G; forward passes are compared with a second,
plainer formulation (explicit loops, an explicit Jacobian, textbook formulas).
"""

import math
import time
import warnings

import numpy as np
import pytest
from oracle import TOL, assert_close, central_diff, load_reference


@pytest.fixture(scope="module")
def ref():
    return load_reference("backprop_reference")


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


# Linear, ReLU, Sigmoid, Tanh


def test_linear(ref, rng):
    x, W, b = rng.normal(size=(4, 3)), rng.normal(size=(3, 5)), rng.normal(size=5)
    G = rng.normal(size=(4, 5))

    def loss():
        return np.sum(ref.Linear(W, b).forward(x) * G)

    layer = ref.Linear(W, b)
    out = layer.forward(x)
    grad_x = layer.backward(G)

    assert_close(out, np.einsum("nd,dm->nm", x, W) + b)
    assert_close(grad_x, central_diff(loss, x))
    assert_close(layer.grad_W, central_diff(loss, W))
    assert_close(layer.grad_b, central_diff(loss, b))


def test_relu(ref, rng):
    x, G = rng.normal(size=(3, 4, 5)), rng.normal(size=(3, 4, 5))
    layer = ref.ReLU()
    out = layer.forward(x)

    assert_close(out, (np.abs(x) + x) / 2)
    assert_close(layer.backward(G), central_diff(lambda: np.sum(ref.ReLU().forward(x) * G), x))


def test_sigmoid(ref, rng):
    x, G = rng.normal(scale=3.0, size=(4, 5)), rng.normal(size=(4, 5))
    layer = ref.Sigmoid()
    out = layer.forward(x)

    assert_close(out, 1.0 / (1.0 + np.exp(-x)))
    assert_close(layer.backward(G), central_diff(lambda: np.sum(ref.Sigmoid().forward(x) * G), x))


def test_sigmoid_is_finite_without_warnings_at_large_inputs(ref):
    x = np.array([-1000.0, -30.0, 0.0, 30.0, 1000.0])
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        layer = ref.Sigmoid()
        out = layer.forward(x)
        grad = layer.backward(np.ones_like(x))

    assert np.all(np.isfinite(out))
    assert np.all(np.isfinite(grad))
    np.testing.assert_allclose(out, [0.0, math.exp(-30) / (1 + math.exp(-30)), 0.5, 1.0, 1.0])
    assert out[0] >= 0.0
    assert out[-1] <= 1.0


def test_tanh(ref, rng):
    x, G = rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 3, 4))
    layer = ref.Tanh()
    out = layer.forward(x)

    assert_close(out, np.sinh(x) / np.cosh(x))
    assert_close(layer.backward(G), central_diff(lambda: np.sum(ref.Tanh().forward(x) * G), x))


# Losses and softmax


@pytest.mark.parametrize("targets", ["one-hot", "distributions"])
def test_softmax_cross_entropy_backward(ref, rng, targets):
    logits = rng.normal(size=(4, 5))
    one_hot = np.eye(5)[[0, 3, 3, 1]]
    distributions = rng.dirichlet(np.ones(5), size=4)
    y_true = one_hot if targets == "one-hot" else distributions

    def loss():
        log_softmax = logits - np.log(np.sum(np.exp(logits), axis=1, keepdims=True))
        return -np.sum(y_true * log_softmax)

    assert_close(ref.softmax_cross_entropy_backward(logits, y_true), central_diff(loss, logits))


def test_softmax_cross_entropy_backward_is_finite_at_large_logits(ref):
    logits = np.array([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 999.0]])
    y_true = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        grad = ref.softmax_cross_entropy_backward(logits, y_true)

    # Row 2 is softmax([1000, 999]) on its last two entries: 1 / (1 + e⁻¹) and e⁻¹ / (1 + e⁻¹).
    p = 1.0 / (1.0 + math.exp(-1.0))
    expected = np.array([[0.0, 0.0, 0.0], [0.0, p, (1.0 - p) - 1.0]])
    assert np.all(np.isfinite(grad))
    assert_close(grad, expected)


def test_mse_loss_backward(ref, rng):
    pred, target = rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 3, 4))
    expected = central_diff(lambda: np.mean((pred - target) ** 2), pred)
    assert_close(ref.mse_loss_backward(pred, target), expected)


def test_softmax_backward_matches_explicit_jacobian(ref, rng):
    z, grad_probs = rng.normal(size=(4, 6)), rng.normal(size=(4, 6))
    probs = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)

    # J[n, i, j] = dprobs_i / dz_j = p_i (δ_ij - p_j); then dL/dz_j = Σ_i g_i J[n, i, j].
    jacobian = np.stack([np.diag(p) - np.outer(p, p) for p in probs])
    expected = np.einsum("ni,nij->nj", grad_probs, jacobian)

    assert_close(ref.softmax_backward(probs, grad_probs), expected)


# Normalisation layers


def test_batchnorm(ref, rng):
    x = rng.normal(loc=2.0, scale=3.0, size=(6, 4))
    gamma, beta = rng.normal(size=4), rng.normal(size=4)
    G = rng.normal(size=(6, 4))
    eps = 1e-5

    def loss():
        return np.sum(ref.BatchNorm(gamma, beta, eps).forward(x) * G)

    layer = ref.BatchNorm(gamma, beta, eps)
    out = layer.forward(x)
    grad_x = layer.backward(G)

    # Undoing the affine step leaves columns with mean 0 and biased variance var / (var + eps).
    normalised = (out - beta) / gamma
    var = np.mean((x - x.mean(axis=0)) ** 2, axis=0)
    assert_close(normalised.mean(axis=0), 0.0)
    assert_close(np.mean(normalised**2, axis=0), var / (var + eps))

    assert grad_x.shape == x.shape
    assert layer.grad_gamma.shape == layer.grad_beta.shape == (4,)
    assert_close(grad_x, central_diff(loss, x))
    assert_close(layer.grad_gamma, central_diff(loss, gamma))
    assert_close(layer.grad_beta, central_diff(loss, beta))


def test_layernorm(ref, rng):
    x = rng.normal(loc=-1.0, scale=2.0, size=(2, 3, 5))
    gamma, beta = rng.normal(size=5), rng.normal(size=5)
    G = rng.normal(size=(2, 3, 5))
    eps = 1e-5

    def loss():
        return np.sum(ref.LayerNorm(gamma, beta, eps).forward(x) * G)

    layer = ref.LayerNorm(gamma, beta, eps)
    out = layer.forward(x)
    grad_x = layer.backward(G)

    normalised = (out - beta) / gamma
    var = np.mean((x - x.mean(axis=-1, keepdims=True)) ** 2, axis=-1)
    assert_close(normalised.mean(axis=-1), 0.0)
    assert_close(np.mean(normalised**2, axis=-1), var / (var + eps))

    assert layer.grad_gamma.shape == layer.grad_beta.shape == (5,)
    assert_close(grad_x, central_diff(loss, x))
    assert_close(layer.grad_gamma, central_diff(loss, gamma))
    assert_close(layer.grad_beta, central_diff(loss, beta))


# Embedding, Conv2d, MaxPool2d


def test_embedding_accumulates_repeated_indices(ref, rng):
    W = rng.normal(size=(5, 3))
    indices = np.array([[0, 2, 2], [4, 2, 0]])  # 2 three times, 0 twice, 1 and 3 unused
    G = rng.normal(size=(2, 3, 3))

    def loss():
        return np.sum(ref.Embedding(W).forward(indices) * G)

    layer = ref.Embedding(W)
    out = layer.forward(indices)
    assert out.shape == (2, 3, 3)
    for idx in np.ndindex(indices.shape):
        np.testing.assert_array_equal(out[idx], W[indices[idx]])

    assert layer.backward(G) is None
    assert_close(layer.grad_W, central_diff(loss, W))
    assert_close(layer.grad_W[2], G[0, 1] + G[0, 2] + G[1, 1])
    np.testing.assert_array_equal(layer.grad_W[[1, 3]], 0.0)


def conv2d_loops(x, W, b, stride, padding):
    """Direct convolution: every output element summed from its window, skipping padding."""
    N, _, H, Wd = x.shape
    F, _, KH, KW = W.shape
    H_out = (H + 2 * padding - KH) // stride + 1
    W_out = (Wd + 2 * padding - KW) // stride + 1
    out = np.zeros((N, F, H_out, W_out))
    for n, f, i, j in np.ndindex(out.shape):
        total = b[f]
        for ki, kj in np.ndindex(KH, KW):
            r, c = i * stride + ki - padding, j * stride + kj - padding
            if 0 <= r < H and 0 <= c < Wd:
                total += np.dot(x[n, :, r, c], W[f, :, ki, kj])
        out[n, f, i, j] = total
    return out


@pytest.mark.parametrize(("stride", "padding"), [(1, 0), (2, 1), (2, 0)])
def test_conv2d(ref, rng, stride, padding):
    x = rng.normal(size=(2, 3, 7, 6))  # H != W so a swapped axis shows up
    W, b = rng.normal(size=(4, 3, 3, 3)), rng.normal(size=4)
    expected_out = conv2d_loops(x, W, b, stride, padding)
    G = rng.normal(size=expected_out.shape)

    def loss():
        return np.sum(ref.Conv2d(W, b, stride, padding).forward(x) * G)

    layer = ref.Conv2d(W, b, stride=stride, padding=padding)
    assert_close(layer.forward(x), expected_out)
    grad_x = layer.backward(G)

    assert grad_x.shape == x.shape
    assert_close(grad_x, central_diff(loss, x))
    assert_close(layer.grad_W, central_diff(loss, W))
    assert_close(layer.grad_b, central_diff(loss, b))


def test_conv2d_is_fast_enough(ref, rng):
    x = rng.normal(size=(2, 3, 8, 8))
    layer = ref.Conv2d(rng.normal(size=(4, 3, 3, 3)), rng.normal(size=4), stride=1, padding=1)
    G = rng.normal(size=(2, 4, 8, 8))
    timings = []
    for _ in range(5):
        start = time.perf_counter()
        layer.forward(x)
        layer.backward(G)
        timings.append(time.perf_counter() - start)
    assert min(timings) < 0.050


def conv2d_backward_loops(x, W, G, stride, padding):
    """∂L/∂x, ∂L/∂W, ∂L/∂b of L = Σ Y ⊙ G, each output element's window visited one by one."""
    _, _, H, Wd = x.shape
    _, _, KH, KW = W.shape
    grad_x, grad_W = np.zeros(x.shape), np.zeros(W.shape)
    for n, f, i, j in np.ndindex(G.shape):
        for c, ki, kj in np.ndindex(W.shape[1], KH, KW):
            r, col = i * stride + ki - padding, j * stride + kj - padding
            if 0 <= r < H and 0 <= col < Wd:
                grad_x[n, c, r, col] += G[n, f, i, j] * W[f, c, ki, kj]
                grad_W[f, c, ki, kj] += G[n, f, i, j] * x[n, c, r, col]
    return grad_x, grad_W, G.sum(axis=(0, 2, 3))


# Sizes where (H + 2p − k) is not a multiple of the stride: the last rows and columns fall
# outside every window, and H_out = ⌊(H + 2p − k) / s⌋ + 1, as torch computes it.
REMAINDER_SIZES = [
    # H, W, KH, KW, stride, padding
    (6, 7, 3, 2, 2, 1),
    (7, 8, 2, 2, 3, 0),
    (6, 6, 3, 3, 2, 0),
    (5, 9, 3, 4, 3, 2),
]


@pytest.mark.parametrize(("H", "Wd", "KH", "KW", "stride", "padding"), REMAINDER_SIZES)
def test_conv2d_on_sizes_that_leave_a_remainder(ref, rng, H, Wd, KH, KW, stride, padding):
    x = rng.normal(size=(2, 2, H, Wd))
    W, b = rng.normal(size=(3, 2, KH, KW)), rng.normal(size=3)
    expected_out = conv2d_loops(x, W, b, stride, padding)
    assert expected_out.shape[2:] == (
        math.floor((H + 2 * padding - KH) / stride) + 1,
        math.floor((Wd + 2 * padding - KW) / stride) + 1,
    )
    G = rng.normal(size=expected_out.shape)
    layer = ref.Conv2d(W, b, stride=stride, padding=padding)
    assert_close(layer.forward(x), expected_out)
    grad_x, grad_W, grad_b = conv2d_backward_loops(x, W, G, stride, padding)
    assert_close(layer.backward(G), grad_x)
    assert_close(layer.grad_W, grad_W)
    assert_close(layer.grad_b, grad_b)


def maxpool_backward_loops(x, k, stride, G):
    """Each window's gradient to its first maximum in row-major order, added up."""
    grad = np.zeros(x.shape)
    for n, c, i, j in np.ndindex(G.shape):
        window = [(i * stride + ki, j * stride + kj) for ki, kj in np.ndindex(k, k)]
        best = max(window, key=lambda rc: (x[n, c, rc[0], rc[1]], -window.index(rc)))
        grad[n, c, best[0], best[1]] += G[n, c, i, j]
    return grad


@pytest.mark.parametrize(
    ("H", "Wd", "k", "stride"), [(6, 7, 3, 2), (7, 8, 2, 3), (5, 5, 2, 2), (9, 6, 4, 3)]
)
def test_maxpool2d_on_sizes_that_leave_a_remainder(ref, rng, H, Wd, k, stride):
    x = rng.normal(size=(2, 2, H, Wd))
    expected_out = maxpool_loops(x, k, stride)
    assert expected_out.shape[2:] == ((H - k) // stride + 1, (Wd - k) // stride + 1)
    G = rng.normal(size=expected_out.shape)
    layer = ref.MaxPool2d(k, stride)
    np.testing.assert_array_equal(layer.forward(x), expected_out)
    assert_close(layer.backward(G), maxpool_backward_loops(x, k, stride, G))


def maxpool_loops(x, k, stride):
    N, C, H, W = x.shape
    out = np.zeros((N, C, (H - k) // stride + 1, (W - k) // stride + 1))
    for n, c, i, j in np.ndindex(out.shape):
        out[n, c, i, j] = max(
            x[n, c, i * stride + ki, j * stride + kj] for ki, kj in np.ndindex(k, k)
        )
    return out


@pytest.mark.parametrize(
    ("kernel_size", "stride"),
    [(2, 1), (2, 2), (3, 2)],
    ids=["overlapping", "non-overlapping", "overlapping-3x3"],
)
def test_maxpool2d(ref, rng, kernel_size, stride):
    x = rng.normal(size=(2, 3, 6, 5))  # continuous values, so no ties
    expected_out = maxpool_loops(x, kernel_size, stride)
    G = rng.normal(size=expected_out.shape)

    def loss():
        return np.sum(ref.MaxPool2d(kernel_size, stride).forward(x) * G)

    layer = ref.MaxPool2d(kernel_size, stride)
    np.testing.assert_array_equal(layer.forward(x), expected_out)
    assert_close(layer.backward(G), central_diff(loss, x))


def test_maxpool2d_accumulates_where_windows_overlap(ref):
    x = np.array([[[[1.0, 2.0, 3.0], [4.0, 9.0, 5.0], [6.0, 7.0, 8.0]]]])
    layer = ref.MaxPool2d(2, 1)
    layer.forward(x)
    grad = layer.backward(np.ones((1, 1, 2, 2)))
    # The centre is the maximum of all four 2×2 windows.
    expected = np.zeros((1, 1, 3, 3))
    expected[0, 0, 1, 1] = 4.0
    np.testing.assert_array_equal(grad, expected)


def test_maxpool2d_tie_goes_to_first_maximum(ref):
    x = np.array([[[[1.0, 3.0, 0.0, 0.0], [3.0, 0.0, 0.0, 0.0]]]])
    layer = ref.MaxPool2d(2, 2)
    layer.forward(x)
    grad = layer.backward(np.array([[[[5.0, 7.0]]]]))
    # Window 1 ties at (0, 1) and (1, 0); window 2 is all zeros, so its first cell wins.
    expected = np.array([[[[0.0, 5.0, 7.0, 0.0], [0.0, 0.0, 0.0, 0.0]]]])
    np.testing.assert_array_equal(grad, expected)


# Two-layer net and attention


def test_two_layer_net(ref, rng):
    N, D, H, C = 5, 4, 6, 3
    X, y = rng.normal(size=(N, D)), np.array([0, 2, 1, 2, 0])
    params = {
        "W1": rng.normal(size=(D, H)),
        "b1": rng.normal(size=H),
        "W2": rng.normal(size=(H, C)),
        "b2": rng.normal(size=C),
    }

    def loss():
        return ref.two_layer_net(X, y, **params)[0]

    value, grads = ref.two_layer_net(X, y, **params)

    # The loss from first principles, one sample at a time.
    hidden = np.maximum(X @ params["W1"] + params["b1"], 0.0)
    scores = hidden @ params["W2"] + params["b2"]
    per_sample = [math.log(sum(math.exp(s) for s in scores[n])) - scores[n, y[n]] for n in range(N)]
    assert isinstance(value, float)
    assert value == pytest.approx(sum(per_sample) / N, rel=TOL)

    assert set(grads) == {"W1", "b1", "W2", "b2"}
    for name, param in params.items():
        assert grads[name].shape == param.shape
        assert_close(grads[name], central_diff(loss, param))


def test_two_layer_net_is_stable_for_large_scores(ref, rng):
    X, y = 1e4 * rng.normal(size=(3, 2)), np.array([0, 1, 1])
    W1, b1, W2, b2 = rng.normal(size=(2, 4)), np.zeros(4), rng.normal(size=(4, 3)), np.zeros(3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value, grads = ref.two_layer_net(X, y, W1, b1, W2, b2)
    assert math.isfinite(value)
    assert all(np.all(np.isfinite(g)) for g in grads.values())


def attention_loops(Q, K, V):
    """softmax(Q Kᵀ / √d) V, one batch element and one query row at a time."""
    d = Q.shape[-1]
    out = np.zeros(Q.shape[:-1] + V.shape[-1:])
    for idx in np.ndindex(Q.shape[:-2]):
        for t in range(Q.shape[-2]):
            scores = np.array([np.dot(Q[idx][t], key) / math.sqrt(d) for key in K[idx]])
            weights = np.exp(scores) / np.sum(np.exp(scores))
            out[idx][t] = weights @ V[idx]
    return out


@pytest.mark.parametrize("batch", [(), (2,), (2, 3)], ids=["no-batch", "batch", "two-batch-axes"])
def test_attention_backward(ref, rng, batch):
    Tq, Tk, d, dv = 3, 5, 4, 6  # more keys than queries, dv != d
    Q = rng.normal(size=(*batch, Tq, d))
    K = rng.normal(size=(*batch, Tk, d))
    V = rng.normal(size=(*batch, Tk, dv))
    G = rng.normal(size=(*batch, Tq, dv))

    def loss():
        return np.sum(attention_loops(Q, K, V) * G)

    dQ, dK, dV = ref.attention_backward(Q, K, V, G)

    assert_close(dQ, central_diff(loss, Q))
    assert_close(dK, central_diff(loss, K))
    assert_close(dV, central_diff(loss, V))


# Value, the scalar autograd engine


def shared_intermediate(a, b, c):
    d = a * b + c
    return d * d + d


def numbers_on_both_sides(a, b, c):
    return (2 + a) * (3 - b) + 4 * c - 1 + (a - 0.5) * 2


VALUE_CASES = [
    pytest.param(lambda a, b, c: a * b + a, lambda a, b, c: a * b + a, id="node-used-twice"),
    pytest.param(shared_intermediate, shared_intermediate, id="shared-intermediate"),
    pytest.param(numbers_on_both_sides, numbers_on_both_sides, id="radd-rsub-rmul"),
    pytest.param(lambda a, b, c: -a - b * c, lambda a, b, c: -a - b * c, id="neg-sub"),
    pytest.param(
        lambda a, b, c: a**3 + b**-2 + c**0.5,
        lambda a, b, c: a**3 + b**-2 + c**0.5,
        id="pow",
    ),
    pytest.param(lambda a, b, c: a / b + 2 / c, lambda a, b, c: a / b + 2 / c, id="div"),
    pytest.param(
        lambda a, b, c: (a * b).relu() + (a + c).relu(),
        lambda a, b, c: max(0.0, a * b) + max(0.0, a + c),
        id="relu",
    ),
    pytest.param(
        lambda a, b, c: (a * b + c).tanh(),
        lambda a, b, c: math.tanh(a * b + c),
        id="tanh",
    ),
    pytest.param(
        lambda a, b, c: (a - b).exp() * c,
        lambda a, b, c: math.exp(a - b) * c,
        id="exp",
    ),
    pytest.param(
        lambda a, b, c: ((a * b).tanh() + c.exp() * a).relu() / (1 + b**2),
        lambda a, b, c: max(0.0, math.tanh(a * b) + math.exp(c) * a) / (1 + b**2),
        id="mixed",
    ),
]


@pytest.mark.parametrize(("on_values", "on_floats"), VALUE_CASES)
def test_value_matches_central_differences(ref, on_values, on_floats):
    inputs = np.array([1.3, -0.7, 2.1])  # a * b < 0 < a + c, so relu sees both sides
    leaves = [ref.Value(v) for v in inputs]
    out = on_values(*leaves)
    out.backward()

    assert out.data == pytest.approx(on_floats(*inputs), rel=TOL)
    expected = central_diff(lambda: on_floats(*inputs), inputs)
    assert_close([leaf.grad for leaf in leaves], expected)


def test_value_attributes_and_seed_gradient(ref):
    a = ref.Value(3)
    assert isinstance(a.data, float)
    assert a.data == 3.0
    assert a.grad == 0.0
    out = a * 2
    out.backward()
    assert out.grad == 1.0
    assert a.grad == 2.0


def test_value_backward_handles_long_chains(ref):
    x = ref.Value(0.5)
    y = x
    for _ in range(5000):
        y = y + x
    y.backward()
    assert x.grad == 5001.0


# The numerical tools


def test_numerical_gradient_on_3d_input_leaves_x_unchanged(ref, rng):
    x, G = rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 3, 4))
    x_before = x.copy()
    grad = ref.numerical_gradient(lambda a: np.sum(np.sin(a) * G), x)

    np.testing.assert_array_equal(x, x_before)
    assert grad.shape == x.shape
    assert_close(grad, np.cos(x) * G)


def test_gradient_check(ref, rng):
    a = np.array([1.0, -2.0, 0.5])
    off = a * (1 + 1e-3)  # relative error |a - n| / (|a| + |n|) = 1e-3 / 2.001 ≈ 5.0e-4

    assert ref.gradient_check(a, a.copy()) is True
    assert ref.gradient_check(a, off) is False  # default rtol 1e-4
    assert ref.gradient_check(a, off, rtol=1e-3) is True
    assert ref.gradient_check(a, off, rtol=4e-4) is False

    # The worst element decides, however many others agree exactly.
    many = rng.normal(size=20)
    one_off = many.copy()
    one_off[7] *= 1 + 1e-3
    assert ref.gradient_check(many, one_off) is False

    # On a real layer: the true gradient passes, a slightly scaled one fails.
    x, W, b = rng.normal(size=(3, 2)), rng.normal(size=(2, 4)), rng.normal(size=4)
    G = rng.normal(size=(3, 4))
    layer = ref.Linear(W, b)
    layer.forward(x)
    layer.backward(G)
    numerical = ref.numerical_gradient(lambda w: np.sum(ref.Linear(w, b).forward(x) * G), W)
    assert ref.gradient_check(layer.grad_W, numerical) is True
    assert ref.gradient_check(1.01 * layer.grad_W, numerical) is False
