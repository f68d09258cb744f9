"""Limits on a submission's process, shared by the command line and the grader."""

DEFAULT_TIMEOUT = 10.0  # seconds per exercise
DEFAULT_MEMORY_MB = 2048
