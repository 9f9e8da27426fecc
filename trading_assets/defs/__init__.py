"""The Dagster layer: assets, checks, resources, sensors. Imports the logic packages; the
logic packages never import this one."""
