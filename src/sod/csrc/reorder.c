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
            const uint8_t *row = packed + (size_t)idx[t] * (size_t)row_bytes;
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
