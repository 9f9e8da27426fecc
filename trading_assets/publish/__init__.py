"""Publishing the report: WordPress posts (:mod:`.wordpress`) and Discord webhook messages
(:mod:`.discord`), both idempotent per report date and retried on 429/5xx through the shared
HTTP layer (:mod:`trading_assets.http`, via :mod:`.calls`);
:mod:`.report` publishes one report to the configured targets and records it.
No Dagster here; the resources and the publishing asset live in ``trading_assets.defs.reports``.
"""
