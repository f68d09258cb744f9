"""The question bank: its schema and its loader. Imports nothing heavier than PyYAML."""

from drill.bank.loader import Bank, BankError, BankIssue, default_bank_dir, load_bank
from drill.bank.lookup import UnknownId, resolve, select
from drill.bank.schema import Exercise, Mistake, Question

__all__ = [
    "Bank",
    "BankError",
    "BankIssue",
    "Exercise",
    "Mistake",
    "Question",
    "UnknownId",
    "default_bank_dir",
    "load_bank",
    "resolve",
    "select",
]
