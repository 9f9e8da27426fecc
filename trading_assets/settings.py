"""Every environment variable the project reads: name, type, default and meaning.

Read at call time, never at import time (a test or a Dagster run may set them later).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta

from trading_assets.errors import ConfigurationError
from trading_assets.ml.retrain_policy import RetrainPolicy


@dataclass(frozen=True)
class Setting:
    """One environment variable: ``name``, Python ``type``, ``default`` (text as it would be
    written in the environment, None: unset) and ``meaning``."""

    name: str
    type: type
    default: str | None
    meaning: str

    def read(self):
        """The value from the environment, else the default, converted to :attr:`type`.

        Raises:
            ConfigurationError: the value does not convert, naming the variable.
        """
        raw = os.environ.get(self.name)
        raw = raw if raw not in (None, "") else self.default
        if raw is None:
            return None
        try:
            return self.type(raw)
        except ValueError as exc:
            raise ConfigurationError(
                f"{self.name}={raw!r} is not a valid {self.type.__name__}: {self.meaning}"
            ) from exc


RETRAIN_EVERY_HOURS = Setting(
    "TRADING_RETRAIN_EVERY_HOURS", float, "24", "models retrain once their last training is "
    "this many hours old"
)  # fmt: skip
RETRAIN_NEW_BARS = Setting(
    "TRADING_RETRAIN_NEW_BARS", int, "500", "models retrain once this many new training rows "
    "(bars, all series together) arrived since the last training"
)  # fmt: skip


SENSOR_INTERVAL_S = Setting(
    "TRADING_SENSOR_INTERVAL_S", int, "30", "seconds between evaluations of the inbox sensor "
    "and of declarative automation (lower it for faster reactions to new bars)"
)  # fmt: skip


def sensor_interval_s() -> int:
    """Seconds between evaluations of the inbox and automation sensors (at least 1).

    Raises:
        ConfigurationError: not a whole number of seconds, or below 1.
    """
    value = SENSOR_INTERVAL_S.read()
    if value < 1:
        raise ConfigurationError(f"{SENSOR_INTERVAL_S.name} must be at least 1, got {value}")
    return value


def retrain_policy() -> RetrainPolicy:
    """The :class:`RetrainPolicy` of the environment.

    Raises:
        ConfigurationError: a value that is not a number, or not positive.
    """
    hours = RETRAIN_EVERY_HOURS.read()
    bars = RETRAIN_NEW_BARS.read()
    try:
        return RetrainPolicy(max_age=timedelta(hours=hours), new_bars=bars)
    except ValueError as exc:
        raise ConfigurationError(str(exc)) from exc
