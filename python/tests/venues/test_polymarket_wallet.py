"""Polymarket accounts whose funds sit in a proxy wallet (email sign-in) or a Gnosis Safe (browser
wallet): the settings name the signature type and funder, orders carry them (maker = funder) and
the balance is read for that wallet. The simulator's account can be either; it accepts only orders
drawn on the wallet that holds its funds, as the CLOB does."""
import asyncio
import json

import httpx
import pytest
from py_clob_client_v2.client import ClobClient
from py_clob_client_v2.clob_types import ApiCreds as LibCreds
from py_clob_client_v2.clob_types import BalanceAllowanceParams, OrderArgsV2, OrderType

from arbbot.config import ConfigError, load_settings
from arbbot.sim import load_handle, serve, write_handle
from arbbot.venues.common import OrderRejected
from arbbot.venues.common.model import Action, OrderRequest, OrderStatus, Side, TimeInForce
from arbbot.venues.polymarket import PolymarketConfig, PolymarketVenue
from arbbot.venues.polymarket.factories import live_config, simulated_config

KEY = "0x" + "3c" * 32
FUNDER = "0x" + "ab" * 20
FUNDER_CHECKSUM = "0xABaBaBaBABabABabAbAbABAbABabababaBaBABaB"
USD = 1_000_000


@pytest.mark.parametrize("settings, problem", [
    ({"polymarket_signature_type": 1}, "polymarket_funder: polymarket_signature_type 1 needs it"),
    ({"polymarket_signature_type": 2}, "polymarket_funder: polymarket_signature_type 2 needs it"),
    ({"polymarket_funder": FUNDER}, "polymarket_funder: only for polymarket_signature_type 1 .proxy. or 2"),
    ({"polymarket_signature_type": 3, "polymarket_funder": FUNDER}, "polymarket_signature_type: .*less than or equal to 2"),
    ({"polymarket_signature_type": -1}, "polymarket_signature_type: .*greater than or equal to 0"),
    ({"polymarket_signature_type": 1, "polymarket_funder": "0x" + "ab" * 19}, "polymarket_funder: not an address"),
    ({"polymarket_signature_type": 1, "polymarket_funder": "ab" * 21}, "polymarket_funder: not an address"),
    ({"polymarket_signature_type": 1, "polymarket_funder": "0xABaBaBaBABabABabAbAbABAbABabababaBaBABaC"},
     "polymarket_funder: its mixed case is not the address's checksum"),
])
def test_a_wallet_setting_that_cannot_trade_is_refused_at_load_by_name(settings, problem):
    with pytest.raises(ConfigError, match=problem):
        load_settings(**settings)


def test_the_production_config_signs_for_the_configured_wallet(monkeypatch):
    monkeypatch.setenv("ARB_POLYMARKET_SIGNATURE_TYPE", "2")
    monkeypatch.setenv("ARB_POLYMARKET_FUNDER", FUNDER)                # lower case in, checksummed out
    monkeypatch.setenv("ARB_POLYMARKET_PRIVATE_KEY", KEY)
    s = load_settings()
    assert (s.polymarket_signature_type, s.polymarket_funder) == (2, FUNDER_CHECKSUM)
    assert s.masked()["polymarket_funder"] == FUNDER_CHECKSUM and s.masked()["polymarket_private_key"] == "********"
    c = live_config(s)
    from py_clob_client_v2.signer import Signer
    assert (c.signature_type, c.funder, c.address) == (2, FUNDER_CHECKSUM, Signer(KEY, 137).address())
    # the default: the key's own wallet
    monkeypatch.delenv("ARB_POLYMARKET_SIGNATURE_TYPE")
    monkeypatch.delenv("ARB_POLYMARKET_FUNDER")
    c = live_config(load_settings())
    assert (c.signature_type, c.funder) == (0, "")


@pytest.fixture(scope="module")
def proxy_sim():
    h = serve("all", seed=5, step_interval=None, depth="fixed", polymarket_wallet="proxy")
    yield h
    h.stop()


def _market(h) -> tuple[str, str, int]:
    """(condition id, YES token, best YES ask in ticks) of the simulator's MIA market."""
    sim = h.polymarket
    cond = next(c for c, (_e, _q, l) in sim.listings.items() if "MIA" in l.title)
    tok = sim.listings[cond][2].yes_token
    book = httpx.get(h.urls["polymarket_clob"] + "/book", params={"token_id": tok}).json()
    return cond, tok, min(round(float(a["price"]) * 10_000) for a in book["asks"])


