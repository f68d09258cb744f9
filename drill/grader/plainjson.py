"""JSON text of drill's own plain data, written without the json module's Python code.

The worker's side of the wire runs in the interpreter a submission shares: the json module's
encoder asks `isinstance` and `str` from the builtins, which a submission can replace. This
writer uses only what it bound when drill imported it, before any submission code ran.
Standard library only.
"""

from __future__ import annotations

import builtins
from json.encoder import encode_basestring_ascii
from typing import Any

__builtins__ = dict(vars(builtins))  # a snapshot: later patches of builtins do not reach it


def dumps(value: Any) -> str:
    """JSON for None, bool, int, finite float, str, and dicts (str keys), lists, tuples of them."""
    kind = type(value)
    if value is None or kind is bool:
        return {None: "null", True: "true", False: "false"}[value]
    if kind is str:
        return encode_basestring_ascii(value)
    if kind is int:
        return int.__repr__(value)
    if kind is float:
        return float.__repr__(value)
    if kind is dict:
        items = [f"{encode_basestring_ascii(k)}: {dumps(v)}" for k, v in dict.items(value)]
        return "{" + ", ".join(items) + "}"
    if kind is list or kind is tuple:
        return "[" + ", ".join([dumps(item) for item in value]) + "]"
    raise TypeError(f"drill does not send {kind.__name__} values")
