/* Weight reordering: block line counts of a bit-packed mask in a gathered item order
 * (sod.compiler.bitcount.block_bit_counts; its numpy twin unpacks and sums). */
#include "kernels.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* bc_block_counts(packed, items, row_bytes, idx, count, block, out)
 *
 * packed: uint8 (items, row_bytes), C order: item i's bits in np.packbits order (the
 * first bit in the high bit of byte 0). idx: int64 (count,): the items in the order they
 * are taken, each in [0, items). out: uint8 (ceil(count / block), 8 * row_bytes):
 * out[b, j] = number of t in block b (t = b*block ... b*block + block - 1, the last block
 * cut short) whose item idx[t] has bit j set. block <= 255, so a byte never overflows:
 * the eight bits of a packed byte are added at once as eight byte lanes of a uint64
 * (a table maps a byte to its eight 0/1 bytes; lanes never carry into each other). */
PyObject *bc_block_counts(PyObject *self, PyObject *args) {
    Py_buffer packed_buf, idx_buf, out_buf;
    Py_ssize_t items, row_bytes, count, block;
    if (!PyArg_ParseTuple(args, "y*nny*nnw*", &packed_buf, &items, &row_bytes, &idx_buf, &count,
                          &block, &out_buf))
        return NULL;
    PyObject *result = NULL;
    uint64_t *acc = NULL;
    Py_ssize_t blocks = block > 0 ? (count + block - 1) / block : 0;
    if (items < 0 || row_bytes <= 0 || count < 0 || block <= 0 || block > 255 ||
        packed_buf.len != items * row_bytes ||
        idx_buf.len != count * (Py_ssize_t)sizeof(int64_t) ||
        out_buf.len != blocks * 8 * row_bytes) {
        PyErr_SetString(PyExc_ValueError,
                        "bc_block_counts: buffer sizes do not match the shape (or block > 255)");
        goto done;
    }
    const uint8_t *packed = (const uint8_t *)packed_buf.buf;
    const int64_t *idx = (const int64_t *)idx_buf.buf;
    uint8_t *out = (uint8_t *)out_buf.buf;
    for (Py_ssize_t t = 0; t < count; t++) {
        if (idx[t] < 0 || idx[t] >= items) {
            PyErr_SetString(PyExc_ValueError, "bc_block_counts: an index is out of range");
            goto done;
        }
    }
    acc = malloc((size_t)row_bytes * sizeof(uint64_t));
    if (!acc) {
        PyErr_NoMemory();
        goto done;
    }
    Py_BEGIN_ALLOW_THREADS
    uint64_t lut[256];
    for (int v = 0; v < 256; v++) { /* byte s of the word (memory order) = bit 7 - s of v */
        uint8_t lanes[8];
        for (int s = 0; s < 8; s++) lanes[s] = (uint8_t)((v >> (7 - s)) & 1);
        memcpy(&lut[v], lanes, 8);
    }
    for (Py_ssize_t b = 0; b < blocks; b++) {
        memset(acc, 0, (size_t)row_bytes * sizeof(uint64_t));
        Py_ssize_t hi = (b + 1) * block < count ? (b + 1) * block : count;
        for (Py_ssize_t t = b * block; t < hi; t++) {
            const uint8_t *restrict row = packed + (size_t)idx[t] * (size_t)row_bytes;
            for (Py_ssize_t j = 0; j < row_bytes; j++) acc[j] += lut[row[j]];
        }
        memcpy(out + (size_t)b * 8 * (size_t)row_bytes, acc, (size_t)row_bytes * 8);
    }
    Py_END_ALLOW_THREADS
    result = Py_None;
    Py_INCREF(result);
done:
    free(acc);
    PyBuffer_Release(&packed_buf);
    PyBuffer_Release(&idx_buf);
    PyBuffer_Release(&out_buf);
    return result;
}

