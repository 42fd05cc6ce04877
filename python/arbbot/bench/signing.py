"""Signing a Polymarket order (py-clob-client's `OrderBuilder.build_order`: amounts, EIP-712
digest, secp256k1 signature) with eth-keys' two backends, each in its own process: coincurve
(libsecp256k1, what arbbot installs) and eth-keys' pure-Python curve (what runs without it).

`python -m arbbot.bench.signing [--orders N]` prints p50 / p95 / p99 per order for both and the
ratio; `--json` for one JSON line. The order is never sent.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

BACKENDS = {"coincurve": "eth_keys.backends.CoinCurveECCBackend",
            "pure-python": "eth_keys.backends.NativeECCBackend"}


def _time_orders(n: int) -> dict:
    """In this process (the backend as ECC_BACKEND_CLASS says): n orders built and signed."""
    from eth_keys.backends import get_backend
    from py_clob_client_v2.clob_types import CreateOrderOptions, OrderArgsV2
    from py_clob_client_v2.order_builder.builder import OrderBuilder
    from py_clob_client_v2.order_utils.model.signature_type_v2 import SignatureTypeV2
    from py_clob_client_v2.signer import Signer
    signer = Signer("0x" + "11" * 32, 137)
    builder = OrderBuilder(signer, SignatureTypeV2(0), signer.address())
    options = CreateOrderOptions(tick_size="0.01", neg_risk=False)
    times = []
    for i in range(n + 5):                    # the first 5: warm-up, not recorded
        args = OrderArgsV2(token_id=str(10**70 + i), price=0.49, size=50.0, side="BUY")
        t0 = time.perf_counter_ns()
        builder.build_order(args, options, version=2)
        times.append(time.perf_counter_ns() - t0)
    times = sorted(times[5:])
    pick = lambda q: round(times[min(len(times) - 1, int(q * len(times)))] / 1e6, 3)   # noqa: E731
    return {"backend": type(get_backend()).__name__, "p50_ms": pick(0.5), "p95_ms": pick(0.95),
            "p99_ms": pick(0.99), "n": n}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m arbbot.bench.signing", description=__doc__.splitlines()[0])
    ap.add_argument("--orders", type=int, default=200, help="orders signed per backend (default 200)")
    ap.add_argument("--json", action="store_true", help="one JSON line")
    ap.add_argument("--one", action="store_true", help=argparse.SUPPRESS)     # the child: this process's backend
    args = ap.parse_args(argv)
    if args.one:
        print(json.dumps(_time_orders(args.orders)))
        return 0
    results = {}
    for name, cls in BACKENDS.items():
        out = subprocess.run([sys.executable, "-m", "arbbot.bench.signing", "--one", "--orders", str(args.orders)],
                             env={**os.environ, "ECC_BACKEND_CLASS": cls}, capture_output=True, text=True, check=True)
        results[name] = json.loads(out.stdout.strip().splitlines()[-1])
    ratio = round(results["pure-python"]["p50_ms"] / results["coincurve"]["p50_ms"], 1)
    if args.json:
        print(json.dumps({"format": "arbbot.signing-bench/1", "results": results, "pure_over_coincurve_p50": ratio}))
    else:
        for name, r in results.items():
            print(f"{name:<12} ({r['backend']}): p50 {r['p50_ms']} ms  p95 {r['p95_ms']}  p99 {r['p99_ms']}  (n={r['n']})")
        print(f"pure-python / coincurve at p50: {ratio}×")
    return 0


if __name__ == "__main__":
    sys.exit(main())
