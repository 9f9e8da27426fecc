"""Asset check specs and results of the feature assets, from the measures of the logic
(:class:`trading_assets.features.checks.Measure`)."""

from collections.abc import Mapping

import dagster as dg

from trading_assets.defs.metadata import check_metadata, no_source_check
from trading_assets.features.checks import Measure

#: check name -> (description, severity)
Checks = Mapping[str, tuple[str, dg.AssetCheckSeverity]]


def check_specs(key: dg.AssetKey, checks: Checks) -> list[dg.AssetCheckSpec]:
    """One spec per check of ``checks`` on the asset ``key``."""
    return [
        dg.AssetCheckSpec(name, asset=key, description=desc) for name, (desc, _) in checks.items()
    ]


def check_results(
    measures: Mapping[str, Measure],
    checks: Checks,
    partition: str | None = None,
    rows: int | None = None,
) -> list[dg.AssetCheckResult]:
    """One result per measure, with the severity of ``checks``, the measure's details as
    JSON metadata (``details``), its figures as numbers and the ``partition`` it ran on
    (:func:`~trading_assets.defs.metadata.check_metadata`). With ``rows`` 0 (the asset holds
    no rows: nothing upstream on this profile) every check says so instead of passing."""
    if rows == 0:
        where = f" for {partition}" if partition else ""
        return [
            no_source_check(
                name, f"no rows{where} on this profile", check_metadata(measure.details, partition)
            )
            for name, measure in measures.items()
        ]
    return [
        dg.AssetCheckResult(
            check_name=name,
            passed=measure.passed,
            severity=checks[name][1],
            metadata=check_metadata(measure.details, partition),
        )
        for name, measure in measures.items()
    ]
