"""The HTML report: inputs read from the warehouse (:mod:`.inputs`), the model leaderboard read
from MLflow (:mod:`.leaderboard`), plain-words notes on what is missing (:mod:`.sections`),
matplotlib charts as inline SVG (:mod:`.charts`) and one self-contained page rendered with
jinja2 (:mod:`.render`). No Dagster here; the asset lives in ``trading_assets.defs.report``."""
