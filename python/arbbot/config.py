"""Configuration: `arbbot.toml` + `ARB_*` environment variables, validated (pydantic-settings).

Precedence: explicit arguments > environment (`ARB_SEED=3`) > `arbbot.toml` (or the file named
by ARB_CONFIG) > defaults. Secrets are `SecretStr` (masked in `arbbot config show`, logs and
reprs) and may come from files, which must not be readable by group or others — the TOML file
too, when it sets one (`private_toml`).
"""
from __future__ import annotations

import math
import os
import re
import stat
import typing
from decimal import ROUND_FLOOR, Decimal
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import (BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, SettingsError,
                               TomlConfigSettingsSource)

from arbbot.engine.types import INT64_MAX
from arbbot.sizing.config import SizingConfig
from arbbot.units import LOTS_PER_CONTRACT, MAX_CONTRACTS, MICROS_PER_DOLLAR, config_micros

LOOPBACK = ("127.0.0.1", "::1", "localhost")
REMOTE_OPT_IN = {"metrics_host": ("metrics", "ARB_ALLOW_REMOTE_METRICS"),
                 "dashboard_host": ("the dashboard", "ARB_ALLOW_REMOTE_DASHBOARD")}
# the largest amount in whole dollars whose µ$ fit the engines' int64 (params.min_profit, exposure limits)
MONEY_MAX_USD = INT64_MAX // MICROS_PER_DOLLAR
MIN_PROFIT_MAX_USD = MONEY_MAX_USD
# the longest duration a `…_s` setting may state: a year (longer is a typo; it keeps every duration's ms,
# stored as SQLite integers and added to wall clocks, far inside int64)
DURATION_MAX_S = 366 * 86_400
# the exposure limits of [sizing.exposure_manager] (µ$ in the risk gates and the sizer: bounded like min_profit)
EXPOSURE_KEYS = ("max_venue_usd", "max_event_usd", "max_market_usd", "max_category_usd")
# a dashboard token shorter than this is refused at load (and is long enough for the log redaction,
# which ignores values under 8 characters)
MIN_DASHBOARD_TOKEN = 16
# the dashboard's built-in port: the only one that falls back to a free port when taken
DEFAULT_DASHBOARD_PORT = 8787
# API key identifiers: not secrets by themselves (each request sends one in clear, signed by the
# secret), but they name the operator's account: shown masked (`mask_key_id`), never whole
KEY_IDS = ("kalshi_key_id", "polymarket_api_key")
# settings that moved: old flat key → its new dotted key (refused at load, naming the new key)
MOVED = {"max_exposure_per_venue_usd": "sizing.exposure_manager.max_venue_usd",
         "max_exposure_per_event_usd": "sizing.exposure_manager.max_event_usd",
         "max_exposure_per_market_usd": "sizing.exposure_manager.max_market_usd"}


def _takes_bool(annotation) -> bool:
    """Whether a setting's type admits true/false (bool, or a union with bool)."""
    return annotation is bool or bool in typing.get_args(annotation)


def _kind(annotation) -> str:
    """What a non-bool setting holds, for a message: number, text or list."""
    types = set(typing.get_args(annotation)) or {annotation}
    if types & {int, float}:
        return "a number"
    if str in types or typing.get_origin(annotation) is typing.Literal:
        return "text"
    return "a list" if typing.get_origin(annotation) is list else "another kind of value"


class ConfigError(ValueError):
    """Invalid configuration; the message names each offending setting."""


