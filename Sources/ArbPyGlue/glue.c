/*
 * arbbot._native — CPython glue for the Swift engine (arb_engine.h), linked into the same .so.
 *
 * Responsibilities: argument checks (types, buffer formats, lengths consistent with counts and
 * offsets, so Swift never reads past a buffer), GIL release on the long calls, conversion of
 * engine-owned results into Python objects, and mapping error codes to `NativeError(code,
 * message, index)`. Buffers are anything exporting the buffer protocol (numpy, array, bytes).
 *
 * Compiles to nothing without Python.h, so `swift build` / `swift test` work without Python.
 */
#if __has_include(<Python.h>)
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>
#include "arb_engine.h"

static PyObject *NativeError;   /* ValueError subclass; args = (code, message, index) */

static PyObject *raise_status(int32_t code, int64_t index) {
    PyObject *args = Py_BuildValue("(isL)", (int)code, arb_status_message(code), (long long)index);
    if (args != NULL) {
        PyErr_SetObject(NativeError, args);
        Py_DECREF(args);
    }
    return NULL;
}

static PyObject *raise_glue(int32_t code, const char *message) {
    PyObject *args = Py_BuildValue("(isL)", (int)code, message, -1LL);
    if (args != NULL) {
        PyErr_SetObject(NativeError, args);
        Py_DECREF(args);
    }
    return NULL;
}

/* ---- buffers ------------------------------------------------------------------------------ */

/* Acquire a C-contiguous buffer of `itemsize`-byte signed integers (or bytes when itemsize = 1).
 * Returns 0 and fills view on success; -1 with TypeError set otherwise. */
