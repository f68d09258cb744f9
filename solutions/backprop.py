"""Reference solutions for the backprop exercises.

Every function and class here is the model answer that ``drill grade`` compares a
submission against. Arrays are float64 NumPy arrays unless a docstring says otherwise.
"""

import math

import numpy as np


class Linear:
    """Fully connected layer, Y = X W + b."""

    def __init__(self, W, b):
        """W: (D, M) weights; b: (M,) bias."""
        self.W = W
        self.b = b

    def forward(self, x):
        """x: (N, D) -> (N, M)."""
        self.x = x
        return x @ self.W + self.b

    def backward(self, grad_output):
        """grad_output: (N, M) -> grad_input (N, D); sets grad_W (D, M) and grad_b (M,)."""
        self.grad_W = self.x.T @ grad_output
        self.grad_b = grad_output.sum(axis=0)
        return grad_output @ self.W.T


class ReLU:
    """Elementwise max(0, x); the gradient at x = 0 is taken as 0."""

    def forward(self, x):
        """x: any shape -> same shape."""
        self.mask = x > 0
        return np.where(self.mask, x, 0.0)

    def backward(self, grad_output):
        """grad_output: shape of x -> grad_input, shape of x."""
        return grad_output * self.mask


def softmax_cross_entropy_backward(logits, y_true):
    """Gradient of L = -sum_n sum_i y_true[n, i] log softmax(logits[n])_i.

    logits: (N, C); y_true: (N, C), rows one-hot or probability distributions.
    Returns dL/dlogits, (N, C): softmax(logits) - y_true, because each row of y_true
    sums to one. Subtracting the row max first keeps exp finite for logits near ±1000.
    """
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    probs = exp / exp.sum(axis=1, keepdims=True)
    return probs - y_true


def numerical_gradient(f, x, eps=1e-5):
    """Central-difference gradient of the scalar function f at x.

    f: takes an array shaped like x, returns a float; x: any shape.
    Returns an array shaped like x; x holds its original values on return.
    """
    grad = np.zeros_like(x, dtype=float)
    for i in range(x.size):
        original = x.flat[i]
        x.flat[i] = original + eps
        f_plus = f(x)
        x.flat[i] = original - eps
        f_minus = f(x)
        x.flat[i] = original
        grad.flat[i] = (f_plus - f_minus) / (2 * eps)
    return grad


def gradient_check(analytical, numerical, rtol=1e-4):
    """True iff max |a - n| / (|a| + |n| + 1e-8) over all elements is below rtol.

    analytical, numerical: arrays of one shape. Returns a bool.
    """
    relative_error = np.abs(analytical - numerical) / (
        np.abs(analytical) + np.abs(numerical) + 1e-8
    )
    return bool(relative_error.max() < rtol)


class Sigmoid:
    """Elementwise logistic function, 1 / (1 + exp(-x))."""

    def forward(self, x):
        """x: any shape -> same shape, values in [0, 1]."""
        # exp(-|x|) is at most 1, so neither branch can overflow for large |x|.
        z = np.exp(-np.abs(x))
        self.out = np.where(x >= 0, 1.0 / (1.0 + z), z / (1.0 + z))
        return self.out

    def backward(self, grad_output):
        """grad_output: shape of x -> grad_input, shape of x. Uses σ' = σ(1 - σ)."""
        return grad_output * self.out * (1.0 - self.out)


class Tanh:
    """Elementwise hyperbolic tangent."""

    def forward(self, x):
        """x: any shape -> same shape, values in [-1, 1]."""
        self.out = np.tanh(x)
        return self.out

    def backward(self, grad_output):
        """grad_output: shape of x -> grad_input, shape of x. Uses tanh' = 1 - tanh²."""
        return grad_output * (1.0 - self.out**2)


def mse_loss_backward(pred, target):
    """Gradient of L = mean((pred - target)²), the mean taken over every element.

    pred, target: arrays of one shape, any shape. Returns dL/dpred, shaped like pred.
    """
    return 2.0 * (pred - target) / pred.size


