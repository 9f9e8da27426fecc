"""The report's data quality reads the latest evaluation of every check and partition in one
storage query; it agrees with each check's own history, on SQLite storage."""

import dagster as dg

from trading_assets.defs.dagster_internals import _latest_from_history, latest_check_executions
from trading_assets.defs.reports.quality import latest_check_evaluations

PARTS = dg.StaticPartitionsDefinition(["AAA", "BBB", "CCC"])


class Outcome(dg.Config):
    passed: bool = True


@dg.asset(partitions_def=PARTS, check_specs=[dg.AssetCheckSpec("positive", asset="prices")])
def prices(context: dg.AssetExecutionContext, config: Outcome) -> dg.MaterializeResult:
    return dg.MaterializeResult(
        check_results=[
            dg.AssetCheckResult(
                passed=config.passed,
                severity=dg.AssetCheckSeverity.WARN,
                metadata={"partition": context.partition_key},
            )
        ]
    )


@dg.asset(check_specs=[dg.AssetCheckSpec("rows", asset="report")])
def report() -> dg.MaterializeResult:
    return dg.MaterializeResult(check_results=[dg.AssetCheckResult(passed=False)])


def test_latest_evaluation_of_every_check_and_partition(tmp_path):
    defs = dg.Definitions(assets=[prices, report])
    job = defs.resolve_implicit_global_asset_job_def()
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        for part, passed in [("AAA", True), ("BBB", True), ("AAA", False), ("CCC", True)]:
            result = job.execute_in_process(
                instance=instance, partition_key=part, asset_selection=[prices.key],
                run_config={"ops": {"prices": {"config": {"passed": passed}}}},
            )  # fmt: skip
            assert result.success
        dg.materialize([report], instance=instance, raise_on_error=False)
        keys = [*prices.check_keys, *report.check_keys]
        records = latest_check_executions(instance, keys)
        # the same records as reading each check's history and keeping its newest execution
        # per partition (this Dagster stores no partition on check executions: one per check)
        history = _latest_from_history(instance.event_log_storage, keys)
        assert sorted(r.id for r in records) == sorted(r.id for r in history)
        assert {r.key.name for r in records} == {"positive", "rows"}
        frame = latest_check_evaluations(instance, keys)
        assert frame.height == len(records)
        status = {(row["check"], row["partition"]): row["status"] for row in frame.to_dicts()}
        assert status[("rows", "")] == "failed"
        if ("positive", "") in status:  # no partitions stored: the newest run (CCC) passed
            assert status[("positive", "")] == "passed"
        else:
            assert status[("positive", "AAA")] == "warning"  # its newest run failed
        # a newer failing run of the check is what the report shows
        job.execute_in_process(
            instance=instance, partition_key="BBB", asset_selection=[prices.key],
            run_config={"ops": {"prices": {"config": {"passed": False}}}},
        )  # fmt: skip
        frame = latest_check_evaluations(instance, keys)
        rows = frame.filter(frame["check"] == "positive").to_dicts()
        assert [r["status"] for r in rows if r["partition"] in ("", "BBB")] == ["warning"]
        assert latest_check_executions(instance, []) == []
