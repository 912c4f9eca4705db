/* SparTen (sod.models.sparten): the chunks with no match of every dot product (per pair,
 * or summed per CU slot of a GEMM and of its transpose), per-slot matches (bit-packed rows
 * times a small table), column counts of bit-packed rows, and the direct join of a few
 * rows of A. Exact integer counts; the numpy code in sod.models.sparten and
 * sod.models.fibers is the twin of each (tests/sparse_models/test_sparten_native.py). */
#include "kernels.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Filters per table: words of 64 filters (a table per byte of A: 256 entries of FB words). */
#define SP_FB 4
/* Bytes of a chunk per table pass (tables of SP_G * 256 * fb words: 32 KiB a word of filters). */
#define SP_G 16

/* W's row p (positions), filters f0 ... f0 + 64 * fb - 1, as words: byte i of the row is
 * bits 8i ... 8i + 7 (any byte order of the machine: built by shifts). */
static void sp_row_words(const uint8_t *row, Py_ssize_t nb, Py_ssize_t f0, Py_ssize_t fb,
                         uint64_t *out) {
    for (Py_ssize_t w = 0; w < fb; w++) {
        uint64_t x = 0;
        Py_ssize_t b0 = (f0 >> 3) + 8 * w;
        for (Py_ssize_t i = 0; i < 8 && b0 + i < nb; i++) x |= (uint64_t)row[b0 + i] << (8 * i);
        out[w] = x;
    }
}

/* Where sp_empty counts an empty pair (r, f): out[r, f] (m, n) when `out` is set, else
 * per slot: by_col[r, col_slot[f]] (m, col_slots) and by_row[f, row_slot[r]] (n,
 * row_slots), the work of each CU slot in a GEMM and in its transpose (never m × n). */
typedef struct {
    int32_t *out;
    int32_t *by_col, *by_row;
    const int64_t *col_slot, *row_slot;
    Py_ssize_t col_slots, row_slots;
} sp_sink;

static inline void sp_count(const sp_sink *sink, Py_ssize_t n, Py_ssize_t r, Py_ssize_t f) {
    if (sink->out) {
        sink->out[(size_t)r * (size_t)n + (size_t)f]++;
        return;
    }
    sink->by_col[(size_t)r * (size_t)sink->col_slots + (size_t)sink->col_slot[f]]++;
    sink->by_row[(size_t)f * (size_t)sink->row_slots + (size_t)sink->row_slot[r]]++;
}

/* sp_empty's row loop for the bytes g0 ... g0 + g - 1 of a chunk (their tables in
 * `table`, fb words an entry) and the filters f0 ... f0 + 64 fb - 1: each row's union of
 * the entries its bytes select (carried in `hit` across the byte groups of a long
 * chunk); at the chunk's last group, the filters missing from it are counted. */
static inline __attribute__((always_inline)) void sp_or_rows(
    const uint8_t *fa, Py_ssize_t m, Py_ssize_t kb, Py_ssize_t n, Py_ssize_t g0, Py_ssize_t g,
    Py_ssize_t f0, Py_ssize_t fb, int first, int last, const uint64_t *valid,
    const uint64_t *table, uint64_t *hit, const sp_sink *sink) {
    for (Py_ssize_t r = 0; r < m; r++) {
        const uint8_t *a = fa + (size_t)r * (size_t)kb + g0;
        uint64_t h[SP_FB] = {0};
        if (!first) memcpy(h, hit + (size_t)r * SP_FB, SP_FB * sizeof(uint64_t));
        for (Py_ssize_t j = 0; j < g; j++) {
            const uint64_t *e = table + ((size_t)j * 256 + a[j]) * (size_t)fb;
            for (Py_ssize_t w = 0; w < fb; w++) h[w] |= e[w];
        }
        if (!last) {
            memcpy(hit + (size_t)r * SP_FB, h, SP_FB * sizeof(uint64_t));
            continue;
        }
        for (Py_ssize_t w = 0; w < fb; w++) {
            uint64_t empty = ~h[w] & valid[w];
            while (empty) {
                int bit = __builtin_ctzll(empty);
                empty &= empty - 1;
                sp_count(sink, n, r, f0 + 64 * w + 8 * (bit >> 3) + 7 - (bit & 7));
            }
        }
    }
}

