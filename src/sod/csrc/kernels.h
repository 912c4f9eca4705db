/* The kernels of sod._native, one source file per model family (module.c lists them). */
#ifndef SOD_KERNELS_H
#define SOD_KERNELS_H
#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* column_combining.c */
PyObject *cc_first_fit(PyObject *self, PyObject *args);
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

#endif
