"""User-facing errors.

Every problem caused by the user's input (unknown names, impossible shapes, malformed
files, corrupt compressed streams) is raised as a :class:`SodError` subclass whose message
is one line naming the problem. The CLI turns these into ``error: ...`` on stderr and exit
code 2; anything else is a bug and keeps its traceback.
"""


class SodError(Exception):
    """Base class of all errors caused by bad input."""


class WorkloadError(SodError):
    """A workload cannot be built: unknown model, impossible layer shape, bad topology file."""


class ArchitectureError(SodError):
    """An architecture specification is missing a field or is impossible."""


class SparsityError(SodError):
    """A sparsity request is impossible: density outside (0, 1], N > M, bad profile."""
