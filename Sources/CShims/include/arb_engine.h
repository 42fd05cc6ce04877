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

#define ARB_ABI_VERSION 4u   /* 2: the record scanner (arb_scanner_*); 3: arb_engine_nearest;
                                4: arb_engine_set_limits */

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
/* The candidates nearest an arbitrage now, for sizing work done ahead of them: up to `capacity`
 * candidate indices (the engine's generation order: intra per market in index order, then each
 * relation's leg sets) of the candidates whose every leg's side has a level in a tradeable market,
 * by their edge at the best levels (payout less each leg's best-level cost with its unrounded fee,
 * exact) descending, ties by index ascending. *count_out: the indices written; with indices_out
 * NULL (a size query) nothing is written and *count_out is how many candidates have such an edge.
 * ARB_E_LENGTH (capacity < 0), ARB_E_NULL (engine, count_out). */
int32_t arb_engine_nearest(const arb_engine *engine, int32_t *indices_out, int64_t capacity,
                           int64_t *count_out);

/* Change the universe's max_qty (lots, ARB_QTY_UNCAPPED = no cap) and min_profit (µ$ >= 0) of a
 * live engine: every later scan and update sizes with them, exactly as an engine created with them
 * (they are read only when a candidate is sized). ARB_E_QTY (max_qty < -1), ARB_E_MONEY
 * (min_profit < 0), ARB_E_NULL (engine); nothing changes on an error. */
int32_t arb_engine_set_limits(arb_engine *engine, int64_t max_qty, int64_t min_profit);

/* Evaluation (spec/ARBITRAGE.md "Evaluation"): the only floating-point function. */
typedef struct {
    double ev;               /* $ per contract                                                */
    double kelly;            /* [0, 1]                                                        */
    double shrunk;           /* [0, 1], Baker–McHale                                          */
} arb_evaluation;

int32_t arb_evaluate(int64_t qty, int64_t profit, int64_t cost, int64_t fee,
                     double confidence, double fill_prob, double loss, double sigma,
                     arb_evaluation *out);

/* ---- sizing (spec/SIZING.md steps 1, 2, 3, 6, 7, 8, 4: the per-opportunity chain) --------- *
 *
 * The chain runs in SIZING.md's order 1 → 2 → 3 → 6 → 7 → 8 → 4 on one opportunity and reports
 * every step's quantity, cap, outcome, reason and the inputs it used. Integers are exact; doubles
 * are computed in the Python twin's order (python/arbbot/sizing/steps.py), parity 1e-12 relative.
 * Checks (and their order) are the twin's `check_input` then `check_params`; on error `bad_index`
 * names the offending leg (-1 when the error is not about one).                                 */

#define ARB_SIZING_VENUES     3            /* per-venue arrays are indexed by ARB_VENUE_*          */
#define ARB_SIZING_STEPS      7            /* per-opportunity steps, computation order             */
#define ARB_SIZING_PATHS_MAX  10000000LL   /* Monte Carlo paths: 1 ... this                        */
#define ARB_SIZING_TIME_MAX_S 1.0e6        /* latencies (s): at most this                          */
#define ARB_SIZING_VOL_MAX    1.0e6        /* price_vol ($/sqrt s) and |drift| ($/s): at most this  */
#define ARB_SIZING_MONEY_MAX  4611686018427387904LL  /* 2^62 µ$: payout and fees at q0 stay below */

