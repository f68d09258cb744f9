"""Browsing the bank and the quiz: drill list, show, hint, reveal and quiz."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from drill.cli.common import (
    BankOption,
    CompanyOption,
    DifficultyOption,
    KindOption,
    QuestionIdArgument,
    TopicOption,
    app,
    complete_question_id,
    fail,
    find_question,
    json_option,
    load,
    progress_store,
    question_filters,
)
from drill.progress import DEFAULT_NEW_PER_DAY

if TYPE_CHECKING:
    from datetime import datetime

    from rich.console import Console

    from drill.bank import Bank, Question
    from drill.progress.store import Store
    from drill.quiz.session import Filters


@app.command("list")
def list_questions(
    topic: TopicOption = None,
    difficulty: DifficultyOption = None,
    company: CompanyOption = None,
    kind: KindOption = None,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            callback=json_option,
            help="Print a JSON list with the same fields instead of a table.",
        ),
    ] = False,
    bank_dir: BankOption = None,
) -> None:
    """List the questions: id, title, difficulty, time budget, companies and kind.

    Filters combine, e.g. --company google --kind choice.
    """
    from drill.quiz.session import matching

    questions = matching(
        load(bank_dir).questions.values(), question_filters(topic, difficulty, company, kind)
    )
    if as_json:
        import json

        fields = [
            {
                "id": question.id,
                "title": question.title,
                "difficulty": question.difficulty,
                "time": question.time,
                "companies": list(question.companies),
                "kind": question.kind,
            }
            for question in questions
        ]
        typer.echo(json.dumps(fields, indent=2))
        return
    from drill.quiz.render import make_console, questions_listing

    console = make_console()
    if questions:
        console.print(questions_listing(questions, console.width), soft_wrap=True)
    else:
        console.print("No questions match these filters; drop one to see more.")


@app.command()
def show(question_id: QuestionIdArgument, bank_dir: BankOption = None) -> None:
    """Show a question's prompt and details (never its answer; see 'drill reveal')."""
    from drill.quiz.render import make_console, question_card, where_to_look

    question = find_question(load(bank_dir), question_id)
    console = make_console()
    console.print(question_card(question))
    console.print(where_to_look(question))


@app.command()
def hint(
    question_id: QuestionIdArgument,
    number: Annotated[
        int | None,
        typer.Option(
            "--number",
            "-n",
            min=1,
            help="Which hint to show (default 1); hints go from gentle to revealing.",
            show_default=False,
        ),
    ] = None,
    show_all: Annotated[bool, typer.Option("--all", help="Show every hint at once.")] = False,
    bank_dir: BankOption = None,
) -> None:
    """Show a hint for a question: the first one, hint N with --number N, or all with --all."""
    from drill.quiz.render import hint_card, make_console

    if show_all and number is not None:
        fail("use either --number or --all, not both")
    question = find_question(load(bank_dir), question_id)
    from drill.text import plural

    count = len(question.hints)
    if number is not None and number > count:
        fail(f"question '{question.id}' has {plural(count, 'hint')}; ask for --number 1 to {count}")
    numbers = range(1, count + 1) if show_all else [number or 1]
    console = make_console()
    for shown in numbers:
        console.print(hint_card(question, shown))


@app.command()
def reveal(question_id: QuestionIdArgument, bank_dir: BankOption = None) -> None:
    """Reveal a question's model answer, with the correct option(s) or value and key points."""
    from drill.quiz.render import answer_card, make_console, title_line

    question = find_question(load(bank_dir), question_id)
    console = make_console()
    console.print(title_line(question))
    console.print(answer_card(question))


