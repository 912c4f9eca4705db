/* Column combining: the first-fit packing of sod.mapping.column_combining. */
#include "kernels.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Column combining (sod.mapping.column_combining._first_fit without line splitting).
 *
 * bytes: uint8 (k, row_bytes), C order: the mask packed along its rows (zero padding bits);
 * tile t is bytes t*per ... t*per + per - 1 of every row (the last may be cut short).
 * group_of: int32 (T, k), written for every line that is non-zero in its tile (others are
 * left as they are, -1 by the caller); line_nnz: int32 (T, k), every line's non-zeros.
 *
 * Per tile, the open groups are kept in creation order (oldest first); a line joins the
 * first one it does not conflict with, else opens a new group at the end, evicting the
 * oldest when `win` groups are open. A group closes (leaves the list) at g members. Lines
 * go in k order, each tile on its own. */
static inline __attribute__((always_inline)) void cc_pack(
    const uint8_t *bytes, Py_ssize_t k, Py_ssize_t row_bytes, Py_ssize_t per, Py_ssize_t t_count,
    Py_ssize_t words, Py_ssize_t g, Py_ssize_t win, int32_t *group_of, int32_t *line_nnz,
    uint64_t *mask, int32_t *count, int32_t *gid, int32_t *nopen, int32_t *opened) {
    uint64_t line[words];
    /* Tiles in blocks of about one cache line of every row, lines inside: the open groups
     * of a block stay in L1 and every output row is written in order. */
    Py_ssize_t block = per >= 64 ? 1 : 64 / per;
    uint64_t keep = sod_tile_keep(per);
    for (Py_ssize_t t0 = 0; t0 < t_count; t0 += block) {
      Py_ssize_t t1 = t0 + block < t_count ? t0 + block : t_count;
      for (Py_ssize_t i = 0; i < k; i++) {
        const uint8_t *row = bytes + (size_t)i * (size_t)row_bytes;
        for (Py_ssize_t t = t0; t < t1; t++) {
            /* the tile's bytes of line i (the last tile may be cut short), zero padded */
            Py_ssize_t off = t * per, len = row_bytes - off < per ? row_bytes - off : per;
            sod_load_tile(line, row, off, len, row_bytes, words, keep);
            int32_t bits = 0;
            for (Py_ssize_t w = 0; w < words; w++) bits += sod_popcount64(line[w]);
            line_nnz[(size_t)t * (size_t)k + (size_t)i] = bits;
            if (!bits) continue;  /* all zero in this tile: no group */
            size_t base = (size_t)t * (size_t)win;
            uint64_t *m = mask + base * (size_t)words;
            int32_t *c = count + base, *gd = gid + base;
            int32_t n = nopen[t], j = 0;
            for (; j < n; j++) {
                const uint64_t *mj = m + (size_t)j * (size_t)words;
                uint64_t clash = 0;
                for (Py_ssize_t w = 0; w < words; w++) clash |= mj[w] & line[w];
                if (!clash) break;
            }
            if (j < n) { /* joins the oldest open group it fits */
                uint64_t *mj = m + (size_t)j * (size_t)words;
                for (Py_ssize_t w = 0; w < words; w++) mj[w] |= line[w];
                group_of[(size_t)t * (size_t)k + (size_t)i] = gd[j];
                if (++c[j] < g) continue;
                /* full: it closes */
            } else { /* opens a new group, evicting the oldest when the window is full */
                if (n == win) {
                    j = 0;
                } else {
                    j = -1;
                }
                int32_t id = opened[t]++;
                group_of[(size_t)t * (size_t)k + (size_t)i] = id;
                if (j == 0) { /* drop the oldest, then append below */
                    memmove(m, m + words, (size_t)(n - 1) * (size_t)words * sizeof(uint64_t));
                    memmove(c, c + 1, (size_t)(n - 1) * sizeof(int32_t));
                    memmove(gd, gd + 1, (size_t)(n - 1) * sizeof(int32_t));
                    n--;
                }
                if (g == 1) { /* full at once: never open */
                    nopen[t] = n;
                    continue;
                }
                memcpy(m + (size_t)n * (size_t)words, line, (size_t)words * sizeof(uint64_t));
                c[n] = 1;
                gd[n] = id;
                nopen[t] = n + 1;
                continue;
            }
            /* group j closes: the later ones move up (creation order kept) */
            memmove(m + (size_t)j * (size_t)words, m + (size_t)(j + 1) * (size_t)words,
                    (size_t)(n - 1 - j) * (size_t)words * sizeof(uint64_t));
            memmove(c + j, c + j + 1, (size_t)(n - 1 - j) * sizeof(int32_t));
            memmove(gd + j, gd + j + 1, (size_t)(n - 1 - j) * sizeof(int32_t));
            nopen[t] = n - 1;
        }
    }
    }
}

