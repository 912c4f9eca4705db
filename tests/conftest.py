"""Test-suite settings shared by every room.

Hypothesis runs derandomized (the same examples on every run and machine): the suite is
deterministic, and a failure found once is found again.
"""

from hypothesis import settings

settings.register_profile("sod", derandomize=True, deadline=None, print_blob=True)
settings.load_profile("sod")
