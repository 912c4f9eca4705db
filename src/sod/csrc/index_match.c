/* Index matching: fiber statistics, bit transpose, column counts, per-side sums and merge
 * steps of sod.models.index_match (numpy twins: _fiber_stats,
 * sod.models.fibers.transpose_packed, sod.models.fibers.packed_col_counts, _side_sums,
 * _exact_steps, _pruned_tile_maxima; tests/sparse_models/test_index_match_native.py).
 *
 * Popcounts are SWAR (per-byte counts added up, then folded): the portable build assumes
 * no popcnt instruction, and __builtin_popcountll would be a library call per word.
 *
 * Fibers are bit-packed in np.packbits order (bit 7 of byte j = position 8j). A merge's
 * steps are the distinct block ends of both fibers up to T = the earlier last index:
 * popcount((ends_a | ends_w) & [0, T]), read as little-endian 64-bit words. */
#include "kernels.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* 8 packbits bytes as a little-endian word (byte j of the word = byte j in memory). */
static inline uint64_t im_le64(const uint8_t *p) {
    uint64_t x;
    memcpy(&x, p, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    x = __builtin_bswap64(x);
#endif
    return x;
}

static inline void im_store_le64(uint8_t *p, uint64_t x) {
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    x = __builtin_bswap64(x);
#endif
    memcpy(p, &x, 8);
}

/* Positions <= t (mod 64) of t's word: the bytes before t's byte, and t's byte up to t. */
static inline uint64_t im_head(int64_t t) {
    int b = (int)((t & 63) >> 3), j = (int)(t & 7);
    uint64_t below = b ? (((uint64_t)1 << (8 * b)) - 1) : 0;
    return below | ((uint64_t)((0xFFu << (7 - j)) & 0xFFu) << (8 * b));
}

/* Set bits of each byte of x, in that byte (SWAR: __builtin_popcountll is a library call
 * without -mpopcnt, which the portable build does not assume). */
static inline uint64_t im_byte_counts(uint64_t x) {
    x -= (x >> 1) & 0x5555555555555555ULL;
    x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
    return (x + (x >> 4)) & 0x0F0F0F0F0F0F0F0FULL;
}

/* Sum of the bytes of x when each is at most 255: pairs into 16-bit lanes, then one
 * multiply. */
static inline int64_t im_byte_sum(uint64_t x) {
    x = (x & 0x00FF00FF00FF00FFULL) + ((x >> 8) & 0x00FF00FF00FF00FFULL);
    return (int64_t)((x * 0x0001000100010001ULL) >> 48);
}

/* Merge steps of one fiber pair: their ends rows (words of 8 bytes each), last indices.
 * Byte counts add up over at most 31 words (bytes stay below 256), then fold. */
static inline int64_t im_steps(const uint8_t *a, const uint8_t *c, int64_t la, int64_t lc) {
    if (la < 0 || lc < 0) return 0; /* an empty fiber: no merge */
    int64_t t = la < lc ? la : lc, w = t >> 6, s = 0;
    for (int64_t lo = 0; lo < w; lo += 31) {
        int64_t hi = lo + 31 < w ? lo + 31 : w;
        uint64_t acc = 0;
        for (int64_t i = lo; i < hi; i++)
            acc += im_byte_counts(im_le64(a + 8 * i) | im_le64(c + 8 * i));
        s += im_byte_sum(acc);
    }
    return s + im_byte_sum(im_byte_counts((im_le64(a + 8 * w) | im_le64(c + 8 * w)) & im_head(t)));
}

/* ---- fiber statistics ------------------------------------------------------------ */

/* Block ends of one word of a fiber (8 packbits bytes, little-endian), `*res` entries
 * (mod p) before it; advances `*res`. Bytes are independent given their entries before
 * (SWAR per-byte popcounts and their running sums by a multiply), so only the residue
 * carries from word to word. */
static inline __attribute__((always_inline)) uint64_t im_word_ends(
    uint64_t x, Py_ssize_t *res, int64_t *cnt, const uint8_t *table, const uint8_t *modp,
    int pow2, Py_ssize_t pmask) {
    const uint64_t ones = 0x0101010101010101ULL;
    uint64_t c = im_byte_counts(x);
    uint64_t incl = c * ones; /* byte j: bits in bytes 0 ... j (<= 64) */
    uint64_t excl = incl - c, out = 0;
    Py_ssize_t r = *res;
    if (pow2) { /* p a power of two: every byte's residue at once (sums < 128) */
        uint64_t sv = (excl + (uint64_t)r * ones) & ((uint64_t)pmask * ones);
        for (int j = 0; j < 8; j++)
            out |= (uint64_t)table[(Py_ssize_t)((sv >> (8 * j)) & 0xFF) * 256 +
                                   (Py_ssize_t)((x >> (8 * j)) & 0xFF)]
                   << (8 * j);
        *res = (r + (Py_ssize_t)(incl >> 56)) & pmask;
    } else {
        for (int j = 0; j < 8; j++) {
            Py_ssize_t s = modp[r + (Py_ssize_t)((excl >> (8 * j)) & 0xFF)];
            out |= (uint64_t)table[s * 256 + (Py_ssize_t)((x >> (8 * j)) & 0xFF)] << (8 * j);
        }
        *res = modp[r + (Py_ssize_t)(incl >> 56)];
    }
    *cnt += (int64_t)(incl >> 56);
    return out;
}

/* im_fiber_stats over every row; pow2: p is a power of two, pmask = p - 1 (pow2 is a
 * constant at each call: the compiler specializes the loop). */
static inline __attribute__((always_inline)) void im_stats_rows(
    const uint8_t *src, Py_ssize_t rows, Py_ssize_t kb, const uint8_t *table,
    const uint8_t *modp, int pow2, Py_ssize_t pmask, int64_t *length, int64_t *last,
    uint8_t *ends) {
    Py_ssize_t full = kb / 8;
    for (Py_ssize_t i = 0; i < rows; i++) {
        const uint8_t *row = src + (size_t)i * (size_t)kb;
        uint8_t *e = ends + (size_t)i * (size_t)kb;
        int64_t cnt = 0;
        Py_ssize_t res = 0, lastw = -1;
        uint64_t lastx = 0;
        for (Py_ssize_t w = 0; w < full; w++) {
            uint64_t x = im_le64(row + 8 * w);
            im_store_le64(e + 8 * w, im_word_ends(x, &res, &cnt, table, modp, pow2, pmask));
            if (x) { /* the last non-zero word so far */
                lastw = w;
                lastx = x;
            }
        }
        if (kb > 8 * full) { /* the last bytes, zero padded to a word */
            uint8_t tail[8] = {0};
            memcpy(tail, row + 8 * full, (size_t)(kb - 8 * full));
            uint64_t x = im_le64(tail);
            im_store_le64(tail, im_word_ends(x, &res, &cnt, table, modp, pow2, pmask));
            memcpy(e + 8 * full, tail, (size_t)(kb - 8 * full));
            if (x) {
                lastw = full;
                lastx = x;
            }
        }
        length[i] = cnt;
        if (lastw < 0) {
            last[i] = -1;
            continue;
        }
        /* the last entry: the highest non-zero byte's lowest set bit */
        int byte = (63 - __builtin_clzll(lastx)) >> 3;
        uint8_t v = (uint8_t)(lastx >> (8 * byte)), low = (uint8_t)(v & (uint8_t)(-v));
        e[8 * lastw + byte] |= low;
        last[i] = (int64_t)(8 * lastw + byte) * 8 + 7 - __builtin_ctz(low);
    }
}

/* packed: uint8 (rows, kb); length, last: int64 (rows,); ends: uint8 (rows, kb). */
PyObject *im_fiber_stats(PyObject *self, PyObject *args) {
    Py_buffer in, len_buf, last_buf, ends_buf;
    Py_ssize_t rows, kb, p;
    if (!PyArg_ParseTuple(args, "y*nnnw*w*w*", &in, &rows, &kb, &p, &len_buf, &last_buf,
                          &ends_buf))
        return NULL;
    PyObject *result = NULL;
    uint8_t *table = NULL, *modp = NULL;
    if (rows < 0 || kb < 0 || p <= 0 || p > 255 || in.len != rows * kb ||
        ends_buf.len != in.len || len_buf.len != rows * (Py_ssize_t)sizeof(int64_t) ||
        last_buf.len != len_buf.len) {
        PyErr_SetString(PyExc_ValueError, "im_fiber_stats: buffer sizes do not match the shape");
        goto done;
    }
    table = malloc((size_t)p * 256);
    modp = malloc((size_t)p + 65);
    if (!table || !modp) {
        PyErr_NoMemory();
        goto done;
    }
    const uint8_t *src = in.buf;
    uint8_t *ends = ends_buf.buf;
    int64_t *length = len_buf.buf, *last = last_buf.buf;
    Py_BEGIN_ALLOW_THREADS
    /* table[s][v]: bits of byte v whose 1-based rank is a multiple of p when s entries
     * (mod p) come before the byte; modp[x] = x mod p for x < p + 65 */
    for (Py_ssize_t s = 0; s < p; s++)
        for (int v = 0; v < 256; v++) {
            Py_ssize_t r = s;
            uint8_t e = 0;
            for (int bit = 7; bit >= 0; bit--)
                if (v >> bit & 1 && ++r % p == 0) e |= (uint8_t)(1u << bit);
            table[s * 256 + v] = e;
        }
    for (Py_ssize_t x = 0; x < p + 65; x++) modp[x] = (uint8_t)(x % p);
    if ((p & (p - 1)) == 0)
        im_stats_rows(src, rows, kb, table, modp, 1, p - 1, length, last, ends);
    else
        im_stats_rows(src, rows, kb, table, modp, 0, 0, length, last, ends);
    Py_END_ALLOW_THREADS
    result = Py_None;
    Py_INCREF(result);
done:
    free(table);
    free(modp);
    PyBuffer_Release(&in);
    PyBuffer_Release(&len_buf);
    PyBuffer_Release(&last_buf);
    PyBuffer_Release(&ends_buf);
    return result;
}

/* ---- bit transpose --------------------------------------------------------------- */

/* Transpose the 8 x 8 bit block of a little-endian word (byte r = row r, bit 7 = column 0)
 * so that byte c holds column c (flipAntiDiag, as sod.models.fibers._flip_anti_diagonal). */
static inline uint64_t im_flip(uint64_t x) {
    uint64_t t = x ^ (x << 36);
    x ^= 0xF0F0F0F00F0F0F0FULL & (t ^ (x >> 36));
    t = 0xCCCC0000CCCC0000ULL & (x ^ (x << 18));
    x ^= t ^ (t >> 18);
    t = 0xAA00AA00AA00AA00ULL & (x ^ (x << 9));
    return x ^ t ^ (t >> 9);
}

/* packed: uint8 (k, nb), the rows of a (k, n) mask; out: uint8 (n, ceil(k / 8)), its
 * columns (np.packbits order, zero padding). */
PyObject *im_transpose(PyObject *self, PyObject *args) {
    Py_buffer in, out_buf;
    Py_ssize_t k, nb, n;
    if (!PyArg_ParseTuple(args, "y*nnnw*", &in, &k, &nb, &n, &out_buf)) return NULL;
    Py_ssize_t kb = (k + 7) / 8;
    if (k < 0 || nb < 0 || n < 0 || n > 8 * nb || in.len != k * nb || out_buf.len != n * kb) {
        PyErr_SetString(PyExc_ValueError, "im_transpose: buffer sizes do not match the shape");
        PyBuffer_Release(&in);
        PyBuffer_Release(&out_buf);
        return NULL;
    }
    const uint8_t *src = in.buf;
    uint8_t *dst = out_buf.buf;
    Py_BEGIN_ALLOW_THREADS
    /* 64 byte columns (512 output fibers) at a time: every input cache line is read once
     * (8 rows of it per step) and the output rows (one byte per step each) stay in L2. */
    for (Py_ssize_t j0 = 0; j0 < nb; j0 += 64) {
        Py_ssize_t j1 = j0 + 64 < nb ? j0 + 64 : nb;
        for (Py_ssize_t i = 0; i < kb; i++) {
            Py_ssize_t rows = k - 8 * i < 8 ? k - 8 * i : 8;
            if (rows == 8 && 8 * j1 <= n) { /* whole blocks: fixed loops, unrolled */
                for (Py_ssize_t j = j0; j < j1; j++) {
                    const uint8_t *s = src + (size_t)(8 * i) * (size_t)nb + (size_t)j;
                    uint64_t x = 0;
                    for (int r = 0; r < 8; r++) x |= (uint64_t)s[(size_t)r * (size_t)nb] << (8 * r);
                    x = im_flip(x);
                    uint8_t *d = dst + (size_t)(8 * j) * (size_t)kb + (size_t)i;
                    for (int cc = 0; cc < 8; cc++)
                        d[(size_t)cc * (size_t)kb] = (uint8_t)(x >> (8 * cc));
                }
                continue;
            }
            for (Py_ssize_t j = j0; j < j1; j++) {
                uint64_t x = 0;
                for (Py_ssize_t r = 0; r < rows; r++)
                    x |= (uint64_t)src[(size_t)(8 * i + r) * (size_t)nb + (size_t)j] << (8 * r);
                x = im_flip(x);
                Py_ssize_t cols = n - 8 * j < 8 ? n - 8 * j : 8;
                for (Py_ssize_t c = 0; c < cols; c++)
                    dst[(size_t)(8 * j + c) * (size_t)kb + (size_t)i] = (uint8_t)(x >> (8 * c));
            }
        }
    }
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&in);
    PyBuffer_Release(&out_buf);
    Py_RETURN_NONE;
}

