"""``sod hw synth``: regenerate the committed GE table from synthesized RTL."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    hw = typer.Typer(
        help="RTL and synthesis (needs the 'hw' extra and yosys).", no_args_is_help=True
    )

    @hw.command("synth")
    def synth(
        library: str = typer.Option("sky130", help="Liberty: sky130 (shipped) or osu018."),
        out: Path | None = typer.Option(
            None, help="Output YAML (default: the committed sod/tech/data/synth_ge.yaml)."
        ),
    ) -> None:
        """Synthesize every PE/decompressor design and write the GE table with provenance."""
        from sod.rtl import require_amaranth
        from sod.rtl.table import TABLE_PATH, build_table, dump_table

        require_amaranth()

        def show(row: dict) -> None:
            params = ", ".join(f"{k}={v}" for k, v in row["params"].items())
            typer.echo(
                f"{row['name']:<16} {params:<44} {row['ge']:>9.1f} GE {row['ff_bits']:>5} FF"
            )

        table = build_table(library=library, progress=show)
        path = out or TABLE_PATH
        dump_table(table, path)
        typer.echo(f"wrote {path}")

    app.add_typer(hw, name="hw")
