/*
 * arb_engine.h — THE contract between the Swift hot path and everything that calls it.
 *
 * Implemented in Swift (Sources/ArbEngineSwift, `@c @implementation`, so every signature here
 * is checked against the Swift code at compile time) and mirrored bit for bit by the Python twin
 * (python/arbbot/engine/twin/). spec/ARBITRAGE.md defines the arithmetic.
 *
 * Units (all integers, exact):
 *   price  ticks: 1 tick = $0.0001 per contract; 0 ... 10,000 (10,000 ticks = the $1 payout)
 *   qty    lots:  1 lot  = 0.01 contract;  one book level 0 ... 10^8 lots
 *   money  µ$:    1 µ$   = $0.000001;      price × qty (ticks × lots) is exactly µ$
 *   rate   ppm:   0.07 → 70,000; 0 ... 999,999
 *
 * Conventions:
 *   - Every function returns an arb_status (0 = ARB_OK). Nothing traps: every input is checked
 *     and a bad one returns an error code; arb_status_message() explains it.
 *   - A "level array" is int64_t pairs (price ticks, qty lots), any order, duplicates allowed
 *     (they add up), qty 0 ignored.
 *   - A "native book" is one level array holding its sides back to back in the order
 *     yes_bids, yes_asks, no_bids, no_asks, plus counts[4] (levels per side).
 *     Kalshi and ForecastEx books have bids only (nonzero ask counts are ARB_E_BIDS_ONLY);
 *     Polymarket books are one book per outcome token (bids and asks of each token).
 *   - Output memory owned by an engine stays valid until the next call on that engine.
 */
#ifndef ARB_ENGINE_H
#define ARB_ENGINE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ARB_ABI_VERSION 1u

/* ---- limits ----------------------------------------------------------------------------- */
#define ARB_PRICE_MAX        10000             /* ticks = $1                                  */
#define ARB_LEVEL_QTY_MAX    100000000LL       /* lots = 1,000,000 contracts per level        */
#define ARB_RATE_MAX_PPM     999999            /* rates are < 1                               */
#define ARB_MONEY_FEE_MAX    1000000000000LL   /* µ$ = $1,000,000: per_contract and rounding  */
#define ARB_QTY_UNCAPPED     (-1LL)            /* max_qty value meaning "no cap"              */

/* ---- status codes ----------------------------------------------------------------------- */
enum {
    ARB_OK           = 0,
    ARB_E_NULL       = 1,   /* a required pointer is NULL                                    */
    ARB_E_PRICE      = 2,   /* a price is outside 0 ... 10,000 ticks                         */
    ARB_E_QTY        = 3,   /* a quantity is < 0 or > ARB_LEVEL_QTY_MAX (or max_qty < -1)    */
    ARB_E_VENUE      = 4,   /* unknown venue code                                            */
    ARB_E_KIND       = 5,   /* unknown relation kind                                         */
    ARB_E_LENGTH     = 6,   /* a count or offset is negative, not monotone, or inconsistent  */
    ARB_E_BIDS_ONLY  = 7,   /* asks given for a Kalshi or ForecastEx book                    */
    ARB_E_MARKET     = 8,   /* a market index is out of range                                */
    ARB_E_RELATION   = 9,   /* relation shape: member count, or a market named twice         */
    ARB_E_RATE       = 10,  /* fee rate outside 0 ... 999,999 ppm                            */
    ARB_E_MONEY      = 11,  /* money out of range (negative, rounding < 1, above the max)    */
    ARB_E_LOT        = 12,  /* lot is neither 100 (1 contract) nor 1 (0.01 contract)         */
    ARB_E_FLOAT      = 13,  /* a float input is NaN, infinite or out of its range            */
    ARB_E_CAPACITY   = 14,  /* a caller-provided output buffer is too small                  */
    ARB_E_NAME       = 15,  /* market names: bad offsets                                     */
    ARB_E_OVERFLOW   = 16,  /* a result does not fit in int64 (absurd depth × payout)        */
    ARB_E_ARGUMENT   = 17   /* another argument is invalid (e.g. qty 0 for evaluation)       */
};

