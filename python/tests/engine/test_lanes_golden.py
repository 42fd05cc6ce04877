"""Golden cases for every lane and leg set, worked out by hand from spec/ARBITRAGE.md.

Each expected number is derived in the comment above it (µ$ = $0.000001; 1 contract = 100 lots).
Every test runs on both engines.
"""
from __future__ import annotations

from arbbot.engine import Kind, Lane, Side, scan

from .builders import KALSHI_FEES, POLY_FEES, market, universe

FREE = {}   # no fees


def only(result):
    assert len(result.opportunities) == 1, result.opportunities
    return result.opportunities[0]


def legs(opp):
    return [(leg.market, leg.side, leg.qty, leg.worst_price, leg.cost, leg.fee) for leg in opp.legs]


def test_bucket_all_no_pays_n_minus_1_and_stops_at_depth(engine):
    # NO asks A 0.60×100, B 0.65×100, C 0.70×50 then 0.80×100; payout N−1 = 2 per contract.
    # Segment 1 (50 contracts): 1.95 < 2 → take; segment 2: 0.60+0.65+0.80 = 2.05 → stop.
    # q = 50 contracts = 5,000 lots; cost 50×1.95 = $97.50; payout $100; profit $2.50.
    u = universe([
        market("polymarket", "A", FREE, no_asks=[["0.60", "100"]]),
        market("polymarket", "B", FREE, no_asks=[["0.65", "100"]]),
        market("polymarket", "C", FREE, no_asks=[["0.70", "50"], ["0.80", "100"]]),
    ], [{"kind": "bucket", "members": ["polymarket:A", "polymarket:B", "polymarket:C"]}])
    o = only(scan(u, engine=engine))
    assert (o.lane, o.kind, o.qty, o.payout, o.cost, o.fee, o.profit) == (
        Lane.BUCKET, Kind.ALL_NO, 5_000, 100_000_000, 97_500_000, 0, 2_500_000)
    assert legs(o) == [("polymarket:A", Side.NO, 5_000, 6_000, 30_000_000, 0),
                       ("polymarket:B", Side.NO, 5_000, 6_500, 32_500_000, 0),
                       ("polymarket:C", Side.NO, 5_000, 7_000, 35_000_000, 0)]


def test_augmented_group_is_not_exhaustive_so_cheap_yes_is_no_arb(engine):
    # YES asks sum to $0.84 but the group has an implicit "Other": never buy all YES.
    members = [market("polymarket", n, FREE, yes_asks=[[p, "100"]], no_asks=[["0.99", "100"]])
               for n, p in (("A", "0.40"), ("B", "0.30"), ("C", "0.14"))]
    refs = ["polymarket:A", "polymarket:B", "polymarket:C"]
    assert scan(universe(members, [{"kind": "bucket", "members": refs}]), engine=engine).opportunities == ()
    # Declared exhaustive, the same books are an all-YES arb: 100 × (1 − 0.84) = $16.
    o = only(scan(universe(members, [{"kind": "bucket", "members": refs, "exhaustive": True}]), engine=engine))
    assert (o.kind, o.qty, o.cost, o.profit) == (Kind.ALL_YES, 10_000, 84_000_000, 16_000_000)


def test_tree_parent_yes_children_no_pays_k(engine):
    # Parent YES 0.50, children NO 0.78 / 0.84 / 0.85 (100 each): 2.97 < k = 3.
    # q = 100 contracts; cost $297; payout $300; profit $3.
    u = universe([
        market("polymarket", "P", FREE, yes_asks=[["0.50", "100"]]),
        market("polymarket", "C1", FREE, no_asks=[["0.78", "100"]]),
        market("polymarket", "C2", FREE, no_asks=[["0.84", "100"]]),
        market("polymarket", "C3", FREE, no_asks=[["0.85", "100"]]),
    ], [{"kind": "tree", "parent": "polymarket:P", "children": ["polymarket:C1", "polymarket:C2", "polymarket:C3"]}])
    o = only(scan(u, engine=engine))
    assert (o.lane, o.kind, o.qty, o.payout, o.cost, o.profit) == (
        Lane.TREE, Kind.PARENT_YES_CHILDREN_NO, 10_000, 300_000_000, 297_000_000, 3_000_000)
    assert [leg.market for leg in o.legs] == ["polymarket:P", "polymarket:C1", "polymarket:C2", "polymarket:C3"]


