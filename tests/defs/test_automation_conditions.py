"""Every derived asset reacts to new data versions, centrally, whoever declared it."""

import dagster as dg

from trading_assets.definitions import build_definitions
from trading_assets.defs.automation import data_aware_automation, on_new_data


def test_eager_is_replaced_by_on_new_data_and_other_conditions_are_kept(home):
    @dg.asset(automation_condition=dg.AutomationCondition.eager())
    def derived():
        pass

    cron = dg.AutomationCondition.on_cron("0 * * * *")

    @dg.asset(automation_condition=cron)
    def hourly():
        pass

    swapped, kept, plain = data_aware_automation([derived, hourly, "not an asset"])
    assert swapped.specs_by_key[derived.key].automation_condition == on_new_data()
    assert kept is hourly and plain == "not an asset"

    graph = build_definitions().resolve_asset_graph()
    labels = {n.key.to_user_string(): n.automation_condition for n in graph.asset_nodes}
    assert labels["staging/bars"] == on_new_data()
    assert labels["ops/cost_metrics"] == on_new_data()
    assert dg.AutomationCondition.eager() not in labels.values()