static int get_int_buffer(PyObject *obj, Py_buffer *view, Py_ssize_t itemsize, const char *name) {
    if (PyObject_GetBuffer(obj, view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) != 0) {
        PyErr_Format(PyExc_TypeError, "%s: expected a contiguous buffer (numpy array, array.array, bytes)", name);
        return -1;
    }
    const char *fmt = view->format ? view->format : "B";
    if (*fmt == '<' || *fmt == '=' || *fmt == '@') fmt++;
    int ok;
    if (itemsize == 1) {
        ok = view->itemsize == 1 && (fmt[0] == 'B' || fmt[0] == 'b' || fmt[0] == 'c') && fmt[1] == 0;
    } else {
        ok = view->itemsize == itemsize && fmt[1] == 0 &&
             (itemsize == 8 ? (fmt[0] == 'q' || fmt[0] == 'l') : (fmt[0] == 'i' || fmt[0] == 'l'));
    }
    if (!ok) {
        PyErr_Format(PyExc_TypeError, "%s: expected %s items, got format '%s' of %zd bytes", name,
                     itemsize == 8 ? "int64" : itemsize == 4 ? "int32" : "byte",
                     view->format ? view->format : "B", view->itemsize);
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

static Py_ssize_t items(const Py_buffer *view) { return view->len / view->itemsize; }

/* counts: any sequence of 4 ints; each must be >= 0 and levels must hold exactly 2*sum pairs. */
static int read_counts(PyObject *obj, int64_t counts[4], const Py_buffer *levels) {
    PyObject *seq = PySequence_Fast(obj, "counts: expected a sequence of 4 ints");
    if (seq == NULL) return -1;
    if (PySequence_Fast_GET_SIZE(seq) != 4) {
        Py_DECREF(seq);
        raise_glue(ARB_E_LENGTH, "counts must have exactly 4 entries (yes_bids, yes_asks, no_bids, no_asks)");
        return -1;
    }
    int64_t total = 0;
    for (int i = 0; i < 4; i++) {
        long long v = PyLong_AsLongLong(PySequence_Fast_GET_ITEM(seq, i));
        if (v == -1 && PyErr_Occurred()) { Py_DECREF(seq); return -1; }
        if (v < 0 || v > (1LL << 40)) {
            Py_DECREF(seq);
            raise_glue(ARB_E_LENGTH, "a side count is negative or absurdly large");
            return -1;
        }
        counts[i] = v;
        total += v;
    }
    Py_DECREF(seq);
    if (total * 2 != (int64_t)items(levels)) {
        raise_glue(ARB_E_LENGTH, "levels must hold exactly 2 * sum(counts) int64 values (price, qty pairs)");
        return -1;
    }
    return 0;
}

/* ---- module functions ------------------------------------------------------------------- */

static PyObject *py_abi_version(PyObject *self, PyObject *unused) {
    return PyLong_FromUnsignedLong(arb_abi_version());
}

static PyObject *py_status_message(PyObject *self, PyObject *arg) {
    long code = PyLong_AsLong(arg);
    if (code == -1 && PyErr_Occurred()) return NULL;
    if (code < INT32_MIN || code > INT32_MAX) code = -1;
    return PyUnicode_FromString(arb_status_message((int32_t)code));
}

static PyObject *ladder_tuple(const int64_t *levels, int64_t count) {
    PyObject *out = PyTuple_New((Py_ssize_t)count);
    if (out == NULL) return NULL;
    for (int64_t i = 0; i < count; i++) {
        PyObject *pair = Py_BuildValue("(LL)", (long long)levels[2 * i], (long long)levels[2 * i + 1]);
        if (pair == NULL) { Py_DECREF(out); return NULL; }
        PyTuple_SET_ITEM(out, (Py_ssize_t)i, pair);
    }
    return out;
}

/* decompose(venue, levels, counts) -> (yes ladder, no ladder, quote 7-tuple) */
static PyObject *py_decompose(PyObject *self, PyObject *args) {
    int venue;
    PyObject *levels_obj, *counts_obj;
    if (!PyArg_ParseTuple(args, "iOO:decompose", &venue, &levels_obj, &counts_obj)) return NULL;
    Py_buffer levels;
    if (get_int_buffer(levels_obj, &levels, 8, "levels") != 0) return NULL;
    int64_t counts[4];
    PyObject *result = NULL;
    int64_t stack_yes[128], stack_no[128];
    int64_t *yes_mem = stack_yes, *no_mem = stack_no;
    if (read_counts(counts_obj, counts, &levels) != 0) goto done;
    int64_t cap = counts[0] + counts[1] + counts[2] + counts[3];   /* >= either ladder's size */
    if (cap > 64) {
        yes_mem = PyMem_Malloc((size_t)cap * 2 * sizeof(int64_t));
        no_mem = PyMem_Malloc((size_t)cap * 2 * sizeof(int64_t));
        if (yes_mem == NULL || no_mem == NULL) { PyErr_NoMemory(); goto done; }
    } else {
        cap = 64;
    }
    arb_ladder_buf yes = {yes_mem, cap, 0}, no = {no_mem, cap, 0};
    arb_quote q;
    int32_t status = arb_decompose((int32_t)venue, (const int64_t *)levels.buf, counts, &yes, &no, &q);
    if (status != ARB_OK) { raise_status(status, -1); goto done; }
    PyObject *y = ladder_tuple(yes.levels, yes.count), *n = ladder_tuple(no.levels, no.count);
    if (y != NULL && n != NULL) {
        result = Py_BuildValue("(NN(iiiiiii))", y, n, q.best_bid_yes, q.best_ask_yes, q.best_bid_no,
                               q.best_ask_no, q.mid, q.overround, q.crossed);
    } else {
        Py_XDECREF(y);
        Py_XDECREF(n);
    }
done:
    if (yes_mem != stack_yes) PyMem_Free(yes_mem);
    if (no_mem != stack_no) PyMem_Free(no_mem);
    PyBuffer_Release(&levels);
    return result;
}

/* order_fee(taker_rate_ppm, per_contract, rounding, fills) -> fee µ$ */
static PyObject *py_order_fee(PyObject *self, PyObject *args) {
    long long rate, per_contract, rounding;
    PyObject *fills_obj;
    if (!PyArg_ParseTuple(args, "LLLO:order_fee", &rate, &per_contract, &rounding, &fills_obj)) return NULL;
    if (rate < INT32_MIN || rate > INT32_MAX) return raise_status(ARB_E_RATE, -1);
    Py_buffer fills;
    if (get_int_buffer(fills_obj, &fills, 8, "fills") != 0) return NULL;
    if (items(&fills) % 2 != 0) {
        PyBuffer_Release(&fills);
        return raise_glue(ARB_E_LENGTH, "fills must hold (price, qty) pairs");
    }
    arb_fee_schedule schedule = {(int32_t)rate, 0, per_contract, rounding};
    int64_t fee = 0;
    int32_t status = arb_order_fee(&schedule, (const int64_t *)fills.buf, (int64_t)(items(&fills) / 2), &fee);
    PyBuffer_Release(&fills);
    if (status != ARB_OK) return raise_status(status, -1);
    return PyLong_FromLongLong(fee);
}

/* evaluate(qty, profit, cost, fee, confidence, fill_prob, loss, sigma) -> (ev, kelly, shrunk) */
static PyObject *py_evaluate(PyObject *self, PyObject *args) {
    long long qty, profit, cost, fee;
    double c, f, loss, sigma;
    if (!PyArg_ParseTuple(args, "LLLLdddd:evaluate", &qty, &profit, &cost, &fee, &c, &f, &loss, &sigma))
        return NULL;
    arb_evaluation out;
    int32_t status = arb_evaluate(qty, profit, cost, fee, c, f, loss, sigma, &out);
    if (status != ARB_OK) return raise_status(status, -1);
    return Py_BuildValue("(ddd)", out.ev, out.kelly, out.shrunk);
}

/* ---- sizing (arb_size / arb_size_batch) ------------------------------------------------- */

/* A read-only buffer of exactly `size` bytes (size > 0) or of a multiple of `unit` bytes (size 0). */
static int get_bytes(PyObject *obj, Py_buffer *view, Py_ssize_t size, Py_ssize_t unit, const char *name) {
    if (PyObject_GetBuffer(obj, view, PyBUF_C_CONTIGUOUS) != 0) {
        PyErr_Format(PyExc_TypeError, "%s: expected a contiguous buffer (bytes, bytearray)", name);
        return -1;
    }
    if (size > 0 ? view->len != size : view->len % unit != 0) {
        PyBuffer_Release(view);
        raise_glue(ARB_E_LENGTH, "a sizing record buffer has the wrong length (see arb_engine.h)");
        return -1;
    }
    return 0;
}

/* robust_estimate(kind, samples, start, now, params) -> (value, samples, prior): step 5's estimate
 * (arb_robust_estimate) over a float64 buffer of (t, x) pairs (a SampleRing's own array, the
 * oldest pair at `start`); params: an arb_robust_params record. Short: the GIL is kept. */
static PyObject *py_robust_estimate(PyObject *self, PyObject *args) {
    int kind;
    PyObject *samples_obj, *params_obj;
    long long start;
    double now;
    if (!PyArg_ParseTuple(args, "iOLdO:robust_estimate", &kind, &samples_obj, &start, &now, &params_obj))
        return NULL;
    Py_buffer samples, params;
    if (PyObject_GetBuffer(samples_obj, &samples, PyBUF_FORMAT | PyBUF_C_CONTIGUOUS) != 0) return NULL;
    const char *fmt = samples.format ? samples.format : "B";
    if (*fmt == '<' || *fmt == '=' || *fmt == '@') fmt++;
    if (samples.itemsize != 8 || strcmp(fmt, "d") != 0 || items(&samples) % 2 != 0) {
        PyBuffer_Release(&samples);
        PyErr_SetString(PyExc_TypeError, "robust_estimate: samples must be a float64 buffer of (t, x) pairs");
        return NULL;
    }
    if (get_bytes(params_obj, &params, sizeof(arb_robust_params), 0, "params") != 0) {
        PyBuffer_Release(&samples);
        return NULL;
    }
    arb_robust_params p;
    memcpy(&p, params.buf, sizeof p);
    arb_robust_estimate_out out;
    int32_t status = arb_robust_estimate((int32_t)kind, (const double *)samples.buf, (int64_t)(items(&samples) / 2),
                                         (int64_t)start, now, &p, &out);
    PyBuffer_Release(&samples);
    PyBuffer_Release(&params);
    if (status != ARB_OK) return raise_status(status, -1);
    return Py_BuildValue("(dLO)", out.value, (long long)out.samples, out.prior ? Py_True : Py_False);
}

static PyObject *raise_sizing(int32_t code, int64_t index, int64_t opportunity) {
    PyObject *args = Py_BuildValue("(isLL)", (int)code, arb_status_message(code), (long long)index,
                                   (long long)opportunity);
    if (args != NULL) {
        PyErr_SetObject(NativeError, args);
        Py_DECREF(args);
    }
    return NULL;
}

/* size_batch(inputs, legs, levels, params) -> (result records: bytes, leg records: bytes)
 *
 * inputs: n packed arb_sizing_input records whose `legs` field holds the index of the record's
 * first leg in `legs` (packed arb_sizing_leg records) instead of a pointer; `levels` (int64
 * pairs) is shared: level_start indexes it, and every input's levels / n_levels are set to it.
 * The glue checks the leg ranges (ARB_E_LENGTH naming the opportunity) and sizes the output.
 * Errors: NativeError(code, message, leg index, opportunity index). */
static PyObject *py_size_batch(PyObject *self, PyObject *args) {
    PyObject *inputs_obj, *legs_obj, *levels_obj, *params_obj;
    if (!PyArg_ParseTuple(args, "OOOO:size_batch", &inputs_obj, &legs_obj, &levels_obj, &params_obj)) return NULL;
    Py_buffer inputs, legs, levels, params;
    if (get_bytes(inputs_obj, &inputs, 0, sizeof(arb_sizing_input), "inputs") != 0) return NULL;
    PyObject *result = NULL;
    arb_sizing_input *copy = NULL;
    int have_legs = 0, have_levels = 0, have_params = 0;
    if (get_bytes(legs_obj, &legs, 0, sizeof(arb_sizing_leg), "legs") != 0) goto done;
    have_legs = 1;
    if (get_int_buffer(levels_obj, &levels, 8, "levels") != 0) goto done;
    have_levels = 1;
    if (get_bytes(params_obj, &params, sizeof(arb_sizing_params), 0, "params") != 0) goto done;
    have_params = 1;
    if (items(&levels) % 2 != 0) { raise_glue(ARB_E_LENGTH, "levels must hold (price, qty) pairs"); goto done; }
    int64_t n = (int64_t)(inputs.len / (Py_ssize_t)sizeof(arb_sizing_input));
    int64_t n_legs = (int64_t)(legs.len / (Py_ssize_t)sizeof(arb_sizing_leg)), total = 0;
    copy = PyMem_Malloc((size_t)(n > 0 ? n : 1) * sizeof(arb_sizing_input));
    if (copy == NULL) { PyErr_NoMemory(); goto done; }
    memcpy(copy, inputs.buf, (size_t)inputs.len);
    for (int64_t i = 0; i < n; i++) {
        uint64_t first = (uint64_t)(uintptr_t)copy[i].legs;
        int64_t count = copy[i].n_legs;
        if (count < 0 || first > (uint64_t)n_legs || (uint64_t)count > (uint64_t)n_legs - first) {
            raise_sizing(ARB_E_LENGTH, -1, i);
            goto done;
        }
        copy[i].legs = (const arb_sizing_leg *)legs.buf + first;
        copy[i].levels = (const int64_t *)levels.buf;
        copy[i].n_levels = (int64_t)(items(&levels) / 2);
        total += count;
    }
    PyObject *out = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(n * (int64_t)sizeof(arb_sizing_result)));
    PyObject *legs_out = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(total * (int64_t)sizeof(arb_sizing_leg_out)));
    if (out == NULL || legs_out == NULL) { Py_XDECREF(out); Py_XDECREF(legs_out); goto done; }
    int64_t bad_opportunity = -1, bad_index = -1;
    int32_t status;
    Py_BEGIN_ALLOW_THREADS
    status = n == 1
        ? arb_size(copy, params.buf, (arb_sizing_result *)PyBytes_AS_STRING(out),
                   (arb_sizing_leg_out *)PyBytes_AS_STRING(legs_out), total, &bad_index)
        : arb_size_batch(copy, n, params.buf, (arb_sizing_result *)PyBytes_AS_STRING(out),
                         (arb_sizing_leg_out *)PyBytes_AS_STRING(legs_out), total, &bad_opportunity, &bad_index);
    Py_END_ALLOW_THREADS
    if (n == 1 && status != ARB_OK) bad_opportunity = 0;
    if (status != ARB_OK) {
        Py_DECREF(out);
        Py_DECREF(legs_out);
        raise_sizing(status, bad_index, bad_opportunity);
        goto done;
    }
    result = Py_BuildValue("(NN)", out, legs_out);
done:
    PyMem_Free(copy);
    if (have_params) PyBuffer_Release(&params);
    if (have_levels) PyBuffer_Release(&levels);
    if (have_legs) PyBuffer_Release(&legs);
    PyBuffer_Release(&inputs);
    return result;
}