def test_implies_parent_yes_child_no_with_kalshi_fees(engine):
    # Parent YES ask = 1 − NO bid 0.45 = 0.55; child NO ask = 1 − YES bid 0.60 = 0.40 (100 each).
    # Fees: 0.07×100×0.55×0.45 = 1.7325 → $1.74; 0.07×100×0.40×0.60 = 1.68 → $1.68.
    # profit = 100 − 95 − 3.42 = $1.58.
    u = universe([
        market("kalshi", "PARENT", KALSHI_FEES, no_bids=[["0.45", "100"]]),
        market("kalshi", "CHILD", KALSHI_FEES, yes_bids=[["0.60", "100"]]),
    ], [{"kind": "implies", "child": "kalshi:CHILD", "parent": "kalshi:PARENT"}])
    o = only(scan(u, engine=engine))
    assert (o.lane, o.kind, o.qty, o.cost, o.fee, o.profit) == (
        Lane.TREE, Kind.PARENT_YES_CHILD_NO, 10_000, 95_000_000, 3_420_000, 1_580_000)
    assert legs(o) == [("kalshi:PARENT", Side.YES, 10_000, 5_500, 55_000_000, 1_740_000),
                       ("kalshi:CHILD", Side.NO, 10_000, 4_000, 40_000_000, 1_680_000)]


def test_parity_complement_walks_two_levels_with_polymarket_fees(engine):
    # Exactly one of A, B is YES. YES A 0.44×300 then 0.46×500; YES B 0.53×200 then 0.54×400.
    # seg 200 @ (0.44, 0.53): 1 − 0.97 − 0.03×(0.2464+0.2491) > 0; seg 100 @ (0.44, 0.54):
    # 0.02 − 0.03×(0.2464+0.2484) > 0; then (0.46, 0.54): 1.00 → stop. q = 300.
    # Fees: A 0.03×300×0.2464 = $2.2176; B 0.03×(200×0.2491 + 100×0.2484) = $2.2398.
    # profit = 300 − (132 + 160) − 4.4574 = $3.5426.
    u = universe([
        market("polymarket", "A", POLY_FEES, yes_asks=[["0.44", "300"], ["0.46", "500"]], no_asks=[["0.58", "100"]]),
        market("polymarket", "B", POLY_FEES, yes_asks=[["0.53", "200"], ["0.54", "400"]], no_asks=[["0.49", "100"]]),
    ], [{"kind": "complement", "a": "polymarket:A", "b": "polymarket:B"}])
    o = only(scan(u, engine=engine))
    assert (o.lane, o.kind, o.qty, o.cost, o.fee, o.profit) == (
        Lane.PARITY, Kind.YES_A_YES_B, 30_000, 292_000_000, 4_457_400, 3_542_600)
    assert legs(o) == [("polymarket:A", Side.YES, 30_000, 4_400, 132_000_000, 2_217_600),
                       ("polymarket:B", Side.YES, 30_000, 5_400, 160_000_000, 2_239_800)]


def test_parity_equivalent_on_one_venue(engine):
    # a: YES ask 1 − 0.55 = 0.45 (100); b: NO ask 1 − 0.50 = 0.50 (80). q = 80 contracts.
    # Fees 0.07×80×0.2475 = 1.386 → $1.39; 0.07×80×0.25 = $1.40. profit = 80 − 76 − 2.79 = $1.21.
    u = universe([
        market("kalshi", "A", KALSHI_FEES, yes_bids=[["0.40", "50"]], no_bids=[["0.55", "100"]]),
        market("kalshi", "B", KALSHI_FEES, yes_bids=[["0.50", "80"]], no_bids=[["0.48", "100"]]),
    ], [{"kind": "equivalent", "a": "kalshi:A", "b": "kalshi:B"}])
    o = only(scan(u, engine=engine))
    assert (o.lane, o.kind, o.qty, o.cost, o.fee, o.profit) == (
        Lane.PARITY, Kind.YES_A_NO_B, 8_000, 76_000_000, 2_790_000, 1_210_000)


def test_inverse_no_a_no_b(engine):
    # YES a ≡ NO b. NO a 0.30 (poly, free), NO b = 1 − YES bid 0.35 = 0.65 (kalshi): 0.95.
    # Kalshi fee on 40 contracts: 0.07×40×0.65×0.35 = 0.637 → $0.64. profit = 40×0.05 − 0.64 = $1.36.
    u = universe([
        market("polymarket", "a", FREE, no_asks=[["0.30", "60"]]),
        market("kalshi", "b", KALSHI_FEES, yes_bids=[["0.35", "40"]]),
    ], [{"kind": "inverse", "a": "polymarket:a", "b": "kalshi:b"}])
    o = only(scan(u, engine=engine))
    assert (o.lane, o.kind, o.qty, o.cost, o.fee, o.profit) == (
        Lane.CROSS, Kind.NO_A_NO_B, 4_000, 38_000_000, 640_000, 1_360_000)