/* bc_block_or(packed, items, row_bytes, idx, count, block, out)
 *
 * As bc_block_counts, but each block's items are ORed byte by byte: out uint8
 * (ceil(count / block), row_bytes), out[b] = packed[idx[b*block]] | ... (the last block
 * cut short). The layout search's block patterns (which row blocks each column touches). */
PyObject *bc_block_or(PyObject *self, PyObject *args) {
    Py_buffer packed_buf, idx_buf, out_buf;
    Py_ssize_t items, row_bytes, count, block;
    if (!PyArg_ParseTuple(args, "y*nny*nnw*", &packed_buf, &items, &row_bytes, &idx_buf, &count,
                          &block, &out_buf))
        return NULL;
    PyObject *result = NULL;
    Py_ssize_t blocks = block > 0 ? (count + block - 1) / block : 0;
    if (items < 0 || row_bytes <= 0 || count < 0 || block <= 0 ||
        packed_buf.len != items * row_bytes ||
        idx_buf.len != count * (Py_ssize_t)sizeof(int64_t) || out_buf.len != blocks * row_bytes) {
        PyErr_SetString(PyExc_ValueError, "bc_block_or: buffer sizes do not match the shape");
        goto done;
    }
    const uint8_t *packed = (const uint8_t *)packed_buf.buf;
    const int64_t *idx = (const int64_t *)idx_buf.buf;
    uint8_t *out = (uint8_t *)out_buf.buf;
    for (Py_ssize_t t = 0; t < count; t++) {
        if (idx[t] < 0 || idx[t] >= items) {
            PyErr_SetString(PyExc_ValueError, "bc_block_or: an index is out of range");
            goto done;
        }
    }
    Py_BEGIN_ALLOW_THREADS
    Py_ssize_t words = row_bytes / 8, tail = row_bytes - 8 * words;
    for (Py_ssize_t b = 0; b < blocks; b++) {
        uint8_t *restrict acc = out + (size_t)b * (size_t)row_bytes;
        memset(acc, 0, (size_t)row_bytes);
        Py_ssize_t hi = (b + 1) * block < count ? (b + 1) * block : count;
        for (Py_ssize_t t = b * block; t < hi; t++) {
            const uint8_t *restrict row = packed + (size_t)idx[t] * (size_t)row_bytes;
            /* eight bytes a word (memcpy: no alignment assumed; OR is bytewise) */
            for (Py_ssize_t w = 0; w < words; w++) {
                uint64_t a, r;
                memcpy(&a, acc + 8 * w, 8);
                memcpy(&r, row + 8 * w, 8);
                a |= r;
                memcpy(acc + 8 * w, &a, 8);
            }
            for (Py_ssize_t j = 8 * words; j < 8 * words + tail; j++) acc[j] |= row[j];
        }
    }
    Py_END_ALLOW_THREADS
    result = Py_None;
    Py_INCREF(result);
done:
    PyBuffer_Release(&packed_buf);
    PyBuffer_Release(&idx_buf);
    PyBuffer_Release(&out_buf);
    return result;
}

/* bc_spread_rows(words, groups, width, src, count, out)
 *
 * Unpacks gathered rows of a mask packed along its rows in groups of eight: words uint64
 * (groups, width), byte lane c of word w of group q holding rows 8q ... 8q+7 of column
 * 8w+c (row 8q in the high bit); src int64 (count,) in [0, 8*groups); out uint64
 * (count, width): out[i, w] = (words[src[i] >> 3, w] >> (7 - (src[i] & 7))) & 0x01..01,
 * i.e. row src[i] as 0/1 bytes (sod.compiler.reorder._permute_bool, one pass). */
