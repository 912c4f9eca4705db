"""The ``sod`` command (typer + rich). The only package that knows the terminal.

Each module in :data:`COMMAND_MODULES` defines ``register(app: typer.Typer) -> None`` that
adds its commands. User errors (:class:`~sod.errors.SodError`) print one line on stderr
and exit with code 2; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import importlib
import sys

import typer

from sod.errors import SodError

COMMAND_MODULES: tuple[str, ...] = (
    "run",
    "compare",
    "paper",
    "workload",
    "compile",
    "tech",
    "hw",
    "sweep",
    "validate",
)

app = typer.Typer(
    name="sod",
    help="Sparse-on-Dense: is a dense systolic array with decompressors better than "
    "sparse PEs at the same area?",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

for _module in COMMAND_MODULES:
    importlib.import_module(f"sod.cli.{_module}").register(app)


def fail(message: str) -> None:
    """Print a one-line error and exit with code 2."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code=2)


def main() -> None:
    """Entry point of the ``sod`` console script."""
    try:
        code = app(standalone_mode=False)
        # Non-standalone typer returns the code of a `typer.Exit` (and 130 for Ctrl-C)
        # instead of exiting: pass it on.
        if isinstance(code, int) and code:
            if code == 130:
                typer.echo("aborted", err=True)
            sys.exit(code)
    except SodError as err:
        typer.echo(f"error: {err}", err=True)
        sys.exit(2)
    except typer.Exit as err:
        sys.exit(err.exit_code)
    except typer.Abort:
        typer.echo("aborted", err=True)
        sys.exit(130)
    except Exception as err:
        # Usage errors (typer/click exceptions: bad option values, missing options) carry
        # their own message and exit code; print them as one line like ours.
        format_message = getattr(err, "format_message", None)
        exit_code = getattr(err, "exit_code", None)
        if callable(format_message) and isinstance(exit_code, int):
            message = " ".join(str(format_message()).split())
            typer.echo(f"error: {message}", err=True)
            sys.exit(exit_code)
        raise
