"""Correct solutions written otherwise than the reference get full marks from the real grader."""

from pathlib import Path

from drill.bank import load_bank
from drill.grader.grade import grade

SOLUTION = Path(__file__).resolve().parent / "fixtures" / "written_otherwise.py"

EXERCISES = [
    "sigmoid",
    "tanh",
    "mse_loss_backward",
    "softmax_backward",
    "two_layer_net",
    "embedding",
    "layernorm",
    "batchnorm",
    "maxpool2d",
    "conv2d",
    "attention_backward",
    "value",
    "lstm_cell",
    "rnn_bptt",
]


def test_solutions_written_otherwise_pass_every_exercise():
    bank = load_bank()
    report = grade(SOLUTION, bank, [bank.exercises[i] for i in EXERCISES])
    assert {e.id: (e.status, e.message) for e in report.exercises} == dict.fromkeys(
        EXERCISES, ("passed", "all checks passed")
    )
    assert report.points == report.max_points > 0
