"""The mock interview: a timed mixed set of questions, a code question answered in a file."""
