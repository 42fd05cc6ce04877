"""The user's `--mappings` rows the session traded and its `--rules` relations are recorded in the
header, and a replay trades them too (older recordings, without them, read as none)."""
import json

import pytest

from arbbot.mapping.rules_file import FORMAT as RULES_FORMAT
from arbbot.mapping.table import MappingRow, relations_for, write_mappings
from arbbot.model import MarketInfo, Venue
from arbbot.replay.format import FORMAT, RecordingError, read_header, read_recording
from arbbot.replay.recorder import SessionRecorder
from tests.replay.conftest import bot

ROWS = [MappingRow(("KX-1", "0xa", ""), "same", 990_000, True, "title similarity 1.00"),
        MappingRow(("KX-2", "", "77"), "inverse", 900_000, None, None),
        MappingRow(("KX-3", "0xc", ""), "same", 500_000, False, "no")]
RULES = [{"kind": "implies", "parent": "kalshi:KX-1", "child": "kalshi:KX-2", "evidence": "kept"}]


class _Venue:
    markets = [MarketInfo(Venue.KALSHI, "KX-1", "One")]
    events: list = []

    def listing_bodies(self):
        return []


def test_the_header_holds_the_users_rows_and_rules(tmp_path):
    path = tmp_path / "r.jsonl"
    rec = SessionRecorder(path, "simulator")
    rec.venues["kalshi"] = _Venue()
    rec.start(mappings=ROWS, rules=RULES)
    rec.close()
    back = read_header(path)
    assert back.user_mappings == ROWS and back.rules == RULES
    assert read_recording(path).user_mappings == ROWS


@pytest.mark.parametrize("extra, words", [
    ({"user_mappings": [{"ids": ["KX-1"], "relation": "same", "confidence": 1}]}, "bad row"),
    ({"user_mappings": [{"ids": ["KX-1", "0xa", ""], "relation": "same", "confidence": 1, "approved": "yes"}]},
     "approved"),
    ({"rules": [{"kind": "same", "a": "kalshi:KX-1"}]}, "relations"),
])
def test_bad_user_rows_or_rules_name_the_header_line(tmp_path, extra, words):
    path = tmp_path / "r.jsonl"
    path.write_text(json.dumps({"format": FORMAT, "started_ms": 1_795_846_592_000, "venues": {}, **extra}) + "\n", encoding="utf-8")
    with pytest.raises(RecordingError, match=rf"r\.jsonl:1: bad header: .*{words}"):
        read_header(path)


def test_a_replay_trades_the_mapping_rows_and_rules_the_run_traded(recorded, tmp_path):
    """A run without generated twins, trading a mapping file's rows and a rules file's relations
    (the recorded fixture's twins, split between the two): its replay has the run's relations."""
    path, _ = recorded
    twins = next(iter(read_recording(path).mappings.values()))
    assert len(twins) >= 4
    half = len(twins) // 2
    write_mappings([MappingRow(r.ids, r.relation, r.confidence, True, r.reasons) for r in twins[:half]],
                   tmp_path / "m.csv")
    names = {f"{v}:{m.market_id}" for v, ms in read_header(path).markets.items() for m in ms}
    (tmp_path / "r.json").write_text(json.dumps({"format": RULES_FORMAT,
                                                 "relations": relations_for(twins[half:], names)}), encoding="utf-8")
    out = bot("run", "--duration", "5", "--json", "--db", "m.db", "--metrics-port", "0", "--no-dashboard",
              "--record", "m.jsonl", "--mappings", "m.csv", "--rules", "r.json", cwd=tmp_path,
              env_extra={"ARB_GENERATE_MAPPINGS": "false"})
    assert out.returncode == 0, out.stderr[-3000:]
    run = json.loads(out.stdout.strip().splitlines()[-1])
    header = read_header(tmp_path / "m.jsonl")
    assert len(header.user_mappings) == half == run["mappings"]["traded"] and len(header.rules) == len(twins) - half
    (tmp_path / "nogen.toml").write_text("generate_mappings = false\n", encoding="utf-8")
    out = bot("replay", "m.jsonl", "--config", "nogen.toml", "--json", cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    assert json.loads(out.stdout)["results"][0]["relations"] == run["relations"]
