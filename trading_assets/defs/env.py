"""Environment variables as Dagster ``EnvVar`` (the one helper; names from
:mod:`trading_assets.settings`)."""

import os

import dagster as dg

from trading_assets.settings import Setting


def optional_env_var(setting: Setting | str) -> dg.EnvVar | None:
    """``EnvVar`` of ``setting`` when the variable is set and not empty (resolved when the
    resource is used, so secrets never enter the definitions or the logs), else None."""
    name = setting.name if isinstance(setting, Setting) else setting
    return dg.EnvVar(name) if os.environ.get(name) else None