/* Chunks with no match (sod.models.fibers.packed_empty_chunks, chunks of whole bytes).
 *
 * fa: uint8 (m, kb), A's rows bit-packed along k (np.packbits order, zero padding bits);
 * wp: uint8 (k, nb), W's rows bit-packed along n; out: int32 (m, n), written.
 * out[r, f] = #{chunks c : A[r, chunk c] & W[chunk c, f] = 0}, cb bytes per chunk.
 *
 * "Four Russians": per byte of positions a table maps each of the 256 byte values to the
 * union of its positions' rows of W (bitsets of filters), so a row of A finds the filters
 * its chunk meets by ORing one entry per byte; the filters missing from that union are
 * the chunk's empty pairs (rare in dense-ish layers: found bit by bit). Filters go
 * SP_FB words at a time and a chunk's bytes SP_G at a time (tables in cache); `hit` keeps
 * each row's union across the byte groups of a long chunk. */
static void sp_empty(const uint8_t *fa, Py_ssize_t m, Py_ssize_t kb, const uint8_t *wp,
                     Py_ssize_t k, Py_ssize_t nb, Py_ssize_t n, Py_ssize_t cb,
                     const sp_sink *sink, uint64_t *table, uint64_t *hit) {
    Py_ssize_t nch = (kb + cb - 1) / cb;
    for (Py_ssize_t f0 = 0; f0 < n; f0 += 64 * SP_FB) {
        Py_ssize_t left = n - f0;
        Py_ssize_t fb = left >= 64 * SP_FB ? SP_FB : (left + 63) / 64;
        uint64_t valid[SP_FB];
        for (Py_ssize_t w = 0; w < fb; w++) { /* filter j of a word: bit 8(j/8) + 7 - j%8 */
            valid[w] = 0;
            for (Py_ssize_t j = 0; j < 64 && f0 + 64 * w + j < n; j++)
                valid[w] |= (uint64_t)1 << (8 * (j >> 3) + 7 - (j & 7));
        }
        for (Py_ssize_t c = 0; c < nch; c++) {
            Py_ssize_t c_lo = c * cb, c_hi = c_lo + cb < kb ? c_lo + cb : kb;
            for (Py_ssize_t g0 = c_lo; g0 < c_hi; g0 += SP_G) {
                Py_ssize_t g = c_hi - g0 < SP_G ? c_hi - g0 : SP_G;
                /* Tables of this group's bytes: entry v of byte j = OR of the rows of W at
                 * the positions of v's set bits (bit 7 - t = position 8(g0 + j) + t). */
                for (Py_ssize_t j = 0; j < g; j++) {
                    uint64_t *tj = table + (size_t)j * 256 * (size_t)fb;
                    memset(tj, 0, (size_t)fb * sizeof(uint64_t));
                    for (int t = 0; t < 8; t++) {
                        Py_ssize_t p = 8 * (g0 + j) + 7 - t, b = (Py_ssize_t)1 << t;
                        uint64_t row[SP_FB] = {0};
                        if (p < k) sp_row_words(wp + (size_t)p * (size_t)nb, nb, f0, fb, row);
                        for (Py_ssize_t v = 0; v < b; v++)
                            for (Py_ssize_t w = 0; w < fb; w++)
                                tj[(size_t)(b + v) * (size_t)fb + w] = tj[(size_t)v * (size_t)fb + w] | row[w];
                    }
                }
                int first = g0 == c_lo, last = g0 + g >= c_hi;
                /* fb a constant in the usual cases: the union stays in registers */
                if (fb == 1)
                    sp_or_rows(fa, m, kb, n, g0, g, f0, 1, first, last, valid, table, hit, sink);
                else if (fb == 2)
                    sp_or_rows(fa, m, kb, n, g0, g, f0, 2, first, last, valid, table, hit, sink);
                else if (fb == 4)
                    sp_or_rows(fa, m, kb, n, g0, g, f0, 4, first, last, valid, table, hit, sink);
                else
                    sp_or_rows(fa, m, kb, n, g0, g, f0, fb, first, last, valid, table, hit, sink);
            }
        }
    }
}