/* ---- Engine type ------------------------------------------------------------------------ */

typedef struct {
    PyObject_HEAD
    arb_engine *engine;
    int32_t n_markets;
    int busy;            /* set while a call runs without the GIL: refuse re-entry */
} EngineObject;

static void Engine_dealloc(EngineObject *self) {
    if (self->engine != NULL) arb_engine_destroy(self->engine);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

enum { B_VENUE, B_LOT, B_RATE, B_PER_CONTRACT, B_ROUNDING, B_COUNTS, B_LEVELS, B_NAMES,
       B_NAME_OFFSETS, B_REL_KIND, B_REL_EXHAUSTIVE, B_REL_OFFSETS, B_REL_MEMBERS, B_COUNT };

static int Engine_init(EngineObject *self, PyObject *args, PyObject *kwargs) {
    static char *keywords[] = {"venue", "lot", "taker_rate_ppm", "per_contract", "rounding",
                               "book_counts", "book_levels", "names", "name_offsets", "rel_kind",
                               "rel_exhaustive", "rel_offsets", "rel_members", "max_qty",
                               "min_profit", NULL};
    static const Py_ssize_t itemsize[B_COUNT] = {4, 4, 4, 8, 8, 8, 8, 1, 8, 4, 4, 8, 4};
    PyObject *objs[B_COUNT];
    long long max_qty, min_profit;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OOOOOOOOOOOOOLL:Engine", keywords,
                                     &objs[0], &objs[1], &objs[2], &objs[3], &objs[4], &objs[5],
                                     &objs[6], &objs[7], &objs[8], &objs[9], &objs[10], &objs[11],
                                     &objs[12], &max_qty, &min_profit))
        return -1;
    if (self->engine != NULL) {
        PyErr_SetString(PyExc_RuntimeError, "Engine is already initialised");
        return -1;
    }
    Py_buffer views[B_COUNT];
    int acquired = 0, rc = -1;
    for (; acquired < B_COUNT; acquired++) {
        if (get_int_buffer(objs[acquired], &views[acquired], itemsize[acquired], keywords[acquired]) != 0)
            goto done;
    }
    Py_ssize_t n = items(&views[B_VENUE]), r = items(&views[B_REL_KIND]);
    if (n > INT32_MAX - 1 || r > INT32_MAX - 1) { raise_glue(ARB_E_LENGTH, "too many markets or relations"); goto done; }
    if (items(&views[B_LOT]) != n || items(&views[B_RATE]) != n || items(&views[B_PER_CONTRACT]) != n ||
        items(&views[B_ROUNDING]) != n || items(&views[B_COUNTS]) != 4 * n ||
        items(&views[B_NAME_OFFSETS]) != n + 1) {
        raise_glue(ARB_E_LENGTH, "per-market arrays must all have n_markets entries (book_counts 4n, name_offsets n+1)");
        goto done;
    }
    if (items(&views[B_REL_EXHAUSTIVE]) != r || items(&views[B_REL_OFFSETS]) != r + 1) {
        raise_glue(ARB_E_LENGTH, "rel_exhaustive must have n_relations entries and rel_offsets n_relations+1");
        goto done;
    }
    /* Lengths Swift cannot know: book levels vs counts, names vs offsets, members vs offsets. */
    const int64_t *counts = views[B_COUNTS].buf;
    int64_t total = 0;
    for (Py_ssize_t i = 0; i < 4 * n; i++) {
        if (counts[i] < 0 || counts[i] > (1LL << 40)) { raise_glue(ARB_E_LENGTH, "a book count is negative or absurdly large"); goto done; }
        total += counts[i];
    }
    if (total * 2 != (int64_t)items(&views[B_LEVELS])) {
        raise_glue(ARB_E_LENGTH, "book_levels must hold exactly 2 * sum(book_counts) int64 values");
        goto done;
    }
    const int64_t *name_off = views[B_NAME_OFFSETS].buf;
    for (Py_ssize_t i = 0; i <= n; i++) {
        if ((i == 0 ? name_off[0] != 0 : name_off[i] < name_off[i - 1]) || name_off[i] > (int64_t)views[B_NAMES].len) {
            raise_glue(ARB_E_NAME, "name_offsets must start at 0, not decrease, and stay within names");
            goto done;
        }
    }
    const int64_t *rel_off = views[B_REL_OFFSETS].buf;
    for (Py_ssize_t j = 0; j <= r; j++) {
        if ((j == 0 ? rel_off[0] != 0 : rel_off[j] < rel_off[j - 1]) || rel_off[j] > (int64_t)items(&views[B_REL_MEMBERS])) {
            raise_glue(ARB_E_LENGTH, "rel_offsets must start at 0, not decrease, and stay within rel_members");
            goto done;
        }
    }
    if (rel_off[r] != (int64_t)items(&views[B_REL_MEMBERS])) {
        raise_glue(ARB_E_LENGTH, "rel_offsets[-1] must equal len(rel_members)");
        goto done;
    }
    arb_universe u = {
        (int32_t)n, (int32_t)r, views[B_VENUE].buf, views[B_LOT].buf, views[B_RATE].buf,
        views[B_PER_CONTRACT].buf, views[B_ROUNDING].buf, views[B_COUNTS].buf, views[B_LEVELS].buf,
        views[B_NAMES].buf, views[B_NAME_OFFSETS].buf, views[B_REL_KIND].buf,
        views[B_REL_EXHAUSTIVE].buf, views[B_REL_OFFSETS].buf, views[B_REL_MEMBERS].buf,
        max_qty, min_profit};
    arb_engine *engine = NULL;
    int64_t bad_index = -1;
    int32_t status;
    Py_BEGIN_ALLOW_THREADS
    status = arb_engine_create(&u, &engine, &bad_index);
    Py_END_ALLOW_THREADS
    if (status != ARB_OK) { raise_status(status, bad_index); goto done; }
    self->engine = engine;
    self->n_markets = (int32_t)n;
    rc = 0;
done:
    for (int i = 0; i < acquired; i++) PyBuffer_Release(&views[i]);
    return rc;
}

static PyObject *empty_result;   /* (b"", b"", ()): most updates find nothing */

static PyObject *result_tuple(const arb_result *res) {
    if (res->n_opportunities == 0 && res->n_untradeable == 0) return Py_NewRef(empty_result);
    PyObject *opps = PyBytes_FromStringAndSize((const char *)res->opportunities,
                                               (Py_ssize_t)(res->n_opportunities * (int64_t)sizeof(arb_opportunity)));
    PyObject *legs = PyBytes_FromStringAndSize((const char *)res->legs,
                                               (Py_ssize_t)(res->n_legs * (int64_t)sizeof(arb_leg)));
    PyObject *untradeable = PyTuple_New((Py_ssize_t)res->n_untradeable);
    if (opps == NULL || legs == NULL || untradeable == NULL) goto fail;
    for (int64_t i = 0; i < res->n_untradeable; i++) {
        PyObject *v = PyLong_FromLong(res->untradeable[i]);
        if (v == NULL) goto fail;
        PyTuple_SET_ITEM(untradeable, (Py_ssize_t)i, v);
    }
    return Py_BuildValue("(NNN)", opps, legs, untradeable);
fail:
    Py_XDECREF(opps);
    Py_XDECREF(legs);
    Py_XDECREF(untradeable);
    return NULL;
}

static int enter(EngineObject *self) {
    if (self->engine == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "Engine is not initialised");
        return -1;
    }
    if (self->busy) {
        PyErr_SetString(PyExc_RuntimeError, "Engine is in use by another thread; engines are not shared across threads");
        return -1;
    }
    self->busy = 1;
    return 0;
}

/* scan() -> (opportunity records bytes, leg records bytes, untradeable market indices) */
static PyObject *Engine_scan(EngineObject *self, PyObject *unused) {
    if (enter(self) != 0) return NULL;
    arb_result res;
    int32_t status;
    Py_BEGIN_ALLOW_THREADS
    status = arb_engine_scan(self->engine, &res);
    Py_END_ALLOW_THREADS
    PyObject *out = status == ARB_OK ? result_tuple(&res) : raise_status(status, -1);
    self->busy = 0;
    return out;
}