def softmax_backward(probs, grad_output):
    """Gradient through probs = softmax(z), softmax over the last axis.

    probs: (N, C) softmax outputs; grad_output: (N, C), dL/dprobs. Returns dL/dz, (N, C).
    The Jacobian diag(p) - p pᵀ is never built: its product with g is p * (g - p·g).
    """
    return probs * (grad_output - np.sum(grad_output * probs, axis=-1, keepdims=True))


class BatchNorm:
    """Batch normalisation in training mode: each feature is normalised over the batch."""

    def __init__(self, gamma, beta, eps=1e-5):
        """gamma: (D,) scale; beta: (D,) shift; eps: added to the variance."""
        self.gamma = gamma
        self.beta = beta
        self.eps = eps

    def forward(self, x):
        """x: (N, D) -> (N, D). Uses the batch mean and the biased (divide by N) variance."""
        mean = x.mean(axis=0)
        var = x.var(axis=0)
        self.inv_std = 1.0 / np.sqrt(var + self.eps)
        self.x_hat = (x - mean) * self.inv_std
        return self.gamma * self.x_hat + self.beta

    def backward(self, grad_output):
        """grad_output: (N, D) -> grad_input (N, D); sets grad_gamma (D,) and grad_beta (D,)."""
        self.grad_gamma = np.sum(grad_output * self.x_hat, axis=0)
        self.grad_beta = np.sum(grad_output, axis=0)
        grad_x_hat = grad_output * self.gamma
        # Every x_hat depends on the whole column through the mean and variance, which
        # adds the two correction terms after the direct path grad_x_hat.
        return self.inv_std * (
            grad_x_hat
            - grad_x_hat.mean(axis=0)
            - self.x_hat * np.mean(grad_x_hat * self.x_hat, axis=0)
        )


class LayerNorm:
    """Layer normalisation: each sample is normalised over its last axis."""

    def __init__(self, gamma, beta, eps=1e-5):
        """gamma: (D,) scale; beta: (D,) shift; eps: added to the variance."""
        self.gamma = gamma
        self.beta = beta
        self.eps = eps

    def forward(self, x):
        """x: (..., D) -> (..., D). Uses the biased (divide by D) variance."""
        mean = x.mean(axis=-1, keepdims=True)
        var = x.var(axis=-1, keepdims=True)
        self.inv_std = 1.0 / np.sqrt(var + self.eps)
        self.x_hat = (x - mean) * self.inv_std
        return self.gamma * self.x_hat + self.beta

    def backward(self, grad_output):
        """grad_output: (..., D) -> grad_input (..., D); sets grad_gamma (D,), grad_beta (D,).

        The parameter gradients are summed over every leading axis.
        """
        D = self.x_hat.shape[-1]
        self.grad_gamma = np.sum((grad_output * self.x_hat).reshape(-1, D), axis=0)
        self.grad_beta = np.sum(grad_output.reshape(-1, D), axis=0)
        grad_x_hat = grad_output * self.gamma
        # Same as BatchNorm with the statistics taken along the last axis instead of the batch.
        return self.inv_std * (
            grad_x_hat
            - grad_x_hat.mean(axis=-1, keepdims=True)
            - self.x_hat * np.mean(grad_x_hat * self.x_hat, axis=-1, keepdims=True)
        )


class Embedding:
    """Lookup table: row i of W is the vector for token i."""

    def __init__(self, W):
        """W: (V, D), one D-vector per token in a vocabulary of V."""
        self.W = W

    def forward(self, indices):
        """indices: int array, any shape, values in [0, V) -> indices.shape + (D,)."""
        self.indices = indices
        return self.W[indices]

    def backward(self, grad_output):
        """grad_output: indices.shape + (D,) -> None; sets grad_W (V, D).

        Integer indices have no gradient, so nothing is returned.
        """
        self.grad_W = np.zeros_like(self.W)
        # A token that appears several times collects the gradient of every occurrence;
        # plain fancy-index += would keep only one of them.
        np.add.at(self.grad_W, self.indices, grad_output)


