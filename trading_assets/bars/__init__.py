"""Bar logic over Polars frames: resampling, reconciliation and quality measures.

Never imports Dagster.
"""
