"""The ``trading-assets`` command line.

- ``trading-assets run``: materialize every asset (or ``--select``), with progress and a summary.
- ``trading-assets refresh``: materialize only stale and missing assets, saying why.
- ``trading-assets ui``: start the Dagster UI on 127.0.0.1 against the project home.
"""

from __future__ import annotations

import os
import subprocess
import sys

import click


@click.group()
def main() -> None:
    """trading-assets: an asset-based data platform for systematic trading."""


@main.command()
@click.option(
    "--select",
    default=None,
    help="Dagster asset selection, e.g. 'key:\"raw/bars\"+' (default: every asset).",
)
@click.option(
    "--symbol",
    "symbols",
    multiple=True,
    help="Only these symbols for per-symbol assets (repeatable; default: all).",
)
def run(select: str | None, symbols: tuple[str, ...]) -> None:
    """Materialize assets in-process and print where the results are."""
    from rich.console import Console
    from rich.table import Table

    from trading_assets.definitions import build_definitions
    from trading_assets.home import ProjectHome
    from trading_assets.profiles import active_profile
    from trading_assets.runner import dagster_instance, materialize

    console = Console(soft_wrap=True)
    home = ProjectHome.from_env()
    instance = dagster_instance(home)
    profile = active_profile()
    console.print(f"[bold]trading-assets[/bold] profile [cyan]{profile}[/cyan], home {home.root}")
    defs = build_definitions()
    with console.status("starting") as status:
        summary = materialize(
            defs,
            instance,
            selection=select,
            symbols=list(symbols) or None,
            on_step=lambda label: (
                status.update(f"materializing {label}"),
                console.log(f"materializing {label}"),
            ),
        )
    table = Table(title="Materialized assets")
    for col in ("asset", "materializations", "rows stored", "rows written", "failed checks"):
        table.add_column(col)
    for outcome in summary.outcomes.values():
        table.add_row(
            outcome.key,
            str(outcome.materializations),
            f"{outcome.rows:,}",
            f"{outcome.rows_written:,}",
            ", ".join(sorted(set(outcome.failed_checks))) or "-",
        )
    console.print(table)
    console.print(f"Warehouse: {home.warehouse_path}")
    console.print(f"Dagster runs: {home.dagster_home} (trading-assets ui)")
    console.print(
        'Python: from trading_assets import Warehouse; Warehouse().bars("<symbol>", "1d")'
    )
    if not summary.ok:
        for failure in summary.failures:
            console.print(f"[red]failed[/red] {failure}")
        sys.exit(1)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print what ran and why as JSON.")
def refresh(as_json: bool) -> None:
    """Materialize only stale and missing assets, in dependency order, and say why each ran."""
    import json

    from rich.console import Console
    from rich.table import Table

    from trading_assets.definitions import build_definitions
    from trading_assets.home import ProjectHome
    from trading_assets.refresh import plan_as_dicts
    from trading_assets.refresh import refresh as run_refresh
    from trading_assets.runner import dagster_instance

    console = Console(soft_wrap=True, stderr=as_json, quiet=as_json)
    instance = dagster_instance(ProjectHome.from_env())
    defs = build_definitions()
    with console.status("planning"):
        steps, summary = run_refresh(
            defs, instance, on_step=lambda label: console.log(f"materializing {label}")
        )
    if as_json:
        click.echo(
            json.dumps({"executed": plan_as_dicts(steps), "failures": summary.failures}, indent=2)
        )
    else:
        table = Table(title=f"Refresh: {len(steps)} asset partition(s) executed")
        for col in ("asset", "partition", "why"):
            table.add_column(col)
        for step in steps:
            table.add_row(step.asset, step.partition or "-", step.reason)
        console.print(table if steps else "Nothing is stale: nothing to do.")
        for failure in summary.failures:
            console.print(f"[red]failed[/red] {failure}")
    if not summary.ok:
        sys.exit(1)


@main.command()
@click.option("--port", default=3000, show_default=True)
def ui(port: int) -> None:
    """Start the Dagster UI (dagster dev) on 127.0.0.1 with the project home's instance."""
    from trading_assets.home import ProjectHome

    home = ProjectHome.from_env().ensure()
    env = {**os.environ, "DAGSTER_HOME": str(home.dagster_home)}
    cmd = [
        sys.executable, "-m", "dagster", "dev",
        "-m", "trading_assets.definitions", "-h", "127.0.0.1", "-p", str(port),
    ]  # fmt: skip
    raise SystemExit(subprocess.call(cmd, env=env))
