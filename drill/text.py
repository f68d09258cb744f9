"""Text from outside drill (a submission's output, a bank's prose) made safe for a terminal.

A terminal obeys control characters: an escape sequence can set the window title, clear the
screen, write the clipboard or redraw a line to read "passed". Everything printed that drill
did not write itself goes through `visible`, which keeps newlines and tabs and shows every
other control character as an escape instead of sending it.
"""

from __future__ import annotations

import reprlib
import unicodedata
from typing import Any

_KEPT = frozenset("\n\t")


def _shown(character: str) -> str:
    code = ord(character)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def visible(text: str) -> str:
    """`text` with control, format and surrogate characters escaped; newline and tab kept.

    Carriage returns are escaped too: alone they move the cursor back over a line.
    """
    return "".join(
        character
        if character in _KEPT or unicodedata.category(character) not in ("Cc", "Cf", "Cs")
        else _shown(character)
        for character in text
    )


def plural(count: int, noun: str) -> str:
    """`count` and `noun`, the noun with an s unless there is exactly one: "1 hint", "3 hints"."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


# Error messages quote a value only this far: a field may hold a whole document.
_EXCERPT = reprlib.Repr()
_EXCERPT.maxlevel = 2
_EXCERPT.maxdict = _EXCERPT.maxlist = 3
_EXCERPT.maxstring = _EXCERPT.maxother = _EXCERPT.maxlong = 40
EXCERPT_LENGTH = 60


def excerpt(value: Any) -> str:
    """A short quotation of `value` for an error message."""
    text = _EXCERPT.repr(value)
    return text if len(text) <= EXCERPT_LENGTH else text[: EXCERPT_LENGTH - 1] + "…"
