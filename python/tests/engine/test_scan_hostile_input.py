"""`arbbot scan` on hostile snapshots (numbers past Python's int() limit, deep nesting, lone
surrogates, non-standard JSON constants, sizing fields): every one exits 2 with a message that
starts with the JSON path (spec/SNAPSHOT.md), or, when the spec says the file is valid, is
scanned, through a file or standard input, with either engine. Never a traceback."""
from __future__ import annotations

import io
import json
import sys

import pytest

from arbbot import units
from arbbot.cli import main
from arbbot.snapshot import SnapshotError, load_snapshot, load_snapshot_strict

LONG = 5_000    # digits: past int()'s 4,300

BASE = {"format": "arbbot.snapshot/1", "markets": [
    {"venue": "polymarket", "id": "P", "lot": "0.01",
     "book": {"yes_asks": [["0.45", "10"]], "no_asks": [["0.50", "10"]]}},
    {"venue": "kalshi", "id": "K", "book": {"yes_bids": [["1", "10"]], "no_bids": [["0.50", "10"]]}}]}

# BASE's answer, checked against an independent reading of spec/ARBITRAGE.md (YES 0.45 + NO 0.50
# on P, no fees: $0.50 on 10 contracts; K's bids sum to 1.5: crossed).
EXPECTED = {"format": "arbbot.opportunities/1", "opportunities": [
    {"id": "d8d45174a5ec370f", "lane": "intra", "kind": "yes_no", "qty": "10", "payout": "10.000000",
     "cost": "9.500000", "fee": "0.000000", "profit": "0.500000", "legs": [
         {"market": "polymarket:P", "side": "yes", "qty": "10", "worst_price": "0.4500", "cost": "4.500000",
          "fee": "0.000000"},
         {"market": "polymarket:P", "side": "no", "qty": "10", "worst_price": "0.5000", "cost": "5.000000",
          "fee": "0.000000"}]}],
    "untradeable": [{"market": "kalshi:K", "reason": "crossed"}]}

BASE_TEXT = json.dumps(BASE)


def _sub(old: str, new: str) -> str:
    assert BASE_TEXT.count(old) == 1, old
    return BASE_TEXT.replace(old, new)


def _with(**fields) -> str:
    """BASE with `fields` added to its markets[1] (K)."""
    obj = json.loads(BASE_TEXT)
    obj["markets"][1].update(fields)
    return json.dumps(obj)


def scan(capsys, monkeypatch, tmp_path, text: str, engine: str, source: str) -> tuple[int, str, str]:
    data = text.encode("utf-8", "surrogatepass")
    if source == "stdin":
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"))
        arg = "-"
    else:
        path = tmp_path / "s.json"
        path.write_bytes(data)
        arg = str(path)
    code = main(["scan", arg, "--json", "--engine", engine])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(params=["file", "stdin"])
def source(request) -> str:
    return request.param


# ---- refused: exit 2, the JSON path first ---------------------------------------------------------

