"""A replay's session takes the configuration's session settings as `arbbot run` gives them
(cooldown, staleness, re-snapshots, bootstrap wait); those about reading the venues, which the
recording fixed, are named in a warning instead of being silently ignored."""
from arbbot.config import validate_file_dict
from arbbot.replay import run as replay_run
from arbbot.replay.command import run_replays
from arbbot.replay.format import read_header
from arbbot.replay.run import replay


def test_the_session_gets_the_configured_session_settings(recorded, tmp_path, monkeypatch):
    import arbbot.run.live as live
    given = {}

    class Spy(live.LiveSession):
        def __init__(self, *args, **kwargs):
            given.update(kwargs)
            super().__init__(*args, **kwargs)
    monkeypatch.setattr(live, "LiveSession", Spy)
    path, _ = recorded
    settings = validate_file_dict({"stale_after_s": 7.0, "resnapshot_after_s": 3.0, "bootstrap_wait_s": 2.0,
                                   "cooldown_s": 0.0, "max_contracts": 12, "min_profit": 0.02})
    replay(read_header(path), settings, tmp_path)
    assert {k: given[k] for k in ("stale_after_s", "resnapshot_after_s", "bootstrap_wait_s", "cooldown_s",
                                  "max_qty", "min_profit")} == {
        "stale_after_s": 7.0, "resnapshot_after_s": 3.0, "bootstrap_wait_s": 2.0, "cooldown_s": 0.0,
        "max_qty": 1_200, "min_profit": 20_000}


def test_no_cooldown_reports_an_opportunity_again_at_once(recorded, tmp_path):
    path, _ = recorded
    rec = read_header(path)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    default = replay(rec, validate_file_dict({}), tmp_path / "a")
    again = replay(rec, validate_file_dict({"cooldown_s": 0}), tmp_path / "b")
    assert sum(again["found"].values()) > sum(default["found"].values()) > 0


def test_settings_a_replay_cannot_honour_are_named(recorded, tmp_path, capsys):
    path, _ = recorded
    config = tmp_path / "c.toml"
    config.write_text("tiers = true\nlistings_refresh_s = 60\ncooldown_s = 1\n", encoding="utf-8")
    assert replay_run.not_replayed(validate_file_dict({"tiers": True, "cooldown_s": 1})) == ["tiers"]
    run_replays(str(path), [str(config)], workers=1)
    err = capsys.readouterr().err
    assert f"arbbot replay: warning: {config}: tiers, listings_refresh_s not replayed" in err
    run_replays(str(path), [None], workers=1)
    assert "not replayed" not in capsys.readouterr().err
