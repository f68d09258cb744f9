"""drill grade's cache of a bank's parsed data: used only while every file is unchanged."""

from __future__ import annotations

import datetime
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from drill.bank import BankError, load_bank
from drill.bank.loader import bank_cache_path, write_bank_cache
from drill.cli import app

FIXTURES = Path(__file__).parent / "fixtures"
QUESTION = "backprop/chain-rule-basics.yaml"
REFERENCE = FIXTURES / "solutions" / "backprop.py"


@pytest.fixture
def bank(tmp_path: Path) -> Path:
    """A copy of the fixture bank, with its reference solutions beside it."""
    shutil.copytree(FIXTURES / "bank", tmp_path / "questions")
    shutil.copytree(FIXTURES / "solutions", tmp_path / "solutions")
    return tmp_path / "questions"


def cached_load(bank: Path):
    return load_bank(bank, bank_cache_path(bank))


def edit_cache(bank: Path, change) -> None:
    """Apply `change` to the cached data of the bank's files, in place."""
    cache = bank_cache_path(bank)
    stored = json.loads(cache.read_text(encoding="utf-8"))
    change(stored)
    cache.write_text(json.dumps(stored), encoding="utf-8")


def retitle(title: str):
    def change(stored: dict) -> None:
        index = next(i for i, row in enumerate(stored["files"]) if row[0].endswith(QUESTION))
        stored["data"][index]["title"] = title

    return change


def test_an_unchanged_bank_is_read_from_the_cache(bank: Path) -> None:
    first = cached_load(bank)
    assert bank_cache_path(bank).is_file()
    # Only the cache holds this title: seeing it proves the files were not parsed again.
    edit_cache(bank, retitle("From the cache"))
    again = cached_load(bank)
    assert again.questions["chain-rule-basics"].title == "From the cache"
    assert again.exercises.keys() == first.exercises.keys()
    assert again.questions.keys() == first.questions.keys()


def test_a_file_saved_since_is_parsed_again(bank: Path) -> None:
    cached_load(bank)
    edit_cache(bank, retitle("From the cache"))
    path = bank / QUESTION
    text = path.read_text(encoding="utf-8")
    title_line = next(line for line in text.splitlines() if line.startswith("title:"))
    path.write_text(text.replace(title_line, "title: Saved since"), encoding="utf-8")
    assert cached_load(bank).questions["chain-rule-basics"].title == "Saved since"


def test_a_file_broken_since_is_reported_despite_the_cache(bank: Path) -> None:
    cached_load(bank)
    (bank / QUESTION).write_text("title: [unclosed\n", encoding="utf-8")
    with pytest.raises(BankError) as caught:
        cached_load(bank)
    assert "invalid YAML" in str(caught.value)


def test_a_new_file_is_seen_despite_the_cache(bank: Path) -> None:
    cached_load(bank)
    text = (bank / QUESTION).read_text(encoding="utf-8")
    (bank / "backprop" / "copy.yaml").write_text(
        text.replace("id: chain-rule-basics", "id: copy"), encoding="utf-8"
    )
    assert "copy" in cached_load(bank).questions


def test_cached_data_still_meets_the_schema(bank: Path) -> None:
    cached_load(bank)
    edit_cache(bank, retitle(""))
    with pytest.raises(BankError):
        cached_load(bank)


@pytest.mark.parametrize("content", ["", "not json {", "[]", '{"key": 1}', "\udcff"])
def test_an_unusable_cache_means_a_full_load(bank: Path, content: str) -> None:
    cache = bank_cache_path(bank)
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_bytes(content.encode("utf-8", "surrogateescape"))
    assert cached_load(bank).questions.keys() == load_bank(bank).questions.keys()
    assert json.loads(cache.read_text(encoding="utf-8"))["data"]  # rewritten whole


def test_a_bank_with_a_problem_is_not_cached(bank: Path) -> None:
    (bank / QUESTION).write_text("title: [unclosed\n", encoding="utf-8")
    with pytest.raises(BankError):
        cached_load(bank)
    assert not bank_cache_path(bank).exists()


def test_data_json_cannot_give_back_is_not_cached(tmp_path: Path) -> None:
    cache = tmp_path / "bank.json"
    write_bank_cache(cache, tmp_path, [["a.yaml", 1, 1]], [{"when": datetime.date(2024, 1, 1)}])
    assert not cache.exists()
    write_bank_cache(cache, tmp_path, [["a.yaml", 1, 1]], [{"when": "2024-01-01"}])
    assert cache.exists()


def test_drill_grade_reports_a_bank_broken_after_a_cached_grade(bank: Path) -> None:
    runner = CliRunner()
    args = ["grade", str(REFERENCE), "--bank", str(bank), "--json", "--no-strict"]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert bank_cache_path(bank).is_file()
    (bank / QUESTION).write_text("title: [unclosed\n", encoding="utf-8")
    broken = runner.invoke(app, args)
    assert broken.exit_code == 2
    assert "invalid YAML" in json.loads(broken.stdout)["error"]


def test_a_bank_read_from_the_cache_needs_no_yaml(bank: Path) -> None:
    load = (
        "import sys; from pathlib import Path; "
        "from drill.bank.loader import bank_cache_path, load_bank; "
        f"root = Path({str(bank)!r}); load_bank(root, bank_cache_path(root)); "
        "print('yaml' in sys.modules)"
    )
    runs = [
        subprocess.run([sys.executable, "-c", load], capture_output=True, text=True) for _ in "ab"
    ]
    assert [run.stdout.strip() for run in runs] == ["True", "False"], runs