PyObject *sparten_empty_chunks(PyObject *self, PyObject *args) {
    Py_buffer fa_buf, wp_buf, out_buf;
    Py_ssize_t m, k, n, chunk_bits;
    if (!PyArg_ParseTuple(args, "y*y*nnnnw*", &fa_buf, &wp_buf, &m, &k, &n, &chunk_bits,
                          &out_buf))
        return NULL;
    PyObject *result = NULL;
    uint64_t *table = NULL, *hit = NULL;
    Py_ssize_t kb = (k + 7) / 8, nb = (n + 7) / 8;
    if (m < 0 || k < 0 || n < 0 || chunk_bits <= 0 || chunk_bits % 8 ||
        fa_buf.len != m * kb || wp_buf.len != k * nb ||
        out_buf.len != m * n * (Py_ssize_t)sizeof(int32_t)) {
        PyErr_SetString(PyExc_ValueError,
                        "sparten_empty_chunks: buffer sizes do not match the shape (or "
                        "chunk_bits is not a positive multiple of 8)");
        goto done;
    }
    table = malloc((size_t)SP_G * 256 * SP_FB * sizeof(uint64_t));
    hit = malloc(((size_t)m + 1) * SP_FB * sizeof(uint64_t));
    if (!table || !hit) {
        PyErr_NoMemory();
        goto done;
    }
    Py_BEGIN_ALLOW_THREADS
    sp_sink sink = {(int32_t *)out_buf.buf, NULL, NULL, NULL, NULL, 0, 0};
    memset(out_buf.buf, 0, (size_t)out_buf.len);
    if (m && n && k)
        sp_empty((const uint8_t *)fa_buf.buf, m, kb, (const uint8_t *)wp_buf.buf, k, nb, n,
                 chunk_bits / 8, &sink, table, hit);
    Py_END_ALLOW_THREADS
    result = Py_None;
    Py_INCREF(result);
done:
    free(table);
    free(hit);
    PyBuffer_Release(&fa_buf);
    PyBuffer_Release(&wp_buf);
    PyBuffer_Release(&out_buf);
    return result;
}

/* sparten_empty_chunks summed per CU slot of the GEMM (by_col, (m, col_slots)) and of its
 * transpose (by_row, (n, row_slots)), int32, written: col_slot (n,) and row_slot (m,) are
 * the slot of each filter in either orientation (int64). */
