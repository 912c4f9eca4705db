"""A content-addressed on-disk cache of generated masks.

Synthetic masks (:mod:`sod.sparsity.apply`) are a pure function of the generator's code,
the profile, the seed and the layer's shape: building VGG-16's with Han et al.'s profile
takes ~2 s and ~800 MB (one float32 magnitude per weight), reading them back ~0.05 s. The
cache stores each mask under a key that hashes everything it depends on:

* :data:`GENERATOR_VERSION`, a digest of the generators' source files
  (:data:`GENERATOR_MODULES`: any edit to them invalidates the cache, even one that forgot
  to bump the version) and numpy's version (``Generator`` streams may change between
  numpy releases);
* what the caller passes: the profile's fields, the seed, the layer index, the layer's
  shape and convolution parameters, the density.

**Location**: ``$SOD_CACHE_DIR`` if set, else ``$XDG_CACHE_HOME/sod/masks``, else
``~/.cache/sod/masks``. ``SOD_CACHE_DIR=off`` (also ``0``, ``none``, ``false``, or empty)
disables the cache: every mask is generated.

**Entry** ``<key>.npy``: the packed bits (``np.packbits`` along rows, uint8) as an
``.npy`` array, followed by a trailer: the column count (8 bytes) and a 16-byte BLAKE2b
digest of the key, shape, column count and bytes. An entry that is truncated, corrupt or
of the wrong shape fails that check and is regenerated (never a wrong mask).

**Concurrency**: an entry is written to a temporary file in the same directory and moved
into place with ``os.replace`` (atomic), so concurrent processes see either no entry or
a complete one; two writers of one key write identical bytes.

**Size**: bounded by ``$SOD_CACHE_MAX_MB`` (default 2048): after each write, if the
directory holds more, the least recently used entries (oldest modification time; a hit
touches its entry) are deleted until it fits; temporary files older than an hour (a
writer killed mid-write) are deleted too. Deleting the directory is always safe.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import os
import tempfile
import time
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import numpy as np

from sod.workload.mask import BitMask

#: Bump whenever a mask generator (synth, prune, activations, apply) changes its output.
GENERATOR_VERSION = 1
#: Modules whose source code the masks depend on (their bytes are part of every key).
GENERATOR_MODULES = (
    "sod.sparsity.apply",
    "sod.sparsity.synth",
    "sod.sparsity.prune",
    "sod.sparsity.activations",
    "sod.sparsity.profiles",
    "sod.workload.mask",
)
_OFF = {"off", "0", "none", "false", "no", ""}
_DEFAULT_MAX_MB = 2048
_SUFFIX = ".npy"


def cache_dir() -> Path | None:
    """The cache directory, or None when the cache is disabled."""
    env = os.environ.get("SOD_CACHE_DIR")
    if env is not None:
        return None if env.strip().lower() in _OFF else Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "sod" / "masks"


def max_bytes() -> int:
    """The size bound of the cache directory (``$SOD_CACHE_MAX_MB``, default 2048 MB)."""
    try:
        return int(float(os.environ.get("SOD_CACHE_MAX_MB", _DEFAULT_MAX_MB)) * (1 << 20))
    except ValueError:
        return _DEFAULT_MAX_MB << 20


@lru_cache(maxsize=1)
def _code_digest() -> str:
    """A digest of the generator modules' source files (their names if a file cannot be
    read, e.g. in a zipped install)."""
    h = hashlib.blake2b(digest_size=16)
    for name in GENERATOR_MODULES:
        h.update(name.encode())
        try:
            spec = importlib.util.find_spec(name)
            origin = spec.origin if spec is not None else None
            if origin:
                h.update(Path(origin).read_bytes())
        except (OSError, ImportError, ValueError):
            pass
    return h.hexdigest()


def mask_key(*parts: object) -> str:
    """The hex key of a mask: a BLAKE2b digest of the generator version and source code,
    numpy's version and ``parts`` (their ``repr``: pass only ints, floats, strings, tuples,
    dataclasses of those)."""
    text = repr((GENERATOR_VERSION, _code_digest(), np.__version__, parts))
    return hashlib.blake2b(text.encode(), digest_size=20).hexdigest()


def _digest(key: str, packed: np.ndarray, cols: int) -> bytes:
    h = hashlib.blake2b(digest_size=16)
    h.update(f"{key}|{packed.shape}|{cols}".encode())
    h.update(np.ascontiguousarray(packed).data)
    return h.digest()


def _read(path: Path, key: str, shape: tuple[int, int] | None) -> BitMask | None:
    """The entry at ``path`` if it is complete, intact and of ``shape`` (any if None);
    else None."""
    try:
        with open(path, "rb") as f:
            packed = np.lib.format.read_array(f, allow_pickle=False)
            trailer = f.read(24)
    except (OSError, ValueError, EOFError):
        return None
    if len(trailer) != 24 or packed.dtype != np.uint8 or packed.ndim != 2:
        return None
    rows, cols = packed.shape[0], int.from_bytes(trailer[:8], "little")
    if (
        (shape is not None and (rows, cols) != tuple(shape))
        or packed.shape[1] != (cols + 7) // 8
        or trailer[8:] != _digest(key, packed, cols)
    ):
        return None
    return BitMask(packed, (rows, cols))


def _write(directory: Path, key: str, mask: BitMask) -> None:
    """Write an entry atomically (temp file + ``os.replace``); errors are ignored (a cache
    that cannot be written is a cache miss next time, never a failure)."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{key}.", suffix=".tmp")
    except OSError:
        return
    try:
        with os.fdopen(fd, "wb") as f:
            packed = np.ascontiguousarray(mask.packed)
            np.lib.format.write_array(f, packed, allow_pickle=False)
            f.write(int(mask.shape[1]).to_bytes(8, "little"))
            f.write(_digest(key, packed, mask.shape[1]))
        os.replace(tmp, directory / (key + _SUFFIX))
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        return
    _trim(directory, max_bytes())