class Conv2d:
    """2-D convolution (cross-correlation, as in deep learning) on NCHW arrays."""

    def __init__(self, W, b, stride=1, padding=0):
        """W: (F, C, KH, KW) filters; b: (F,) bias; stride, padding: ints, zero padding."""
        self.W = W
        self.b = b
        self.stride = stride
        self.padding = padding

    def forward(self, x):
        """x: (N, C, H, W) -> (N, F, H_out, W_out), H_out = (H + 2 padding - KH) // stride + 1."""
        F, _, KH, KW = self.W.shape
        p, s = self.padding, self.stride
        self.x_shape = x.shape
        self.x_pad = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
        N, _, H_pad, W_pad = self.x_pad.shape
        H_out = (H_pad - KH) // s + 1
        W_out = (W_pad - KW) // s + 1
        out = np.empty((N, F, H_out, W_out))
        for i in range(H_out):
            for j in range(W_out):
                window = self.x_pad[:, :, i * s : i * s + KH, j * s : j * s + KW]
                # (N, C, KH, KW) · (F, C, KH, KW) over C, KH, KW -> (N, F)
                out[:, :, i, j] = np.tensordot(window, self.W, axes=([1, 2, 3], [1, 2, 3]))
        return out + self.b[:, None, None]

    def backward(self, grad_output):
        """grad_output: (N, F, H_out, W_out) -> grad_input (N, C, H, W).

        Sets grad_W (F, C, KH, KW) and grad_b (F,).
        """
        _, _, KH, KW = self.W.shape
        p, s = self.padding, self.stride
        _, _, H_out, W_out = grad_output.shape
        self.grad_b = grad_output.sum(axis=(0, 2, 3))
        self.grad_W = np.zeros_like(self.W)
        grad_x_pad = np.zeros_like(self.x_pad)
        for i in range(H_out):
            for j in range(W_out):
                rows = slice(i * s, i * s + KH)
                cols = slice(j * s, j * s + KW)
                g = grad_output[:, :, i, j]  # (N, F)
                # (N, F) · (N, C, KH, KW) over N -> (F, C, KH, KW)
                self.grad_W += np.tensordot(g, self.x_pad[:, :, rows, cols], axes=([0], [0]))
                # (N, F) · (F, C, KH, KW) over F -> (N, C, KH, KW); windows may overlap.
                grad_x_pad[:, :, rows, cols] += np.tensordot(g, self.W, axes=([1], [0]))
        H, W = self.x_shape[2], self.x_shape[3]
        return grad_x_pad[:, :, p : p + H, p : p + W]


class MaxPool2d:
    """Max pooling over square windows of NCHW arrays, no padding."""

    def __init__(self, kernel_size, stride):
        """kernel_size: side of the square window; stride: step between windows."""
        self.k = kernel_size
        self.stride = stride

    def forward(self, x):
        """x: (N, C, H, W) -> (N, C, H_out, W_out), H_out = (H - kernel_size) // stride + 1."""
        k, s = self.k, self.stride
        N, C, H, W = x.shape
        H_out = (H - k) // s + 1
        W_out = (W - k) // s + 1
        self.x_shape = x.shape
        out = np.empty((N, C, H_out, W_out))
        # Position of each window's maximum in the flattened window; argmax picks the
        # first one in row-major order when there is a tie.
        self.argmax = np.empty((N, C, H_out, W_out), dtype=int)
        for i in range(H_out):
            for j in range(W_out):
                window = x[:, :, i * s : i * s + k, j * s : j * s + k].reshape(N, C, k * k)
                self.argmax[:, :, i, j] = window.argmax(axis=-1)
                out[:, :, i, j] = window.max(axis=-1)
        return out

    def backward(self, grad_output):
        """grad_output: (N, C, H_out, W_out) -> grad_input (N, C, H, W).

        Each window's gradient goes to its maximum; overlapping windows add up.
        """
        k, s = self.k, self.stride
        N, C, H_out, W_out = grad_output.shape
        grad_x = np.zeros(self.x_shape)
        for i in range(H_out):
            for j in range(W_out):
                is_max = np.arange(k * k) == self.argmax[:, :, i, j, None]  # (N, C, k*k)
                routed = is_max * grad_output[:, :, i, j, None]
                grad_x[:, :, i * s : i * s + k, j * s : j * s + k] += routed.reshape(N, C, k, k)
        return grad_x


