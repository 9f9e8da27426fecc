"""What one new bar re-runs: the live lane below the price ingestion assets.

New bars of one symbol make everything below its ingestion stale: staging, the features'
tail, the training table, live predictions, signals, the backtest and the report. The lane is
those assets, found by walking the asset graph down from the ingestion assets, never through
an asset under the retraining policy (:data:`~trading_assets.defs.ml.retrain.POLICY_ASSETS`:
a new bar alone never retrains), never into an asset without an automation condition (it
runs only when asked: ``reports/published`` by its sensor, ``trading/orders`` unless
execution is enabled) and never from an unpartitioned asset into a partitioned one (that
child needs every symbol's data, which one symbol's run does not hold). The inbox sensor
requests ingestion and lane as one run, so a dropped bar becomes a signal without a chain of
runs, each waiting for a sensor tick and a run worker.
"""

from collections.abc import Iterable

import dagster as dg

from trading_assets.defs.ml.retrain import POLICY_ASSETS


def live_lane(
    graph, roots: Iterable[dg.AssetKey], *, partitioned_only: bool = False
) -> list[dg.AssetKey]:
    """The materializable assets below ``roots`` that new data there makes stale, in
    dependency order (``roots`` not included). ``graph``: the code location's asset graph.
    ``partitioned_only``: stop at unpartitioned assets (when several symbols run at once,
    declarative automation runs the shared assets once after all of them)."""
    lane: set[dg.AssetKey] = set()
    queue = list(roots)
    while queue:
        parent = queue.pop()
        parent_partitioned = graph.get(parent).partitions_def is not None
        for child in graph.get(parent).child_keys:
            node = graph.get(child)
            partitioned = node.partitions_def is not None
            if (
                child in lane
                or child in POLICY_ASSETS
                or not node.is_materializable
                or node.automation_condition is None
                or (partitioned and not parent_partitioned)
                or (partitioned_only and not partitioned)
            ):
                continue
            lane.add(child)
            queue.append(child)
    return [k for k in graph.toposorted_asset_keys if k in lane]