/* A packed book's counts: its first 4 int64 (each >= 0), then exactly 2*sum of them int64 values. */
static int read_packed_counts(const Py_buffer *packed, int64_t counts[4]) {
    if (items(packed) < 4) {
        raise_glue(ARB_E_LENGTH, "a packed book starts with its 4 side counts");
        return -1;
    }
    const int64_t *p = (const int64_t *)packed->buf;
    int64_t total = 0;
    for (int i = 0; i < 4; i++) {
        if (p[i] < 0 || p[i] > (1LL << 40)) {
            raise_glue(ARB_E_LENGTH, "a side count is negative or absurdly large");
            return -1;
        }
        counts[i] = p[i];
        total += p[i];
    }
    if (total * 2 != (int64_t)items(packed) - 4) {
        raise_glue(ARB_E_LENGTH, "a packed book holds exactly 2 * sum(counts) int64 values after its counts");
        return -1;
    }
    return 0;
}

/* update(market, levels, counts) -> like scan(), for the opportunities touching `market`;
 * update(market, packed): the book packed as one int64 buffer, its 4 side counts first. */
static PyObject *Engine_update(EngineObject *self, PyObject *args) {
    int market;
    PyObject *levels_obj, *counts_obj = NULL;
    if (!PyArg_ParseTuple(args, "iO|O:update", &market, &levels_obj, &counts_obj)) return NULL;
    Py_buffer levels;
    if (get_int_buffer(levels_obj, &levels, 8, counts_obj == NULL ? "packed" : "levels") != 0) return NULL;
    int64_t counts[4];
    PyObject *out = NULL;
    const int64_t *pairs = (const int64_t *)levels.buf;
    int read = counts_obj == NULL ? read_packed_counts(&levels, counts) : read_counts(counts_obj, counts, &levels);
    if (counts_obj == NULL) pairs += 4;
    if (read == 0 && enter(self) == 0) {
        arb_result res;
        int32_t status = arb_engine_update(self->engine, (int32_t)market, pairs, counts, &res);
        out = status == ARB_OK ? result_tuple(&res) : raise_status(status, status == ARB_E_MARKET ? market : -1);
        self->busy = 0;
    }
    PyBuffer_Release(&levels);
    return out;
}

/* size_legs(legs, input, estimates, params, limits, rooms, scope_legs)
 *     -> (result: bytes, leg records out: bytes, portfolio result: bytes, scope bounds: bytes,
 *         leg prices: bytes)
 *
 * One opportunity the engine reported, sized whole on the engine's own books: no ladder crosses
 * into Python. legs: an int32 buffer of (market index, ARB_SIDE_*) pairs, send order; input: one
 * packed arb_sizing_input (its legs / levels / n_levels fields are ignored; n_legs must equal the
 * pairs); estimates: a float64 buffer of (depletion_rate, price_vol) per leg; params: one packed
 * arb_sizing_params; limits: one packed arb_portfolio_limits (its scope fields are ignored), rooms
 * the scopes' µ$ and scope_legs their leg masks (int64 buffers, one entry per scope). The legs come
 * from arb_engine_sizing_legs with the estimates set, then arb_size_portfolio: the chain, steps
 * 9–12 and the final re-price. Returns the arb_sizing_result and its leg records, the
 * arb_portfolio_result, one int64 bound per scope and 3 int64 per leg (worst, cost, fee at the
 * final quantity). Errors: NativeError(code, message, leg index, 0). */
static PyObject *Engine_size_legs(EngineObject *self, PyObject *args) {
    PyObject *legs_obj, *input_obj, *estimates_obj, *params_obj;
    PyObject *limits_obj, *rooms_obj, *masks_obj;
    if (!PyArg_ParseTuple(args, "OOOOOOO:size_legs", &legs_obj, &input_obj, &estimates_obj, &params_obj,
                          &limits_obj, &rooms_obj, &masks_obj))
        return NULL;
    Py_buffer legs, input, estimates, params, limits, rooms, masks;
    int have_input = 0, have_estimates = 0, have_params = 0, have_limits = 0, have_rooms = 0, have_masks = 0;
    int entered = 0;
    PyObject *result = NULL, *out = NULL, *legs_out = NULL, *sizing_legs = NULL, *levels = NULL;
    PyObject *portfolio = NULL, *scope_qty = NULL, *leg_prices = NULL;
    if (get_int_buffer(legs_obj, &legs, 4, "legs") != 0) return NULL;
    if (get_bytes(input_obj, &input, sizeof(arb_sizing_input), 0, "input") != 0) goto done;
    have_input = 1;
    if (PyObject_GetBuffer(estimates_obj, &estimates, PyBUF_FORMAT | PyBUF_C_CONTIGUOUS) != 0) goto done;
    have_estimates = 1;
    const char *est_fmt = estimates.format ? estimates.format : "B";
    if (*est_fmt == '<' || *est_fmt == '=' || *est_fmt == '@') est_fmt++;
    if (estimates.itemsize != 8 || strcmp(est_fmt, "d") != 0) {
        PyErr_SetString(PyExc_TypeError, "estimates: expected a float64 buffer (array('d'))");
        goto done;
    }
    if (get_bytes(params_obj, &params, sizeof(arb_sizing_params), 0, "params") != 0) goto done;
    have_params = 1;
    arb_portfolio_limits limits_copy;
    if (get_bytes(limits_obj, &limits, sizeof(arb_portfolio_limits), 0, "limits") != 0) goto done;
    have_limits = 1;
    if (get_int_buffer(rooms_obj, &rooms, 8, "rooms") != 0) goto done;
    have_rooms = 1;
    if (get_int_buffer(masks_obj, &masks, 8, "scope_legs") != 0) goto done;
    have_masks = 1;
    memcpy(&limits_copy, limits.buf, sizeof limits_copy);
    if (items(&rooms) != items(&masks)) {
        raise_glue(ARB_E_LENGTH, "size_legs: rooms and scope_legs must have one entry per scope");
        goto done;
    }
    limits_copy.n_scopes = (int64_t)items(&rooms);
    limits_copy.scope_room = (const int64_t *)rooms.buf;
    limits_copy.scope_legs = (const uint64_t *)masks.buf;
    arb_sizing_input copy;
    memcpy(&copy, input.buf, sizeof copy);
    int64_t n = (int64_t)(items(&legs) / 2);
    if (items(&legs) % 2 != 0 || copy.n_legs != n || items(&estimates) != 2 * n) {
        raise_glue(ARB_E_LENGTH, "size_legs: legs must be (market, side) pairs, as many as the input's n_legs, "
                                 "and estimates a (rho, s) pair per leg");
        goto done;
    }
    if (n == 0) { raise_sizing(ARB_E_LENGTH, -1, 0); goto done; }
    if (enter(self) != 0) goto done;
    entered = 1;
    int64_t needed = 0, bad_index = -1;
    sizing_legs = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(n * (int64_t)sizeof(arb_sizing_leg)));
    if (sizing_legs == NULL) goto done;
    arb_sizing_leg *leg_records = (arb_sizing_leg *)PyBytes_AS_STRING(sizing_legs);
    int32_t status = arb_engine_sizing_legs(self->engine, legs.buf, n, leg_records, NULL, 0, &needed, &bad_index);
    if (status == ARB_E_CAPACITY) {
        levels = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(needed * 16));
        if (levels == NULL) goto done;
        status = arb_engine_sizing_legs(self->engine, legs.buf, n, leg_records, (int64_t *)PyBytes_AS_STRING(levels),
                                        needed, &needed, &bad_index);
    } else if (status == ARB_OK) {
        levels = PyBytes_FromStringAndSize(NULL, 0);
        if (levels == NULL) goto done;
    }
    if (status != ARB_OK) { raise_sizing(status, bad_index, 0); goto done; }
    const double *est = estimates.buf;
    for (int64_t j = 0; j < n; j++) {
        leg_records[j].depletion_rate = est[2 * j];
        leg_records[j].price_vol = est[2 * j + 1];
    }
    copy.legs = leg_records;
    copy.levels = (const int64_t *)PyBytes_AS_STRING(levels);
    copy.n_levels = needed;
    out = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)sizeof(arb_sizing_result));
    legs_out = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(n * (int64_t)sizeof(arb_sizing_leg_out)));
    if (out == NULL || legs_out == NULL) goto done;
    portfolio = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)sizeof(arb_portfolio_result));
    scope_qty = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(limits_copy.n_scopes * 8));
    leg_prices = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(3 * n * 8));
    if (portfolio == NULL || scope_qty == NULL || leg_prices == NULL) goto done;
    /* The GIL stays held: the call is short, and taking the GIL back could wait out another
     * thread's switch interval (5 ms) on the latency path. */
    status = arb_size_portfolio(&copy, params.buf, &limits_copy, (arb_sizing_result *)PyBytes_AS_STRING(out),
                                (arb_sizing_leg_out *)PyBytes_AS_STRING(legs_out), n,
                                (arb_portfolio_result *)PyBytes_AS_STRING(portfolio),
                                (int64_t *)PyBytes_AS_STRING(scope_qty), (int64_t *)PyBytes_AS_STRING(leg_prices),
                                &bad_index);
    if (status != ARB_OK) { raise_sizing(status, bad_index, 0); goto done; }
    result = PyTuple_Pack(5, out, legs_out, portfolio, scope_qty, leg_prices);