PyObject *sparten_slot_empty(PyObject *self, PyObject *args) {
    Py_buffer fa_buf, wp_buf, cs_buf, bc_buf, rs_buf, br_buf;
    Py_ssize_t m, k, n, chunk_bits, col_slots, row_slots;
    if (!PyArg_ParseTuple(args, "y*y*nnnny*nw*y*nw*", &fa_buf, &wp_buf, &m, &k, &n, &chunk_bits,
                          &cs_buf, &col_slots, &bc_buf, &rs_buf, &row_slots, &br_buf))
        return NULL;
    PyObject *result = NULL;
    uint64_t *table = NULL, *hit = NULL;
    Py_ssize_t kb = (k + 7) / 8, nb = (n + 7) / 8;
    const int64_t *col_slot = (const int64_t *)cs_buf.buf, *row_slot = (const int64_t *)rs_buf.buf;
    if (m < 0 || k < 0 || n < 0 || chunk_bits <= 0 || chunk_bits % 8 || col_slots <= 0 ||
        row_slots <= 0 || fa_buf.len != m * kb || wp_buf.len != k * nb ||
        cs_buf.len != n * (Py_ssize_t)sizeof(int64_t) ||
        rs_buf.len != m * (Py_ssize_t)sizeof(int64_t) ||
        bc_buf.len != m * col_slots * (Py_ssize_t)sizeof(int32_t) ||
        br_buf.len != n * row_slots * (Py_ssize_t)sizeof(int32_t)) {
        PyErr_SetString(PyExc_ValueError,
                        "sparten_slot_empty: buffer sizes do not match the shape (or "
                        "chunk_bits is not a positive multiple of 8)");
        goto done;
    }
    for (Py_ssize_t f = 0; f < n; f++)
        if (col_slot[f] < 0 || col_slot[f] >= col_slots) {
            PyErr_SetString(PyExc_ValueError, "sparten_slot_empty: a slot is out of range");
            goto done;
        }
    for (Py_ssize_t r = 0; r < m; r++)
        if (row_slot[r] < 0 || row_slot[r] >= row_slots) {
            PyErr_SetString(PyExc_ValueError, "sparten_slot_empty: a slot is out of range");
            goto done;
        }
    table = malloc((size_t)SP_G * 256 * SP_FB * sizeof(uint64_t));
    hit = malloc(((size_t)m + 1) * SP_FB * sizeof(uint64_t));
    if (!table || !hit) {
        PyErr_NoMemory();
        goto done;
    }
    Py_BEGIN_ALLOW_THREADS
    sp_sink sink = {NULL, (int32_t *)bc_buf.buf, (int32_t *)br_buf.buf, col_slot, row_slot,
                    col_slots, row_slots};
    memset(bc_buf.buf, 0, (size_t)bc_buf.len);
    memset(br_buf.buf, 0, (size_t)br_buf.len);
    if (m && n && k)
        sp_empty((const uint8_t *)fa_buf.buf, m, kb, (const uint8_t *)wp_buf.buf, k, nb, n,
                 chunk_bits / 8, &sink, table, hit);
    Py_END_ALLOW_THREADS
    result = Py_None;
    Py_INCREF(result);
done:
    free(table);
    free(hit);
    PyBuffer_Release(&fa_buf);
    PyBuffer_Release(&wp_buf);
    PyBuffer_Release(&cs_buf);
    PyBuffer_Release(&bc_buf);
    PyBuffer_Release(&rs_buf);
    PyBuffer_Release(&br_buf);
    return result;
}

/* Byte lanes: 8 words per 8 bytes of a row, word t holding bit t of every byte in that
 * byte's lane, so adding a row counts its 8·nb positions with 8·nw word additions
 * (vectorized, no table lookups); a lane holds up to 255 rows. The lanes are stored as
 * the row's bytes are (a lane is read at its byte's address, whatever the machine's byte
 * order). acc: 8 * nw words, word t * nw + w = bit t of bytes 8w ... 8w + 7. */
#define SP_LSB 0x0101010101010101ull

static inline void sp_lanes_add(const uint8_t *row, Py_ssize_t nb, Py_ssize_t nw, uint64_t *acc) {
    Py_ssize_t full = nb / 8;
    for (int t = 0; t < 8; t++) {
        uint64_t *a = acc + (size_t)t * (size_t)nw;
        for (Py_ssize_t w = 0; w < full; w++) {
            uint64_t x;
            memcpy(&x, row + 8 * w, 8);
            a[w] += (x >> t) & SP_LSB;
        }
    }
    if (nb % 8) { /* the row's last bytes, zero padded */
        uint64_t x = 0;
        memcpy(&x, row + 8 * full, (size_t)(nb % 8));
        for (int t = 0; t < 8; t++) acc[(size_t)t * (size_t)nw + (size_t)full] += (x >> t) & SP_LSB;
    }
}

/* Adds the lanes of acc into counts (8 * nb: position 8b + 7 - t = bit t of byte b, the
 * np.packbits order) and clears them. */