def test_a_proxy_account_trades_through_its_funder_and_reads_its_balance(proxy_sim, tmp_path):
    h = proxy_sim
    c = h.polymarket_creds
    assert c.wallet_type == 1 and c.funder.startswith("0x") and len(c.funder) == 42 and c.funder.lower() != c.address.lower()
    # what `arbbot run --connect` reads: the handle file carries the wallet
    write_handle(h, str(tmp_path / "h.json"))
    doc = json.loads((tmp_path / "h.json").read_text())["polymarket"]
    assert (doc["signature_type"], doc["funder"]) == (1, c.funder)
    back = load_handle(str(tmp_path / "h.json"))
    cfg = simulated_config(back)
    assert (cfg.signature_type, cfg.funder) == (1, c.funder)
    cond, _tok, ask = _market(h)
    acct = h.polymarket.exchange.accounts[c.account]

    async def main():
        v = PolymarketVenue(cfg)
        await v.discover_markets()
        assert (await v.balance()).cash_micros == 10_000 * USD
        o = await v.place_order(OrderRequest(cond, Side.YES, ask, 1_000, action=Action.BUY, tif=TimeInForce.IOC,
                                             client_order_id="w1"))
        assert (o.status, o.filled_lots, o.cost_micros) == (OrderStatus.FILLED, 1_000, ask * 10 * 100)
        assert (await v.balance()).cash_micros == 10_000 * USD - o.cost_micros - o.fees_micros
        await v.close()
        # the same key signing for its own address (signature type 0): that wallet holds nothing
        eoa = PolymarketVenue(PolymarketConfig(**{**cfg.__dict__, "signature_type": 0, "funder": ""}))
        await eoa.discover_markets()
        assert (await eoa.balance()).cash_micros == 0
        with pytest.raises(OrderRejected, match="not enough balance"):
            await eoa.place_order(OrderRequest(cond, Side.YES, ask, 1_000, tif=TimeInForce.IOC, client_order_id="w2"))
        await eoa.close()
        # a maker the signer does not own, or the Safe type for a proxy: the signature does not hold
        for kind, funder in ((1, "0x" + "cd" * 20), (2, c.funder)):
            other = PolymarketVenue(PolymarketConfig(**{**cfg.__dict__, "signature_type": kind, "funder": funder}))
            await other.discover_markets()
            with pytest.raises(OrderRejected, match="invalid signature"):
                await other.place_order(OrderRequest(cond, Side.YES, ask, 1_000, tif=TimeInForce.IOC,
                                                     client_order_id=f"w{kind}"))
            await other.close()
    asyncio.run(main())
    assert acct.positions[cond] == 1_000


def test_py_clob_client_with_the_proxy_wallet_agrees_with_the_simulator(proxy_sim):
    """The reference client (code no one here wrote), configured as Polymarket documents for an
    email account (signature type 1, funder = the proxy), reads the balance and trades."""
    h = proxy_sim
    c = h.polymarket_creds
    lib = ClobClient(h.urls["polymarket_clob"], 137, key=h.polymarket_private_key,
                     creds=LibCreds(c.api_key, c.secret, c.passphrase), signature_type=1, funder=c.funder)
    before = int(lib.get_balance_allowance(BalanceAllowanceParams(asset_type="COLLATERAL"))["balance"])
    assert before > 0
    _cond, tok, ask = _market(h)
    r = lib.post_order(lib.create_order(OrderArgsV2(token_id=tok, price=ask / 10_000, size=10.0, side="BUY")),
                       OrderType.GTC)
    assert r["success"] and r["status"] == "matched" and r["takingAmount"] == "10"
    after = int(lib.get_balance_allowance(BalanceAllowanceParams(asset_type="COLLATERAL"))["balance"])
    assert ask * 10 * 100 <= before - after <= ask * 10 * 100 + 10 * USD // 10     # 10 shares' cost + a fee under 10¢
    # the library's default (EOA) against the same account: nothing there
    eoa = ClobClient(h.urls["polymarket_clob"], 137, key=h.polymarket_private_key,
                     creds=LibCreds(c.api_key, c.secret, c.passphrase))
    assert eoa.get_balance_allowance(BalanceAllowanceParams(asset_type="COLLATERAL"))["balance"] == "0"


def test_the_simulator_refuses_an_unknown_wallet_kind():
    with pytest.raises(ValueError, match="polymarket wallet must be one of eoa, proxy, safe"):
        serve("all", seed=5, step_interval=None, polymarket_wallet="vault")
