"""The wire format: what the worker encodes decodes to the same values; anything else is refused."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from drill.grader import wire

MEMORY = 64 << 20


def round_trip(values: dict) -> dict:
    meta, arrays = wire.encode(values, "c0_")
    index, chunks = wire.pack_arrays(arrays)
    payload = b"".join(chunks)
    result = {"cases": [{"values": meta, "error": None}]}
    header = {"event": "done", "result": result, "output": "printed", "arrays": index}
    data = wire.frame(header, payload)
    ((header, payload),) = wire.FrameReader().feed(data)
    return wire.parse_done(header, payload, MEMORY)


def test_values_survive_the_round_trip():
    grad = np.arange(12, dtype=np.float64).reshape(3, 4)
    mask = np.array([True, False])
    done = round_trip(
        {
            "grad": grad,
            "mask": mask,
            "n": 3,
            "x": -math.inf,
            "flag": True,
            "none": None,
            "text": "hi",
            "missing": wire.MISSING,
            "object": object(),
            "big": 10**400,
            "swapped": grad.astype(">f8"),
        }
    )
    values = done["cases"][0]["values"]
    assert np.array_equal(done["arrays"][values["grad"]["key"]], grad)
    assert done["arrays"][values["mask"]["key"]].dtype == bool
    swapped = done["arrays"][values["swapped"]["key"]]
    assert swapped.dtype == np.float64 and np.array_equal(swapped, grad)  # native byte order
    assert values["n"] == {"kind": "number", "value": 3.0}
    assert values["x"]["value"] == -math.inf
    assert values["big"] == {"kind": "object", "type": "integer too large for a float"}
    assert values["flag"] == {"kind": "bool", "value": True}
    assert [values[k]["kind"] for k in ("none", "missing", "object")] == [
        "none",
        "missing",
        "object",
    ]
    assert values["text"]["text"] == "hi"
    assert done["output"] == "printed"


def test_frames_may_arrive_in_pieces():
    data = wire.frame({"event": "imported"}) + wire.frame({"event": "done"}, b"12345")
    reader = wire.FrameReader()
    frames = [frame for byte in range(len(data)) for frame in reader.feed(data[byte : byte + 1])]
    assert frames == [({"event": "imported"}, b""), ({"event": "done", "payload": 5}, b"12345")]


@pytest.mark.parametrize(
    "data",
    [
        b"x" * (wire.LINE_LIMIT + 2),
        b"{" * 50_000 + b"\n",
        b"\xff\xfe\n",
        b'"a string"\n',
        b'{"payload": 1e3}\n',
        b'{"payload": true}\n',
        b'{"payload": %d}\n' % (wire.PAYLOAD_LIMIT + 1),
    ],
    ids=["long-line", "deep", "not-utf8", "not-object", "float-size", "bool-size", "huge-size"],
)
def test_malformed_frames_are_refused(data):
    with pytest.raises(wire.WireError):
        wire.FrameReader().feed(data)


F8 = np.dtype("float64").str


@pytest.mark.parametrize(
    ("index", "payload"),
    [
        ([], b""),
        ({"a": {"dtype": F8, "shape": [1 << 40]}}, b"\0" * 16),  # 8 TiB declared in 16 bytes
        ({"a": {"dtype": F8, "shape": [4]}}, b"\0" * 16),  # 32 bytes declared, 16 sent
        ({"a": {"dtype": F8, "shape": [1]}}, b"\0" * 16),  # bytes nobody declared
        ({"a": {"dtype": "|O", "shape": [2]}}, b"\0" * 16),
        ({"a": {"dtype": np.dtype("complex128").str, "shape": [1]}}, b"\0" * 16),
        ({"a": {"dtype": F8, "shape": [2.0]}}, b"\0" * 16),
        ({"a": {"dtype": F8, "shape": [-2]}}, b"\0" * 16),
        ({"a": {"dtype": F8, "shape": 2}}, b"\0" * 16),
        ({"a": {"dtype": F8, "shape": [1] * 40}}, b"\0" * 8),
        ({"../evil": {"dtype": F8, "shape": [2]}}, b"\0" * 16),
        ({"a": [F8, [2]]}, b"\0" * 16),
    ],
    ids=[
        "not-an-index",
        "size-bomb",
        "short",
        "long",
        "object",
        "complex",
        "float-size",
        "negative-size",
        "shape-not-list",
        "too-many-dimensions",
        "bad-key",
        "entry-not-object",
    ],
)
def test_suspicious_array_indexes_are_refused(index, payload):
    with pytest.raises(wire.WireError):
        wire.load_arrays(index, payload, MEMORY)


def test_an_array_beyond_the_memory_cap_is_refused_before_it_is_read():
    index = {"a": {"dtype": F8, "shape": [1024]}}
    assert wire.load_arrays(index, b"\0" * 8192, 8192)["a"].shape == (1024,)
    with pytest.raises(wire.WireError):
        wire.load_arrays(index, b"\0" * 8192, 8191)


def test_well_formed_arrays_load_in_order():
    first, second = np.arange(6.0).reshape(2, 3), np.array([True, False, True])
    index, chunks = wire.pack_arrays({"a": first, "b": second, "c": np.zeros((0, 3))})
    payload = b"".join(chunks)
    arrays = wire.load_arrays(json.loads(json.dumps(index)), payload, MEMORY)
    assert np.array_equal(arrays["a"], first) and np.array_equal(arrays["b"], second)
    assert arrays["c"].shape == (0, 3)


@pytest.mark.parametrize(
    "result",
    [
        [],
        {"cases": {}},
        {"cases": [{"values": []}]},
        {"cases": [{"values": {"o": {"kind": "array", "key": ["a"]}}}]},
        {"cases": [{"values": {"o": {"kind": "array", "key": "absent"}}}]},
        {"cases": [{"values": {"o": {"kind": "number", "value": 10**400}}}]},
        {"cases": [{"values": {"o": {"kind": "number", "value": "1e5"}}}]},
        {"cases": [{"values": {"o": {"kind": "bool", "value": 0}}}]},
        {"cases": [{"values": {"o": {"kind": "pickle"}}}]},
        {"cases": [{"values": {}, "error": "boom"}]},
        {"cases": [{"values": {}, "error": {"text": ["x"]}}]},
    ],
)
def test_results_of_the_wrong_shape_are_refused(result):
    header = json.loads(json.dumps({"event": "done", "result": result, "output": ""}))
    with pytest.raises(wire.WireError):
        wire.parse_done(header, b"", MEMORY)


def test_text_with_a_lone_surrogate_comes_out_printable():
    shown = wire.text("a\ud800b")
    assert shown == "a\\ud800b"
    shown.encode("utf-8")  # strict: no lone surrogate left
    assert wire.text("x" * 10, 4) == "xxxx… (6 more characters)"


def test_plain_json_writes_what_the_json_module_writes():
    from drill.grader import plainjson

    value = {
        "event": "done",
        "text": 'quote " backslash \\ newline \n tab \t é \ud800 \x1b',
        "numbers": [0, -3, 2**70, 0.1, -1.5e-300, 1e300],
        "flags": [True, False, None],
        "nested": {"a": [], "b": {}, "c": ("x", 1)},
    }
    assert plainjson.dumps(value) == json.dumps(value)
    assert json.loads(plainjson.dumps(value)) == json.loads(json.dumps(value))
    with pytest.raises(TypeError):
        plainjson.dumps({"array": np.zeros(2)})
