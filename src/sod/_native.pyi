"""Type stub of the compiled kernels (src/sod/_native.c). Array arguments are C-contiguous
numpy arrays (any object with the buffer protocol; outputs writable)."""

def cc_first_fit(
    rows: object,
    k: int,
    row_bytes: int,
    per: int,
    tiles: int,
    g: int,
    win: int,
    group_of: object,
    line_nnz: object,
) -> None: ...
def bc_block_counts(
    packed: object,
    items: int,
    row_bytes: int,
    idx: object,
    count: int,
    block: int,
    out: object,
) -> None: ...
def bc_block_or(
    packed: object,
    items: int,
    row_bytes: int,
    idx: object,
    count: int,
    block: int,
    out: object,
) -> None: ...
def bc_spread_rows(
    words: object, groups: int, width: int, src: object, count: int, out: object
) -> None: ...
def bc_pack_axis0(rows: object, k: int, row_bytes: int, out: object) -> None: ...
def bc_transpose_bytes(src: object, a: int, b: int, out: object, stride: int) -> None: ...
def bc_csc_lags(
    fibers: object,
    tiles: int,
    vmax: int,
    lanes: object,
    vectors: object,
    record: int,
    pointer: int,
    value: int,
    read_bits: int,
    dense_fallback: bool,
    sizes: object,
    use_dense: object,
    lags: object,
) -> None: ...
def bc_group_stats(
    x: object, a: int, b: int, axis: int, block: int, nnz: object, nonzero: object
) -> None: ...
def bc_signature_order(
    blocks: object, nbytes: int, items: int, counts: object, fewest_first: bool, out: object
) -> None: ...
def cc_fold_sums(
    group_of: object,
    line_nnz: object,
    tiles: int,
    k: int,
    rows: int,
    folds: int,
    members: object,
    nnz: object,
) -> None: ...
def vusa_window_chain(
    rows: object,
    positions: int,
    row_bytes: int,
    per: int,
    blocks: int,
    slots: int,
    macs: int,
    cap: int,
    spans: object,
    counts: object,
) -> None: ...
def im_fiber_stats(
    packed: object, rows: int, kb: int, p: int, length: object, last: object, ends: object
) -> None: ...
def im_transpose(packed: object, k: int, nb: int, n: int, out: object) -> None: ...
def im_pair_steps(
    ends_r: object,
    ends_c: object,
    m: int,
    n: int,
    words: int,
    last_r: object,
    last_c: object,
    ri: object,
    ci: object,
    out: object,
) -> None: ...
def im_tile_maxima(
    ends_r: object,
    ends_c: object,
    m: int,
    n: int,
    words: int,
    last_r: object,
    last_c: object,
    blocks_r: object,
    blocks_c: object,
    tr: int,
    tc: int,
    out: object,
) -> None: ...
def im_col_counts(packed: object, rows: int, kb: int, k: int, out: object) -> None: ...
def im_side_sums(
    ends: object,
    rows: int,
    words: int,
    last: object,
    length: object,
    vals: object,
    count: object,
    d: int,
    p: int,
    out: object,
) -> None: ...
def sparten_empty_chunks(
    fa: object, wp: object, m: int, k: int, n: int, chunk_bits: int, out: object
) -> None: ...
def sparten_col_counts(
    packed: object, rows: int, nb: int, group: object, groups: int, out: object
) -> None: ...
def sparten_direct(
    fa: object,
    wp: object,
    m: int,
    k: int,
    n: int,
    chunk_bits: int,
    empty: object,
    match: object,
) -> None: ...
def sparten_products(fa: object, m: int, k: int, table: object, s: int, out: object) -> None: ...
def sparten_slot_empty(
    fa: object,
    wp: object,
    m: int,
    k: int,
    n: int,
    chunk_bits: int,
    col_slot: object,
    col_slots: int,
    by_col: object,
    row_slot: object,
    row_slots: int,
    by_row: object,
) -> None: ...