static void sp_lanes_flush(uint64_t *acc, Py_ssize_t nb, Py_ssize_t nw, int64_t *counts) {
    for (int t = 0; t < 8; t++) {
        const uint8_t *lane = (const uint8_t *)(acc + (size_t)t * (size_t)nw);
        for (Py_ssize_t b = 0; b < nb; b++) counts[8 * b + 7 - t] += lane[b];
    }
    memset(acc, 0, 8 * (size_t)nw * sizeof(uint64_t));
}

/* Column counts of bit-packed rows by group: out[g, c] = #{rows r : group[r] = g, bit c of
 * row r}, rows with group -1 skipped. packed: uint8 (rows, nb); group: int64 (rows,);
 * out: int64 (groups, 8 * nb), written. Byte lanes per group (sp_lanes_add), flushed
 * every 255 rows of that group. */
PyObject *sparten_col_counts(PyObject *self, PyObject *args) {
    Py_buffer pk_buf, grp_buf, out_buf;
    Py_ssize_t rows, nb, groups;
    if (!PyArg_ParseTuple(args, "y*nny*nw*", &pk_buf, &rows, &nb, &grp_buf, &groups, &out_buf))
        return NULL;
    PyObject *result = NULL;
    uint64_t *acc = NULL;
    int32_t *since = NULL;
    if (rows < 0 || nb < 0 || groups <= 0 || pk_buf.len != rows * nb ||
        grp_buf.len != rows * (Py_ssize_t)sizeof(int64_t) ||
        out_buf.len != groups * 8 * nb * (Py_ssize_t)sizeof(int64_t)) {
        PyErr_SetString(PyExc_ValueError, "sparten_col_counts: buffer sizes do not match the shape");
        goto done;
    }
    const int64_t *group = (const int64_t *)grp_buf.buf;
    for (Py_ssize_t r = 0; r < rows; r++)
        if (group[r] < -1 || group[r] >= groups) {
            PyErr_SetString(PyExc_ValueError, "sparten_col_counts: a group is out of range");
            goto done;
        }
    Py_ssize_t nw = (nb + 7) / 8;
    acc = calloc((size_t)groups * 8 * (size_t)(nw ? nw : 1), sizeof(uint64_t));
    since = calloc((size_t)groups, sizeof(int32_t));
    if (!acc || !since) {
        PyErr_NoMemory();
        goto done;
    }
    Py_BEGIN_ALLOW_THREADS
    const uint8_t *pk = (const uint8_t *)pk_buf.buf;
    int64_t *out = (int64_t *)out_buf.buf;
    memset(out, 0, (size_t)out_buf.len);
    for (Py_ssize_t r = 0; r < rows; r++) {
        int64_t g = group[r];
        if (g < 0) continue;
        uint64_t *a = acc + (size_t)g * 8 * (size_t)nw;
        sp_lanes_add(pk + (size_t)r * (size_t)nb, nb, nw, a);
        if (++since[g] == 255) {
            sp_lanes_flush(a, nb, nw, out + (size_t)g * 8 * (size_t)nb);
            since[g] = 0;
        }
    }
    for (Py_ssize_t g = 0; g < groups; g++)
        sp_lanes_flush(acc + (size_t)g * 8 * (size_t)nw, nb, nw, out + (size_t)g * 8 * (size_t)nb);
    Py_END_ALLOW_THREADS
    result = Py_None;
    Py_INCREF(result);
done:
    free(acc);
    free(since);
    PyBuffer_Release(&pk_buf);
    PyBuffer_Release(&grp_buf);
    PyBuffer_Release(&out_buf);
    return result;
}

/* Chunks with no match and matches of every dot product for a few rows of A
 * (sod.models.fibers.packed_empty_chunks's direct join, any chunk length): per row of A,
 * the rows of W at its set positions are ORed per chunk (the filters the chunk meets)
 * and added into byte lanes (the matches, sp_lanes_add). fa: uint8 (m, kb); wp: uint8
 * (k, nb); empty, match: int32 (m, n), written. hit: nw words (the chunk's union). */
