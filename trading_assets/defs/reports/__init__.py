"""The report and its publishing (group ``reports``).

=====================  ==========================================================  ==============
asset                  what                                                        runs when
=====================  ==========================================================  ==============
reports/report         one self-contained HTML page (``<reports>/report-<date>``)  eager: inputs
reports/published      WordPress post + Discord message of the report's date       sensor
=====================  ==========================================================  ==============

Sensors: ``publish_on_report`` (an asset sensor on ``reports/report``: runs the
``publish_report`` job once per new report data version, when a publisher is configured) and
``alert_on_run_failure`` (a run-failure sensor: logs, and posts to Discord when configured).
"""

from trading_assets.defs.reports.assets import (
    PUBLISHED_KEY,
    REPORT_KEY,
    published,
    report_asset_for,
)
from trading_assets.defs.reports.resources import report_resources_from_env
from trading_assets.defs.reports.sensors import (
    REPORT_SENSORS,
    alert_on_run_failure,
    publish_job,
    publish_on_report,
)

__all__ = [
    "PUBLISHED_KEY",
    "REPORT_KEY",
    "REPORT_SENSORS",
    "alert_on_run_failure",
    "publish_job",
    "publish_on_report",
    "published",
    "report_asset_for",
    "report_resources_from_env",
]