/* ---- merge steps ----------------------------------------------------------------- */

/* ends_r: uint8 (m, 8 * words), ends_c: uint8 (n, 8 * words): block-end masks padded to
 * whole words; last_r (m,), last_c (n,), ri, ci (pairs,): int64; out: int64 (pairs,). */
PyObject *im_pair_steps(PyObject *self, PyObject *args) {
    Py_buffer er, ec, lr, lc, ri, ci, out;
    Py_ssize_t m, n, words;
    if (!PyArg_ParseTuple(args, "y*y*nnny*y*y*y*w*", &er, &ec, &m, &n, &words, &lr, &lc, &ri,
                          &ci, &out))
        return NULL;
    PyObject *result = NULL;
    Py_ssize_t pairs = ri.len / (Py_ssize_t)sizeof(int64_t);
    if (m < 0 || n < 0 || words <= 0 || er.len != m * words * 8 || ec.len != n * words * 8 ||
        lr.len != m * (Py_ssize_t)sizeof(int64_t) || lc.len != n * (Py_ssize_t)sizeof(int64_t) ||
        ri.len % (Py_ssize_t)sizeof(int64_t) || ci.len != ri.len || out.len != ri.len) {
        PyErr_SetString(PyExc_ValueError, "im_pair_steps: buffer sizes do not match the shape");
        goto done;
    }
    const uint8_t *a = er.buf, *c = ec.buf;
    const int64_t *last_r = lr.buf, *last_c = lc.buf, *x = ri.buf, *y = ci.buf;
    int64_t *steps = out.buf;
    int bad = 0;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < pairs; i++) {
        int64_t u = x[i], v = y[i];
        if (u < 0 || u >= m || v < 0 || v >= n) {
            bad = 1;
            break;
        }
        int64_t t = last_r[u] < last_c[v] ? last_r[u] : last_c[v];
        if (t >= 64 * (int64_t)words) {
            bad = 1;
            break;
        }
        steps[i] = im_steps(a + (size_t)u * (size_t)words * 8, c + (size_t)v * (size_t)words * 8,
                            last_r[u], last_c[v]);
    }
    Py_END_ALLOW_THREADS
    if (bad) {
        PyErr_SetString(PyExc_ValueError,
                        "im_pair_steps: a fiber index or last index is out of range");
        goto done;
    }
    result = Py_None;
    Py_INCREF(result);