/* Steps, numbered as in SIZING.md; also the bit (1u << step) of arb_sizing_params.enabled. */
enum {
    ARB_STEP_NONE = 0, ARB_STEP_EXECUTION_MODEL = 1, ARB_STEP_FILL_MODEL = 2, ARB_STEP_FEE_MODEL = 3,
    ARB_STEP_KELLY = 4, ARB_STEP_LIQUIDITY_IMPACT = 6, ARB_STEP_CAPITAL_LOCK = 7, ARB_STEP_MONTE_CARLO = 8
};
enum {   /* what a step did */
    ARB_OUTCOME_KEPT = 0,      /* ran, qty = qty_in                                             */
    ARB_OUTCOME_LOWERED = 1,   /* ran, qty < qty_in                                             */
    ARB_OUTCOME_REJECTED = 2,  /* ran, qty = 0                                                  */
    ARB_OUTCOME_DISABLED = 3,  /* enabled bit clear: qty = qty_in, values still computed        */
    ARB_OUTCOME_SKIPPED = 4    /* an earlier step rejected: qty = 0, nothing computed           */
};
enum { ARB_CAP_NONE = 0, ARB_CAP_CONTRACTS = 1, ARB_CAP_DOLLARS = 2 };
enum {   /* why a step rejected or has no cap (python: arbbot.sizing.types.Reason) */
    ARB_REASON_NONE = 0, ARB_REASON_CAP_BELOW_LOT = 1, ARB_REASON_CAP_INVALID = 2,
    ARB_REASON_FILL_PROB_LOW = 3, ARB_REASON_PROFIT_LOW = 4, ARB_REASON_VENUE_MINIMUM = 5,
    ARB_REASON_EDGE_NONPOSITIVE = 6, ARB_REASON_NO_LATER_LEGS = 7, ARB_REASON_NO_IMPACT = 8,
    ARB_REASON_CLOSED = 9, ARB_REASON_RETURN_LOW = 10, ARB_REASON_MEAN_NONPOSITIVE = 11,
    ARB_REASON_CVAR_NONPOSITIVE = 12, ARB_REASON_PI_ZERO = 13, ARB_REASON_SHRUNK_ZERO = 14,
    ARB_REASON_CAPITAL_ONLY = 15, ARB_REASON_BOUND_BELOW_LOT = 16, ARB_REASON_REJECTED_EARLIER = 17
};

/* One leg, in send order. Its ladder is levels[level_start ... level_start + level_count): the
 * bought side's effective asks, ascending price, one level per price, qty > 0. */
typedef struct {
    int32_t venue;               /* ARB_VENUE_*                                               */
    int32_t lot;                 /* 100 (1 contract) or 1 (0.01)                              */
    arb_fee_schedule fees;
    int64_t level_start;         /* pairs, into arb_sizing_input.levels                       */
    int64_t level_count;         /* >= 1                                                      */
    int64_t best_bid;            /* ticks, 0 ... best ask (0 = no bid)                        */
    double depletion_rate;       /* rho, per s, finite >= 0                                   */
    double price_vol;            /* s, $/sqrt(s), 0 ... ARB_SIZING_VOL_MAX                    */
} arb_sizing_leg;                /* 72 bytes */

/* A venue's history (step 5's output): IOC fills / attempts, the cleaned p50 latency. */
typedef struct {
    int64_t fills;               /* 0 ... attempts                                            */
    int64_t attempts;
    double latency_s;            /* 0 ... ARB_SIZING_TIME_MAX_S                               */
    int64_t latency_samples;     /* >= 0                                                      */
} arb_venue_stats;               /* 32 bytes */

typedef struct {
    uint64_t id;                 /* the opportunity id's 16 hex digits: the Monte Carlo seed  */
    int64_t payout;              /* P, $ per contract of the leg set, >= 1                    */
    int64_t qty;                 /* q0, lots: the depth walk's quantity at max_qty = q0       */
    const arb_sizing_leg *legs;
    int64_t n_legs;              /* >= 1                                                      */
    const int64_t *levels;       /* (price ticks, qty lots) pairs of every leg's ladder       */
    int64_t n_levels;            /* pairs                                                     */
    double confidence;           /* c in [0, 1]                                               */
    double days_to_close;        /* T, finite                                                 */
    int64_t min_profit;          /* µ$ >= 0                                                   */
    int64_t equity;              /* E, µ$ >= 0                                                */
    double loss_budget;          /* step 10's budget, $, finite >= 0                          */
    arb_venue_stats venues[ARB_SIZING_VENUES];
} arb_sizing_input;

