"""The simulator is the venue: it shares no wire code with the adapters (DESIGN.md).

- No module under `python/arbbot/sim` imports `arbbot.venues` (walked with `ast`, and by text, so
  a lazy import inside a function or a docstring pointing there is caught too).
- Nothing under `python/arbbot` uses the tests' in-process IB client mirror.
- Polymarket: the simulator's own EIP-712 (`arbbot.sim.polymarket.eip712`) and the adapter's
  (`arbbot.venues.polymarket.order_hash`) are two independent implementations; they must agree on
  the order hash (the venue's order id) and the recovered signer of orders signed by
  py-clob-client-v2 — and both must agree with py-clob-client-v2's own hash.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from py_clob_client_v2.clob_types import CreateOrderOptions, OrderArgsV2
from py_clob_client_v2.order_builder.builder import OrderBuilder
from py_clob_client_v2.order_utils.exchange_order_builder_v2 import ExchangeOrderBuilderV2
from py_clob_client_v2.order_utils.model.order_data_v2 import OrderV2, order_to_json_v2
from py_clob_client_v2.order_utils.model.signature_type_v2 import SignatureTypeV2
from py_clob_client_v2.signer import Signer

import arbbot
from arbbot.sim.polymarket import eip712 as sim_eip712
from arbbot.venues.polymarket import order_hash as adapter_eip712

PKG = Path(arbbot.__file__).resolve().parent
SIM = PKG / "sim"
KEY = "0x" + "4f3edf983ac636a65a842ce7c78d9aa706d3b113bce9c46f30d7d21715b23b1d"   # a throwaway test key
SIGNER = Signer(KEY, 137)
TOKEN = "71321045679252212594626385532706912750332728571942532289631379312455583992563"


def _imported_modules(tree: ast.AST) -> list[tuple[int, str]]:
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out += [(node.lineno, f"{node.module}.{a.name}") for a in node.names]
    return out


def test_no_simulator_module_imports_the_adapters():
    files = sorted(SIM.rglob("*.py"))
    assert len(files) > 10
    found = []
    for f in files:
        text = f.read_text()
        found += [f"{f.relative_to(PKG)}:{ln}: import {mod}" for ln, mod in _imported_modules(ast.parse(text))
                  if mod == "arbbot.venues" or mod.startswith("arbbot.venues.")]
        found += [f"{f.relative_to(PKG)}:{i}: {line.strip()}" for i, line in enumerate(text.splitlines(), 1)
                  if "arbbot.venues" in line]
    assert found == [], "the simulator must not use adapter code:\n" + "\n".join(found)


def test_the_in_process_ib_client_lives_in_the_tests():
    hits = [f"{f.relative_to(PKG)}:{i}" for f in sorted(PKG.rglob("*.py"))
            for i, line in enumerate(f.read_text().splitlines(), 1)
            if "SimIBClient" in line or "sim.forecastex.client" in line]
    assert hits == []
    assert not (SIM / "forecastex" / "client.py").exists()


def _signed(side: str, neg_risk: bool, price: float = 0.47, size: float = 10.0) -> dict:
    builder = OrderBuilder(SIGNER, SignatureTypeV2.EOA, SIGNER.address())
    order = builder.build_order(OrderArgsV2(token_id=TOKEN, price=price, size=size, side=side),
                                CreateOrderOptions(tick_size="0.01", neg_risk=neg_risk), version=2)
    return order_to_json_v2(order, "api-key", "GTC")["order"]


def _library_hash(order: dict, neg_risk: bool) -> str:
    """py-clob-client-v2's own order hash (its ExchangeOrderBuilderV2), a third implementation."""
    contract = sim_eip712.NEG_RISK_EXCHANGE if neg_risk else sim_eip712.EXCHANGE
    b = ExchangeOrderBuilderV2(contract, 137, SIGNER)
    v2 = OrderV2(salt=str(order["salt"]), maker=order["maker"], signer=order["signer"], tokenId=order["tokenId"],
                 makerAmount=order["makerAmount"], takerAmount=order["takerAmount"],
                 side=0 if order["side"] == "BUY" else 1, signatureType=SignatureTypeV2(order["signatureType"]),
                 timestamp=order["timestamp"], metadata=order["metadata"], builder=order["builder"],
                 expiration=order["expiration"])
    return b.build_order_hash(b.build_order_typed_data(v2))