done:
    if (entered) self->busy = 0;
    Py_XDECREF(out);
    Py_XDECREF(legs_out);
    Py_XDECREF(sizing_legs);
    Py_XDECREF(levels);
    Py_XDECREF(portfolio);
    Py_XDECREF(scope_qty);
    Py_XDECREF(leg_prices);
    if (have_masks) PyBuffer_Release(&masks);
    if (have_rooms) PyBuffer_Release(&rooms);
    if (have_limits) PyBuffer_Release(&limits);
    if (have_params) PyBuffer_Release(&params);
    if (have_estimates) PyBuffer_Release(&estimates);
    if (have_input) PyBuffer_Release(&input);
    PyBuffer_Release(&legs);
    return result;
}

/* nearest(capacity) -> tuple[int]: the candidate indices nearest an arbitrage now, the largest
 * edge at the best levels first (arb_engine_nearest). */
static PyObject *Engine_nearest(EngineObject *self, PyObject *args) {
    long long capacity;
    if (!PyArg_ParseTuple(args, "L:nearest", &capacity)) return NULL;
    if (capacity < 0) return raise_glue(ARB_E_LENGTH, "capacity must be >= 0");
    if (enter(self) != 0) return NULL;
    int64_t count = 0;
    int32_t status;
    Py_BEGIN_ALLOW_THREADS
    status = arb_engine_nearest(self->engine, NULL, 0, &count);   /* how many have an edge */
    Py_END_ALLOW_THREADS
    if (count > capacity) count = capacity;
    int32_t *indices = status == ARB_OK ? PyMem_Malloc((size_t)(count > 0 ? count : 1) * sizeof(int32_t)) : NULL;
    PyObject *out = NULL;
    if (status != ARB_OK) {
        raise_status(status, -1);
    } else if (indices == NULL) {
        PyErr_NoMemory();
    } else {
        Py_BEGIN_ALLOW_THREADS
        status = arb_engine_nearest(self->engine, indices, count, &count);
        Py_END_ALLOW_THREADS
        if (status != ARB_OK) {
            raise_status(status, -1);
        } else if ((out = PyTuple_New((Py_ssize_t)count)) != NULL) {
            for (int64_t i = 0; i < count; i++) {
                PyObject *index = PyLong_FromLong(indices[i]);
                if (index == NULL) { Py_CLEAR(out); break; }
                PyTuple_SET_ITEM(out, (Py_ssize_t)i, index);
            }
        }
    }
    self->busy = 0;
    PyMem_Free(indices);
    return out;
}

/* set_limits(max_qty, min_profit) -> None: the engine's max_qty (lots, -1 = no cap) and min_profit
 * (µ$) changed in place (arb_engine_set_limits): later scans size with them. */
static PyObject *Engine_set_limits(EngineObject *self, PyObject *args) {
    long long max_qty, min_profit;
    if (!PyArg_ParseTuple(args, "LL:set_limits", &max_qty, &min_profit)) return NULL;
    if (enter(self) != 0) return NULL;
    int32_t status = arb_engine_set_limits(self->engine, (int64_t)max_qty, (int64_t)min_profit);
    self->busy = 0;
    if (status != ARB_OK) return raise_status(status, -1);
    Py_RETURN_NONE;
}

static PyMethodDef Engine_methods[] = {
    {"scan", (PyCFunction)Engine_scan, METH_NOARGS,
     "scan() -> (opportunity records: bytes, leg records: bytes, untradeable: tuple[int])"},
    {"update", (PyCFunction)Engine_update, METH_VARARGS,
     "update(market, levels, counts) or update(market, packed) -> same as scan(), only opportunities touching "
     "market"},
    {"size_legs", (PyCFunction)Engine_size_legs, METH_VARARGS,
     "size_legs(legs, input, estimates, params, limits, rooms, scope_legs) -> the chain, steps 9-12 and the final "
     "re-price on the engine's own books (see arbbot.sizing.on_engine)"},
    {"nearest", (PyCFunction)Engine_nearest, METH_VARARGS,
     "nearest(capacity) -> tuple[int]: up to capacity candidate indices, the largest edge at the best levels "
     "first (arb_engine_nearest)"},
    {"set_limits", (PyCFunction)Engine_set_limits, METH_VARARGS,
     "set_limits(max_qty, min_profit) -> None: change the engine's limits in place (arb_engine_set_limits)"},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject EngineType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "arbbot._native.Engine",
    .tp_basicsize = sizeof(EngineObject),
    .tp_dealloc = (destructor)Engine_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "The Swift engine holding one universe (see arbbot.engine.native).",
    .tp_methods = Engine_methods,
    .tp_init = (initproc)Engine_init,
    .tp_new = PyType_GenericNew,
};

/* ---- Scanner type: the replay's record scanner (arbbot.replay.scan; PyScanner is the twin) ---- *
 *
 * Swift parses, interns, samples and coalesces (arb_scanner_*); the glue converts: `add`'s Python
 * arguments to int64 levels and UTF-8, the closed bursts to the twin's tuples, each delivered book
 * as one array('q') in the session's packed layout (arbbot.run.live.pack: four side counts, then
 * the (price, lots) pairs). Strings cross as UTF-8 with "surrogatepass" both ways, so any str
 * round-trips. Cached objects (all immutable): the venue labels by id, the market index ints and
 * the last reason. Tuples holding only ints, floats, strs, arrays and such tuples cannot be part
 * of a cycle: they are untracked by the GC (as CPython itself untracks them lazily), which keeps
 * collections cheap while a replay holds many bursts. `busy` refuses re-entry (Python code can run
 * while `add` converts its arguments, or from a finalizer while bursts are built). The GIL stays
 * held. */

static PyObject *array_type;     /* array.array, and its typecode "q" (set at module init) */
static PyObject *typecode_q;

typedef struct {
    PyObject_HEAD
    arb_scanner *scanner;
    PyObject *names;         /* list of (venue, market), grown after each feed / add */
    PyObject **ints;         /* market index -> int */
    Py_ssize_t n_synced, ints_capacity;
    PyObject *venues;        /* list: venue id -> str */
    PyObject *reason;        /* the last reason built, and its UTF-8 bytes */
    char *reason_bytes;
    Py_ssize_t reason_len, reason_capacity;
    int64_t *levels;         /* add's levels */
    Py_ssize_t levels_capacity;
    int busy;
} ScannerObject;

static int scanner_enter(ScannerObject *self) {
    if (self->scanner == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "Scanner is not initialised");
        return -1;
    }
    if (self->busy) {
        PyErr_SetString(PyExc_RuntimeError, "Scanner is already in use (re-entrant call)");
        return -1;
    }
    self->busy = 1;
    return 0;
}

static PyObject *decode_utf8(const uint8_t *bytes, int64_t len) {
    return PyUnicode_DecodeUTF8((const char *)bytes, (Py_ssize_t)len, "surrogatepass");
}

/* Borrowed: venue id's label. */
static PyObject *scanner_venue(ScannerObject *self, int32_t venue) {
    while (PyList_GET_SIZE(self->venues) <= venue) {
        arb_scan_name label;
        int32_t status = arb_scanner_venue(self->scanner, (int32_t)PyList_GET_SIZE(self->venues), &label);
        if (status != ARB_OK) return raise_status(status, venue);
        PyObject *str = decode_utf8(label.bytes, label.len);
        if (str == NULL) return NULL;
        int rc = PyList_Append(self->venues, str);
        Py_DECREF(str);
        if (rc != 0) return NULL;
    }
    return PyList_GET_ITEM(self->venues, venue);
}

