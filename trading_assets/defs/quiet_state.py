"""Remembering that nothing was stale, so a refresh with nothing to do answers at once.

Staleness (Dagster's stale-status resolver) depends only on the event log (materializations
and observations), the symbols partitions, the definitions (code versions and dependencies)
and, for ``ml/models``, whether the retraining policy is due. After a refresh has checked the
whole graph and found nothing stale, or has run successfully everything that was stale and
everything its new data made stale, :func:`remember_quiet` stores a fingerprint of those
inputs (:func:`fingerprint`) in the Dagster home; :func:`still_quiet` compares a fingerprint
of now with it. The same fingerprint means the same answer: nothing stale. Any
materialization, observation, new partition, code or dependency change, or a retraining
policy turning due changes it, and the full resolution runs again. (New source files are
checked by the caller on every refresh: on a quiet home they are all that can be stale.)
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import dagster as dg

#: file in the Dagster home holding the last fingerprint that had nothing stale
QUIET_FILE = "trading_assets_nothing_stale.json"


def fingerprint(defs: dg.Definitions, instance: dg.DagsterInstance) -> str:
    """The inputs of staleness now, as one JSON string (see the module docstring)."""
    from trading_assets.defs.ml.retrain import retrain_reason
    from trading_assets.defs.partitions import SYMBOLS

    graph = defs.resolve_asset_graph()
    digest = hashlib.sha256()
    for key in graph.toposorted_asset_keys:
        node = graph.get(key)
        parents = sorted(p.to_user_string() for p in node.parent_keys)
        partitioned = node.partitions_def is not None
        digest.update(
            f"{key.to_user_string()}|{node.code_version}|{partitioned}|{parents}\n".encode()
        )
    state = {
        "graph": digest.hexdigest(),
        "last_event": instance.event_log_storage.get_maximum_record_id(),
        "symbols": sorted(instance.get_dynamic_partitions(SYMBOLS.name)),
        "retrain_due": retrain_reason(instance) is not None,
    }
    return json.dumps(state, sort_keys=True)


def _path(instance: dg.DagsterInstance) -> Path:
    return Path(instance.root_directory) / QUIET_FILE


def still_quiet(instance: dg.DagsterInstance, now: str) -> bool:
    """Whether ``now`` (a :func:`fingerprint`) is the one :func:`remember_quiet` stored last."""
    try:
        return _path(instance).read_text(encoding="utf-8") == now
    except OSError:
        return False


def remember_quiet(instance: dg.DagsterInstance, now: str) -> None:
    """Store ``now`` (a :func:`fingerprint` taken when the whole graph was found with nothing
    stale); written atomically, and a home that cannot be written just stays uncached."""
    path = _path(instance)
    partial = path.with_suffix(".part")
    try:
        partial.write_text(now, encoding="utf-8")
        partial.replace(path)
    except OSError:
        pass