static void sp_direct(const uint8_t *fa, Py_ssize_t m, Py_ssize_t kb, const uint8_t *wp,
                      Py_ssize_t k, Py_ssize_t nb, Py_ssize_t n, Py_ssize_t chunk_bits,
                      int32_t *empty, int32_t *match, uint64_t *acc, uint64_t *hit,
                      int64_t *counts) {
    Py_ssize_t nch = (k + chunk_bits - 1) / chunk_bits, nw = (nb + 7) / 8;
    const uint8_t *met = (const uint8_t *)hit; /* the union, byte by byte */
    for (Py_ssize_t r = 0; r < m; r++) {
        const uint8_t *a = fa + (size_t)r * (size_t)kb;
        int32_t *e = empty + (size_t)r * (size_t)n, *q = match + (size_t)r * (size_t)n;
        memset(counts, 0, (size_t)(8 * nb) * sizeof(int64_t));
        memset(e, 0, (size_t)n * sizeof(int32_t));
        int32_t since = 0, idle = 0; /* rows in the lanes; chunks of A with no set bit */
        for (Py_ssize_t c = 0; c <= nch; c++) {
            /* positions of chunk c (c = nch: none, closes the last chunk) */
            Py_ssize_t lo = c * chunk_bits, hi = c < nch ? lo + chunk_bits : lo;
            if (hi > k) hi = k;
            int any = 0;
            for (Py_ssize_t p = lo; p < hi; p++) {
                if (!((a[p >> 3] >> (7 - (p & 7))) & 1)) {
                    if (!(p & 7) && !a[p >> 3]) p += 7; /* a zero byte: skip it */
                    continue;
                }
                if (!any) {
                    memset(hit, 0, (size_t)nw * sizeof(uint64_t));
                    any = 1;
                }
                const uint8_t *w = wp + (size_t)p * (size_t)nb;
                for (Py_ssize_t i = 0; i < nb; i++) ((uint8_t *)hit)[i] |= w[i];
                sp_lanes_add(w, nb, nw, acc);
                if (++since == 255) {
                    sp_lanes_flush(acc, nb, nw, counts);
                    since = 0;
                }
            }
            if (c == nch) break;
            if (!any) {
                idle++;
                continue;
            }
            for (Py_ssize_t f = 0; f < n; f++) /* filters the chunk does not meet */
                e[f] += !((met[f >> 3] >> (7 - (f & 7))) & 1);
        }
        sp_lanes_flush(acc, nb, nw, counts);
        for (Py_ssize_t f = 0; f < n; f++) {
            e[f] += idle;
            q[f] = (int32_t)counts[f];
        }
    }
}

PyObject *sparten_direct(PyObject *self, PyObject *args) {
    Py_buffer fa_buf, wp_buf, e_buf, q_buf;
    Py_ssize_t m, k, n, chunk_bits;
    if (!PyArg_ParseTuple(args, "y*y*nnnnw*w*", &fa_buf, &wp_buf, &m, &k, &n, &chunk_bits,
                          &e_buf, &q_buf))
        return NULL;
    PyObject *result = NULL;
    uint64_t *acc = NULL, *hit = NULL;
    int64_t *counts = NULL;
    Py_ssize_t kb = (k + 7) / 8, nb = (n + 7) / 8, nw = (nb + 7) / 8;
    if (m < 0 || k < 0 || n < 0 || chunk_bits <= 0 || fa_buf.len != m * kb ||
        wp_buf.len != k * nb || e_buf.len != m * n * (Py_ssize_t)sizeof(int32_t) ||
        q_buf.len != e_buf.len) {
        PyErr_SetString(PyExc_ValueError, "sparten_direct: buffer sizes do not match the shape");
        goto done;
    }
    acc = calloc(8 * (size_t)nw + 1, sizeof(uint64_t));
    hit = calloc((size_t)nw + 1, sizeof(uint64_t));
    counts = calloc(8 * (size_t)nb + 1, sizeof(int64_t));
    if (!acc || !hit || !counts) {
        PyErr_NoMemory();
        goto done;
    }
    Py_BEGIN_ALLOW_THREADS
    sp_direct((const uint8_t *)fa_buf.buf, m, kb, (const uint8_t *)wp_buf.buf, k, nb, n,
              chunk_bits, (int32_t *)e_buf.buf, (int32_t *)q_buf.buf, acc, hit, counts);
    Py_END_ALLOW_THREADS
    result = Py_None;
    Py_INCREF(result);
done:
    free(acc);
    free(hit);
    free(counts);
    PyBuffer_Release(&fa_buf);
    PyBuffer_Release(&wp_buf);
    PyBuffer_Release(&e_buf);
    PyBuffer_Release(&q_buf);
    return result;
}

