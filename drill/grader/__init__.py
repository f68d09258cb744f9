"""The auto-grader: a submission runs in a worker process, verdicts are computed here.

Submodules are imported where they are used, so that `drill init` and the quiz never pay
for NumPy.
"""
