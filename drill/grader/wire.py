"""The wire format between drill and its grading worker: encoding, and decoding with validation.

Two channels:

- control messages between drill and the worker's supervisor (trusted code on both ends) on
  a Unix stream socket, one JSON line each, a pipe's file descriptor attached to each `run`;
- the run pipe from the process that ran the submission, where the submission's own code
  could write too. Each frame is one JSON line, optionally followed by a binary payload whose
  size the line declares: {"event": "imported"}, {"event": "import-failed", ...} and
  {"event": "done", "result": ..., "output": ..., "arrays": INDEX, "payload": N} followed by
  the arrays' raw bytes, one after the other in the order of INDEX, which maps each key to
  {"dtype": "<f8", "shape": [4, 3]}. (Raw bytes rather than .npz: a header per array costs a
  literal_eval and a zip member each, which was most of the time of grading the whole bank.)

Everything read from a run pipe is untrusted: `FrameReader` and `parse_*` accept only the
exact shapes below, within size limits, and raise `WireError` on anything else, so that no
malformed or hostile data can reach the verdict code (or crash drill) undetected.
"""

from __future__ import annotations

import builtins
import json
import math
import os
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from drill.grader import plainjson
from drill.grader.records import VALUE_KINDS

# The submission runs in the worker's interpreter, and may patch builtins (isinstance, len,
# memoryview…), json, os or NumPy when it is imported. What encode() and the sending side use
# is bound here, when drill imports this module, before any submission code runs: a patch
# made later cannot reach the channel to drill.
__builtins__ = dict(vars(builtins))
_write = os.write
_array = np.array
_asarray = np.asarray

LINE_LIMIT = 1 << 20  # bytes of one JSON line
PAYLOAD_LIMIT = 256 << 20  # bytes of one .npz archive
OUTPUT_LIMIT = 8000  # characters of printed output kept per exercise
TEXT_LIMIT = 4000  # characters of any other text (messages, tracebacks)
NAME_LIMIT = 200
VALUES_LIMIT = 10_000  # values recorded in one case
KEY = re.compile(r"[A-Za-z0-9_]{1,64}\Z")
SPECIAL_NUMBERS = {"inf": math.inf, "-inf": -math.inf, "nan": math.nan}
# The only array types exchanged: bool, integers and floats in this machine's byte order.
DTYPES = frozenset(
    np.dtype(name).str
    for name in (
        "bool",
        "int8",
        "int16",
        "int32",
        "int64",
        "uint8",
        "uint16",
        "uint32",
        "uint64",
        "float16",
        "float32",
        "float64",
    )
)
ARRAYS_LIMIT = 100_000  # arrays in one result
DIMENSIONS_LIMIT = 32


class WireError(ValueError):
    """Data on the wire that does not have the agreed shape."""


# --- encoding ---------------------------------------------------------------------------------


class Missing:
    """Marks an attribute the submission never set."""


MISSING = Missing()


