"""The one-pass snapshot reader (arbbot.snapshot_fast) against the strict reader it fronts.

Whatever the file, `load_snapshot` must give exactly what `load_snapshot_strict` gives: the same
Snapshot, or a SnapshotError with the same message. And the fast path must really be the one
answering for valid files (else it is dead weight), and never vouch for a file the strict reader
refuses (else an error would go unreported).
"""
from __future__ import annotations

import copy
import gc
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import arbbot.snapshot as snapshot_module
from arbbot import snapshot_fast
from arbbot.bench.scan_file import _p50_p95, markdown, write_snapshot
from arbbot.cli import main
from arbbot.engine.types import Market
from arbbot.model import Book, FeeSchedule, Venue
from arbbot.snapshot import FORMAT, SnapshotError, load_snapshot, load_snapshot_strict
from arbbot.snapshot_fast import read_snapshot_fast

HERE = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((HERE / "data" / "examples").glob("*.snapshot.json"))
SHARED = HERE.parents[2] / "shared" / "examples"
EXAMPLES += sorted(SHARED.glob("*.snapshot.json")) if SHARED.is_dir() else []
SETTINGS = settings(max_examples=200, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


def outcome(load, path: Path):
    """("ok", Snapshot) or ("error", message): what a reader makes of a file. Any other
    exception (once: JSON nested past the recursion limit, a number past Python's 4,300 digits)
    is a traceback for the user, and fails the test."""
    try:
        return "ok", load(path)
    except SnapshotError as exc:
        return "error", str(exc)


def assert_same_as_strict(path: Path) -> tuple:
    """Both readers agree on `path`, and the fast path never answers for a file the strict reader
    refuses. Returns the strict reader's outcome."""
    strict = outcome(load_snapshot_strict, path)
    assert outcome(load_snapshot, path) == strict
    fast = read_snapshot_fast(path.read_bytes())
    if strict[0] != "ok":
        assert fast is None, f"fast path accepted a file refused with {strict[1]!r}"
    return strict


# ---- valid files: the same Snapshot, from the fast path ----------------------------------------

@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_examples_read_identically_by_the_fast_path(path):
    fast = read_snapshot_fast(path.read_bytes())
    assert fast is not None and fast == load_snapshot_strict(path)


def test_fast_path_values_are_exact_units(tmp_path):
    path = tmp_path / "s.json"
    path.write_text(json.dumps({
        "format": FORMAT, "taken_at": "2026-11-20T15:00:00Z", "params": {"max_qty": "500.00", "min_profit": "0.01"},
        "markets": [
            {"venue": "kalshi", "id": "K", "title": "Fed?", "lot": "1",
             "fees": {"taker_rate": "0.07", "maker_rate": "0.0175", "rounding": "0.01"},
             "book": {"yes_bids": [["0.4200", "150"], ["0.41", "0"]], "no_bids": [["0.55", "20.5"]], "yes_asks": []}},
            {"venue": "polymarket", "id": "P", "lot": "0.01", "fees": {"per_contract": "0.000001"},
             "book": {"yes_asks": [["1", "0.01"]], "no_asks": [["0", "1000000"]]}},
            {"venue": "forecastex", "id": "F"}],
        "relations": [{"kind": "same", "a": "kalshi:K", "b": "polymarket:P", "confidence": "0.98"},
                      {"kind": "implies", "child": "forecastex:F", "parent": "kalshi:K"}]}))
    snap = read_snapshot_fast(path.read_bytes())
    u = snap.universe
    assert u.markets == (
        Market(Venue.KALSHI, "K", FeeSchedule(70_000, 0, 10_000, 17_500), 100,
               Book(yes_bids=((4_200, 15_000), (4_100, 0)), no_bids=((5_500, 2_050),)), "Fed?"),
        Market(Venue.POLYMARKET, "P", FeeSchedule(0, 1, 1, 0), 1,
               Book(yes_asks=((10_000, 1),), no_asks=((0, 100_000_000),))),
        Market(Venue.FORECASTEX, "F"))
    assert (u.max_qty, u.min_profit) == (50_000, 10_000)
    assert [(r.kind.label, r.members, r.exhaustive, r.confidence) for r in u.relations] == [
        ("same", (0, 1), False, 980_000), ("implies", (0, 2), False, None)]
    assert (snap.taken_at, snap.titles) == ("2026-11-20T15:00:00Z", ("Fed?", "", ""))
    assert snap == load_snapshot_strict(path)


def test_the_benchmark_universe_reads_identically(tmp_path):
    """The file `arbbot.bench.scan_file` times: U20k as a snapshot, 418k levels."""
    path = tmp_path / "u20k.json"
    assert write_snapshot(path, markets=20_000, seed=20_000) == path.stat().st_size
    fast = read_snapshot_fast(path.read_bytes())
    assert fast is not None and fast == load_snapshot_strict(path)
    u = fast.universe
    assert (len(u.markets), len(u.relations), u.min_profit) == (20_000, 4_500, 10_000)
    assert sum(len(side) for m in u.markets for side in m.book.sides()) == 417_995


def test_valid_files_never_reach_the_strict_reader(monkeypatch):
    def refuse(path):
        raise AssertionError(f"strict reader used for {path}")
    monkeypatch.setattr(snapshot_module, "load_snapshot_strict", refuse)
    for path in EXAMPLES:
        assert load_snapshot(path).universe.markets


# ---- generated snapshots: decimal strings in every legal spelling -------------------------------

@st.composite
def decimal_text(draw, value: int, decimals: int) -> str:
    """`value` (scaled by 10**decimals) as a snapshot decimal: leading and trailing zeros allowed."""
    whole, frac = divmod(value, 10**decimals)
    text = str(whole).rjust(draw(st.integers(1, 3)), "0") if draw(st.booleans()) else str(whole)
    digits = f"{frac:0{decimals}d}".rstrip("0") if frac else ""
    digits += "0" * draw(st.integers(0, 2))
    return f"{text}.{digits}" if digits else text


def price(draw) -> str:
    return draw(decimal_text(draw(st.one_of(st.integers(0, 10_000), st.sampled_from([0, 1, 10_000]))), 4))


def size(draw) -> str:
    return draw(decimal_text(draw(st.one_of(st.integers(0, 60_000), st.sampled_from([0, 1, 100_000_000]))), 2))


@st.composite
def raw_markets(draw, i: int) -> dict:
    venue = draw(st.sampled_from(["kalshi", "polymarket", "forecastex"]))
    out: dict = {"venue": venue, "id": f"M{i}" + draw(st.text("aZé€:#\\\"\u2028 ", max_size=3))}
    if draw(st.booleans()):
        out["title"] = draw(st.text(max_size=8))
    if draw(st.booleans()):
        fees = {"taker_rate": draw(decimal_text(draw(st.integers(0, 999_999)), 6)),
                "maker_rate": draw(decimal_text(draw(st.integers(0, 999_999)), 6)),
                "per_contract": draw(decimal_text(draw(st.integers(0, 10**12)), 6)),
                "rounding": draw(decimal_text(draw(st.integers(1, 10**12)), 6))}
        out["fees"] = {k: v for k, v in fees.items() if draw(st.booleans())}
    if draw(st.booleans()):
        out["lot"] = draw(st.sampled_from(["1", "0.01", "1.00", "01", "0.010"]))
    if draw(st.booleans()):
        sides = ["yes_bids", "no_bids"] + (["yes_asks", "no_asks"] if venue == "polymarket" else [])
        book = {side: [[price(draw), size(draw)] for _ in range(draw(st.integers(0, 4)))]
                for side in sides if draw(st.booleans())}
        if venue != "polymarket" and draw(st.booleans()):
            book["yes_asks"] = []                # an empty asks side is fine on a bids-only venue
        out["book"] = book
    if draw(st.integers(0, 3)) == 0:       # sizing's fields (detection ignores them; both readers check them)
        out["closes_at"] = draw(st.sampled_from(["2026-12-31T19:00:00Z", "2028-02-29T23:59:59Z", None]))
        out["event"] = draw(st.one_of(st.none(), st.text("aZé€:-", max_size=4)))
        out["category"] = draw(st.one_of(st.none(), st.text(max_size=4)))
    if draw(st.integers(0, 5)) == 0:
        out["x-extra"] = draw(st.sampled_from([None, True, 1.5, [1, {"a": []}], {"book": 3}]))
    return out


@st.composite
def raw_relations(draw, names: list[str]) -> dict:
    kind = draw(st.sampled_from(["same", "inverse", "complement", "equivalent", "bucket", "tree", "implies"]))
    need = {"bucket": 2, "tree": 3}.get(kind, 2)
    picked = draw(st.permutations(names))[:draw(st.integers(need, max(need, min(len(names), 6))))]
    if len(picked) < need:
        return None
    if kind == "bucket":
        out: dict = {"kind": kind, "members": picked}
        if draw(st.booleans()):
            out["exhaustive"] = draw(st.booleans())
    elif kind == "tree":
        out = {"kind": kind, "parent": picked[0], "children": picked[1:]}
    elif kind == "implies":
        out = {"kind": kind, "child": picked[0], "parent": picked[1]}
    else:
        out = {"kind": kind, "a": picked[0], "b": picked[1]}
    if draw(st.booleans()):
        out["confidence"] = draw(decimal_text(draw(st.integers(0, 1_000_000)), 6))
    return out


@st.composite
def raw_snapshots(draw) -> dict:
    markets = [draw(raw_markets(i)) for i in range(draw(st.integers(0, 8)))]
    names = [f"{m['venue']}:{m['id']}" for m in markets]
    out: dict = {"format": FORMAT}
    if draw(st.booleans()):
        out["taken_at"] = draw(st.sampled_from(["2026-11-20T15:00:00Z", None, "2024-02-29T23:59:59Z"]))
    if draw(st.booleans()):
        params = {"max_qty": draw(decimal_text(draw(st.integers(0, 100_000_000)), 2)),
                  "min_profit": draw(decimal_text(draw(st.integers(0, 2**63 - 1)), 6))}
        out["params"] = {k: v for k, v in params.items() if draw(st.booleans())}
    out["markets"] = markets
    if names and draw(st.booleans()):
        out["relations"] = [r for r in (draw(raw_relations(names)) for _ in range(draw(st.integers(0, 4)))) if r]
    return out


@SETTINGS
@given(obj=raw_snapshots(), ascii_only=st.booleans())
def test_generated_snapshots_read_identically(tmp_path, obj, ascii_only):
    path = tmp_path / "s.json"
    path.write_text(json.dumps(obj, ensure_ascii=ascii_only, indent=None if ascii_only else 1), encoding="utf-8")
    fast = read_snapshot_fast(path.read_bytes())
    assert fast is not None
    assert fast == load_snapshot_strict(path)


# ---- malformed files: the strict reader's message, and never the fast path's answer ------------

NASTY = [None, True, False, 0, 1, -1, 1.5, 10**30, float("nan"), float("inf"), "", "abc", "-1", "+1", "1e3",
         " 1", "1 ", ".5", "5.", "0x10", "1,5", "1.23456789", "2", "1.0001", "1000000.01", "100000001",
         "0.00001", "NaN", "Infinity", "0", "0.01", "1", "0.5", "kalshi", "kalshi:M0", "bucket", "xor",
         [], {}, ["0.5"], ["0.5", "1"], ["0.5", "1", "2"], [["0.5", "1"]], [[0.5, 1]], {"a": "b"}, "\u00e9",
         "2026-02-30T19:00:00Z", "2026-12-31T19:00:00+00:00", "2026-12-31T19:00:00Z", "\ud800"]


def paths(node, here=()):
    """Every (path, value) below the root, containers included."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in items:
        yield here + (key,), value
        yield from paths(value, here + (key,))


def at(obj, path):
    for key in path:
        obj = obj[key]
    return obj


@st.composite
def mutated(draw) -> dict:
    obj = copy.deepcopy(draw(raw_snapshots()))
    every = list(paths(obj))
    for _ in range(draw(st.integers(1, 2))):
        if not every:
            break
        where, _ = draw(st.sampled_from(every))
        parent, key = at(obj, where[:-1]), where[-1]
        action = draw(st.sampled_from(["replace", "replace", "delete", "duplicate", "swap_key"]))
        if action == "replace" or (action == "duplicate" and not isinstance(parent, list)):
            parent[key] = copy.deepcopy(draw(st.sampled_from(NASTY)))   # NASTY itself stays as is
        elif action == "delete":
            del parent[key]
        elif action == "duplicate":
            parent.append(copy.deepcopy(parent[key]))
        elif isinstance(parent, dict):          # a known key spelled as another known key
            parent[draw(st.sampled_from(["venue", "id", "a", "b", "members", "kind", "book", "lot",
                                         "yes_asks", "no_bids", "parent", "child", "children", "closes_at",
                                         "event", "category"]))] = parent.pop(key)
        every = list(paths(obj))
    return obj


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(obj=mutated())
def test_mutated_snapshots_give_the_strict_readers_answer(tmp_path, obj):
    path = tmp_path / "m.json"
    path.write_text(json.dumps(obj), encoding="utf-8")
    assert_same_as_strict(path)


JSON_BITS = list(' \t\n\r\x0b\x0c\xa0,:[]{}"\\/0123456789.-+eE') + [
    "true", "false", "null", "NaN", "\\u0000", "\\ud800", "\u2028", "\x00", "\x1f", "\x7f", "é", "00", "-0", "1e5",
    "0.", ".0"]


@st.composite
def text_mutated(draw) -> bytes:
    """A generated snapshot's JSON text with 1–3 characters inserted, deleted or replaced: where
    the two JSON parsers' grammars (numbers, whitespace, escapes, encodings) could part."""
    text = json.dumps(draw(raw_snapshots()), ensure_ascii=draw(st.booleans()))
    for _ in range(draw(st.integers(1, 3))):
        i, bit = draw(st.integers(0, len(text))), draw(st.sampled_from(JSON_BITS))
        text = draw(st.sampled_from([text[:i] + bit + text[i:], text[:i] + text[i + 2:], text[:i] + bit + text[i + 1:]]))
    return text.encode("utf-8", "surrogatepass")   # a raw lone surrogate: not UTF-8


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=text_mutated())
def test_mutated_json_text_gives_the_strict_readers_answer(tmp_path, data):
    path = tmp_path / "t.json"
    path.write_bytes(data)
    assert_same_as_strict(path)


