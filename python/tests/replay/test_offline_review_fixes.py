"""The offline commands on input a review found mishandled (session 37): each now exits 2 with one
line naming what is wrong — before, a traceback, a misleading message or a whole file refused.

1. A recording's header with a market the engine refuses (a lot of 37, a NaN or negative fee
   rate, rounding 0): refused when the header is read, naming the market and field.
2. `arbbot tune --param` with a range beyond ±10^15 (the grid's 28-digit decimal rounding).
3. `arbbot explain --db` on a store whose sizing record is damaged (not JSON, not an object, no
   steps): "a damaged order store", as `arbbot report` says.
4. `arbbot explain` on a snapshot whose duplicate levels add up past a million contracts: sized
   from the engine's million, the same on both engines (before: the whole file refused).
5. A recording whose header line was cut short; 6. a record that is not UTF-8 (its line named);
7. a book record with five sides."""
from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path
from types import SimpleNamespace

import pytest

from arbbot.cli import main
from arbbot.execution.store import OrderStore
from arbbot.replay.format import RecordingError, market_to_json, read_recording
from arbbot.replay.tune import TuneError, parse_params
from arbbot.model import FeeSchedule, MarketInfo, Venue
from tests.replay.test_stream import KALSHI, POLY, T0, _book_line
from arbbot.replay.format import FORMAT


def _header(kalshi=KALSHI) -> str:
    venues = {"kalshi": {"markets": [market_to_json(m) for m in kalshi], "events": [], "listing_bodies": []},
              "polymarket": {"markets": [market_to_json(m) for m in POLY], "events": [], "listing_bodies": []}}
    return json.dumps({"format": FORMAT, "started_ms": T0, "source": "simulator", "venues": venues}) + "\n"


def _write(path, header: str, books: int = 30, bad: tuple[int, str] | None = None) -> None:
    lines = [header] + [_book_line(T0 + i, "kalshi", KALSHI[i % 4].market_id, 100 + i) for i in range(books)]
    data = "".join(lines).encode()
    if bad is not None:
        number, text = bad
        raw = data.split(b"\n")
        raw[number - 1] = text.encode("latin-1")
        data = b"\n".join(raw)
    path.write_bytes(data)


def _with_market(**change) -> str:
    doc = json.loads(_header())
    doc["venues"]["kalshi"]["markets"][1].update(change)
    return json.dumps(doc) + "\n"


