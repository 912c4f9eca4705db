"""``sod tech show [NODE]``: every technology number with its source; PE areas."""

from __future__ import annotations

from typing import Any

import typer
from rich.console import Console
from rich.table import Table

SRAM_EXCERPT_KIB = (8, 64, 256, 1024)


def register(app: typer.Typer) -> None:
    tech_app = typer.Typer(
        help="Technology tables (energies, areas, SRAM, scaling).", no_args_is_help=True
    )

    @tech_app.command("show")
    def show(
        node: str = typer.Argument("45", help="node (45, 32, 28, 22, 16, 7) or a YAML file"),
        pes: bool = typer.Option(True, help="also print PE and decompressor areas"),
    ) -> None:
        """Print a technology's numbers, each with its source and mark
        (S seen, M measured, R re-quoted, D derived, A assumption)."""
        from sod.cost.pe_area import pe_area, um2_per_synth_ge
        from sod.tech import load_synth_table, load_technology, sram_cost

        tech = load_technology(node)
        console = Console(width=160)
        console.print(f"[bold]technology {tech.name}[/] ({tech.node_nm} nm, {tech.vdd_v} V)")
        if tech.derivation:
            console.print(tech.derivation)
        table = Table("table", "entry", "value", "mark", "source", "note")
        for tname, key, value, mark, source, note in tech.rows():
            table.add_row(tname, key, f"{value:.4g}", mark, source, note)
        console.print(table)
        for key, text in tech.sources.items():
            console.print(f"  [bold]{key}[/]: {text}")

        sram = Table(
            "SRAM",
            "read pJ",
            "write pJ",
            "pJ/bit read",
            "leak mW",
            "area mm²",
            "source",
            title=f"SRAM ({tech.sram.cell}, 1 bank, 1 RW port)",
        )
        for kib in SRAM_EXCERPT_KIB:
            for port in (64, 256):
                s = sram_cost(tech, kib * 1024, port)
                sram.add_row(
                    f"{kib} KiB x {port} b",
                    f"{s.read_pj:.3g}",
                    f"{s.write_pj:.3g}",
                    f"{s.read_pj_per_bit:.3g}",
                    f"{s.leakage_mw:.3g}",
                    f"{s.area_um2 / 1e6:.4g}",
                    s.source,
                )
        console.print(sram)
        if not pes:
            return
        synth = load_synth_table()
        console.print(
            f"GE -> um²: {um2_per_synth_ge(tech, synth):.4f} um²/GE (dense MAC PE "
            f"anchor); logic utilization {tech.p('logic_utilization')}; synthesis: "
            f"{synth.provenance.get('library', '?')}"
        )
        pe_table = Table(
            "design",
            "params",
            "placed µm²",
            "vs dense",
            "source",
            title="PE and decompressor areas",
        )
        dense = pe_area(tech, "dense_mac_pe").area_um2
        rows: list[tuple[str, dict[str, Any]]] = [
            ("dense_mac_pe", {}),
            ("csr_match_pe", {"fifo_depth": 4}),
            ("csr_match_pe", {"fifo_depth": 8}),
            ("bitmask_join_pe", {"chunk": 16}),
            ("bitmask_join_pe", {"chunk": 64}),
            ("scnn_pe", {}),
            ("decompressor", {"lanes": 16}),
            ("decompressor", {"lanes": 16, "realign": False}),
        ]
        for kind, params in rows:
            a = pe_area(tech, kind, **params)
            pe_table.add_row(
                kind,
                ", ".join(f"{k}={v}" for k, v in a.params.items()),
                f"{a.area_um2:,.0f}",
                f"{a.area_um2 / dense:.2f}",
                a.source,
            )
        console.print(pe_table)

    app.add_typer(tech_app, name="tech")