REFUSED = {
    # 1. numbers past int()'s 4,300 digits: "above the maximum", the text shortened
    "size_long": (_sub('["0.45", "10"]', '["0.45", "' + "9" * LONG + '"]'),
                  "markets[0].book.yes_asks[0][1]: size 9999999999999999...9999999999999999 is above the maximum"),
    "price_long": (_sub('["0.45", "10"]', '["1' + "0" * LONG + '", "10"]'),
                   "markets[0].book.yes_asks[0][0]: price 1000000000000000...0000000000000000 is above the maximum"),
    "min_profit_long": (_sub('{"format"', '{"params": {"min_profit": "' + "9" * LONG + '"}, "format"'),
                        "params.min_profit: min_profit 9999999999999999...9999999999999999 is above the maximum"),
    "lot_long": (_with(lot="0" * LONG + "2"), "markets[1].lot: lot 0000000000000000...0000000000000002 must be"),
    "price_above_1_long_zeros": (_sub('["0.45", "10"]', '["' + "0" * LONG + '2", "10"]'),
                                 "markets[0].book.yes_asks[0][0]: price 0000000000000000...0000000000000002 is above 1"),
    "price_bare_long_number": (_sub('["0.45", "10"]', "[" + "1" * LONG + ', "10"]'),
                               'markets[0].book.yes_asks[0][0]: price must be a decimal string like "0.45", got number'),
    "format_long_number": (_sub('"format": "arbbot.snapshot/1"', '"format": ' + "7" * LONG),
                           'format: unsupported format: expected "arbbot.snapshot/1", got number'),
    # 2. nesting past the JSON reader's reach, under an unknown key
    "deep_1000": (_sub('{"format"', '{"x": ' + "[" * 1000 + "]" * 1000 + ', "format"'),
                  "$: JSON nested too deeply to read"),
    "deep_100000": (_sub('{"format"', '{"x": ' + "[" * 100_000 + "]" * 100_000 + ', "format"'),
                    "$: JSON nested too deeply to read"),
    # 3. a lone UTF-16 surrogate where a string names something
    "id_surrogate": (_sub('"id": "K"', '"id": "K\\ud800"'),
                     'markets[1].id: market id "K\\ud800" is not valid Unicode (a lone surrogate, U+D800)'),
    "id_reversed_pair": (_sub('"id": "K"', '"id": "\\udc00\\ud800"'),
                         'markets[1].id: market id "\\udc00\\ud800" is not valid Unicode (a lone surrogate, U+DC00)'),
    "event_surrogate": (_with(event="E\ud83d"),
                        'markets[1].event: event "E\\ud83d" is not valid Unicode (a lone surrogate, U+D83D)'),
    "category_surrogate": (_with(category="\udfff"),
                           'markets[1].category: category "\\udfff" is not valid Unicode (a lone surrogate, U+DFFF)'),
    # 4. the sizing fields, as spec/SNAPSHOT.md gives them
    "closes_at_word": (_with(closes_at="tomorrow"),
                       'markets[1].closes_at: closes_at "tomorrow" is not YYYY-MM-DDTHH:MM:SSZ'),
    "closes_at_offset": (_with(closes_at="2026-12-31T19:00:00+00:00"),
                         'markets[1].closes_at: closes_at "2026-12-31T19:00:00+00:00" is not YYYY-MM-DDTHH:MM:SSZ'),
    "closes_at_no_seconds": (_with(closes_at="2026-12-31T19:00Z"),
                             'markets[1].closes_at: closes_at "2026-12-31T19:00Z" is not YYYY-MM-DDTHH:MM:SSZ'),
    "closes_at_lowercase": (_with(closes_at="2026-12-31t19:00:00z"),
                            'markets[1].closes_at: closes_at "2026-12-31t19:00:00z" is not YYYY-MM-DDTHH:MM:SSZ'),
    "closes_at_arabic_digits": (_with(closes_at="٢٠٢٦-12-31T19:00:00Z"),
                                'markets[1].closes_at: closes_at "\\u0662\\u0660\\u0662\\u0666-12-31T19:00:00Z" is not'),
    "closes_at_feb_30": (_with(closes_at="2026-02-30T19:00:00Z"),
                         'markets[1].closes_at: closes_at "2026-02-30T19:00:00Z" is not a valid time'),
    "closes_at_second_60": (_with(closes_at="2026-12-31T23:59:60Z"),
                            'markets[1].closes_at: closes_at "2026-12-31T23:59:60Z" is not a valid time'),
    "closes_at_number": (_with(closes_at=20261231),
                         "markets[1].closes_at: closes_at must be a string YYYY-MM-DDTHH:MM:SSZ, got number"),
    "taken_at_word": (_sub('{"format"', '{"taken_at": "yesterday", "format"'),
                      'taken_at: taken_at "yesterday" is not YYYY-MM-DDTHH:MM:SSZ'),
    "taken_at_number": (_sub('{"format"', '{"taken_at": 20261120, "format"'),
                        "taken_at: taken_at must be a string YYYY-MM-DDTHH:MM:SSZ, got number"),
    "event_number": (_with(event=5), "markets[1].event: expected a string, got number"),
    "category_list": (_with(category=["x"]), "markets[1].category: expected a string, got list"),
    "event_true": (_with(event=True), "markets[1].event: expected a string, got boolean"),
    # 5. NaN and ±Infinity are not JSON, even where they would be ignored
    "nan_unknown": (_sub('{"format"', '{"x": NaN, "format"'), "$: invalid JSON at line 1 column 7: NaN is not a JSON value (JSON has no NaN or Infinity)"),
    "infinity_unknown": (_sub('"lot": "0.01"', '"lot": "0.01",\n "x": [1, -Infinity]'),
                         "$: invalid JSON at line 2 column 11: -Infinity is not a JSON value"),
}


