"""The retraining policy of ``ml/models``, for declarative automation and ``refresh``.

New bars flow through features, live predictions and signals; ``ml/models`` retrains only
when :class:`~trading_assets.ml.retrain_policy.RetrainPolicy` says so (never trained, the
last training older than ``TRADING_RETRAIN_EVERY_HOURS``, or at least
``TRADING_RETRAIN_NEW_BARS`` new training rows since the rows it read), or when its code
version changed. The training state comes from Dagster's event log: the time of the latest
``ml/models`` materialization, and the row counts of the ``features/training_table``
materialization it read (its input event pointer) and of the newest one.
"""

from datetime import UTC, datetime, timedelta

import dagster as dg

from trading_assets import settings
from trading_assets.defs import keys
from trading_assets.defs.dagster_internals import automation_instance
from trading_assets.errors import ConfigurationError
from trading_assets.ml.retrain_policy import RetrainPolicy

#: assets whose staleness from new data is decided by the policy, not by the data alone
POLICY_ASSETS = frozenset({keys.MODELS})
_POINTER_TAG = f"dagster/input_event_pointer/{keys.TRAINING_TABLE.to_user_string()}"


def retrain_policy() -> RetrainPolicy:
    """The :class:`RetrainPolicy` of the environment (``TRADING_RETRAIN_EVERY_HOURS``,
    ``TRADING_RETRAIN_NEW_BARS``).

    Raises:
        ConfigurationError: a value that is not a number, or not positive.
    """
    hours = settings.RETRAIN_EVERY_HOURS.read()
    bars = settings.RETRAIN_NEW_BARS.read()
    try:
        return RetrainPolicy(max_age=timedelta(hours=hours), new_bars=bars)
    except ValueError as exc:
        raise ConfigurationError(str(exc)) from exc


def _latest(instance: dg.DagsterInstance, key: dg.AssetKey, storage_id: int | None = None):
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(
            asset_key=key, storage_ids=[storage_id] if storage_id is not None else None
        ),
        limit=1,
    ).records
    return records[0] if records else None


def _rows(record) -> int | None:
    if record is None:
        return None
    value = (record.asset_materialization.metadata or {}).get("rows")
    value = getattr(value, "value", value)
    return int(value) if isinstance(value, int | float) else None


def retrain_reason(
    instance: dg.DagsterInstance, policy: RetrainPolicy | None = None, now: datetime | None = None
) -> str | None:
    """Why ``ml/models`` is due for retraining under ``policy`` (default: from the
    environment), or None when it is not."""
    policy = policy or retrain_policy()
    trained = _latest(instance, keys.MODELS)
    trained_at = datetime.fromtimestamp(trained.timestamp, UTC) if trained else None
    pointer = trained.asset_materialization.tags.get(_POINTER_TAG) if trained else None
    read = _latest(instance, keys.TRAINING_TABLE, int(pointer)) if pointer else None
    return policy.reason(
        now=now or datetime.now(UTC),
        trained_at=trained_at,
        rows_at_training=_rows(read),
        rows_now=_rows(_latest(instance, keys.TRAINING_TABLE)),
    )


class RetrainDue(dg.AutomationCondition):
    """True while the retraining policy says ``ml/models`` is due (see the module docstring).
    Evaluated in the code location (the automation sensor runs on the user code server)."""

    @property
    def description(self) -> str:
        return "the retraining policy is due (age of the models, or new bars since training)"

    def evaluate(self, context: dg.AutomationContext) -> dg.AutomationResult:
        """The whole candidate subset when :func:`retrain_reason` gives a reason, else none."""
        reason = retrain_reason(automation_instance(context))
        subset = context.candidate_subset if reason else context.get_empty_subset()
        return dg.AutomationResult(context, true_subset=subset)


def retrain_condition() -> dg.AutomationCondition:
    """``ml/models``' automation: newly missing or a new code version, or the policy is due
    (not after a failed run: a failed training waits for a person), never while it or a
    dependency is in progress or a dependency is missing."""
    ac = dg.AutomationCondition
    return (
        ((ac.newly_missing() | ac.code_version_changed()).since_last_handled()
         | (RetrainDue() & ~ac.execution_failed()))
        & ~ac.in_progress()
        & ~ac.any_deps_in_progress()
        & ~ac.any_deps_missing()
    ).with_label("retraining_policy")  # fmt: skip


def with_retrain_policy(assets: list) -> list:
    """``assets`` with :func:`retrain_condition` on every key of :data:`POLICY_ASSETS`."""

    def swap(spec: dg.AssetSpec) -> dg.AssetSpec:
        if spec.key in POLICY_ASSETS:
            return spec.replace_attributes(automation_condition=retrain_condition())
        return spec

    return [
        a.map_asset_specs(swap)
        if isinstance(a, dg.AssetsDefinition) and POLICY_ASSETS & set(a.keys)
        else a
        for a in assets
    ]
