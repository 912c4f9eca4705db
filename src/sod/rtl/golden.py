"""Cycle-level Python golden models of the RTL designs (no Amaranth needed).

Each model has the same registers as its RTL and a ``step(**inputs) -> outputs`` method
that returns the outputs visible during the current cycle (a function of the registers and
the current inputs) and then advances one clock edge. Tests drive the RTL and the model
with the same random inputs and compare every output on every cycle, so the models pin
down both the values and the cycle behaviour. They are reference simulators, so they loop
over cycles on purpose; the analytical models in :mod:`sod.models` must not.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


def wrap_signed(value: int, bits: int) -> int:
    """Two's-complement wrap of ``value`` to ``bits`` bits (what the RTL registers do)."""
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >> (bits - 1) else value


def popcount(x: int) -> int:
    return bin(x).count("1")


# --------------------------------------------------------------------------- dense array
class DenseArrayModel:
    """Weight-stationary R×C array of :class:`sod.rtl.pe.DenseMacPE` (register-exact)."""

    def __init__(self, rows: int, cols: int, acc_bits: int = 32) -> None:
        self.rows, self.cols, self.acc_bits = rows, cols, acc_bits
        self.w = np.zeros((rows, cols), dtype=np.int64)
        self.a = np.zeros((rows, cols), dtype=np.int64)
        self.psum = np.zeros((rows, cols), dtype=np.int64)

    def step(self, a_in, w_in, w_load: int) -> dict[str, list[int]]:
        out = {"psum_out": [int(v) for v in self.psum[-1]]}
        a_left = np.concatenate([np.asarray(a_in, dtype=np.int64)[:, None], self.a[:, :-1]], 1)
        p_top = np.concatenate([np.zeros((1, self.cols), np.int64), self.psum[:-1]], 0)
        new_psum = p_top + a_left * self.w
        mod = 1 << self.acc_bits
        self.psum = (new_psum + mod // 2) % mod - mod // 2
        self.a = a_left
        if w_load:
            w_top = np.asarray(w_in, dtype=np.int64)[None, :]
            self.w = np.concatenate([w_top, self.w[:-1]], 0)
        return out


def ws_schedule(a: np.ndarray, w: np.ndarray) -> tuple[list[dict], int]:
    """Input sequence that loads ``w`` (k×n) and streams ``a`` (m×k) through a k×n array.

    Returns (per-cycle inputs, first streaming cycle). Row m of ``O = a @ w`` leaves column
    c at cycle ``first + m + k + c`` (k cycles down the column, c cycles of skew).
    """
    m_rows, k = a.shape
    n = w.shape[1]
    cycles = []
    for t in range(k):  # bottom row's weight enters first
        cycles.append({"a_in": [0] * k, "w_in": [int(v) for v in w[k - 1 - t]], "w_load": 1})
    first = len(cycles)
    for t in range(m_rows + k + n):
        a_in = [int(a[t - r, r]) if 0 <= t - r < m_rows else 0 for r in range(k)]
        cycles.append({"a_in": a_in, "w_in": [0] * n, "w_load": 0})
    return cycles, first


# --------------------------------------------------------------------------- CSR match PE
@dataclass
class _Fifo:
    depth: int
    items: list = field(default_factory=list)


class CsrMatchModel:
    """Comparator index-matching PE (:class:`sod.rtl.csr_pe.CsrMatchPE`).

    Two FIFOs of (index, value, last) entries, sorted by index within a vector; each cycle
    the head of the W FIFO is compared with the first ``comparators`` entries of the A
    FIFO: A entries with smaller indices are dropped, an equal index is multiplied and
    accumulated (and both popped), a larger one pops W. When both vectors have ended
    (their ``last`` entries popped) the PE shows the dot product for one cycle.
    """

    def __init__(self, fifo_depth: int, comparators: int = 1, acc_bits: int = 32) -> None:
        self.depth, self.p, self.acc_bits = fifo_depth, comparators, acc_bits
        self.fa: list[tuple[int, int, int]] = []
        self.fw: list[tuple[int, int, int]] = []
        self.acc = 0
        self.a_done = self.w_done = False

    def step(
        self,
        a_valid: int,
        a_entry: tuple[int, int, int],
        w_valid: int,
        w_entry: tuple[int, int, int],
    ) -> dict[str, int]:
        out = {
            "a_ready": int(len(self.fa) < self.depth),
            "w_ready": int(len(self.fw) < self.depth),
            "out_valid": int(self.a_done and self.w_done),
            "out_acc": self.acc,
        }
        pop_a, pop_w, mac = 0, 0, None
        a_done, w_done, acc = self.a_done, self.w_done, self.acc
        if self.a_done and self.w_done:
            a_done = w_done = False
            acc = 0
        elif self.w_done:  # drain A up to its last entry
            for j, (_, _, last) in enumerate(self.fa[: self.p]):
                pop_a = j + 1
                if last:
                    a_done = True
                    break
        elif self.a_done:  # drain W, one entry per cycle
            if self.fw:
                pop_w = 1
                w_done = bool(self.fw[0][2])
        elif self.fw:
            w_idx, w_val, w_last = self.fw[0]
            n = 0
            window = self.fa[: self.p]
            while n < len(window) and window[n][0] < w_idx:
                n += 1
                if window[n - 1][2]:
                    break
            if n and window[n - 1][2]:  # A vector ended below W's index
                pop_a, a_done = n, True
            elif n < len(window):
                a_idx, a_val, a_last = window[n]
                pop_w, w_done = 1, bool(w_last)
                if a_idx == w_idx:
                    pop_a, mac = n + 1, a_val * w_val
                    a_done = bool(a_last)
                else:
                    pop_a = n
            else:
                pop_a = n
        if mac is not None:
            acc = wrap_signed(acc + mac, self.acc_bits)
        self.fa, self.fw = self.fa[pop_a:], self.fw[pop_w:]
        if a_valid and out["a_ready"]:
            self.fa.append(a_entry)
        if w_valid and out["w_ready"]:
            self.fw.append(w_entry)
        self.acc, self.a_done, self.w_done = acc, a_done, w_done
        return out


# --------------------------------------------------------------------- bitmask join PE
class BitmaskJoinModel:
    """SparTen-like bitmask inner-join PE (:class:`sod.rtl.bitmask_pe.BitmaskJoinPE`).

    Accepts a chunk (two ``chunk``-bit masks and the two operands' non-zero values packed
    at the front) when idle or finishing; then performs one MAC per matching position per
    cycle, lowest position first, locating each operand with a prefix popcount of its mask.
    After the chunk flagged ``last`` completes, the PE shows the dot product for one cycle.
    """

    def __init__(self, chunk: int, acc_bits: int = 32) -> None:
        self.chunk, self.acc_bits = chunk, acc_bits
        self.busy = False
        self.rem = self.a_mask = self.w_mask = 0
        self.a_vals: list[int] = [0] * chunk
        self.w_vals: list[int] = [0] * chunk
        self.last = False
        self.done = False
        self.acc = 0

    def step(
        self, valid: int, a_mask: int, w_mask: int, a_vals: list[int], w_vals: list[int], last: int
    ) -> dict[str, int]:
        finishing = self.busy and (self.rem & (self.rem - 1)) == 0
        ready = int(not self.busy or finishing)
        out = {"ready": ready, "out_valid": int(self.done), "out_acc": self.acc}
        product = 0
        if self.busy and self.rem:
            onehot = self.rem & -self.rem
            below = onehot - 1
            product = (
                self.a_vals[popcount(self.a_mask & below)]
                * self.w_vals[popcount(self.w_mask & below)]
            )
            self.rem &= ~onehot
        self.acc = wrap_signed((0 if self.done else self.acc) + product, self.acc_bits)
        self.done = bool(finishing and self.last)
        if finishing:
            self.busy = False
        if valid and ready:
            self.busy, self.last = True, bool(last)
            self.a_mask, self.w_mask = a_mask, w_mask
            self.rem = a_mask & w_mask
            self.a_vals, self.w_vals = list(a_vals), list(w_vals)
        return out


# ------------------------------------------------------------------- bitmask decompressor
class BitmaskDecompressorModel:
    """Bitmask decompressor of L lanes (:class:`sod.rtl.decompressor.BitmaskDecompressor`).

    Inputs: a mask stream (one L-bit mask per dense vector; bit i = lane i non-zero) and a
    value stream of GLB words of L values each, non-zeros packed back to back across
    vectors (a vector may straddle two words). One register word plus the word waiting on
    the GLB port (held stable until accepted) form the window. Each cycle, if the mask is
    valid and the window holds popcount(mask) values, the dense vector appears on the
    output (combinationally, for the array edge registers) and the values are consumed;
    otherwise the output is not valid (the array stalls).
    """

    def __init__(self, lanes: int) -> None:
        self.lanes = lanes
        self.word: list[int] = [0] * lanes
        self.have = False
        self.off = 0

    def step(self, mask_valid: int, mask: int, val_valid: int, val_word: list[int]) -> dict:
        lanes = self.lanes
        k = popcount(mask)
        avail = (lanes - self.off if self.have else 0) + (lanes if val_valid else 0)
        fire = bool(mask_valid and avail >= k)
        window = (self.word[self.off :] if self.have else []) + list(val_word)
        dense = [0] * lanes
        if fire:
            j = 0
            for i in range(lanes):
                if mask >> i & 1:
                    dense[i] = window[j]
                    j += 1
        left = (lanes - self.off if self.have else 0) - (k if fire else 0)
        # The port word is taken when the register word is (or becomes) empty.
        val_ready = int(left <= 0)
        out = {
            "mask_ready": int(fire),
            "val_ready": val_ready,
            "out_valid": int(fire),
            "out_data": dense,
        }
        if left > 0:
            self.off = lanes - left
        elif val_valid:
            self.word, self.have, self.off = list(val_word), True, -left
            if -left == lanes:  # the port word was consumed entirely too
                self.have, self.off = False, 0
        else:
            self.have, self.off = False, 0
        return out