def two_layer_net(X, y, W1, b1, W2, b2):
    """Loss and gradients of Linear -> ReLU -> Linear -> softmax cross-entropy.

    X: (N, D); y: (N,) integer labels in [0, C); W1: (D, H); b1: (H,); W2: (H, C); b2: (C,).
    Returns (loss, grads): loss a float, the cross-entropy averaged over the batch; grads a
    dict with "W1", "b1", "W2", "b2", each shaped like its parameter.
    """
    N = X.shape[0]
    rows = np.arange(N)

    hidden_in = X @ W1 + b1  # (N, H)
    hidden = np.maximum(hidden_in, 0.0)  # (N, H)
    scores = hidden @ W2 + b2  # (N, C)
    shifted = scores - scores.max(axis=1, keepdims=True)  # keeps exp finite
    exp = np.exp(shifted)
    probs = exp / exp.sum(axis=1, keepdims=True)
    log_probs = shifted - np.log(exp.sum(axis=1, keepdims=True))
    loss = -log_probs[rows, y].mean()

    grad_scores = probs.copy()
    grad_scores[rows, y] -= 1.0
    grad_scores /= N  # the loss is a mean over the batch
    grad_W2 = hidden.T @ grad_scores
    grad_b2 = grad_scores.sum(axis=0)
    grad_hidden = grad_scores @ W2.T
    grad_hidden_in = grad_hidden * (hidden_in > 0)
    grad_W1 = X.T @ grad_hidden_in
    grad_b1 = grad_hidden_in.sum(axis=0)

    grads = {"W1": grad_W1, "b1": grad_b1, "W2": grad_W2, "b2": grad_b2}
    return float(loss), grads


def attention_backward(Q, K, V, grad_output):
    """Gradients of O = softmax(Q Kᵀ / √d) V, softmax over the last axis, d = Q.shape[-1].

    Q: (..., Tq, d); K: (..., Tk, d); V: (..., Tk, dv); grad_output: (..., Tq, dv), dL/dO.
    Leading batch axes are shared. Returns (dQ, dK, dV), shaped like Q, K and V.
    """
    scale = 1.0 / np.sqrt(Q.shape[-1])

    scores = Q @ np.swapaxes(K, -1, -2) * scale  # (..., Tq, Tk)
    shifted = scores - scores.max(axis=-1, keepdims=True)  # keeps exp finite
    exp = np.exp(shifted)
    weights = exp / exp.sum(axis=-1, keepdims=True)  # (..., Tq, Tk)

    dV = np.swapaxes(weights, -1, -2) @ grad_output  # (..., Tk, dv)
    d_weights = grad_output @ np.swapaxes(V, -1, -2)  # (..., Tq, Tk)
    d_scores = softmax_backward(weights, d_weights)
    dQ = d_scores @ K * scale  # (..., Tq, d)
    dK = np.swapaxes(d_scores, -1, -2) @ Q * scale  # (..., Tk, d)
    return dQ, dK, dV


