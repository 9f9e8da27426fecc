"""Asset check specs and results of the feature assets, from the measures of the logic
(:class:`trading_assets.features.checks.Measure`)."""

from collections.abc import Mapping

import dagster as dg

from trading_assets.features.checks import Measure

#: check name -> (description, severity)
Checks = Mapping[str, tuple[str, dg.AssetCheckSeverity]]


def check_specs(key: dg.AssetKey, checks: Checks) -> list[dg.AssetCheckSpec]:
    """One spec per check of ``checks`` on the asset ``key``."""
    return [
        dg.AssetCheckSpec(name, asset=key, description=desc) for name, (desc, _) in checks.items()
    ]


def check_results(measures: Mapping[str, Measure], checks: Checks) -> list[dg.AssetCheckResult]:
    """One result per measure, with the severity of ``checks`` and the measure's details as
    JSON metadata (``details``)."""
    return [
        dg.AssetCheckResult(
            check_name=name,
            passed=measure.passed,
            severity=checks[name][1],
            metadata={"details": dg.MetadataValue.json(measure.details)},
        )
        for name, measure in measures.items()
    ]