class Settings(BaseSettings):
    # allow_inf_nan=False: every float setting is finite ("inf", "nan", "1e400" refused at load)
    model_config = SettingsConfigDict(env_prefix="ARB_", extra="forbid", validate_default=True, allow_inf_nan=False)

    engine: Literal["swift", "python"] = "swift"
    scenario: str = "all"
    seed: int = Field(0, ge=0)
    stale_after_s: float = Field(30.0, gt=0, le=DURATION_MAX_S,
                                 description="seconds without an update before a book is held out")
    cooldown_s: float = Field(5.0, ge=0, le=DURATION_MAX_S,
                              description="seconds before the same opportunity is reported again")
    sizing_warm_ms: float = Field(0.0, ge=0, le=1000, description="while the loop is idle, size the last "
                                  "opportunity again (nothing kept) at most every this many ms, so the next one "
                                  "is sized from warm CPU caches (about −40 % median sizing time at 2 ms, ≈ 1.5 % "
                                  "of a core); 0: off")
    resnapshot_after_s: float | None = Field(None, gt=0, le=DURATION_MAX_S,
                                             description="seconds without an update before a book is fetched "
                                                         "again (unset: half of stale_after_s)")
    snapshot_start: bool | None = Field(None, description="start from the streams' subscription snapshots "
                                        "(REST only for books still missing after bootstrap_wait_s) instead of one "
                                        "REST fetch per book; unset: on for --scenario universe, --live and --paper")
    bootstrap_wait_s: float = Field(5.0, gt=0, le=600, description="snapshot_start: once no awaited subscription "
                                    "snapshot arrived for this many seconds, the books still missing are fetched "
                                    "over REST")
    tiers: bool | None = Field(None, description="subscription tiers: stream only the markets that can take part "
                               "in an opportunity (named by a relation, or on Polymarket), poll the rest every "
                               "slow_poll_s and promote them when a relation names them; unset: on where "
                               "snapshot_start is")
    slow_poll_s: float = Field(60.0, gt=0, le=3600, description="seconds between two reads of a polled market "
                               "(subscription tiers, or a venue's stream at its cap)")
    db_path: str = "arbbot.db"
    store_durability: Literal["process", "power"] = Field(
        "process", description="order store commits: 'process' = durable against a process crash at COMMIT and "
        "against a power cut one background fsync later (milliseconds); 'power' = fsync inside COMMIT, before "
        "the order leaves (slower decision-to-order)")
    metrics_host: str = "127.0.0.1"
    metrics_port: int = Field(9464, ge=0, le=65535)
    # operator's view (issue 13)
    dashboard_host: str = Field("127.0.0.1", description="dashboard address (loopback unless "
                                "ARB_ALLOW_REMOTE_DASHBOARD=1)")
    dashboard_port: int = Field(DEFAULT_DASHBOARD_PORT, ge=0, le=65535, description="arbbot run's web dashboard; "
                                "the default, when taken, falls back to a free one (warned); a port set here, in "
                                "ARB_DASHBOARD_PORT or with --dashboard-port that is taken is an error; 0 = any "
                                "free port")
    dashboard_token: SecretStr = Field(SecretStr(""), description="token every dashboard request needs "
                                       "(ARB_DASHBOARD_TOKEN), at least 16 characters; empty = a new one generated "
                                       "at each start")
    notify_webhooks: list[SecretStr] = Field(default_factory=list, description="webhook URLs (ARB_NOTIFY_WEBHOOKS, "
        "a JSON list; secrets, never logged) notified on safe mode, halt/resume, breaker open, daily loss cap "
        "reached, drift alert, an execution left naked. Payload by URL: hooks.slack.com → Slack {\"text\"}, "
        "discord.com/api/webhooks/ → Discord {\"content\"}, anything else the plain arbbot.notification/1 JSON; a "
        "slack+, discord+ or json+ prefix forces the shape (e.g. slack+https://chat.internal/hook)")
    notify_timeout_s: float = Field(5.0, gt=0, le=DURATION_MAX_S, allow_inf_nan=False,
                                    description="seconds per webhook attempt")
    notify_max_attempts: int = Field(5, ge=1, description="attempts per notification (exponential backoff)")
    drift_window_s: float = Field(86_400.0, gt=0, le=DURATION_MAX_S, allow_inf_nan=False,
                                  description="drift monitor: rolling window of finished executions, seconds")
    drift_min_executions: int = Field(5, ge=1, description="drift monitor: executions in the window before a lane "
                                      "can drift")
    drift_max_gap_usd: float = Field(5.0, gt=0, le=MONEY_MAX_USD, allow_inf_nan=False,
                                     description="drift monitor: a lane whose realised PnL falls this many "
                                                 "dollars below its expected PnL in the window raises a drift alert")
    drift_disable_lane: bool = Field(True, description="drift monitor: a drifting lane stops trading until a person "
                                     "puts it back (dashboard or arbbot.toml)")
    log_json: bool = False
    # risk and sizing (money in dollars here; converted to µ$ where used)
    min_profit: float = Field(0.01, ge=0, le=MIN_PROFIT_MAX_USD, allow_inf_nan=False,
                              description="dollars an opportunity must make after fees (detection and the "
                                          "re-quote before each leg)")
    sizing: SizingConfig = Field(default_factory=SizingConfig,
                                 description="[sizing] and [sizing.<step>] (spec/SIZING.md); the exposure limits "
                                             "are [sizing.exposure_manager]")
    max_contracts: float = Field(50.0, gt=0, le=MAX_CONTRACTS, allow_inf_nan=False,
                                 description="per-trade cap, contracts on every leg (0.01 to 1,000,000: the "
                                             "largest size a snapshot may state)")
    auto_approve_confidence: float = Field(0.95, ge=0, le=1, allow_inf_nan=False,
                                           description="cross-venue mappings: an unreviewed row (approved blank) is "
                                           "traded when its confidence is at least this, except with --live, which "
                                           "trades approved rows only; rows approved=no never")
    generate_mappings: bool = Field(True, description="arbbot run/live: generate cross-venue twins from the "
                                    "discovered listings in the background (arbbot map's matcher) and trade them "
                                    "under the approval rule; a --mappings file's rows win")
    listings_refresh_s: float = Field(600.0, ge=0, le=DURATION_MAX_S, allow_inf_nan=False,
                                      description="arbbot run/live: seconds between re-reads of the venues' "
                                                  "listings; a change re-derives the rules and re-matches the twins "
                                                  "(0 = never)")
    mapping_cache_dir: str = Field("", description="where generated twins are cached by a hash of the listings "
                                   "(empty: $XDG_CACHE_HOME/arbbot/mappings or ~/.cache/arbbot/mappings)")
    bucket_half_life_s: float = Field(7 * 86_400.0, gt=0, le=DURATION_MAX_S,
                                      description="bucket selection: a group's success and failure counts "
                                                  "halve every this many seconds")
    bucket_max_consecutive_failures: int = Field(5, ge=1, description="bucket selection: failed executions in a "
                                                 "row that disable a bucket group")
    bucket_disable_s: float = Field(86_400.0, ge=0, le=DURATION_MAX_S,
                                    description="bucket selection: how long a group stays disabled")
    daily_loss_cap_usd: float = Field(50.0, gt=0, le=MONEY_MAX_USD,
                                      description="stop trading once the day's realised loss reaches this")
    breaker_failures: int = Field(3, ge=1, description="consecutive failed executions that open the breaker")
    breaker_cooldown_s: float = Field(30.0, gt=0, le=DURATION_MAX_S,
                                      description="seconds OPEN before one HALF_OPEN trial")
    day_start_utc: str = Field("00:00", description="HH:MM (UTC) at which the daily loss cap's day starts")
    reconcile_interval_s: float = Field(60.0, gt=0, le=DURATION_MAX_S,
                                        description="seconds between reconciliations of the store "
                                                    "with the venues in a running bot")
    resolution_poll_s: float = Field(300.0, gt=0, le=DURATION_MAX_S,
                                     description="seconds between asks of the venues for the results "
                                                 "of the markets the bot holds (settled: no longer exposure)")
    order_timeout_s: float = Field(10.0, gt=0, le=DURATION_MAX_S,
                                   description="seconds to wait for an order's answer; after that its "
                                               "outcome is unknown and it is looked up, never re-sent")
    kill_file: str = Field("arbbot.kill", description="trading stops while this file exists (arbbot halt/resume)")
    fault_kill_at: str = Field("", description="testing only: SIGKILL the bot right after this execution step "
                                               "(intent:L0, placed:L0, filled:L0, unwind_intent:L0, ...)")
    # paper trading on live data (arbbot run --paper): fills from the local fill engine, no order sent
    paper_cash_usd: float = Field(10_000.0, gt=0, le=1_000_000_000, allow_inf_nan=False,
                                  description="arbbot run --paper: each venue's paper cash when a database first meets "
                                  "it (kept in the database afterwards)")
    paper_latency_ms: float | None = Field(None, ge=0, le=60_000, allow_inf_nan=False,
                                           description="arbbot run --paper: milliseconds between an order and its "
                                           "match against the streamed book; unset = measured per venue (median "
                                           "of its last REST book round trips)")
    # ForecastEx through TWS / IB Gateway (arbbot run --live / --paper); port 0 = ForecastEx not used
    forecastex_host: str = Field("127.0.0.1", min_length=1, description="TWS / IB Gateway host for ForecastEx")
    forecastex_port: int = Field(0, ge=0, le=65535, description="TWS / IB Gateway API port for ForecastEx (TWS "
                                 "7496, its paper account 7497, Gateway 4001 / 4002); 0 = ForecastEx not used")
    forecastex_client_id: int = Field(11, ge=0, le=2_147_483_647, description="IB API client id of the bot (reuse it "
                                      "after a restart: IB returns that client's open orders); arbbot reconcile "
                                      "uses this + 2")
    forecastex_market_data_lines: int = Field(100, ge=2, le=100_000, description="IB market data lines of the "
                                              "account (100 by default at IB); a streamed ForecastEx market takes two "
                                              "(its YES and NO contracts), the markets beyond are polled every "
                                              "slow_poll_s")
    kalshi_key_id: str = ""
    kalshi_private_key_file: Path | None = None
    polymarket_api_key: str = ""
    polymarket_api_secret: SecretStr = SecretStr("")
    polymarket_api_passphrase: SecretStr = SecretStr("")
    polymarket_private_key: SecretStr = SecretStr("")
    polymarket_signature_type: int = Field(0, ge=0, le=2, description="the wallet Polymarket orders draw on: 0 the "
                                           "signing key's own address (EOA), 1 a Polymarket proxy wallet (an account "
                                           "opened with email or Magic), 2 a Polymarket Gnosis Safe (an account "
                                           "opened with a browser wallet); 1 and 2 need polymarket_funder")
    polymarket_funder: str = Field("", description="for signature types 1 and 2: the wallet that holds the funds "
                                   "(the address polymarket.com shows as the account's; 0x and 40 hex digits)")

    @model_validator(mode="before")
    @classmethod
    def _moved_keys(cls, data):
        """A setting that moved is refused with its new place (not silently ignored); a TOML
        true/false for a setting that is not on/off is refused (pydantic would read it as 1 / 0:
        `seed = true` a seed of 1, `cooldown_s = false` no cooldown)."""
        if isinstance(data, dict):
            for old, new in MOVED.items():
                if old in data:
                    raise ValueError(f"{old} moved: set {new} instead")
            for name, value in data.items():
                field = cls.model_fields.get(name)
                if field is None:
                    continue
                if type(value) is bool and not _takes_bool(field.annotation):
                    raise ValueError(f"{name}: expected {_kind(field.annotation)}, got {str(value).lower()}")
                if type(value) in (int, float) and _takes_bool(field.annotation):
                    raise ValueError(f"{name}: expected true or false, got {value!r}")
        return data

    @field_validator("polymarket_funder")
    @classmethod
    def _polymarket_wallet(cls, funder: str, info) -> str:
        """A proxy or Safe wallet signs orders whose maker is the funder; an EOA's maker is the key's
        own address, so a funder there would be ignored: refused rather than silently dropped."""
        kind = info.data.get("polymarket_signature_type")
        if kind is None:                    # refused itself
            return funder
        if kind == 0 and funder:
            raise ValueError("only for polymarket_signature_type 1 (proxy) or 2 (Safe); with 0 orders draw on the "
                             "signing key's own address")
        if kind and not funder:
            raise ValueError(f"polymarket_signature_type {kind} needs it (the wallet that holds the funds)")
        if funder:
            from eth_utils import is_checksum_address, is_hex_address, to_checksum_address
            if not is_hex_address(funder):
                raise ValueError("not an address (0x and 40 hex digits)")
            digits = funder[2:]
            if digits != digits.lower() and digits != digits.upper() and not is_checksum_address(funder):
                raise ValueError("its mixed case is not the address's checksum (EIP-55): a typo?")
            funder = to_checksum_address(funder)
        return funder

    @field_validator("metrics_host", "dashboard_host")
    @classmethod
    def _loopback_by_default(cls, host: str, info) -> str:
        """Servers bind loopback unless the operator opts in (the dashboard can trade)."""
        what, flag = REMOTE_OPT_IN[info.field_name]
        if host not in LOOPBACK and os.environ.get(flag) != "1":
            raise ValueError(f"{host!r} is not loopback; set {flag}=1 to expose {what}")
        return host

    @field_validator("max_contracts")
    @classmethod
    def _at_least_one_lot(cls, contracts: float) -> float:
        """The engines cap in whole lots (0.01 contract), rounded down: a cap below one lot would trade
        nothing."""
        if math.isfinite(contracts) and cap_lots(contracts) < 1:
            raise ValueError("below one lot (0.01 contract)")
        return contracts

    @field_validator("sizing")
    @classmethod
    def _exposure_in_range(cls, sizing: SizingConfig) -> SizingConfig:
        problems = sizing_bound_problems(sizing)
        if problems:
            raise ValueError("; ".join(problems))
        return sizing

    @field_validator("dashboard_token")
    @classmethod
    def _long_token(cls, token: SecretStr) -> SecretStr:
        """A guessable token guards a dashboard that can trade; the message never shows it."""
        if token.get_secret_value() and len(token.get_secret_value()) < MIN_DASHBOARD_TOKEN:
            raise ValueError(f"must be at least {MIN_DASHBOARD_TOKEN} characters; leave it empty for a new random "
                             "one at each start")
        return token

    @field_validator("notify_webhooks")
    @classmethod
    def _webhooks_are_http(cls, urls: list[SecretStr]) -> list[SecretStr]:
        """A bad URL is refused at load; the message names its index, never the URL (a secret)."""
        from arbbot.ops.notify.targets import parse_target
        for i, url in enumerate(urls):
            parse_target(i, url.get_secret_value())
        return urls

    @field_validator("day_start_utc")
    @classmethod
    def _hh_mm(cls, text: str) -> str:
        from arbbot.risk.limits import parse_day_start
        parse_day_start(text)
        return text

    @field_validator("db_path", "kill_file", "mapping_cache_dir", "kalshi_private_key_file", mode="before")
    @classmethod
    def _no_nul(cls, value):
        """A path holds no NUL character (TOML can write one, "\u0000"; the OS refuses it later,
        in the middle of a command)."""
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("a path cannot contain a NUL character")
        return value

    @field_validator("kalshi_private_key_file")
    @classmethod
    def _private_file(cls, path: Path | None) -> Path | None:
        if path is not None:
            if not path.is_file():
                raise ValueError(f"{path} does not exist")
            if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
                raise ValueError(f"{path} is readable by group or others; chmod 600 it")
        return path

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, env_settings, dotenv_settings,
                                   file_secret_settings) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = _PrivateToml(settings_cls, toml_file=os.environ.get("ARB_CONFIG", "arbbot.toml"))
        return (init_settings, env_settings, toml)

    def kalshi_private_key(self) -> bytes:
        return self.kalshi_private_key_file.read_bytes() if self.kalshi_private_key_file else b""

    def masked(self) -> dict:
        """Every setting with secrets masked (for `arbbot config show` and the dashboard's config):
        secrets as `********`, API key identifiers (KEY_IDS) as their first 4 characters at most."""
        out = {}
        for name, value in self.model_dump().items():
            if isinstance(value, SecretStr):
                value = "********" if value.get_secret_value() else ""
            elif isinstance(value, list):
                value = ["********" if isinstance(v, SecretStr) else v for v in value]
            elif name in KEY_IDS:
                value = mask_key_id(value)
            out[name] = str(value) if isinstance(value, Path) else value
        return out

    def secret_values(self) -> tuple[str | bytes, ...]:
        """Every credential of this config, for `logs.register_secret` (call it once the settings
        are loaded, in each command that reads them): the venues' API secrets and private keys, the
        Kalshi private key file's contents (read here), the API key identifiers and the dashboard
        token. Empty values are in the tuple too (register_secret skips them)."""
        return (self.kalshi_private_key(), self.polymarket_api_secret.get_secret_value(),
                self.polymarket_api_passphrase.get_secret_value(), self.polymarket_private_key.get_secret_value(),
                self.kalshi_key_id, self.polymarket_api_key, self.dashboard_token.get_secret_value())


