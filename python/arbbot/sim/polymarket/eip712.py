"""The simulator's own EIP-712 for CLOB V2 orders: typing, hash (the venue's order id), signer.

Written from the venue's published facts (spec/VENUES.md, the V2 migration notes), not from the
adapters' code: the simulator is the venue and shares no wire code with them (DESIGN.md), so a
mistake in either side's hashing shows up as a disagreement instead of passing every test.

- Domain: `EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)`
  with name "Polymarket CTF Exchange", version "2", chain 137, and as verifying contract the V2
  CTF Exchange — or the V2 NegRisk Exchange for an order on a neg-risk market.
- Struct: `Order(uint256 salt,address maker,address signer,uint256 tokenId,uint256 makerAmount,
  uint256 takerAmount,uint8 side,uint8 signatureType,uint256 timestamp,bytes32 metadata,
  bytes32 builder)`; `side` BUY = 0, SELL = 1 (the wire says "BUY"/"SELL"). `expiration` travels
  on the wire but is not signed.
- hashStruct(x) = keccak256(keccak256(type string) ‖ one 32-byte word per field), strings
  hashed, integers big-endian, addresses left-padded; digest = keccak256(0x19 0x01 ‖
  hashStruct(domain) ‖ hashStruct(order)) — the order id, `0x` + lower-case hex.
- Signature: 65 bytes r ‖ s ‖ v (v 27/28, or 0/1), s in the lower half of the curve order (as
  the exchange's ECDSA recovery demands); the signer is the address of the recovered key.

Anything malformed raises `BadOrder` (a ValueError) with what is wrong.
"""
from __future__ import annotations

import re

from eth_keys import keys
from eth_utils import keccak, to_checksum_address

DOMAIN_NAME = "Polymarket CTF Exchange"
DOMAIN_VERSION = "2"
CHAIN_ID = 137                                                   # Polygon
EXCHANGE = "0xE111180000d2663C0091e4f400237545B87B996B"          # V2 CTF Exchange
NEG_RISK_EXCHANGE = "0xe2222d279d744050d28e00520010520000310F59"  # V2 NegRisk CTF Exchange

ORDER_FIELDS = (("salt", "uint256"), ("maker", "address"), ("signer", "address"), ("tokenId", "uint256"),
                ("makerAmount", "uint256"), ("takerAmount", "uint256"), ("side", "uint8"),
                ("signatureType", "uint8"), ("timestamp", "uint256"), ("metadata", "bytes32"),
                ("builder", "bytes32"))
ORDER_TYPE = "Order(" + ",".join(f"{kind} {name}" for name, kind in ORDER_FIELDS) + ")"
DOMAIN_TYPE = "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
SIDES = {"BUY": 0, "SELL": 1}

_HALF_N = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0   # secp256k1 n // 2
_HEX = re.compile(r"0x[0-9a-fA-F]*\Z")


class BadOrder(ValueError):
    """A V2 order whose fields or signature cannot be read."""


def _hex(value: object, nbytes: int, name: str) -> bytes:
    if not isinstance(value, str) or not _HEX.match(value) or len(value) != 2 + 2 * nbytes:
        raise BadOrder(f"{name} must be 0x and {2 * nbytes} hex digits")
    return bytes.fromhex(value[2:])


def _uint(value: object, bits: int, name: str) -> int:
    """An unsigned integer as the CLOB accepts it: a JSON integer or a string of decimal digits."""
    if isinstance(value, str) and value.isdigit() and value.isascii():
        n = int(value)
    elif isinstance(value, int) and not isinstance(value, bool):
        n = value
    else:
        raise BadOrder(f"{name} must be an unsigned integer")
    if not 0 <= n < 1 << bits:
        raise BadOrder(f"{name} is out of range for uint{bits}")
    return n


def _word(kind: str, value: object, name: str) -> bytes:
    """One field as its 32-byte EIP-712 word."""
    if kind.startswith("uint"):
        return _uint(value, int(kind[4:]), name).to_bytes(32, "big")
    if kind == "address":
        return _hex(value, 20, name).rjust(32, b"\0")
    if kind == "bytes32":
        return _hex(value, 32, name)
    raise AssertionError(kind)


def domain_separator(neg_risk: bool) -> bytes:
    """hashStruct of the V2 exchange's domain (the neg-risk exchange for neg-risk markets)."""
    return keccak(keccak(text=DOMAIN_TYPE) + keccak(text=DOMAIN_NAME) + keccak(text=DOMAIN_VERSION)
                  + _word("uint256", CHAIN_ID, "chainId")
                  + _word("address", NEG_RISK_EXCHANGE if neg_risk else EXCHANGE, "verifyingContract"))


def struct_hash(order: dict) -> bytes:
    """hashStruct of the order as it stands on the wire (`order` of the `POST /order` body)."""
    if not isinstance(order.get("side"), str) or order["side"] not in SIDES:
        raise BadOrder("side must be BUY or SELL")
    words = []
    for name, kind in ORDER_FIELDS:
        if name not in order:
            raise BadOrder(f"{name} is missing")
        words.append(_word(kind, SIDES[order[name]] if name == "side" else order[name], name))
    return keccak(keccak(text=ORDER_TYPE) + b"".join(words))


def order_hash(order: dict, neg_risk: bool) -> str:
    """The EIP-712 digest of a V2 order: the id the venue gives it (`0x` + lower-case hex)."""
    return "0x" + _digest(order, neg_risk).hex()


def _digest(order: dict, neg_risk: bool) -> bytes:
    return keccak(b"\x19\x01" + domain_separator(neg_risk) + struct_hash(order))


def recover_signer(order: dict, neg_risk: bool) -> str:
    """The (checksummed) address whose key produced `order["signature"]` over the order's digest."""
    sig = _hex(order.get("signature"), 65, "signature")
    r, s, v = int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:64], "big"), sig[64]
    if v >= 27:
        v -= 27
    if v not in (0, 1) or not 0 < r or not 0 < s <= _HALF_N:
        raise BadOrder("invalid signature")
    try:
        key = keys.Signature(vrs=(v, r, s)).recover_public_key_from_msg_hash(_digest(order, neg_risk))
    except Exception as exc:                     # eth_keys: BadSignature / ValidationError
        raise BadOrder("invalid signature") from exc
    return to_checksum_address(key.to_canonical_address())
