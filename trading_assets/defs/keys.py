"""Asset keys, by stage: the one place a key is spelled.

The last part of every key is unique: Dagster's lineage graph labels a node with it alone.

Asset modules import keys from here rather than from each other, so an asset's code version
(the code its module reaches) does not take in another asset's code.
"""

import dagster as dg

# prices
RAW_BARS = dg.AssetKey(["raw", "source_bars"])  # table raw.bars ("bars" is staging/bars)
RAW_TICKS = dg.AssetKey(["raw", "ticks"])
#: the ingestion asset of each canonical row kind (table ``raw.<kind>``)
RAW_KEYS = {
    "bars": RAW_BARS,
    "ticks": RAW_TICKS,
    "quotes": dg.AssetKey(["raw", "quotes"]),
    "quote_bars": dg.AssetKey(["raw", "quote_bars"]),
}
STAGING_BARS = dg.AssetKey(["staging", "bars"])
SOURCE_FILES = dg.AssetKey(["ops", "source_files"])
UNIVERSAL_STREAM = dg.AssetKey(["staging", "universal_stream"])
# news and sentiment
NEWS = dg.AssetKey(["raw", "news"])
SENTIMENT_MODEL = dg.AssetKey(["ml", "sentiment_model"])
SENTIMENT = dg.AssetKey(["ml", "sentiment_scores"])  # table ml.sentiment
SENTIMENT_AGG = dg.AssetKey(["features", "sentiment_agg"])
# features
CLASSIC = dg.AssetKey(["features", "classic"])
CONTEXT = dg.AssetKey(["features", "context"])
CROSS_ASSET = dg.AssetKey(["features", "cross_asset"])
SENTIMENT_FEATURES = dg.AssetKey(["features", "sentiment"])
LABELS = dg.AssetKey(["features", "labels"])
REGIME = dg.AssetKey(["features", "regime"])
TRAINING_TABLE = dg.AssetKey(["features", "training_table"])
# ml
MODELS = dg.AssetKey(["ml", "models"])
PREDICTIONS = dg.AssetKey(["ml", "predictions"])
LIVE_PREDICTIONS = dg.AssetKey(["ml", "live_predictions"])
# signals
SIGNALS = dg.AssetKey(["signals", "signals"])
BACKTEST = dg.AssetKey(["signals", "backtest"])
# reports and ops
REPORT = dg.AssetKey(["reports", "report"])
PUBLISHED = dg.AssetKey(["reports", "published"])
COST_METRICS = dg.AssetKey(["ops", "cost_metrics"])
# paper trading
ORDERS = dg.AssetKey(["trading", "orders"])
POSITIONS = dg.AssetKey(["trading", "positions"])
TRADE_COSTS = dg.AssetKey(["trading", "costs"])