def encode(
    values: Mapping[str, Any],
    prefix: str,
    unreadable: list[tuple[str, BaseException]] | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Describe every value as plain data; numeric content goes into the arrays dict.

    A submission's value may raise anything while it is read, or be too large to copy. With
    `unreadable` given, such a value is left out and (its name, the exception) appended there;
    without it (drill's own values), the exception propagates.
    """
    meta: dict[str, Any] = {}
    arrays: dict[str, Any] = {}
    for name, value in values.items():
        key = f"{prefix}{len(arrays)}"
        try:
            meta[name] = _describe(value, key, arrays)
        except BaseException as error:
            if unreadable is None:
                raise
            arrays.pop(key, None)
            unreadable.append((name, error))
    return meta, arrays


def _describe(value: Any, key: str, arrays: dict[str, Any]) -> dict[str, Any]:
    """The plain-data description of `value`; an array's content goes into `arrays[key]`."""
    if value is MISSING:
        return {"kind": "missing"}
    if value is None:
        return {"kind": "none"}
    if isinstance(value, str):
        # str.__str__ makes an exact str of a subclass without calling its overrides.
        return {"kind": "text", "text": limit(str.__str__(value), 500)}
    if isinstance(value, (bool, np.bool_)):
        return {"kind": "bool", "value": bool(value)}
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            return {"kind": "number", "value": _json_number(float(value))}
        except OverflowError:
            return {"kind": "object", "type": "integer too large for a float"}
    if isinstance(value, (float, np.integer, np.floating)):
        return {"kind": "number", "value": _json_number(float(value))}
    if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
        # np.array keeps a 0-d array 0-d (ascontiguousarray would make it shape (1,)).
        array = _array(value, order="C")
        if not array.dtype.isnative:  # sent as this machine's byte order, the only one read
            array = array.astype(array.dtype.newbyteorder("="))
        arrays[key] = array
        return {"kind": "array", "key": key, "type": type_name(value)}
    if isinstance(value, np.ndarray):  # complex, strings, objects: not numbers drill reads
        return {"kind": "object", "type": f"array of dtype {value.dtype}"}
    return {"kind": "object", "type": type_name(value)}


def type_name(value: Any) -> str:
    """The name of `value`'s class, read past any metaclass that hides or replaces it."""
    return _CLASS_NAME.__get__(type(value), type)


_CLASS_NAME = type.__dict__["__name__"]


def _json_number(number: float) -> float | str:
    return number if math.isfinite(number) else repr(number)


def limit(text: str, size: int) -> str:
    """`text` cut to `size` characters, saying how much was dropped."""
    return text if len(text) <= size else text[:size] + f"… ({len(text) - size} more characters)"


def frame(header: Mapping[str, Any], payload: bytes = b"") -> bytes:
    """One frame: the JSON line, then the payload it announces."""
    return _line(header, len(payload)) + payload


def _line(header: Mapping[str, Any], payload_size: int) -> bytes:
    line = plainjson.dumps({**header, "payload": payload_size} if payload_size else dict(header))
    return line.encode("utf-8") + b"\n"


def send_frame(fd: int, header: Mapping[str, Any], chunks: Sequence[memoryview] = ()) -> None:
    """Write one frame to `fd` (a run pipe), its payload the chunks one after the other.

    The chunks are written where they lie, never joined: a result near the payload limit
    costs no copy of itself.
    """
    _send(fd, memoryview(_line(header, sum(len(chunk) for chunk in chunks))))
    for chunk in chunks:
        _send(fd, chunk)


def _send(fd: int, view: memoryview) -> None:
    while view:
        view = view[_write(fd, view) :]


def pack_arrays(arrays: Mapping[str, np.ndarray]) -> tuple[dict[str, Any], list[memoryview]]:
    """The index of `arrays` (key -> dtype and shape) and each one's bytes, without a copy."""
    index: dict[str, Any] = {}
    chunks = []
    for key, value in arrays.items():
        array = _asarray(value, order="C")  # ascontiguousarray would make a 0-d array (1,)
        index[key] = {"dtype": array.dtype.str, "shape": list(array.shape)}
        chunks.append(memoryview(array.reshape(-1)).cast("B"))
    return index, chunks


# --- decoding ---------------------------------------------------------------------------------


def parse_control(message: dict[str, Any]) -> dict[str, Any]:
    """A control message (a frame without payload) with a string 'event' or 'command'."""
    if not isinstance(message.get("event", message.get("command")), str):
        raise WireError("a control message without a name")
    return message


def _json_object(data: bytes) -> dict[str, Any]:
    try:
        value = json.loads(data.decode("utf-8"))
    except (ValueError, RecursionError) as error:  # also invalid UTF-8 and deep nesting
        raise WireError(f"invalid JSON ({type(error).__name__})") from None
    if not isinstance(value, dict):
        raise WireError("a JSON value that is not an object")
    return value


class FrameReader:
    """Splits the bytes of a run pipe into (header, payload) frames, within the limits."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._header: dict[str, Any] | None = None
        self._payload_size = 0

    def feed(self, data: bytes) -> list[tuple[dict[str, Any], bytes]]:
        """The frames completed by `data`; WireError on malformed or oversized data."""
        self._buffer += data
        frames = []
        while True:
            if self._header is None:
                end = self._buffer.find(b"\n")
                if end < 0:
                    if len(self._buffer) > LINE_LIMIT:
                        raise WireError(f"a line longer than {LINE_LIMIT} bytes")
                    return frames
                if end > LINE_LIMIT:
                    raise WireError(f"a line longer than {LINE_LIMIT} bytes")
                header = _json_object(bytes(self._buffer[:end]))
                del self._buffer[: end + 1]
                size = header.get("payload", 0)
                if type(size) is not int or not 0 <= size <= PAYLOAD_LIMIT:
                    raise WireError("a payload size that is not a whole number within the limit")
                self._header, self._payload_size = header, size
            if len(self._buffer) < self._payload_size:
                return frames
            payload = bytes(self._buffer[: self._payload_size])
            del self._buffer[: self._payload_size]
            frames.append((self._header, payload))
            self._header = None


def text(value: Any, size: int = TEXT_LIMIT) -> str:
    """A string field: cut to `size`, lone surrogates written as escapes so it can be printed."""
    if not isinstance(value, str):
        raise WireError("a text field that is not a string")
    value = limit(value, size)
    if value.isascii():  # the common case, and cheap: nothing to escape
        return value
    return value.encode("utf-8", "backslashreplace").decode("utf-8")


def parse_import_failure(header: Mapping[str, Any]) -> dict[str, Any]:
    """{"kind": syntax | exit | exception, "line": int or None, "text": str, "output": str}."""
    kind = header.get("kind")
    if kind not in ("syntax", "exit", "exception"):
        raise WireError("an unknown kind of import failure")
    line = header.get("line")
    if line is not None and (type(line) is not int or not 0 <= line < 1 << 31):
        raise WireError("a line number out of range")
    return {
        "kind": kind,
        "line": line,
        "text": text(header.get("text")),
        "output": text(header.get("output", ""), OUTPUT_LIMIT),
    }


def parse_done(header: Mapping[str, Any], payload: bytes, memory_bytes: int) -> dict[str, Any]:
    """A finished exercise: {"missing": True, "output"} or {"cases", "arrays", "output"}.

    Each case is {"values": {name: meta}, "error": None or {stage, type, text, traceback}},
    every meta of a known kind and every array key present among the loaded arrays.
    """
    output = text(header.get("output", ""), OUTPUT_LIMIT)
    result = header.get("result")
    if not isinstance(result, dict):
        raise WireError("a result that is not an object")
    if result.get("missing") is True:
        return {"missing": True, "output": output}
    cases = result.get("cases")
    if not isinstance(cases, list):
        raise WireError("cases that are not a list")
    arrays = load_arrays(header.get("arrays", {}), payload, memory_bytes)
    return {
        "cases": [_case(case, arrays) for case in cases],
        "arrays": arrays,
        "output": output,
    }


def _case(case: Any, arrays: Mapping[str, np.ndarray]) -> dict[str, Any]:
    if not isinstance(case, dict) or not isinstance(case.get("values"), dict):
        raise WireError("a case without its values")
    values = case["values"]
    if len(values) > VALUES_LIMIT:
        raise WireError("too many values in one case")
    error = case.get("error")
    if error is not None:
        if not isinstance(error, dict):
            raise WireError("an error that is not an object")
        error = {field: text(error.get(field, "")) for field in ("stage", "type", "text")} | {
            "traceback": text(error.get("traceback", ""))
        }
    return {
        "values": {text(name, NAME_LIMIT): _value(meta, arrays) for name, meta in values.items()},
        "error": error,
    }


def _value(meta: Any, arrays: Mapping[str, np.ndarray]) -> dict[str, Any]:
    if not isinstance(meta, dict) or meta.get("kind") not in VALUE_KINDS:
        raise WireError("a value of an unknown kind")
    kind = meta["kind"]
    if kind == "text":
        return {"kind": kind, "text": text(meta.get("text"), 600)}
    if kind == "bool":
        if type(meta.get("value")) is not bool:
            raise WireError("a bool that is not true or false")
        return {"kind": kind, "value": meta["value"]}
    if kind == "number":
        return {"kind": kind, "value": _number(meta.get("value"))}
    if kind == "array":
        key = meta.get("key")
        if not isinstance(key, str) or key not in arrays:
            raise WireError("an array that was not sent")
        return {"kind": kind, "key": key, "type": text(meta.get("type", "ndarray"), NAME_LIMIT)}
    if kind == "object":
        return {"kind": kind, "type": text(meta.get("type", "object"), NAME_LIMIT)}
    return {"kind": kind}


def _number(value: Any) -> float:
    if isinstance(value, str) and value in SPECIAL_NUMBERS:
        return SPECIAL_NUMBERS[value]
    if type(value) is float:
        return value
    if type(value) is int and abs(value) <= 2**1023:
        return float(value)
    raise WireError("a number that is not a float")


def load_arrays(index: Any, payload: bytes, memory_bytes: int) -> dict[str, np.ndarray]:
    """The arrays an index describes, cut from the payload once every entry has been checked.

    Each entry must name an exchanged dtype and a shape of whole numbers; together they must
    fit the memory cap and account for the payload exactly, byte for byte.
    """
    if not isinstance(index, dict) or len(index) > ARRAYS_LIMIT:
        raise WireError("an array index that is not an object of at most the allowed size")
    layout = []
    total = 0
    for key, entry in index.items():
        if not KEY.match(key) or not isinstance(entry, dict):
            raise WireError("an array index entry that drill did not write")
        dtype, shape = entry.get("dtype"), entry.get("shape")
        if dtype not in DTYPES:
            raise WireError("an array of a type drill does not exchange")
        if (
            not isinstance(shape, list)
            or len(shape) > DIMENSIONS_LIMIT
            or not all(type(n) is int and 0 <= n < 1 << 62 for n in shape)
        ):
            raise WireError("an array shape that is not a list of sizes")
        count = math.prod(shape)
        size = count * np.dtype(dtype).itemsize
        total += size
        if total > memory_bytes or total > len(payload):
            raise WireError(f"an array index declaring {count} elements, more than was sent")
        layout.append((key, np.dtype(dtype), shape, count, total - size))
    if total != len(payload):
        raise WireError("a payload longer than its arrays")
    return {
        key: np.frombuffer(payload, dtype, count, offset).reshape(shape).copy()
        for key, dtype, shape, count, offset in layout
    }
