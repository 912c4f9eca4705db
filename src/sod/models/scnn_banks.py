"""SCNN's per-cycle kernel: the layer's compressed streams, the decoding of a cycle number
into the products it issues, the accumulator-bank loads of those products, and the bank-
conflict cycles of every (image, PE, group) block, exact or sampled.

Used by :mod:`sod.models.scnn` (see its docstring for the machine and the sampling rule).
The geometry (tiles, output coordinates, bank hash) comes from :mod:`sod.mapping.scnn`.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from sod.arch.sparse import SCNNArch
from sod.mapping.scnn import (
    SCNNPlane,
    bank_of,
    by_channel,
    group_size,
    output_coords,
    pe_tiles,
)


def weight_taps(weight: np.ndarray, pl: SCNNPlane) -> np.ndarray:
    """The (k, n) weight mask as (C, kh·kw, K), a view. SCNN streams channel c's weights
    of group g in (k, r, s) order: ``[c, :, g·Kc:(g+1)·Kc]`` transposed (a run)."""
    return weight.reshape(pl.channels, pl.kernel_h * pl.kernel_w, pl.out_channels)


#: Runs at least this long are searched word by word (:func:`_nth_by_words`).
_WORD_SEARCH_MIN = 1024
#: Multiplier gathering the low bits of a word's eight 0/1 bytes into its top byte.
_GATHER_BYTES = np.uint64(0x0102040810204080)
#: _SELECT[v, k]: position of the k-th (0-based) set bit of byte v (0 if none).
_SELECT = np.array(
    [[*(i for i in range(8) if v >> i & 1), *[0] * (8 - v.bit_count())] for v in range(256)],
    np.int64,
)
#: Groups of at most this many 8-byte words are summed slice by slice (group_counts).
_SHORT_GROUP_WORDS = 8


def _table_dtype(bound: int) -> type[np.signedinteger]:
    """The narrowest of int16/int32/int64 holding values up to ``bound``: the (G, C)
    tables of a large FC layer are 100 M entries."""
    return np.int16 if bound < 2**15 - 1 else np.int32 if bound < 2**31 - 1 else np.int64


def group_counts(w3: np.ndarray, pl: SCNNPlane, arch: SCNNArch) -> np.ndarray:
    """Non-zero weights per (group, channel) of a :func:`weight_taps` mask: (G, C), int16
    or int32 (a count is at most ``out_channel_group · kh · kw``; narrow ints shrink the
    (G, C) tables of a large FC layer)."""
    kc = group_size(arch)
    n_c, taps, n_k = w3.shape
    dtype = _table_dtype(kc * taps + arch.mult_f)  # room for wvec's ceiling (build_layer)
    if taps == 1:
        rows = w3[:, 0, :]
        if kc % 8 == 0 and n_k % kc == 0 and rows.flags.c_contiguous:
            # Fast path: a bool is one byte (0 or 1), so a uint64 word holds 8 of them and
            # its bit count is their sum.
            words = np.bitwise_count(rows.view(np.uint64)).reshape(n_c, -1, kc // 8)
            if kc // 8 > _SHORT_GROUP_WORDS:
                return words.sum(axis=2, dtype=dtype).T
            # The few words of a short group are added slice by slice (a reduction over a
            # short inner axis would pay numpy's per-row overhead C·G times).
            out = words[:, :, 0].astype(dtype)
            for j in range(1, kc // 8):
                out += words[:, :, j]
            return out.T
    else:
        # Over the taps first (byte sums along whole rows of K), then over each group.
        rows = w3.sum(axis=1, dtype=np.uint8 if taps < 256 else np.int32)
    if n_k % kc == 0 and rows.flags.c_contiguous:  # reshaped as a view, not a copy
        return rows.reshape(n_c, -1, kc).sum(axis=2, dtype=dtype).T
    return np.add.reduceat(rows, np.arange(0, n_k, kc), axis=1, dtype=dtype).T


#: Bytes of a packed weight mask popcounted at a time (a bounded scratch).
_PACKED_BLOCK_BYTES = 1 << 20
#: Key of the bit-packed (k, n) weight mask in the scratch shared by the mapping
#: candidates of one GEMM (:func:`sod.models.scnn.evaluate_scnn`).
WEIGHT_BITS = "weight_bits"


def packed_group_counts(packed: np.ndarray, pl: SCNNPlane, arch: SCNNArch) -> np.ndarray | None:
    """:func:`group_counts` of a 1 x 1-kernel weight mask from its bit-packed rows
    ((C, ceil(K/8)) bytes, zero padding bits): popcounts of whole bytes, 8x less to read
    than the bool mask. None when a group does not span whole bytes."""
    kc = group_size(arch)
    if pl.kernel_h * pl.kernel_w != 1 or kc % 8 or packed.shape[0] != pl.channels:
        return None
    if packed.shape[1] != -(-pl.out_channels // 8):
        return None
    dtype = _table_dtype(kc + arch.mult_f)
    starts = np.arange(0, packed.shape[1], kc // 8)
    out = np.empty((packed.shape[0], len(starts)), dtype)
    step = max(1, _PACKED_BLOCK_BYTES // max(packed.shape[1], 1))  # rows at a time
    for lo in range(0, packed.shape[0], step):
        per_byte = np.bitwise_count(packed[lo : lo + step])
        out[lo : lo + step] = np.add.reduceat(per_byte, starts, axis=1, dtype=dtype)
    return out.T


@dataclass(frozen=True)
class SCNNLayer:
    """One repeat's operands in SCNN's order, and the cycle bookkeeping to decode a cycle
    number into (image, PE, group, channel, weight vector, activation vector).

    Per-PE tables are over the PEs holding any input (:func:`sod.mapping.scnn.pe_tiles`:
    P kept PEs, grid indices ``pe_ids``) and their L channel slots (slot l of kept PE p
    is channel ``l + p·channel_stride``): an FC layer's 1 x 1 plane or channel split does
    not carry 64 mostly empty copies of its channel tables."""

    w3: np.ndarray  # (C, kh·kw, K) weight mask (weight_taps)
    streams: np.ndarray  # (batch·P·L, th·tw) each activation stream's tile, (y, x) order
    tile_w: int  # tw: a stream position's column is position % tw
    pe_ids: np.ndarray  # (P,) grid index of each kept PE
    y0: np.ndarray  # (P,) plane row and column of each kept PE's tile origin
    x0: np.ndarray
    channel_stride: int
    na: np.ndarray  # (batch, P, L) non-zero activations (int32)
    nw_sum: np.ndarray  # (C,) non-zero weights of all groups
    nw_groups: np.ndarray  # (C,) groups with a non-zero weight
    av: np.ndarray  # (batch, P, L) activation vectors
    wvec: np.ndarray  # (G, C) weight vectors (int16 or int32)
    per_pc: np.ndarray  # cycles of each (PE, slot), flattened
    cum_pc: np.ndarray  # running cycles over (PE, slot), flattened
    cum_b: np.ndarray  # (P, L, batch) running activation vectors over images (a view)
    w_total: np.ndarray  # (C,) weight vectors of all groups
    av_max: int  # largest activation / weight vector count (sort keys of bank_loads)
    wv_max: int

    def channel_of(self, p: np.ndarray, slot: np.ndarray) -> np.ndarray:
        """Input channel of slot ``slot`` of kept PE ``p``."""
        return slot + p * self.channel_stride

    def per_channel(self, x: np.ndarray) -> np.ndarray:
        """(C,) totals over PEs of a (P, L) table (over images already)."""
        c = self.wvec.shape[1]
        if self.channel_stride:  # one PE per channel: the slots in channel order
            return x.ravel()[:c]
        return x.sum(axis=0)

    def slot_table(self, x: np.ndarray) -> np.ndarray:
        """A (…, C) per-channel table as (…, P, L) per (PE, slot), zero in empty slots."""
        return _slot_table(x, self.na.shape[1], self.na.shape[2], self.channel_stride)


def _slot_table(x: np.ndarray, n_p: int, n_l: int, channel_stride: int) -> np.ndarray:
    """:meth:`SCNNLayer.slot_table` (planar tiling: a broadcast view)."""
    if not channel_stride:
        return np.broadcast_to(x[..., None, :], (*x.shape[:-1], n_p, n_l))
    out = np.zeros((*x.shape[:-1], n_p * n_l), x.dtype)
    out[..., : x.shape[-1]] = x
    return out.reshape(*x.shape[:-1], n_p, n_l)


def build_layer(
    fmap: np.ndarray,
    weight: np.ndarray,
    pl: SCNNPlane,
    arch: SCNNArch,
    counts: dict[Hashable, np.ndarray] | None = None,
    key: Hashable = None,
) -> SCNNLayer:
    """One repeat's streams and cycle bookkeeping from its feature map and weight mask.

    ``counts``: the weight mask's group counts (:func:`group_counts`) by ``key``, taken
    from it if there and added if not (the caller promises one weight mask per key)."""
    pt = pe_tiles(fmap, arch, by_channel(pl, arch))
    tiles, th, tw = pt.tiles, pt.th, pt.tw
    w3 = weight_taps(weight, pl)
    b, n_p, n_l = tiles.shape[:3]
    # Per-tile counts fit int32 (a tile holds far fewer than 2**31 pixels); running
    # counts below are int64. A 1 x 1 tile (FC layers) is its own count.
    na_dtype = np.int32 if th * tw < 2**31 else np.int64
    if th * tw == 1:
        na = tiles.reshape(b, n_p, n_l).astype(na_dtype)
    else:
        na = tiles.sum(axis=(3, 4), dtype=na_dtype)
    if counts is None:
        nw = group_counts(w3, pl, arch)
    else:
        if key not in counts:
            counts[key] = group_counts(w3, pl, arch)
        nw = counts[key].copy()  # made the weight vectors in place below
    nw_sum, nw_groups = nw.sum(axis=0), (nw > 0).sum(axis=0)
    # Ceiling divisions, in place (no temporaries of a large FC layer's tables; the
    # (G, C) counts become the weight vectors).
    av: np.ndarray = na + (arch.mult_i - 1)
    av //= arch.mult_i
    wvec = nw
    wvec += arch.mult_f - 1
    wvec //= arch.mult_f
    del nw
    w_total = wvec.sum(axis=0)
    # Running activation vectors over images; the last image's are the totals.
    run_b = _running_over_images(av)
    per_pc = (run_b[-1] * _slot_table(w_total, n_p, n_l, pt.channel_stride)).ravel()
    return SCNNLayer(
        w3,
        tiles.reshape(b * n_p * n_l, th * tw),
        tw,
        pt.pe_ids,
        pt.y0,
        pt.x0,
        pt.channel_stride,
        na,
        nw_sum,
        nw_groups,
        av,
        wvec,
        per_pc,
        np.cumsum(per_pc),
        run_b.transpose(1, 2, 0),
        w_total,
        int(av.max()) if av.size else 0,
        int(wvec.max()) if wvec.size else 0,
    )


def ideal_cycles(ly: SCNNLayer, block_elements: int) -> np.ndarray:
    """Ideal cycles per (image, kept PE, group), int64: ``Σ_c av·wvec``, a float64 product
    (exact below 2**53), ``block_elements`` (group, channel) entries converted at a time
    (no float64 copy of a large FC layer's (G, C) table)."""
    b, n_p, n_l = ly.av.shape
    n_g = ly.wvec.shape[0]
    av = ly.av.astype(np.float64)
    ideal = np.empty((b, n_p, n_g), np.int64)
    step = max(1, block_elements // max(ly.wvec.shape[1], 1))
    for lo in range(0, n_g, step):
        w = ly.wvec[lo : lo + step].astype(np.float64)
        if ly.channel_stride:
            # Each PE its own channels: one product per PE, (P, batch, L) x (P, L, Gb).
            ws = ly.slot_table(w)  # (Gb, P, L)
            part = np.matmul(av.transpose(1, 0, 2), ws.transpose(1, 2, 0)).transpose(1, 0, 2)
        else:
            part = (av.reshape(b * n_p, n_l) @ w.T).reshape(b, n_p, -1)
        ideal[:, :, lo : lo + step] = np.rint(part)
    return ideal


def _running_over_images(av: np.ndarray) -> np.ndarray:
    """Running sums of (batch, PE, slot) counts over the images, int64: image by image,
    each a whole-array add (numpy's cumsum along a leading axis iterates per entry)."""
    out = av.astype(np.int64)
    for i in range(1, out.shape[0]):
        out[i] += out[i - 1]
    return out


def _decode(ids: np.ndarray, ly: SCNNLayer) -> tuple[np.ndarray, ...]:
    """(image, kept PE, group, channel, weight vector, activation vector, stream) of
    cycle numbers (stream: the flat (image, PE, slot) index of ``ly.streams``).

    A PE's cycles are numbered channel by channel; inside a channel the activation
    vectors (over images) are the outer loop and the weight vectors (over groups) the
    inner one. Only the set of cycles matters, not their order."""
    n_p, n_l = ly.na.shape[1:]
    pc = np.searchsorted(ly.cum_pc, ids, side="right")
    local = ids - (ly.cum_pc[pc] - ly.per_pc[pc])
    p, slot = pc // n_l, pc % n_l
    c = ly.channel_of(p, slot)
    w_per = ly.w_total[c]
    ja, jw = local // w_per, local % w_per
    if ly.cum_b.shape[2] == 1:  # one image
        b, avi = np.zeros_like(ja), ja
    else:
        cb = ly.cum_b[p, slot]  # (S, batch)
        b = (cb <= ja[:, None]).sum(axis=1)
        avi = ja - np.take_along_axis(cb, b[:, None], axis=1)[:, 0] + ly.av[b, p, slot]
    # Running weight vectors over groups of each cycle's channel (only these channels':
    # no (C, G) table of a large FC layer); int32: a channel has < 2**31 vectors.
    cg = np.cumsum(ly.wvec.T[c], axis=1, dtype=np.int32)  # (S, G)
    g = (cg <= jw[:, None]).sum(axis=1)
    wv = jw - np.take_along_axis(cg, g[:, None], axis=1)[:, 0] + ly.wvec[g, c]
    return b, p, g, c, wv, avi, (b * n_p + p) * n_l + slot


def _nth_nonzero(
    runs: np.ndarray, inv: np.ndarray, nth: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Positions of the ``nth`` (0-based, (S, j)) non-zeros of runs ``inv`` (S,) of the
    bool rows ``runs`` (U, L), and whether each exists (else the position is 0)."""
    if runs.shape[1] >= _WORD_SEARCH_MIN:
        return _nth_by_words(runs, inv, nth)
    # Short runs: the non-zeros of all runs, row-major, are sorted by run then position,
    # so run u's n-th is entry ``first[u] + n``.
    length = runs.shape[1]
    nz = np.flatnonzero(runs)
    first = np.searchsorted(nz, np.arange(runs.shape[0] + 1) * length)
    ok = nth < (first[1:] - first[:-1])[inv][:, None]
    at = np.where(ok, first[inv][:, None] + nth, 0)
    pos = nz[at] - inv[:, None] * length if nz.size else np.zeros_like(at)
    return np.where(ok, pos, 0), ok


def _nth_by_words(
    runs: np.ndarray, inv: np.ndarray, nth: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_nth_nonzero` of long runs: a running count of 8-byte words (a bool is one
    0/1 byte, so a word's bit count is its non-zeros) finds each target's word by a
    binary search, then its byte inside the word: work per word and per target, not per
    non-zero (listing a sparse FC run's non-zeros is the slow part)."""
    n_u, length = runs.shape
    if length % 8:
        runs = np.concatenate([runs, np.zeros((n_u, -length % 8), bool)], axis=1)
    n_w = runs.shape[1] // 8
    # Little-endian words: byte i of word w is position 8·w + i.
    words = np.ascontiguousarray(runs).view("<u8").ravel()
    per_word = np.bitwise_count(words)
    upto = np.cumsum(per_word, dtype=np.int64)  # non-zeros up to each word, all runs
    base = np.zeros(n_u, np.int64)  # non-zeros before each run
    base[1:] = upto[n_w - 1 : -1 : n_w]
    ok = nth < (upto[n_w - 1 :: n_w] - base)[inv][:, None]
    target = np.where(ok, nth, 0) + base[inv][:, None]
    word = np.minimum(np.searchsorted(upto, target, side="right"), upto.size - 1)
    rank = target - (upto[word] - per_word[word])  # 0-based, inside the word
    # The word's eight 0/1 bytes gathered into one byte (bit i = byte i), then a table.
    pattern = (words[word] * _GATHER_BYTES) >> np.uint64(56)
    in_word = _SELECT[pattern, np.clip(rank, 0, 7)]
    pos = (word - inv[:, None] * n_w) * 8 + in_word
    return np.where(ok, pos, 0), ok


def _weight_runs(ly: SCNNLayer, c: np.ndarray, g: np.ndarray, kc: int) -> np.ndarray:
    """The weight-mask runs of (channel, group) pairs in stream order (k, r, s): (U,
    Kc·kh·kw), a last group of fewer than Kc output channels padded with zeros."""
    w3 = ly.w3
    n_k = w3.shape[2]
    whole = n_k // kc  # groups of Kc output channels
    if w3.shape[1] == 1 and n_k % kc == 0:  # 1 x 1 kernels, whole groups: a plain gather
        return sliding_window_view(w3[:, 0, :], kc, axis=1)[:, ::kc][c, g]
    out = np.zeros((len(c), kc, w3.shape[1]), bool)
    full = g < whole
    if whole:
        groups = sliding_window_view(w3, kc, axis=2)[:, :, ::kc]  # (C, taps, whole, Kc)
        out[full] = groups[c[full], :, g[full]].transpose(0, 2, 1)
    if not full.all():
        out[~full, : n_k - whole * kc] = w3[c[~full], :, whole * kc :].transpose(0, 2, 1)
    return out.reshape(len(c), -1)


def bank_loads(
    ids: np.ndarray, ly: SCNNLayer, pl: SCNNPlane, arch: SCNNArch
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Products sent to each accumulator bank by the given cycles (S, banks), the flat
    (image, PE, group) index of each cycle, and its issue position inside that PE-group
    (a sort key: channel, activation vector, weight vector)."""
    f_, i_, kc = arch.mult_f, arch.mult_i, group_size(arch)
    taps = pl.kernel_h * pl.kernel_w
    b, p, g, c, wv, avi, stream = _decode(ids, ly)
    n_pe, n_g = ly.na.shape[1], ly.wvec.shape[0]
    # Weight vector: entries wv·F … wv·F+F−1 of the (channel, group) run (Kc·kh·kw
    # positions). Each distinct run is gathered once.
    run_id, inv_w = np.unique(c * n_g + g, return_inverse=True)
    runs = _weight_runs(ly, run_id // n_g, run_id % n_g, kc)
    pos, ok_w = _nth_nonzero(runs, inv_w, wv[:, None] * f_ + np.arange(f_)[None, :])
    k_local, tap = pos // taps, pos % taps
    r, s = tap // pl.kernel_w, tap % pl.kernel_w
    # Activation vector: entries avi·I … avi·I+I−1 of the (image, PE, channel) stream,
    # in (y, x) order of its tile. Each distinct stream is gathered once.
    stream_id, inv_a = np.unique(stream, return_inverse=True)
    at, ok_a = _nth_nonzero(
        ly.streams[stream_id], inv_a, avi[:, None] * i_ + np.arange(i_)[None, :]
    )
    a_y = at // ly.tile_w + ly.y0[p][:, None]
    a_x = at % ly.tile_w + ly.x0[p][:, None]
    oy, ox, valid = output_coords(
        a_y[:, None, :], a_x[:, None, :], r[:, :, None], s[:, :, None], pl
    )
    valid &= ok_w[:, :, None] & ok_a[:, None, :]
    nb = arch.accumulator_banks
    bank = bank_of(k_local[:, :, None], oy, ox, pl, nb)
    key = np.arange(len(ids))[:, None, None] * nb + bank
    loads = np.bincount(key[valid], minlength=len(ids) * nb).reshape(len(ids), nb)
    order = (c * (ly.av_max + 1) + avi) * (ly.wv_max + 1) + wv
    return loads, (b * n_pe + p) * n_g + g, order


def queue_drain(loads: np.ndarray, segment: np.ndarray) -> np.ndarray:
    """Cycles each PE-group needs after its last issue to empty its bank queues.

    ``loads`` (cycles in issue order, banks), ``segment`` the PE-group of each cycle
    (non-decreasing). A bank retires one product per cycle (Lindley recursion), so its
    backlog after the last issue is ``max(0, max_t Σ_(τ≥t) (L_τ − 1))``: a segmented
    suffix sum, no loop over cycles. Returns one value per segment, in order.
    """
    excess = loads.astype(np.int64) - 1
    starts = np.flatnonzero(np.r_[True, segment[1:] != segment[:-1]])
    ends = np.r_[starts[1:], len(segment)]
    before = np.cumsum(excess, axis=0) - excess  # Σ over earlier cycles (all segments)
    total_before_end = np.cumsum(excess, axis=0)[ends - 1]  # Σ up to each segment's end
    seg_of = np.repeat(np.arange(len(starts)), ends - starts)
    suffix = total_before_end[seg_of] - before  # Σ_(τ≥t) within the segment
    return np.maximum(np.maximum.reduceat(suffix.max(axis=1), starts), 0)


def bank_conflicts(
    ly: SCNNLayer,
    ideal: np.ndarray,
    pl: SCNNPlane,
    arch: SCNNArch,
    conflict_cycles: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, bool]:
    """Cycles of every (image, PE, group) block with bank conflicts (float, the shape of
    ``ideal``), and whether they were enumerated exactly (else sampled).

    Exact when the layer has at most ``conflict_cycles`` cycles: every cycle's products are
    enumerated. Otherwise ``conflict_cycles`` cycles are drawn, stratified by PE (the
    slowest PE's conflicts matter, and they differ between border and interior tiles).
    """
    total = int(ly.cum_pc[-1])
    pe_cycles = ideal.sum(axis=(0, 2))
    if total <= conflict_cycles:
        loads, where, order = _loads_of(np.arange(total), ly, pl, arch)
        return _exact_blocks(loads, where, order, ideal, arch), True
    # conflict_cycles / busy PEs uniform draws per PE.
    busy = np.flatnonzero(pe_cycles)
    per = max(2, conflict_cycles // len(busy))
    start = np.concatenate([[0], np.cumsum(pe_cycles)[:-1]])[busy]
    draws = np.floor(rng.random((len(busy), per)) * pe_cycles[busy][:, None]).astype(np.int64)
    loads = _loads_of((start[:, None] + draws).ravel(), ly, pl, arch)[0]
    return _sampled_blocks(loads, ideal, busy, per, arch), False


def _loads_of(
    ids: np.ndarray, ly: SCNNLayer, pl: SCNNPlane, arch: SCNNArch
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`bank_loads` of many cycles, in chunks that bound scratch memory."""
    loads = np.empty((len(ids), arch.accumulator_banks), np.int64)
    where = np.empty(len(ids), np.int64)
    order = np.empty(len(ids), np.int64)
    step = 1 << 12
    for lo in range(0, len(ids), step):
        chunk = bank_loads(ids[lo : lo + step], ly, pl, arch)
        loads[lo : lo + step], where[lo : lo + step], order[lo : lo + step] = chunk
    return loads, where, order


def _exact_blocks(
    loads: np.ndarray, where: np.ndarray, order: np.ndarray, ideal: np.ndarray, arch: SCNNArch
) -> np.ndarray:
    """Block cycles from every cycle's bank loads."""
    if arch.crossbar_buffering == "deep":
        # Queued banks: ideal issue, then each PE-group drains its queues.
        seq = np.lexsort((order, where))
        drain = queue_drain(loads[seq], where[seq])
        actual = ideal.astype(np.float64).ravel()
        actual[np.unique(where)] += drain
        return actual.reshape(ideal.shape)
    strict = np.maximum(loads.max(axis=1), 1)  # a cycle lasts as long as its fullest bank
    return np.bincount(where, weights=strict, minlength=ideal.size).reshape(ideal.shape)


def _sampled_blocks(
    loads: np.ndarray, ideal: np.ndarray, busy: np.ndarray, per: int, arch: SCNNArch
) -> np.ndarray:
    """Block cycles from ``per`` sampled cycles of each busy PE (PE-major)."""
    n_pe, nb = ideal.shape[1], arch.accumulator_banks
    strict = np.maximum(loads.max(axis=1), 1)
    draws = strict.reshape(len(busy), per).astype(float)
    if arch.crossbar_buffering == "deep":
        # Queued banks (sampled): a PE-group is slowed only if its busiest bank cannot
        # keep up on average (more than one product per cycle), plus the final drain,
        # estimated as the mean backlog one cycle leaves behind.
        per_bank = loads.reshape(len(busy), per, nb).transpose(0, 2, 1).astype(float)
        bank_rate = _shrunk_means(per_bank).max(axis=1)
        tail = (draws - 1).mean(axis=1)
        rate = np.ones(n_pe)
        rate[busy] = np.maximum(1.0, bank_rate)
        extra = np.zeros(n_pe)
        extra[busy] = tail
        return ideal * rate[None, :, None] + (ideal > 0) * extra[None, :, None]
    ratio_pe = np.ones(n_pe)
    ratio_pe[busy] = _shrunk_means(draws)
    return ideal * ratio_pe[None, :, None]


def _shrunk_means(draws: np.ndarray) -> np.ndarray:
    """Means over the last axis, shrunk toward their pooled mean over the second-to-last
    axis (empirical Bayes; leading axes are independent batches).

    The layer's time takes a MAX (over PEs, over banks), which turns sampling noise in the
    means into an upward bias; shrinking each mean by its estimated noise share removes
    most of it.
    """
    means = draws.mean(axis=-1)
    rows, n = draws.shape[-2:]
    if rows < 2 or n < 2:
        return means
    noise = draws.var(axis=-1, ddof=1).mean(axis=-1, keepdims=True) / n
    between = np.maximum(0.0, means.var(axis=-1, ddof=1, keepdims=True) - noise)
    total = between + noise
    keep = np.divide(between, total, out=np.zeros_like(total), where=total > 0)
    pooled = means.mean(axis=-1, keepdims=True)
    return pooled + keep * (means - pooled)