PyObject *bc_spread_rows(PyObject *self, PyObject *args) {
    Py_buffer words_buf, src_buf, out_buf;
    Py_ssize_t groups, width, count;
    if (!PyArg_ParseTuple(args, "y*nny*nw*", &words_buf, &groups, &width, &src_buf, &count,
                          &out_buf))
        return NULL;
    PyObject *result = NULL;
    if (groups < 0 || width < 0 || count < 0 ||
        words_buf.len != groups * width * (Py_ssize_t)sizeof(uint64_t) ||
        src_buf.len != count * (Py_ssize_t)sizeof(int64_t) ||
        out_buf.len != count * width * (Py_ssize_t)sizeof(uint64_t)) {
        PyErr_SetString(PyExc_ValueError, "bc_spread_rows: buffer sizes do not match the shape");
        goto done;
    }
    const uint64_t *words = (const uint64_t *)words_buf.buf;
    const int64_t *src = (const int64_t *)src_buf.buf;
    uint64_t *out = (uint64_t *)out_buf.buf;
    for (Py_ssize_t i = 0; i < count; i++) {
        if (src[i] < 0 || src[i] >= 8 * groups) {
            PyErr_SetString(PyExc_ValueError, "bc_spread_rows: a row index is out of range");
            goto done;
        }
    }
    Py_BEGIN_ALLOW_THREADS
    const uint64_t ones = 0x0101010101010101ULL;
    for (Py_ssize_t i = 0; i < count; i++) {
        const uint64_t *row = words + (size_t)(src[i] >> 3) * (size_t)width;
        unsigned shift = (unsigned)(7 - (src[i] & 7));
        uint64_t *o = out + (size_t)i * (size_t)width;
        for (Py_ssize_t w = 0; w < width; w++) o[w] = (row[w] >> shift) & ones;
    }
    Py_END_ALLOW_THREADS
    result = Py_None;
    Py_INCREF(result);
done:
    PyBuffer_Release(&words_buf);
    PyBuffer_Release(&src_buf);
    PyBuffer_Release(&out_buf);
    return result;
}

/* The 8x8 bit matrix in x transposed: row r is byte 7 - r (the most significant byte
 * first), column c is bit 7 - c of a byte (Hacker's Delight, transpose8). */
static inline uint64_t transpose8(uint64_t x) {
    uint64_t t;
    t = (x ^ (x >> 7)) & 0x00AA00AA00AA00AAULL;
    x = x ^ t ^ (t << 7);
    t = (x ^ (x >> 14)) & 0x0000CCCC0000CCCCULL;
    x = x ^ t ^ (t << 14);
    t = (x ^ (x >> 28)) & 0x00000000F0F0F0F0ULL;
    x = x ^ t ^ (t << 28);
    return x;
}

/* bc_pack_axis0(rows, k, row_bytes, out)
 *
 * rows: uint8 (k, row_bytes), a k x n mask packed along n (np.packbits(mask, axis=1));
 * out: uint8 (ceil(k / 8), 8 * row_bytes), written whole: np.packbits(mask, axis=0) of
 * the unpacked mask (with its 8 * row_bytes columns): byte j of row g holds rows
 * 8g ... 8g+7 of column j, row 8g in the high bit. Eight rows at a time, each 8 x 8 bit
 * block transposed; rows read and out written in order. */