def test_mutations_do_reach_the_errors(tmp_path):
    """The mutation strategy is not vacuous: a fixed sample of it includes refused files."""
    errors = set()

    @settings(max_examples=300, deadline=None, database=None, derandomize=True)
    @given(obj=mutated())
    def collect(obj):
        path = tmp_path / "c.json"
        path.write_text(json.dumps(obj), encoding="utf-8")
        kind, value = assert_same_as_strict(path)
        if kind == "error":
            errors.add(value.split(": ", 1)[1].split(" ")[0])
    collect()
    assert len(errors) >= 5, errors


BASE = json.dumps({"format": FORMAT, "markets": [
    {"venue": "kalshi", "id": "K1", "title": "t", "book": {"yes_bids": [["0.42", "150"]]}},
    {"venue": "polymarket", "id": "P1", "lot": "0.01", "book": {"yes_asks": [["0.45", "120"]]}}],
    "relations": [{"kind": "same", "a": "kalshi:K1", "b": "polymarket:P1"}]})


@pytest.mark.parametrize("data", [
    BASE.encode()[:-1],                                                     # truncated
    BASE.encode() + b" x",                                                  # trailing data
    BASE.replace('"t"', '"\\ud800"').encode(),                              # lone surrogate (accepted)
    BASE.replace('"t"', '"\\udc00\\ud800"').encode(),
    BASE.replace('"t"', '"\\ud83d\\ude00"').encode(),                       # a pair (accepted)
    BASE.replace('"t"', '"a\tb"').encode(),                                 # raw control character
    BASE.replace('"t"', '"a\rb"').encode(),
    BASE.replace('"t"', '"\\q"').encode(),
    BASE.replace('"t"', '"\x7f"').encode(),                                 # DEL is allowed
    BASE.replace('"t"', '"\xff"').encode("latin-1"),                        # not UTF-8 in a value
    BASE.replace('"title"', '"x-note":"\xe9","title"').encode("latin-1"),   # ... in an ignored one
    b"\xef\xbb\xbf" + BASE.encode(),                                        # UTF-8 BOM
    BASE.replace('"title": "t"', '"x": NaN').encode(),
    BASE.replace('"title": "t"', '"x": -Infinity').encode(),
    BASE.replace('"title": "t"', '"x": 01').encode(),
    BASE.replace('"title": "t"', '"x": [1,]').encode(),
    BASE.replace('"title": "t"', '"x": 1e999').encode(),                    # an ignored float: fine
    BASE.replace('"title": "t"', '"x": ' + "[" * 5000 + "]" * 5000).encode(),
    BASE.replace('"title": "t"', '"x": ' + "[" * 100 + "]" * 100).encode(),
    BASE.replace('"K1", "title"', '"K1", "book": 5, "title"').encode(),     # duplicate key: the last wins
    BASE.replace('"title": "t"', '"book": {"yes_bids": [["0.42", "150"]]}, "title": "t", "book": {}').encode(),
    BASE.replace('{"format"', '{"markets": 7, "format"').encode(),
    BASE.replace('"format": "arbbot.snapshot/1"', '"\\u0066ormat": "arbbot.snapshot/1"').encode(),
    BASE.replace('"lot": "0.01"', '"l\\u006ft": "0.5"').encode(),            # escaped keys are the keys
    BASE.replace('"0.45"', '"0.4\\u0035"').encode(),
    BASE.replace('"0.45"', '"0.4\\u0661"').encode(),                        # a non-ASCII digit
    BASE.replace('"0.45"', '"\\uff10.45"').encode(),
    BASE.replace('"0.45"', '"0.45\\u0000"').encode(),
    BASE.replace("\"kalshi\"", "\"Kalshi\"").encode(),
    BASE.replace('"same"', '"Same"').encode(),
    BASE.replace('"K1"', '"K1\\u0000"', 1).encode(),
    BASE.replace('"polymarket:P1"', '"polymarket:P1 "').encode(),
    BASE.replace('"same", "a": "kalshi:K1"', '"same", "a": "polymarket:P1"').encode(),
    BASE.replace('{"kind": "same"', '{"kind": "bucket", "exhaustive": 1, "members": ["kalshi:K1", "polymarket:P1"]}, {"kind": "same"').encode(),
    BASE.replace('{"kind": "same"', '{"kind": "tree", "parent": "kalshi:K1", "children": ["polymarket:P1", "polymarket:P1"]}, {"kind": "same"').encode(),
    BASE.replace('"relations": [', '"relations": [{"kind": "same", "a": "kalshi:K1", "b": "polymarket:P1", "exhaustive": 3, "members": 4}, ').encode(),
    BASE.replace('"relations"', '"params": {"max_qty": "1000000.00", "min_profit": "9223372036854.775807"}, "relations"').encode(),
    BASE.replace('"relations"', '"params": {"min_profit": "9223372036854.775808"}, "relations"').encode(),
    BASE.replace('"relations"', '"params": null, "relations"').encode(),
    BASE.replace('"relations"', '"taken_at": null, "relations"').encode(),
    BASE.replace('"relations"', '"taken_at": 5, "relations"').encode(),
    BASE.replace('"title": "t"', '"fees": {"rounding": "1000000"}').encode(),
    BASE.replace('"title": "t"', '"fees": {"rounding": "1000000.000001"}').encode(),
    BASE.replace('"title": "t"', '"fees": {"rounding": "0.000000"}').encode(),
    BASE.replace('"title": "t"', '"fees": {"taker_rate": "0.999999", "maker_rate": "1.0"}').encode(),
    BASE.replace('"title": "t"', '"fees": {"per_contract": null}').encode(),
    BASE.replace('"0.45"', '"0.' + "4" * 5000 + '"').encode(),                 # too long for int()
    BASE.replace('"120"', '"' + "1" * 5000 + '"').encode(),
    BASE.replace('"title": "t"', '"lot": "1.000"').encode(),
    BASE.replace('"title": "t"', '"lot": "0.001"').encode(),
    BASE.replace('"title": "t"', '"lot": "2"').encode(),
    b"[]", b"null", b"", b"{}", b'{"format": "arbbot.snapshot/1"}', b'{"format": "arbbot.snapshot/1", "markets": {}}',
], ids=lambda data: None)
def test_edge_files_give_the_strict_readers_answer(tmp_path, data):
    path = tmp_path / "e.json"
    path.write_bytes(data)
    assert_same_as_strict(path)