def test_max_qty_cap_then_floor_to_the_largest_lot(engine):
    # fed-december's twin capped at 12.5 contracts: 1,250 lots floored to whole contracts (Kalshi
    # lot 1) = 12. Kalshi NO 12 @ 0.64: $7.68, fee 0.07×12×0.2304 = 0.193536 → $0.20;
    # Polymarket YES 12 @ 0.32: $3.84, fee 0.03×12×0.2176 = 0.078336 → $0.0784 (R = $0.0001).
    # profit = 12 − 11.52 − 0.2784 = $0.2016.
    u = universe([
        market("kalshi", "K", KALSHI_FEES, yes_bids=[["0.36", "300"]], no_bids=[["0.62", "80"]]),
        market("polymarket", "P", {"taker_rate": "0.03", "rounding": "0.0001"},
               yes_asks=[["0.32", "250"], ["0.34", "900"]], no_asks=[["0.67", "500"]]),
    ], [{"kind": "same", "a": "kalshi:K", "b": "polymarket:P"}], max_qty="12.5")
    o = only(scan(u, engine=engine))
    assert (o.kind, o.qty, o.cost, o.fee, o.profit) == (Kind.NO_A_YES_B, 1_200, 11_520_000, 278_400, 201_600)
    # Polymarket alone keeps 0.01 lots: the cap is not floored further.
    u2 = universe([market("polymarket", "X", FREE, yes_asks=[["0.40", "100"]], no_asks=[["0.50", "100"]])],
                  max_qty="12.37")
    assert only(scan(u2, engine=engine)).qty == 1_237


def test_book_walk_trap_top_of_book_is_not_the_size(engine):
    # Top of book 0.40 + 0.55 = 0.95 but only 0.01 contract deep; next YES level 0.50 kills it.
    # A top-of-book bot buys 100 contracts and loses; the engine sizes 1 lot, worth $0.0005,
    # below min_profit $0.01 → nothing.
    books = [
        market("polymarket", "A", FREE, yes_asks=[["0.40", "0.01"], ["0.50", "100"]]),
        market("polymarket", "B", FREE, no_asks=[["0.55", "100"]]),
    ]
    same = [{"kind": "same", "a": "polymarket:A", "b": "polymarket:B"}]
    assert scan(universe(books, same, min_profit="0.01"), engine=engine).opportunities == ()
    o = only(scan(universe(books, same), engine=engine))
    assert (o.qty, o.profit, legs(o)[0][3]) == (1, 500, 4_000)   # 1 lot × $0.05 = $0.0005


def test_tiny_edge_eaten_by_per_order_rounding(engine):
    # YES 0.01 on Kalshi (unrounded fee $0.000693) + NO 0.98 fee-free: the unrounded edge
    # 1 − 0.99 − 0.000693 > 0 so one contract is sized, but the fee rounds up to $0.01 per order:
    # profit = 0 < min_profit → not reported.
    u = universe([
        market("kalshi", "K", KALSHI_FEES, no_bids=[["0.99", "1"]]),
        market("polymarket", "P", FREE, no_asks=[["0.98", "100"]]),
    ], [{"kind": "same", "a": "kalshi:K", "b": "polymarket:P"}])
    assert scan(u, engine=engine).opportunities == ()


def test_bids_only_venues_have_no_intra_arb_and_locked_books_are_untradeable(engine):
    # Kalshi YES bid 0.48 + NO bid 0.51 = 0.99: YES ask 0.49 + NO ask 0.52 > 1, no intra.
    # ForecastEx 0.50 + 0.50 = $1: locked (the venue would have matched) → untradeable.
    u = universe([
        market("kalshi", "K", KALSHI_FEES, yes_bids=[["0.48", "10"]], no_bids=[["0.51", "10"]]),
        market("forecastex", "F", {"per_contract": "0.01"}, yes_bids=[["0.50", "10"]], no_bids=[["0.50", "10"]]),
        market("polymarket", "P", FREE, yes_bids=[["0.45", "5"]], yes_asks=[["0.45", "5"]], no_asks=[["0.10", "5"]]),
    ])
    result = scan(u, engine=engine)
    assert result.opportunities == ()
    assert result.untradeable == ("forecastex:F", "polymarket:P")


