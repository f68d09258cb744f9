"""`drill stats`, `drill exercises` and the scheduled quiz's opening line, drawn with Rich.

Every picture reads without colour (NO_COLOR): bars are block characters and the calendar
shades days with ░ ▒ ▓ █, colour only repeats what the characters say.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from drill.progress.clock import describe_due
from drill.progress.schedule import Plan
from drill.progress.stats import ExerciseProgress, Stats
from drill.text import plural, visible

# Calendar shades from "no reviews" to "many"; a day's shade is its count against the busiest.
SHADES = ("·", "░", "▒", "▓", "█")
SHADE_STYLES = ("dim", "green", "green", "bold green", "bold green")
BAR = "█"
EMPTY_BAR = "░"
STATUS_MARKS = {
    "passed": ("✓ passed", "green"),
    "failed": ("✗ failed", "red"),
    "not_attempted": ("· not yet", "dim"),
}


def plan_summary(plan: Plan, new_per_day: int, when: datetime) -> Text:
    """What a scheduled quiz is about to ask or, when nothing, when to come back."""
    if plan.questions:
        return Text(
            f"{plural(len(plan.due), 'review')} due and "
            f"{plural(len(plan.new), 'new question')} to see."
        )
    lines = ["Nothing is due now."]
    if plan.next_due is not None:
        local = plan.next_due.astimezone().strftime("%a %d %b at %H:%M")
        lines.append(f"The next review is {describe_due(plan.next_due, when)} ({local}).")
    if plan.new_waiting:
        lines.append(
            f"{plural(plan.new_waiting, 'new question')} wait for another day: at most "
            f"{new_per_day} new a day (--new N changes that)."
        )
    lines.append("'drill quiz --all' practises every matching question anyway.")
    return Text("\n".join(lines))


def _percent(share: float | None) -> str:
    return "–" if share is None else f"{share:.0%}"


def _local_date(moment: datetime | None) -> str:
    return "–" if moment is None else f"{moment.astimezone():%Y-%m-%d}"


def headline(stats: Stats) -> Text:
    """The counts, one fact per line."""
    facts = [
        ("Reviews done", str(stats.reviews)),
        ("Due now", str(stats.due_now)),
        ("Due today", str(stats.due_today)),
        ("Due this week", str(stats.due_this_week)),
        ("New questions left", str(stats.new_left)),
        ("Streak", f"{stats.streak_days} day{'s' if stats.streak_days != 1 else ''}"),
        ("Retention, 30 days", _percent(stats.retention_30d)),
    ]
    width = max(len(label) for label, _ in facts)
    text = Text()
    for label, value in facts:
        text.append(f"{label:<{width}}  ")
        text.append(f"{value}\n", style="bold")
    text.rstrip()
    return text


def mastery(stats: Stats, group: str, width: int) -> RenderableType:
    """Mean predicted recall per topic or kind, as a bar of █ and ░ with a percentage."""
    shares = stats.mastery(group)
    label_width = max(len(name) for name in shares)
    bar_width = max(min(width - label_width - 8, 30), 5)
    text = Text().append(f"Mastery by {group}\n", style="bold")
    for name, share in shares.items():
        filled = round(share * bar_width)
        text.append(f"{name:<{label_width}} ")
        text.append(BAR * filled, style="green")
        text.append(EMPTY_BAR * (bar_width - filled), style="dim")
        text.append(f" {share:>4.0%}\n")
    text.rstrip()
    return text


def forecast(stats: Stats, width: int) -> RenderableType:
    """Reviews falling due on each of the next 14 days, one bar per day."""
    busiest = max((count for _, count in stats.forecast), default=0)
    bar_width = max(min(width - 16, 40), 5)
    text = Text().append("Due in the next 14 days\n", style="bold")
    for day, count in stats.forecast:
        length = 0 if busiest == 0 else max(round(count / busiest * bar_width), 1 if count else 0)
        text.append(f"{day:%a %d %b} {count:>3}")
        if length:
            text.append(" " + BAR * length, style="cyan")
        text.append("\n")
    text.rstrip()
    return text


def shade(count: int, busiest: int) -> int:
    """Which of SHADES a day with `count` reviews gets: 0 for none, 4 for the busiest days."""
    if count == 0:
        return 0
    return min(1 + (count * 4 - 1) // max(busiest, 1), len(SHADES) - 1)


_DAY_LABEL_WIDTH = 4  # "Mon "


def calendar(stats: Stats, width: int) -> RenderableType:
    """The last 20 weeks as a grid of days, weeks left to right, Monday to Sunday down.

    Days are a space apart when the terminal has the room, side by side otherwise.
    """
    days = sorted(stats.calendar)
    busiest = max(stats.calendar.values(), default=0)
    weeks = [days[start : start + 7] for start in range(0, len(days), 7)]
    cell = 2 if _DAY_LABEL_WIDTH + 2 * len(weeks) <= width else 1
    margin = " " * _DAY_LABEL_WIDTH
    text = Text().append(f"Practice, last {len(weeks)} weeks\n", style="bold")
    text.append(f"{margin}{_month_labels([week[0] for week in weeks], cell)}\n", style="dim")
    for weekday, name in enumerate(("Mon", "", "Wed", "", "Fri", "", "Sun")):
        text.append(f"{name:<{_DAY_LABEL_WIDTH}}")
        for column, week in enumerate(weeks):
            if weekday < len(week):
                level = shade(stats.calendar[week[weekday]], busiest)
                text.append(" " * (cell - 1) if column else "")
                text.append(SHADES[level], style=SHADE_STYLES[level])
        text.append("\n")
    text.append(f"{margin}less ")
    for level, character in enumerate(SHADES):
        text.append(character, style=SHADE_STYLES[level])
    text.append(f" more (most: {busiest})")
    return text


def _month_labels(mondays: Sequence[date], cell: int) -> str:
    """A line with each month's abbreviation above the first week that starts in it.

    The first column's month, often a few days' worth, gives way when its label would leave
    no room for the next month's.
    """
    line = [" "] * (len(mondays) * cell)
    starts = [
        (column * cell, f"{monday:%b}")
        for column, monday in enumerate(mondays)
        if column == 0 or monday.month != mondays[column - 1].month
    ]
    if len(starts) > 1 and starts[1][0] <= len(starts[0][1]):
        del starts[0]
    free_from = 0
    for position, label in starts:
        if position >= free_from and position + len(label) <= len(line):
            line[position : position + len(label)] = label
            free_from = position + len(label) + 1
    return "".join(line).rstrip()


def _started(value: object) -> str:
    """An interview's start in local time when it is an ISO 8601 time with a zone."""
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    return str(value) if moment.tzinfo is None else f"{moment.astimezone():%Y-%m-%d %H:%M}"


