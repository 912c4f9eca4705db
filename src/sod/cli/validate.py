"""``sod validate``: every model checked against its own published results
(docs/validate.md). Exit 1 when a claim is out of tolerance (expected failures excepted),
2 on bad input."""

from __future__ import annotations

from enum import StrEnum

import typer


class ValidateFormat(StrEnum):
    TABLE = "table"
    JSON = "json"


STATUS_STYLE = {"pass": "green", "FAIL": "bold red", "xfail": "yellow", "xpass": "cyan"}


def _fmt(value: float, unit: str) -> str:
    if value != value:  # nan
        return "n/a"
    if unit in ("cycles",):
        return f"{value:,.0f}"
    if unit == "share":
        return f"{value * 100:.2f} %"
    return f"{value:.4g} {unit}"


def register(app: typer.Typer) -> None:
    @app.command("validate")
    def validate(
        only: str | None = typer.Option(
            None, "--only", help="comma-separated claim ids (default: every claim)"
        ),
        fmt: ValidateFormat = typer.Option(ValidateFormat.TABLE, "--format", "-f"),
        verbose: bool = typer.Option(False, "--verbose", "-v", help="also print each setup"),
    ) -> None:
        """Check each model against its paper's published numbers, on that paper's setup."""
        from sod.study.validate import results_json, run_claims

        ids = [i.strip() for i in only.split(",") if i.strip()] if only else None
        results = run_claims(ids)
        if fmt is ValidateFormat.JSON:
            typer.echo(results_json(results))
        else:
            from rich.console import Console
            from rich.table import Table

            console = Console(width=200)
            table = Table("claim", "paper", "published", "modelled", "error", "tol", "status", "s")
            for r in results:
                c = r.claim
                style = STATUS_STYLE.get(r.status, "")
                table.add_row(
                    c.id,
                    c.paper,
                    _fmt(c.published, c.unit),
                    _fmt(r.modelled, c.unit),
                    "n/a" if r.rel_err != r.rel_err else f"{r.rel_err * 100:+.1f} %",
                    f"±{c.tolerance * 100:.0f} %",
                    f"[{style}]{r.status}[/]",
                    f"{r.seconds:.1f}",
                )
            console.print(table)
            for r in results:
                if verbose or r.status != "pass":
                    console.print(f"[bold]{r.claim.id}[/] ({r.status}): {r.detail}")
                    if verbose:
                        console.print(f"  setup: {r.claim.setup}")
                        console.print(f"  tolerance: {r.claim.tolerance_reason}")
                    if r.claim.expected_fail:
                        console.print(f"  expected to fail: {r.claim.expected_fail}")
            counts = {s: sum(r.status == s for r in results) for s in STATUS_STYLE}
            console.print(
                f"{len(results)} claims: {counts['pass']} pass, {counts['FAIL']} fail, "
                f"{counts['xfail']} expected failures, {counts['xpass']} unexpected passes"
            )
        if any(r.failed for r in results):
            raise typer.Exit(code=1)
