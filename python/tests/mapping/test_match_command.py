"""`arbbot map` through `main(args)`: venue bodies in, the mapping CSV (+ reasons) or
arbbot.mappings/1 JSON out; malformed input exits 2."""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from arbbot.mapping.match.command import main
from arbbot.mapping.table import HEADER, parse_mappings
from tests.mapping.map_bodies import BTC_COND, GAME_COND, KALSHI, POLYMARKET, parse

@pytest.fixture()
def bodies(tmp_path: Path) -> tuple[str, str]:
    k, p = tmp_path / "kalshi.json", tmp_path / "polymarket.json"
    k.write_text(json.dumps(KALSHI), encoding="utf-8")
    p.write_text(json.dumps(POLYMARKET), encoding="utf-8")
    return str(k), str(p)


def test_csv_has_the_mapping_columns_plus_reasons(bodies, tmp_path: Path) -> None:
    out = tmp_path / "mappings.csv"
    assert main(parse(["--kalshi", bodies[0], "--polymarket", bodies[1], "--out", str(out)])) == 0
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert list(rows[0]) == [*HEADER, "reasons"]
    by_ticker = {r["kalshi_ticker"]: r for r in rows}
    assert set(by_ticker) == {"KXBTCD-26DEC31-T100000", "KXNBAGAME-26DEC02LALBOS-BOS"}   # LaGuardia ≠ Central Park
    btc = by_ticker["KXBTCD-26DEC31-T100000"]
    assert (btc["polymarket_condition_id"], btc["forecastex_conid"], btc["relation"]) == (BTC_COND, "", "same")
    assert "same source coinbase" in btc["reasons"] and "same threshold 100000" in btc["reasons"]
    game = by_ticker["KXNBAGAME-26DEC02LALBOS-BOS"]
    assert (game["polymarket_condition_id"], game["relation"]) == (GAME_COND, "inverse")
    # without the reasons column it is a mapping file the bot reads
    plain = [",".join(line.split(",")[:5]) for line in out.read_text(encoding="utf-8").splitlines()]
    assert {r.ids[0] for r in parse_mappings(plain, "mappings.csv")} == set(by_ticker)


def test_json_format(bodies, capsys) -> None:
    assert main(parse(["--kalshi", bodies[0], "--polymarket", bodies[1], "--json"])) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["format"] == "arbbot.mappings/1"
    pair = next(p for p in doc["pairs"] if p["kalshi_ticker"] == "KXBTCD-26DEC31-T100000")
    assert set(pair) == {"kalshi_ticker", "polymarket_condition_id", "forecastex_conid", "relation", "confidence", "reasons"}
    assert pair["polymarket_condition_id"] == BTC_COND and pair["relation"] == "same"
    assert 0.9 <= float(pair["confidence"]) <= 1.0 and isinstance(pair["reasons"], list)


def test_min_confidence_filters(bodies, capsys) -> None:
    assert main(parse(["--kalshi", bodies[0], "--polymarket", bodies[1], "--json", "--min-confidence", "1"])) == 0
    assert json.loads(capsys.readouterr().out)["pairs"] == []


def test_csv_to_stdout_without_out(bodies, capsys) -> None:
    assert main(parse(["--kalshi", bodies[0], "--polymarket", bodies[1]])) == 0
    assert capsys.readouterr().out.splitlines()[0] == ",".join([*HEADER, "reasons"])


def test_malformed_listing_file_exits_2_naming_file_and_path(bodies, tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"markets": [{"ticker": 7}]}), encoding="utf-8")
    assert main(parse(["--kalshi", str(bad), "--polymarket", bodies[1]])) == 2
    err = capsys.readouterr().err
    assert "bad.json" in err and "markets[0].ticker" in err


def test_confidence_outside_unit_interval_exits_2(bodies) -> None:
    assert main(parse(["--kalshi", bodies[0], "--polymarket", bodies[1], "--min-confidence", "1.5"])) == 2


@pytest.mark.parametrize("target, message", [
    ("adir", "--out {path}: is a directory"),
    ("nonexistent/x.csv", "--out {path}: directory {parent} does not exist"),
])
def test_an_unwritable_out_is_refused_before_matching(bodies, tmp_path: Path, monkeypatch, capsys, target,
                                                      message) -> None:
    import arbbot.mapping.match.matcher as matcher
    monkeypatch.setattr(matcher, "match", lambda *a, **k: pytest.fail("matched before checking --out"))
    (tmp_path / "adir").mkdir()
    path = tmp_path / target
    assert main(parse(["--kalshi", bodies[0], "--polymarket", bodies[1], "--out", str(path)])) == 2
    out, err = capsys.readouterr()
    assert out == "" and err == f"arbbot map: {message.format(path=path, parent=path.parent)}\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adir", "kalshi.json", "polymarket.json"]


def test_a_write_that_fails_after_matching_exits_2_and_leaves_no_partial_file(bodies, tmp_path: Path, monkeypatch,
                                                                              capsys) -> None:
    import arbbot.mapping.match.command as command
    out = tmp_path / "m.csv"
    real = command._write_out

    def failing(path, text):
        (tmp_path / "m.csv").mkdir()                    # the place is taken while the matcher ran
        return real(path, text)
    monkeypatch.setattr(command, "_write_out", failing)
    assert main(parse(["--kalshi", bodies[0], "--polymarket", bodies[1], "--out", str(out)])) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"arbbot map: cannot write --out {out}: ") and len(err.splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kalshi.json", "m.csv", "polymarket.json"]
    assert out.is_dir() and list(out.iterdir()) == []