def interviews(stats: Stats) -> RenderableType:
    """Each stored mock interview: when, score and minutes."""
    text = Text().append("Mock interviews\n", style="bold")
    if not stats.interviews:
        return text.append("none yet; 'drill interview' runs one")
    for interview in stats.interviews:
        questions = interview.get("questions")
        count = plural(len(questions), "question") if isinstance(questions, list) else "? questions"
        # Scorecards may come from an imported file: shown, never sent, as control characters.
        text.append(
            visible(
                f"{_started(interview.get('started'))}  {interview.get('points')} / "
                f"{interview.get('max_points')} points  {count}  "
                f"{interview.get('minutes')} min\n"
            )
        )
    text.rstrip()
    return text


def stats_view(stats: Stats, width: int) -> RenderableType:
    """The whole `drill stats` page."""
    passed = sum(1 for exercise in stats.exercises if exercise.status == "passed")
    exercises = Text(
        f"Exercises passed: {passed} of {len(stats.exercises)} (see 'drill exercises')"
    )
    parts: list[RenderableType] = [headline(stats), Text(), exercises]
    if stats.questions:
        parts += [Text(), mastery(stats, "topic", width), Text(), mastery(stats, "kind", width)]
    parts += [
        Text(),
        forecast(stats, width),
        Text(),
        calendar(stats, width),
        Text(),
        interviews(stats),
    ]
    return Group(*parts)


# Below this width the six columns of the exercises table fold into slivers: one block each.
_EXERCISES_TABLE_MIN_WIDTH = 72


def exercises_view(exercises: Sequence[ExerciseProgress], width: int) -> RenderableType:
    """Every graded exercise with the user's status, best score and last grade."""
    rows = [
        (
            exercise,
            Text(*STATUS_MARKS[exercise.status]),
            "–" if exercise.best_points is None else f"{exercise.best_points:g}",
        )
        for exercise in exercises
    ]
    if width < _EXERCISES_TABLE_MIN_WIDTH:
        blocks = Text()
        for exercise, status, best in rows:
            blocks.append(f"{exercise.id}  ", style="bold")
            blocks.append_text(status)
            blocks.append(f"  {best} / {exercise.points}\n  {visible(exercise.title)}\n")
            blocks.append(
                f"  order {exercise.order} · last graded {_local_date(exercise.last_graded)}\n",
                style="dim",
            )
        blocks.rstrip()
        return blocks
    table = Table(header_style="bold", box=None, padding=(0, 1))
    table.add_column("order", justify="right")
    table.add_column("id", overflow="fold", min_width=12)
    table.add_column("title", min_width=14)
    table.add_column("status", no_wrap=True)
    table.add_column("best", justify="right", no_wrap=True)
    table.add_column("last graded", no_wrap=True)
    for exercise, status, best in rows:
        table.add_row(
            str(exercise.order),
            exercise.id,
            visible(exercise.title),
            status,
            f"{best} / {exercise.points}",
            _local_date(exercise.last_graded),
        )
    return table
