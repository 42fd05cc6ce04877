"""Fixes from the audit of the cross-venue mapping code: each test fails on the code before them.

Mapping files (three-venue `inverse` rows, a pair mapped twice, BOM, multi-line cells, rows for
undiscovered markets), negated title ladders, matcher look-alikes that scored 0.975 (negation,
deadline vs point in time, month vs day, time of day, a threshold's sign, void rules), cautions
kept under auto-approval, impossible dates, ForecastEx float strikes and the generated cache."""
from __future__ import annotations

import io
import json
from decimal import Decimal
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from arbbot.mapping import generate
from arbbot.mapping.listings import Listing, listings_from_bodies
from arbbot.mapping.match.command import main
from arbbot.mapping.match.features import Features
from arbbot.mapping.match.matcher import assess, match
from arbbot.mapping.match.scoring import CAUTION_CAP
from arbbot.mapping.match.settlement import check
from arbbot.mapping.rules import derive_relations, parse_line
from arbbot.mapping.table import (DEFAULT_AUTO_APPROVE, HEADER, MappingError, MappingRow, load_mappings,
                                  parse_mappings, relations_for)
from arbbot.run.live import LiveSession
from tests.mapping.map_bodies import parse
from tests.mapping.test_match_settlement import K, P, verdict
from arbbot.mapping.match import calibration

TOP = calibration.shipped()[-1][1]          # the calibration's top step: a pair with no caution

H = ",".join(HEADER)


# ---- 1. a three-venue inverse row ------------------------------------------------------------

def test_an_inverse_rows_other_markets_are_the_same_as_each_other() -> None:
    """`relation` is how the other markets relate to the row's first: both inverse to Kalshi's,
    Polymarket's and ForecastEx's are the same question (paired `inverse`, buying YES on both
    was a naked bet)."""
    rows = parse_mappings([H, "K1,0xP1,FX-20261231-100,inverse,0.99"], "m.csv")
    names = {"kalshi:K1", "polymarket:0xP1", "forecastex:FX-20261231-100"}
    assert [(r["kind"], r["a"], r["b"]) for r in relations_for(rows, names)] == [
        ("inverse", "kalshi:K1", "polymarket:0xP1"),
        ("inverse", "kalshi:K1", "forecastex:FX-20261231-100"),
        ("same", "polymarket:0xP1", "forecastex:FX-20261231-100")]
    # the first market undiscovered: the other two are still the same as each other
    assert relations_for(rows, names - {"kalshi:K1"}) == [
        {"kind": "same", "a": "polymarket:0xP1", "b": "forecastex:FX-20261231-100", "confidence": "0.99"}]


# ---- 2. a pair mapped twice ------------------------------------------------------------------

@pytest.mark.parametrize("second", [
    "K1,0xP1,,inverse,0.99",            # contradictory
    "K1,0xP1,,same,0.50",               # a duplicate with another confidence
    "K1,0xP1,F1,same,0.9",              # a three-venue row naming the pair again
])
def test_a_pair_mapped_twice_is_an_error_naming_both_lines(second: str) -> None:
    with pytest.raises(MappingError, match=r"^m\.csv:4: kalshi:K1 and polymarket:0xP1 are already mapped on line 2; "):
        parse_mappings([H, "K1,0xP1,,same,0.99", "K2,0xP2,,same,0.9", second], "m.csv")


def test_a_pair_mapped_twice_exits_2_from_the_command(tmp_path: Path, capsys) -> None:
    path = tmp_path / "m.csv"
    path.write_text(f"{H}\nK1,0xP1,,same,0.99\nK1,0xP1,,inverse,0.99\n", encoding="utf-8")
    code = main(parse(["--review", str(path)]), stdin=io.StringIO("q\n"))
    assert code == 2 and f"{path}:3: kalshi:K1 and polymarket:0xP1 are already mapped on line 2" in capsys.readouterr().err


def test_a_session_relates_a_twin_pair_one_way_only() -> None:
    """Relations reaching the engine: a pair already related by `same`, `inverse`, `complement`
    or `equivalent` is not related again by any of them (the first wins). (It used to expect the
    `complement` beside the `same`: a pair both YES ≡ YES and YES ≡ NO, a naked bet.)"""
    session = LiveSession({}, [])
    present = [{"kind": "same", "a": "kalshi:K1", "b": "polymarket:P1", "confidence": "0.99"}]
    candidates = [{"kind": "inverse", "a": "polymarket:P1", "b": "kalshi:K1", "confidence": "0.99"},
                  {"kind": "same", "a": "kalshi:K1", "b": "polymarket:P1", "confidence": "0.5"},
                  {"kind": "inverse", "a": "kalshi:K2", "b": "polymarket:P2", "confidence": "0.9"},
                  {"kind": "same", "a": "kalshi:K2", "b": "polymarket:P2", "confidence": "0.9"},
                  {"kind": "complement", "a": "kalshi:K1", "b": "polymarket:P1", "confidence": "1"}]
    assert session._new(present, candidates) == [candidates[2]]