PyObject *bc_pack_axis0(PyObject *self, PyObject *args) {
    Py_buffer rows_buf, out_buf;
    Py_ssize_t k, row_bytes;
    if (!PyArg_ParseTuple(args, "y*nnw*", &rows_buf, &k, &row_bytes, &out_buf)) return NULL;
    PyObject *result = NULL;
    Py_ssize_t groups = (k + 7) / 8, n8 = 8 * row_bytes;
    if (k < 0 || row_bytes < 0 || rows_buf.len != k * row_bytes || out_buf.len != groups * n8) {
        PyErr_SetString(PyExc_ValueError, "bc_pack_axis0: buffer sizes do not match the shape");
        goto done;
    }
    const uint8_t *rows = (const uint8_t *)rows_buf.buf;
    uint8_t *out = (uint8_t *)out_buf.buf;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t g = 0; g < groups; g++) {
        Py_ssize_t live = k - 8 * g < 8 ? k - 8 * g : 8;
        const uint8_t *base = rows + (size_t)(8 * g) * (size_t)row_bytes;
        uint8_t *dst = out + (size_t)g * (size_t)n8;
        if (live == 8) {
            const uint8_t *r0 = base, *r1 = r0 + row_bytes, *r2 = r1 + row_bytes,
                          *r3 = r2 + row_bytes, *r4 = r3 + row_bytes, *r5 = r4 + row_bytes,
                          *r6 = r5 + row_bytes, *r7 = r6 + row_bytes;
            for (Py_ssize_t c = 0; c < row_bytes; c++) {
                uint64_t x = ((uint64_t)r0[c] << 56) | ((uint64_t)r1[c] << 48) |
                             ((uint64_t)r2[c] << 40) | ((uint64_t)r3[c] << 32) |
                             ((uint64_t)r4[c] << 24) | ((uint64_t)r5[c] << 16) |
                             ((uint64_t)r6[c] << 8) | (uint64_t)r7[c];
                x = transpose8(x);
                for (int i = 0; i < 8; i++) dst[8 * c + i] = (uint8_t)(x >> (8 * (7 - i)));
            }
            continue;
        }
        for (Py_ssize_t c = 0; c < row_bytes; c++) {
            uint64_t x = 0;
            for (Py_ssize_t b = 0; b < live; b++)
                x |= (uint64_t)base[(size_t)b * (size_t)row_bytes + (size_t)c] << (8 * (7 - b));
            x = transpose8(x);
            for (int i = 0; i < 8; i++) dst[8 * c + i] = (uint8_t)(x >> (8 * (7 - i)));
        }
    }
    Py_END_ALLOW_THREADS
    result = Py_None;
    Py_INCREF(result);
done:
    PyBuffer_Release(&rows_buf);
    PyBuffer_Release(&out_buf);
    return result;
}

/* The 8 x 8 byte matrix in r[0..7] transposed in place: element (i, j) is byte j of
 * r[i] in memory order (swaps of 1-, 2- and 4-byte units between pairs of words). */
static inline void transpose8x8_bytes(uint64_t r[8]) {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    const uint64_t m1 = 0x00FF00FF00FF00FFULL, m2 = 0x0000FFFF0000FFFFULL,
                   m4 = 0x00000000FFFFFFFFULL;
    for (int p = 0; p < 8; p += 2) {
        uint64_t a = r[p], b = r[p + 1];
        r[p] = (a & m1) | ((b << 8) & ~m1);
        r[p + 1] = ((a >> 8) & m1) | (b & ~m1);
    }
    for (int p = 0; p < 8; p += 4)
        for (int q = p; q < p + 2; q++) {
            uint64_t a = r[q], b = r[q + 2];
            r[q] = (a & m2) | ((b << 16) & ~m2);
            r[q + 2] = ((a >> 16) & m2) | (b & ~m2);
        }
    for (int q = 0; q < 4; q++) {
        uint64_t a = r[q], b = r[q + 4];
        r[q] = (a & m4) | (b << 32);
        r[q + 4] = (a >> 32) | (b & ~m4);
    }
#else
    uint8_t m[8][8], t[8][8];
    memcpy(m, r, 64);
    for (int i = 0; i < 8; i++)
        for (int j = 0; j < 8; j++) t[j][i] = m[i][j];
    memcpy(r, t, 64);
#endif
}

/* bc_transpose_bytes(src, a, b, out, stride)
 *
 * src: uint8 (a, b); out: uint8 (b, stride), stride >= a: out[j, i] = src[i, j], and zero
 * for i >= a. 8 x 8 blocks as eight words, strips of eight source rows in order. */