# the bind addresses that mean "every interface" (ARB_ALLOW_REMOTE_METRICS / _DASHBOARD=1): any name
# of the machine
WILDCARD_HOSTS = ("0.0.0.0", "::", "")


def allowed_hosts(host: str, port: int) -> frozenset[str] | None:
    """The `Host` header values a server bound on `host`:`port` answers (lower case): its loopback
    names (127.0.0.1, localhost, [::1]) and `host`, with the port; None when `host` is a wildcard
    bind (remote access opted into: every name of the machine is valid). The metrics and the
    dashboard refuse any other Host: a web page that re-binds its own DNS name to 127.0.0.1 (DNS
    rebinding) sends its own name."""
    if host in WILDCARD_HOSTS:
        return None
    names = {"127.0.0.1", "localhost", "[::1]", f"[{host}]" if ":" in host else host}
    out = {f"{name.lower()}:{port}" for name in names}
    if port == 80:                                   # a client may leave the default port out
        out |= {name.lower() for name in names}
    return frozenset(out)


def secret_fields() -> tuple[str, ...]:
    """The settings whose values are secrets: those typed `SecretStr` or a list of them (API secrets,
    private keys, the dashboard token, the webhook URLs): masked when shown, and allowed in a TOML
    file only when nobody else can read it (`private_toml`)."""
    return tuple(name for name, field in Settings.model_fields.items()
                 if field.annotation is SecretStr or field.annotation == list[SecretStr])


