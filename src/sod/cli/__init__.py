"""The ``sod`` command (typer + rich). The only package that knows the terminal.

Each module named in :data:`COMMANDS` defines ``register(app: typer.Typer) -> None`` that
adds its commands. Modules are imported lazily: ``sod --help`` imports none of them, and
``sod run`` imports only ``sod.cli.run`` (and what it needs), so the command starts fast.

The error contract lives here, in :func:`main`, and nowhere else:

* a user mistake (:class:`~sod.errors.SodError`, a bad option value, a missing option, an
  unknown command) prints exactly one line ``error: ...`` on stderr and exits with 2;
* anything else is a bug: one line ``error: internal error ...; please report it`` naming a
  log file that holds the traceback, exit code 1;
* Ctrl-C prints ``aborted`` and exits with 130.
"""

from __future__ import annotations

import importlib
import os
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

import typer
from typer.core import TyperGroup

from sod.errors import SodError

# command name -> (module under sod.cli, one-line help shown by `sod --help`)
COMMANDS: dict[str, tuple[str, str]] = {
    "models": ("run", "List the built-in networks."),
    "run": ("run", "Evaluate a workload on an architecture; per-layer table and totals."),
    "archs": ("run", "List the architecture presets."),
    "compare": (
        "compare",
        "Dense or sparse PEs for this pruned network, at this area? Iso-area comparison.",
    ),
    "paper": (
        "paper",
        "Reproduce the paper's study: iso-area comparison, ablations, density sweep, report.",
    ),
    "workload": (
        "workload",
        "Per-layer shapes, weight/activation densities and sparsity-pattern statistics.",
    ),
    "compile": (
        "compile",
        "Compile one pruned layer into the compressed GLB image a Sparse-on-Dense array holds.",
    ),
    "tech": ("tech", "Technology tables (energies, areas, SRAM, scaling)."),
    "hw": ("hw", "RTL and synthesis (needs the 'hw' extra and yosys)."),
    "sweep": (
        "sweep",
        "Run a sweep; a rerun skips finished points (resume after an interruption).",
    ),
    "validate": ("validate", "Check each model against its own paper's published numbers."),
    "results": (
        "sweep",
        "Export a sweep's results to CSV and draw the Pareto front (throughput/area vs "
        "energy efficiency), per architecture.",
    ),
}
COMMAND_MODULES: tuple[str, ...] = tuple(dict.fromkeys(m for m, _ in COMMANDS.values()))
REPORT_URL = "the sod issue tracker"


class LazyGroup(TyperGroup):
    """The root group: a command's module is imported when that command is resolved."""

    _loaded: dict[str, Any]
    _listing = False

    def list_commands(self, ctx: Any) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name not in COMMANDS:
            return super().get_command(ctx, cmd_name)
        if self._listing:  # `sod --help`: the one-line help, without importing anything
            return _Stub(cmd_name, COMMANDS[cmd_name][1])
        loaded = self.__dict__.setdefault("_loaded", {})
        if cmd_name not in loaded:
            sub = typer.Typer(
                add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None
            )
            importlib.import_module(f"sod.cli.{COMMANDS[cmd_name][0]}").register(sub)

            @sub.callback()
            def _root() -> None:  # keeps single commands sub-commands of a group
                pass

            group = typer.main.get_group(sub)
            loaded.update(group.commands)
        return loaded[cmd_name]

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False


class _Stub:
    """What the root help needs of a command: its name and one-line help."""

    hidden = False
    deprecated = False

    def __init__(self, name: str, help_text: str) -> None:
        self.name = name
        self.short_help = help_text
        self.help = help_text

    def get_short_help_str(self, limit: int = 45) -> str:
        return self.short_help


app = typer.Typer(
    name="sod",
    cls=LazyGroup,
    help="Sparse-on-Dense: is a dense systolic array with decompressors better than "
    "sparse PEs at the same area?",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Help texts are plain: profile grammar like 'block:B:D' must not become emoji/markup.
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        from sod import __version__

        typer.echo(f"sod {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="print the version and exit"
    ),
) -> None:
    """Sparse-on-Dense: is a dense systolic array with decompressors better than sparse PEs
    at the same area?"""


def fail(message: str) -> None:
    """Print a one-line error and exit with code 2."""
    typer.echo(f"error: {one_line(message)}", err=True)
    raise typer.Exit(code=2)


def one_line(text: object) -> str:
    """``text`` with every run of whitespace (newlines included) made one space."""
    return " ".join(str(text).split())


def crash_log_dir() -> Path:
    """Where tracebacks of internal errors go: ``$XDG_STATE_HOME/sod``, else
    ``~/.cache/sod``."""
    state = os.environ.get("XDG_STATE_HOME")
    if state:
        return Path(state) / "sod"
    return Path.home() / ".cache" / "sod"


def write_crash_log(err: BaseException, argv: list[str]) -> Path | None:
    """Write the traceback of ``err`` to a new file; its path, or None if nothing is
    writable."""
    text = f"sod {' '.join(argv)}\npython {sys.version.split()[0]} on {sys.platform}\n\n" + "".join(
        traceback.format_exception(err)
    )
    name = f"crash-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"
    for folder in (crash_log_dir(), Path(tempfile.gettempdir())):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / name
            path.write_text(text)
            return path
        except OSError:
            continue
    return None


def _usage_error(err: BaseException) -> tuple[str, int] | None:
    """(message, exit code) of a typer/click usage error, or None for anything else."""
    format_message = getattr(err, "format_message", None)
    exit_code = getattr(err, "exit_code", None)
    if callable(format_message) and isinstance(exit_code, int):
        return one_line(format_message()), exit_code
    return None


def _say(message: str) -> None:
    try:
        sys.stderr.write(message + "\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``sod`` console script; always ends with :class:`SystemExit`."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:  # `sod` alone: the help, and success
        args = ["--help"]
    try:
        code = app(args=args, prog_name="sod", standalone_mode=False)
        # Non-standalone typer returns the code of a `typer.Exit` (and 130 for Ctrl-C)
        # instead of exiting: pass it on.
        if isinstance(code, int) and code:
            if code == 130:
                _say("aborted")
            _flush_stdout()
            sys.exit(code)
        _flush_stdout()
    except SystemExit:
        raise
    except SodError as err:
        _say(f"error: {one_line(err) or type(err).__name__}")
        sys.exit(2)
    except typer.Exit as err:
        sys.exit(err.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        _say("aborted")
        sys.exit(130)
    except BrokenPipeError:
        # `sod run ... | head`: the reader left; not an error of ours.
        _quiet_stdout()
        sys.exit(0)
    except MemoryError:
        _say(
            "error: out of memory; ask for a smaller workload (--batch, --seq-len, "
            "the topology's dimensions) or lower --max-memory-gb so it is refused early"
        )
        sys.exit(2)
    except Exception as err:
        usage = _usage_error(err)
        if usage is not None:
            message, exit_code = usage
            _say(f"error: {message}")
            sys.exit(exit_code)
        path = write_crash_log(err, args)
        where = f"the traceback is in {path}" if path else "the traceback could not be saved"
        _say(
            f"error: internal error ({type(err).__name__}: {one_line(err)[:300]}); "
            f"please report it with the command line; {where}"
        )
        sys.exit(1)


def _flush_stdout() -> None:
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _quiet_stdout()
    except (OSError, ValueError):
        pass


def _quiet_stdout() -> None:
    # Python flushes stdout again at exit: point it at /dev/null so that does not fail.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
