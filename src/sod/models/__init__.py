"""Performance models: pure functions of (Gemm, Architecture) returning :class:`Counts`.

Each kind's model is reached through its design (:func:`sod.designs.evaluate`); this
package holds the models themselves and the kind-agnostic pieces they share (the memory
system, operand masks, the GLB port bound).
"""

from sod.models.common import Counts
from sod.models.glb_ports import bound_by_glb_ports

__all__ = ["Counts", "bound_by_glb_ports"]
