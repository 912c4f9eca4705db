/* VUSA: the greedy window chain of sod.models.vusa.pack_windows, for windows along k. */
#include "kernels.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* bytes: uint8 (P, row_bytes), C order: W's mask packed along its rows (zero padding
 * bits); block b is bytes b*per ... b*per + per - 1 of every row (the last may be cut
 * short), its lines (columns) as bits. spans: int64 (blocks, cap), zeroed by the caller.
 * counts: int64 (blocks,), windows of every block.
 *
 * Per block, the chain starts at position 0; a window at p takes the widest span v <=
 * slots such that no line holds more than macs non-zeros in [p, p+v) (always >= macs),
 * clipped at P; the next window starts where it ends. So the open window takes position
 * p unless it is full (slots) or p would put a line over macs; then a new one opens at p.
 * Counts per line are bit-sliced: least[j] has a line's bit set once the line holds >= j
 * non-zeros in the window (j <= macs; a line at macs is over with one more). */
static inline __attribute__((always_inline)) void chain(
    const uint8_t *bytes, Py_ssize_t p_count, Py_ssize_t row_bytes, Py_ssize_t per,
    Py_ssize_t blocks, Py_ssize_t words, Py_ssize_t slots, Py_ssize_t top, Py_ssize_t cap,
    Py_ssize_t group, size_t state, uint64_t *least, uint64_t *width, int64_t *spans,
    int64_t *counts) {
    uint64_t keep = sod_tile_keep(per);
    for (Py_ssize_t b0 = 0; b0 < blocks; b0 += group) {
        Py_ssize_t b1 = b0 + group < blocks ? b0 + group : blocks;
        memset(least, 0, ((size_t)group * state + (size_t)group) * sizeof(uint64_t));
        for (Py_ssize_t b = b0; b < b1; b++) counts[b] = 0;
        for (Py_ssize_t p = 0; p < p_count; p++) {
            const uint8_t *row = bytes + (size_t)p * (size_t)row_bytes;
            for (Py_ssize_t b = b0; b < b1; b++) {
                uint64_t *lst = least + (size_t)(b - b0) * state; /* least[j] = lst + j*words */
                Py_ssize_t off = b * per, len = row_bytes - off < per ? row_bytes - off : per;
                uint64_t x[words];
                sod_load_tile(x, row, off, len, row_bytes, words, keep);
                uint64_t over = 0;
                if (width[b - b0] < (uint64_t)slots) /* the open window could take it */
                    for (Py_ssize_t w = 0; w < words; w++)
                        over |= lst[(size_t)top * (size_t)words - (size_t)words + (size_t)w] & x[w];
                else
                    over = 1;
                if (over) { /* the open window ends before p; a new one starts at p */
                    spans[(size_t)b * (size_t)cap + (size_t)counts[b]++] = (int64_t)width[b - b0];
                    memset(lst, 0, state * sizeof(uint64_t));
                    width[b - b0] = 0;
                }
                for (Py_ssize_t w = 0; w < words; w++) {
                    uint64_t *col = lst + w; /* least[j] word w = col[j * words] */
                    for (Py_ssize_t j = top - 1; j >= 2; j--)
                        col[(size_t)j * (size_t)words] |= col[(size_t)(j - 1) * (size_t)words] & x[w];
                    col[(size_t)words] |= x[w];
                }
                width[b - b0]++;
            }
        }
        for (Py_ssize_t b = b0; b < b1; b++) /* the last window, clipped at P */
            spans[(size_t)b * (size_t)cap + (size_t)counts[b]++] = (int64_t)width[b - b0];
    }
}

PyObject *vusa_window_chain(PyObject *self, PyObject *args) {
    Py_buffer bytes_buf, spans_buf, counts_buf;
    Py_ssize_t p_count, row_bytes, per, blocks, slots, macs, cap;
    if (!PyArg_ParseTuple(args, "y*nnnnnnnw*w*", &bytes_buf, &p_count, &row_bytes, &per,
                          &blocks, &slots, &macs, &cap, &spans_buf, &counts_buf))
        return NULL;
    PyObject *result = NULL;
    uint64_t *least = NULL;
    Py_ssize_t words = (per + 7) / 8;
    if (p_count <= 0 || row_bytes <= 0 || per <= 0 || blocks <= 0 || macs <= 0 ||
        slots < macs || cap <= 0 || (blocks - 1) * per >= row_bytes ||
        blocks * per < row_bytes || bytes_buf.len != p_count * row_bytes ||
        cap < (p_count + macs - 1) / macs ||
        spans_buf.len != blocks * cap * (Py_ssize_t)sizeof(int64_t) ||
        counts_buf.len != blocks * (Py_ssize_t)sizeof(int64_t)) {
        PyErr_SetString(PyExc_ValueError, "vusa_window_chain: buffer sizes do not match the shape");
        goto done;
    }
    const uint8_t *bytes = (const uint8_t *)bytes_buf.buf;
    int64_t *spans = (int64_t *)spans_buf.buf, *counts = (int64_t *)counts_buf.buf;
    Py_ssize_t top = macs + 1; /* least[top]: some line is over macs */
    /* Blocks in groups of about one cache line of every row, positions in order inside:
     * every block's open window advances one position at a time. */
    Py_ssize_t group = per >= 64 ? 1 : 64 / per;
    size_t state = (size_t)(top + 1) * (size_t)words; /* least[0..top] of one block */
    least = calloc((size_t)group * state + (size_t)group, sizeof(uint64_t));
    if (!least) {
        PyErr_NoMemory();
        goto done;
    }
    uint64_t *width = least + (size_t)group * state; /* positions in the open window */
    Py_BEGIN_ALLOW_THREADS
    if (words == 1) /* the common case: a constant the compiler folds in */
        chain(bytes, p_count, row_bytes, per, blocks, 1, slots, top, cap, group, state, least,
              width, spans, counts);
    else
        chain(bytes, p_count, row_bytes, per, blocks, words, slots, top, cap, group, state,
              least, width, spans, counts);
    Py_END_ALLOW_THREADS
    result = Py_None;
    Py_INCREF(result);
done:
    free(least);
    PyBuffer_Release(&bytes_buf);
    PyBuffer_Release(&spans_buf);
    PyBuffer_Release(&counts_buf);
    return result;
}