def test_edge_cases_cover_both_answers(tmp_path):
    """Golden: what the strict reader says about a few of the edge files above."""
    cases = {
        BASE.replace('"0.45"', '"0.4\\u0661"'): "markets[1].book.yes_asks[0][0]: price '0.4١' is not a decimal string",
        BASE.replace('"title": "t"', '"x": NaN'): "$: invalid JSON at line 1 column 82: NaN is not a JSON value",
        BASE.replace('"title": "t"', '"x": ' + "[" * 5000 + "]" * 5000): "$: JSON nested too deeply to read",
        BASE.replace('"title": "t"', '"fees": {"rounding": "0.000000"}'): "markets[0].fees.rounding: rounding must be above 0",
        BASE.replace('"K1", "title"', '"K1", "book": 5, "title"'): None,
    }
    for text, message in cases.items():
        path = tmp_path / "g.json"
        path.write_text(text, encoding="utf-8")
        kind, value = assert_same_as_strict(path)
        if message is None:
            assert kind == "ok" and value.universe.markets[0].book.yes_bids == ((4_200, 15_000),)
        else:
            assert kind == "error" and value.startswith(message)


def test_an_ignored_integer_too_long_for_python_is_ignored(tmp_path):
    """An unknown key holding an integer of more than 4,300 digits (past int()'s limit) is ignored
    by both readers, as the spec wants (json.loads used to raise an uncaught ValueError there: a
    traceback, exit 1); under a known key it is a number where a decimal string belongs."""
    path = tmp_path / "i.json"
    path.write_text(BASE.replace('"title": "t"', '"x": 1' + "0" * 5000))
    path_without = tmp_path / "w.json"
    path_without.write_text(BASE.replace('"title": "t", ', ""))
    assert load_snapshot_strict(path) == load_snapshot(path) == load_snapshot_strict(path_without)
    assert load_snapshot(path).universe.markets[0].book.yes_bids == ((4_200, 15_000),)
    path.write_text(BASE.replace('"lot": "0.01"', '"lot": 1' + "0" * 5000))   # a known key: a number
    assert outcome(load_snapshot, path) == outcome(load_snapshot_strict, path) == (
        "error", 'markets[1].lot: lot must be a decimal string like "0.45", got number')


