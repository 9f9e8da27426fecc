"""``signals/signals``: the IC-weighted consensus signal per symbol, timeframe and bar, with
its four asset checks (no NaN, positions within caps, fresh bars, no future predictions).

Reads ``ml.predictions`` (and ``ml.prediction_contributions`` when present), ``staging.bars``,
``features.labels`` and ``features.regime``; replaces ``signals.signals`` in one transaction.
With no predictions yet it writes nothing (stored signals are kept) and says so.
"""

from datetime import UTC, datetime

import dagster as dg
import polars as pl

from trading_assets.bars.quality import MAX_LAG
from trading_assets.defs.keys import LABELS, PREDICTIONS, REGIME, SIGNALS, STAGING_BARS
from trading_assets.defs.metadata import preview, write_metadata
from trading_assets.defs.resources import WarehouseResource
from trading_assets.defs.trading.reads import read_series, read_table
from trading_assets.home import DUCKDB_WRITER_POOL
from trading_assets.schemas import SIGNALS_SCHEMA, STAGING_BARS_SCHEMA
from trading_assets.trading import consensus, explain, signal_checks, sizing
from trading_assets.warehouse.ddl import ensure_table
from trading_assets.warehouse.writes import content_version, replace_scope

TABLE = "signals.signals"
_BAR_KEY = ["symbol", "timeframe", "ts"]

#: check name -> (description, severity)
SIGNAL_CHECKS: dict[str, tuple[str, dg.AssetCheckSeverity]] = {
    "no_nan": ("no NULL or NaN in any signal column", dg.AssetCheckSeverity.ERROR),
    "positions_within_caps": (
        "positions within the Kelly caps; strength, agreement, confidence in [0, 1]",
        dg.AssetCheckSeverity.ERROR,
    ),
    "fresh_bars": (
        "signals only on bars of staging.bars whose predictions were made at that bar's close "
        "(as_of = ts + timeframe); with enforce_freshness, the newest bar is recent enough",
        dg.AssetCheckSeverity.WARN,
    ),
    "no_future_predictions": (
        "no signal uses a prediction available after its bar's close",
        dg.AssetCheckSeverity.ERROR,
    ),
}


class SignalsConfig(dg.Config):
    """Knobs of ``signals/signals`` (see :mod:`trading_assets.trading.consensus`)."""

    ic_lookback: int = 250
    """Most recent realized (prediction, label) pairs behind a model's IC."""
    min_ic_obs: int = 30
    """Fewest realized pairs for an IC (per regime, else over all regimes)."""
    per_regime: bool = True
    """Weight models by their IC in the bar's regime (else over all regimes)."""
    full_confidence_ic: float = 0.1
    """Weighted mean IC at which confidence reaches 1."""
    vol_window: int = 20
    """Bars of one-bar log returns behind the variance in the Kelly fraction."""
    kelly_fraction: float = 0.25
    """Share of full Kelly taken (0.25 = quarter Kelly)."""
    max_long: float = 1.0
    """Largest long position, fraction of equity."""
    max_short: float = 1.0
    """Largest short position, fraction of equity (positive)."""
    long_only: bool = False
    """Never short."""
    top_drivers: int = 3
    """Features named in each explanation."""
    enforce_freshness: bool = False
    """Fail ``fresh_bars`` when a series' newest bar lags more than staging's allowed lag
    (1m: 15 min ... 1d: 4 days); on for live data, off for historical files."""

    def consensus_config(self) -> consensus.ConsensusConfig:
        """These knobs as the logic's :class:`~trading_assets.trading.consensus.ConsensusConfig`."""
        return consensus.ConsensusConfig(
            ic_lookback=self.ic_lookback,
            min_ic_obs=self.min_ic_obs,
            per_regime=self.per_regime,
            full_confidence_ic=self.full_confidence_ic,
            vol_window=self.vol_window,
            sizing=sizing.KellySizing(
                self.kelly_fraction, self.max_long, self.max_short, self.long_only
            ),
        )


def signal_check_results(
    signals: pl.DataFrame, bars: pl.DataFrame, config: SignalsConfig
) -> list[dg.AssetCheckResult]:
    """The four checks on the stored signals."""
    caps = config.consensus_config().sizing
    measures = {
        "no_nan": signal_checks.no_nan(signals),
        "positions_within_caps": signal_checks.within_caps(signals, caps.lower, caps.upper),
        "fresh_bars": signal_checks.fresh_bars(
            signals, bars, datetime.now(UTC), MAX_LAG if config.enforce_freshness else None
        ),
        "no_future_predictions": signal_checks.no_future_predictions(signals),
    }
    return [
        dg.AssetCheckResult(
            check_name=name,
            passed=passed,
            severity=SIGNAL_CHECKS[name][1],
            metadata={"details": dg.MetadataValue.json(details)},
        )
        for name, (passed, details) in measures.items()
    ]


