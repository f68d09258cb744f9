"""drill: interview practice for backpropagation — a timed quiz and an auto-grader."""

__version__ = "0.1.0"