def private_toml(path: str | Path, data: dict, mode: int | None = None) -> None:
    """ConfigError when the TOML file `path` (parsed: `data`; `mode`: its st_mode, else read now)
    sets a secret (`secret_fields`, non-empty) and is readable by group or others — the check the
    Kalshi private key file gets. A file without secrets may have any mode."""
    names = {name.lower() for name in secret_fields()}
    held = sorted(key for key, value in data.items() if key.lower() in names and value not in ("", [], None))
    if not held:
        return
    if mode is None:
        mode = os.stat(path).st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(f"{path} holds secrets ({', '.join(held)}) and is readable by group or others; "
                          "chmod 600 it")


class _PrivateToml(TomlConfigSettingsSource):
    """The TOML source, refusing a file that holds secrets and is readable by group or others
    (`private_toml`, a ConfigError)."""

    def _read_file(self, file_path: Path) -> dict:
        import tomllib
        with file_path.open(mode="rb") as fh:
            data = tomllib.load(fh)
            private_toml(file_path, data, os.fstat(fh.fileno()).st_mode)
        return data


def mask_key_id(value: str) -> str:
    """An API key identifier as shown (config show, the dashboard): its first 4 characters (as
    `KalshiSigner`'s repr), enough to tell two keys apart, then `********` (ASCII: JSON shows it
    as is); one of 8 characters or fewer shows nothing of itself (its first 4 would be half of
    it); empty stays empty (not configured)."""
    if not value:
        return ""
    return f"{value[:4]}********" if len(value) > 8 else "********"