@dg.asset(
    key=SIGNALS,
    description=(
        "Consensus trading signal per symbol, timeframe and bar: models' out-of-sample "
        "predictions weighted by their walk-forward IC per market regime, direction, "
        "strength, fractional-Kelly position and a plain-words explanation."
    ),
    deps=[PREDICTIONS, LABELS, REGIME, STAGING_BARS],
    group_name="signals",
    kinds={"duckdb", "polars"},
    pool=DUCKDB_WRITER_POOL,
    automation_condition=dg.AutomationCondition.eager(),
    check_specs=[
        dg.AssetCheckSpec(name, asset=SIGNALS, description=desc)
        for name, (desc, _) in SIGNAL_CHECKS.items()
    ],
    metadata={"table": TABLE},
)
def signals(
    context: dg.AssetExecutionContext, config: SignalsConfig, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        ensure_table(con, TABLE)
        predictions = read_table(con, "ml.predictions")
        pairs = predictions.select("symbol", "timeframe").unique()
        bars = read_series(con, "staging.bars", pairs, ["close"])
        labels = read_series(con, "features.labels", pairs, ["fwd_ret_1", "fwd_ret_5"])
        regime = read_series(con, "features.regime", pairs, ["regime"])
        contributions = read_table(con, "ml.prediction_contributions")
    missing = []
    if predictions.height == 0:
        missing.append("no predictions in ml.predictions yet (no model has been trained)")
    elif bars is None or bars.height == 0:
        missing.append("no bars in staging.bars for the predicted series")
    if bars is None:
        bars = pl.DataFrame(schema={c: STAGING_BARS_SCHEMA[c] for c in _BAR_KEY + ["close"]})
    if labels is None:
        if predictions.height:
            missing.append("features.labels is missing: no realized labels, every IC unknown")
        labels = bars.select(_BAR_KEY).clear()
    if regime is None:
        if predictions.height:
            missing.append("features.regime is missing: weights use every bar's IC")
        regime = bars.select(_BAR_KEY).clear().with_columns(regime=pl.lit(None, pl.String))
    if predictions.height and contributions.height == 0:
        missing.append("no feature contributions: explanations name no drivers")
    result = consensus.consensus_signals(
        predictions, bars, labels, regime, config.consensus_config()
    )
    frame = explain.explain(result.signals, result.weights, contributions, config.top_drivers)
    with warehouse.connect() as con:
        if predictions.height == 0:
            rows, version = content_version(con, TABLE)
            written = {
                "rows": dg.MetadataValue.int(rows),
                "rows_inserted": dg.MetadataValue.int(0),
                "rows_updated": dg.MetadataValue.int(0),
                "rows_deleted": dg.MetadataValue.int(0),
                "data_version": dg.MetadataValue.text(version),
            }
        else:
            write = replace_scope(con, TABLE, frame, {}, schema=SIGNALS_SCHEMA)
            version, written = write.data_version, write_metadata(write)
        stored = con.sql(f"SELECT * FROM {TABLE}").pl()
        stored_bars = read_series(con, "staging.bars", stored.select("symbol", "timeframe"), [])
    for note in missing:
        context.log.warning(note)
    summary = (
        stored.group_by("symbol", "timeframe")
        .agg(
            pl.len().alias("signals"),
            (pl.col("direction") == 1).mean().alias("long_share"),
            (pl.col("direction") == -1).mean().alias("short_share"),
            pl.col("position").abs().mean().alias("mean_abs_position"),
            pl.col("models").mean().alias("mean_models"),
        )
        .sort("symbol", "timeframe")
    )
    return dg.MaterializeResult(
        metadata={
            **written,
            "missing": dg.MetadataValue.md(
                "\n".join(f"- {m}" for m in missing) if missing else "nothing missing"
            ),
            "notes": dg.MetadataValue.json(result.notes),
            "series": preview(summary, n=50),
            "all_flat": dg.MetadataValue.bool(
                bool(stored.height) and bool((stored["direction"] == 0).all())
            ),
            "preview": preview(stored.drop("explanation")),
            "latest_explanation": dg.MetadataValue.text(
                stored.sort("ts")["explanation"][-1] if stored.height else ""
            ),
        },
        data_version=dg.DataVersion(version),
        check_results=signal_check_results(
            stored, stored.select(_BAR_KEY).clear() if stored_bars is None else stored_bars, config
        ),
    )
