"""Explanations from the models' top feature contributions."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl

from trading_assets.schemas import PREDICTION_CONTRIBUTIONS_SCHEMA, SIGNALS_SCHEMA
from trading_assets.trading.consensus import WEIGHTS_SCHEMA
from trading_assets.trading.explain import explain, feature_words, signal_drivers

TS = datetime(2014, 6, 2, tzinfo=UTC)


def _frames():
    weights = pl.DataFrame(
        [
            ("lgbm_a", "v1", "ORCL", "1d", TS, 0.002, 0.09, 250, 0.09),
            ("lgbm_b", "v1", "ORCL", "1d", TS, 0.001, 0.03, 250, 0.03),
            ("bad", "v1", "ORCL", "1d", TS, -0.004, -0.05, 250, 0.0),
        ],
        schema=WEIGHTS_SCHEMA,
        orient="row",
    )
    contributions = pl.DataFrame(
        [
            ("lgbm_a", "v1", "ORCL", "1d", TS, 1, "rsi_14", 71.25, 0.0012),
            ("lgbm_a", "v1", "ORCL", "1d", TS, 2, "ROC5", 0.97, -0.0004),
            ("lgbm_a", "v1", "ORCL", "1d", TS, 3, "vol_ratio", 1.4, 0.0002),
            ("lgbm_b", "v1", "ORCL", "1d", TS, 1, "ROC5", 0.97, -0.0020),
            ("bad", "v1", "ORCL", "1d", TS, 1, "macd_hist", 3.0, -0.05),  # weight 0: ignored
        ],
        schema=PREDICTION_CONTRIBUTIONS_SCHEMA,
        orient="row",
    )
    signal = pl.DataFrame(
        [
            (
                "ORCL",
                "1d",
                TS,
                1,
                0.5,
                0.4,
                0.75,
                0.66,
                0.0016,
                2,
                "lgbm_a,lgbm_b",
                "up_calm",
                "",
                TS,
                "walk_forward",
            )
        ],  # fmt: skip
        schema=SIGNALS_SCHEMA,
        orient="row",
    )
    return signal, weights, contributions


def test_drivers_are_weighted_by_model_weight_share():
    _, weights, contributions = _frames()
    drivers = signal_drivers(contributions, weights)
    assert drivers["feature"].to_list() == ["rsi_14", "ROC5", "vol_ratio"]
    # rsi_14: 0.0012 * 0.75; ROC5: -0.0004 * 0.75 - 0.0020 * 0.25
    assert drivers["contribution"].to_list()[:2] == [
        0.0012 * 0.75,
        -0.0004 * 0.75 - 0.0020 * 0.25,
    ]
    assert "macd_hist" not in drivers["feature"].to_list()


def test_explanation_names_direction_agreement_and_drivers():
    signal, weights, contributions = _frames()
    text = explain(signal, weights, contributions)["explanation"][0]
    assert text.startswith("Long: 2 of 3 model(s) carry weight; 75% of the weight agrees")
    assert "regime up_calm" in text
    assert "RSI 14 at 71.25 pushed the forecast up" in text
    assert "ROC5 at 0.97 pushed the forecast down" in text
    assert text.index("RSI 14") < text.index("ROC5") < text.index("vol ratio")


def test_flat_and_missing_contributions_are_said_plainly():
    signal, weights, contributions = _frames()
    flat = signal.with_columns(
        pl.lit(0, dtype=pl.Int64).alias("direction"), pl.lit(0, dtype=pl.Int64).alias("models")
    )
    text = explain(flat, weights, contributions)["explanation"][0]
    assert text.startswith("Flat: none of the 3 model(s)")
    plain = explain(signal, weights, contributions.clear())["explanation"][0]
    assert plain.endswith("No feature contributions recorded for these models.")
    assert explain(signal.clear(), weights, contributions).height == 0


def test_feature_words():
    assert feature_words("rsi_14") == "RSI 14"
    assert feature_words("macd_signal") == "MACD signal"
    assert feature_words("KMID2") == "KMID2"


def test_the_position_is_explained_by_its_calibration(orcl, orcl_labels, orcl_regime):
    from tests.trading.conftest import oracle, predictions_frame
    from trading_assets.trading.consensus import consensus_signals

    noisy = oracle(orcl_labels["fwd_ret_1"].to_numpy(), 0.2, 5)  # a small real edge
    preds = predictions_frame(orcl, "m", noisy, start=300)
    result = consensus_signals(preds, orcl, orcl_labels, orcl_regime)
    empty = pl.DataFrame(schema=PREDICTION_CONTRIBUTIONS_SCHEMA)
    told = explain(result.signals, result.weights, empty, 3, result.sizing).join(
        result.sizing, on=["symbol", "timeframe", "ts"]
    )
    by_reason = {r: told.filter(pl.col("sizing") == r) for r in told["sizing"].unique()}
    early = by_reason["too_little_history"]["explanation"][0]
    assert early.endswith("realized (signal, return) pairs, too few to calibrate.")
    assert "Position flat:" in early
    for row in by_reason["sized"].head(3).iter_rows(named=True):
        assert f"Position {row['position']:+.0%} of equity: calibrated edge" in row["explanation"]
        assert f"over {row['pairs']} realized pairs" in row["explanation"]
    for reason, words in (("no_edge", "no calibrated edge"), ("in_band", "no-trade band")):
        assert words in by_reason[reason]["explanation"][0]
    # without the sizing frame, explanations stay as they were
    plain = explain(result.signals, result.weights, empty, 3)
    assert not plain["explanation"].str.contains("Position").any()
