"""``signals/signals``: the IC-weighted consensus signal per symbol, timeframe and bar, with
its four asset checks (no NaN, positions within caps, fresh bars, no future predictions).

Reads ``ml.predictions`` and ``ml.live_predictions`` (and their contributions when present),
``staging.bars``, ``features.labels`` and ``features.regime``; recomputes the series whose
input rows changed since the last build (all of them on the first build, or after a change
of code, configuration or the table itself; ``recomputed_series``) and replaces their rows in
one transaction (:mod:`trading_assets.trading.signals_update`). The checks and the newest
signals cover the whole table; ``notes``, ``missing`` and ``sizing`` the recomputed series.
With no predictions yet it writes nothing (stored signals are kept) and says so. The logic
is :mod:`trading_assets.trading.signals_run` and :mod:`trading_assets.trading.signal_checks`.
"""

from datetime import UTC, datetime, timedelta

import dagster as dg
import polars as pl

from trading_assets.bars.quality import MAX_LAG
from trading_assets.defs.automation import on_new_data
from trading_assets.defs.keys import (
    LABELS,
    LIVE_PREDICTIONS,
    PREDICTIONS,
    REGIME,
    SIGNALS,
    STAGING_BARS,
)
from trading_assets.defs.metadata import preview, write_metadata
from trading_assets.defs.ops.meter import metered
from trading_assets.defs.recorded import code_version, recorded_data_version
from trading_assets.defs.resources import WarehouseResource
from trading_assets.defs.signals.metadata import missing_metadata
from trading_assets.home import DUCKDB_WRITER_POOL
from trading_assets.profiles import active_profile
from trading_assets.trading import consensus, signal_checks, signals_run, signals_update, sizing
from trading_assets.warehouse.catalog import read_series, read_table

TABLE = "signals.signals"

#: check name -> (description, severity)
SIGNAL_CHECKS: dict[str, tuple[str, dg.AssetCheckSeverity]] = {
    "no_nan": ("no NULL or NaN in any signal column", dg.AssetCheckSeverity.ERROR),
    "positions_within_caps": (
        "positions within the Kelly caps; strength, agreement, confidence in [0, 1]",
        dg.AssetCheckSeverity.ERROR,
    ),
    "fresh": (
        "every predicted series has a signal on its newest closed bar of staging.bars, made "
        "from predictions at that bar's close; with enforce_freshness (live), the newest bar "
        "is recent enough",
        dg.AssetCheckSeverity.ERROR,
    ),
    "no_future_predictions": (
        "no signal uses a prediction available after its bar's close, or computed (measured "
        "predicted_at) before its bar closed",
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
    calibration_lookback: int = 500
    """Most recent realized (consensus, return) pairs behind the calibrated edge."""
    min_calibration_pairs: int = 100
    """Fewest realized pairs to calibrate the edge; with fewer, the position is flat."""
    no_trade_band: float = 0.05
    """Positions smaller than this (fraction of equity) are not taken: flat."""
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
    """Fail ``fresh`` when a series' newest bar is older than the allowed age (always on for
    the ``live`` profile; off by default for historical files, whose newest bar is old)."""
    max_age_hours: float = 0.0
    """Allowed age of the newest bar when freshness is enforced, in hours, for every
    timeframe (0: per timeframe, 1m: 15 min ... 1h: 3 h, 1d: 4 days)."""

    def max_lag(self) -> dict[str, timedelta] | None:
        """The allowed age per timeframe (None: the defaults)."""
        if self.max_age_hours <= 0:
            return None
        return {tf: timedelta(hours=self.max_age_hours) for tf in MAX_LAG}

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
            edge=sizing.EdgeSizing(
                self.calibration_lookback, self.min_calibration_pairs, self.no_trade_band
            ),
        )


def signal_check_results(
    signals: pl.DataFrame,
    bars: pl.DataFrame | None,
    config: SignalsConfig,
    predictions: pl.DataFrame | None = None,
    live: bool = False,
) -> list[dg.AssetCheckResult]:
    """The four checks on the stored signals (``bars``: ``symbol, timeframe, ts`` of
    ``staging.bars`` for the predicted series, None without the table; ``predictions``: the
    walk-forward and live predictions; ``live``: the data is live, freshness enforced)."""
    measures = signal_checks.check_signals(
        signals,
        bars,
        config.consensus_config().sizing,
        datetime.now(UTC),
        config.enforce_freshness or live,
        predictions,
        config.max_lag(),
    )
    return [
        dg.AssetCheckResult(
            check_name=name,
            passed=passed,
            severity=SIGNAL_CHECKS[name][1],
            metadata={
                "details": dg.MetadataValue.json(details),
                **{
                    k: dg.MetadataValue.float(float(v))
                    for k, v in details.items()
                    if isinstance(v, int | float) and not isinstance(v, bool)
                },
            },
        )
        for name, (passed, details) in measures.items()
    ]


@dg.asset(
    key=SIGNALS,
    description=(
        "Consensus trading signal per symbol, timeframe and bar, the newest bar included: "
        "models' walk-forward and live predictions weighted by their walk-forward IC per "
        "market regime, direction, strength, a fractional-Kelly position on the edge "
        "calibrated walk-forward from realized (signal, return) pairs, and a plain-words "
        "explanation."
    ),
    deps=[PREDICTIONS, LIVE_PREDICTIONS, LABELS, REGIME, STAGING_BARS],
    group_name="signals",
    kinds={"duckdb", "polars"},
    pool=DUCKDB_WRITER_POOL,
    # a new bar updates labels, regimes and bars first: wait for its live predictions
    automation_condition=on_new_data(ignore=[LABELS, REGIME, STAGING_BARS]),
    check_specs=[
        dg.AssetCheckSpec(name, asset=SIGNALS, description=desc)
        for name, (desc, _) in SIGNAL_CHECKS.items()
    ],
    metadata={"table": TABLE},
)
@metered
def signals(
    context: dg.AssetExecutionContext,
    config: SignalsConfig,
    warehouse: WarehouseResource,
) -> dg.MaterializeResult:
    state_version = f"{code_version(context)}:{config.model_dump_json()}"
    with warehouse.connect() as con:
        inputs = signals_update.read_inputs(con)
        update = signals_update.update_signals(
            con, inputs, config.consensus_config(), config.top_drivers, state_version,
            recorded_data_version(context),
        )  # fmt: skip
        stored = read_table(con, TABLE)
        pairs = inputs.predictions.select("symbol", "timeframe").unique()
        stored_bars = read_series(con, "staging.bars", pairs, [])
    run, write, predictions = update.run, update.write, inputs.predictions
    for note in run.missing:
        context.log.warning(note)
    return dg.MaterializeResult(
        metadata={
            **write_metadata(write),
            "missing": missing_metadata(run.missing),
            "notes": dg.MetadataValue.json(run.notes),
            "recomputed_series": dg.MetadataValue.json(
                "all" if update.recomputed is None else [" ".join(s) for s in update.recomputed]
            ),
            "series": preview(signals_run.series_summary(stored), n=50),
            "sizing": preview(signals_run.sizing_summary(run.sizing), n=50),
            "all_flat": dg.MetadataValue.bool(signals_run.all_flat(stored)),
            "newest_signals": preview(signals_run.newest_signals(stored), n=50),
            "preview": preview(stored.drop("explanation")),
            "latest_explanation": dg.MetadataValue.text(signals_run.latest_explanation(stored)),
        },
        data_version=dg.DataVersion(write.data_version),
        check_results=signal_check_results(
            stored, stored_bars, config, predictions, live=active_profile() == "live"
        ),
    )
