"""Settings the operations audit found accepted though the bot cannot run on them
(/tmp/audit_ops/p7_config.sh): every float setting is finite, the money ones fit int64 µ$, the
durations at most DURATION_MAX_S; `config show` prints strict JSON; `max_contracts` becomes whole
lots rounded down (never above the cap). Each fails on the code before the fix."""
from __future__ import annotations

import json

import pytest

import arbbot.config as config
from arbbot.cli import main
from arbbot.config import MONEY_MAX_USD, ConfigError, Settings, load_settings
from arbbot.run.options import session_options
from tests.run.test_cli_input import in_process

# the float settings that took inf / nan (the others already had allow_inf_nan=False)
FLOAT_FIELDS = ["daily_loss_cap_usd", "stale_after_s", "cooldown_s", "resnapshot_after_s", "bucket_half_life_s",
                "bucket_disable_s", "breaker_cooldown_s", "reconcile_interval_s", "resolution_poll_s",
                "order_timeout_s"]
DURATIONS = ["stale_after_s", "cooldown_s", "resnapshot_after_s", "notify_timeout_s", "drift_window_s",
             "listings_refresh_s", "bucket_half_life_s", "bucket_disable_s", "breaker_cooldown_s",
             "reconcile_interval_s", "resolution_poll_s", "order_timeout_s"]


def run(argv: list[str], capsys) -> tuple[int, str, str]:
    return in_process(main, argv, capsys)


@pytest.mark.parametrize("field", FLOAT_FIELDS)
@pytest.mark.parametrize("text", ["inf", "-inf", "nan", "1e400", "Infinity"])
def test_no_float_setting_is_infinite_or_nan(in_tmp, monkeypatch, field, text):
    monkeypatch.setenv(f"ARB_{field.upper()}", text)
    with pytest.raises(ConfigError) as exc:
        load_settings()
    assert str(exc.value) == f"{field}: Input should be a finite number"


@pytest.mark.parametrize("field", ["daily_loss_cap_usd", "drift_max_gap_usd"])
def test_money_settings_fit_int64_micro_dollars(in_tmp, monkeypatch, field):
    monkeypatch.setenv(f"ARB_{field.upper()}", "1e300")
    with pytest.raises(ConfigError) as exc:
        load_settings()
    assert str(exc.value) == f"{field}: Input should be less than or equal to {MONEY_MAX_USD}"
    monkeypatch.setenv(f"ARB_{field.upper()}", str(MONEY_MAX_USD))
    assert getattr(load_settings(), field) == MONEY_MAX_USD


@pytest.mark.parametrize("field", DURATIONS)
def test_durations_are_at_most_a_year(in_tmp, monkeypatch, field):
    assert config.DURATION_MAX_S == 31_622_400
    monkeypatch.setenv(f"ARB_{field.upper()}", "1e300")
    with pytest.raises(ConfigError) as exc:
        load_settings()
    assert str(exc.value) == f"{field}: Input should be less than or equal to 31622400"
    monkeypatch.setenv(f"ARB_{field.upper()}", "31622400")
    assert getattr(load_settings(), field) == 31_622_400.0


def test_resolution_poll_keeps_its_default_and_is_checked(in_tmp, monkeypatch):
    assert load_settings().resolution_poll_s == 300.0
    (in_tmp / "arbbot.toml").write_text("resolution_poll_s = inf\n")
    with pytest.raises(ConfigError, match="^resolution_poll_s: Input should be a finite number$"):
        load_settings()
    (in_tmp / "arbbot.toml").write_text("resolution_poll_s = 0\n")
    with pytest.raises(ConfigError, match="^resolution_poll_s: Input should be greater than 0$"):
        load_settings()


def test_config_show_refuses_an_infinite_setting(in_tmp, monkeypatch, capsys):
    monkeypatch.setenv("ARB_DAILY_LOSS_CAP_USD", "inf")
    code, out, err = run(["config", "show"], capsys)
    assert (code, out) == (2, "")
    assert err == "arbbot config: daily_loss_cap_usd: Input should be a finite number\n"


def test_config_show_prints_strict_json(in_tmp, monkeypatch, capsys):
    code, out, _ = run(["config", "show"], capsys)
    assert code == 0 and json.loads(out)["daily_loss_cap_usd"] == 50.0
    monkeypatch.setattr(Settings, "masked", lambda self: {"x": float("inf")})     # were one to slip through
    code, out, err = run(["config", "show"], capsys)
    assert (code, out) == (2, "")
    assert err.startswith("arbbot config: cannot show the settings as JSON: Out of range float values")


def test_status_with_an_infinite_cap_is_a_clear_error(in_tmp, monkeypatch, capsys):
    from arbbot.execution.store import OrderStore
    OrderStore(str(in_tmp / "o.db")).close()
    monkeypatch.setenv("ARB_DAILY_LOSS_CAP_USD", "inf")
    code, out, err = run(["status", "--db", "o.db"], capsys)
    assert (code, out) == (2, "")
    assert err == "arbbot status: daily_loss_cap_usd: Input should be a finite number\n"


@pytest.mark.parametrize("contracts, lots", [(0.015, 1), (0.019, 1), (0.025, 2), (0.035, 3), (0.29, 29),
                                             (0.57, 57), (1.005, 100), (2.675, 267), (50, 5_000),
                                             (1_000_000, 100_000_000)])
def test_max_contracts_becomes_whole_lots_rounded_down(in_tmp, contracts, lots):
    assert session_options(load_settings(max_contracts=contracts))["max_qty"] == lots
    assert config.cap_lots(contracts) == lots


@pytest.mark.parametrize("contracts", [0.006, 0.0099])      # 1 lot when rounded to the nearest
def test_a_cap_below_one_whole_lot_is_refused(in_tmp, contracts):
    with pytest.raises(ConfigError, match=r"^max_contracts: below one lot \(0.01 contract\)$"):
        load_settings(max_contracts=contracts)