done:
    PyBuffer_Release(&er);
    PyBuffer_Release(&ec);
    PyBuffer_Release(&lr);
    PyBuffer_Release(&lc);
    PyBuffer_Release(&ri);
    PyBuffer_Release(&ci);
    PyBuffer_Release(&out);
    return result;
}

/* ---- slowest pair of every tile ---------------------------------------------------- */

typedef struct {
    int64_t key, idx;
} im_order;

/* Larger blocks first; ties by index (any order gives the same maxima). */
static int im_desc(const void *p, const void *q) {
    const im_order *a = p, *b = q;
    if (a->key != b->key) return a->key < b->key ? 1 : -1;
    return (a->idx > b->idx) - (a->idx < b->idx);
}

/* Each tile's fibers (of size `size`, the last tile cut short) by blocks, descending. */
static void im_sort_tiles(const int64_t *blocks, Py_ssize_t count, Py_ssize_t size,
                          im_order *ord) {
    for (Py_ssize_t i = 0; i < count; i++) {
        ord[i].key = blocks[i];
        ord[i].idx = i;
    }
    for (Py_ssize_t lo = 0; lo < count; lo += size)
        qsort(ord + lo, (size_t)(count - lo < size ? count - lo : size), sizeof(im_order), im_desc);
}

/* Tiles of tr x tc pairs (row tiles over m, column tiles over n); out: int64 (mt * nt),
 * each tile's largest merge steps. A pair's steps are at most blocks_r + blocks_c - 1
 * (both non-empty: the later fiber's last end lies past T, or the last ends coincide),
 * so pairs are visited by descending bound and a tile stops once the bound cannot beat
 * its best. blocks: int64, ceil(length / p) (0 for an empty fiber). */
