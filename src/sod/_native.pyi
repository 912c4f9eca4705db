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
