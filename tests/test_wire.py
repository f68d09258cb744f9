"""The wire format: what the worker encodes decodes to the same values; anything else is refused."""

from __future__ import annotations

import io
import json
import math
import zipfile

import numpy as np
import pytest

from drill.grader import wire

MEMORY = 64 << 20


def round_trip(values: dict) -> dict:
    meta, arrays = wire.encode(values, "c0_")
    data = wire.frame(
        {
            "event": "done",
            "result": {"cases": [{"values": meta, "error": None}]},
            "output": "printed",
        },
        wire.pack_arrays(arrays) if arrays else b"",
    )
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
        }
    )
    values = done["cases"][0]["values"]
    assert np.array_equal(done["arrays"][values["grad"]["key"]], grad)
    assert done["arrays"][values["mask"]["key"]].dtype == bool
    assert values["n"] == {"kind": "number", "value": 3.0}
    assert values["x"]["value"] == -math.inf
    assert values["big"]["value"] == math.inf  # beyond float: an overflow, shown as such
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


def npy_member(shape: tuple, descr: str = "<f8", data: bytes = b"\0" * 16) -> bytes:
    member = io.BytesIO()
    header = {"descr": descr, "fortran_order": False, "shape": shape}
    np.lib.format.write_array_header_1_0(member, header)
    return member.getvalue() + data


def npz(members: dict[str, bytes], compression: int = zipfile.ZIP_STORED) -> bytes:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", compression) as handle:
        for name, content in members.items():
            handle.writestr(name, content)
    return archive.getvalue()


@pytest.mark.parametrize(
    "payload",
    [
        b"not a zip at all",
        npz({"a.npy": npy_member((1 << 40,))}),  # 8 TiB declared in a few bytes
        npz({"a.npy": npy_member((4,))}),  # 32 bytes declared, 16 sent
        npz({"a.npy": npy_member((2,), descr="|O")}),
        npz({"a.npy": npy_member((2,), descr="<c16", data=b"\0" * 32)}),
        npz({"../evil.npy": npy_member((2,))}),
        npz({"a.npy": npy_member((2,))}, zipfile.ZIP_DEFLATED),
    ],
    ids=["not-zip", "header-bomb", "short", "object", "complex", "bad-name", "compressed"],
)
def test_suspicious_npz_payloads_are_refused(payload):
    with pytest.raises(wire.WireError):
        wire.load_arrays(payload, MEMORY)


def test_a_well_formed_member_loads():
    arrays = wire.load_arrays(npz({"a.npy": npy_member((2,))}), MEMORY)
    assert arrays["a"].shape == (2,) and arrays["a"].dtype == np.float64


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