/* The [sizing] settings the chain reads (SIZING.md "Keys and defaults"); money in µ$. */
typedef struct {
    double leg_latency_s;        /* (0, ARB_SIZING_TIME_MAX_S]                                */
    double round_trip_s;         /* (0, ARB_SIZING_TIME_MAX_S]                                */
    int64_t min_samples;         /* >= 1                                                      */
    uint32_t enabled;            /* bit (1u << ARB_STEP_*) set = enabled; other bits 0        */
    int32_t reserved;            /* 0                                                         */
    double alpha, beta;          /* fill-model Beta prior, > 0                                */
    double min_fill_prob;        /* [0, 1]                                                    */
    int64_t per_order_extra[ARB_SIZING_VENUES];   /* µ$ per order, 0 ... ARB_MONEY_FEE_MAX    */
    int64_t min_per_order[ARB_SIZING_VENUES];     /* µ$ per order, 0 ... ARB_MONEY_FEE_MAX    */
    int64_t min_order[ARB_SIZING_VENUES];         /* µ$ of leg cost, 0 ... ARB_MONEY_FEE_MAX  */
    double exponent;             /* > 0                                                       */
    double max_edge_share;       /* (0, 1]                                                    */
    double near_days, far_days;  /* 0 <= near < far                                           */
    double far_multiplier;       /* (0, 1]                                                    */
    double min_annual_return;    /* >= 0                                                      */
    int64_t paths;               /* 1 ... ARB_SIZING_PATHS_MAX                                */
    double drift;                /* $/s, |drift| <= ARB_SIZING_VOL_MAX                        */
    int64_t max_requote;         /* ticks, >= 0                                               */
    double cvar_level, var_level;   /* (0, 1)                                                 */
    double kelly_multiplier;     /* (0, 1]                                                    */
    double sigma;                /* > 0                                                       */
} arb_sizing_params;

/* One step's record. cap is meaningful only when cap_unit != ARB_CAP_NONE (it may be NaN: a
 * NaN cap rejects with ARB_REASON_CAP_INVALID). */
typedef struct {
    int32_t step;                /* ARB_STEP_*                                                */
    int32_t outcome;             /* ARB_OUTCOME_*                                             */
    int64_t qty_in;              /* lots                                                      */
    int64_t qty;                 /* lots after the step                                       */
    double cap;                  /* contracts or dollars (cap_unit)                           */
    int32_t cap_unit;            /* ARB_CAP_*                                                 */
    int32_t reason;              /* ARB_REASON_*                                              */
} arb_sizing_step;               /* 40 bytes */

/* Per-leg values the steps used, one record per leg in leg order (each at its step's q_in). */
typedef struct {
    double em_depth;             /* step 1: D_k, contracts at prices <= the worst fill        */
    double em_rate;              /* step 1: rho_k, per s                                      */
    double em_time;              /* step 1: t_k, s (the leg's batch time)                     */
    double em_left;              /* step 1: D_k exp(-rho_k t_k), contracts                    */
    int64_t worst;               /* step 3: worst price, ticks                                */
    int64_t cost;                /* step 3: leg cost, µ$                                      */
    int64_t fee;                 /* step 3: fee, µ$ (extras included when fee_model enabled)  */
    int64_t exact_fee;           /* step 3: the ARBITRAGE.md fee, µ$                          */
    int64_t min_order;           /* step 3: the venue's minimum leg cost, µ$                  */
    int64_t later_rank;          /* step 6: position among the later legs (batch order), -1 = batch 1 */
    double li_depth;             /* step 6: D_k (undecayed), contracts    (later legs only)   */
    double half_spread;          /* step 6: a_k, $                        (later legs only)   */
    double fill;                 /* step 6: f of the leg's venue          (later legs only)   */
    double leg_cap;              /* step 6: contracts, +inf = no cap, NaN when g <= 0 (later legs only) */
} arb_sizing_leg_out;            /* 112 bytes */

typedef struct {
    int64_t paths;
    uint64_t seed;
    double mean;                 /* $ per contract                                            */
    double p_loss;
    double cvar;                 /* at cvar_level                                             */
    double value_at_risk;        /* VaR at var_level                                          */
    double l_leg;                /* mean max(0, -PnL) over paths where a later batch missed   */
    int64_t missed;              /* such paths                                                */
} arb_sizing_monte_carlo;        /* 64 bytes */