/* Nibbles of A per table pass: tables of SP_NIB * 16 entries of `s` uint16 (32 KiB for
 * 32 slots: in L1). */
#define SP_NIB 32

/* sp_products' row loop for nibbles n0 ... n0 + cnt - 1 (tables in `nib`). */
static inline __attribute__((always_inline)) void sp_rows(
    const uint8_t *fa, Py_ssize_t m, Py_ssize_t kb, Py_ssize_t s, Py_ssize_t n0, Py_ssize_t cnt,
    int32_t *out, const uint16_t *nib, uint16_t *lane) {
    for (Py_ssize_t r = 0; r < m; r++) {
        const uint8_t *a = fa + (size_t)r * (size_t)kb + (n0 >> 1);
        memset(lane, 0, (size_t)s * sizeof(uint16_t));
        Py_ssize_t i = 0;
        if (n0 & 1) { /* a pass that starts at a low nibble (`per` odd) */
            const uint16_t *e = nib + (size_t)(a[0] & 15u) * (size_t)s;
            for (Py_ssize_t j = 0; j < s; j++) lane[j] = (uint16_t)(lane[j] + e[j]);
            i = 1, a++;
        }
        for (; i + 1 < cnt; i += 2, a++) { /* both nibbles of a byte */
            const uint16_t *hi = nib + ((size_t)i * 16 + (a[0] >> 4)) * (size_t)s;
            const uint16_t *lo = nib + ((size_t)(i + 1) * 16 + (a[0] & 15u)) * (size_t)s;
            for (Py_ssize_t j = 0; j < s; j++) lane[j] = (uint16_t)(lane[j] + hi[j] + lo[j]);
        }
        if (i < cnt) {
            const uint16_t *e = nib + ((size_t)i * 16 + (a[0] >> 4)) * (size_t)s;
            for (Py_ssize_t j = 0; j < s; j++) lane[j] = (uint16_t)(lane[j] + e[j]);
        }
        int32_t *o = out + (size_t)r * (size_t)s;
        for (Py_ssize_t j = 0; j < s; j++) o[j] += lane[j];
    }
}

/* out[r, :] += Σ_{positions p set in row r of fa} table[p, :] for rows of bit-packed A and
 * a small non-negative table (k, s): each slot's filters position by position, so out =
 * the matches of A · W summed per slot. Per nibble of positions a table of its 16 values'
 * sums (uint16: every entry ≤ 4·max(table) and at most `per` nibbles are added before the
 * row's uint16 lanes are moved into its int32 ones), so a row costs one s-wide add per
 * nibble, not per set bit. */