PyObject *im_tile_maxima(PyObject *self, PyObject *args) {
    Py_buffer er, ec, lr, lc, br, bc, out;
    Py_ssize_t m, n, words, tr, tc;
    if (!PyArg_ParseTuple(args, "y*y*nnny*y*y*y*nnw*", &er, &ec, &m, &n, &words, &lr, &lc, &br,
                          &bc, &tr, &tc, &out))
        return NULL;
    PyObject *result = NULL;
    im_order *ord_r = NULL, *ord_c = NULL;
    Py_ssize_t mt = tr > 0 ? (m + tr - 1) / tr : 0, nt = tc > 0 ? (n + tc - 1) / tc : 0;
    Py_ssize_t i64 = (Py_ssize_t)sizeof(int64_t);
    if (m < 0 || n < 0 || words <= 0 || tr <= 0 || tc <= 0 || er.len != m * words * 8 ||
        ec.len != n * words * 8 || lr.len != m * i64 || br.len != lr.len || lc.len != n * i64 ||
        bc.len != lc.len || out.len != mt * nt * i64) {
        PyErr_SetString(PyExc_ValueError, "im_tile_maxima: buffer sizes do not match the shape");
        goto done;
    }
    const int64_t *last_r = lr.buf, *last_c = lc.buf;
    for (Py_ssize_t i = 0; i < m; i++)
        if (last_r[i] >= 64 * (int64_t)words) goto out_of_range;
    for (Py_ssize_t i = 0; i < n; i++)
        if (last_c[i] >= 64 * (int64_t)words) goto out_of_range;
    ord_r = malloc((size_t)(m ? m : 1) * sizeof(im_order));
    ord_c = malloc((size_t)(n ? n : 1) * sizeof(im_order));
    if (!ord_r || !ord_c) {
        PyErr_NoMemory();
        goto done;
    }
    const uint8_t *a = er.buf, *c = ec.buf;
    int64_t *best = out.buf;
    size_t stride = (size_t)words * 8;
    Py_BEGIN_ALLOW_THREADS
    im_sort_tiles(br.buf, m, tr, ord_r);
    im_sort_tiles(bc.buf, n, tc, ord_c);
    for (Py_ssize_t ti = 0; ti < mt; ti++) {
        const im_order *rows = ord_r + ti * tr;
        Py_ssize_t nr = m - ti * tr < tr ? m - ti * tr : tr;
        for (Py_ssize_t tj = 0; tj < nt; tj++) {
            const im_order *cols = ord_c + tj * tc;
            Py_ssize_t nc = n - tj * tc < tc ? n - tj * tc : tc;
            int64_t top = 0;
            for (Py_ssize_t u = 0; u < nr && rows[u].key + cols[0].key - 1 > top; u++) {
                int64_t r = rows[u].idx, lr_ = last_r[r];
                if (lr_ < 0) continue; /* an empty fiber: 0 steps */
                const uint8_t *fr = a + (size_t)r * stride;
                for (Py_ssize_t v = 0; v < nc && rows[u].key + cols[v].key - 1 > top; v++) {
                    int64_t f = cols[v].idx;
                    int64_t s = im_steps(fr, c + (size_t)f * stride, lr_, last_c[f]);
                    if (s > top) top = s;
                }
            }
            best[ti * nt + tj] = top;
        }
    }
    Py_END_ALLOW_THREADS
    result = Py_None;
    Py_INCREF(result);
    goto done;
out_of_range:
    PyErr_SetString(PyExc_ValueError, "im_tile_maxima: a last index is out of range");
done:
    free(ord_r);
    free(ord_c);
    PyBuffer_Release(&er);
    PyBuffer_Release(&ec);
    PyBuffer_Release(&lr);
    PyBuffer_Release(&lc);
    PyBuffer_Release(&br);
    PyBuffer_Release(&bc);
    PyBuffer_Release(&out);
    return result;
}

