"""The cost layer: a meter on every materialization and the ``ops/cost_metrics`` asset."""