def sizing_bound_problems(sizing: SizingConfig) -> list[str]:
    """Each exposure limit of `sizing` whose µ$ would not fit an int64, as `key: message`."""
    em = sizing.exposure_manager
    return [f"sizing.exposure_manager.{name}: Input should be less than or equal to {MONEY_MAX_USD}"
            for name in EXPOSURE_KEYS if getattr(em, name) is not None and getattr(em, name) > MONEY_MAX_USD]


def usd(dollars: float) -> int:
    """Dollars from the config as µ$: `units.config_micros`, rounded down from the decimal the
    operator wrote (a sub-µ$ part is dropped)."""
    return config_micros(dollars)


def cap_lots(contracts: float) -> int:
    """A per-trade cap in contracts (`max_contracts`) as whole lots, rounded DOWN: never above the
    configured cap (0.015 → 1 lot, 0.29 → 29). Read from the number's shortest decimal text (what
    the operator wrote), so no binary-float error moves it across a lot."""
    lots = Decimal(repr(float(contracts))) * LOTS_PER_CONTRACT
    return int(lots.to_integral_value(rounding=ROUND_FLOOR))


def _problems(exc: ValidationError) -> ConfigError:
    """One message naming each offending setting (never its value: it may be a secret). A check
    that names its own keys (`sizing.…: …`) is shown without the field's name in front."""
    out = []
    for e in exc.errors():
        where, msg = ".".join(str(p) for p in e["loc"]) or "config", e["msg"]
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, "):]
            if msg.startswith((f"{where}.", f"{where}[")) or (
                    where == "config" and msg.split(":", 1)[0] in Settings.model_fields):
                out.append(msg)                  # (a check of the whole file naming its setting)
                continue
        out.append(f"{where}: {msg}")
    return ConfigError("; ".join(out))


