"""Synthesizable RTL (Amaranth 0.5) of the dense and sparse PEs, the systolic array and the
decompressor, their Python golden models, and the Yosys flow that turns them into
NAND2 gate-equivalent areas (optional extra ``hw``).

Layout:
- :mod:`sod.rtl.golden`: pure-Python cycle-level golden models (no Amaranth needed);
- :mod:`sod.rtl.pe`, :mod:`sod.rtl.array`, :mod:`sod.rtl.csr_pe`,
  :mod:`sod.rtl.index_match_pe`, :mod:`sod.rtl.scnn_pe`, :mod:`sod.rtl.bitmask_pe`,
  :mod:`sod.rtl.decompressor`: Amaranth generators;
- :mod:`sod.rtl.synth`: Amaranth → Verilog → Yosys → GE;
- :mod:`sod.rtl.table`: the design list and the committed GE table (synth_ge.yaml).

Importing this package does not import Amaranth; the generator modules do.
"""

from sod.errors import SodError


class RtlError(SodError):
    """The RTL flow cannot run: missing tool (Amaranth, Yosys), bad design parameters."""


def require_amaranth() -> None:
    """Raise :class:`RtlError` with an install hint when Amaranth is missing."""
    try:
        import amaranth  # noqa: F401
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise RtlError("amaranth is not installed: pip install 'sparse-on-dense[hw]'") from err