typedef struct {
    int64_t engine_qty;          /* q0, lots                                                  */
    int64_t qty;                 /* after step 4, lots; 0 = rejected                          */
    int32_t rejected_by;         /* ARB_STEP_*, ARB_STEP_NONE = not rejected                  */
    int32_t bound_by;            /* the last step that lowered qty, ARB_STEP_NONE = the engine */
    double fill;                 /* f: product of the later batches' f_v (1 when none)        */
    int64_t leg_start;           /* first arb_sizing_leg_out of this opportunity              */
    int64_t n_legs;
    arb_sizing_step steps[ARB_SIZING_STEPS];   /* computation order                          */
    /* batches (send order; batch 0 is SIZING.md's batch 1) and step 2 */
    int64_t n_batches;           /* 1 ... 3                                                   */
    int64_t batch_venue[ARB_SIZING_VENUES];
    double batch_time[ARB_SIZING_VENUES];    /* s                                             */
    double batch_fill[ARB_SIZING_VENUES];    /* f_v; [0] = 1                                  */
    /* step 3: the trade at its q_in (per-leg parts in arb_sizing_leg_out) */
    int64_t fm_qty, fm_payout, fm_cost, fm_fee, fm_profit;   /* lots, µ$                      */
    int64_t min_profit;          /* µ$                                                        */
    /* step 6 */
    double li_g;                 /* $ per contract at its q_in                                */
    /* step 7 */
    double cl_days, cl_regime, cl_g, cl_k, cl_annual_return;   /* NaN regime/return: T <= 0   */
    /* step 8 (has_monte_carlo = 0 when the chain stopped earlier) */
    int32_t has_monte_carlo;
    int32_t sigma_from_posterior;   /* step 4: 1 when sigma = c sd(f) (delta method)          */
    arb_sizing_monte_carlo monte_carlo;
    double mc_budget;            /* $                                                         */
    /* step 4 */
    double confidence, kelly_fill, pi, loss, l_leg, sigma, ev, kelly, shrunk;
    int64_t equity;              /* µ$                                                        */
    int64_t bound;               /* the dollar bound, µ$; -1 = none                           */
} arb_sizing_result;

/* Size one opportunity. legs_out must hold input->n_legs records (ARB_E_CAPACITY otherwise);
 * out->leg_start is 0. */
int32_t arb_size(const arb_sizing_input *input, const arb_sizing_params *params,
                 arb_sizing_result *out, arb_sizing_leg_out *legs_out, int64_t legs_capacity,
                 int64_t *bad_index);

/* Size n opportunities against one params (independently, as SIZING.md asks). out[i] describes
 * inputs[i]; leg records are packed back to back (out[i].leg_start). The first invalid
 * opportunity stops the batch: its index goes to *bad_opportunity, the leg to *bad_index. */
int32_t arb_size_batch(const arb_sizing_input *inputs, int64_t n, const arb_sizing_params *params,
                       arb_sizing_result *out, arb_sizing_leg_out *legs_out, int64_t legs_capacity,
                       int64_t *bad_opportunity, int64_t *bad_index);

/* ---- the portfolio steps (SIZING.md 9, 10, 11, 12) and the final re-price ----------------- *
 *
 * After the chain, on the same opportunity: the lane allocator's bankroll, the loss cap, the
 * exposure rooms and the drawdown tier, each a bound on q as the twin's (python/arbbot/sizing/
 * portfolio_steps.py) with the same records; then the final re-price (pipeline.final_reprice).
 * The portfolio's values (weights, rooms, the tier) are the caller's: computed from its store,
 * unchanged until it refreshes. Steps 9–12 are numbered ARB_STEP_* 9–12 in records; their
 * reasons are ARB_REASON_* or these (python: PortfolioReason).                               */
enum {
    ARB_STEP_LANE_ALLOCATOR = 9, ARB_STEP_LOSS_CAP = 10, ARB_STEP_EXPOSURE_MANAGER = 11,
    ARB_STEP_DRAWDOWN_MANAGER = 12
};
enum {
    ARB_REASON_LANE_OFF = 101, ARB_REASON_BUDGET_ZERO = 102, ARB_REASON_NO_LOSS = 103,
    ARB_REASON_NO_ROOM = 104, ARB_REASON_NO_LIMIT = 105, ARB_REASON_NORMAL = 106,
    ARB_REASON_CAUTION = 107, ARB_REASON_DRAWDOWN_STOP = 108
};
enum { ARB_DRAWDOWN_NORMAL = 0, ARB_DRAWDOWN_CAUTION = 1, ARB_DRAWDOWN_STOP = 2 };
#define ARB_PORTFOLIO_LEGS_MAX 64      /* a scope's legs are a 64-bit mask                      */