_SOURCE_FAILED = re.compile(r'error parsing value for field "(?P<field>[^"]+)" from source "(?P<source>[^"]+)"')


def _unparsable(exc: SettingsError) -> ConfigError:
    """A complex setting (a list, a table) whose ARB_* variable is not JSON: the variable named,
    its value never shown (a webhook URL is a secret)."""
    m = _SOURCE_FAILED.search(str(exc))
    if m is None:
        return ConfigError(f"cannot read the settings: {exc}")
    name = m["field"]
    field = Settings.model_fields.get(name)
    shape = "a JSON list" if field is not None and getattr(field.annotation, "__origin__", None) is list \
        else "a JSON object"
    if m["source"] == "EnvSettingsSource":
        return ConfigError(f"ARB_{name.upper()}: not valid JSON (expected {shape}; the value is not shown)")
    return ConfigError(f"{name}: cannot be read from {m['source']} (expected {shape})")


def load_settings(*, config_file: str | None = None, **overrides) -> Settings:
    """The settings (arguments > ARB_* > the TOML file > defaults). `config_file`: read that file
    instead of arbbot.toml / ARB_CONFIG (`arbbot config show --config F`); it must exist, as must
    a file ARB_CONFIG names (arbbot.toml may be absent: defaults). A file that is not TOML, or an
    invalid value, is a ConfigError naming the file or the setting."""
    import tomllib
    settings_cls, path = Settings, os.environ.get("ARB_CONFIG", "arbbot.toml")
    if config_file is None and "ARB_CONFIG" in os.environ and not Path(path).is_file():
        # a typo in ARB_CONFIG must not trade on the default limits (arbbot.toml may be absent)
        raise ConfigError(f"ARB_CONFIG={path}: no such file")
    if config_file is None and os.path.exists(path) and not Path(path).is_file():
        raise ConfigError(f"{path} is not a file (a directory?): its settings cannot be read")
    if config_file is not None:
        read_toml(config_file)                       # ConfigError: cannot be read, or not TOML
        settings_cls, path = _reading(config_file), config_file
    unknown = unknown_variables(os.environ)
    if unknown:
        # a typo in a limit's name must not trade on the default (as an unknown TOML key is refused)
        raise ConfigError(f"unknown setting{'s' if len(unknown) > 1 else ''} in the environment: "
                          f"{', '.join(unknown)}: unset it or correct the name (a setting's variable is ARB_ + its "
                          "arbbot.toml key; arbbot config show, without it, lists them)")
    try:
        return settings_cls(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        raise _problems(exc) from None
    except SettingsError as exc:
        raise _unparsable(exc) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{path} or an ARB_* variable: nested too deeply to read") from None
    except OSError as exc:                           # unreadable (permissions), a directory, a device
        raise ConfigError(f"{path}: cannot be read: {exc.strerror or exc}") from None


# ARB_* variables read outside the settings: the config file, the engines' selection (ARB_ENGINE is
# a setting; ARB_ENGINE_<PART> pick one part's implementation), the remote-bind opt-ins, the test
# runner's worker count
OTHER_VARIABLES = ("ARB_CONFIG", "ARB_ALLOW_REMOTE_DASHBOARD", "ARB_ALLOW_REMOTE_METRICS", "ARB_TEST_WORKERS")


def unknown_variables(environ) -> list[str]:
    """The ARB_* names in `environ` that are neither a setting (any case: the settings read them
    so) nor read elsewhere (`OTHER_VARIABLES`, ARB_ENGINE_*), sorted."""
    known = {f"ARB_{name.upper()}" for name in Settings.model_fields} | set(OTHER_VARIABLES)
    return sorted(name for name in environ if name.upper().startswith("ARB_") and name.upper() not in known
                  and not name.upper().startswith("ARB_ENGINE_"))


def kill_file_alone() -> tuple[str, str]:
    """The `kill_file` setting read on its own, without validating anything else: (value, where
    it came from). For `arbbot halt` / `resume` when the configuration as a whole does not load (a
    typo elsewhere must never block the kill switch): ARB_KILL_FILE, else the `kill_file = "…"`
    line of the TOML file (ARB_CONFIG or arbbot.toml; that line alone when the file is not valid
    TOML), else the default."""
    import tomllib
    for name, value in os.environ.items():
        if name.upper() == "ARB_KILL_FILE":          # pydantic-settings matches names in any case
            return value, "ARB_KILL_FILE"
    path = os.environ.get("ARB_CONFIG", "arbbot.toml")
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        text = ""
    try:
        value = tomllib.loads(text).get("kill_file")
    except (tomllib.TOMLDecodeError, RecursionError):
        value = None
        for line in text.splitlines():
            if line.lstrip().startswith("["):        # a table: kill_file is a top-level key
                break
            if re.match(r"\s*kill_file\s*=", line):
                try:
                    value = tomllib.loads(line).get("kill_file")
                except tomllib.TOMLDecodeError:
                    pass
                break
    if isinstance(value, str):
        return value, path
    return Settings.model_fields["kill_file"].default, "the default"


def _reading(path: str) -> type[Settings]:
    """Settings whose TOML file is `path` (the environment still applies)."""
    class _Named(Settings):
        @classmethod
        def settings_customise_sources(cls, settings_cls, init_settings, env_settings, dotenv_settings,
                                       file_secret_settings) -> tuple[PydanticBaseSettingsSource, ...]:
            return (init_settings, env_settings, _PrivateToml(settings_cls, toml_file=path))
    return _Named


class _FileOnly(Settings):
    """Settings read from the given values alone (no environment, no arbbot.toml / ARB_CONFIG)."""

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, env_settings, dotenv_settings,
                                   file_secret_settings) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


def read_toml(path: str) -> dict:
    """One TOML file as a dict (no validation); ConfigError naming the file when it cannot be read,
    is not TOML, or holds secrets and is readable by group or others (`private_toml`)."""
    import tomllib
    try:
        with open(path, encoding="utf-8") as fh:
            mode = os.fstat(fh.fileno()).st_mode
            data = tomllib.loads(fh.read())
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{path}: nested too deeply to read") from None
    private_toml(path, data, mode)
    return data


def validate_file_dict(data: dict) -> Settings:
    """Settings from one parsed TOML file only (no environment, no ARB_CONFIG): `arbbot explain --config`."""
    try:
        return _FileOnly(**data)
    except ValidationError as exc:
        raise _problems(exc) from None