@pytest.mark.parametrize("name", list(REFUSED))
def test_refused_with_exit_2_and_the_json_path(capsys, monkeypatch, tmp_path, engine, source, name):
    text, message = REFUSED[name]
    code, out, err = scan(capsys, monkeypatch, tmp_path, text, engine, source)
    assert (code, out) == (2, "")
    assert err.startswith(message), err[:300]
    assert err.count("\n") == 1 and len(err) < 300     # one short line, no traceback


def test_the_readers_agree_on_refused_files(tmp_path):
    """The one-pass reader never vouches for a refused file: load_snapshot and the strict reader
    name the same problem."""
    path = tmp_path / "s.json"
    for name, (text, message) in REFUSED.items():
        path.write_bytes(text.encode("utf-8", "surrogatepass"))
        for load in (load_snapshot, load_snapshot_strict):
            with pytest.raises(SnapshotError) as info:
                load(path)
            assert str(info.value).startswith(message), (name, load.__name__)


# ---- valid: scanned as if written plainly ------------------------------------------------------------

ACCEPTED = {
    "plain": BASE_TEXT,
    # 1. leading zeros are part of the grammar: "000…01" is $1, "000…0.45" is $0.45
    "price_long_zeros": _sub('"yes_bids": [["1", "10"]]', '"yes_bids": [["' + "0" * LONG + '1", "10"]]'),
    "price_and_size_long_zeros": _sub('["0.45", "10"]', '["' + "0" * LONG + '0.45", "' + "0" * LONG + '10.' + "0" * LONG + '"]'),
    "min_profit_long_zeros": _sub('{"format"', '{"params": {"min_profit": "' + "0" * LONG + '0.01"}, "format"'),
    # ... and an unknown key holds anything JSON allows, ignored
    "unknown_long_integer": _sub('{"format"', '{"x": 1' + "0" * LONG + ', "format"'),
    "unknown_long_negative": _sub('"lot": "0.01"', '"lot": "0.01", "x": {"y": [-' + "9" * LONG + "]}"),
    "unknown_long_float": _sub('{"format"', '{"x": 1' + "0" * LONG + '.5e-3, "format"'),
    "unknown_nested_100": _sub('{"format"', '{"x": ' + "[" * 100 + "]" * 100 + ', "format"'),
    "unknown_constant_in_a_string": _sub('{"format"', '{"x": "NaN Infinity", "format"'),
    "unknown_surrogate": _sub('{"format"', '{"x": "\\ud800", "format"'),
    "surrogate_pair_id": _sub('"id": "K"', '"id": "K\\ud83d\\ude00"'),
    # 4. well-formed sizing fields (null: not stated)
    "sizing_fields": _with(closes_at="2026-12-31T19:00:00Z", event="KXFED-26DEC", category="Economics"),
    "sizing_fields_leap_day": _with(closes_at="2028-02-29T23:59:59Z", event="", category="é€"),
    "sizing_fields_null": _with(closes_at=None, event=None, category=None),
}