def test_unreadable_paths_keep_their_messages(tmp_path):
    for path in (tmp_path / "missing.json", tmp_path):
        strict = outcome(load_snapshot_strict, path)
        assert strict[0] == "error" and strict[1].startswith("$: cannot read")
        assert outcome(load_snapshot, path) == strict


# ---- the reader's own invariants -------------------------------------------------------------

def test_frozen_objects_stay_frozen(monkeypatch):
    """With objects frozen on purpose (a session's `tune_gc`), the reader never unfreezes them.
    (Checked by the call, not the count: frozen objects other tests left behind may be freed
    meanwhile, which lowers the count by itself.)"""
    gc.freeze()
    unfrozen = []
    try:
        monkeypatch.setattr(gc, "unfreeze", lambda: unfrozen.append(True))
        assert read_snapshot_fast(EXAMPLES[0].read_bytes()) is not None
        assert unfrozen == [] and gc.get_freeze_count() > 0
    finally:
        monkeypatch.undo()
        gc.unfreeze()


@pytest.mark.parametrize("enabled", [True, False])
def test_garbage_collection_is_left_as_it_was(enabled):
    data = EXAMPLES[0].read_bytes()
    was = gc.isenabled()
    try:
        if enabled:
            gc.enable()
        else:
            gc.disable()
        assert read_snapshot_fast(data) is not None and gc.isenabled() is enabled
        assert read_snapshot_fast(b"{") is None and gc.isenabled() is enabled
    finally:
        if was:
            gc.enable()


