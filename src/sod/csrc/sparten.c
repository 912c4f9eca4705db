/* SparTen: the chunks with no match of every dot product (sod.models.sparten). */
#include "kernels.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Filters per table: words of 64 filters (a table per byte of A: 256 entries of FB words). */
#define SP_FB 4
/* Bytes of a chunk per table pass (tables of SP_G * 256 * SP_FB words, 128 KiB: in L2). */
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
                     Py_ssize_t k, Py_ssize_t nb, Py_ssize_t n, Py_ssize_t cb, int32_t *out,
                     uint64_t *table, uint64_t *hit) {
    Py_ssize_t nch = (kb + cb - 1) / cb;
    memset(out, 0, (size_t)m * (size_t)n * sizeof(int32_t));
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
                    uint64_t *tj = table + (size_t)j * 256 * SP_FB;
                    memset(tj, 0, SP_FB * sizeof(uint64_t));
                    for (int t = 0; t < 8; t++) {
                        Py_ssize_t p = 8 * (g0 + j) + 7 - t, b = (Py_ssize_t)1 << t;
                        uint64_t row[SP_FB] = {0};
                        if (p < k) sp_row_words(wp + (size_t)p * (size_t)nb, nb, f0, fb, row);
                        for (Py_ssize_t v = 0; v < b; v++)
                            for (Py_ssize_t w = 0; w < fb; w++)
                                tj[(size_t)(b + v) * SP_FB + w] = tj[(size_t)v * SP_FB + w] | row[w];
                    }
                }
                int first = g0 == c_lo, last = g0 + g >= c_hi;
                for (Py_ssize_t r = 0; r < m; r++) {
                    const uint8_t *a = fa + (size_t)r * (size_t)kb + g0;
                    uint64_t h[SP_FB] = {0};
                    if (!first) memcpy(h, hit + (size_t)r * SP_FB, SP_FB * sizeof(uint64_t));
                    for (Py_ssize_t j = 0; j < g; j++) {
                        const uint64_t *e = table + ((size_t)j * 256 + a[j]) * SP_FB;
                        for (Py_ssize_t w = 0; w < fb; w++) h[w] |= e[w];
                    }
                    if (!last) {
                        memcpy(hit + (size_t)r * SP_FB, h, SP_FB * sizeof(uint64_t));
                        continue;
                    }
                    int32_t *o = out + (size_t)r * (size_t)n + f0;
                    for (Py_ssize_t w = 0; w < fb; w++) {
                        uint64_t empty = ~h[w] & valid[w];
                        while (empty) {
                            int bit = __builtin_ctzll(empty);
                            empty &= empty - 1;
                            o[64 * w + 8 * (bit >> 3) + 7 - (bit & 7)]++;
                        }
                    }
                }
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
    if (m && n && k)
        sp_empty((const uint8_t *)fa_buf.buf, m, kb, (const uint8_t *)wp_buf.buf, k, nb, n,
                 chunk_bits / 8, (int32_t *)out_buf.buf, table, hit);
    else
        memset(out_buf.buf, 0, (size_t)out_buf.len);
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

/* spread[v]: the 8 bits of byte v as 8 byte lanes of a word, lane t = bit 7 - t (position
 * t of the byte in np.packbits order), so adding words counts 8 positions at once (up to
 * 255 additions before a lane can overflow). */
static uint64_t sp_spread[256];

static void sp_init_spread(void) {
    if (sp_spread[255]) return;
    for (int v = 0; v < 256; v++) {
        uint64_t x = 0;
        for (int t = 0; t < 8; t++) x |= (uint64_t)((v >> (7 - t)) & 1) << (8 * t);
        sp_spread[v] = x;
    }
}

/* Adds the byte lanes of acc (nb words) into counts (8 * nb, position 8i + t = lane t of
 * word i) and clears them. */
static void sp_flush(uint64_t *acc, Py_ssize_t nb, int64_t *counts) {
    for (Py_ssize_t i = 0; i < nb; i++) {
        uint64_t x = acc[i];
        for (int t = 0; t < 8; t++) counts[8 * i + t] += (int64_t)((x >> (8 * t)) & 0xFF);
        acc[i] = 0;
    }
}