def _trim(directory: Path, limit: int) -> None:
    """Delete the least recently used entries until the directory holds at most ``limit``
    bytes, and temporary files older than an hour (left by killed writers)."""
    entries = []
    stale = time.time() - 3600
    try:
        with os.scandir(directory) as it:
            for e in it:
                if e.name.endswith(_SUFFIX) and e.is_file():
                    st = e.stat()
                    entries.append((st.st_mtime, st.st_size, e.path))
                elif e.name.endswith(".tmp") and e.stat().st_mtime < stale:
                    with contextlib.suppress(OSError):
                        os.unlink(e.path)
    except OSError:
        return
    total = sum(size for _, size, _ in entries)
    for _, size, path in sorted(entries):
        if total <= limit:
            break
        with contextlib.suppress(OSError):
            os.unlink(path)
        total -= size


def load_mask(key: str, shape: tuple[int, int] | None = None) -> BitMask | None:
    """The intact entry stored under ``key`` (of ``shape`` when given), else None (also
    when the cache is disabled)."""
    directory = cache_dir()
    if directory is None:
        return None
    path = directory / (key + _SUFFIX)
    hit = _read(path, key, shape)
    if hit is not None:
        with contextlib.suppress(OSError):
            os.utime(path)  # least-recently-used order for the size bound
    return hit


def store_mask(key: str, mask: BitMask) -> None:
    """Store ``mask`` under ``key`` (nothing when the cache is disabled)."""
    directory = cache_dir()
    if directory is not None:
        _write(directory, key, mask)


def cached_mask(
    key: str, make: Callable[[], BitMask], shape: tuple[int, int] | None = None
) -> BitMask:
    """The mask stored under ``key`` (checked to be ``shape`` when given), or ``make()``,
    stored there. ``key`` comes from :func:`mask_key`; ``make`` must be deterministic in
    the key."""
    hit = load_mask(key, shape)
    if hit is not None:
        return hit
    mask = make()
    store_mask(key, mask)
    return mask
