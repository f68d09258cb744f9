"""Finding an item by id or unique prefix, with suggestions when nothing matches."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class UnknownId(LookupError):
    """No single item answers to the id the user typed."""

    def __init__(self, what: str, query: str, candidates: list[str], ambiguous: bool) -> None:
        self.what = what
        self.query = query
        self.candidates = candidates
        self.ambiguous = ambiguous
        super().__init__(self.describe())

    def describe(self) -> str:
        if self.ambiguous:
            return f"'{self.query}' matches several {self.what}s: {', '.join(self.candidates)}"
        message = f"no {self.what} with id '{self.query}'"
        if self.candidates:
            message += f"; did you mean {' or '.join(repr(c) for c in self.candidates)}?"
        return message


def resolve(query: str, names: Iterable[str], what: str) -> str:
    """The one name equal to `query` or starting with it; UnknownId otherwise."""
    names = sorted(names)
    if query in names:
        return query
    matches = [name for name in names if name.startswith(query)]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise UnknownId(what, query, matches[:8], ambiguous=True)
    close = difflib.get_close_matches(query, names, n=3, cutoff=0.5)
    if not close:
        close = [name for name in names if query in name][:3]
    raise UnknownId(what, query, close, ambiguous=False)


def select(names: Iterable[str], queries: Iterable[str]) -> list[str]:
    """The names the queries resolve to, in `names` order; all of them without queries."""
    names = list(names)
    chosen = {resolve(query, names, "exercise") for query in queries}
    return [name for name in names if not chosen or name in chosen]
