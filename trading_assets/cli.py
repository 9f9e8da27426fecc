"""The ``trading-assets`` command line.

- ``trading-assets run``: materialize every asset (or ``--select``), with progress and a summary.
- ``trading-assets refresh``: materialize only stale and missing assets, saying why.
- ``trading-assets ui``: start the Dagster UI on 127.0.0.1 against the project home.
- ``trading-assets replay FILE``: feed a historical bar file into the inbox, bar by bar.
- ``trading-assets signals``: the newest signal of every series, with its age and explanation.
- ``trading-assets metrics``: print the cost metrics in Prometheus text format.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click


@click.group()
def main() -> None:
    """trading-assets: an asset-based data platform for systematic trading."""


@main.command()
@click.option(
    "--select",
    default=None,
    help="Dagster asset selection, e.g. 'key:\"raw/source_bars\"+' (default: every asset).",
)
@click.option(
    "--symbol",
    "symbols",
    multiple=True,
    help="Only these symbols for per-symbol assets (repeatable; default: all).",
)
def run(select: str | None, symbols: tuple[str, ...]) -> None:
    """Materialize assets in-process and print where the results are, and the state of every
    file of the data folder and the inbox.

    Exit status: 0 when every step ran and no file was rejected (files that landed only
    partly are listed as warnings); 1 when a step failed; 2 when every step ran but a source
    file was rejected or its symbol is unknown."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from trading_assets import scale
    from trading_assets.definitions import build_definitions
    from trading_assets.errors import ConfigurationError
    from trading_assets.home import ProjectHome
    from trading_assets.profiles import active_profile
    from trading_assets.runner import dagster_instance, materialize, source_report
    from trading_assets.scale import redact_url

    console = Console(soft_wrap=True)
    home = ProjectHome.from_env()
    try:
        instance = dagster_instance(home)
        workers = scale.workers() if scale.executor() == scale.MULTIPROCESS else 1
    except ConfigurationError as exc:
        raise click.ClickException(str(exc)) from None
    profile = active_profile()
    console.print(f"[bold]trading-assets[/bold] profile [cyan]{profile}[/cyan], home {home.root}")
    defs = build_definitions()
    _long_lived_loaded()
    with console.status("starting") as status:
        summary = materialize(
            defs,
            instance,
            selection=select,
            symbols=list(symbols) or None,
            workers=workers,
            on_step=lambda label: (
                status.update(f"materializing {label}"),
                console.log(f"materializing {label}"),
            ),
        )
    table = Table(title="Materialized assets")
    table.add_column("asset", no_wrap=True)
    for col in ("materializations", "rows stored", "rows written", "failed checks"):
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
    if summary.no_source:
        by_asset: dict[str, list[str]] = {}
        for asset, partition in summary.no_source:
            by_asset.setdefault(asset, []).append(partition or "-")
        console.print("Not run, no source on this profile (recorded as an observation):")
        for asset, partitions in by_asset.items():
            console.print(f"  {asset}: {', '.join(sorted(partitions))}", highlight=False)
    console.print(f"Warehouse: {home.warehouse_path}")
    console.print(f"Dagster runs: {home.dagster_home} (trading-assets ui)")
    report = home.reports_dir / "latest.html"
    if report.exists():
        console.print(f"Report: {report}")
    console.print(
        "MLflow: mlflow ui --backend-store-uri "
        f"{redact_url(home.mlflow_tracking_uri)} --host 127.0.0.1"
    )
    console.print(
        'Python: from trading_assets import Warehouse; Warehouse().bars("<symbol>", "1d")'
    )
    files = source_report(defs)
    if files is not None:
        console.print(files.count_line())
        for line in files.problem_lines():
            colour = "red" if line.startswith("ERROR") else "yellow"
            console.print(f"[{colour}]{escape(line)}[/{colour}]", highlight=False)
    if not summary.ok:
        for failure in summary.failures:
            console.print(f"[red]failed[/red] {failure}")
        sys.exit(1)
    if files is not None and files.severity == "ERROR":
        sys.exit(2)  # every step ran, but a source file was rejected (see the lines above)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print what ran and why as JSON.")
def refresh(as_json: bool) -> None:
    """Materialize only stale and missing assets, in dependency order, and say why each ran."""
    import json

    from trading_assets.definitions import build_definitions
    from trading_assets.errors import ConfigurationError
    from trading_assets.home import ProjectHome
    from trading_assets.refresh import plan_as_dicts
    from trading_assets.refresh import refresh as run_refresh
    from trading_assets.runner import dagster_instance

    try:
        instance = dagster_instance(ProjectHome.from_env())
    except ConfigurationError as exc:
        raise click.ClickException(str(exc)) from None
    defs = build_definitions()
    _long_lived_loaded()
    if as_json:  # nothing on the terminal but the JSON: no console, no spinner thread
        steps, summary = run_refresh(defs, instance)
        click.echo(
            json.dumps({"executed": plan_as_dicts(steps), "failures": summary.failures}, indent=2)
        )
    else:
        from rich.console import Console
        from rich.table import Table

        console = Console(soft_wrap=True)
        with console.status("planning"):
            steps, summary = run_refresh(
                defs, instance, on_step=lambda label: console.log(f"materializing {label}")
            )
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
@click.argument("source_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--speed", default=1.0, show_default=True, help="Bars per second.")
@click.option("--chunk", default=1, show_default=True, help="Bars per inbox file.")
@click.option("--limit", default=None, type=int, help="Stop after this many bars.")
@click.option("--skip", default=0, show_default=True, help="Start after this many bars.")
def replay(source_file: Path, speed: float, chunk: int, limit: int | None, skip: int) -> None:
    """Feed SOURCE_FILE's bars into the inbox at --speed bars per second (the inbox sensor
    ingests each file once; watch it in `trading-assets ui`)."""
    from trading_assets.home import ProjectHome
    from trading_assets.replay import replay as run_replay

    inbox = ProjectHome.from_env().ensure().inbox_dir
    chunks = run_replay(
        source_file,
        inbox,
        speed=speed,
        chunk=chunk,
        limit=limit,
        skip=skip,
        on_chunk=lambda c: click.echo(f"{c.first} .. {c.last}: {c.bars} bar(s) -> {c.path}"),
    )
    click.echo(f"replayed {sum(c.bars for c in chunks)} bar(s) in {len(chunks)} file(s)")