def test_memos_stay_bounded_and_exact(monkeypatch):
    monkeypatch.setattr(snapshot_fast, "_MEMO_LIMIT", 3)
    memo = snapshot_fast._Memo(snapshot_fast.units.parse_price)
    assert [memo[t] for t in ("0.1", "0.2", "0.30", "0.4", "0.1", "1")] == [1_000, 2_000, 3_000, 4_000, 1_000, 10_000]
    assert len(memo) <= 3
    with pytest.raises(snapshot_fast._Refused):
        memo["1.5"]
    assert "1.5" not in memo


def test_cli_scan_is_byte_identical_through_either_reader(capsys, monkeypatch, tmp_path):
    obj = json.loads(EXAMPLES[0].read_text())
    bad = copy.deepcopy(obj)
    bad["markets"][1]["book"] = {"yes_asks": [["0.5", True]]}
    for doc in (obj, bad):
        path = tmp_path / "scan.json"
        path.write_text(json.dumps(doc))
        runs = []
        for load in (load_snapshot, load_snapshot_strict):
            monkeypatch.setattr(snapshot_module, "load_snapshot", load)
            runs.append((main(["scan", str(path), "--json", "--engine", "python"]), *capsys.readouterr()))
        assert runs[0] == runs[1]
        assert runs[0][0] == (0 if doc is obj else 2)
    assert runs[0][2].startswith("markets[1].book.")   # the last run: the malformed file


def test_benchmark_report_picks_order_statistics():
    assert _p50_p95([0.5, 0.1, 0.3, 0.2, 0.4, 0.7, 0.6]) == {"p50": 0.4, "p95": 0.7}
    seconds = {k: {"p50": 0.25, "p95": 0.5} for k in ("command_new", "cpu_new", "read_new", "engine")}
    seconds.update({k: {"p50": 2.0, "p95": 3.125} for k in ("command_old", "cpu_old", "read_old")})
    report = markdown({"markets": 20_000, "seed": 20_000, "runs": 7, "file_bytes": 11_829_509,
                       "opportunities": 123, "seconds": seconds})
    assert report.splitlines()[0] == "20,000 markets (seed 20000), 11.8 MB, 123 opportunities, 7 runs, seconds:"
    assert report.splitlines()[4] == "| whole command (`arbbot scan FILE --json`), wall | 2.000 | 3.125 | 0.250 | 0.500 |"