PyObject *bc_transpose_bytes(PyObject *self, PyObject *args) {
    Py_buffer src_buf, out_buf;
    Py_ssize_t a, b, stride;
    if (!PyArg_ParseTuple(args, "y*nnw*n", &src_buf, &a, &b, &out_buf, &stride)) return NULL;
    PyObject *result = NULL;
    if (a < 0 || b < 0 || stride < a || src_buf.len != a * b || out_buf.len != b * stride) {
        PyErr_SetString(PyExc_ValueError,
                        "bc_transpose_bytes: buffer sizes do not match the shape");
        goto done;
    }
    const uint8_t *src = (const uint8_t *)src_buf.buf;
    uint8_t *out = (uint8_t *)out_buf.buf;
    Py_BEGIN_ALLOW_THREADS
    Py_ssize_t a8 = a / 8 * 8, b8 = b / 8 * 8;
    /* 64 x 64 tiles: a tile's 64 source lines and 64 output lines stay in L1 */
    for (Py_ssize_t t0 = 0; t0 < a8; t0 += 64) {
        Py_ssize_t t1 = t0 + 64 < a8 ? t0 + 64 : a8;
        for (Py_ssize_t u0 = 0; u0 < b8; u0 += 64) {
            Py_ssize_t u1 = u0 + 64 < b8 ? u0 + 64 : b8;
            for (Py_ssize_t i0 = t0; i0 < t1; i0 += 8)
                for (Py_ssize_t j0 = u0; j0 < u1; j0 += 8) {
                    uint64_t r[8];
                    for (int i = 0; i < 8; i++)
                        memcpy(&r[i], src + (size_t)(i0 + i) * (size_t)b + (size_t)j0, 8);
                    transpose8x8_bytes(r);
                    for (int j = 0; j < 8; j++)
                        memcpy(out + (size_t)(j0 + j) * (size_t)stride + (size_t)i0, &r[j], 8);
                }
        }
    }
    for (Py_ssize_t j = b8; j < b; j++) /* the last columns, one by one */
        for (Py_ssize_t i = 0; i < a8; i++)
            out[(size_t)j * (size_t)stride + (size_t)i] = src[(size_t)i * (size_t)b + (size_t)j];
    for (Py_ssize_t i = a8; i < a; i++) /* the last rows, one by one */
        for (Py_ssize_t j = 0; j < b; j++)
            out[(size_t)j * (size_t)stride + (size_t)i] = src[(size_t)i * (size_t)b + (size_t)j];
    if (stride > a)
        for (Py_ssize_t j = 0; j < b; j++)
            memset(out + (size_t)j * (size_t)stride + (size_t)a, 0, (size_t)(stride - a));
    Py_END_ALLOW_THREADS
    result = Py_None;
    Py_INCREF(result);
done:
    PyBuffer_Release(&src_buf);
    PyBuffer_Release(&out_buf);
    return result;
}

/* bc_csc_lags(fibers, tiles, vmax, lanes, vectors, record, pointer, value, read_bits,
 *             dense_fallback, sizes, use_dense, lags)
 *
 * The CSC stream tiles of sod.compiler.image._fiber_tiles (with_need="lag") in one pass.
 * fibers: uint8 (tiles, vmax), the non-zeros of every vector of every tile (zero past a
 * tile's vectors); lanes, vectors: int64 (tiles,). Vector j of a tile ends after
 * need_j = (j + 1) * pointer + record * (fibers[0] + ... + fibers[j]) bits; its size is
 * need at its last vector, or lanes * vectors * value when dense_fallback and that is
 * not larger (the tile is then stored dense: need_j = (j + 1) * lanes * value). Outputs
 * (tiles,): sizes int64, use_dense uint8 (0/1), lags int64 =
 * max over j < vectors of ceil(need_j / read_bits) - (j + 1). */