class Value:
    """A scalar that remembers how it was computed, for reverse-mode autodiff.

    data: the float value; grad: dL/d(this value) after backward(), 0.0 before.
    Every operation takes and returns scalars.
    """

    def __init__(self, data, _parents=()):
        """data: a number; _parents: the Values this one was computed from."""
        self.data = float(data)
        self.grad = 0.0
        self._parents = _parents
        self._backward = lambda: None  # a leaf has nothing to pass on

    def __add__(self, other):
        """self + other, other a Value or a number -> Value."""
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, (self, other))

        def _backward():
            self.grad += out.grad
            other.grad += out.grad

        out._backward = _backward
        return out

    def __mul__(self, other):
        """self * other, other a Value or a number -> Value."""
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, (self, other))

        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad

        out._backward = _backward
        return out

    def __pow__(self, exponent):
        """self ** exponent, exponent an int or float -> Value."""
        out = Value(self.data**exponent, (self,))

        def _backward():
            self.grad += exponent * self.data ** (exponent - 1) * out.grad

        out._backward = _backward
        return out

    def relu(self):
        """max(0, self) -> Value; the gradient at 0 is taken as 0."""
        out = Value(max(0.0, self.data), (self,))

        def _backward():
            self.grad += (out.data > 0) * out.grad

        out._backward = _backward
        return out

    def tanh(self):
        """tanh(self) -> Value."""
        out = Value(math.tanh(self.data), (self,))

        def _backward():
            self.grad += (1.0 - out.data**2) * out.grad

        out._backward = _backward
        return out

    def exp(self):
        """exp(self) -> Value."""
        out = Value(math.exp(self.data), (self,))

        def _backward():
            self.grad += out.data * out.grad

        out._backward = _backward
        return out

    def __neg__(self):
        """-self -> Value."""
        return self * -1

    def __sub__(self, other):
        """self - other, other a Value or a number -> Value."""
        return self + (-other)

    def __truediv__(self, other):
        """self / other, other a Value or a number -> Value."""
        other = other if isinstance(other, Value) else Value(other)
        return self * other**-1

    def __radd__(self, other):
        """other + self, other a number -> Value."""
        return self + other

    def __rsub__(self, other):
        """other - self, other a number -> Value."""
        return (-self) + other

    def __rmul__(self, other):
        """other * self, other a number -> Value."""
        return self * other

    def __rtruediv__(self, other):
        """other / self, other a number -> Value."""
        return self**-1 * other

    def backward(self):
        """Sets self.grad = 1 and fills in .grad of every Value this one depends on.

        Gradients accumulate, so call it once on a freshly built expression.
        """
        # Order the graph so that each node comes after everything it was computed from;
        # an explicit stack instead of recursion, so long chains do not hit the recursion limit.
        order = []
        visited = set()
        stack = [(self, False)]
        while stack:
            node, parents_done = stack.pop()
            if parents_done:
                order.append(node)
            elif node not in visited:
                visited.add(node)
                stack.append((node, True))
                stack.extend((parent, False) for parent in node._parents)

        self.grad = 1.0
        for node in reversed(order):
            node._backward()