# ---- 3. negated title ladders ----------------------------------------------------------------

@pytest.mark.parametrize("title, up, value", [
    ("no more than 3 rate cuts in 2026?", False, "3"),
    ("not more than 3 rate cuts in 2026?", False, "3"),
    ("no less than 3 rate cuts in 2026?", True, "3"),
    ("not less than 3 rate cuts in 2026?", True, "3"),
    ("not above 4% in 2026?", False, "4"),
    ("Will CPI not exceed 3% in 2026?", False, "3"),
    ("Will CPI won't exceed 3% in 2026?", False, "3"),
    ("more than 3 rate cuts in 2026?", True, "3"),
])
def test_a_negation_right_before_the_comparator_flips_it(title: str, up: bool, value: str) -> None:
    line = parse_line(title)
    assert line is not None and (line.up, line.value) == (up, Decimal(value))


@pytest.mark.parametrize("title", ["Will the Fed not cut more than 3 times in 2026?",
                                   "Will CPI never be above 3% in 2026?", "No: above 3% in 2026?"])
def test_a_negation_elsewhere_leaves_the_line_unread(title: str) -> None:
    assert parse_line(title) is None


def test_a_no_more_than_ladder_implies_upwards() -> None:
    """≤ 2 cuts implies ≤ 4 cuts (it was read as > 2 and > 4: the reverse, whose tree lane buys
    YES ≤ 2 and NO ≤ 4, both lost with 3 cuts)."""
    ladder = [Listing("polymarket", f"0x{n}", "EV1", f"Will the Fed make no more than {n} rate cuts in 2026?")
              for n in (2, 4)]
    assert [(r["kind"], r["child"], r["parent"]) for r in derive_relations(ladder)] == [
        ("implies", "polymarket:0x2", "polymarket:0x4")]


# ---- 4. matcher look-alikes ------------------------------------------------------------------

@pytest.mark.parametrize("a, b, reason", [
    (K("Will the Fed cut rates at the December 2026 meeting?"), P("Will the Fed not cut rates at the December 2026 meeting?"),
     "question negated on one side only"),
    (K("Will Bitcoin be above $150,000 by December 31, 2026?"), P("Will Bitcoin be above $150,000 on December 31, 2026?"),
     "timing differs: by the date (any time until) vs on the date"),
    (K("Will Bitcoin hit $150,000 before Jan 1, 2027?"), P("Bitcoin above $150,000 at end of 2026?"),
     "timing differs: by the date (any time until) vs on the date"),
    (K("Will Bitcoin be above $150,000 at 5pm ET on December 31, 2026?"),
     P("Will Bitcoin be above $150,000 at 12pm ET on December 31, 2026?"), "time of day differs: 17:00 ET vs 12:00 ET"),
    (K("Will Bitcoin be above $150,000 at 5 pm ET on December 31, 2026?"),
     P("Will Bitcoin be above $150,000 at 17:00 UTC on December 31, 2026?"), "time of day differs: 17:00 ET vs 17:00 UTC"),
    (K("Will US GDP growth in Q4 2026 be above -1%?"), P("Will US GDP growth in Q4 2026 be above 1%?"),
     "threshold differs: -1, 4 vs 1, 4"),
    (K("Will the Democrats win the House in 2026?", rules="If the election is postponed the market resolves No."),
     P("Will the Democrats win the House in 2026?", rules="If the election is postponed the market resolves 50-50."),
     "void rule differs: no vs 50-50"),
])
def test_look_alikes_are_rejected(a: Listing, b: Listing, reason: str) -> None:
    v = verdict(a, b)
    assert not v.ok and reason in v.rejects, v.rejects


def test_the_same_time_of_day_agrees_and_is_no_threshold() -> None:
    """"5 pm" was read as a threshold of 5; now it is the time 17:00 (equal to "5pm")."""
    a = Features.of(K("Will Bitcoin be above $150,000 at 5 pm ET on December 31, 2026?"))
    assert a.times == frozenset({("17:00", "ET")}) and a.values == (("$", Decimal(150000)),)
    v = check(a, Features.of(P("Bitcoin above $150k at 5pm ET on Dec 31, 2026?")))
    assert v.ok and "same time of day 17:00 ET" in v.agreements


