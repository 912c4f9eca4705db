"""How a GEMM is laid out on each sparse accelerator: the geometry both the analytic models
(:mod:`sod.models`) and the cycle-level references (:mod:`sod.reference`) may need.

One module per design (:mod:`.scnn`, :mod:`.sparten`, :mod:`.index_match`). This room sits
below both sides: it imports only :mod:`sod.arch`, :mod:`sod.errors`, :mod:`sod.workload`
and numpy, so a reference can check a model without importing it. Each module says which
of its pieces the reference shares and which it re-derives on its own from the design's
definition (so that a bug in a shared piece cannot pass both sides unnoticed).
"""