/* Append the markets interned since the last sync to `names` (and their index ints). */
static int scanner_sync(ScannerObject *self) {
    arb_scan_state st;
    int32_t status = arb_scanner_state(self->scanner, &st);
    if (status != ARB_OK) { raise_status(status, -1); return -1; }
    if (st.n_names > PY_SSIZE_T_MAX / (Py_ssize_t)sizeof(PyObject *)) { PyErr_NoMemory(); return -1; }
    Py_ssize_t n = (Py_ssize_t)st.n_names;
    if (n > self->ints_capacity) {
        Py_ssize_t capacity = self->ints_capacity < 1024 ? 1024 : self->ints_capacity;
        while (capacity < n) capacity *= 2;
        PyObject **grown = PyMem_Realloc(self->ints, (size_t)capacity * sizeof(PyObject *));
        if (grown == NULL) { PyErr_NoMemory(); return -1; }
        self->ints = grown;
        self->ints_capacity = capacity;
    }
    while (self->n_synced < n) {
        Py_ssize_t i = self->n_synced;
        arb_scan_name name;
        status = arb_scanner_name(self->scanner, (int64_t)i, &name);
        if (status != ARB_OK) { raise_status(status, i); return -1; }
        PyObject *venue = scanner_venue(self, name.venue);
        if (venue == NULL) return -1;
        PyObject *market = decode_utf8(name.bytes, name.len);
        if (market == NULL) return -1;
        PyObject *key = PyTuple_New(2);
        PyObject *index = PyLong_FromSsize_t(i);
        if (key == NULL || index == NULL) { Py_XDECREF(key); Py_XDECREF(index); Py_DECREF(market); return -1; }
        PyTuple_SET_ITEM(key, 0, Py_NewRef(venue));
        PyTuple_SET_ITEM(key, 1, market);
        int rc = self->names != NULL ? PyList_Append(self->names, key) : 0;
        Py_DECREF(key);
        if (rc != 0) { Py_DECREF(index); return -1; }
        self->ints[i] = index;
        self->n_synced = i + 1;
    }
    return 0;
}

static PyObject *scanner_reason(ScannerObject *self, const uint8_t *bytes, int64_t len) {
    if (self->reason != NULL && len == self->reason_len && (len == 0 || memcmp(bytes, self->reason_bytes, (size_t)len) == 0))
        return Py_NewRef(self->reason);
    PyObject *str = decode_utf8(bytes, len);
    if (str == NULL) return NULL;
    if (len > self->reason_capacity) {
        char *grown = PyMem_Realloc(self->reason_bytes, (size_t)len);
        if (grown == NULL) { Py_DECREF(str); return PyErr_NoMemory(); }
        self->reason_bytes = grown;
        self->reason_capacity = (Py_ssize_t)len;
    }
    if (len > 0) memcpy(self->reason_bytes, bytes, (size_t)len);
    self->reason_len = (Py_ssize_t)len;
    Py_XSETREF(self->reason, Py_NewRef(str));
    return str;
}

/* A delivery's book packed: array('q') of the four side counts, then its (price, lots) pairs;
 * counts and levels checked against the output's n_levels. */
static PyObject *scanner_packed(const arb_scan_output *o, const arb_scan_delivery *d) {
    int64_t total = 0;
    for (int k = 0; k < 4; k++) {
        if (d->counts[k] < 0 || d->counts[k] > o->n_levels) return raise_glue(ARB_E_LENGTH, "scanner output: bad level count");
        total += d->counts[k];
    }
    if (d->level_start < 0 || d->level_start > o->n_levels - total)
        return raise_glue(ARB_E_LENGTH, "scanner output: levels out of range");
    PyObject *bytes = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(8 * (4 + 2 * total)));
    if (bytes == NULL) return NULL;
    int64_t *out = (int64_t *)PyBytes_AS_STRING(bytes);
    memcpy(out, d->counts, 4 * sizeof(int64_t));
    if (total > 0) memcpy(out + 4, o->levels + 2 * d->level_start, (size_t)(16 * total));
    PyObject *args[2] = {typecode_q, bytes};
    PyObject *packed = PyObject_Vectorcall(array_type, args, 2, NULL);
    Py_DECREF(bytes);
    return packed;
}

static PyObject *scanner_index(ScannerObject *self, int32_t market) {
    if (market < 0 || market >= self->n_synced) return raise_glue(ARB_E_MARKET, "scanner output: market index out of range");
    return Py_NewRef(self->ints[market]);
}

static PyObject *scanner_delivery(ScannerObject *self, const arb_scan_output *o, const arb_scan_delivery *d) {
    if (d->reason_start < 0 || d->reason_len < 0 || d->reason_start > o->n_text - d->reason_len)
        return raise_glue(ARB_E_LENGTH, "scanner output: reason out of range");
    PyObject *t = PyTuple_New(5);
    if (t == NULL) return NULL;
    PyObject *index = scanner_index(self, d->market);
    if (index == NULL) { Py_DECREF(t); return NULL; }
    PyTuple_SET_ITEM(t, 0, index);
    PyObject *records = PyLong_FromLongLong(d->records);
    if (records == NULL) { Py_DECREF(t); return NULL; }
    PyTuple_SET_ITEM(t, 1, records);
    PyObject *packed = scanner_packed(o, d);
    if (packed == NULL) { Py_DECREF(t); return NULL; }
    PyTuple_SET_ITEM(t, 2, packed);
    PyTuple_SET_ITEM(t, 3, Py_NewRef(d->tradeable ? Py_True : Py_False));
    PyObject *reason = scanner_reason(self, o->text + d->reason_start, d->reason_len);
    if (reason == NULL) { Py_DECREF(t); return NULL; }
    PyTuple_SET_ITEM(t, 4, reason);
    PyObject_GC_UnTrack(t);
    return t;
}

static PyObject *scanner_sample(ScannerObject *self, const arb_scan_sample *s) {
    PyObject *t = PyTuple_New(5);
    if (t == NULL) return NULL;
    PyObject *items[5] = {PyLong_FromLong(s->kind), scanner_index(self, s->market), PyLong_FromLong(s->side),
                          PyFloat_FromDouble(s->time), PyFloat_FromDouble(s->value)};
    int ok = 1;
    for (int k = 0; k < 5; k++) {
        if (items[k] == NULL) ok = 0;
        else PyTuple_SET_ITEM(t, k, items[k]);
    }
    if (!ok) { Py_DECREF(t); return NULL; }   /* the NULL slots stay NULL: tuple dealloc skips them */
    PyObject_GC_UnTrack(t);
    return t;
}

/* The closed bursts as the twin's list of (venue, at, deliveries, samples). */
static PyObject *scanner_bursts(ScannerObject *self, const arb_scan_output *o) {
    if (scanner_sync(self) != 0) return NULL;
    PyObject *out = PyList_New((Py_ssize_t)o->n_bursts);
    if (out == NULL) return NULL;
    for (int64_t b = 0; b < o->n_bursts; b++) {
        const arb_scan_burst *burst = &o->bursts[b];
        if (burst->delivery_start < 0 || burst->delivery_count < 0 || burst->sample_start < 0 || burst->sample_count < 0 ||
            burst->delivery_start > o->n_deliveries - burst->delivery_count ||
            burst->sample_start > o->n_samples - burst->sample_count) {
            Py_DECREF(out);
            return raise_glue(ARB_E_LENGTH, "scanner output: burst ranges out of range");
        }
        PyObject *venue = scanner_venue(self, burst->venue);
        if (venue == NULL) { Py_DECREF(out); return NULL; }
        PyObject *t = PyTuple_New(4);
        if (t == NULL) { Py_DECREF(out); return NULL; }
        PyList_SET_ITEM(out, (Py_ssize_t)b, t);
        PyTuple_SET_ITEM(t, 0, Py_NewRef(venue));
        PyObject *at = PyLong_FromLongLong(burst->at);
        PyObject *deliveries = PyList_New((Py_ssize_t)burst->delivery_count);
        PyObject *samples = PyList_New((Py_ssize_t)burst->sample_count);
        if (at != NULL) PyTuple_SET_ITEM(t, 1, at);
        if (deliveries != NULL) PyTuple_SET_ITEM(t, 2, deliveries);
        if (samples != NULL) PyTuple_SET_ITEM(t, 3, samples);
        if (at == NULL || deliveries == NULL || samples == NULL) { Py_DECREF(out); return NULL; }
        for (int64_t j = 0; j < burst->delivery_count; j++) {
            PyObject *d = scanner_delivery(self, o, &o->deliveries[burst->delivery_start + j]);
            if (d == NULL) { Py_DECREF(out); return NULL; }
            PyList_SET_ITEM(deliveries, (Py_ssize_t)j, d);
        }
        for (int64_t j = 0; j < burst->sample_count; j++) {
            PyObject *s = scanner_sample(self, &o->samples[burst->sample_start + j]);
            if (s == NULL) { Py_DECREF(out); return NULL; }
            PyList_SET_ITEM(samples, (Py_ssize_t)j, s);
        }
    }
    return out;
}