PyObject *bc_csc_lags(PyObject *self, PyObject *args) {
    Py_buffer fib_buf, lanes_buf, vec_buf, size_buf, dense_buf, lag_buf;
    Py_ssize_t tiles, vmax, record, pointer, value, read_bits;
    int dense_fallback;
    if (!PyArg_ParseTuple(args, "y*nny*y*nnnnpw*w*w*", &fib_buf, &tiles, &vmax, &lanes_buf,
                          &vec_buf, &record, &pointer, &value, &read_bits, &dense_fallback,
                          &size_buf, &dense_buf, &lag_buf))
        return NULL;
    PyObject *result = NULL;
    Py_ssize_t i64 = (Py_ssize_t)sizeof(int64_t);
    if (tiles < 0 || vmax <= 0 || record < 0 || pointer < 0 || value < 0 || read_bits <= 0 ||
        fib_buf.len != tiles * vmax || lanes_buf.len != tiles * i64 ||
        vec_buf.len != tiles * i64 || size_buf.len != tiles * i64 || dense_buf.len != tiles ||
        lag_buf.len != tiles * i64) {
        PyErr_SetString(PyExc_ValueError, "bc_csc_lags: buffer sizes do not match the shape");
        goto done;
    }
    const uint8_t *fib = (const uint8_t *)fib_buf.buf;
    const int64_t *lanes = (const int64_t *)lanes_buf.buf, *vectors = (const int64_t *)vec_buf.buf;
    int64_t *sizes = (int64_t *)size_buf.buf, *lags = (int64_t *)lag_buf.buf;
    uint8_t *use_dense = (uint8_t *)dense_buf.buf;
    for (Py_ssize_t t = 0; t < tiles; t++) {
        if (vectors[t] < 1 || vectors[t] > vmax || lanes[t] < 0) {
            PyErr_SetString(PyExc_ValueError, "bc_csc_lags: a tile's vectors are out of range");
            goto done;
        }
    }
    Py_BEGIN_ALLOW_THREADS
    const int64_t b = (int64_t)read_bits;
    /* read widths are powers of two in practice: a ceiling by shifting (no division) */
    int shift = (read_bits & (read_bits - 1)) == 0 ? __builtin_ctzll((uint64_t)read_bits) : -1;
    for (Py_ssize_t t = 0; t < tiles; t++) {
        const uint8_t *f = fib + (size_t)t * (size_t)vmax;
        int64_t v = vectors[t], acc = 0, best = INT64_MIN, need = 0;
        if (shift >= 0) {
            for (int64_t j = 0; j < v; j++) {
                acc += f[j];
                need = (j + 1) * (int64_t)pointer + acc * (int64_t)record;
                int64_t lag = ((need + b - 1) >> shift) - (j + 1);
                if (lag > best) best = lag;
            }
        } else {
            for (int64_t j = 0; j < v; j++) {
                acc += f[j];
                need = (j + 1) * (int64_t)pointer + acc * (int64_t)record;
                int64_t lag = (need + b - 1) / b - (j + 1);
                if (lag > best) best = lag;
            }
        }
        int64_t dense = lanes[t] * v * (int64_t)value;
        if (dense_fallback && dense <= need) {
            int64_t per = lanes[t] * (int64_t)value;
            best = INT64_MIN;
            for (int64_t j = 0; j < v; j++) {
                int64_t lag = ((j + 1) * per + b - 1) / b - (j + 1);
                if (lag > best) best = lag;
            }
            sizes[t] = dense;
            use_dense[t] = 1;
        } else {
            sizes[t] = need;
            use_dense[t] = 0;
        }
        lags[t] = best;
    }
    Py_END_ALLOW_THREADS
    result = Py_None;
    Py_INCREF(result);
done:
    PyBuffer_Release(&fib_buf);
    PyBuffer_Release(&lanes_buf);
    PyBuffer_Release(&vec_buf);
    PyBuffer_Release(&size_buf);
    PyBuffer_Release(&dense_buf);
    PyBuffer_Release(&lag_buf);
    return result;
}

/* bc_group_stats(x, a, b, axis, block, nnz, nonzero)
 *
 * x: uint8 (a, b), small counts (sod.compiler.plan.BlockCounts' line counts). Groups of
 * `block` consecutive entries along `axis` (0: rows, 1: columns; the last group cut
 * short): nnz int64 and nonzero int64, both (ceil(a / block), b) for axis 0 or
 * (a, ceil(b / block)) for axis 1, hold each group's sum and how many of its entries are
 * not zero (BlockCounts.block_stats on the zero-padded counts). */
