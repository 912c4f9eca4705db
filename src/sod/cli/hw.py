"""``sod hw synth``: synthesize the RTL designs into a GE table (a user file, or with
``--install`` the table the installed package reads)."""

from __future__ import annotations

from pathlib import Path

import typer

from sod.errors import SodError

DEFAULT_OUT = Path("synth_ge.yaml")


def _check_writable(path: Path) -> None:
    """Fail before the (minute-long) synthesis if ``path`` cannot be written."""
    existed = path.exists()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a"):
            pass
    except OSError as err:
        raise SodError(f"cannot write {path}: {err.strerror}") from None
    if not existed:
        path.unlink()


def register(app: typer.Typer) -> None:
    hw = typer.Typer(
        help="RTL and synthesis (needs the 'hw' extra and yosys).", no_args_is_help=True
    )

    @hw.command("synth")
    def synth(
        library: str = typer.Option("sky130", help="Liberty: sky130 (shipped) or osu018."),
        out: Path | None = typer.Option(
            None, help=f"Output YAML (default: ./{DEFAULT_OUT}); the package is not touched."
        ),
        install: bool = typer.Option(
            False,
            "--install",
            help="Write the table the installed package reads (sod/tech/data/synth_ge.yaml) "
            "instead: every later area computation uses it.",
        ),
    ) -> None:
        """Synthesize every PE/decompressor design and write the GE table with provenance."""
        from sod.rtl import require_amaranth
        from sod.rtl import table as synth_table

        if install and out is not None:
            raise SodError("give --out PATH or --install, not both")
        path = synth_table.TABLE_PATH if install else (out or DEFAULT_OUT)
        _check_writable(path)
        require_amaranth()

        def show(row: dict) -> None:
            params = ", ".join(f"{k}={v}" for k, v in row["params"].items())
            typer.echo(
                f"{row['name']:<16} {params:<44} {row['ge']:>9.1f} GE {row['ff_bits']:>5} FF"
            )

        table = synth_table.build_table(library=library, progress=show)
        synth_table.dump_table(table, path)
        typer.echo(f"wrote {path}")
        if not install:
            typer.echo(
                "  (the models read the installed table; `sod hw synth --install` replaces it)"
            )

    app.add_typer(hw, name="hw")