static PyObject *Scanner_new(PyTypeObject *type, PyObject *args, PyObject *kwargs) {
    ScannerObject *self = (ScannerObject *)type->tp_alloc(type, 0);
    if (self == NULL) return NULL;
    self->names = PyList_New(0);
    self->venues = PyList_New(0);
    if (self->names == NULL || self->venues == NULL) { Py_DECREF(self); return NULL; }
    int32_t status = arb_scanner_create(&self->scanner);
    if (status != ARB_OK) { Py_DECREF(self); return raise_status(status, -1); }
    return (PyObject *)self;
}

static int Scanner_init(ScannerObject *self, PyObject *args, PyObject *kwargs) {
    static char *keywords[] = {NULL};
    return PyArg_ParseTupleAndKeywords(args, kwargs, ":Scanner", keywords) ? 0 : -1;
}

static int Scanner_traverse(ScannerObject *self, visitproc visit, void *arg) {
    Py_VISIT(self->names);   /* the only container a caller can reach (and fill with anything) */
    return 0;
}

static int Scanner_clear(ScannerObject *self) {
    Py_CLEAR(self->names);
    return 0;
}

static void Scanner_dealloc(ScannerObject *self) {
    PyObject_GC_UnTrack(self);
    Scanner_clear(self);
    if (self->scanner != NULL) arb_scanner_destroy(self->scanner);
    for (Py_ssize_t i = 0; i < self->n_synced; i++) Py_DECREF(self->ints[i]);
    PyMem_Free(self->ints);
    Py_XDECREF(self->venues);
    Py_XDECREF(self->reason);
    PyMem_Free(self->reason_bytes);
    PyMem_Free(self->levels);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* feed(data, start=0) -> (end, lines, stopped) */
static PyObject *Scanner_feed(ScannerObject *self, PyObject *args, PyObject *kwargs) {
    static char *keywords[] = {"data", "start", NULL};
    PyObject *data;
    Py_ssize_t start = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|n:feed", keywords, &data, &start)) return NULL;
    if (start < 0) {
        PyErr_SetString(PyExc_ValueError, "feed: start must be >= 0");
        return NULL;
    }
    if (scanner_enter(self) != 0) return NULL;
    Py_buffer view;
    PyObject *out = NULL;
    if (PyObject_GetBuffer(data, &view, PyBUF_SIMPLE) != 0) {
        PyErr_SetString(PyExc_TypeError, "feed: data must be a contiguous bytes-like object");
        self->busy = 0;
        return NULL;
    }
    arb_scan_feed r;
    int32_t status = arb_scanner_feed(self->scanner, (const uint8_t *)view.buf, (int64_t)view.len, (int64_t)start, &r);
    PyBuffer_Release(&view);
    if (status != ARB_OK) raise_status(status, -1);
    else if (scanner_sync(self) == 0)
        out = Py_BuildValue("(LLO)", (long long)r.end, (long long)r.lines, r.stopped ? Py_True : Py_False);
    self->busy = 0;
    return out;
}

/* UTF-8 of a str ("surrogatepass"); *holder owns the bytes when they had to be encoded. */
static const uint8_t *scanner_utf8(PyObject *str, Py_ssize_t *len, PyObject **holder) {
    *holder = NULL;
    const char *p = PyUnicode_AsUTF8AndSize(str, len);
    if (p != NULL) return (const uint8_t *)p;
    if (!PyErr_ExceptionMatches(PyExc_UnicodeEncodeError)) return NULL;
    PyErr_Clear();
    *holder = PyUnicode_AsEncodedString(str, "utf-8", "surrogatepass");
    if (*holder == NULL) return NULL;
    *len = PyBytes_GET_SIZE(*holder);
    return (const uint8_t *)PyBytes_AS_STRING(*holder);
}

static int scanner_int(PyObject *obj, int64_t *out) {
    PyObject *v = PyNumber_Long(obj);           /* the twin's int() */
    if (v == NULL) return -1;
    long long x = PyLong_AsLongLong(v);
    Py_DECREF(v);
    if (x == -1 && PyErr_Occurred()) return -1;
    *out = (int64_t)x;
    return 0;
}

/* add's sides: up to 4 iterables of (price, lots) pairs into self->levels and counts. */
static int scanner_levels(ScannerObject *self, PyObject *sides_obj, int64_t counts[4]) {
    PyObject *sides = PySequence_Tuple(sides_obj);
    if (sides == NULL) return -1;
    Py_ssize_t n = PyTuple_GET_SIZE(sides), used = 0;
    if (n > 4) {
        Py_DECREF(sides);
        PyErr_SetString(PyExc_ValueError, "add: sides must hold at most 4 sides");
        return -1;
    }
    for (int k = 0; k < 4; k++) counts[k] = 0;
    for (Py_ssize_t k = 0; k < n; k++) {
        PyObject *side = PySequence_Tuple(PyTuple_GET_ITEM(sides, k));
        if (side == NULL) { Py_DECREF(sides); return -1; }
        Py_ssize_t m = PyTuple_GET_SIZE(side);
        if (m > ((Py_ssize_t)1 << 40) || used + 2 * m > PY_SSIZE_T_MAX / 16) {
            Py_DECREF(side); Py_DECREF(sides);
            PyErr_SetString(PyExc_ValueError, "add: too many levels");
            return -1;
        }
        if (used + 2 * m > self->levels_capacity) {
            Py_ssize_t capacity = self->levels_capacity < 256 ? 256 : self->levels_capacity;
            while (capacity < used + 2 * m) capacity *= 2;
            int64_t *grown = PyMem_Realloc(self->levels, (size_t)capacity * sizeof(int64_t));
            if (grown == NULL) { Py_DECREF(side); Py_DECREF(sides); PyErr_NoMemory(); return -1; }
            self->levels = grown;
            self->levels_capacity = capacity;
        }
        for (Py_ssize_t j = 0; j < m; j++) {
            PyObject *level = PySequence_Tuple(PyTuple_GET_ITEM(side, j));
            if (level == NULL) { Py_DECREF(side); Py_DECREF(sides); return -1; }
            int rc = -1;
            if (PyTuple_GET_SIZE(level) != 2)
                PyErr_SetString(PyExc_ValueError, "add: a level must be a (price, lots) pair");
            else if (scanner_int(PyTuple_GET_ITEM(level, 0), &self->levels[used]) == 0 &&
                     scanner_int(PyTuple_GET_ITEM(level, 1), &self->levels[used + 1]) == 0)
                rc = 0;
            Py_DECREF(level);
            if (rc != 0) { Py_DECREF(side); Py_DECREF(sides); return -1; }
            used += 2;
        }
        counts[k] = (int64_t)m;
        Py_DECREF(side);
    }
    Py_DECREF(sides);
    return 0;
}

/* add(at, venue, market, sides, tradeable, reason) -> None */
static PyObject *Scanner_add(ScannerObject *self, PyObject *args, PyObject *kwargs) {
    static char *keywords[] = {"at", "venue", "market", "sides", "tradeable", "reason", NULL};
    long long at;
    PyObject *venue, *market, *sides, *tradeable_obj, *reason;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "LUUOOU:add", keywords, &at, &venue, &market, &sides,
                                     &tradeable_obj, &reason))
        return NULL;
    if (scanner_enter(self) != 0) return NULL;
    PyObject *out = NULL, *hv = NULL, *hm = NULL, *hr = NULL;
    int64_t counts[4];
    int tradeable;
    Py_ssize_t lv, lm, lr;
    const uint8_t *v, *m, *r;
    if (scanner_levels(self, sides, counts) != 0) goto done;
    if ((tradeable = PyObject_IsTrue(tradeable_obj)) < 0) goto done;
    if ((v = scanner_utf8(venue, &lv, &hv)) == NULL || (m = scanner_utf8(market, &lm, &hm)) == NULL ||
        (r = scanner_utf8(reason, &lr, &hr)) == NULL)
        goto done;
    int32_t status = arb_scanner_add(self->scanner, (int64_t)at, v, (int64_t)lv, m, (int64_t)lm, self->levels, counts,
                                     tradeable, r, (int64_t)lr);
    if (status == ARB_E_OVERFLOW) {
        PyErr_SetString(PyExc_OverflowError, "add: the book's samples do not fit in int64 (absurd prices or sizes)");
        goto done;
    }
    if (status != ARB_OK) { raise_status(status, -1); goto done; }
    if (scanner_sync(self) == 0) out = Py_NewRef(Py_None);