/* Column counts of bit-packed rows by group: out[g, c] = #{rows r : group[r] = g, bit c of
 * row r}, rows with group -1 skipped. packed: uint8 (rows, nb); group: int64 (rows,);
 * out: int64 (groups, 8 * nb), written. Byte lanes per group (sp_spread), flushed every
 * 255 rows of that group: nb word additions per row. */
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
    acc = calloc((size_t)groups * (size_t)(nb ? nb : 1), sizeof(uint64_t));
    since = calloc((size_t)groups, sizeof(int32_t));
    if (!acc || !since) {
        PyErr_NoMemory();
        goto done;
    }
    sp_init_spread();
    Py_BEGIN_ALLOW_THREADS
    const uint8_t *pk = (const uint8_t *)pk_buf.buf;
    int64_t *out = (int64_t *)out_buf.buf;
    memset(out, 0, (size_t)out_buf.len);
    for (Py_ssize_t r = 0; r < rows; r++) {
        int64_t g = group[r];
        if (g < 0) continue;
        uint64_t *a = acc + (size_t)g * (size_t)nb;
        const uint8_t *row = pk + (size_t)r * (size_t)nb;
        for (Py_ssize_t i = 0; i < nb; i++) a[i] += sp_spread[row[i]];
        if (++since[g] == 255) {
            sp_flush(a, nb, out + (size_t)g * 8 * (size_t)nb);
            since[g] = 0;
        }
    }
    for (Py_ssize_t g = 0; g < groups; g++)
        sp_flush(acc + (size_t)g * (size_t)nb, nb, out + (size_t)g * 8 * (size_t)nb);
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
 * and added into byte lanes (the matches). fa: uint8 (m, kb); wp: uint8 (k, nb);
 * empty, match: int32 (m, n), written. nb word additions per set bit of A. */
static void sp_direct(const uint8_t *fa, Py_ssize_t m, Py_ssize_t kb, const uint8_t *wp,
                      Py_ssize_t k, Py_ssize_t nb, Py_ssize_t n, Py_ssize_t chunk_bits,
                      int32_t *empty, int32_t *match, uint64_t *acc, uint8_t *hit,
                      int64_t *counts) {
    Py_ssize_t nch = (k + chunk_bits - 1) / chunk_bits;
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
                    memset(hit, 0, (size_t)nb);
                    any = 1;
                }
                const uint8_t *w = wp + (size_t)p * (size_t)nb;
                for (Py_ssize_t i = 0; i < nb; i++) {
                    hit[i] |= w[i];
                    acc[i] += sp_spread[w[i]];
                }
                if (++since == 255) {
                    sp_flush(acc, nb, counts);
                    since = 0;
                }
            }
            if (c == nch) break;
            if (!any) {
                idle++;
                continue;
            }
            for (Py_ssize_t f = 0; f < n; f++) /* filters the chunk does not meet */
                e[f] += !((hit[f >> 3] >> (7 - (f & 7))) & 1);
        }
        sp_flush(acc, nb, counts);
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
    uint64_t *acc = NULL;
    uint8_t *hit = NULL;
    int64_t *counts = NULL;
    Py_ssize_t kb = (k + 7) / 8, nb = (n + 7) / 8;
    if (m < 0 || k < 0 || n < 0 || chunk_bits <= 0 || fa_buf.len != m * kb ||
        wp_buf.len != k * nb || e_buf.len != m * n * (Py_ssize_t)sizeof(int32_t) ||
        q_buf.len != e_buf.len) {
        PyErr_SetString(PyExc_ValueError, "sparten_direct: buffer sizes do not match the shape");
        goto done;
    }
    acc = calloc((size_t)nb + 1, sizeof(uint64_t));
    hit = calloc((size_t)nb + 1, 1);
    counts = calloc(8 * (size_t)nb + 1, sizeof(int64_t));
    if (!acc || !hit || !counts) {
        PyErr_NoMemory();
        goto done;
    }
    sp_init_spread();
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
