"""Reading a weight matrix from a ``.npy`` file, checked before anything is allocated.

The header of a ``.npy`` file states its dtype and shape; :func:`read_matrix` checks them
(2-D, integer or boolean values, sane dimensions, and as many bytes in the file as the
header promises) before numpy reads the data, so an empty, truncated, pickled or lying
file (a header claiming 10⁶ × 10⁶ in 100 bytes) is one line of error.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from sod.errors import WorkloadError
from sod.limits import MAX_GEMM_DIM


def read_matrix(path: str | Path, what: str = "weights", max_bytes: int = 4 << 30) -> np.ndarray:
    """The 2-D integer array stored in ``path`` (a ``.npy`` file), or :class:`WorkloadError`."""
    path = Path(path)
    fmt = np.lib.format
    try:
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            try:
                version = fmt.read_magic(fh)
                if version == (1, 0):
                    shape, fortran, dtype = fmt.read_array_header_1_0(fh)
                elif version == (2, 0):
                    shape, fortran, dtype = fmt.read_array_header_2_0(fh)
                else:
                    raise ValueError(f"unsupported .npy version {version}")
            except (ValueError, EOFError, SyntaxError, TypeError) as err:
                raise WorkloadError(
                    f"{what} {path}: not a .npy array file ({' '.join(str(err).split())[:120]})"
                ) from None
            header_end = fh.tell()
            if dtype.hasobject or dtype.kind not in "biu" or dtype.fields is not None:
                raise WorkloadError(f"{what} {path}: values must be integers, got dtype {dtype}")
            if len(shape) != 2:
                raise WorkloadError(f"{what} {path}: must be a 2-D (k x n) array, got {shape}")
            if min(shape) <= 0 or max(shape) > MAX_GEMM_DIM:
                raise WorkloadError(f"{what} {path}: impossible shape {shape}")
            nbytes = shape[0] * shape[1] * dtype.itemsize
            if nbytes > max_bytes:
                raise WorkloadError(
                    f"{what} {path}: {shape[0]}x{shape[1]} {dtype} is {nbytes / 2**30:.1f} GiB, "
                    f"more than {max_bytes / 2**30:.1f} GiB"
                )
            if size - header_end != nbytes:
                raise WorkloadError(
                    f"{what} {path}: the header promises {nbytes:,} bytes of data, "
                    f"the file holds {max(size - header_end, 0):,}"
                )
            data = np.fromfile(fh, dtype=dtype, count=shape[0] * shape[1])
    except OSError as err:
        raise WorkloadError(f"cannot read {what} {path}: {err.strerror or err}") from None
    if data.size != shape[0] * shape[1]:
        raise WorkloadError(f"{what} {path}: the file is truncated")
    return data.reshape(shape, order="F" if fortran else "C")