@main.command()
@click.option("--symbol", default=None, help="Only this symbol's series.")
@click.option("--json", "as_json", is_flag=True, help="Print the signals as JSON.")
def signals(symbol: str | None, as_json: bool) -> None:
    """Print the newest signal of every series: bar time and age, direction, target
    position, confidence, the models that agree, and the explanation."""
    import json

    from trading_assets.sdk import Warehouse
    from trading_assets.trading.signals_run import format_age

    try:
        newest = Warehouse().latest_signals(symbol)
    except FileNotFoundError as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        rows = [
            {**r, "ts": r["ts"].isoformat(), "bar_close": r["bar_close"].isoformat()}
            for r in newest.iter_rows(named=True)
        ]
        click.echo(json.dumps(rows, indent=2))
        return
    if newest.is_empty():
        where = f" for {symbol}" if symbol else ""
        click.echo(f"No signals yet{where}: run `trading-assets run` (models train first).")
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Newest signals (UTC)")
    for col in ("series", "bar", "age", "direction", "position", "confidence", "agree", "kind"):
        table.add_column(col, no_wrap=True)
    for r in newest.iter_rows(named=True):
        table.add_row(
            f"{r['symbol']} {r['timeframe']}", f"{r['ts']:%Y-%m-%d %H:%M}",
            format_age(r["age_hours"]), r["direction"], f"{r['position']:+.3f}",
            f"{r['confidence']:.0%}", r["agreeing_models"] or "-", r["kind"],
        )  # fmt: skip
    console = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 160)
    console.print(table)
    for r in newest.iter_rows(named=True):
        console.print(f"[bold]{r['symbol']} {r['timeframe']}[/bold]: {r['explanation']}")


@main.command()
def metrics() -> None:
    """Print the cost metrics (Prometheus text) last exported by ops/cost_metrics."""
    from trading_assets.costs.prometheus import METRICS_FILE
    from trading_assets.home import ProjectHome

    path = ProjectHome.from_env().metrics_dir / METRICS_FILE
    if not path.is_file():
        raise click.ClickException(
            f"{path} does not exist yet: materialize ops/cost_metrics "
            "(trading-assets run, or refresh)"
        )
    click.echo(path.read_text(), nl=False)


#: the name the Dagster UI shows for the code location
CODE_LOCATION = "trading_assets"


def dagster_dev_command(dagster_home: Path, port: int) -> list[str]:
    """The ``dagster dev`` command of ``trading-assets ui``: the code location
    ``trading_assets.definitions`` named :data:`CODE_LOCATION` (through a workspace file
    written to ``dagster_home``), the webserver on 127.0.0.1:``port``."""
    workspace = dagster_home / "workspace.yaml"
    workspace.write_text(
        "load_from:\n"
        "  - python_module:\n"
        "      module_name: trading_assets.definitions\n"
        f"      location_name: {CODE_LOCATION}\n"
    )
    return [
        sys.executable, "-m", "dagster", "dev", "-w", str(workspace),
        "-h", "127.0.0.1", "-p", str(port),
    ]  # fmt: skip


@main.command()
@click.option("--port", default=3000, show_default=True)
def ui(port: int) -> None:
    """Start the Dagster UI (dagster dev) on 127.0.0.1 with the project home's instance."""
    from trading_assets import scale
    from trading_assets.errors import ConfigurationError
    from trading_assets.home import ProjectHome

    try:
        scale.check_stores()
    except ConfigurationError as exc:
        raise click.ClickException(str(exc)) from None
    home = ProjectHome.from_env().ensure()
    env = {**os.environ, "DAGSTER_HOME": str(home.dagster_home)}
    raise SystemExit(subprocess.call(dagster_dev_command(home.dagster_home, port), env=env))


def _long_lived_loaded() -> None:
    """Dagster, the definitions and the instance are loaded: in the console script, keep the
    garbage collector off them (:mod:`trading_assets.process_gc`)."""
    if _CONSOLE_SCRIPT:
        from trading_assets.process_gc import freeze_long_lived

        freeze_long_lived()


#: set by :func:`entry`: this process is the console script (not Click's test runner)
_CONSOLE_SCRIPT = False


def entry() -> None:
    """The ``trading-assets`` console script: :func:`main`, then the process ends without
    tearing the interpreter down (:mod:`trading_assets.quick_exit`), and the garbage
    collector kept off what it loaded (:mod:`trading_assets.process_gc`)."""
    from trading_assets.process_gc import defer_collections
    from trading_assets.quick_exit import exit_now

    defer_collections()
    global _CONSOLE_SCRIPT
    _CONSOLE_SCRIPT = True
    try:
        main()  # Click's standalone mode ends with SystemExit
    except SystemExit as done:
        exit_now(done.code)
    exit_now(0)
