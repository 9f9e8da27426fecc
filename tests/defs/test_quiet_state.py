"""The remembered "nothing stale" state: any input of staleness changes its fingerprint."""

from pathlib import Path

import dagster as dg

from trading_assets.defs.quiet_state import QUIET_FILE, fingerprint, remember_quiet
from trading_assets.defs.quiet_state import still_quiet as _still_quiet


def still_quiet(defs: dg.Definitions, instance) -> bool:
    return _still_quiet(instance, fingerprint(defs, instance))


def _defs(version: str, with_child: bool = False) -> dg.Definitions:
    @dg.asset(code_version=version)
    def prices() -> None:
        return None

    assets = [prices]
    if with_child:

        @dg.asset(deps=[prices])
        def signals() -> None:
            return None

        assets.append(signals)
    return dg.Definitions(assets=assets)


def test_code_versions_dependencies_events_and_partitions_change_the_state(tmp_path: Path):
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        defs = _defs("v1")
        assert not still_quiet(defs, instance)  # nothing remembered yet
        remember_quiet(instance, fingerprint(defs, instance))
        assert (Path(instance.root_directory) / QUIET_FILE).exists()
        assert still_quiet(defs, instance)
        assert still_quiet(_defs("v1"), instance)  # the same definitions, rebuilt
        assert not still_quiet(_defs("v2"), instance)  # a new code version
        assert not still_quiet(_defs("v1", with_child=True), instance)  # a new dependency

        assert dg.materialize(list(defs.assets), instance=instance).success
        assert not still_quiet(defs, instance)  # a new materialization
        remember_quiet(instance, fingerprint(defs, instance))
        instance.add_dynamic_partitions("symbols", ["ETH/USDT"])
        assert not still_quiet(defs, instance)  # a new symbol partition
