"""`arbbot scan --json` without the Snapshot's objects: `read_packed_fast` (arbbot.snapshot_fast)
packs the Swift engine's buffers straight from the file.

It must vouch for exactly the files `read_snapshot_fast` vouches for, and then give buffers equal
to `pack_universe` of that Snapshot's universe, field for field and typecode for typecode; its
first try (book sides read as text, `_side_levels`) must read every number as units.parse_price /
parse_size do, or refuse. The scan's output, messages and exit codes stay those of the object path.
"""
from __future__ import annotations

import copy
import json
from array import array

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import arbbot.snapshot as snapshot_module
from arbbot import snapshot_fast, units
from arbbot.bench.scan_file import write_snapshot
from arbbot.cli import main
from arbbot.engine import EngineInputError, Status, scan, scan_packed
from arbbot.engine.native import NativeEngine, pack_universe
from arbbot.snapshot import load_snapshot_packed, load_snapshot_strict
from arbbot.snapshot_fast import read_packed_fast, read_snapshot_fast

from .test_snapshot_fast import BASE, EXAMPLES, mutated, raw_snapshots, text_mutated

SETTINGS = settings(max_examples=75, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


def text_tier(data: bytes):
    """The packed reader's first try alone (book sides as text), or None where it refuses."""
    return snapshot_fast._read(data, snapshot_fast._packed_from_text, snapshot_fast._TEXT_DECODER)


def assert_packs_like_objects(data: bytes) -> bool:
    """read_packed_fast(data) answers exactly where read_snapshot_fast does, with pack_universe's
    buffers; so does its text tier where it answers. Returns whether the text tier answered."""
    snapshot, packed, text = read_snapshot_fast(data), read_packed_fast(data), text_tier(data)
    if snapshot is None:
        assert packed is None and text is None
        return False
    expected = pack_universe(snapshot.universe)
    names = [m.name for m in snapshot.universe.markets]
    for got in (packed, text):
        if got is None:
            assert got is text
            continue
        assert got.buffers == expected and got.names == names and got.taken_at == snapshot.taken_at
        assert {k: getattr(v, "typecode", type(v)) for k, v in got.buffers.items()} == \
            {k: getattr(v, "typecode", type(v)) for k, v in expected.items()}
    return text is not None


# ---- real files ------------------------------------------------------------------------------

@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_examples_pack_like_their_snapshots_from_the_text_tier(path):
    assert assert_packs_like_objects(path.read_bytes())
    assert load_snapshot_packed(path).buffers == pack_universe(load_snapshot_strict(path).universe)


def test_the_benchmark_universe_packs_like_its_snapshot(tmp_path):
    path = tmp_path / "u20k.json"
    write_snapshot(path, markets=20_000, seed=20_000)
    data = path.read_bytes()
    assert assert_packs_like_objects(data)
    buffers = read_packed_fast(data).buffers
    assert (len(buffers["venue"]), len(buffers["book_levels"]), len(buffers["rel_kind"])) == (20_000, 2 * 417_995, 4_500)


def test_unreadable_files_are_left_to_load_snapshot(tmp_path):
    assert load_snapshot_packed(tmp_path / "missing.json") is None
    assert load_snapshot_packed(tmp_path) is None


# ---- generated and mutated files -------------------------------------------------------------

@SETTINGS
@given(obj=raw_snapshots(), layout=st.sampled_from([{}, {"indent": 1}, {"indent": "\t"}, {"separators": (",", ":")},
                                                    {"ensure_ascii": False}]))
def test_generated_snapshots_pack_like_their_snapshots(obj, layout):
    data = json.dumps(obj, **layout).encode()
    assert read_snapshot_fast(data) is not None
    longest = max([len(text) for m in obj["markets"] for side in m.get("book", {}).values() for level in side
                   for text in level], default=0)
    # any JSON layout: the text tier reads every file whose numbers have at most 8 characters
    assert assert_packs_like_objects(data) or longest > 8


@SETTINGS
@given(obj=mutated())
def test_mutated_snapshots_pack_like_their_snapshots(obj):
    assert_packs_like_objects(json.dumps(obj).encode())


@SETTINGS
@given(data=text_mutated())
def test_mutated_json_text_packs_like_its_snapshot(data):
    assert_packs_like_objects(data)


def book_file(side: str) -> bytes:
    """BASE with the Polymarket book's yes_asks written as `side` (raw JSON text)."""
    return BASE.replace('"yes_asks": [["0.45", "120"]]', f'"yes_asks": {side}').encode()


@pytest.mark.parametrize("side", [
    '[["0.45","120"]]', '[ [ "0.45" , "120" ] ,\n\t["0.44", "1"] ]\r\n', "[]", "[ ]",
    '[["1","1000000"],["0","0.01"],["00.5000000","007.10"],["1.","1"]]', '[["0.45","120"]  ,  ["0.46","0"]]',
    '[["0.45","120","1"]]', '[["0.45"]]', "[[]]", '["0.45","120"]', '[[["0.45","120"]]]', '[["0.45",120]]',
    '[[0.45,"120"]]', '[["0.45","120"],[]]', '"0.45"', "null", "{}", '[["0.45","120"],"x"]', '[["0.4\\u0035","120"]]',
    '[["0.45","1.2.0"]]', '[[".45","120"]]', '[["0.45","120."]]', '[["","120"]]', '[["0.45001","120"]]',
    '[["1.0001","120"]]', '[["0.45","1000000.01"]]', '[["0.45","100000001"]]', '[["0.45","123456789"]]',
    '[["0.450000000","120"]]', '[["0.45","1e2"]]', '[["0.45","-1"]]', '[["0.45"," 1"]]', '[["0. 45","1"]]',
    '[["0.45","120"]] ', '[["\\u0030.45","120"]]', '[["0.45","١"]]', '[["0.45","120"],["0.46","1"],["0.47","2"]]',
], ids=repr)
def test_plain_and_odd_sides(side):
    data = book_file(side)
    try:
        json.loads(data)
    except ValueError:
        pytest.skip("not JSON")
    assert_packs_like_objects(data)


def test_the_text_tier_refuses_what_it_cannot_read_plainly():
    for side in ('[["0.4\\u0035","120"]]', '[["0.45","000000120"]]', '[["0.450000000","120"]]'):
        data = book_file(side)
        assert text_tier(data) is None
        assert read_packed_fast(data) is not None    # the decoded sides read it
    for side in ('[["0.45","120","1"]]', '[["0.45"]]', "[[]]", '["0.45","120"]', '[[["0.45","120"]]]',
                 '[["0.45",120]]', '[["0.45","1.2.0"]]', '[["0.45001","120"]]', '[["0.45","100000001"]]'):
        assert read_packed_fast(book_file(side)) is None and read_snapshot_fast(book_file(side)) is None


def test_asks_on_a_bids_only_venue_are_refused_by_both_tiers():
    data = BASE.replace('"yes_bids": [["0.42", "150"]]', '"yes_bids": [], "no_asks": [["0.5", "1"]]').encode()
    assert read_snapshot_fast(data) is None and read_packed_fast(data) is None and text_tier(data) is None
    empty = BASE.replace('"yes_bids": [["0.42", "150"]]', '"yes_bids": [], "no_asks": [ ]').encode()
    assert assert_packs_like_objects(empty)


# ---- every number the text tier reads, as units reads it ---------------------------------------

def units_value(parse, text: str):
    try:
        return parse(text)
    except units.UnitError:
        return None


@settings(max_examples=400, deadline=None)
@given(price=st.text("0123456789.", min_size=1, max_size=9), size=st.text("0123456789.", min_size=1, max_size=9))
def test_side_levels_read_numbers_as_units_does(price, size):
    side = msgspec.Raw(f'[["{price}","{size}"]]'.encode())
    expected = (units_value(units.parse_price, price), units_value(units.parse_size, size))
    try:
        counts, levels = snapshot_fast._side_levels([side])
    except snapshot_fast._Refused:
        # refused: units refuses one of them, or it is longer than the 8 characters read here
        assert None in expected or max(len(price), len(size)) > 8
        return
    assert counts.tolist() == [1] and tuple(levels.tolist()) == expected


@pytest.mark.parametrize("price,size,ticks,lots", [
    ("0", "0", 0, 0), ("1", "1000000", 10_000, 100_000_000), ("0.0001", "0.01", 1, 1), ("1.000000", "1.000000", 10_000, 100),
    ("00000001", "01000000", 10_000, 100_000_000), ("1", "1000000.01", None, None), ("0.99999", None, None, None), ("0.4500", "12.5", 4_500, 1_250),
])
def test_side_levels_golden(price, size, ticks, lots):
    raws = [msgspec.Raw(b"[]"), msgspec.Raw(f'[["{price}", "{size or 1}"], ["0.5", "1"]]'.encode()), msgspec.Raw(b"[ ]")]
    if ticks is None:
        with pytest.raises(snapshot_fast._Refused):
            snapshot_fast._side_levels(raws)
        return
    counts, levels = snapshot_fast._side_levels(raws)
    assert counts.tolist() == [0, 2, 0] and levels.tolist() == [ticks, lots, 5_000, 100]


def test_side_levels_of_no_sides():
    counts, levels = snapshot_fast._side_levels([])
    assert counts.tolist() == [] and levels.tolist() == []


# ---- the engine and the command ------------------------------------------------------------

def test_engine_from_buffers_scans_like_the_engine_of_the_universe(native, tmp_path):
    path = tmp_path / "u.json"
    write_snapshot(path, markets=3_000, seed=7)
    snapshot, packed = load_snapshot_strict(path), load_snapshot_packed(path)
    result = scan(snapshot.universe, engine="swift")
    assert result.opportunities
    assert scan_packed(packed.buffers, packed.names) == result
    assert NativeEngine.from_buffers(packed.buffers, packed.names).scan() == result
    assert scan(snapshot.universe, engine="python") == result


def scan_outputs(capsys, monkeypatch, args: list[str]) -> list[tuple]:
    """(exit code, stdout, stderr) of `arbbot scan` through the packed path, then the object path."""
    runs = []
    for packed in (True, False):
        if not packed:
            monkeypatch.setattr(snapshot_module, "load_snapshot_packed", lambda path: None)
        runs.append((main(["scan", *args]), *capsys.readouterr()))
    monkeypatch.undo()
    return runs


def test_cli_scan_json_is_byte_identical_to_the_object_path(native, capsys, monkeypatch, tmp_path):
    used = []
    real = snapshot_module.load_snapshot_packed
    monkeypatch.setattr(snapshot_module, "load_snapshot_packed", lambda path: used.append(path) or real(path))
    assert main(["scan", str(EXAMPLES[0]), "--json"]) == 0 and used == [str(EXAMPLES[0])]
    capsys.readouterr()
    monkeypatch.undo()
    path = tmp_path / "u.json"
    write_snapshot(path, markets=3_000, seed=7)
    for p in [*EXAMPLES, path]:
        (code, out, err), old = scan_outputs(capsys, monkeypatch, [str(p), "--json", "--engine", "swift"])
        assert (code, out, err) == old and code == 0 and out.count("\n") == 1


def test_cli_scan_errors_are_unchanged(native, capsys, monkeypatch, tmp_path):
    obj = json.loads(EXAMPLES[0].read_text())
    bad = copy.deepcopy(obj)
    bad["markets"][1]["book"] = {"yes_asks": [["0.5", True]]}
    cases = {"bad.json": json.dumps(bad), "broken.json": json.dumps(obj)[:-3],
             "escaped.json": json.dumps(obj).replace('"1"', '"\\u0031"'), "format.json": '{"format": "x", "markets": []}'}
    for name, text in cases.items():
        (tmp_path / name).write_text(text)
    for args in ([str(tmp_path / name), "--json"] for name in cases):
        new, old = scan_outputs(capsys, monkeypatch, args)
        assert new == old
    new, old = scan_outputs(capsys, monkeypatch, [str(tmp_path / "missing.json"), "--json"])
    assert new == old and new[0] == 2 and "cannot read" in new[2]
    new, _ = scan_outputs(capsys, monkeypatch, [str(tmp_path / "bad.json"), "--json"])
    assert new[0] == 2 and new[2].startswith("markets[1].book.yes_asks[0][1]: ")


def test_buffers_the_engine_refuses_raise_its_error(native):
    """from_buffers maps the engine's refusal as NativeEngine(universe) does (EngineInputError)."""
    packed = read_packed_fast(EXAMPLES[0].read_bytes())
    bad = dict(packed.buffers, venue=array("i", [9] * len(packed.buffers["venue"])))
    with pytest.raises(EngineInputError) as info:
        NativeEngine.from_buffers(bad, packed.names)
    assert info.value.status is Status.VENUE


def test_the_benchmark_compares_both_old_paths(native, tmp_path):
    from arbbot.bench.scan_file import markdown, run
    path = tmp_path / "small.json"
    write_snapshot(path, markets=300, seed=3)
    for old in ("strict", "objects"):
        result = run(300, 3, 1, file=path, old=old)     # raises if the two commands' outputs differ
        assert result["old"] == old and result["opportunities"] >= 0
        assert set(result["seconds"]) == {"command_new", "command_old", "cpu_new", "cpu_old", "read_new", "read_old",
                                          "engine_new", "engine_old"}
        lines = markdown(result).splitlines()
        assert lines[7].startswith("| engine (pack + scan) |") and lines[-1].startswith(f"old: the {old}"[:9])
