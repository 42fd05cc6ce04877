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

/* update(market, levels, counts) -> like scan(), for the opportunities touching `market` */
static PyObject *Engine_update(EngineObject *self, PyObject *args) {
    int market;
    PyObject *levels_obj, *counts_obj;
    if (!PyArg_ParseTuple(args, "iOO:update", &market, &levels_obj, &counts_obj)) return NULL;
    Py_buffer levels;
    if (get_int_buffer(levels_obj, &levels, 8, "levels") != 0) return NULL;
    int64_t counts[4];
    PyObject *out = NULL;
    if (read_counts(counts_obj, counts, &levels) == 0 && enter(self) == 0) {
        arb_result res;
        int32_t status = arb_engine_update(self->engine, (int32_t)market, (const int64_t *)levels.buf, counts, &res);
        out = status == ARB_OK ? result_tuple(&res) : raise_status(status, status == ARB_E_MARKET ? market : -1);
        self->busy = 0;
    }
    PyBuffer_Release(&levels);
    return out;
}

static PyMethodDef Engine_methods[] = {
    {"scan", (PyCFunction)Engine_scan, METH_NOARGS,
     "scan() -> (opportunity records: bytes, leg records: bytes, untradeable: tuple[int])"},
    {"update", (PyCFunction)Engine_update, METH_VARARGS,
     "update(market, levels, counts) -> same as scan(), only opportunities touching market"},
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

static PyMethodDef module_methods[] = {
    {"abi_version", py_abi_version, METH_NOARGS, "ABI version of the linked engine."},
    {"status_message", py_status_message, METH_O, "Message for an engine status code."},
    {"decompose", py_decompose, METH_VARARGS, "decompose(venue, levels, counts) -> (yes, no, quote)"},
    {"order_fee", py_order_fee, METH_VARARGS, "order_fee(rate_ppm, per_contract, rounding, fills) -> µ$"},
    {"evaluate", py_evaluate, METH_VARARGS, "evaluate(qty, profit, cost, fee, c, f, loss, sigma)"},
    {"size_batch", py_size_batch, METH_VARARGS,
     "size_batch(inputs, legs, levels, params) -> (result records, leg records); one input calls arb_size"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "_native", "arbbot's Swift hot path (see arb_engine.h).", -1, module_methods,
};

PyMODINIT_FUNC PyInit__native(void) {
    if (PyType_Ready(&EngineType) < 0) return NULL;
    PyObject *m = PyModule_Create(&module_def);
    if (m == NULL) return NULL;
    NativeError = PyErr_NewException("arbbot._native.NativeError", PyExc_ValueError, NULL);
    empty_result = Py_BuildValue("(y#y#())", "", (Py_ssize_t)0, "", (Py_ssize_t)0);
    if (NativeError == NULL || empty_result == NULL || PyModule_AddObjectRef(m, "NativeError", NativeError) < 0 ||
        PyModule_AddObjectRef(m, "Engine", (PyObject *)&EngineType) < 0 ||
        PyModule_AddIntConstant(m, "OPPORTUNITY_SIZE", (long)sizeof(arb_opportunity)) < 0 ||
        PyModule_AddIntConstant(m, "LEG_SIZE", (long)sizeof(arb_leg)) < 0 ||
        PyModule_AddIntConstant(m, "SIZING_INPUT_SIZE", (long)sizeof(arb_sizing_input)) < 0 ||
        PyModule_AddIntConstant(m, "SIZING_LEG_SIZE", (long)sizeof(arb_sizing_leg)) < 0 ||
        PyModule_AddIntConstant(m, "SIZING_PARAMS_SIZE", (long)sizeof(arb_sizing_params)) < 0 ||
        PyModule_AddIntConstant(m, "SIZING_RESULT_SIZE", (long)sizeof(arb_sizing_result)) < 0 ||
        PyModule_AddIntConstant(m, "SIZING_LEG_OUT_SIZE", (long)sizeof(arb_sizing_leg_out)) < 0 ||
        PyModule_AddStringConstant(m, "BUILD_FLAGS", "swift build -c release -Xswiftc -static-stdlib") < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
#endif /* __has_include(<Python.h>) */
