"""The exercises of the original question sheet, which several tests grade on their own."""

SEED_FIVE = [
    "linear",
    "relu",
    "softmax_cross_entropy_backward",
    "numerical_gradient",
    "gradient_check",
]