typedef struct {
    uint32_t enabled;            /* bit (1u << step) for steps 9 ... 12                       */
    int32_t drawdown_tier;       /* ARB_DRAWDOWN_*                                            */
    double lane_weight;          /* w_l; 0 = the lane is not in `lanes` (step 9 rejects)      */
    double lane_bankroll;        /* B_l, $                                                    */
    double drawdown_multiplier;  /* caution_multiplier (read only in caution)                 */
    int64_t n_scopes;            /* exposure scopes with a limit, twin order; >= 0            */
    const int64_t *scope_room;   /* µ$ per scope (may be <= 0: no room)                       */
    const uint64_t *scope_legs;  /* per scope: bit j set = leg j is in it (j < n_legs <= 64)  */
} arb_portfolio_limits;

typedef struct {
    arb_sizing_step steps[4];    /* 9, 10, 11, 12; SKIPPED (qty 0) once q is 0               */
    double loss_k;               /* step 10: K at its q_in, $ per contract (0 when not run)   */
    double loss_w;               /* step 10: W at its q_in                                    */
    int64_t qty;                 /* after step 12, lots; 0 = a step rejected (or the chain)   */
    int64_t final_qty;           /* the final re-price's quantity; 0 = none passes / not run   */
    int64_t payout;              /* µ$ at final_qty (0 when final_qty is 0)                   */
    int64_t cost;
    int64_t fee;
    int64_t profit;
} arb_portfolio_result;          /* 224 bytes */

/* The chain (arb_size), then steps 9–12 and the final re-price. scope_qty_out: n_scopes
 * entries, the bound each exposure room gives (computed when step 11 runs, else 0);
 * leg_prices_out: 3 × n_legs int64, per leg (worst ticks, cost µ$, fee µ$) at final_qty.
 * Errors: the chain's, then ARB_E_LENGTH (n_legs > ARB_PORTFOLIO_LEGS_MAX, n_scopes < 0, a
 * scope naming a leg past the last), ARB_E_NULL, ARB_E_ARGUMENT (drawdown_tier). */
int32_t arb_size_portfolio(const arb_sizing_input *input, const arb_sizing_params *params,
                           const arb_portfolio_limits *limits, arb_sizing_result *out,
                           arb_sizing_leg_out *legs_out, int64_t legs_capacity,
                           arb_portfolio_result *portfolio_out, int64_t *scope_qty_out,
                           int64_t *leg_prices_out, int64_t *bad_index);

/* Sizing's view of an engine's legs, for sizing an opportunity it reported without copying its
 * books out first: for each of the n legs (`legs`: market index, ARB_SIDE_* pairs) the market's
 * venue, lot and fee schedule, the side's effective ask ladder as the engine holds it now
 * (copied back to back into levels_out, level_start / level_count set) and the token's best raw
 * bid (0 = none), as arb_decompose's ladder and quote give them; depletion_rate and price_vol
 * are 0 (the caller's estimates). *levels_used: the pairs written, or with ARB_E_CAPACITY the
 * pairs needed (nothing written). ARB_E_MARKET / ARB_E_ARGUMENT (side): *bad_index = the leg. */
int32_t arb_engine_sizing_legs(const arb_engine *engine, const int32_t *legs, int64_t n_legs,
                               arb_sizing_leg *legs_out, int64_t *levels_out, int64_t levels_capacity,
                               int64_t *levels_used, int64_t *bad_index);

/* ---- step 5: robust estimates (SIZING.md robust_inputs; twin: python/arbbot/sizing/robust.py) *
 *
 * One estimate from a ring of (t seconds, x) sample pairs: the pairs with now − window_s <= t <= now
 * (a non-finite t or x is ignored) in time order (stable), then for ARB_ESTIMATE_VOLATILITY (x = a
 * mid, $) ΔP / √Δt over consecutive pairs with Δt > 0; fewer than min_samples of those raw values,
 * or enabled = 0 → the prior; else the MAD filter (0.6745 × |x − median| / MAD <= mad_z; none
 * dropped when MAD = 0), winsorizing to [Q1 − iqr_k × IQR, Q3 + iqr_k × IQR] (R type-7 quartiles of
 * the survivors), and the statistic: median (latency), EWMA with weight ewma_alpha from the first
 * survivor (depletion), RMS (volatility). Nothing surviving the MAD filter → the prior. The doubles
 * are the twin's, to the bit.                                                                     */