/* ---- column counts ------------------------------------------------------------------ */

/* packed: uint8 (rows, kb); out: int64 (k,), k <= 8 * kb: set bits at each position over
 * all rows. Byte-lane counters (a table spreads a byte's 8 bits over 8 byte lanes, one
 * per position) add up to 255 rows, then flush into the int64 totals. */
PyObject *im_col_counts(PyObject *self, PyObject *args) {
    Py_buffer in, out_buf;
    Py_ssize_t rows, kb, k;
    if (!PyArg_ParseTuple(args, "y*nnnw*", &in, &rows, &kb, &k, &out_buf)) return NULL;
    PyObject *result = NULL;
    uint64_t *acc = NULL;
    int64_t *tot = NULL;
    if (rows < 0 || kb < 0 || k < 0 || k > 8 * kb || in.len != rows * kb ||
        out_buf.len != k * (Py_ssize_t)sizeof(int64_t)) {
        PyErr_SetString(PyExc_ValueError, "im_col_counts: buffer sizes do not match the shape");
        goto done;
    }
    acc = calloc((size_t)(kb ? kb : 1), sizeof(uint64_t));
    tot = calloc((size_t)(kb ? kb : 1) * 8, sizeof(int64_t));
    if (!acc || !tot) {
        PyErr_NoMemory();
        goto done;
    }
    const uint8_t *src = in.buf;
    int64_t *out = out_buf.buf;
    Py_BEGIN_ALLOW_THREADS
    uint64_t spread[256]; /* byte j of spread[v] = bit 7 - j of v (position j of the byte) */
    for (int v = 0; v < 256; v++) {
        uint64_t x = 0;
        for (int j = 0; j < 8; j++) x |= (uint64_t)(v >> (7 - j) & 1) << (8 * j);
        spread[v] = x;
    }
    for (Py_ssize_t lo = 0; lo < rows; lo += 255) {
        Py_ssize_t hi = lo + 255 < rows ? lo + 255 : rows;
        for (Py_ssize_t i = lo; i < hi; i++) {
            const uint8_t *row = src + (size_t)i * (size_t)kb;
            for (Py_ssize_t b = 0; b < kb; b++) acc[b] += spread[row[b]];
        }
        for (Py_ssize_t b = 0; b < kb; b++) {
            for (int j = 0; j < 8; j++) tot[8 * b + j] += (int64_t)(acc[b] >> (8 * j) & 0xFF);
            acc[b] = 0;
        }
    }
    memcpy(out, tot, (size_t)k * sizeof(int64_t));
    Py_END_ALLOW_THREADS
    result = Py_None;
    Py_INCREF(result);
done:
    free(acc);
    free(tot);
    PyBuffer_Release(&in);
    PyBuffer_Release(&out_buf);
    return result;
}