PyObject *bc_group_stats(PyObject *self, PyObject *args) {
    Py_buffer x_buf, nnz_buf, nz_buf;
    Py_ssize_t a, b, axis, block;
    if (!PyArg_ParseTuple(args, "y*nnnnw*w*", &x_buf, &a, &b, &axis, &block, &nnz_buf, &nz_buf))
        return NULL;
    PyObject *result = NULL;
    Py_ssize_t i64 = (Py_ssize_t)sizeof(int64_t);
    Py_ssize_t outs = block > 0 ? (axis == 0 ? (a + block - 1) / block * b
                                             : a * ((b + block - 1) / block))
                                : -1;
    if (a < 0 || b < 0 || block <= 0 || (axis != 0 && axis != 1) || x_buf.len != a * b ||
        nnz_buf.len != outs * i64 || nz_buf.len != outs * i64) {
        PyErr_SetString(PyExc_ValueError, "bc_group_stats: buffer sizes do not match the shape");
        goto done;
    }
    const uint8_t *x = (const uint8_t *)x_buf.buf;
    int64_t *nnz = (int64_t *)nnz_buf.buf, *nz = (int64_t *)nz_buf.buf;
    Py_BEGIN_ALLOW_THREADS
    memset(nnz, 0, (size_t)outs * sizeof(int64_t));
    memset(nz, 0, (size_t)outs * sizeof(int64_t));
    if (axis == 0) {
        for (Py_ssize_t i = 0; i < a; i++) {
            const uint8_t *row = x + (size_t)i * (size_t)b;
            int64_t *s = nnz + (size_t)(i / block) * (size_t)b, *z = nz + (size_t)(i / block) * (size_t)b;
            for (Py_ssize_t j = 0; j < b; j++) {
                s[j] += row[j];
                z[j] += row[j] != 0;
            }
        }
    } else {
        Py_ssize_t groups = (b + block - 1) / block;
        for (Py_ssize_t i = 0; i < a; i++) {
            const uint8_t *row = x + (size_t)i * (size_t)b;
            for (Py_ssize_t g = 0; g < groups; g++) {
                Py_ssize_t lo = g * block, hi = lo + block < b ? lo + block : b;
                int64_t sum = 0, count = 0;
                for (Py_ssize_t j = lo; j < hi; j++) {
                    sum += row[j];
                    count += row[j] != 0;
                }
                nnz[(size_t)i * (size_t)groups + (size_t)g] = sum;
                nz[(size_t)i * (size_t)groups + (size_t)g] = count;
            }
        }
    }
    Py_END_ALLOW_THREADS
    result = Py_None;
    Py_INCREF(result);
done:
    PyBuffer_Release(&x_buf);
    PyBuffer_Release(&nnz_buf);
    PyBuffer_Release(&nz_buf);
    return result;
}

/* bc_signature_order(blocks, nbytes, items, counts, fewest_first, out)
 *
 * sod.compiler.reorder._signature_order: the items ordered by (the number of blocks
 * they touch, if fewest_first), then their block pattern lexicographically with the
 * bits inverted (blocks: uint8 (nbytes, items), byte j of item i's packed pattern at
 * [j, i]; touching the first block sorts first), then counts (int64, >= 0) densest
 * first, then the index. out: int64 (items,). A least-significant-digit radix sort,
 * one stable counting pass per key byte (passes where every item has the same byte are
 * skipped). */
