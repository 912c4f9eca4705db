"""``python -m sod`` is the ``sod`` command."""

from sod.cli import main

main()
