"""The timed quiz: picking questions, judging answers, and the terminal view."""
