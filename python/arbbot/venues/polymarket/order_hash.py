"""The EIP-712 typed data of a signed CLOB V2 order and its hash: Polymarket's order id.

The venue identifies an order by this hash (`orderID` in `POST /order`), so the id is known as
soon as the order is signed, before it is sent: the adapter reports it then (crash recovery can
look the order up even if the process dies before the venue's answer arrives).
"""
from __future__ import annotations

EXCHANGE_V2 = "0xE111180000d2663C0091e4f400237545B87B996B"
NEG_RISK_EXCHANGE_V2 = "0xe2222d279d744050d28e00520010520000310F59"
CHAIN_ID = 137                      # Polygon; the V2 exchanges have these addresses on Amoy (80002) too
ORDER_TYPES = [
    {"name": "salt", "type": "uint256"}, {"name": "maker", "type": "address"},
    {"name": "signer", "type": "address"}, {"name": "tokenId", "type": "uint256"},
    {"name": "makerAmount", "type": "uint256"}, {"name": "takerAmount", "type": "uint256"},
    {"name": "side", "type": "uint8"}, {"name": "signatureType", "type": "uint8"},
    {"name": "timestamp", "type": "uint256"}, {"name": "metadata", "type": "bytes32"},
    {"name": "builder", "type": "bytes32"},
]
DOMAIN_TYPES = [{"name": "name", "type": "string"}, {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"}, {"name": "verifyingContract", "type": "address"}]


def typed_order(order: dict, neg_risk: bool, chain_id: int = CHAIN_ID) -> dict:
    """EIP-712 full message of a V2 order as sent on the wire (`order` of the POST /order body),
    signed for chain `chain_id` (the signer's: `PolymarketConfig.chain_id`)."""
    msg = {"salt": int(order["salt"]), "maker": order["maker"], "signer": order["signer"],
           "tokenId": int(order["tokenId"]), "makerAmount": int(order["makerAmount"]),
           "takerAmount": int(order["takerAmount"]), "side": 0 if order["side"] == "BUY" else 1,
           "signatureType": int(order["signatureType"]), "timestamp": int(order["timestamp"]),
           "metadata": bytes.fromhex(order["metadata"][2:]), "builder": bytes.fromhex(order["builder"][2:])}
    return {"types": {"EIP712Domain": DOMAIN_TYPES, "Order": ORDER_TYPES}, "primaryType": "Order",
            "domain": {"name": "Polymarket CTF Exchange", "version": "2", "chainId": chain_id,
                       "verifyingContract": NEG_RISK_EXCHANGE_V2 if neg_risk else EXCHANGE_V2},
            "message": msg}


def order_hash(order: dict, neg_risk: bool, chain_id: int = CHAIN_ID) -> str:
    """`0x` + keccak256(0x19 0x01 ‖ domain separator ‖ struct hash), lower-case hex."""
    from eth_account.messages import _hash_eip191_message, encode_typed_data
    return "0x" + _hash_eip191_message(encode_typed_data(full_message=typed_order(order, neg_risk, chain_id))).hex()


def recover_signer(order: dict, neg_risk: bool, chain_id: int = CHAIN_ID) -> str:
    from eth_account import Account
    from eth_account.messages import encode_typed_data
    return Account.recover_message(encode_typed_data(full_message=typed_order(order, neg_risk, chain_id)),
                                   signature=order["signature"])