/* ---- per-side sums ------------------------------------------------------------------ */

/* One side's sums over every pair with the other side (sod.models.index_match._side_sums):
 * ends: uint8 (rows, 8 * words) block-end masks padded to words; last, length: int64
 * (rows,); vals: int64 (d,) the other side's distinct last indices, ascending, each
 * < 64 * words; count: int64 (d,) its non-empty fibers ending at each. Writes out: int64
 * (2,) = (sum of block ends up to the first end, sum of entries loaded) over pairs with
 * both fibers non-empty. A row's running block-end count is walked once along its words
 * while the ascending vals are visited. */
PyObject *im_side_sums(PyObject *self, PyObject *args) {
    Py_buffer eb, lb, nb, vb, cb, ob;
    Py_ssize_t rows, words, d, p;
    if (!PyArg_ParseTuple(args, "y*nny*y*y*y*nnw*", &eb, &rows, &words, &lb, &nb, &vb, &cb, &d,
                          &p, &ob))
        return NULL;
    PyObject *result = NULL;
    Py_ssize_t i64 = (Py_ssize_t)sizeof(int64_t);
    if (rows < 0 || words <= 0 || d < 0 || p <= 0 || eb.len != rows * words * 8 ||
        lb.len != rows * i64 || nb.len != lb.len || vb.len != d * i64 || cb.len != vb.len ||
        ob.len != 2 * i64) {
        PyErr_SetString(PyExc_ValueError, "im_side_sums: buffer sizes do not match the shape");
        goto done;
    }
    const int64_t *vals = vb.buf, *count = cb.buf, *last = lb.buf, *length = nb.buf;
    for (Py_ssize_t j = 0; j < d; j++)
        if (vals[j] < 0 || vals[j] >= 64 * (int64_t)words || (j && vals[j] <= vals[j - 1])) {
            PyErr_SetString(PyExc_ValueError,
                            "im_side_sums: vals must ascend strictly within the fibers");
            goto done;
        }
    const uint8_t *ends = eb.buf;
    int64_t *out = ob.buf, total = 0, ends_sum = 0, loads = 0;
    for (Py_ssize_t j = 0; j < d; j++) total += count[j];
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < rows; i++) {
        int64_t la = last[i], len = length[i];
        if (la < 0) continue; /* an empty fiber: no pair counts */
        const uint8_t *row = ends + (size_t)i * (size_t)words * 8;
        int64_t before_cnt = 0, run = 0; /* run: block ends in words before word w */
        Py_ssize_t w = 0;
        /* the other side ends first (strictly) at vals[j] < la: running count there */
        for (Py_ssize_t j = 0; j < d && vals[j] < la; j++) {
            int64_t v = vals[j];
            for (; w < (v >> 6); w++) run += im_byte_sum(im_byte_counts(im_le64(row + 8 * w)));
            int64_t at = run + im_byte_sum(im_byte_counts(im_le64(row + 8 * w) & im_head(v)));
            int64_t held = (at + 1) * p < len ? (at + 1) * p : len;
            ends_sum += at * count[j];
            loads += held * count[j];
            before_cnt += count[j];
        }
        /* the rest end with or after this fiber: all its blocks and entries */
        int64_t after = total - before_cnt;
        ends_sum += after * ((len + p - 1) / p);
        loads += after * len;
    }
    Py_END_ALLOW_THREADS
    out[0] = ends_sum;
    out[1] = loads;
    result = Py_None;
    Py_INCREF(result);
done:
    PyBuffer_Release(&eb);
    PyBuffer_Release(&lb);
    PyBuffer_Release(&nb);
    PyBuffer_Release(&vb);
    PyBuffer_Release(&cb);
    PyBuffer_Release(&ob);
    return result;
}