def _stable_sigmoid(z):
    """σ(z) elementwise without overflow: exp(−|z|) is at most 1. z: any shape -> same shape."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def sigmoid_bce_with_logits_backward(logits, targets):
    """Loss and gradient of binary cross-entropy on sigmoid(logits), averaged over all entries.

    logits: any shape; targets: shape of logits, values in [0, 1] (hard 0/1 or soft labels).
    L = mean(−y log σ(z) − (1 − y) log(1 − σ(z))). Returns (loss, dL/dlogits): a float and
    an array shaped like logits, (σ(z) − y) / logits.size.
    """
    # −y log σ(z) − (1 − y) log(1 − σ(z)) = max(z, 0) − z·y + log(1 + exp(−|z|)): no exp of a
    # large positive number and no log of 0, so it is finite for |z| = 1000.
    per_entry = np.maximum(logits, 0.0) - logits * targets + np.log1p(np.exp(-np.abs(logits)))
    loss = per_entry.mean()
    grad_logits = (_stable_sigmoid(logits) - targets) / logits.size
    return float(loss), grad_logits


class Dropout:
    """Inverted dropout with the keep-mask given, so that results are deterministic."""

    def __init__(self, p, mask, training):
        """p: drop probability in [0, 1); mask: 0/1 array shaped like x, 1 = keep;
        training: true for training mode, false for evaluation (the layer is then the identity).
        """
        self.p = p
        self.mask = mask
        self.training = training

    def forward(self, x):
        """x: any shape -> same shape; kept entries scaled by 1 / (1 − p) in training."""
        if not self.training:
            return x.copy()
        self.scaled_mask = self.mask / (1.0 - self.p)
        return x * self.scaled_mask

    def backward(self, grad_output):
        """grad_output: shape of x -> grad_input, shape of x."""
        if not self.training:
            return grad_output.copy()
        return grad_output * self.scaled_mask


_erf = np.vectorize(math.erf, otypes=[float])


class GELU:
    """The exact GELU, x·Φ(x) with Φ the standard normal CDF (the erf form, not tanh)."""

    def forward(self, x):
        """x: any shape -> 0.5·x·(1 + erf(x / √2)), same shape."""
        self.x_in = x
        self.cdf = 0.5 * (1.0 + _erf(x / math.sqrt(2.0)))
        return x * self.cdf

    def backward(self, grad_output):
        """grad_output: shape of x -> grad_input, shape of x. GELU′(x) = Φ(x) + x·φ(x)."""
        pdf = np.exp(-0.5 * self.x_in**2) / math.sqrt(2.0 * math.pi)
        return grad_output * (self.cdf + self.x_in * pdf)


class LogSoftmax:
    """log softmax over the last axis: z − log Σ exp(z)."""

    def forward(self, x):
        """x: (..., C) -> (..., C)."""
        shifted = x - x.max(axis=-1, keepdims=True)  # keeps exp finite
        self.out = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
        return self.out

    def backward(self, grad_output):
        """grad_output: (..., C) -> grad_input (..., C): g − softmax(x)·Σg along the last axis."""
        probs = np.exp(self.out)
        return grad_output - probs * grad_output.sum(axis=-1, keepdims=True)


def lstm_cell(x, h_prev, c_prev, Wx, Wh, b, grad_h, grad_c):
    """One LSTM step, forward and backward; gates stacked in the order i, f, g, o.

    x: (N, D); h_prev, c_prev: (N, H); Wx: (D, 4H); Wh: (H, 4H); b: (4H,).
    a = x Wx + h_prev Wh + b; i, f, o = σ(parts of a), g = tanh(part of a);
    c = f ⊙ c_prev + i ⊙ g; h = o ⊙ tanh(c).
    grad_h, grad_c: (N, H), the gradients arriving for h and c; grad_c comes along the cell
    state only, without the path through this step's h.
    Returns (h, c, grads): h and c (N, H); grads a dict with "x", "h_prev", "c_prev", "Wx",
    "Wh", "b", each ∂L/∂(that argument), shaped like it.
    """
    H = h_prev.shape[1]
    a = x @ Wx + h_prev @ Wh + b  # (N, 4H)
    i = _stable_sigmoid(a[:, :H])
    f = _stable_sigmoid(a[:, H : 2 * H])
    g = np.tanh(a[:, 2 * H : 3 * H])
    o = _stable_sigmoid(a[:, 3 * H :])
    c = f * c_prev + i * g
    tanh_c = np.tanh(c)
    h = o * tanh_c

    # c reaches the loss directly (grad_c) and through h = o ⊙ tanh(c).
    grad_c_total = grad_c + grad_h * o * (1.0 - tanh_c**2)
    grad_o = grad_h * tanh_c
    grad_i = grad_c_total * g
    grad_g = grad_c_total * i
    grad_f = grad_c_total * c_prev
    grad_c_prev = grad_c_total * f
    grad_a = np.concatenate(
        [
            grad_i * i * (1.0 - i),
            grad_f * f * (1.0 - f),
            grad_g * (1.0 - g**2),
            grad_o * o * (1.0 - o),
        ],
        axis=1,
    )  # (N, 4H)
    grads = {
        "x": grad_a @ Wx.T,
        "h_prev": grad_a @ Wh.T,
        "c_prev": grad_c_prev,
        "Wx": x.T @ grad_a,
        "Wh": h_prev.T @ grad_a,
        "b": grad_a.sum(axis=0),
    }
    return h, c, grads


def rnn_bptt(x, h0, Wx, Wh, b, grad_hs):
    """A tanh RNN over T steps, forward and backpropagation through time.

    x: (T, N, D); h0: (N, H); Wx: (D, H); Wh: (H, H); b: (H,).
    h_t = tanh(x_t Wx + h_{t−1} Wh + b) for t = 1 … T.
    grad_hs: (T, N, H), ∂L/∂h_t from the loss terms at every step.
    Returns (hs, grads): hs (T, N, H), the states h_1 … h_T; grads a dict with "x", "h0",
    "Wx", "Wh", "b", each ∂L/∂(that argument), shaped like it.
    """
    T = x.shape[0]
    hs = np.empty((T, *h0.shape))
    h = h0
    for t in range(T):
        h = np.tanh(x[t] @ Wx + h @ Wh + b)
        hs[t] = h

    grad_x = np.zeros_like(x)
    grad_Wx = np.zeros_like(Wx)
    grad_Wh = np.zeros_like(Wh)
    grad_b = np.zeros_like(b)
    grad_h_next = np.zeros_like(h0)  # what h_t receives from step t + 1
    for t in reversed(range(T)):
        h_before = hs[t - 1] if t > 0 else h0
        grad_pre = (grad_hs[t] + grad_h_next) * (1.0 - hs[t] ** 2)  # (N, H)
        grad_x[t] = grad_pre @ Wx.T
        grad_Wx += x[t].T @ grad_pre
        grad_Wh += h_before.T @ grad_pre
        grad_b += grad_pre.sum(axis=0)
        grad_h_next = grad_pre @ Wh.T
    grads = {"x": grad_x, "h0": grad_h_next, "Wx": grad_Wx, "Wh": grad_Wh, "b": grad_b}
    return hs, grads


def causal_attention_backward(Q, K, V, grad_output):
    """Gradients of causal attention O = softmax(mask(Q Kᵀ / √d)) V, d = Q.shape[-1].

    The mask lets query i see keys 0 … i only (score −∞ above the diagonal).
    Q, K: (..., T, d); V: (..., T, dv); grad_output: (..., T, dv), ∂L/∂O.
    Returns (dQ, dK, dV), shaped like Q, K and V.
    """
    T = Q.shape[-2]
    inv_sqrt_d = 1.0 / np.sqrt(Q.shape[-1])
    visible = np.tril(np.ones((T, T), dtype=bool))

    raw = Q @ np.swapaxes(K, -1, -2) * inv_sqrt_d  # (..., T, T)
    masked = np.where(visible, raw, -np.inf)
    # Every row sees at least its own key, so its max is finite.
    exp = np.exp(masked - masked.max(axis=-1, keepdims=True))
    attn = exp / exp.sum(axis=-1, keepdims=True)  # exactly 0 above the diagonal

    grad_V = np.swapaxes(attn, -1, -2) @ grad_output  # (..., T, dv)
    grad_attn = grad_output @ np.swapaxes(V, -1, -2)  # (..., T, T)
    # The softmax backward is P ⊙ (…), so hidden positions get no gradient without
    # masking a second time.
    grad_raw = attn * (grad_attn - np.sum(grad_attn * attn, axis=-1, keepdims=True))
    grad_Q = grad_raw @ K * inv_sqrt_d  # (..., T, d)
    grad_K = np.swapaxes(grad_raw, -1, -2) @ Q * inv_sqrt_d  # (..., T, d)
    return grad_Q, grad_K, grad_V