enum {
    ARB_ESTIMATE_LATENCY    = 0,   /* median, seconds                                          */
    ARB_ESTIMATE_DEPLETION  = 1,   /* EWMA, per second                                         */
    ARB_ESTIMATE_VOLATILITY = 2    /* RMS of ΔP / √Δt, $ / √s; the samples are mids            */
};

typedef struct {
    int32_t enabled;             /* 0: the prior (step 5 off)                                  */
    int32_t min_samples;         /* >= 0                                                       */
    double window_s;             /* finite, >= 0                                               */
    double mad_z;                /* finite, > 0                                                */
    double iqr_k;                /* finite, >= 0                                               */
    double ewma_alpha;           /* finite, 0 ... 1 (read for ARB_ESTIMATE_DEPLETION)          */
    double prior;                /* finite: the value when there are too few samples           */
} arb_robust_params;             /* 48 bytes */

typedef struct {
    double value;
    int64_t samples;             /* raw values in the window (volatility: the ΔP / √Δt ones)   */
    int32_t prior;               /* 1: value is the prior                                      */
    int32_t reserved;
} arb_robust_estimate_out;       /* 24 bytes */

/* samples: n pairs (2n doubles), the oldest at pair `start` (0 <= start < n; 0 when n = 0), read
 * start ... n − 1 then 0 ... start − 1. Errors: ARB_E_NULL, ARB_E_KIND (kind), ARB_E_LENGTH (n < 0
 * or > INT32_MAX, start out of range), ARB_E_FLOAT (now not finite, a params double out of range),
 * ARB_E_ARGUMENT (min_samples < 0). */
int32_t arb_robust_estimate(int32_t kind, const double *samples, int64_t n, int64_t start, double now,
                            const arb_robust_params *params, arb_robust_estimate_out *out);

/* ---- the replay's record scanner (python/arbbot/replay/scan.py: PyScanner is the twin) ------ *
 *
 * One pass over a recording's bytes: the `book` lines of the recorder's exact form are parsed,
 * their sizing samples taken (depletion at the best effective ask per market and side, throttled
 * mids) and their books coalesced per venue and millisecond into bursts; raw `ws` / `rest` lines
 * are counted and skipped; any other line stops the feed (the caller reads it the general way and
 * hands its book to arb_scanner_add). The grammar, the sampling and the floating-point operations
 * are the twin's, to the bit (doubles are Python's: an int / int is the correctly rounded quotient).
 *
 * Markets are interned as (venue label, market id) byte strings: market index = order of first
 * appearance. Venue ids 0, 1, 2 are "kalshi", "polymarket", "forecastex" (ARB_VENUE_*); labels
 * added through arb_scanner_add get 3, 4, ...
 * Memory: arb_scan_output, arb_scan_name and venue bytes point into scanner-owned storage, valid
 * until the next arb_scanner_feed / arb_scanner_add / arb_scanner_take on that scanner.            */

typedef struct arb_scanner arb_scanner;   /* opaque; one caller at a time */

enum { ARB_SAMPLE_DEPLETION = 0, ARB_SAMPLE_MID = 1 };

typedef struct {
    int64_t end;             /* offset after the last line taken                              */
    int64_t lines;           /* lines taken (books and raw frames)                            */
    int32_t stopped;         /* 1: the line at `end` is not for the fast path (read it the
                                general way); 0: the rest of the data is an incomplete line    */
    int32_t reserved;
} arb_scan_feed;

typedef struct {
    int64_t last;            /* recv ms of the last book record (fed or added), if has_last    */
    int32_t has_last;        /* 0 before the first book                                       */
    int32_t reserved;
    int64_t frames;          /* raw ws / rest lines skipped                                   */
    int64_t books;           /* book records, fed or added                                    */
    int64_t n_names;         /* markets interned: indices 0 ... n_names - 1                   */
    int64_t n_venues;        /* venue labels interned: ids 0 ... n_venues - 1                 */
} arb_scan_state;

