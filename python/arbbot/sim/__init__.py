"""The embedded venue simulator: real wire formats on loopback (see DESIGN.md).

`serve(scenario, seed)` starts the simulated venues in a background thread and returns a
`SimHandle` with the base URLs and a throwaway API key registered with the simulator;
`start(...)` is the asyncio equivalent; `cli_main(argv)` runs it standalone (`arbbot sim`);
`spawn(...)` runs it in a child process (`arbbot.sim.spawn`) and returns its handle.
Served: Kalshi Trade API v2 (REST + WebSocket), Polymarket (Gamma REST, CLOB REST, market
WebSocket; L2-authenticated account endpoints) and ForecastEx through the TWS API wire protocol
(what Interactive Brokers' TWS / IB Gateway speak; the real ib-async client connects to it).
Markets settle when a test calls `handle.kalshi.settle_market(...)` / `handle.polymarket...`, or on
the simulator's own clock from `settlements` (`arbbot.sim.settlements`; `arbbot sim --settlements`).
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import dataclasses
import hashlib
import json
import os
import secrets
import sys
import threading
import uuid
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from eth_utils import to_checksum_address

from arbbot.files import write_atomic
from arbbot import logs
from arbbot.sim.forecastex import start_tws
from arbbot.sim.kalshi import KalshiSim
from arbbot.sim.polymarket import ApiCreds, PolymarketSim
from arbbot.sim.faults import Faults
from arbbot.sim import scenarios
from arbbot.sim.scenarios import DEPTHS, VARIED_LEVEL_CONTRACTS, build
from arbbot.sim.settlements import check_listed, parse_settlements
from arbbot.sim.universe import UniverseDriver

# where the simulated Polymarket account's funds sit → the signature type its orders must carry
POLYMARKET_WALLETS = {"eoa": 0, "proxy": 1, "safe": 2}

__all__ = ["SimHandle", "start", "serve", "cli_main", "Faults", "write_handle", "load_handle", "spawn",
           "SpawnedSimulator"]


@dataclass
class SimHandle:
    """URLs of the running simulator and the credentials it accepts (simulator-only keys)."""
    urls: dict[str, str]
    kalshi_key_id: str
    kalshi_private_key_pem: bytes = field(repr=False)
    kalshi: KalshiSim | None = field(default=None, repr=False)
    polymarket: PolymarketSim | None = field(default=None, repr=False)
    polymarket_creds: ApiCreds | None = field(default=None, repr=False)
    polymarket_private_key: str = field(default="", repr=False)   # throwaway key that signs V2 orders
    forecastex: object | None = field(default=None, repr=False)     # TwsSim (TWS API on loopback)
    forecastex_symbols: tuple[str, ...] = ()     # universe: the ForecastEx products it lists (else FF only)
    universe: UniverseDriver | None = field(default=None, repr=False)   # the universe's update scheduler
    loop: asyncio.AbstractEventLoop | None = field(default=None, repr=False)
    _stop: object = field(default=None, repr=False)

    def stop(self) -> None:
        if callable(self._stop):
            self._stop()

    def plants(self) -> list:
        """Every mispricing planted so far, on every venue (`arbbot.sim.scenarios.Plant`)."""
        sims = (self.kalshi, self.polymarket, self.forecastex)
        return sorted((p for s in sims if s is not None for p in s.process.plants), key=lambda p: p.ts)

    def to_json(self) -> dict:
        """What another process needs to connect (`arbbot sim --handle-file`): URLs and the
        simulator-only throwaway credentials (they trade nothing real)."""
        c = self.polymarket_creds
        out = {"format": "arbbot.sim-handle/1", "urls": self.urls, "kalshi_key_id": self.kalshi_key_id,
               "kalshi_private_key_pem": self.kalshi_private_key_pem.decode(),
               "polymarket": {"address": c.address, "api_key": c.api_key, "secret": c.secret,
                              "passphrase": c.passphrase, "private_key": self.polymarket_private_key,
                              "signature_type": c.wallet_type, "funder": c.funder}}
        if self.forecastex_symbols:
            out["forecastex_symbols"] = list(self.forecastex_symbols)
        return out


def write_private(path: str, data: bytes) -> None:
    """Write `data` to `path`, readable by the owner only (0600), atomically; no temporary file
    is left behind on failure (it holds credentials)."""
    write_atomic(path, data, private=True)


def write_handle(handle: SimHandle, path: str) -> None:
    """Write `handle.to_json()` to `path` (`write_private`: 0600, atomically)."""
    write_private(path, json.dumps(handle.to_json()).encode())


def load_handle(path: str) -> SimHandle:
    """A handle to a simulator running in another process (`arbbot sim --handle-file PATH`)."""
    try:
        with open(path) as fh:
            doc = json.load(fh)
        if not isinstance(doc, dict):
            raise ValueError("expected a JSON object (arbbot.sim-handle/1)")
        if doc.get("format") != "arbbot.sim-handle/1":
            raise ValueError(f"format is {doc.get('format')!r}, expected 'arbbot.sim-handle/1'")
        p = doc["polymarket"]
        return SimHandle(dict(doc["urls"]), doc["kalshi_key_id"], doc["kalshi_private_key_pem"].encode(),
                         polymarket_creds=ApiCreds(p["address"], p["api_key"], p["secret"], p["passphrase"],
                                                   wallet_type=int(p.get("signature_type", 0)),
                                                   funder=str(p.get("funder", ""))),
                         polymarket_private_key=p["private_key"],
                         forecastex_symbols=tuple(doc.get("forecastex_symbols", ())))
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"cannot use simulator handle {path}: {exc}") from None


def _still_serving(path: str) -> str:
    """The URL of the simulator the handle file at `path` names when it still answers on loopback
    (a TCP connection to its Kalshi REST port); "" when there is no such file or nothing answers."""
    import socket
    from urllib.parse import urlsplit
    if not os.path.isfile(path):
        return ""
    try:
        url = load_handle(path).urls["kalshi_rest"]
        parts = urlsplit(url)
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80), timeout=0.5):
            return url
    except (ValueError, KeyError, OSError):
        return ""


def _keypair() -> tuple[bytes, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    priv = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())
    pub = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return priv, pub


async def start(scenario: str = "all", seed: int = 0, host: str = "127.0.0.1", port: int = 0, *,
                faults: Faults | None = None, step_interval: float | None = 1.0,
                markets: int | None = None, depth: str = "varied", settlements=None,
                start_ms: int | None = None, polymarket_wallet: str = "eoa") -> SimHandle:
    """Start the simulator on the running loop. `step_interval` seconds between price-process
    steps (None: books move only when `handle.kalshi.process.step()` is called). The `universe`
    scenario (`markets` books) is one catalog shared by the three venues and moves on its own
    update clock (`handle.universe`) while `step_interval` is set (None: only through
    `handle.universe.advance(t)`). `depth`: "varied" (house levels of VARIED_LEVEL_CONTRACTS
    contracts, as real books vary) or "fixed" (every level 100 contracts × its depth, as `build`
    makes them); the universe's own driver sizes its books either way. `settlements`: markets
    the venues settle on their own clock (the decoded JSON list, `arbbot.sim.settlements`);
    ValueError if one is malformed or names a market the scenario does not list. `start_ms` (Unix
    ms; default now): the day the scenario's dates count from (`scenarios.build`).
    `polymarket_wallet`: where the Polymarket account's funds sit (POLYMARKET_WALLETS): the signing
    key's own address ("eoa") or a proxy ("proxy", an email sign-in) or Safe ("safe", a browser
    wallet) it owns, which orders must then name as maker (signature type 1 / 2)."""
    if polymarket_wallet not in POLYMARKET_WALLETS:
        raise ValueError(f"polymarket wallet must be one of {', '.join(POLYMARKET_WALLETS)}, not {polymarket_wallet!r}")
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise ValueError("the simulator serves loopback only")
    if depth not in DEPTHS:
        raise ValueError(f"depth must be one of {', '.join(DEPTHS)}, not {depth!r}")
    plan = parse_settlements(settlements)
    start_ms = scenarios.now_ms() if start_ms is None else start_ms   # day 0: every venue lists the same expiries
    shared = build(scenario, seed, faults, markets=markets, start_ms=start_ms) if scenario == "universe" else None
    every = None if shared else step_interval
    check_listed(plan, shared or build(scenario, seed, faults, start_ms=start_ms))
    if shared is not None:
        shared.settlements = plan

    def catalog():
        if shared is not None:
            return shared
        sc = build(scenario, seed, faults, start_ms=start_ms)
        if depth == "varied":
            sc.level_contracts = VARIED_LEVEL_CONTRACTS
        sc.settlements = plan
        return sc
    kalshi = KalshiSim(catalog(), seed, step_interval=every)
    priv, pub = _keypair()
    key_id = str(uuid.UUID(int=seed + 1))
    kalshi.register_key(key_id, pub, "user")
    await kalshi.start(host, port)
    poly = PolymarketSim(catalog(), seed, step_interval=every)
    from py_clob_client_v2.signer import Signer
    poly_key = "0x" + secrets.token_hex(32)         # simulator-only: the account's EIP-712 signer
    creds = ApiCreds(Signer(poly_key, 137).address(), str(uuid.uuid4()),
                     base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(), secrets.token_hex(32),
                     wallet_type=POLYMARKET_WALLETS[polymarket_wallet])
    if creds.wallet_type:               # the proxy / Safe the signer owns: an address of its own
        creds.funder = to_checksum_address(hashlib.sha256(f"{polymarket_wallet}:{creds.address}".encode()).hexdigest()[:40])
    poly.register_creds(creds)
    try:
        await poly.start(host)
        try:
            tws = await start_tws(catalog(), seed, step_interval=every, host=host, port=0, faults=faults)
        except BaseException:
            await poly.stop()
            raise
    except BaseException:
        await kalshi.stop()
        raise
    log = logs.get("sim")
    for sim in (kalshi, poly, tws):
        sim.process.on_plant = lambda p: log.info("sim.planted", **dataclasses.asdict(p))
    urls = {"kalshi_rest": kalshi.base_url, "kalshi_ws": kalshi.ws_url,
            "polymarket_gamma": poly.gamma_url, "polymarket_clob": poly.clob_url, "polymarket_ws": poly.ws_url, "forecastex_tws": f"{host}:{tws.port}"}
    handle = SimHandle(urls, key_id, priv, kalshi, poly, creds, poly_key, tws)
    if shared is not None:
        fx = shared.listings("forecastex")
        handle.forecastex_symbols = tuple(sorted({l.market_id.split("-")[0] for _e, _q, l in fx}))
        handle.universe = _drive(shared, seed, kalshi, poly, tws, step_interval)
    return handle


def _drive(scenario, seed: int, kalshi: KalshiSim, poly: PolymarketSim, tws, step_interval) -> UniverseDriver:
    """The universe's update scheduler over the three venues' engines; running on the loop
    (`driver.task`) unless `step_interval` is None."""
    driver = UniverseDriver(scenario, seed, {"kalshi": kalshi.process, "polymarket": poly.process,
                                             "forecastex": tws.process})
    driver.on_stats = lambda st: logs.get("sim").info("sim.universe", **st)
    driver.task = asyncio.create_task(driver.run()) if step_interval else None
    return driver


async def _stop_all(handle: SimHandle) -> None:
    if handle.universe is not None and handle.universe.task is not None:
        handle.universe.task.cancel()
    await handle.kalshi.stop()
    if handle.polymarket is not None:
        await handle.polymarket.stop()
    if handle.forecastex is not None:
        await handle.forecastex.stop()


def serve(scenario: str = "all", seed: int = 0, host: str = "127.0.0.1", port: int = 0, *,
          faults: Faults | None = None, step_interval: float | None = 1.0, markets: int | None = None,
          depth: str = "varied", settlements=None, polymarket_wallet: str = "eoa") -> SimHandle:
    """Run the simulator in a daemon thread with its own event loop; returns once it listens."""
    ready = threading.Event()
    box: dict = {}
    loop = asyncio.new_event_loop()

    def run() -> None:
        asyncio.set_event_loop(loop)
        try:
            box["handle"] = loop.run_until_complete(start(scenario, seed, host, port, faults=faults,
                                                          step_interval=step_interval, markets=markets, depth=depth,
                                                          settlements=settlements, polymarket_wallet=polymarket_wallet))
        except BaseException as exc:  # report startup failures to the caller
            box["error"] = exc
            ready.set()
            return
        ready.set()
        loop.run_forever()

    t = threading.Thread(target=run, name="arbbot-sim", daemon=True)
    t.start()
    ready.wait(30)
    if "error" in box:
        raise box["error"]
    handle: SimHandle = box["handle"]

    def stop() -> None:
        fut = asyncio.run_coroutine_threadsafe(_stop_all(handle), loop)
        fut.result(10)
        loop.call_soon_threadsafe(loop.stop)
        t.join(10)
    handle._stop = stop
    handle.loop = loop
    return handle


async def _parent_gone(parent: int, every_s: float = 1.0) -> None:
    """Return once process `parent`, which started this one, has exited (this one is re-parented:
    its parent id is no longer `parent`; at once if it already was)."""
    while os.getppid() == parent:
        await asyncio.sleep(every_s)


def cli_main(argv: list[str] | None = None) -> int:
    """`arbbot sim [--scenario NAME] [--markets N] [--seed N] [--depth varied|fixed] [--port P]
    [--key-file PATH] [--poly-creds-file PATH] [--handle-file PATH] [--settlements JSON]`: serve
    until Ctrl-C. Bad
    options exit 2 before the simulator starts (output files are checked first); the files are
    written 0600."""
    from arbbot.argcheck import at_least, non_negative, port, unwritable
    ap = argparse.ArgumentParser(prog="arbbot sim", description="Run the venue simulator on loopback: Kalshi "
                                 "(REST + WebSocket), Polymarket (Gamma, CLOB, WebSocket) and ForecastEx (the TWS "
                                 "API), printing their URLs and the simulator-only credentials, until Ctrl-C. "
                                 "Exit status 2 on a bad option or an output file that cannot be written.")
    ap.add_argument("--scenario", default="all",
                    help="fed, election, sports, forecastex, crypto, politics, weather, all or universe")
    ap.add_argument("--markets", type=at_least(100), default=None,
                    help="universe only: books over the three venues (default 20000, at least 100)")
    ap.add_argument("--seed", type=at_least(0), default=0,
                    help="simulator seed (default 0): the same seed gives the same markets, books and price "
                         "paths; 0 matches the mappings shipped with arbbot")
    ap.add_argument("--port", type=port, default=0, help="Kalshi port, 0-65535 (0 = any free port)")
    ap.add_argument("--step", type=non_negative, default=1.0,
                    help="seconds between price-process steps (0: none; universe: any value > 0 runs its update clock)")
    lo, hi = VARIED_LEVEL_CONTRACTS
    ap.add_argument("--depth", choices=DEPTHS, default="varied",
                    help=f"house level sizes: varied (log-uniform {lo}-{hi} contracts each, as real books vary; "
                         "default) or fixed (100 contracts x the level's depth)")
    ap.add_argument("--polymarket-wallet", choices=tuple(POLYMARKET_WALLETS), default="eoa",
                    help="where the Polymarket account's funds sit: the signing key's own address (eoa), or a proxy "
                         "(email sign-in) or Safe (browser wallet) it owns; the handle file carries the signature "
                         "type and funder the bot then signs with")
    ap.add_argument("--key-file", default="", help="write the simulator's Kalshi private key here (mode 0600)")
    ap.add_argument("--poly-creds-file", default="",
                    help="write the simulator's Polymarket L2 credentials (JSON) here (mode 0600)")
    ap.add_argument("--handle-file", default="",
                    help="write URLs + the simulator-only credentials as JSON here (mode 0600; for arbbot run "
                         "--connect)")
    ap.add_argument("--faults", default="",
                    help='fault injection as JSON, e.g. \'{"order_reject_every": 3}\' (fields of arbbot.sim.Faults)')
    ap.add_argument("--settlements", default="",
                    help='markets to settle on the simulator\'s clock, as JSON, e.g. \'[{"venue": "kalshi", "market": '
                         '"KXFEDDECISION-26DEC-H0", "result": "yes", "after_s": 5}]\' (result yes, no or half; '
                         'venue kalshi or polymarket; after_s: seconds after the venue starts)')
    ap.add_argument("--log-json", action="store_true", help="log events (e.g. sim.planted) as JSON lines on stderr")
    ap.add_argument("--exit-with-parent", nargs="?", const=0, default=None, type=at_least(1), metavar="PID",
                    help="stop when the process that started this one (PID, given by arbbot.sim.spawn: a parent "
                         "that died while this one was starting is seen too) is gone")
    args = ap.parse_args(argv)
    parent = args.exit_with_parent or os.getppid()
    outputs = [(opt, path) for opt, path in (("--key-file", args.key_file), ("--poly-creds-file", args.poly_creds_file),
                                             ("--handle-file", args.handle_file)) if path]
    for opt, path in outputs:
        problem = unwritable(path)
        if problem:
            print(f"arbbot sim: {opt} {path}: {problem}", file=sys.stderr)
            return 2
    serving = args.handle_file and _still_serving(args.handle_file)
    if serving:
        print(f"arbbot sim: --handle-file {args.handle_file} is the handle of a simulator still serving at {serving}: "
              "stop it first, or use another file (overwritten, that simulator could no longer be reached)",
              file=sys.stderr)
        return 2
    if len({os.path.abspath(path) for _, path in outputs}) < len(outputs):
        print("arbbot sim: --key-file, --poly-creds-file and --handle-file must be different files", file=sys.stderr)
        return 2
    logs.configure(json=args.log_json)
    try:
        faults = Faults.from_json(json.loads(args.faults)) if args.faults else None
    except (ValueError, TypeError) as exc:
        print(f"arbbot sim: bad --faults: {exc}", file=sys.stderr)
        return 2
    try:
        settlements = parse_settlements(json.loads(args.settlements)) if args.settlements else ()
    except ValueError as exc:
        print(f"arbbot sim: bad --settlements: {exc}", file=sys.stderr)
        return 2

    def write_outputs(h: SimHandle) -> None:
        """The files asked for, each whole or not at all; on a failure the ones written are removed."""
        c = h.polymarket_creds
        contents = {"--key-file": h.kalshi_private_key_pem,
                    "--poly-creds-file": json.dumps({"address": c.address, "apiKey": c.api_key, "secret": c.secret,
                                                     "passphrase": c.passphrase, "signatureType": c.wallet_type,
                                                     "funder": c.funder or c.address}).encode(),
                    "--handle-file": json.dumps(h.to_json()).encode()}
        written = []
        for opt, path in outputs:
            try:
                write_private(path, contents[opt])
            except OSError as exc:
                for done in written:
                    try:
                        os.unlink(done)
                    except OSError:
                        pass
                print(f"arbbot sim: cannot write {opt} {path}: {exc.strerror or exc}", file=sys.stderr)
                raise SystemExit(2) from None
            written.append(path)

    async def main() -> None:
        try:
            h = await start(args.scenario, args.seed, "127.0.0.1", args.port, faults=faults,
                            step_interval=args.step or None, markets=args.markets, depth=args.depth,
                            settlements=settlements, polymarket_wallet=args.polymarket_wallet)
        except ValueError as exc:
            print(f"arbbot sim: {exc}", file=sys.stderr)
            raise SystemExit(2) from None
        except OSError as exc:                  # the port is taken, …
            print(f"arbbot sim: cannot serve on port {args.port}: {exc.strerror or exc}", file=sys.stderr)
            raise SystemExit(2) from None
        try:
            write_outputs(h)
            for k, v in h.urls.items():
                print(f"{k} {v}", flush=True)
            print(f"kalshi_key_id {h.kalshi_key_id}", flush=True)
            if args.key_file:
                print(f"kalshi_key_file {args.key_file}", flush=True)
            c = h.polymarket_creds
            print(f"polymarket_address {c.address}", flush=True)
            print(f"polymarket_api_key {c.api_key}", flush=True)
            if c.wallet_type:
                print(f"polymarket_signature_type {c.wallet_type}", flush=True)
                print(f"polymarket_funder {c.funder}", flush=True)
            if args.poly_creds_file:
                print(f"polymarket_creds_file {args.poly_creds_file}", flush=True)
            if args.handle_file:
                print(f"handle_file {args.handle_file}", flush=True)
            await (_parent_gone(parent) if args.exit_with_parent is not None else asyncio.Event().wait())
        finally:
            await _stop_all(h)

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        return 0
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


from arbbot.sim.spawn import SpawnedSimulator, spawn  # noqa: E402  (spawn imports load_handle from here)
