"""DuckDB warehouse access shared by assets and the SDK. Never imports Dagster."""
