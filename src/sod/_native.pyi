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