@app.command()
def quiz(
    question_ids: Annotated[
        list[str] | None,
        typer.Argument(
            help="Ask exactly these questions (ids or unique starts of ids), in this order.",
            metavar="ID...",
            show_default=False,
            autocompletion=complete_question_id,
        ),
    ] = None,
    topic: TopicOption = None,
    difficulty: DifficultyOption = None,
    company: CompanyOption = None,
    kind: KindOption = None,
    count: Annotated[
        int | None,
        typer.Option(
            "--count",
            min=1,
            help="Ask at most this many questions (default: every one chosen); one that a "
            "learning step brings back within the session is asked again on top.",
            show_default=False,
        ),
    ] = None,
    new_per_day: Annotated[
        int,
        typer.Option(
            "--new",
            min=0,
            help="At most this many never-seen questions a day in a scheduled quiz.",
        ),
    ] = DEFAULT_NEW_PER_DAY,
    shuffle: Annotated[
        bool,
        typer.Option(
            "--all",
            help="Every matching question in random order, whether due or not.",
        ),
    ] = False,
    seed: Annotated[
        int | None,
        typer.Option(
            "--seed",
            help="Shuffle with this seed (implies --all): the same seed asks the same "
            "questions in the same order.",
            show_default=False,
        ),
    ] = None,
    bank_dir: BankOption = None,
) -> None:
    """Take a timed quiz: the reviews due first, most overdue first, then new questions.

    New questions come easiest first, at most --new a day (first seen in the quiz). A
    question due back within 20 minutes (a learning step: 1 minute after "again") is asked
    again before the end. When nothing is due, it says when the next review is. --all asks
    every matching question in random order instead, and naming questions asks exactly
    those. Every rating is saved at once (see drill progress).

    Each question shows its time budget and a running clock. Type your answer (a letter or
    letters for choice questions, a number for numeric ones, a NumPy expression for formula
    ones, several separated by ';') or any notes, and press Enter: choice, numeric and
    formula answers are marked right or wrong at once, then the model answer is shown and
    you rate yourself: 1 again, 2 hard, 3 good, 4 easy (or a, h, g, e). A wrong answer
    counts as again whatever you rate. Then it says when the question comes back.

    On an otherwise empty answer line, ? shows the next hint, s skips the question and q
    ends the quiz. Ctrl-C or the end of input also ends it. A summary table of time, outcome,
    rating and hints closes every session.

    Without a terminal, answers are read line by line, e.g.
    printf 'b\\ng\\nq\\n' | drill quiz --kind choice
    """
    import time

    from drill.quiz.render import make_console
    from drill.quiz.session import QuizSession, pick
    from drill.quiz.terminal import TerminalQuiz

    bank = load(bank_dir)
    filters = question_filters(topic, difficulty, company, kind)
    console = make_console()
    again_before = None  # a scheduled quiz asks again what falls due before it ends
    with progress_store() as store:
        if question_ids:
            chosen_otherwise = (topic, difficulty, company, kind, seed)
            if shuffle or any(option is not None for option in chosen_otherwise):
                fail("either name questions or choose them with filters, --all or --seed")
            chosen = [find_question(bank, query) for query in question_ids]
            questions = list({question.id: question for question in chosen}.values())
        elif shuffle or seed is not None:
            questions = pick(bank.questions.values(), filters, seed=seed)
            if not questions:
                fail("no questions match these filters; 'drill list' shows what the bank holds")
        else:
            questions = _scheduled(store, bank, filters, new_per_day, count, console)
            again_before = _learn_ahead
        questions = questions[:count]
        view = TerminalQuiz(console, time.monotonic)
        session = QuizSession(questions, view, time.monotonic, store, again_before)
        try:
            session.run()
        except KeyboardInterrupt:
            view.show_summary(session.records)
            raise typer.Exit(130) from None
        view.show_summary(session.records)


def _learn_ahead() -> datetime:
    from drill.progress import clock
    from drill.progress.schedule import LEARN_AHEAD

    return clock.now() + LEARN_AHEAD


def _scheduled(
    store: Store,
    bank: Bank,
    filters: Filters,
    new_per_day: int,
    count: int | None,
    console: Console,
) -> list[Question]:
    """The due and new questions a scheduled quiz asks; when none, say why and exit 0."""
    from drill.progress import clock
    from drill.progress.schedule import first_reviewed_today, plan
    from drill.progress.view import plan_summary

    candidates = [question for question in bank.questions.values() if filters.accepts(question)]
    if not candidates:
        fail("no questions match these filters; 'drill list' shows what the bank holds")
    now = clock.now()
    cards = {question_id: stored.card for question_id, stored in store.cards().items()}
    # Only the quiz's own first reviews use up its allowance: a question first met in a grade
    # or an interview was not the quiz's to hold back. Nor does one that left the bank.
    first_reviews = store.first_reviews("quiz")
    introduced = first_reviewed_today(
        (first_reviews[q] for q in bank.questions if q in first_reviews), now
    )
    chosen = plan(candidates, cards, introduced, new_per_day, now).first(count)
    console.print(plan_summary(chosen, new_per_day, now))
    if chosen.questions:
        return chosen.questions
    raise typer.Exit(0)
