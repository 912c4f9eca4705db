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
    {"cc_fold_sums", cc_fold_sums, METH_VARARGS,
     "cc_fold_sums(group_of, line_nnz, tiles, k, rows, folds, members, nnz): lines and "
     "non-zeros per (tile, row fold) of a packing without splitting."},
    {"bc_block_counts", bc_block_counts, METH_VARARGS,
     "bc_block_counts(packed, items, row_bytes, idx, count, block, out): block line counts "
     "of a bit-packed mask in a gathered order (see sod.compiler.bitcount)."},
    {"bc_block_or", bc_block_or, METH_VARARGS,
     "bc_block_or(packed, items, row_bytes, idx, count, block, out): bytewise OR of "
     "blocks of gathered packed items (see sod.compiler.bitcount)."},
    {"bc_spread_rows", bc_spread_rows, METH_VARARGS,
     "bc_spread_rows(words, groups, width, src, count, out): gathered rows of a mask "
     "packed in groups of eight rows, as 0/1 bytes (see sod.compiler.bitcount)."},
    {"bc_pack_axis0", bc_pack_axis0, METH_VARARGS,
     "bc_pack_axis0(rows, k, row_bytes, out): a mask packed along n, packed along k "
     "(see sod.compiler.bitcount)."},
    {"bc_transpose_bytes", bc_transpose_bytes, METH_VARARGS,
     "bc_transpose_bytes(src, a, b, out, stride): a byte matrix transposed, zero padded "
     "(see sod.compiler.bitcount)."},
    {"bc_csc_lags", bc_csc_lags, METH_VARARGS,
     "bc_csc_lags(fibers, tiles, vmax, lanes, vectors, record, pointer, value, read_bits, "
     "dense_fallback, sizes, use_dense, lags): CSC tile sizes and decompressor lags "
     "(see sod.compiler.image)."},
    {"bc_group_stats", bc_group_stats, METH_VARARGS,
     "bc_group_stats(x, a, b, axis, block, nnz, nonzero): sums and non-zero entries of "
     "groups of small counts (see sod.compiler.plan)."},
    {"bc_signature_order", bc_signature_order, METH_VARARGS,
     "bc_signature_order(blocks, nbytes, items, counts, fewest_first, out): the layout "
     "search's order of items by block pattern (see sod.compiler.reorder)."},
    {"vusa_window_chain", vusa_window_chain, METH_VARARGS,
     "vusa_window_chain(bytes, P, row_bytes, per, blocks, slots, macs, cap, spans, counts): "
     "VUSA's greedy windows along k (see sod.models.vusa)."},
    {"im_fiber_stats", im_fiber_stats, METH_VARARGS,
     "im_fiber_stats(packed, rows, kb, p, length, last, ends): index-match fiber lengths, "
     "last indices and block-end masks (see sod.models.index_match)."},
    {"im_transpose", im_transpose, METH_VARARGS,
     "im_transpose(packed, k, nb, n, out): bit-packed columns of a bit-packed (k, n) mask."},
    {"im_pair_steps", im_pair_steps, METH_VARARGS,
     "im_pair_steps(ends_r, ends_c, m, n, words, last_r, last_c, ri, ci, out): index-match "
     "merge steps of fiber pairs."},
    {"im_tile_maxima", im_tile_maxima, METH_VARARGS,
     "im_tile_maxima(ends_r, ends_c, m, n, words, last_r, last_c, blocks_r, blocks_c, tr, tc, "
     "out): index-match slowest pair of every tile."},
    {"im_col_counts", im_col_counts, METH_VARARGS,
     "im_col_counts(packed, rows, kb, k, out): set bits at each position of bit-packed rows."},
    {"im_side_sums", im_side_sums, METH_VARARGS,
     "im_side_sums(ends, rows, words, last, length, vals, count, d, p, out): index-match "
     "block ends and loads of one side summed over every pair."},
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
