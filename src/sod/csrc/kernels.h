/* The kernels of sod._native, one source file per model family (module.c lists them). */
#ifndef SOD_KERNELS_H
#define SOD_KERNELS_H
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

/* Set bits of a 64-bit word, SWAR: builds carry no -mpopcnt (portable), and there
 * __builtin_popcountll is a library call per word. */
static inline int sod_popcount64(uint64_t x) {
    x = x - ((x >> 1) & 0x5555555555555555ULL);
    x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
    x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0fULL;
    return (int)((x * 0x0101010101010101ULL) >> 56);
}

/* Bytes kept of one 64-bit load of a tile of `per` bytes (per <= 8). */
static inline uint64_t sod_tile_keep(Py_ssize_t per) {
    return per >= 8 ? ~(uint64_t)0 : (((uint64_t)1 << (8 * per)) - 1);
}

/* A tile of a packed row: the `len` bytes at row + off (row_bytes in the row) into `words`
 * zero-padded 64-bit words. A one-word tile with 8 bytes readable takes one load, masked
 * by `keep` (sod_tile_keep); the words' bit layout is the bytes' (only which columns two
 * tiles share is ever used, so the mapping need only be the same for every tile). */
static inline __attribute__((always_inline)) void sod_load_tile(
    uint64_t *dst, const uint8_t *row, Py_ssize_t off, Py_ssize_t len, Py_ssize_t row_bytes,
    Py_ssize_t words, uint64_t keep) {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (words == 1 && off + 8 <= row_bytes) {
        memcpy(dst, row + off, 8);
        dst[0] &= keep;
        return;
    }
#endif
    memset(dst, 0, (size_t)words * sizeof(uint64_t));
    memcpy(dst, row + off, (size_t)len);
}

/* column_combining.c */
PyObject *cc_first_fit(PyObject *self, PyObject *args);
PyObject *cc_fold_sums(PyObject *self, PyObject *args);

/* reorder.c */
PyObject *bc_block_counts(PyObject *self, PyObject *args);
PyObject *bc_block_or(PyObject *self, PyObject *args);
PyObject *bc_spread_rows(PyObject *self, PyObject *args);
PyObject *bc_pack_axis0(PyObject *self, PyObject *args);
PyObject *bc_transpose_bytes(PyObject *self, PyObject *args);
PyObject *bc_csc_lags(PyObject *self, PyObject *args);
PyObject *bc_group_stats(PyObject *self, PyObject *args);
PyObject *bc_signature_order(PyObject *self, PyObject *args);

/* vusa.c */
PyObject *vusa_window_chain(PyObject *self, PyObject *args);

/* index_match.c */
PyObject *im_fiber_stats(PyObject *self, PyObject *args);
PyObject *im_transpose(PyObject *self, PyObject *args);
PyObject *im_pair_steps(PyObject *self, PyObject *args);
PyObject *im_tile_maxima(PyObject *self, PyObject *args);
PyObject *im_col_counts(PyObject *self, PyObject *args);
PyObject *im_side_sums(PyObject *self, PyObject *args);

/* sparten.c */
PyObject *sparten_empty_chunks(PyObject *self, PyObject *args);
PyObject *sparten_col_counts(PyObject *self, PyObject *args);
PyObject *sparten_direct(PyObject *self, PyObject *args);
PyObject *sparten_products(PyObject *self, PyObject *args);
PyObject *sparten_slot_empty(PyObject *self, PyObject *args);

#endif
