/* The kernels of sod._native, one source file per model family (module.c lists them). */
#ifndef SOD_KERNELS_H
#define SOD_KERNELS_H
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

/* Set bits of a 64-bit word, SWAR: builds carry no -mpopcnt (portable), and there
 * __builtin_popcountll is a library call per word. */
static inline int sod_popcount64(uint64_t x) {
    x = x - ((x >> 1) & 0x5555555555555555ULL);
    x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
    x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0fULL;
    return (int)((x * 0x0101010101010101ULL) >> 56);
}

/* column_combining.c */
PyObject *cc_first_fit(PyObject *self, PyObject *args);
PyObject *cc_fold_sums(PyObject *self, PyObject *args);

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