PyObject *bc_signature_order(PyObject *self, PyObject *args) {
    Py_buffer blocks_buf, counts_buf, out_buf;
    Py_ssize_t nbytes, items;
    int fewest_first;
    if (!PyArg_ParseTuple(args, "y*nny*pw*", &blocks_buf, &nbytes, &items, &counts_buf,
                          &fewest_first, &out_buf))
        return NULL;
    PyObject *result = NULL;
    int64_t *tmp = NULL;
    uint8_t *digit = NULL;
    uint64_t *aux = NULL;
    Py_ssize_t i64 = (Py_ssize_t)sizeof(int64_t);
    if (nbytes < 0 || items < 0 || blocks_buf.len != nbytes * items ||
        counts_buf.len != items * i64 || out_buf.len != items * i64) {
        PyErr_SetString(PyExc_ValueError,
                        "bc_signature_order: buffer sizes do not match the shape");
        goto done;
    }
    const uint8_t *blocks = (const uint8_t *)blocks_buf.buf;
    const int64_t *counts = (const int64_t *)counts_buf.buf;
    int64_t *order = (int64_t *)out_buf.buf;
    int64_t top = 0;
    for (Py_ssize_t i = 0; i < items; i++) {
        if (counts[i] < 0) {
            PyErr_SetString(PyExc_ValueError, "bc_signature_order: a count is negative");
            goto done;
        }
        if (counts[i] > top) top = counts[i];
    }
    tmp = malloc((size_t)(items > 0 ? items : 1) * sizeof(int64_t));
    digit = malloc((size_t)(items > 0 ? items : 1));
    aux = malloc((size_t)(items > 0 ? items : 1) * sizeof(uint64_t));
    if (!tmp || !digit || !aux) {
        PyErr_NoMemory();
        goto done;
    }
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < items; i++) order[i] = i;
    /* the passes, least significant key byte first: (top - count) bytes, the inverted
     * pattern bytes from the last, then the blocks touched */
    int count_bytes = 0;
    for (uint64_t t = (uint64_t)top; t; t >>= 8) count_bytes++;
    int touched_bytes = 0;
    if (fewest_first) {
        uint64_t most = 0;
        memset(aux, 0, (size_t)(items > 0 ? items : 1) * sizeof(uint64_t));
        for (Py_ssize_t j = 0; j < nbytes; j++) { /* a row of bytes at a time */
            const uint8_t *row = blocks + (size_t)j * (size_t)items;
            for (Py_ssize_t i = 0; i < items; i++) aux[i] += (uint64_t)sod_popcount64(row[i]);
        }
        for (Py_ssize_t i = 0; i < items; i++)
            if (aux[i] > most) most = aux[i];
        for (uint64_t t = most; t; t >>= 8) touched_bytes++;
    }
    Py_ssize_t passes = count_bytes + nbytes + touched_bytes;
    for (Py_ssize_t p = 0; p < passes; p++) {
        /* the digit of every item (by item index) */
        if (p < count_bytes) {
            for (Py_ssize_t i = 0; i < items; i++)
                digit[i] = (uint8_t)(((uint64_t)(top - counts[i])) >> (8 * p));
        } else if (p < count_bytes + nbytes) {
            const uint8_t *row = blocks + (size_t)(nbytes - 1 - (p - count_bytes)) * (size_t)items;
            for (Py_ssize_t i = 0; i < items; i++) digit[i] = (uint8_t)~row[i];
        } else {
            int b = (int)(p - count_bytes - nbytes);
            for (Py_ssize_t i = 0; i < items; i++) digit[i] = (uint8_t)(aux[i] >> (8 * b));
        }
        Py_ssize_t hist[257];
        memset(hist, 0, sizeof hist);
        for (Py_ssize_t i = 0; i < items; i++) hist[digit[i] + 1]++;
        int single = 0;
        for (int v = 1; v <= 256; v++)
            if (hist[v] == items) single = 1;
        if (single) continue; /* every item has this digit: the order stays */
        for (int v = 1; v <= 256; v++) hist[v] += hist[v - 1];
        for (Py_ssize_t i = 0; i < items; i++) {
            int64_t it = order[i];
            tmp[hist[digit[it]]++] = it;
        }
        memcpy(order, tmp, (size_t)items * sizeof(int64_t));
    }
    Py_END_ALLOW_THREADS
    result = Py_None;
    Py_INCREF(result);
done:
    free(tmp);
    free(digit);
    free(aux);
    PyBuffer_Release(&blocks_buf);
    PyBuffer_Release(&counts_buf);
    PyBuffer_Release(&out_buf);
    return result;
}