static void sp_products(const uint8_t *fa, Py_ssize_t m, Py_ssize_t kb, const int32_t *table,
                        Py_ssize_t k, Py_ssize_t s, Py_ssize_t per, int32_t *out,
                        uint16_t *nib, uint16_t *lane) {
    memset(out, 0, (size_t)m * (size_t)s * sizeof(int32_t));
    Py_ssize_t nn = 2 * kb; /* nibbles of a row; nibble 2j = high half of byte j */
    for (Py_ssize_t n0 = 0; n0 < nn; n0 += per) {
        Py_ssize_t cnt = nn - n0 < per ? nn - n0 : per;
        for (Py_ssize_t i = 0; i < cnt; i++) { /* entry v of nibble i: bit 3 - t = position 4(n0 + i) + t */
            uint16_t *t0 = nib + (size_t)i * 16 * (size_t)s;
            memset(t0, 0, (size_t)s * sizeof(uint16_t));
            for (int t = 0; t < 4; t++) {
                Py_ssize_t p = 4 * (n0 + i) + 3 - t, b = (Py_ssize_t)1 << t;
                const int32_t *row = p < k ? table + (size_t)p * (size_t)s : NULL;
                for (Py_ssize_t v = 0; v < b; v++) {
                    const uint16_t *src = t0 + (size_t)v * (size_t)s;
                    uint16_t *dst = t0 + (size_t)(b + v) * (size_t)s;
                    for (Py_ssize_t j = 0; j < s; j++)
                        dst[j] = (uint16_t)(src[j] + (row ? (uint16_t)row[j] : 0));
                }
            }
        }
        if (s == 32) /* the usual slots: a constant, lanes kept in registers */
            sp_rows(fa, m, kb, 32, n0, cnt, out, nib, lane);
        else
            sp_rows(fa, m, kb, s, n0, cnt, out, nib, lane);
    }
}

PyObject *sparten_products(PyObject *self, PyObject *args) {
    Py_buffer fa_buf, tb_buf, out_buf;
    Py_ssize_t m, k, s;
    if (!PyArg_ParseTuple(args, "y*nny*nw*", &fa_buf, &m, &k, &tb_buf, &s, &out_buf))
        return NULL;
    PyObject *result = NULL;
    uint16_t *nib = NULL, *lane = NULL;
    Py_ssize_t kb = (k + 7) / 8;
    if (m < 0 || k < 0 || s <= 0 || fa_buf.len != m * kb ||
        tb_buf.len != k * s * (Py_ssize_t)sizeof(int32_t) ||
        out_buf.len != m * s * (Py_ssize_t)sizeof(int32_t)) {
        PyErr_SetString(PyExc_ValueError, "sparten_products: buffer sizes do not match the shape");
        goto done;
    }
    /* Every uint16 lane stays exact: at most `per` nibbles of entries ≤ 4·max(table);
     * every int32 sum stays exact: ≤ k·max(table). */
    const int32_t *table = (const int32_t *)tb_buf.buf;
    int64_t top = 0;
    for (Py_ssize_t i = 0; i < k * s; i++) {
        if (table[i] < 0) {
            PyErr_SetString(PyExc_ValueError, "sparten_products: a table entry is negative");
            goto done;
        }
        if (table[i] > top) top = table[i];
    }
    Py_ssize_t per = top ? (Py_ssize_t)(65535 / (4 * top)) : SP_NIB;
    if (per > SP_NIB) per = SP_NIB;
    if (per < 1 || top * (int64_t)k > INT32_MAX) {
        PyErr_SetString(PyExc_ValueError, "sparten_products: table entries too large");
        goto done;
    }
    nib = malloc((size_t)SP_NIB * 16 * (size_t)s * sizeof(uint16_t));
    lane = malloc((size_t)s * sizeof(uint16_t));
    if (!nib || !lane) {
        PyErr_NoMemory();
        goto done;
    }
    Py_BEGIN_ALLOW_THREADS
    sp_products((const uint8_t *)fa_buf.buf, m, kb, table, k, s, per, (int32_t *)out_buf.buf,
                nib, lane);
    Py_END_ALLOW_THREADS
    result = Py_None;
    Py_INCREF(result);
done:
    free(nib);
    free(lane);
    PyBuffer_Release(&fa_buf);
    PyBuffer_Release(&tb_buf);
    PyBuffer_Release(&out_buf);
    return result;
}
