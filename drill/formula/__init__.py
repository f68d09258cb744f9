"""Whiteboard (formula) questions: a gradient typed as a NumPy expression, checked numerically.

`syntax` reads an expression against a whitelist (no NumPy needed, so the bank loader can
use it); `evaluate` computes a read expression on arrays; `judge` compares a user's
expressions with the question's references and names known mistakes; `validate` is what
`drill check` runs on formula questions.
"""