done:
    Py_XDECREF(hv);
    Py_XDECREF(hm);
    Py_XDECREF(hr);
    self->busy = 0;
    return out;
}

static PyObject *scanner_take(ScannerObject *self, int finish) {
    if (scanner_enter(self) != 0) return NULL;
    arb_scan_output o;
    PyObject *out = NULL;
    int32_t status = arb_scanner_take(self->scanner, finish, &o);
    if (status != ARB_OK) raise_status(status, -1);
    else out = scanner_bursts(self, &o);
    self->busy = 0;
    return out;
}

/* take() -> the bursts closed since the last call */
static PyObject *Scanner_take(ScannerObject *self, PyObject *unused) { return scanner_take(self, 0); }

/* finish() -> close the open bursts; every burst not yet taken */
static PyObject *Scanner_finish(ScannerObject *self, PyObject *unused) { return scanner_take(self, 1); }

static int scanner_state(ScannerObject *self, arb_scan_state *st) {
    if (self->scanner == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "Scanner is not initialised");
        return -1;
    }
    int32_t status = arb_scanner_state(self->scanner, st);
    if (status != ARB_OK) { raise_status(status, -1); return -1; }
    return 0;
}

static PyObject *Scanner_get_names(ScannerObject *self, void *unused) {
    if (self->names == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "Scanner is being torn down");
        return NULL;
    }
    return Py_NewRef(self->names);
}

static PyObject *Scanner_get_last(ScannerObject *self, void *unused) {
    arb_scan_state st;
    if (scanner_state(self, &st) != 0) return NULL;
    return st.has_last ? PyLong_FromLongLong(st.last) : Py_NewRef(Py_None);
}

static PyObject *Scanner_get_frames(ScannerObject *self, void *unused) {
    arb_scan_state st;
    if (scanner_state(self, &st) != 0) return NULL;
    return PyLong_FromLongLong(st.frames);
}

static PyObject *Scanner_get_books(ScannerObject *self, void *unused) {
    arb_scan_state st;
    if (scanner_state(self, &st) != 0) return NULL;
    return PyLong_FromLongLong(st.books);
}

static PyGetSetDef Scanner_getset[] = {
    {"names", (getter)Scanner_get_names, NULL, "market index -> (venue, market), in order of first appearance", NULL},
    {"last", (getter)Scanner_get_last, NULL, "recv ms of the last book record (fed or added), None before the first", NULL},
    {"frames", (getter)Scanner_get_frames, NULL, "raw ws/rest lines skipped", NULL},
    {"books", (getter)Scanner_get_books, NULL, "book records (fed or added)", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyMethodDef Scanner_methods[] = {
    {"feed", (PyCFunction)(void (*)(void))Scanner_feed, METH_VARARGS | METH_KEYWORDS,
     "feed(data, start=0) -> (end, lines, stopped): scan the complete lines of data from start"},
    {"add", (PyCFunction)(void (*)(void))Scanner_add, METH_VARARGS | METH_KEYWORDS,
     "add(at, venue, market, sides, tradeable, reason): a book record read the general way"},
    {"take", (PyCFunction)Scanner_take, METH_NOARGS, "take() -> the bursts closed since the last call"},
    {"finish", (PyCFunction)Scanner_finish, METH_NOARGS, "finish() -> close the open bursts; every burst not yet taken"},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject ScannerType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "arbbot._native.Scanner",
    .tp_basicsize = sizeof(ScannerObject),
    .tp_dealloc = (destructor)Scanner_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "The replay's record scanner in Swift (the twin: arbbot.replay.scan.PyScanner).",
    .tp_traverse = (traverseproc)Scanner_traverse,
    .tp_clear = (inquiry)Scanner_clear,
    .tp_methods = Scanner_methods,
    .tp_getset = Scanner_getset,
    .tp_init = (initproc)Scanner_init,
    .tp_new = Scanner_new,
};

static PyMethodDef module_methods[] = {
    {"abi_version", py_abi_version, METH_NOARGS, "ABI version of the linked engine."},
    {"status_message", py_status_message, METH_O, "Message for an engine status code."},
    {"decompose", py_decompose, METH_VARARGS, "decompose(venue, levels, counts) -> (yes, no, quote)"},
    {"order_fee", py_order_fee, METH_VARARGS, "order_fee(rate_ppm, per_contract, rounding, fills) -> µ$"},
    {"evaluate", py_evaluate, METH_VARARGS, "evaluate(qty, profit, cost, fee, c, f, loss, sigma)"},
    {"robust_estimate", py_robust_estimate, METH_VARARGS,
     "robust_estimate(kind, samples, start, now, params) -> (value, samples, prior): step 5's estimate"},
    {"size_batch", py_size_batch, METH_VARARGS,
     "size_batch(inputs, legs, levels, params) -> (result records, leg records); one input calls arb_size"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "_native", "arbbot's Swift hot path (see arb_engine.h).", -1, module_methods,
};

PyMODINIT_FUNC PyInit__native(void) {
    if (PyType_Ready(&EngineType) < 0 || PyType_Ready(&ScannerType) < 0) return NULL;
    PyObject *m = PyModule_Create(&module_def);
    if (m == NULL) return NULL;
    NativeError = PyErr_NewException("arbbot._native.NativeError", PyExc_ValueError, NULL);
    empty_result = Py_BuildValue("(y#y#())", "", (Py_ssize_t)0, "", (Py_ssize_t)0);
    PyObject *array_module = PyImport_ImportModule("array");
    if (array_module != NULL) {
        array_type = PyObject_GetAttrString(array_module, "array");
        Py_DECREF(array_module);
    }
    typecode_q = PyUnicode_FromString("q");
    if (NativeError == NULL || empty_result == NULL || array_type == NULL || typecode_q == NULL || PyModule_AddObjectRef(m, "NativeError", NativeError) < 0 ||
        PyModule_AddObjectRef(m, "Engine", (PyObject *)&EngineType) < 0 ||
        PyModule_AddObjectRef(m, "Scanner", (PyObject *)&ScannerType) < 0 ||
        PyModule_AddIntConstant(m, "OPPORTUNITY_SIZE", (long)sizeof(arb_opportunity)) < 0 ||
        PyModule_AddIntConstant(m, "LEG_SIZE", (long)sizeof(arb_leg)) < 0 ||
        PyModule_AddIntConstant(m, "SIZING_INPUT_SIZE", (long)sizeof(arb_sizing_input)) < 0 ||
        PyModule_AddIntConstant(m, "SIZING_LEG_SIZE", (long)sizeof(arb_sizing_leg)) < 0 ||
        PyModule_AddIntConstant(m, "SIZING_PARAMS_SIZE", (long)sizeof(arb_sizing_params)) < 0 ||
        PyModule_AddIntConstant(m, "SIZING_RESULT_SIZE", (long)sizeof(arb_sizing_result)) < 0 ||
        PyModule_AddIntConstant(m, "SIZING_LEG_OUT_SIZE", (long)sizeof(arb_sizing_leg_out)) < 0 ||
        PyModule_AddIntConstant(m, "PORTFOLIO_LIMITS_SIZE", (long)sizeof(arb_portfolio_limits)) < 0 ||
        PyModule_AddIntConstant(m, "PORTFOLIO_RESULT_SIZE", (long)sizeof(arb_portfolio_result)) < 0 ||
        PyModule_AddIntConstant(m, "ROBUST_PARAMS_SIZE", (long)sizeof(arb_robust_params)) < 0 ||
        PyModule_AddStringConstant(m, "BUILD_FLAGS", "swift build -c release -Xswiftc -static-stdlib") < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
#endif /* __has_include(<Python.h>) */