@pytest.mark.parametrize("name", list(ACCEPTED))
def test_valid_files_are_scanned(capsys, monkeypatch, tmp_path, engine, source, name):
    code, out, err = scan(capsys, monkeypatch, tmp_path, ACCEPTED[name], engine, source)
    assert (code, err) == (0, "")
    got = json.loads(out)
    assert got.pop("engine") == engine
    expected = EXPECTED
    if name == "surrogate_pair_id":    # the id names K, and so its opportunity id: none here
        expected = {**EXPECTED, "untradeable": [{"market": "kalshi:K\U0001f600", "reason": "crossed"}]}
    assert got == expected


def test_long_zeros_leave_the_values_exact(tmp_path):
    path = tmp_path / "s.json"
    path.write_text(ACCEPTED["price_and_size_long_zeros"])
    for load in (load_snapshot, load_snapshot_strict):
        market = load(path).universe.markets[0]
        assert market.book.yes_asks == ((4_500, 1_000),)


# ---- units: exact or UnitError, never int()'s ValueError -------------------------------------------

def test_parse_decimal_strips_leading_zeros_before_int():
    assert units.parse_price("0" * LONG + "1") == 10_000
    assert units.parse_price("0" * LONG + ".0001") == 1
    assert units.parse_size("0" * LONG + "1000000." + "0" * LONG) == 100_000_000
    assert units.parse_money("0" * LONG, "fee", 10) == 0
    digits30 = "9" * 30
    assert units.parse_decimal(digits30 + ".5", 6, "x") == int(digits30) * 10**6 + 500_000


@pytest.mark.parametrize("parse, text, message", [
    (units.parse_size, "9" * LONG, "size 9999999999999999...9999999999999999 is above the maximum (5,000 digits before the point)"),
    (units.parse_price, "1" + "0" * 30, "price 1000000000000000000000000000000 is above the maximum (31 digits before the point)"),
    (units.parse_rate, "0" * 10 + "1" * 31 + ".5", "rate 0000000000111111...11111111111111.5 is above the maximum (31 digits"),
])
def test_parse_decimal_refuses_numbers_past_every_bound(parse, text, message):
    with pytest.raises(units.UnitError) as info:
        parse(text)
    assert str(info.value).startswith(message)


def test_wire_parsers_read_long_texts_as_unit_errors():
    """The venue parsers (`_plain` → `_decimal_text`): leading zeros are read, numbers too long
    for int() are UnitError (what venue code catches), not int()'s bare ValueError."""
    assert units.price_ticks("0" * LONG + "0.45") == 4_500
    assert units.qty_lots("-" + "0" * LONG + "2.50", signed=True) == -250
    assert units.money_micros(" " + "0" * LONG + "1.5 ") == 1_500_000
    for call in (lambda: units.qty_lots("9" * LONG), lambda: units.money_micros("-" + "9" * LONG + ".0"),
                 lambda: units.rate_ppm(" " + "1" * LONG)):
        with pytest.raises(units.UnitError, match=r"too large \(5,000 digits"):
            call()


# ---- explain reads the same fields through the same validator ---------------------------------------

@pytest.mark.parametrize("name", ["closes_at_word", "closes_at_number", "closes_at_feb_30", "event_number",
                                  "category_list", "event_surrogate", "id_surrogate", "size_long", "deep_1000",
                                  "nan_unknown"])