def test_polymarket_intra_never_adds_the_other_tokens_bids(engine):
    # YES asks 0.60, NO asks 0.45 → 1.05: no arb. A NO bid at 0.58 must not become a YES ask 0.42.
    u = universe([market("polymarket", "P", FREE, yes_asks=[["0.60", "10"]], no_bids=[["0.58", "50"]],
                         no_asks=[["0.45", "10"]])])
    assert scan(u, engine=engine).opportunities == ()


def test_duplicate_leg_sets_are_reported_once_under_the_first_relation(engine):
    # bucket(A, B) exhaustive = the same leg sets as complement(A, B): reported once, as bucket.
    # YES 0.40 + 0.50 → all_yes/yes_a_yes_b profit 100 × 0.10 = $10.
    members = [market("polymarket", "A", FREE, yes_asks=[["0.40", "100"]], no_asks=[["0.70", "100"]]),
               market("polymarket", "B", FREE, yes_asks=[["0.50", "100"]], no_asks=[["0.65", "100"]])]
    rels = [{"kind": "bucket", "members": ["polymarket:A", "polymarket:B"], "exhaustive": True},
            {"kind": "complement", "a": "polymarket:B", "b": "polymarket:A"}]
    o = only(scan(universe(members, rels), engine=engine))
    assert (o.lane, o.kind, o.profit) == (Lane.BUCKET, Kind.ALL_YES, 10_000_000)
    o2 = only(scan(universe(members, rels[::-1]), engine=engine))
    assert (o2.lane, o2.kind, o2.id) == (Lane.PARITY, Kind.YES_A_YES_B, o.id)   # same trade, same id


def test_forecastex_commission_rounds_up_per_order(engine):
    # $0.005 per contract on 0.37 contract (37 lots): 5,000 × 37 / 100 = 1,850 µ$; on 3 lots 150.
    from arbbot.engine import FeeSchedule, order_fee
    assert order_fee(FeeSchedule(per_contract=5_000), [(5_000, 37)], engine=engine) == 1_850
    assert order_fee(FeeSchedule(per_contract=3), [(5_000, 1)], engine=engine) == 1   # 0.03 µ$ → 1


def test_ordering_profit_desc_then_id(engine):
    # Two identical intra arbs (same profit) are ordered by id ascending; a bigger one first.
    ms = [market("polymarket", n, FREE, yes_asks=[["0.40", q]], no_asks=[["0.50", "10"]])
          for n, q in (("A", "10"), ("B", "10"), ("C", "20"))]
    result = scan(universe(ms), engine=engine)
    profits = [o.profit for o in result.opportunities]
    assert profits == [1_000_000, 1_000_000, 1_000_000]   # C capped by its NO depth (10)
    assert [o.id for o in result.opportunities] == sorted(o.id for o in result.opportunities)


def test_parity_complement_no_a_no_b(engine):
    # Exactly one of a, b is YES, so exactly one NO pays: NO a 0.45 + NO b 0.50 = 0.95 (fee-free),
    # 100 contracts each: cost $95, profit $5.
    u = universe([
        market("polymarket", "a", FREE, yes_asks=[["0.60", "100"]], no_asks=[["0.45", "100"]]),
        market("polymarket", "b", FREE, yes_asks=[["0.55", "100"]], no_asks=[["0.50", "100"]]),
    ], [{"kind": "complement", "a": "polymarket:a", "b": "polymarket:b"}])
    o = only(scan(u, engine=engine))
    assert (o.lane, o.kind, o.qty, o.cost, o.profit) == (Lane.PARITY, Kind.NO_A_NO_B, 10_000, 95_000_000, 5_000_000)
    assert [(leg.market, leg.side) for leg in o.legs] == [("polymarket:a", Side.NO), ("polymarket:b", Side.NO)]


def test_parity_equivalent_no_a_yes_b(engine):
    # a ≡ b: NO a 0.40 (50 deep) + YES b 0.55 (80 deep) = 0.95 → q = 50 contracts, cost $47.50, profit $2.50.
    u = universe([
        market("polymarket", "a", FREE, yes_asks=[["0.70", "100"]], no_asks=[["0.40", "50"]]),
        market("polymarket", "b", FREE, yes_asks=[["0.55", "80"]], no_asks=[["0.60", "100"]]),
    ], [{"kind": "equivalent", "a": "polymarket:a", "b": "polymarket:b"}])
    o = only(scan(u, engine=engine))
    assert (o.lane, o.kind, o.qty, o.cost, o.profit) == (Lane.PARITY, Kind.NO_A_YES_B, 5_000, 47_500_000, 2_500_000)
