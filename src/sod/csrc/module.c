/* sod._native: compiled kernels for the few mask algorithms that are sequential by
 * definition (each step depends on every earlier one), or whose inner loop numpy can only
 * run as many short calls.
 *
 * Every kernel has a numpy twin that defines the same rule and is used when this module
 * is not built (the extension is optional, setup.py); the tests check the two agree bit
 * for bit. Arrays cross as buffers (the buffer protocol), so no numpy headers are needed
 * to build. One source file per model family; this file lists them.
 */
#include "kernels.h"

static PyMethodDef methods[] = {
    {"cc_first_fit", cc_first_fit, METH_VARARGS,
     "cc_first_fit(bytes, k, row_bytes, per, tiles, g, win, group_of, line_nnz): "
     "column-combining first fit (see sod.mapping.column_combining)."},
    {"vusa_window_chain", vusa_window_chain, METH_VARARGS,
     "vusa_window_chain(bytes, P, row_bytes, per, blocks, slots, macs, cap, spans, counts): "
     "VUSA's greedy windows along k (see sod.models.vusa)."},
    {"sparten_empty_chunks", sparten_empty_chunks, METH_VARARGS,
     "sparten_empty_chunks(fa, wp, m, k, n, chunk_bits, out): chunks with no match of "
     "every dot product (see sod.models.sparten)."},
    {"sparten_col_counts", sparten_col_counts, METH_VARARGS,
     "sparten_col_counts(packed, rows, nb, group, groups, out): column counts of "
     "bit-packed rows by group (see sod.models.sparten)."},
    {"sparten_direct", sparten_direct, METH_VARARGS,
     "sparten_direct(fa, wp, m, k, n, chunk_bits, empty, match): chunks with no match "
     "and matches of every dot product, for a few rows of A (see sod.models.sparten)."},
    {"sparten_products", sparten_products, METH_VARARGS,
     "sparten_products(fa, m, k, table, s, out): bit-packed rows times a small "
     "non-negative int32 table (see sod.models.sparten)."},
    {"sparten_slot_empty", sparten_slot_empty, METH_VARARGS,
     "sparten_slot_empty(fa, wp, m, k, n, chunk_bits, col_slot, col_slots, by_col, "
     "row_slot, row_slots, by_row): chunks with no match summed per CU slot of the GEMM "
     "and of its transpose (see sod.models.sparten)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "sod._native", "Compiled kernels of sequential mask algorithms.",
    -1, methods,
};

PyMODINIT_FUNC PyInit__native(void) { return PyModule_Create(&module); }