@pytest.mark.parametrize("neg_risk", [False, True])
@pytest.mark.parametrize("side", ["BUY", "SELL"])
def test_simulator_and_adapter_agree_on_signed_orders(side, neg_risk):
    order = _signed(side, neg_risk)
    h = sim_eip712.order_hash(order, neg_risk)
    assert h == adapter_eip712.order_hash(order, neg_risk) == _library_hash(order, neg_risk)
    assert h.startswith("0x") and len(h) == 66 and h == h.lower()
    assert sim_eip712.recover_signer(order, neg_risk) == SIGNER.address() \
        == adapter_eip712.recover_signer(order, neg_risk)
    # the domain matters: the other exchange's digest recovers someone else
    assert sim_eip712.order_hash(order, not neg_risk) != h
    assert sim_eip712.recover_signer(order, not neg_risk) != SIGNER.address()


_u256 = st.integers(0, 2**256 - 1)
_b32 = st.binary(min_size=32, max_size=32).map(lambda b: "0x" + b.hex())


@settings(max_examples=60, deadline=None)
@given(salt=_u256, token=_u256, maker_amt=_u256, taker_amt=_u256, ts=_u256, side=st.sampled_from(["BUY", "SELL"]),
       sig_type=st.integers(0, 2), metadata=_b32, builder=_b32, addr=st.binary(min_size=20, max_size=20),
       neg_risk=st.booleans(), as_str=st.booleans())
def test_hashes_agree_on_any_order(salt, token, maker_amt, taker_amt, ts, side, sig_type, metadata, builder, addr,
                                   neg_risk, as_str):
    """Every field over its whole range (integers as JSON numbers or decimal strings)."""
    from eth_utils import to_checksum_address
    num = str if as_str else int
    order = {"salt": num(salt), "maker": to_checksum_address(addr), "signer": SIGNER.address(),
             "tokenId": num(token), "makerAmount": num(maker_amt), "takerAmount": num(taker_amt), "side": side,
             "expiration": "0", "signatureType": sig_type, "timestamp": num(ts), "metadata": metadata,
             "builder": builder}
    assert sim_eip712.order_hash(order, neg_risk) == adapter_eip712.order_hash(order, neg_risk)


def test_simulator_refuses_unreadable_orders_and_signatures():
    order = _signed("BUY", False)
    for bad in ({"side": "buy"}, {"tokenId": "12a"}, {"salt": -1}, {"salt": 2**256}, {"signatureType": True},
                {"metadata": "0x00"}, {"maker": "0x" + "zz" * 20}, {"signature": "0x00"},
                {"signature": order["signature"][:-2] + "1d"}):           # v = 29
        with pytest.raises(sim_eip712.BadOrder):
            sim_eip712.recover_signer({**order, **bad}, False)
    # the same signature with s mirrored to the upper half of the curve order is refused (malleability)
    sig = bytes.fromhex(order["signature"][2:])
    n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
    s = int.from_bytes(sig[32:64], "big")
    high = sig[:32] + (n - s).to_bytes(32, "big") + bytes([55 - sig[64]])
    with pytest.raises(sim_eip712.BadOrder):
        sim_eip712.recover_signer({**order, "signature": "0x" + high.hex()}, False)
    # a changed amount still recovers, but to another address: the venue's signer check refuses it
    tampered = {**order, "makerAmount": str(int(order["makerAmount"]) + 1)}
    assert sim_eip712.recover_signer(tampered, False) != SIGNER.address()