/* One closed burst: a venue's books of one millisecond. */
typedef struct {
    int64_t at;              /* recv ms                                                       */
    int32_t venue;           /* venue id                                                      */
    int32_t reserved;
    int64_t delivery_start;  /* into arb_scan_output.deliveries                               */
    int64_t delivery_count;  /* >= 1                                                          */
    int64_t sample_start;    /* into arb_scan_output.samples                                  */
    int64_t sample_count;
} arb_scan_burst;            /* 48 bytes */

/* A market's last book in a burst (markets in order of first appearance in the burst). */
typedef struct {
    int32_t market;          /* market index                                                  */
    int32_t tradeable;       /* 0 / 1                                                         */
    int64_t records;         /* book records it stands for, >= 1                              */
    int64_t level_start;     /* pairs into arb_scan_output.levels: the native book, sides back
                                to back in ARB_BOOK_* order, levels as recorded                */
    int64_t counts[4];       /* levels per side                                               */
    int64_t reason_start;    /* bytes into arb_scan_output.text (UTF-8)                       */
    int64_t reason_len;
} arb_scan_delivery;         /* 72 bytes */

typedef struct {
    int32_t kind;            /* ARB_SAMPLE_*                                                  */
    int32_t market;          /* market index                                                  */
    int32_t side;            /* ARB_SIDE_* (depletion); 0 for a mid                           */
    int32_t reserved;
    double time;             /* unix s: the second (depletion), recv ms / 1000 (mid)          */
    double value;            /* removed / start size (depletion), mid $ (mid)                 */
} arb_scan_sample;           /* 32 bytes */

/* The bursts closed and not yet taken, in file order. */
typedef struct {
    const arb_scan_burst *bursts;
    int64_t n_bursts;
    const arb_scan_delivery *deliveries;
    int64_t n_deliveries;
    const arb_scan_sample *samples;
    int64_t n_samples;
    const int64_t *levels;   /* (price ticks, qty lots) pairs                                 */
    int64_t n_levels;        /* pairs                                                         */
    const uint8_t *text;
    int64_t n_text;
} arb_scan_output;

/* A venue label or a market's (venue id, market id); bytes are UTF-8, not NUL-terminated. */
typedef struct {
    int32_t venue;           /* venue id                                                      */
    int32_t reserved;
    const uint8_t *bytes;    /* the market id (arb_scanner_name) or the label (arb_scanner_venue) */
    int64_t len;
} arb_scan_name;

int32_t arb_scanner_create(arb_scanner **scanner_out);
void arb_scanner_destroy(arb_scanner *scanner);
/* Scan the complete lines of data[start ... len) (start >= 0; start >= len takes nothing). A book
 * line whose recv_ts_ms goes back, or whose samples would overflow int64, also stops the feed. */
int32_t arb_scanner_feed(arb_scanner *scanner, const uint8_t *data, int64_t len, int64_t start,
                         arb_scan_feed *out);
/* A book record read the general way (its time already checked), in file order: levels holds
 * counts[0] + ... + counts[3] pairs. ARB_E_OVERFLOW (nothing changed) when its samples' sums do
 * not fit in int64. */
int32_t arb_scanner_add(arb_scanner *scanner, int64_t at, const uint8_t *venue, int64_t venue_len,
                        const uint8_t *market, int64_t market_len, const int64_t *levels,
                        const int64_t *counts, int32_t tradeable, const uint8_t *reason,
                        int64_t reason_len);
/* The bursts closed since the last take; finish = 1 closes the open ones first (end of file). */
int32_t arb_scanner_take(arb_scanner *scanner, int32_t finish, arb_scan_output *out);
int32_t arb_scanner_state(arb_scanner *scanner, arb_scan_state *out);
/* Market `index`'s venue id and market id bytes (ARB_E_MARKET when out of range). */
int32_t arb_scanner_name(arb_scanner *scanner, int64_t index, arb_scan_name *out);
/* Venue id `venue`'s label bytes (ARB_E_VENUE when out of range). */
int32_t arb_scanner_venue(arb_scanner *scanner, int32_t venue, arb_scan_name *out);

#ifdef __cplusplus
}
#endif
#endif /* ARB_ENGINE_H */
