"""The HTML report: inputs read from the warehouse (:mod:`.inputs`), the model leaderboard read
from MLflow (:mod:`.leaderboard`), plain-words notes on what is missing (:mod:`.sections`),
matplotlib charts as inline SVG (:mod:`.charts`) and one self-contained page rendered with
jinja2 (:mod:`.render`); :mod:`.build` writes the files, decides whether the report changed
and logs it to MLflow (:mod:`.tracking`). No Dagster here; the asset lives in
``trading_assets.defs.reports``."""