def test_a_month_against_a_day_in_it_is_a_caution_not_an_agreement() -> None:
    v = verdict(K("Will the government shut down in December 2026?"), P("Will the government shut down on December 16, 2026?"))
    assert v.ok and not any(a.startswith("same date") for a in v.agreements)
    assert v.cautions == ["date named to another precision: 2026-12-? vs 2026-12-16"]


def test_negative_strikes_keep_their_sign_and_ranges_are_no_negatives() -> None:
    below = Listing("kalshi", "KXTEMP-26JAN15", "E", "Chicago low temperature on January 15, 2026?", subtitle="Below",
                    strike_type="less", cap_strike=Decimal("-5"))
    assert Features.of(below).values == (("", Decimal(-5)),)
    assert Features.of(P("Will CPI be 3-4% in 2026?")).values == (("", Decimal(3)), ("%", Decimal(4)))
    assert Features.of(P("Will CPI be 3 - 4% in 2026?")).values == (("", Decimal(3)), ("%", Decimal(4)))


def test_a_void_rule_on_one_side_is_a_caution() -> None:
    v = verdict(K("Will the Democrats win the House in 2026?"),
                P("Will the Democrats win the House in 2026?", rules="If the election is cancelled, this market resolves 50-50."))
    assert v.ok and v.cautions == ["void rule stated on one side only: 50-50"]


# ---- 5. cautions stay under auto-approval ----------------------------------------------------

def test_a_cautioned_pair_is_capped_under_auto_approval() -> None:
    """Two cautions scored 0.975 (the calibration's top step), auto-approved on paper."""
    assert CAUTION_CAP < DEFAULT_AUTO_APPROVE / 1_000_000
    a = Features.of(K("Will the high temperature in New York be above 90°F on July 4, 2026?", rules="Measured at Central Park."))
    b = Features.of(P("Will the high temperature in New York be above 90°F?"))
    got = assess(a, b, 1.0)
    assert got.verdict.cautions == ["date stated on one side only", "resolution source stated on one side only"]
    assert got.confidence == CAUTION_CAP
    twin = Features.of(P("Will the high temperature in New York be above 90°F on July 4, 2026?", rules="At Central Park."))
    assert assess(a, twin, 1.0).confidence == TOP                    # no caution: the calibration alone


# ---- 7. impossible dates ---------------------------------------------------------------------

@pytest.mark.parametrize("title, closes_at, dates", [
    ("Will it snow in Central Park on February 29, 2026?", "", ()),
    ("Will the bill pass before 2026-02-30?", "", ()),
    ("Will it snow on 2026-13-01?", "", ()),
    ("Will it snow on February 29?", "", ((None, 2, 29),)),                # no year: a leap year's may be meant
    ("Will it snow on February 29?", "2026-03-01T05:00:00Z", ()),          # the close date's year has none
    ("Will it snow on February 29, 2028?", "", ((2028, 2, 29),)),
])
def test_impossible_dates_are_dropped(title: str, closes_at: str, dates: tuple) -> None:
    assert Features.of(K(title, closes_at=closes_at)).dates == dates


def test_matching_survives_impossible_dates() -> None:
    """`arbbot map` exited 1 with a traceback and a session's mapping worker died."""
    kalshi = [K("Will the bill pass before 2026-02-30?"), K("Will it snow in Central Park on February 29, 2026?")]
    poly = [P("Will the bill pass before 2026-02-30?"), P("Will it snow in Central Park on February 29, 2026?")]
    assert len(match({"kalshi": kalshi, "polymarket": poly}, 0.5)) == 2


# ---- 8. ForecastEx float strikes -------------------------------------------------------------

def test_a_forecastex_float_strike_is_read_by_its_repr() -> None:
    body = [{"conId": n, "symbol": "FF", "lastTradeDateOrContractMonth": "20261216", "strike": 4.1, "right": right,
             "longName": "Fed funds above 4.1%?"} for n, right in ((1, "C"), (2, "P"))]
    (listing,) = listings_from_bodies("forecastex", [body])
    assert str(listing.floor_strike) == "4.1" and listing.market_id == "FF-20261216-4.1"


# ---- 9. the generated cache ------------------------------------------------------------------

def _doc(**row) -> dict:
    return {"format": generate.GENERATOR, "rows": [{"ids": ["K1", "0xP1", ""], "relation": "same",
                                                    "confidence": 970_000, "reasons": "", **row}]}


