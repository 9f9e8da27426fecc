"""Model training and serving benchmark: ``.venv/bin/python -m benchmarks.bench_models``.

Real data: ETH/USDT and BTC/USDT 1h bars (Binance 2023, ``../shared/data``), Alpha158 +
labels computed by the project's feature code, target ``fwd_ret_1``, 5 walk-forward folds.
Every serving figure is printed next to MLflow's pyfunc measured in the same run:

0. **Import time** of Keras 3 + JAX (the LSTM's optional extra) in a fresh interpreter,
   next to lightgbm + scikit-learn + statsmodels in the same kind of process.
1. **Training wall time per family** (5 folds + the final fit, metrics, importances;
   library imports done before and printed apart): every family of ``fwd_ret_1``, the SVC
   on ``dir_1`` and ARIMA on ``fwd_ret_5`` (multi-step). The LSTM's first fit in a process
   compiles its XLA training step: printed apart as first fold minus the median other fold.
2. **Model load**: the Predictor's first load of ``models:/<name>@champion`` (alias lookup,
   artifact download, unpickle of the native booster) vs ``mlflow.pyfunc.load_model``, with
   MLflow already imported (target < 100 ms).
3. **Newest-bar latency**, p50/p99 of the whole path (features of the newest bar from its
   last 61 bars + predict): Predictor vs the same features + pyfunc ``predict`` on a one-row
   frame (target p99 < 1 ms); raw ``Booster.predict`` of one row for reference; and the
   LSTM's Predictor (features of its 32-bar window from the last 92 bars + one jitted
   network call) against LightGBM's.
4. **Batch throughput** (predictions/s) on 100,000 rows: ``Predictor.predict_matrix`` and
   ``predict_batch`` (Polars frame) vs pyfunc ``predict`` on a pandas frame (target
   >= 100,000/s).

Options: ``--iterations N`` (latency samples, default 3000).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

from benchmarks.common import print_table, shared_data_dir, verdict
from trading_assets.features import alpha158, labels
from trading_assets.sources.files.freqtrade_json import FreqtradeJsonReader

COLS = ("symbol", "timeframe", "ts", "open", "high", "low", "close", "volume", "vwap")


def _bars() -> dict[str, pl.DataFrame]:
    folder = shared_data_dir() / "crypto" / "binance_spot_2023"
    return {
        s: FreqtradeJsonReader(folder / f"{s.replace('/', '_')}-1h.json").read().select(COLS)
        for s in ("ETH/USDT", "BTC/USDT")
    }


def _percentiles(samples: list[float]) -> tuple[float, float]:
    arr = np.asarray(samples) * 1e3
    return float(np.percentile(arr, 50)), float(np.percentile(arr, 99))


def _latency(fn, iterations: int) -> list[float]:
    for _ in range(50):
        fn()
    out = []
    for _ in range(iterations):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def _import_seconds(statement: str) -> float:
    """Wall seconds of ``statement`` in a fresh interpreter (imports not yet cached)."""
    import subprocess
    import sys

    code = f"import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--iterations", type=int, default=3000)
    args = parser.parse_args()

    import os

    from trading_assets.ml import tracking
    from trading_assets.ml.dataset import prepare
    from trading_assets.ml.newest_bar import arrays, newest_features
    from trading_assets.ml.predictor import Predictor
    from trading_assets.ml.training import TrainingConfig, train_all

    print(
        f"load average (1 min) {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores: p99 figures "
        "include the scheduling delays of a shared machine"
    )
    bars = _bars()
    table = pl.concat(
        alpha158.alpha158(b).join(labels.labels(b), on=["symbol", "timeframe", "ts"])
        for b in bars.values()
    )
    ds = prepare(table, "1h", "fwd_ret_1")
    keras_import = _import_seconds(
        "from trading_assets.ml.lstm import import_keras; import_keras()"
    )
    plain_import = _import_seconds(
        "import lightgbm, sklearn.svm, sklearn.neural_network, statsmodels.tsa.statespace.sarimax"
    )
    print_table(
        "0. imports in a fresh interpreter, s",
        ["libraries", "seconds", "vs lightgbm + scikit-learn + statsmodels"],
        [["keras + jax (the lstm extra)", f"{keras_import:.2f}",
          f"{keras_import / plain_import:.1f}x"],
         ["lightgbm + scikit-learn + statsmodels (baseline)", f"{plain_import:.2f}", "1.0x"]],
    )  # fmt: skip
    t0 = time.perf_counter()
    import lightgbm  # noqa: F401 - import time is not training time
    import sklearn.neural_network  # noqa: F401
    import sklearn.svm  # noqa: F401
    import statsmodels.tsa.statespace.sarimax  # noqa: F401

    from trading_assets.ml.lstm import import_keras

    import_keras()
    print(f"\nimports of lightgbm, scikit-learn, statsmodels, keras, jax: "
          f"{time.perf_counter() - t0:.2f} s (not in the training times)")  # fmt: skip
    t0 = time.perf_counter()
    outcome = train_all(ds, TrainingConfig())
    total = time.perf_counter() - t0
    extra = {
        ("svc", "dir_1"): train_all(prepare(table, "1h", "dir_1"), TrainingConfig(("svc",))),
        ("arima", "fwd_ret_5"): train_all(
            prepare(table, "1h", "fwd_ret_5"), TrainingConfig(("arima",))
        ),
    }
    results = [((f, "fwd_ret_1"), r) for f, r in outcome.results.items()]
    results += [(key, out.results[key[0]]) for key, out in extra.items()]
    rows = []
    for (family, target), r in results:
        metric = "log_loss" if "log_loss" in r.validation else "ic"
        rows.append([family, target, f"{r.fit_seconds:.2f}", metric,
                     f"{r.validation[metric]:+.4f}", f"{r.test[metric]:+.4f}"])  # fmt: skip
    rows.append(["(all of fwd_ret_1)", "", f"{total:.2f}", "", "", ""])
    lstm_folds = [f["fit_seconds"] for f in outcome.results["lstm"].folds]
    compile_s = lstm_folds[0] - float(np.median(lstm_folds[1:]))
    print_table(
        f"1. training wall time per family ({ds.frame.height} rows x {len(ds.features)} "
        f"features, {len(outcome.folds)} folds; skipped: {outcome.skipped or 'none'}); the "
        f"LSTM's first fit compiled its training step in about {compile_s:.1f} s",
        ["family", "target", "seconds", "metric", "validation", "test"],
        rows,
    )

    import mlflow.pyfunc

    with tempfile.TemporaryDirectory() as tmp:
        uri = f"sqlite:///{Path(tmp) / 'mlflow.db'}"
        mv = tracking.log_family(
            outcome.results["lightgbm"], outcome, tracking_uri=uri, key="bench",
            input_version="bench", artifact_location=str(Path(tmp) / "art"),
        )  # fmt: skip
        predictor = Predictor(mv.name, uri, refresh_seconds=3600)
        t0 = time.perf_counter()
        predictor.refresh()
        ours_load = time.perf_counter() - t0
        t0 = time.perf_counter()
        pyfunc = mlflow.pyfunc.load_model(f"models:/{mv.name}@champion")
        pyfunc_load = time.perf_counter() - t0
        print_table(
            "2. model load (MLflow imported), ms",
            ["path", "ms", "vs pyfunc", "target < 100 ms"],
            [
                ["Predictor (alias + download + unpickle)", f"{ours_load * 1e3:.1f}",
                 f"{pyfunc_load / ours_load:.1f}x faster", verdict(ours_load < 0.1)],
                ["mlflow.pyfunc.load_model (baseline)", f"{pyfunc_load * 1e3:.1f}", "1.0x",
                 verdict(pyfunc_load < 0.1)],
            ],
        )  # fmt: skip

        eth = bars["ETH/USDT"].sort("ts")
        recent = arrays(eth)
        features = list(ds.features)
        booster = predictor.loaded.model.estimator
        one = newest_features(*recent, features)

        def ours() -> float:
            return predictor.predict_newest_bar(recent)

        def baseline() -> float:
            x = newest_features(*recent, features)
            return float(pyfunc.predict(pl.DataFrame(x, schema=features).to_pandas())[0])

        lstm_mv = tracking.log_family(
            outcome.results["lstm"], outcome, tracking_uri=uri, key="bench-lstm",
            input_version="bench", artifact_location=str(Path(tmp) / "art"),
        )  # fmt: skip
        lstm = Predictor(lstm_mv.name, uri, refresh_seconds=3600)
        lstm_bars = arrays(eth, lstm.loaded.model.bars_needed)
        assert abs(lstm.predict_newest_bar(lstm_bars) - lstm.predict_newest_bar(eth)) < 1e-12

        assert abs(ours() - baseline()) < 1e-12
        ours_p = _percentiles(_latency(ours, args.iterations))
        base_p = _percentiles(_latency(baseline, args.iterations))
        raw_p = _percentiles(_latency(lambda: booster.predict(one), args.iterations))
        lstm_p = _percentiles(_latency(lambda: lstm.predict_newest_bar(lstm_bars), args.iterations))
        window = lstm.loaded.model.window
        print_table(
            f"3. newest-bar latency (features from the last 61 bars + predict), "
            f"{args.iterations} calls, ms",
            ["path", "p50", "p99", "p99 vs pyfunc", "target p99 < 1 ms"],
            [
                ["Predictor.predict_newest_bar (LightGBM)", f"{ours_p[0]:.3f}",
                 f"{ours_p[1]:.3f}", f"{base_p[1] / ours_p[1]:.1f}x faster",
                 verdict(ours_p[1] < 1.0)],
                ["same features + pyfunc predict (baseline)", f"{base_p[0]:.3f}",
                 f"{base_p[1]:.3f}", "1.0x", verdict(base_p[1] < 1.0)],
                ["raw Booster.predict, one row (reference)", f"{raw_p[0]:.3f}",
                 f"{raw_p[1]:.3f}", "", ""],
                [f"Predictor.predict_newest_bar (LSTM, {window}-bar window)",
                 f"{lstm_p[0]:.3f}", f"{lstm_p[1]:.3f}",
                 f"{base_p[1] / lstm_p[1]:.1f}x faster", verdict(lstm_p[1] < 1.0)],
            ],
        )  # fmt: skip
        print(f"LSTM vs LightGBM newest bar: p50 {lstm_p[0] / ours_p[0]:.1f}x, "
              f"p99 {lstm_p[1] / ours_p[1]:.1f}x the time")  # fmt: skip

        n = 100_000
        reps = -(-n // ds.frame.height)
        big = pl.concat([ds.frame.select(features)] * reps).head(n)
        matrix = np.ascontiguousarray(big.to_numpy())
        pandas_big = big.to_pandas()

        def rate(fn) -> float:
            fn()
            t0 = time.perf_counter()
            fn()
            return n / (time.perf_counter() - t0)

        r_matrix = rate(lambda: predictor.predict_matrix(matrix))
        r_frame = rate(lambda: predictor.predict_batch(big))
        r_pyfunc = rate(lambda: pyfunc.predict(pandas_big))
        print_table(
            f"4. batch throughput, {n:,} rows x {len(features)} features, predictions/s",
            ["path", "per second", "vs pyfunc", "target >= 100,000/s"],
            [
                ["Predictor.predict_matrix (NumPy)", f"{r_matrix:,.0f}",
                 f"{r_matrix / r_pyfunc:.1f}x", verdict(r_matrix >= 1e5)],
                ["Predictor.predict_batch (Polars)", f"{r_frame:,.0f}",
                 f"{r_frame / r_pyfunc:.1f}x", verdict(r_frame >= 1e5)],
                ["pyfunc predict, pandas (baseline)", f"{r_pyfunc:,.0f}", "1.0x",
                 verdict(r_pyfunc >= 1e5)],
            ],
        )  # fmt: skip


if __name__ == "__main__":
    main()