def test_explain_refuses_what_scan_refuses_with_the_same_message(capsys, tmp_path, name):
    text, message = REFUSED[name]
    path = tmp_path / "s.json"
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    assert main(["scan", str(path), "--json", "--engine", "python"]) == 2
    scan_err = capsys.readouterr().err
    assert main(["explain", str(path), "--json", "--engine", "python"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err == scan_err and err.startswith(message)


def test_wire_decimals_past_30_digits_are_refused_before_being_written_out():
    from decimal import Decimal
    assert units.money_micros(Decimal("1.5E+3")) == 1_500_000_000
    with pytest.raises(units.UnitError, match=r"too large \(1,000,000,000 digits"):
        units.money_micros(Decimal("1E+999999999"))     # format(…, "f") would write 1 GB


def test_deep_nesting_is_refused_whatever_the_hosts_recursion_limit():
    """With a recursion limit raised to a million (a host process may raise it: pytest-xdist's
    workers do), 100,000 levels used to run the C decoder off its stack and kill the process; the
    decoder is held to MAX_JSON_DEPTH levels for the call, and the limit is given back."""
    import sys

    from arbbot.snapshot import MAX_JSON_DEPTH, decode_json
    before = sys.getrecursionlimit()
    sys.setrecursionlimit(1_000_000)
    try:
        with pytest.raises(SnapshotError, match="nested too deeply"):
            decode_json('{"x": ' + "[" * 100_000 + "]" * 100_000 + "}")
        assert sys.getrecursionlimit() == 1_000_000
        deep_ok = MAX_JSON_DEPTH - 50
        nested = decode_json('{"x": ' + "[" * deep_ok + "]" * deep_ok + "}")["x"]
        depth = 0
        while isinstance(nested, list) and nested:
            nested, depth = nested[0], depth + 1
        assert depth == deep_ok - 1
    finally:
        sys.setrecursionlimit(before)


@pytest.mark.parametrize("engine", ["python", "swift"])
def test_the_table_prints_market_ids_and_file_names_that_look_like_markup_as_they_are(tmp_path, capsys, engine):
    """A market id or a path with `[/]` (any string is a valid id) stopped the table with rich's
    MarkupError (a traceback, exit 1); `[bold]A` was printed as formatting, not as the id."""
    text = _sub('"id": "P"', '"id": "[/]x[bold]"')
    text = text.replace('"id": "K"', '"id": "[red]K"')
    path = tmp_path / "d[" / "]snap.json"                                 # the path has "d[/]snap.json" in it
    path.parent.mkdir()
    path.write_text(text)
    assert main(["scan", str(path), "--engine", engine]) == 0
    out = capsys.readouterr().out
    assert f"{path}: 2 markets" in out
    assert "polymarket:[/]x[bold]" in out and "kalshi:[red]K" in out      # the leg and the untradeable market


@pytest.mark.parametrize("confidence, millionths", [("0.9999999", 999_999), ("0.12345678901234567890", 123_456),
                                                   ("0.5000000", 500_000), ("1.0000000000", 1_000_000)])
def test_a_confidence_may_have_any_number_of_decimals(tmp_path, confidence, millionths):
    """SNAPSHOT.md limits a relation's confidence to [0, 1] and nothing else: past the sixth
    decimal the digits are dropped (rounded down). Both readers agree."""
    snap = json.loads(BASE_TEXT)
    snap["markets"].append({"venue": "polymarket", "id": "Q", "lot": "0.01"})
    snap["relations"] = [{"kind": "same", "a": "polymarket:P", "b": "polymarket:Q", "confidence": confidence}]
    path = tmp_path / "s.json"
    path.write_text(json.dumps(snap))
    assert load_snapshot(path).universe.relations[0].confidence == millionths
    assert load_snapshot_strict(path).universe.relations[0].confidence == millionths


@pytest.mark.parametrize("confidence", ["1.0000001", "2", "1.00000000000000000001"])
def test_a_confidence_above_one_is_refused_on_all_its_decimals(tmp_path, capsys, confidence):
    snap = json.loads(BASE_TEXT)
    snap["markets"].append({"venue": "polymarket", "id": "Q", "lot": "0.01"})
    snap["relations"] = [{"kind": "same", "a": "polymarket:P", "b": "polymarket:Q", "confidence": confidence}]
    path = tmp_path / "s.json"
    path.write_text(json.dumps(snap))
    assert main(["scan", str(path)]) == 2
    assert capsys.readouterr().err.startswith("relations[0].confidence: confidence ")