@pytest.mark.parametrize("row", [
    {"confidence": 5_000_000}, {"confidence": -3}, {"confidence": True}, {"confidence": 0.97}, {"confidence": "970000"},
    {"ids": ["", "", ""]}, {"ids": ["K1", "", ""]}, {"ids": ["K1", 7, ""]}, {"ids": "K1,0xP1,"},
    {"relation": "xor"}, {"reasons": 3},
])
def test_cached_rows_are_checked(row: dict) -> None:
    with pytest.raises(ValueError, match="bad row"):
        generate.rows_from_json(_doc(**row))


def test_cached_rows_read_back() -> None:
    assert generate.rows_from_json(_doc()) == [MappingRow(("K1", "0xP1", ""), "same", 970_000, None, "")]
    assert generate.rows_from_json(_doc(confidence=0, reasons=None))[0].confidence == 0


def test_a_cache_with_a_bad_row_is_matched_again(tmp_path: Path) -> None:
    listings = {"kalshi": [K("Will Bitcoin be above $150,000 on December 31, 2026?")],
                "polymarket": [P("Will Bitcoin be above $150,000 on December 31, 2026?")]}
    digest = generate.listings_digest(listings)
    (tmp_path / f"{digest}.json").write_text(json.dumps({**_doc(confidence=5_000_000), "digest": digest}))
    got = generate.generated_mappings(listings, tmp_path)
    assert not got.cached and [r.confidence for r in got.rows] == [round(TOP * 1_000_000)]


# ---- 10. mapping CSV edges -------------------------------------------------------------------

def test_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_text("\ufeff" + H + "\nK1,0xP1,,same,0.99\n", encoding="utf-8")
    assert [r.ids for r in load_mappings(path)] == [("K1", "0xP1", "")]


def test_errors_name_the_line_a_record_starts_on_after_a_multi_line_cell(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_text(f'{H},reasons\nK1,0xP1,,same,0.99,"line1\nline2"\nK2,0xP2,,same,oops,x\n', encoding="utf-8")
    with pytest.raises(MappingError, match=r"m\.csv:4: confidence 'oops'"):
        load_mappings(path)


@pytest.mark.parametrize("char", ["\x0c", "\u2028", "\x1c", "\r\n"])
def test_a_quoted_cell_keeps_its_line_breaks(tmp_path: Path, char: str) -> None:
    path = tmp_path / "m.csv"
    path.write_bytes(f'{H},reasons\nK1,0xP1,,same,0.99,"x{char}y"\nK2,0xP2,,same,0.9,z\n'.encode())
    assert [r.reasons for r in load_mappings(path)] == [f"x{char}y", "z"]


def test_a_file_that_is_not_utf8_is_a_mapping_error(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_bytes(H.encode() + b"\nK1,0x\xff,,same,0.9\n")
    with pytest.raises(MappingError, match=r"m\.csv: not UTF-8 text"):
        load_mappings(path)


def test_rows_naming_undiscovered_markets_are_counted_in_a_warning() -> None:
    rows = [MappingRow(("K1", "P1", ""), "same", 900_000), MappingRow(("K2", "", "F2"), "inverse", 1_000_000),
            MappingRow(("K3", "P3", "F3"), "same", 900_000)]
    with capture_logs() as events:
        out = relations_for(rows, {"kalshi:K1", "polymarket:P1", "kalshi:K3", "polymarket:P3"})
    assert [(r["a"], r["b"]) for r in out] == [("kalshi:K1", "polymarket:P1"), ("kalshi:K3", "polymarket:P3")]
    assert [(e["event"], e["log_level"], e.get("markets"), e.get("rows")) for e in events] == [
        ("mappings.undiscovered_row", "warning", ["kalshi:K2", "forecastex:F2"], None),
        ("mappings.undiscovered_row", "warning", ["forecastex:F3"], None),
        ("mappings.undiscovered", "warning", None, 2)]
    with capture_logs() as events:
        relations_for(rows[:1], {"kalshi:K1", "polymarket:P1"})
    assert events == []


def test_a_cell_past_the_csv_size_limit_is_a_mapping_error():
    """An unclosed quote runs a cell past the csv module's 128 KiB limit: csv.Error, which is not
    a ValueError, used to escape as a traceback. Now a MappingError naming the line."""
    from arbbot.mapping.table import MappingError, parse_mappings
    lines = ["kalshi_ticker,polymarket_condition_id,forecastex_conid,relation,confidence\n", 'K1,"' + "x" * 200_000 + "\n"]
    with pytest.raises(MappingError, match=r"^m\.csv:2: not readable as CSV: field larger than field limit"):
        parse_mappings(lines, "m.csv")