/* ---- enumerations ----------------------------------------------------------------------- */
enum { ARB_VENUE_KALSHI = 0, ARB_VENUE_POLYMARKET = 1, ARB_VENUE_FORECASTEX = 2 };
enum { ARB_SIDE_YES = 0, ARB_SIDE_NO = 1 };
enum { ARB_BOOK_YES_BIDS = 0, ARB_BOOK_YES_ASKS = 1, ARB_BOOK_NO_BIDS = 2, ARB_BOOK_NO_ASKS = 3 };

/* Relation kinds. Members (arb_universe.rel_members), in leg order:
 *   SAME, INVERSE, COMPLEMENT, EQUIVALENT: a, b
 *   BUCKET: members in file order (>= 2)          TREE: parent, children... (>= 2 children)
 *   IMPLIES: parent, child  (note: parent first, whatever the JSON order)                      */
enum {
    ARB_REL_SAME = 0, ARB_REL_INVERSE = 1, ARB_REL_COMPLEMENT = 2, ARB_REL_EQUIVALENT = 3,
    ARB_REL_BUCKET = 4, ARB_REL_TREE = 5, ARB_REL_IMPLIES = 6
};

enum { ARB_LANE_INTRA = 0, ARB_LANE_CROSS = 1, ARB_LANE_BUCKET = 2, ARB_LANE_PARITY = 3,
       ARB_LANE_TREE = 4 };

enum {
    ARB_KIND_YES_NO = 0,                 /* intra                       */
    ARB_KIND_YES_A_NO_B = 1,             /* cross, parity               */
    ARB_KIND_NO_A_YES_B = 2,
    ARB_KIND_YES_A_YES_B = 3,
    ARB_KIND_NO_A_NO_B = 4,
    ARB_KIND_ALL_NO = 5,                 /* bucket                      */
    ARB_KIND_ALL_YES = 6,
    ARB_KIND_PARENT_NO_CHILDREN_YES = 7, /* tree                        */
    ARB_KIND_PARENT_YES_CHILDREN_NO = 8,
    ARB_KIND_PARENT_YES_CHILD_NO = 9     /* implies                     */
};

/* ---- plain data ------------------------------------------------------------------------- */

/* Per-market taker fee schedule (spec/ARBITRAGE.md "Fees"). */
typedef struct {
    int32_t taker_rate_ppm;  /* r: 0 ... 999,999                                              */
    int32_t reserved;        /* 0                                                             */
    int64_t per_contract;    /* c: µ$ per contract, 0 ... ARB_MONEY_FEE_MAX                   */
    int64_t rounding;        /* R: µ$, 1 ... ARB_MONEY_FEE_MAX; rate part rounded up to it     */
} arb_fee_schedule;

/* Quote summary of one decomposed book. Sentinels: -1 for a missing price. */
typedef struct {
    int32_t best_bid_yes;    /* ticks, -1 = none                                              */
    int32_t best_ask_yes;    /* effective ask, ticks, -1 = none                               */
    int32_t best_bid_no;
    int32_t best_ask_no;
    int32_t mid;             /* (askYES + (10,000 - askNO)) / 2 rounded half to even; -1 if an
                                ask is missing                                                */
    int32_t overround;       /* askYES + askNO - 10,000; INT32_MIN if an ask is missing        */
    int32_t crossed;         /* 1 = crossed or locked: untradeable (spec "stale books")       */
    int32_t reserved;
} arb_quote;

/* A caller-provided output ladder: pairs (price ticks, qty lots), ascending price, one entry
 * per distinct price. capacity and count are in levels (pairs), not int64 elements.          */
typedef struct {
    int64_t *levels;
    int64_t capacity;
    int64_t count;           /* set by the callee                                             */
} arb_ladder_buf;

/* The universe an engine is built from. Arrays are indexed by market (n_markets) or relation
 * (n_relations); the engine copies everything it needs, the caller may free them after create. */