@pytest.mark.parametrize("change, words", [
    ({"lot_lots": 37}, "market 'KX-1': lot_lots 37 must be 100 (a contract) or 1"),
    ({"lot_lots": "100"}, "market 'KX-1': lot_lots '100' must be"),
    ({"fees": {"taker_rate_ppm": -70_000, "per_contract": 0, "rounding": 1, "maker_rate_ppm": 0}},
     "market 'KX-1': fees: taker rate -70000 ppm is not an int"),
    ({"fees": {"taker_rate_ppm": float("nan"), "per_contract": 0, "rounding": 1, "maker_rate_ppm": 0}},
     "market 'KX-1': fees: taker rate nan ppm"),
    ({"fees": {"taker_rate_ppm": 70_000, "per_contract": 0, "rounding": 0, "maker_rate_ppm": 0}},
     "market 'KX-1': fees: rounding 0 µ$ must be"),
    ({"tick_ticks": 0}, "market 'KX-1': tick_ticks 0 is not an int in 1…10000"),
])
def test_a_header_market_the_engine_refuses_is_a_recording_error(tmp_path, capsys, change, words):
    path = tmp_path / "x.jsonl"
    _write(path, _with_market(**change))
    with pytest.raises(RecordingError, match=r"x\.jsonl:1: bad header: ValueError: " + re.escape(words)):
        read_recording(path)
    assert main(["replay", str(path), "--json"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "x.jsonl:1: bad header" in err
    assert main(["tune", str(path), "--param", "max_contracts=5:50", "--trials", "2"]) == 2


def test_the_recorders_own_markets_still_read(tmp_path):
    path = tmp_path / "ok.jsonl"
    _write(path, _header([*KALSHI[:3], MarketInfo(Venue.KALSHI, "KX-3", "k", fees=FeeSchedule(70_000, 0, 100, 17_500),
                                                  lot_lots=100, tick_ticks=1, max_price_ticks=9_999)]))
    assert read_recording(path).books == 30


@pytest.mark.parametrize("param", ["max_contracts=1e26:1e26", "sizing.exposure_manager.max_venue_usd=1:1e22",
                                   "max_contracts=-1e16:5"])
def test_a_tune_range_beyond_10_to_the_15_is_refused(tmp_path, capsys, param):
    with pytest.raises(TuneError, match=r"LO and HI must be within ±10\^15"):
        parse_params([param])
    path = tmp_path / "ok.jsonl"
    _write(path, _header())
    assert main(["tune", str(path), "--param", param]) == 2
    assert "within ±10^15" in capsys.readouterr().err
    assert parse_params(["max_contracts=5:1e15"]) == {"max_contracts": (5.0, 1e15)}


def _store_with_record(path, record) -> None:
    store = OrderStore(str(path))
    legs = [SimpleNamespace(market="kalshi:A", side=SimpleNamespace(label="yes"), qty=100, worst_price=0, cost=0,
                            fee=0)]
    store.create_execution("x1", SimpleNamespace(id="opp1", lane=0, kind=0, qty=100, payout=0, cost=0, fee=0,
                                                 profit=0, legs=legs))
    store.add_sizing_record("x1", "opp1", {"placeholder": True}, 0)
    store.close()
    db = sqlite3.connect(str(path))
    db.execute("UPDATE sizing_records SET record=?", (record,))
    db.commit()
    db.close()


def _a_real_record(capsys) -> dict:
    bundled = Path(__file__).resolve().parents[2] / "arbbot" / "examples"      # ../shared/examples' copies
    assert main(["explain", str(bundled / "fed-december.snapshot.json"), "--json"]) == 0
    return json.loads(capsys.readouterr().out)["opportunities"][0]


@pytest.mark.parametrize("damage, words", [
    ("{not json", "a sizing record is not JSON"),
    ("[1,2]", "the sizing record of execution x1 is not an arbbot.sizing/1 opportunity (a JSON list, not an object)"),
    ('{"id":"x"}', "(no text lane, engine_qty, final_qty, profit, bound_by)"),
    ("STEPS", "(its steps are not a list of twelve)"),
])
@pytest.mark.parametrize("form", [[], ["--json"]])
def test_explain_db_on_a_damaged_sizing_record_exits_2(tmp_path, capsys, damage, words, form):
    record = _a_real_record(capsys)
    if damage == "STEPS":
        damage = json.dumps({**record, "steps": record["steps"][:11]})
    db = tmp_path / "damaged.db"
    _store_with_record(db, damage)
    assert main(["explain", "--db", str(db), *form]) == 2
    out = capsys.readouterr()
    assert out.out == "" and "Traceback" not in out.err
    assert f"{db} is a damaged order store: " in out.err and words in out.err
    # the record as the bot stores it is shown
    whole = tmp_path / "whole.db"
    _store_with_record(whole, json.dumps(record))
    assert main(["explain", "--db", str(whole), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["opportunities"] == [record]


DUPLICATES = {"format": "arbbot.snapshot/1", "markets": [{
    "venue": "polymarket", "id": "A", "lot": "0.01", "fees": {"taker_rate": "0.03", "rounding": "0.00001"},
    "book": {"yes_asks": [["0.40", "1000000"], ["0.40", "500000"]], "no_asks": [["0.55", "1000000"], ["0.55", "500000"]]}}]}


def test_explain_sizes_an_opportunity_deeper_than_a_million_contracts_from_a_million(tmp_path, capsys):
    path = tmp_path / "dup.snapshot.json"
    path.write_text(json.dumps(DUPLICATES))
    assert main(["scan", str(path), "--json"]) == 0
    assert [o["qty"] for o in json.loads(capsys.readouterr().out)["opportunities"]] == ["1500000"]
    outs = []
    for engine in ("swift", "python"):
        assert main(["explain", str(path), "--json", "--engine", engine]) == 0
        outs.append(capsys.readouterr().out)
    assert outs[0] == outs[1]
    (opp,) = json.loads(outs[0])["opportunities"]
    assert opp["engine_qty"] == "1000000" and len(opp["steps"]) == 12
    assert 0 < float(opp["final_qty"]) < 1_000_000


def test_a_header_cut_short_says_so(tmp_path, capsys):
    path = tmp_path / "cut.jsonl"
    half = len(_header()) // 2
    path.write_text(_header()[:half])
    with pytest.raises(RecordingError, match=r"cut\.jsonl:1: the arbbot\.recording/1 header is cut short "
                                             rf"\({half:,} characters, no end of line\)"):
        read_recording(path)
    assert main(["replay", str(path)]) == 2


@pytest.mark.parametrize("engine", ["swift", "python"])
def test_a_record_that_is_not_utf8_names_its_line(tmp_path, capsys, engine):
    path = tmp_path / "bytes.jsonl"
    good = _book_line(T0 + 10, "kalshi", KALSHI[2].market_id, 110).rstrip("\n")
    _write(path, _header(), bad=(12, good.replace(KALSHI[2].market_id, "KX-\xff\xfe")))
    with pytest.raises(RecordingError, match=r"bytes\.jsonl:12: not UTF-8 text"):
        read_recording(path)
    assert main(["replay", str(path), "--json", "--engine", engine]) == 2
    assert "bytes.jsonl:12: not UTF-8 text" in capsys.readouterr().err


def test_a_book_of_five_sides_is_named_as_such(tmp_path):
    path = tmp_path / "five.jsonl"
    good = _book_line(T0 + 10, "kalshi", KALSHI[2].market_id, 110).rstrip("\n")
    _write(path, _header(), bad=(12, good.replace('"book":[', '"book":[[],')))
    with pytest.raises(RecordingError, match=r"five\.jsonl:12: bad book record: ValueError: a book has at most "
                                             r"four sides"):
        read_recording(path)
