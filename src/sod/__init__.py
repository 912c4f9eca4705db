"""Sparse-on-Dense: sparse neural networks on dense systolic arrays.

Layers (lower never imports higher): ``workload`` → ``sparsity`` / ``formats`` →
``arch`` / ``tech`` → ``models`` / ``reference`` → ``cost`` → ``study`` → ``report`` → ``cli``.
"""

from sod.errors import SodError

__version__ = "0.1.0"
__all__ = ["SodError", "__version__"]