PyObject *cc_first_fit(PyObject *self, PyObject *args) {
    Py_buffer bytes_buf, out_buf, nnz_buf;
    Py_ssize_t k, row_bytes, per, t_count, g, win;
    if (!PyArg_ParseTuple(args, "y*nnnnnnw*w*", &bytes_buf, &k, &row_bytes, &per, &t_count, &g,
                          &win, &out_buf, &nnz_buf))
        return NULL;
    Py_ssize_t words = (per + 7) / 8;
    PyObject *result = NULL;
    uint64_t *mask = NULL;
    int32_t *count = NULL, *gid = NULL, *nopen = NULL, *opened = NULL;
    if (k <= 0 || row_bytes <= 0 || per <= 0 || t_count <= 0 || g <= 0 || win <= 0 ||
        (t_count - 1) * per >= row_bytes || t_count * per < row_bytes ||
        bytes_buf.len != k * row_bytes ||
        out_buf.len != t_count * k * (Py_ssize_t)sizeof(int32_t) ||
        nnz_buf.len != out_buf.len) {
        PyErr_SetString(PyExc_ValueError, "cc_first_fit: buffer sizes do not match the shape");
        goto done;
    }
    const uint8_t *bytes = (const uint8_t *)bytes_buf.buf;
    int32_t *group_of = (int32_t *)out_buf.buf, *line_nnz = (int32_t *)nnz_buf.buf;
    size_t slots = (size_t)t_count * (size_t)win;
    mask = calloc(slots * (size_t)words, sizeof(uint64_t));
    count = calloc(slots, sizeof(int32_t));
    gid = calloc(slots, sizeof(int32_t));
    nopen = calloc((size_t)t_count, sizeof(int32_t));
    opened = calloc((size_t)t_count, sizeof(int32_t));
    if (!mask || !count || !gid || !nopen || !opened) {
        PyErr_NoMemory();
        goto done;
    }
    Py_BEGIN_ALLOW_THREADS
    if (words == 1) /* the common case: a constant the compiler folds in */
        cc_pack(bytes, k, row_bytes, per, t_count, 1, g, win, group_of, line_nnz, mask, count,
                gid, nopen, opened);
    else
        cc_pack(bytes, k, row_bytes, per, t_count, words, g, win, group_of, line_nnz, mask,
                count, gid, nopen, opened);
    Py_END_ALLOW_THREADS
    result = Py_None;
    Py_INCREF(result);
done:
    free(mask);
    free(count);
    free(gid);
    free(nopen);
    free(opened);
    PyBuffer_Release(&bytes_buf);
    PyBuffer_Release(&out_buf);
    PyBuffer_Release(&nnz_buf);
    return result;
}

/* Per (tile, row fold of `rows` packed rows): the lines placed and their non-zeros, from
 * group_of and line_nnz (int32 (T, k), group -1 = not placed): the sums of
 * sod.mapping.column_combining.packed_tiles without line splitting. members, nnz: int64
 * (T, folds), zeroed by the caller; folds must exceed every group // rows. */
PyObject *cc_fold_sums(PyObject *self, PyObject *args) {
    Py_buffer grp_buf, nnz_buf, mem_out, nnz_out;
    Py_ssize_t t_count, k, rows, folds;
    if (!PyArg_ParseTuple(args, "y*y*nnnnw*w*", &grp_buf, &nnz_buf, &t_count, &k, &rows, &folds,
                          &mem_out, &nnz_out))
        return NULL;
    PyObject *result = NULL;
    Py_ssize_t cells = t_count * k, bins = t_count * folds;
    if (t_count <= 0 || k <= 0 || rows <= 0 || folds <= 0 ||
        grp_buf.len != cells * (Py_ssize_t)sizeof(int32_t) || nnz_buf.len != grp_buf.len ||
        mem_out.len != bins * (Py_ssize_t)sizeof(int64_t) || nnz_out.len != mem_out.len) {
        PyErr_SetString(PyExc_ValueError, "cc_fold_sums: buffer sizes do not match the shape");
        goto done;
    }
    const int32_t *grp = (const int32_t *)grp_buf.buf, *line_nnz = (const int32_t *)nnz_buf.buf;
    int64_t *members = (int64_t *)mem_out.buf, *nnz = (int64_t *)nnz_out.buf;
    int bad = 0;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t t = 0; t < t_count && !bad; t++) {
        const int32_t *g_row = grp + (size_t)t * (size_t)k, *n_row = line_nnz + (size_t)t * (size_t)k;
        int64_t *m_row = members + (size_t)t * (size_t)folds, *z_row = nnz + (size_t)t * (size_t)folds;
        for (Py_ssize_t i = 0; i < k; i++) {
            int32_t gid = g_row[i];
            if (gid < 0) continue;
            Py_ssize_t f = gid / rows;
            if (f >= folds) {
                bad = 1;
                break;
            }
            m_row[f]++;
            z_row[f] += n_row[i];
        }
    }
    Py_END_ALLOW_THREADS
    if (bad) {
        PyErr_SetString(PyExc_ValueError, "cc_fold_sums: a group lies past the last fold");
        goto done;
    }
    result = Py_None;
    Py_INCREF(result);
done:
    PyBuffer_Release(&grp_buf);
    PyBuffer_Release(&nnz_buf);
    PyBuffer_Release(&mem_out);
    PyBuffer_Release(&nnz_out);
    return result;
}