typedef struct {
    int32_t n_markets;
    int32_t n_relations;
    const int32_t *venue;            /* [n_markets] ARB_VENUE_*                                */
    const int32_t *lot;              /* [n_markets] lots per tradable unit: 100 or 1           */
    const int32_t *taker_rate_ppm;   /* [n_markets]                                            */
    const int64_t *per_contract;     /* [n_markets] µ$ per contract                            */
    const int64_t *rounding;         /* [n_markets] µ$                                         */
    const int64_t *book_counts;      /* [n_markets * 4] native side counts (see top)           */
    const int64_t *book_levels;      /* pairs, market-major then side order; sum(counts) pairs */
    const uint8_t *names;            /* UTF-8 "venue:id" of every market, back to back         */
    const int64_t *name_offsets;     /* [n_markets + 1], ascending, name_offsets[0] = 0        */
    const int32_t *rel_kind;         /* [n_relations] ARB_REL_*                                */
    const int32_t *rel_exhaustive;   /* [n_relations] 0/1, bucket only (ignored otherwise)     */
    const int64_t *rel_offsets;      /* [n_relations + 1] into rel_members                     */
    const int32_t *rel_members;      /* market indices, leg order (see ARB_REL_*)              */
    int64_t max_qty;                 /* lots per opportunity, ARB_QTY_UNCAPPED = no cap        */
    int64_t min_profit;              /* µ$, >= 0: smallest profit reported                     */
} arb_universe;

/* One reported opportunity. Money in µ$, qty in lots. */
typedef struct {
    uint64_t id;             /* first 8 bytes of SHA-256 (big-endian) = the 16 hex digits    */
    int32_t lane;            /* ARB_LANE_*                                                    */
    int32_t kind;            /* ARB_KIND_*                                                    */
    int64_t qty;
    int64_t payout;
    int64_t cost;
    int64_t fee;
    int64_t profit;          /* payout - cost - fee                                           */
    int32_t leg_start;       /* index into arb_result.legs                                    */
    int32_t leg_count;
} arb_opportunity;           /* 64 bytes */

typedef struct {
    int32_t market;          /* market index                                                  */
    int32_t side;            /* ARB_SIDE_*                                                    */
    int64_t qty;             /* lots (= the opportunity's qty)                                */
    int32_t worst_price;     /* ticks: highest level the order reaches                        */
    int32_t reserved;
    int64_t cost;            /* µ$: sum of fills                                              */
    int64_t fee;             /* µ$: per-order fee                                             */
} arb_leg;                   /* 40 bytes */

/* Result of a scan or an update; memory owned by the engine, valid until its next call.
 * Opportunities: profit descending, then id ascending. */
typedef struct {
    const arb_opportunity *opportunities;
    int64_t n_opportunities;
    const arb_leg *legs;
    int64_t n_legs;
    const int32_t *untradeable;      /* market indices, ascending (scan: all; update: the updated
                                        market if it is untradeable, else none)                */
    int64_t n_untradeable;
} arb_result;

typedef struct arb_engine arb_engine;   /* opaque */

/* ---- functions -------------------------------------------------------------------------- */

uint32_t arb_abi_version(void);
/* A static, NUL-terminated English message for a status code (never NULL). */
const char *arb_status_message(int32_t status);

/* Decompose one native book into the two effective ask ladders and a quote summary.
 * yes/no may be NULL when the caller only wants the quote. */
int32_t arb_decompose(int32_t venue, const int64_t *levels, const int64_t *counts,
                      arb_ladder_buf *yes, arb_ladder_buf *no, arb_quote *quote);

/* Fee of one taker order whose fills are the level array `fills` (n_fills pairs). */
int32_t arb_order_fee(const arb_fee_schedule *schedule, const int64_t *fills, int64_t n_fills,
                      int64_t *fee_out);

/* Build an engine. On error *bad_index (if not NULL) names the offending market or relation
 * index (-1 when the error is not about one). */
int32_t arb_engine_create(const arb_universe *universe, arb_engine **engine_out,
                          int64_t *bad_index);
void arb_engine_destroy(arb_engine *engine);
/* Full five-lane scan of the current universe. */
int32_t arb_engine_scan(arb_engine *engine, arb_result *out);
/* Replace one market's native book and return only the opportunities whose legs touch it. */
int32_t arb_engine_update(arb_engine *engine, int32_t market, const int64_t *levels,
                          const int64_t *counts, arb_result *out);

/* Evaluation (spec/ARBITRAGE.md "Evaluation"): the only floating-point function. */
typedef struct {
    double ev;               /* $ per contract                                                */
    double kelly;            /* [0, 1]                                                        */
    double shrunk;           /* [0, 1], Baker–McHale                                          */
} arb_evaluation;

int32_t arb_evaluate(int64_t qty, int64_t profit, int64_t cost, int64_t fee,
                     double confidence, double fill_prob, double loss, double sigma,
                     arb_evaluation *out);

#ifdef __cplusplus
}
#endif
#endif /* ARB_ENGINE_H */
